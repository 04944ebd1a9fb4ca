import { expect } from 'chai';
import { ProtocolError } from '../../../../packages/core/src/errors.js';
import { ZERO_UUID } from '../../../../packages/core/src/protocol/primitives/byte-writer.js';
import {
  AUTHORIZED_OPERATIONS_OMITTED,
  decodeMetadataResponse,
  encodeMetadataRequest,
} from '../../../../packages/core/src/protocol/messages/metadata.js';
import type { MetadataRequestData, MetadataResponse } from '../../../../packages/core/src/protocol/messages/metadata.js';
import { ascii, hex, int16Hex, sizePrefixed, toHex } from '../fixture-bytes.js';

const T1 = ascii('t1');
const UUID_HEX = '000102030405060708090a0b0c0d0e0f';
const UUID_TEXT = 'AAECAwQFBgcICQoLDA0ODw';

function request(version: number, data: MetadataRequestData): string {
  return toHex(encodeMetadataRequest({ apiVersion: version, correlationId: 7, clientId: 'c' }, data));
}

/** Request header v1 (non-flexible Metadata versions) for correlation id 7, client id "c". */
function headerV1(version: number): string {
  return '0003' + int16Hex(version) + '00000007' + '0001' + ascii('c');
}

/** Request header v2 (flexible versions): v1 plus an empty tag section. */
function headerV2(version: number): string {
  return headerV1(version) + '00';
}

