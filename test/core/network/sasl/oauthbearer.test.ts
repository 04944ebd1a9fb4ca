import { expect } from 'chai';
import { SaslAuthenticationError } from '../../../../packages/core/src/errors.js';
import { OAuthBearerMechanism } from '../../../../packages/core/src/network/sasl/oauthbearer.js';
import { EMPTY_CHALLENGE } from '../../../../packages/core/src/network/sasl/sasl-mechanism.js';

const TOKEN = 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSJ9.';
const hexOf = (b: Uint8Array | null): string => Buffer.from(b!).toString('hex');
const asciiHex = (s: string): string => Buffer.from(s, 'latin1').toString('hex');

describe('OAuthBearerMechanism', () => {
  describe('evaluateChallenge()', () => {
    it('sends the RFC 7628 initial response: gs2 header, kvsep, auth=Bearer <token>, kvsep kvsep', () => {
      const m = new OAuthBearerMechanism({ token: TOKEN });
      expect(m.mechanismName).to.equal('OAUTHBEARER');
      expect(hexOf(m.evaluateChallenge(EMPTY_CHALLENGE))).to.equal(
        asciiHex('n,,') + '01' + asciiHex(`auth=Bearer ${TOKEN}`) + '01' + '01',
      );
      expect(m.isComplete).to.equal(false);
    });

    it('adds an authorization id to the gs2 header and KIP-342 extensions after the token', () => {
      const m = new OAuthBearerMechanism({ token: 'abc', authorizationId: 'a,b', extensions: { logicalCluster: 'lkc-1', traceId: '42' } });
      expect(hexOf(m.evaluateChallenge(EMPTY_CHALLENGE))).to.equal(
        asciiHex('n,a=a=2Cb,') + '01' + asciiHex('auth=Bearer abc') + '01' + asciiHex('logicalCluster=lkc-1') + '01' + asciiHex('traceId=42') + '01' + '01',
      );
    });

    it('completes on the server\'s empty answer', () => {
      const m = new OAuthBearerMechanism({ token: TOKEN });
      m.evaluateChallenge(EMPTY_CHALLENGE);
      expect(m.evaluateChallenge(EMPTY_CHALLENGE)).to.equal(null);
      expect(m.isComplete).to.equal(true);
      expect(() => m.evaluateChallenge(EMPTY_CHALLENGE)).to.throw(SaslAuthenticationError, 'after the exchange ended');
    });

    it('answers a server error status with a single kvsep, then fails with the status and without the token', () => {
      const m = new OAuthBearerMechanism({ token: TOKEN });
      m.evaluateChallenge(EMPTY_CHALLENGE);
      const status = '{"status":"invalid_token","scope":"kafka"}';
      expect(hexOf(m.evaluateChallenge(new Uint8Array(Buffer.from(status))))).to.equal('01');
      expect(m.serverError).to.equal(status);
      try {
        m.evaluateChallenge(EMPTY_CHALLENGE);
        expect.fail('must throw');
      } catch (e) {
        expect(e).to.be.instanceOf(SaslAuthenticationError);
        expect((e as Error).message).to.equal('SASL OAUTHBEARER authentication failed: the server rejected the token: status "invalid_token"');
        expect((e as Error).message).to.not.include(TOKEN);
      }
      expect(m.isComplete).to.equal(false);
    });
  });

  describe('constructor', () => {
    it('refuses a token that is not a bearer token, without echoing it', () => {
      try {
        new OAuthBearerMechanism({ token: 'secret token\u0001' });
        expect.fail('must throw');
      } catch (e) {
        expect((e as Error).message).to.equal('SASL OAUTHBEARER authentication failed: the token (13 characters) is not an RFC 6750 bearer token');
      }
    });

    it('refuses the reserved extension name auth and invalid names or values', () => {
      expect(() => new OAuthBearerMechanism({ token: 'a', extensions: { auth: 'x' } })).to.throw(SaslAuthenticationError, 'extension name "auth"');
      expect(() => new OAuthBearerMechanism({ token: 'a', extensions: { 'a-b': 'x' } })).to.throw(SaslAuthenticationError, 'extension name "a-b"');
      expect(() => new OAuthBearerMechanism({ token: 'a', extensions: { ab: 'x\u0001' } })).to.throw(SaslAuthenticationError, 'extension "ab"');
    });
  });
});
