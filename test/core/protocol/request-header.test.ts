import { expect } from 'chai';
import { ProtocolError } from '../../../packages/core/src/errors.js';
import { ApiKey } from '../../../packages/core/src/protocol/api-keys.js';
import { ByteWriter } from '../../../packages/core/src/protocol/primitives/byte-writer.js';
import {
  decodeResponseHeader,
  encodeRequestFrame,
  peekCorrelationId,
  requestHeaderVersion,
  responseHeaderVersion,
  sizeOfRequestHeader,
  writeRequestHeader,
} from '../../../packages/core/src/protocol/request-header.js';
import type { RequestHeader } from '../../../packages/core/src/protocol/request-header.js';
import { ascii, hex, toHex } from './fixture-bytes.js';

function headerBytes(header: RequestHeader): string {
  const w = new ByteWriter();
  writeRequestHeader(w, header);
  expect(w.length, 'sizeOfRequestHeader').to.equal(sizeOfRequestHeader(header));
  return toHex(w.finish());
}

describe('request-header', () => {
  describe('requestHeaderVersion() / responseHeaderVersion()', () => {
    it('uses header v2 / v1 for flexible versions and v1 / v0 otherwise', () => {
      const table: [number, number, number, number][] = [
        // apiKey, apiVersion, request header, response header
        [ApiKey.PRODUCE, 3, 1, 0],
        [ApiKey.PRODUCE, 8, 1, 0],
        [ApiKey.PRODUCE, 9, 2, 1],
        [ApiKey.PRODUCE, 12, 2, 1],
        [ApiKey.METADATA, 0, 1, 0],
        [ApiKey.METADATA, 8, 1, 0],
        [ApiKey.METADATA, 9, 2, 1],
        [ApiKey.INIT_PRODUCER_ID, 1, 1, 0],
        [ApiKey.INIT_PRODUCER_ID, 2, 2, 1],
        [ApiKey.SASL_HANDSHAKE, 1, 1, 0],
        [ApiKey.SASL_AUTHENTICATE, 1, 1, 0],
        [ApiKey.SASL_AUTHENTICATE, 2, 2, 1],
        [ApiKey.API_VERSIONS, 2, 1, 0],
      ];
      for (const [apiKey, apiVersion, req, res] of table) {
        expect(requestHeaderVersion(apiKey, apiVersion), `request ${apiKey} v${apiVersion}`).to.equal(req);
        expect(responseHeaderVersion(apiKey, apiVersion), `response ${apiKey} v${apiVersion}`).to.equal(res);
      }
    });

    it('answers ApiVersions v3+ with response header v0 although the request header is v2', () => {
      expect(requestHeaderVersion(ApiKey.API_VERSIONS, 3)).to.equal(2);
      expect(responseHeaderVersion(ApiKey.API_VERSIONS, 3)).to.equal(0);
      expect(responseHeaderVersion(ApiKey.API_VERSIONS, 4)).to.equal(0);
    });
  });

  describe('writeRequestHeader()', () => {
    it('writes header v1: key, version, correlation id, int16-length client id', () => {
      expect(headerBytes({ apiKey: 0, apiVersion: 7, correlationId: 42, clientId: 'sluice' })).to.equal(
        '0000' + // request_api_key 0 (Produce)
          '0007' + // request_api_version 7
          '0000002a' + // correlation_id 42
          '0006' + ascii('sluice'), // client_id: int16 length 6
      );
    });

    it('writes a null client id as length -1', () => {
      expect(headerBytes({ apiKey: 3, apiVersion: 1, correlationId: -1, clientId: null })).to.equal(
        '0003' + '0001' + 'ffffffff' + 'ffff',
      );
    });

    it('writes header v2 with the client id still int16-length, then an empty tag section', () => {
      expect(headerBytes({ apiKey: 18, apiVersion: 3, correlationId: 1, clientId: 'c' })).to.equal(
        '0012' + // ApiVersions
          '0003' +
          '00000001' +
          '0001' + '63' + // client_id "c": NOT compact, even in v2
          '00', // tagged fields: none
      );
    });
  });

  describe('encodeRequestFrame()', () => {
    it('prefixes header and body with their int32 size', () => {
      const frame = encodeRequestFrame({ apiKey: 17, apiVersion: 1, correlationId: 5, clientId: 'x' }, (w) => {
        w.writeString('PLAIN');
      });
      expect(toHex(frame)).to.equal(
        '00000012' + // size 18 = 2 + 2 + 4 + 3 + 7
          '0011' + '0001' + '00000005' + '0001' + '78' + // header v1, client_id "x"
          '0005' + ascii('PLAIN'),
      );
    });
  });

  describe('decodeResponseHeader()', () => {
    it('reads header v0: the correlation id only', () => {
      expect(decodeResponseHeader(hex('0000002a', 'ffff'), 0)).to.deep.equal({ correlationId: 42, bodyOffset: 4 });
    });

    it('reads header v1 and skips its tagged fields, known or not', () => {
      // correlation_id 7 | 1 tag: tag 9, size 2, 0102 | body
      expect(decodeResponseHeader(hex('00000007', '01', '09', '02', '0102', 'beef'), 1)).to.deep.equal({
        correlationId: 7,
        bodyOffset: 9,
      });
      expect(decodeResponseHeader(hex('00000007', '00'), 1)).to.deep.equal({ correlationId: 7, bodyOffset: 5 });
    });

    it('fails on truncated headers and unknown header versions', () => {
      expect(() => decodeResponseHeader(hex('0000'), 0)).to.throw(
        ProtocolError,
        'response header v0: cannot read int32 correlation_id at offset 0: only 2 of 4 bytes left',
      );
      expect(() => decodeResponseHeader(hex('00000001'), 1)).to.throw(ProtocolError, 'tagged_fields count');
      expect(() => decodeResponseHeader(hex('00000001'), 2)).to.throw(ProtocolError, 'response header v2 does not exist');
    });

    it('peekCorrelationId() reads the id without knowing the header version', () => {
      expect(peekCorrelationId(hex('7fffffff', '00'))).to.equal(2147483647);
    });
  });
});
