import { expect } from 'chai';
import { ProtocolError } from '../../../../packages/core/src/errors.js';
import {
  decodeSaslAuthenticateResponse,
  encodeSaslAuthenticateRequest,
} from '../../../../packages/core/src/protocol/messages/sasl-authenticate.js';
import { ascii, hex, int16Hex, sizePrefixed, toHex } from '../fixture-bytes.js';

const TOKEN = new Uint8Array([0x00, 0x75, 0x00, 0x70]); // "\0u\0p"

describe('sasl-authenticate', () => {
  describe('encodeSaslAuthenticateRequest()', () => {
    for (const version of [0, 1]) {
      it(`encodes v${version}: header v1 and int32-length auth_bytes`, () => {
        const frame = encodeSaslAuthenticateRequest({ apiVersion: version, correlationId: 2, clientId: 'c' }, TOKEN);
        expect(toHex(frame)).to.equal(
          toHex(
            sizePrefixed(
              '0024' + int16Hex(version) + '00000002' + '0001' + ascii('c'), // key 36, header v1
              '00000004' + '00750070', // auth_bytes
            ),
          ),
        );
      });
    }

    it('encodes v2: header v2, compact auth_bytes, tags', () => {
      const frame = encodeSaslAuthenticateRequest({ apiVersion: 2, correlationId: 2, clientId: 'c' }, TOKEN);
      expect(toHex(frame)).to.equal(
        toHex(sizePrefixed('0024' + '0002' + '00000002' + '0001' + ascii('c') + '00', '05' + '00750070', '00')),
      );
    });

    it('refuses v3', () => {
      expect(() => encodeSaslAuthenticateRequest({ apiVersion: 3, correlationId: 1, clientId: null }, TOKEN)).to.throw(
        ProtocolError,
        'SaslAuthenticateRequest v3 is not supported: Sluice speaks v0-v2',
      );
    });
  });

  describe('decodeSaslAuthenticateResponse()', () => {
    it('decodes v0: error code, nullable message, auth_bytes (a view of the body)', () => {
      const body = hex('0000', 'ffff', '00000003' + ascii('v=x'));
      const r = decodeSaslAuthenticateResponse(body, 0);
      expect(r.errorCode).to.equal(0);
      expect(r.errorMessage).to.equal(null);
      expect(Buffer.from(r.authBytes).toString('latin1')).to.equal('v=x');
      expect(r.authBytes.buffer).to.equal(body.buffer);
      expect(r.sessionLifetimeMs).to.equal(0);
    });

    it('decodes v1: + session_lifetime_ms', () => {
      const body = hex(
        '003a', // error_code 58 SASL_AUTHENTICATION_FAILED
        '0006' + ascii('denied'), // error_message
        '00000000', // auth_bytes: empty
        '000000000036ee80', // session_lifetime_ms 3600000
      );
      const r = decodeSaslAuthenticateResponse(body, 1);
      expect({ ...r, authBytes: [...r.authBytes] }).to.deep.equal({
        errorCode: 58,
        errorMessage: 'denied',
        authBytes: [],
        sessionLifetimeMs: 3600000,
      });
    });

    it('decodes v2: flexible — compact message and bytes, tags', () => {
      const body = hex('0000', '00', '04' + ascii('v=x'), '0000000000000000', '00');
      const r = decodeSaslAuthenticateResponse(body, 2);
      expect({ ...r, authBytes: Buffer.from(r.authBytes).toString('latin1') }).to.deep.equal({
        errorCode: 0,
        errorMessage: null,
        authBytes: 'v=x',
        sessionLifetimeMs: 0,
      });
    });

    it('names the field when truncated', () => {
      expect(() => decodeSaslAuthenticateResponse(hex('0000', '00', '09' + '00'), 2)).to.throw(
        ProtocolError,
        'SaslAuthenticateResponse v2: cannot read compact bytes auth_bytes at offset 4: only 1 of 8 bytes left',
      );
    });
  });
});
