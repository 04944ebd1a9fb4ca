import { expect } from 'chai';
import { SaslAuthenticationError } from '../../../../packages/core/src/errors.js';
import { PlainMechanism } from '../../../../packages/core/src/network/sasl/plain.js';
import { EMPTY_CHALLENGE } from '../../../../packages/core/src/network/sasl/sasl-mechanism.js';

const SECRET = 'pencil-s3cret';

describe('PlainMechanism', () => {
  describe('evaluateChallenge()', () => {
    it('answers the empty first challenge with \\0user\\0password and is then complete', () => {
      const m = new PlainMechanism({ username: 'user', password: SECRET });
      expect(m.mechanismName).to.equal('PLAIN');
      expect(m.isComplete).to.equal(false);
      const first = m.evaluateChallenge(EMPTY_CHALLENGE);
      expect(Buffer.from(first!).toString('hex')).to.equal('00' + Buffer.from('user').toString('hex') + '00' + Buffer.from(SECRET).toString('hex'));
      expect(m.isComplete).to.equal(true);
    });

    it('puts an authorization id before the first NUL and encodes UTF-8', () => {
      const m = new PlainMechanism({ username: 'usér', password: 'p', authorizationId: 'admin' });
      expect(Buffer.from(m.evaluateChallenge(EMPTY_CHALLENGE)!).toString('utf8')).to.equal('admin\u0000usér\u0000p');
    });

    it('fails a second step without repeating the password', () => {
      const m = new PlainMechanism({ username: 'user', password: SECRET });
      m.evaluateChallenge(EMPTY_CHALLENGE);
      expect(() => m.evaluateChallenge(new Uint8Array([1, 2])))
        .to.throw(SaslAuthenticationError, 'SASL PLAIN authentication failed: unexpected server message of 2 bytes')
        .with.property('mechanism', 'PLAIN');
    });

    it('refuses a non-empty first challenge', () => {
      const m = new PlainMechanism({ username: 'user', password: SECRET });
      expect(() => m.evaluateChallenge(new Uint8Array([1]))).to.throw(SaslAuthenticationError, 'expected an empty first challenge');
    });
  });

  describe('constructor', () => {
    it('refuses empty credentials and NUL characters, never naming the password', () => {
      expect(() => new PlainMechanism({ username: '', password: SECRET })).to.throw(SaslAuthenticationError, 'the username is empty');
      expect(() => new PlainMechanism({ username: 'u', password: '' })).to.throw(SaslAuthenticationError, 'the password is empty');
      try {
        new PlainMechanism({ username: 'u', password: `${SECRET}\u0000` });
        expect.fail('must throw');
      } catch (e) {
        expect(e).to.be.instanceOf(SaslAuthenticationError);
        expect((e as Error).message).to.equal('SASL PLAIN authentication failed: the password contains a NUL character');
        expect((e as Error).message).to.not.include(SECRET);
        expect((e as SaslAuthenticationError).code).to.equal('SLUICE_ERR_SASL_AUTHENTICATION');
      }
    });
  });
});