describe('metadata', () => {
  describe('encodeMetadataRequest()', () => {
    it('encodes v0: all topics is an empty array, no null', () => {
      expect(request(0, { topics: ['t1'] })).to.equal(toHex(sizePrefixed(headerV1(0), '00000001', '0002' + T1)));
      expect(request(0, { topics: null })).to.equal(toHex(sizePrefixed(headerV1(0), '00000000')));
    });

    it('refuses to ask v0 for no topics (it would mean all)', () => {
      expect(() => request(0, { topics: [] })).to.throw(ProtocolError, 'MetadataRequest v0 cannot ask for no topics');
    });

    for (const version of [1, 2, 3]) {
      it(`encodes v${version}: nullable topics array (null = all, empty = none)`, () => {
        expect(request(version, { topics: ['t1'] })).to.equal(toHex(sizePrefixed(headerV1(version), '00000001', '0002' + T1)));
        expect(request(version, { topics: null })).to.equal(toHex(sizePrefixed(headerV1(version), 'ffffffff')));
        expect(request(version, { topics: [] })).to.equal(toHex(sizePrefixed(headerV1(version), '00000000')));
      });
    }

    for (const version of [4, 5, 6, 7]) {
      it(`encodes v${version}: + allow_auto_topic_creation (default true)`, () => {
        expect(request(version, { topics: ['t1'] })).to.equal(
          toHex(sizePrefixed(headerV1(version), '00000001', '0002' + T1, '01')),
        );
        expect(request(version, { topics: null, allowAutoTopicCreation: false })).to.equal(
          toHex(sizePrefixed(headerV1(version), 'ffffffff', '00')),
        );
      });
    }

    it('encodes v8: + include_cluster_authorized_operations, include_topic_authorized_operations', () => {
      expect(request(8, { topics: ['t1'], includeTopicAuthorizedOperations: true })).to.equal(
        toHex(
          sizePrefixed(
            headerV1(8),
            '00000001' + '0002' + T1, // topics
            '01', // allow_auto_topic_creation
            '00', // include_cluster_authorized_operations
            '01', // include_topic_authorized_operations
          ),
        ),
      );
    });

    it('encodes v9: flexible — header v2, compact array and string, tags per topic and at the end', () => {
      expect(request(9, { topics: ['t1'], includeClusterAuthorizedOperations: true })).to.equal(
        toHex(
          sizePrefixed(
            headerV2(9),
            '02', // topics: 1 + 1
            '03' + T1, // name: compact, 2 + 1
            '00', // topic tags
            '01', // allow_auto_topic_creation
            '01', // include_cluster_authorized_operations
            '00', // include_topic_authorized_operations
            '00', // tags
          ),
        ),
      );
      expect(request(9, { topics: null })).to.equal(toHex(sizePrefixed(headerV2(9), '00', '01', '00', '00', '00')));
    });

    it('encodes v10: + the zero topic_id before each name (Sluice asks by name)', () => {
      expect(request(10, { topics: ['t1'] })).to.equal(
        toHex(sizePrefixed(headerV2(10), '02', '00'.repeat(16) + '03' + T1 + '00', '01', '00', '00', '00')),
      );
    });

    for (const version of [11, 12]) {
      it(`encodes v${version}: include_cluster_authorized_operations is gone (KIP-700)`, () => {
        expect(request(version, { topics: ['t1'], includeTopicAuthorizedOperations: true })).to.equal(
          toHex(
            sizePrefixed(
              headerV2(version),
              '02', // topics
              '00'.repeat(16), // topic_id: zero
              '03' + T1, // name
              '00', // topic tags
              '01', // allow_auto_topic_creation
              '01', // include_topic_authorized_operations
              '00', // tags
            ),
          ),
        );
      });
    }

    it('refuses versions outside v0-v12', () => {
      expect(() => request(13, { topics: null })).to.throw(ProtocolError, 'MetadataRequest v13 is not supported');
    });
  });

  describe('decodeMetadataResponse()', () => {
    // One broker (node 1, "h":9092, rack "r"), one topic "t1" with partition 0 led by node 1.
    const BROKER_V0 = '00000001' + '0001' + ascii('h') + '00002384';
    const BROKER_V1 = BROKER_V0 + '0001' + ascii('r');
    const BROKER_V9 = '00000001' + '02' + ascii('h') + '00002384' + '02' + ascii('r') + '00';
    const CLUSTER_ID = '0003' + ascii('cid');
    const CLUSTER_ID_V9 = '04' + ascii('cid');
    const REPLICAS = '00000001' + '00000001'; // [1]
    const REPLICAS_V9 = '02' + '00000001'; // compact [1]

    function expected(version: number, overrides: Partial<MetadataResponse> = {}): MetadataResponse {
      return {
        throttleTimeMs: version >= 3 ? 10 : 0,
        brokers: [{ nodeId: 1, host: 'h', port: 9092, rack: version >= 1 ? 'r' : null }],
        clusterId: version >= 2 ? 'cid' : null,
        controllerId: version >= 1 ? 1 : -1,
        topics: [
          {
            errorCode: 0,
            name: 't1',
            topicId: version >= 10 ? UUID_TEXT : ZERO_UUID,
            isInternal: false,
            partitions: [
              {
                errorCode: 0,
                partitionIndex: 0,
                leaderId: 1,
                leaderEpoch: version >= 7 ? 5 : -1,
                replicaNodes: [1],
                isrNodes: [1],
                offlineReplicas: [],
              },
            ],
            topicAuthorizedOperations: version >= 8 ? 0x0f8 : AUTHORIZED_OPERATIONS_OMITTED,
          },
        ],
        clusterAuthorizedOperations: version >= 8 && version <= 10 ? 0x1f : AUTHORIZED_OPERATIONS_OMITTED,
        ...overrides,
      };
    }

    it('decodes v0: brokers without rack, topics without is_internal', () => {
      const body = hex(
        '00000001', // brokers: 1
        BROKER_V0,
        '00000001', // topics: 1
        '0000' + '0002' + T1, // error_code, name
        '00000001', // partitions: 1
        '0000' + '00000000' + '00000001', // error_code, partition_index 0, leader_id 1
        REPLICAS, // replica_nodes
        REPLICAS, // isr_nodes
      );
      expect(decodeMetadataResponse(body, 0)).to.deep.equal(expected(0));
    });

    it('decodes v1: + rack, controller_id, is_internal', () => {
      const body = hex(
        '00000001', BROKER_V1,
        '00000001', // controller_id
        '00000001', '0000' + '0002' + T1 + '00', // topic: error, name, is_internal false
        '00000001', '0000' + '00000000' + '00000001', REPLICAS, REPLICAS,
      );
      expect(decodeMetadataResponse(body, 1)).to.deep.equal(expected(1));
    });

    it('decodes v2: + cluster_id (and a null rack)', () => {
      const body = hex(
        '00000001', BROKER_V0 + 'ffff', // rack null
        CLUSTER_ID,
        '00000001',
        '00000001', '0000' + '0002' + T1 + '00',
        '00000001', '0000' + '00000000' + '00000001', REPLICAS, REPLICAS,
      );
      const e = expected(2);
      expect(decodeMetadataResponse(body, 2)).to.deep.equal({ ...e, brokers: [{ ...e.brokers[0], rack: null }] });
    });

    for (const version of [3, 4]) {
      it(`decodes v${version}: + throttle_time_ms, first in the body`, () => {
        const body = hex(
          '0000000a', // throttle_time_ms 10
          '00000001', BROKER_V1, CLUSTER_ID, '00000001',
          '00000001', '0000' + '0002' + T1 + '00',
          '00000001', '0000' + '00000000' + '00000001', REPLICAS, REPLICAS,
        );
        expect(decodeMetadataResponse(body, version)).to.deep.equal(expected(version));
      });
    }

    for (const version of [5, 6]) {
      it(`decodes v${version}: + offline_replicas`, () => {
        const body = hex(
          '0000000a', '00000001', BROKER_V1, CLUSTER_ID, '00000001',
          '00000001', '0000' + '0002' + T1 + '00',
          '00000001', '0000' + '00000000' + '00000001', REPLICAS, REPLICAS,
          '00000001' + '00000002', // offline_replicas [2]
        );
        const e = expected(version);
        const p = { ...e.topics[0].partitions[0], offlineReplicas: [2] };
        expect(decodeMetadataResponse(body, version)).to.deep.equal({ ...e, topics: [{ ...e.topics[0], partitions: [p] }] });
      });
    }

    it('decodes v7: + leader_epoch', () => {
      const body = hex(
        '0000000a', '00000001', BROKER_V1, CLUSTER_ID, '00000001',
        '00000001', '0000' + '0002' + T1 + '00',
        '00000001', '0000' + '00000000' + '00000001' + '00000005', // leader_epoch 5
        REPLICAS, REPLICAS, '00000000',
      );
      expect(decodeMetadataResponse(body, 7)).to.deep.equal(expected(7));
    });

    it('decodes v8: + topic_authorized_operations and cluster_authorized_operations', () => {
      const body = hex(
        '0000000a', '00000001', BROKER_V1, CLUSTER_ID, '00000001',
        '00000001', '0000' + '0002' + T1 + '00',
        '00000001', '0000' + '00000000' + '00000001' + '00000005', REPLICAS, REPLICAS, '00000000',
        '000000f8', // topic_authorized_operations
        '0000001f', // cluster_authorized_operations
      );
      expect(decodeMetadataResponse(body, 8)).to.deep.equal(expected(8));
    });

    it('decodes v9: flexible — compact arrays and strings, tags on every struct (unknown ones skipped)', () => {
      const body = hex(
        '0000000a', // throttle_time_ms
        '02', BROKER_V9, // brokers: compact 1 + 1; broker ends with its tags
        CLUSTER_ID_V9, // cluster_id: compact nullable
        '00000001', // controller_id
        '02', // topics
        '0000' + '03' + T1 + '00', // error_code, name (compact), is_internal
        '02', // partitions
        '0000' + '00000000' + '00000001' + '00000005', // error, index, leader, epoch
        REPLICAS_V9, REPLICAS_V9, '01', // replicas, isr, offline (empty compact)
        '01' + '05' + '01' + 'ee', // partition tags: an unknown tag 5
        '000000f8', // topic_authorized_operations
        '00', // topic tags
        '0000001f', // cluster_authorized_operations
        '00', // tags
      );
      expect(decodeMetadataResponse(body, 9)).to.deep.equal(expected(9));
    });

    it('decodes v10: + topic_id', () => {
      const body = hex(
        '0000000a', '02', BROKER_V9, CLUSTER_ID_V9, '00000001',
        '02', '0000' + '03' + T1 + UUID_HEX + '00', // error, name, topic_id, is_internal
        '02', '0000' + '00000000' + '00000001' + '00000005', REPLICAS_V9, REPLICAS_V9, '01', '00',
        '000000f8', '00',
        '0000001f', '00',
      );
      expect(decodeMetadataResponse(body, 10)).to.deep.equal(expected(10));
    });

    it('decodes v11: cluster_authorized_operations is gone', () => {
      const body = hex(
        '0000000a', '02', BROKER_V9, CLUSTER_ID_V9, '00000001',
        '02', '0000' + '03' + T1 + UUID_HEX + '00',
        '02', '0000' + '00000000' + '00000001' + '00000005', REPLICAS_V9, REPLICAS_V9, '01', '00',
        '000000f8', '00',
        '00', // tags: nothing before them since v11
      );
      expect(decodeMetadataResponse(body, 11)).to.deep.equal(expected(11));
    });

    it('decodes v12: a topic name may be null (a topic asked by id that does not exist)', () => {
      const body = hex(
        '0000000a', '02', BROKER_V9, '00' /* cluster_id null */, 'ffffffff' /* controller_id -1 */,
        '03', // topics: 2
        '0000' + '03' + T1 + UUID_HEX + '00',
        '02', '0000' + '00000000' + '00000001' + '00000005', REPLICAS_V9, REPLICAS_V9, '01', '00',
        '000000f8', '00',
        '0064' + '00' + UUID_HEX + '00', // error 100 UNKNOWN_TOPIC_ID, name null, topic_id, is_internal
        '01', // partitions: none
        '80000000', '00', // topic_authorized_operations omitted
        '00',
      );
      const e = expected(12, { clusterId: null, controllerId: -1 });
      expect(decodeMetadataResponse(body, 12)).to.deep.equal({
        ...e,
        topics: [
          e.topics[0],
          {
            errorCode: 100,
            name: null,
            topicId: UUID_TEXT,
            isInternal: false,
            partitions: [],
            topicAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
          },
        ],
      });
    });

    it('refuses a null topic name before v12', () => {
      const body = hex('0000000a', '02', BROKER_V9, '00', 'ffffffff', '02', '0000' + '00');
      expect(() => decodeMetadataResponse(body, 11)).to.throw(
        ProtocolError,
        'MetadataResponse v11: compact string name at offset 26 is null',
      );
    });

    it('names the field and offset when the body is truncated', () => {
      const body = hex('00000001', BROKER_V0, '00000001', '0000' + '0002' + T1, '00000001', '0000' + '0000');
      expect(() => decodeMetadataResponse(body, 0)).to.throw(
        ProtocolError,
        'MetadataResponse v0: cannot read int32 partition_index at offset 31: only 2 of 4 bytes left',
      );
    });
  });
});
