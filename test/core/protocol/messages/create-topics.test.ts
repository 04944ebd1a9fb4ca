import { expect } from 'chai';
import { ProtocolError } from '../../../../packages/core/src/errors.js';
import { decodeCreateTopicsResponse, encodeCreateTopicsRequest } from '../../../../packages/core/src/protocol/messages/create-topics.js';
import type { CreateTopicsRequestData } from '../../../../packages/core/src/protocol/messages/create-topics.js';
import { ZERO_UUID } from '../../../../packages/core/src/protocol/primitives/byte-writer.js';
import { ascii, hex, int16Hex, sizePrefixed, toHex } from '../fixture-bytes.js';

// The fixtures below are the bytes kafka-clients 4.4 writes for the same data
// (`MessageUtil.toByteBufferAccessor(CreateTopicsRequestData / CreateTopicsResponseData, version)`),
// spelled out field by field.

function header(version: number): string {
  const fixed = '0013' + int16Hex(version) + '00000003' + '0001' + ascii('c'); // key 19, correlation id 3, client id "c"
  return version >= 5 ? fixed + '00' : fixed; // request header v2 from v5: tags
}

function encode(version: number, request: CreateTopicsRequestData): string {
  return toHex(encodeCreateTopicsRequest({ apiVersion: version, correlationId: 3, clientId: 'c' }, request));
}

/** Topic "t", 3 partitions, config k=v, timeout 30 s. */
function oneTopic(replicationFactor: number): CreateTopicsRequestData {
  return { topics: [{ name: 't', numPartitions: 3, replicationFactor, configs: { k: 'v' } }], timeoutMs: 30000 };
}

