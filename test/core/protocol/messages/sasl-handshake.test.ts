import { expect } from 'chai';
import { ProtocolError } from '../../../../packages/core/src/errors.js';
import {
  decodeSaslHandshakeResponse,
  encodeSaslHandshakeRequest,
} from '../../../../packages/core/src/protocol/messages/sasl-handshake.js';
import { ascii, hex, int16Hex, sizePrefixed, toHex } from '../fixture-bytes.js';

describe('sasl-handshake', () => {
  describe('encodeSaslHandshakeRequest()', () => {
    for (const version of [0, 1]) {
      it(`encodes v${version}: header v1 and the mechanism as a string (never flexible)`, () => {
        const frame = encodeSaslHandshakeRequest({ apiVersion: version, correlationId: 1, clientId: 'c' }, 'SCRAM-SHA-512');
        expect(toHex(frame)).to.equal(
          toHex(
            sizePrefixed(
              '0011' + int16Hex(version) + '00000001' + '0001' + ascii('c'), // key 17, header v1
              '000d' + ascii('SCRAM-SHA-512'), // mechanism
            ),
          ),
        );
      });
    }

    it('refuses v2', () => {
      expect(() => encodeSaslHandshakeRequest({ apiVersion: 2, correlationId: 1, clientId: null }, 'PLAIN')).to.throw(
        ProtocolError,
        'SaslHandshakeRequest v2 is not supported',
      );
    });
  });

  describe('decodeSaslHandshakeResponse()', () => {
    for (const version of [0, 1]) {
      it(`decodes v${version}: error code and the enabled mechanisms`, () => {
        const body = hex(
          '0021', // error_code 33 UNSUPPORTED_SASL_MECHANISM
          '00000002', // mechanisms: 2
          '0005' + ascii('PLAIN'),
          '000d' + ascii('SCRAM-SHA-256'),
        );
        expect(decodeSaslHandshakeResponse(body, version)).to.deep.equal({
          errorCode: 33,
          mechanisms: ['PLAIN', 'SCRAM-SHA-256'],
        });
      });
    }

    it('names the field when truncated', () => {
      expect(() => decodeSaslHandshakeResponse(hex('0000', '00000001', '0005' + ascii('PL')), 1)).to.throw(
        ProtocolError,
        'SaslHandshakeResponse v1: cannot read string mechanisms at offset 8: only 2 of 5 bytes left',
      );
    });
  });
});
