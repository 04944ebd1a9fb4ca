import { expect } from 'chai';
import { ProtocolError } from '../../../../packages/core/src/errors.js';
import {
  apiVersionsRetryVersion,
  decodeApiVersionsResponse,
  decodeApiVersionsResponseWithFallback,
  encodeApiVersionsRequest,
} from '../../../../packages/core/src/protocol/messages/api-versions.js';
import { ascii, hex, int16Hex, sizePrefixed, toHex } from '../fixture-bytes.js';

const SOFTWARE = { clientSoftwareName: 'sluice', clientSoftwareVersion: '0.1.0' };

describe('api-versions', () => {
  describe('encodeApiVersionsRequest()', () => {
    for (const version of [0, 1, 2]) {
      it(`encodes v${version}: header v1 and an empty body`, () => {
        const frame = encodeApiVersionsRequest({ apiVersion: version, correlationId: 42, clientId: 'sluice' }, SOFTWARE);
        const expected = sizePrefixed(
          '0012', // request_api_key 18
          int16Hex(version), // request_api_version
          '0000002a', // correlation_id 42
          '0006' + ascii('sluice'), // client_id
          // body: no fields before v3
        );
        expect(toHex(frame)).to.equal(toHex(expected));
      });
    }

    for (const version of [3, 4]) {
      it(`encodes v${version}: header v2, compact software name and version, tagged fields`, () => {
        const frame = encodeApiVersionsRequest({ apiVersion: version, correlationId: 42, clientId: 'sluice' }, SOFTWARE);
        const expected = sizePrefixed(
          '0012',
          int16Hex(version),
          '0000002a',
          '0006' + ascii('sluice'), // client_id keeps its int16 length in header v2
          '00', // header tagged fields
          '07' + ascii('sluice'), // client_software_name: compact, 6 + 1
          '06' + ascii('0.1.0'), // client_software_version: compact, 5 + 1
          '00', // body tagged fields
        );
        expect(toHex(frame)).to.equal(toHex(expected));
      });
    }

    it('refuses software names a broker would reject (KIP-511 pattern) from v3, not before', () => {
      const bad = { clientSoftwareName: 'sluice js', clientSoftwareVersion: '0.1.0' };
      expect(() => encodeApiVersionsRequest({ apiVersion: 3, correlationId: 1, clientId: null }, bad)).to.throw(
        ProtocolError,
        'ApiVersionsRequest client_software_name "sluice js" does not match',
      );
      expect(() =>
        encodeApiVersionsRequest({ apiVersion: 3, correlationId: 1, clientId: null }, { ...SOFTWARE, clientSoftwareVersion: '1.0-' }),
      ).to.throw(ProtocolError, 'client_software_version');
      encodeApiVersionsRequest({ apiVersion: 2, correlationId: 1, clientId: null }, bad);
    });

    it('refuses versions outside v0-v4', () => {
      expect(() => encodeApiVersionsRequest({ apiVersion: 5, correlationId: 1, clientId: null }, SOFTWARE)).to.throw(
        ProtocolError,
        'ApiVersionsRequest v5 is not supported: Sluice speaks v0-v4',
      );
    });
  });

  describe('decodeApiVersionsResponse()', () => {
    const keys = [
      { apiKey: 0, minVersion: 3, maxVersion: 12 },
      { apiKey: 18, minVersion: 0, maxVersion: 4 },
    ];

    it('decodes v0: error code and an int32-counted array, no throttle time', () => {
      const body = hex(
        '0000', // error_code
        '00000002', // api_keys: 2
        '0000' + '0003' + '000c', // Produce 3-12
        '0012' + '0000' + '0004', // ApiVersions 0-4
      );
      expect(decodeApiVersionsResponse(body, 0)).to.deep.equal({ errorCode: 0, apiKeys: keys, throttleTimeMs: 0 });
    });

    for (const version of [1, 2]) {
      it(`decodes v${version}: v0 plus throttle_time_ms`, () => {
        const body = hex('0000', '00000002', '00000003000c', '001200000004', '00000064' /* throttle 100 */);
        expect(decodeApiVersionsResponse(body, version)).to.deep.equal({ errorCode: 0, apiKeys: keys, throttleTimeMs: 100 });
      });
    }

    for (const version of [3, 4]) {
      it(`decodes v${version}: compact array, per-element tags, and skips the feature tags`, () => {
        const body = hex(
          '0000', // error_code
          '03', // api_keys: compact, 2 + 1
          '0000' + '0003' + '000c' + '00', // Produce 3-12, element tags
          '0012' + '0000' + '0004' + '01' + '07' + '01' + 'ff', // ApiVersions 0-4, an unknown element tag 7
          '00000000', // throttle_time_ms
          '03', // 3 tagged fields
          '00' + '08' + '02' + '0278' + '0001' + '0002' + '00', // tag 0 supported_features: [{name "x", 1, 2}]
          '01' + '08' + '0000000000000005', // tag 1 finalized_features_epoch 5
          '03' + '01' + '01', // tag 3 zk_migration_ready true
        );
        expect(decodeApiVersionsResponse(body, version)).to.deep.equal({ errorCode: 0, apiKeys: keys, throttleTimeMs: 0 });
      });
    }

    it('names the version and field when the body is truncated', () => {
      expect(() => decodeApiVersionsResponse(hex('0000', '00000001', '0000'), 1)).to.throw(
        ProtocolError,
        'ApiVersionsResponse v1: cannot read int16 min_version at offset 8: only 0 of 2 bytes left',
      );
    });
  });

  describe('the UNSUPPORTED_VERSION fallback', () => {
    it('decodes a Kafka >= 2.4 answer to a too-new request as v0 and retries with the listed maximum', () => {
      // A broker that speaks ApiVersions v0-v2, asked v3: error 35 in the v0 format (int32 count,
      // no throttle time, no tags), listing its ApiVersions range (KIP-511).
      const body = hex('0023', '00000001', '0012' + '0000' + '0002');
      const response = decodeApiVersionsResponseWithFallback(body, 3);
      expect(response).to.deep.equal({
        errorCode: 35,
        apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 2 }],
        throttleTimeMs: 0,
      });
      expect(apiVersionsRetryVersion(response, 3)).to.equal(2);
      expect(apiVersionsRetryVersion(response, 4)).to.equal(2);
    });

    it('retries below the tried version even when the broker lists a higher maximum', () => {
      const response = { errorCode: 35, apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 9 }], throttleTimeMs: 0 };
      expect(apiVersionsRetryVersion(response, 4)).to.equal(3);
    });

    it('retries with v0 when a broker before 2.4 lists nothing', () => {
      const response = decodeApiVersionsResponseWithFallback(hex('0023', '00000000'), 3);
      expect(response).to.deep.equal({ errorCode: 35, apiKeys: [], throttleTimeMs: 0 });
      expect(apiVersionsRetryVersion(response, 3)).to.equal(0);
    });

    it('survives the librdkafka 2.0.2 mock broker\'s answer, which is not a v0 body, by retrying with v0', () => {
      // rd_kafka_mock_handle_ApiVersion for a v3 request it does not speak: int16 error 35, an
      // int8 count (1, not count + 1), one entry, then an int32 throttle time.
      const body = hex('0023', '01', '0012' + '0000' + '0002', '00000000');
      const response = decodeApiVersionsResponseWithFallback(body, 3);
      expect(response).to.deep.equal({ errorCode: 35, apiKeys: [], throttleTimeMs: 0 });
      expect(apiVersionsRetryVersion(response, 3)).to.equal(0);
    });

    it('decodes in the request\'s own version when there is no UNSUPPORTED_VERSION error', () => {
      const body = hex('0000', '02', '0012' + '0000' + '0004' + '00', '00000000', '00');
      expect(decodeApiVersionsResponseWithFallback(body, 3).apiKeys).to.deep.equal([{ apiKey: 18, minVersion: 0, maxVersion: 4 }]);
      expect(apiVersionsRetryVersion(decodeApiVersionsResponseWithFallback(body, 3), 3)).to.equal(null);
      expect(() => decodeApiVersionsResponseWithFallback(hex('0000', '05'), 3)).to.throw(ProtocolError);
    });

    it('gives up (null) when v0 itself was unsupported', () => {
      const response = decodeApiVersionsResponseWithFallback(hex('0023', '00000000'), 0);
      expect(response.errorCode).to.equal(35);
      expect(apiVersionsRetryVersion(response, 0)).to.equal(null);
    });
  });
});