describe('create-topics', () => {
  describe('encodeCreateTopicsRequest()', () => {
    for (const version of [2, 3, 4]) {
      it(`encodes v${version}: topics with partitions, replication, assignments and configs; timeout; validate_only`, () => {
        expect(encode(version, oneTopic(1))).to.equal(
          toHex(
            sizePrefixed(
              header(version),
              '00000001', // topics: 1
              '0001' + ascii('t'), // name
              '00000003', // num_partitions
              '0001', // replication_factor 1
              '00000000', // assignments: none
              '00000001' + '0001' + ascii('k') + '0001' + ascii('v'), // configs: k=v
              '00007530', // timeout_ms 30000
              '00', // validate_only false
            ),
          ),
        );
      });
    }

    it('encodes v4 with the broker defaults (-1) and an assignment', () => {
      const request: CreateTopicsRequestData = {
        topics: [{ name: 'a', numPartitions: -1, replicationFactor: -1, assignments: [{ partitionIndex: 0, brokerIds: [1, 2] }] }],
        timeoutMs: 1000,
        validateOnly: true,
      };
      expect(encode(4, request)).to.equal(
        toHex(
          sizePrefixed(
            header(4),
            '00000001' + '0001' + ascii('a'),
            'ffffffff', // num_partitions -1
            'ffff', // replication_factor -1
            '00000001' + '00000000' + '00000002' + '00000001' + '00000002', // assignments: partition 0 -> [1, 2]
            '00000000', // configs: none
            '000003e8', // timeout_ms 1000
            '01', // validate_only
          ),
        ),
      );
      expect(encode(5, request)).to.equal(
        toHex(sizePrefixed(header(5), '02' + '02' + ascii('a'), 'ffffffff', 'ffff', '02' + '00000000' + '03' + '00000001' + '00000002' + '00', '01', '00', '000003e8', '01', '00')),
      );
    });

    for (const version of [5, 6, 7]) {
      it(`encodes v${version}: flexible — compact arrays and strings, tags at every level`, () => {
        expect(encode(version, oneTopic(-1))).to.equal(
          toHex(
            sizePrefixed(
              header(version),
              '02', // topics: 1 (compact)
              '02' + ascii('t'),
              '00000003',
              'ffff', // replication_factor -1
              '01', // assignments: none (compact)
              '02' + '02' + ascii('k') + '02' + ascii('v') + '00', // configs: k=v, tags
              '00', // topic tags
              '00007530',
              '00',
              '00', // tags
            ),
          ),
        );
      });
    }

    it('refuses the broker defaults before v4, and versions outside v2-v7', () => {
      expect(() => encode(3, oneTopic(-1))).to.throw(ProtocolError, "CreateTopicsRequest v3 cannot ask for the broker's default partitions or replication factor (topic t): that needs v4+");
      expect(() => encode(1, oneTopic(1))).to.throw(ProtocolError, 'CreateTopicsRequest v1 is not supported: Sluice speaks v2-v7');
      expect(() => encode(8, oneTopic(1))).to.throw(ProtocolError, 'CreateTopicsRequest v8 is not supported: Sluice speaks v2-v7');
    });
  });

  describe('decodeCreateTopicsResponse()', () => {
    const existsMessage = "Topic 'u' already exists.";

    for (const version of [2, 3, 4]) {
      it(`decodes v${version}: throttle, then name, error code and message per topic`, () => {
        const body = hex(
          '00000005', // throttle_time_ms
          '00000002', // topics: 2
          '0001' + ascii('t') + '0000' + 'ffff', // t: NONE, no message
          '0001' + ascii('u') + '0024' + '0019' + ascii(existsMessage), // u: TOPIC_ALREADY_EXISTS (36)
        );
        expect(decodeCreateTopicsResponse(body, version)).to.deep.equal({
          throttleTimeMs: 5,
          topics: [
            { name: 't', topicId: ZERO_UUID, errorCode: 0, errorMessage: null, topicConfigErrorCode: 0, numPartitions: -1, replicationFactor: -1, configs: null },
            { name: 'u', topicId: ZERO_UUID, errorCode: 36, errorMessage: existsMessage, topicConfigErrorCode: 0, numPartitions: -1, replicationFactor: -1, configs: null },
          ],
        });
      });
    }

    for (const version of [5, 6, 7]) {
      it(`decodes v${version}: + the created topic's partitions, replication, configs and the tagged topic_config_error_code${version === 7 ? ', + topic ids' : ''}`, () => {
        const uuid = version >= 7 ? '0000000000000001' + '0000000000000002' : '';
        const zeroUuid = version >= 7 ? '00'.repeat(16) : '';
        const body = hex(
          '00000005', // throttle_time_ms
          '03', // topics: 2 (compact)
          '02' + ascii('t') + uuid + '0000' + '00', // t, NONE, message null
          '00000003' + '0001', // num_partitions 3, replication_factor 1
          '02' + '02' + ascii('k') + '02' + ascii('v') + '00' + '01' + '00' + '00', // configs: k=v, not read-only, source 1, not sensitive, tags
          '01' + '00' + '02' + '001d', // tags: 0 -> topic_config_error_code 29
          '02' + ascii('u') + zeroUuid + '0024' + '1a' + ascii(existsMessage), // u, TOPIC_ALREADY_EXISTS
          'ffffffff' + 'ffff' + '00' + '00', // -1, -1, configs null, no tags
          '00', // tags
        );
        const tId = version >= 7 ? Buffer.from(uuid, 'hex').toString('base64url') : ZERO_UUID;
        expect(decodeCreateTopicsResponse(body, version)).to.deep.equal({
          throttleTimeMs: 5,
          topics: [
            {
              name: 't',
              topicId: tId,
              errorCode: 0,
              errorMessage: null,
              topicConfigErrorCode: 29,
              numPartitions: 3,
              replicationFactor: 1,
              configs: [{ name: 'k', value: 'v', readOnly: false, configSource: 1, isSensitive: false }],
            },
            { name: 'u', topicId: ZERO_UUID, errorCode: 36, errorMessage: existsMessage, topicConfigErrorCode: 0, numPartitions: -1, replicationFactor: -1, configs: null },
          ],
        });
      });
    }

    it('names the field when truncated', () => {
      expect(() => decodeCreateTopicsResponse(hex('00000000', '00000001', '0001' + ascii('t'), '00'), 4)).to.throw(ProtocolError, 'CreateTopicsResponse v4: cannot read int16 error_code');
    });
  });
});
