import { expect } from 'chai';
import { ProtocolError } from '../../../../packages/core/src/errors.js';
import { decodeProduceResponse, encodeProduceRequest } from '../../../../packages/core/src/protocol/messages/produce.js';
import type {
  ProducePartitionResult,
  ProduceRequestData,
} from '../../../../packages/core/src/protocol/messages/produce.js';
import type { ProduceRequest } from '../../../../packages/core/src/network/network-client.js';
import { ascii, concat, hex, int16Hex, sizePrefixed, toHex } from '../fixture-bytes.js';

const T1 = ascii('t1');
const T2 = ascii('t2');

/**
 * Three "record batches" as views into one SharedArrayBuffer, as the pool hands them out. Their
 * contents are arbitrary marker bytes: the encoder treats records as opaque.
 */
function poolViews(): { pool: SharedArrayBuffer; recA: Uint8Array; recB: Uint8Array; recC: Uint8Array } {
  const pool = new SharedArrayBuffer(64);
  const recA = new Uint8Array(pool, 8, 3);
  recA.set([0xa1, 0xa2, 0xa3]);
  const recB = new Uint8Array(pool, 20, 2);
  recB.set([0xb1, 0xb2]);
  const recC = new Uint8Array(pool, 40, 4);
  recC.set([0xc1, 0xc2, 0xc3, 0xc4]);
  return { pool, recA, recB, recC };
}

/** t1-0, t2-1, t1-2: t1's partitions must end up under one topic entry, in this order. */
function requestData(transactionalId: string | null = null): ProduceRequestData & ReturnType<typeof poolViews> {
  const views = poolViews();
  return {
    ...views,
    acks: -1,
    timeoutMs: 30000,
    transactionalId,
    partitions: [
      { topic: 't1', partition: 0, records: views.recA },
      { topic: 't2', partition: 1, records: views.recB },
      { topic: 't1', partition: 2, records: views.recC },
    ],
  };
}

const HEADER_FIELDS = (version: number): string =>
  '0000' + // request_api_key 0 (Produce)
  int16Hex(version) + // request_api_version
  '0000002a' + // correlation_id 42
  '0006' + ascii('sluice'); // client_id

/** The whole request by hand, v3-v8 (request header v1, int32 lengths). */
function nonFlexibleFixture(version: number, transactionalIdHex = 'ffff'): Uint8Array {
  return sizePrefixed(
    HEADER_FIELDS(version),
    transactionalIdHex, // transactional_id
    'ffff', // acks -1
    '00007530', // timeout_ms 30000
    '00000002', // topic_data: 2 topics
    '0002' + T1, // name "t1"
    '00000002', // partition_data: 2
    '00000000', // index 0
    '00000003' + 'a1a2a3', // records: int32 length 3 + recA
    '00000002', // index 2
    '00000004' + 'c1c2c3c4', // records: recC
    '0002' + T2, // name "t2"
    '00000001', // partition_data: 1
    '00000001', // index 1
    '00000002' + 'b1b2', // records: recB
  );
}

/** The whole request by hand, v9-v12 (request header v2, compact forms, tagged fields). */
function flexibleFixture(version: number, transactionalIdHex = '00'): Uint8Array {
  return sizePrefixed(
    HEADER_FIELDS(version),
    '00', // header tagged fields
    transactionalIdHex, // transactional_id: compact nullable
    'ffff', // acks -1
    '00007530', // timeout_ms
    '03', // topic_data: compact, 2 + 1
    '03' + T1, // name: compact, 2 + 1
    '03', // partition_data: 2 + 1
    '00000000', // index 0
    '04' + 'a1a2a3', // records: uvarint 3 + 1, recA
    '00', // partition tags
    '00000002', // index 2
    '05' + 'c1c2c3c4', // records: 4 + 1, recC
    '00', // partition tags
    '00', // topic tags
    '03' + T2,
    '02', // partition_data: 1 + 1
    '00000001', // index 1
    '03' + 'b1b2', // records: 2 + 1, recB
    '00', // partition tags
    '00', // topic tags
    '00', // request tags
  );
}

describe('produce', () => {
  describe('encodeProduceRequest()', () => {
    for (const version of [3, 4, 5, 6, 7, 8]) {
      it(`encodes v${version}: header v1, int32 lengths, partitions grouped per topic`, () => {
        const encoded = encodeProduceRequest({ apiVersion: version, correlationId: 42, clientId: 'sluice' }, requestData());
        expect(toHex(concat(encoded.chunks))).to.equal(toHex(nonFlexibleFixture(version)));
        expect(encoded.sizeBytes).to.equal(nonFlexibleFixture(version).byteLength);
      });
    }

    for (const version of [9, 10, 11, 12]) {
      it(`encodes v${version}: header v2, compact lengths, tagged fields`, () => {
        const encoded = encodeProduceRequest({ apiVersion: version, correlationId: 42, clientId: 'sluice' }, requestData());
        expect(toHex(concat(encoded.chunks))).to.equal(toHex(flexibleFixture(version)));
        expect(encoded.sizeBytes).to.equal(flexibleFixture(version).byteLength);
      });
    }

    it('writes a transactional id as a (compact) string', () => {
      const header = { correlationId: 42, clientId: 'sluice' };
      const v7 = encodeProduceRequest({ ...header, apiVersion: 7 }, requestData('tx'));
      expect(toHex(concat(v7.chunks))).to.equal(toHex(nonFlexibleFixture(7, '0002' + ascii('tx'))));
      const v9 = encodeProduceRequest({ ...header, apiVersion: 9 }, requestData('tx'));
      expect(toHex(concat(v9.chunks))).to.equal(toHex(flexibleFixture(9, '03' + ascii('tx'))));
    });

    it('hands out the caller\'s record views themselves: same SharedArrayBuffer, offset and length, no copy', () => {
      for (const version of [7, 12]) {
        const data = requestData();
        const { chunks, sizeBytes } = encodeProduceRequest({ apiVersion: version, correlationId: 42, clientId: 'sluice' }, data);
        for (const rec of [data.recA, data.recB, data.recC]) {
          const chunk = chunks.find((c) => c.buffer === data.pool && c.byteOffset === rec.byteOffset);
          expect(chunk, `v${version} record at ${rec.byteOffset}`).to.not.equal(undefined);
          expect(chunk!.byteLength).to.equal(rec.byteLength);
        }
        // In wire order: framing, recA, framing, recC, framing, recB (+ trailing tags when flexible).
        expect(chunks[1]).to.equal(data.recA);
        expect(chunks[3]).to.equal(data.recC);
        expect(chunks[5]).to.equal(data.recB);
        expect(chunks).to.have.length(version >= 9 ? 7 : 6);
        // All framing comes from one buffer, allocated once.
        const framing = chunks.filter((c) => c.buffer !== data.pool);
        expect(new Set(framing.map((c) => c.buffer)).size).to.equal(1);
        expect(chunks.reduce((n, c) => n + c.byteLength, 0)).to.equal(sizeBytes);
        // The size prefix counts everything after itself.
        expect(new DataView(chunks[0].buffer, chunks[0].byteOffset).getInt32(0)).to.equal(sizeBytes - 4);
      }
      // A change to pool memory after encoding shows in the chunks: they are views.
      const data = requestData();
      const { chunks } = encodeProduceRequest({ apiVersion: 9, correlationId: 1, clientId: null }, data);
      data.recB[0] = 0x00;
      expect(chunks[5][0]).to.equal(0x00);
    });

    it('accepts the sender\'s ProduceRequest as it is, and empty record views add no chunk', () => {
      const request: ProduceRequest = {
        nodeId: 3,
        acks: 1,
        timeoutMs: 1000,
        transactionalId: null,
        partitions: [{ topic: 't1', partition: 5, records: new Uint8Array(0) }],
      };
      const { chunks } = encodeProduceRequest({ apiVersion: 3, correlationId: 9, clientId: null }, request);
      expect(chunks).to.have.length(1);
      expect(toHex(chunks[0])).to.equal(
        toHex(
          sizePrefixed(
            '0000' + '0003' + '00000009' + 'ffff', // header v1, client_id null
            'ffff', // transactional_id null
            '0001', // acks 1
            '000003e8', // timeout_ms 1000
            '00000001', '0002' + T1, '00000001', '00000005', '00000000', // one partition, empty records
          ),
        ),
      );
    });

    it('refuses versions outside v3-v12', () => {
      for (const apiVersion of [2, 13]) {
        expect(() => encodeProduceRequest({ apiVersion, correlationId: 1, clientId: null }, requestData())).to.throw(
          ProtocolError,
          `ProduceRequest v${apiVersion} is not supported: Sluice speaks v3-v12`,
        );
      }
    });
  });

  describe('decodeProduceResponse()', () => {
    function result(overrides: Partial<ProducePartitionResult> = {}): ProducePartitionResult {
      return {
        topic: 't1',
        partition: 0,
        errorCode: 0,
        baseOffset: 42,
        logAppendTimeMs: -1,
        logStartOffset: -1,
        errorMessage: null,
        recordErrors: [],
        currentLeader: null,
        ...overrides,
      };
    }

    for (const version of [3, 4]) {
      it(`decodes v${version}: index, error, base offset, log append time; throttle time`, () => {
        const body = hex(
          '00000002', // responses: 2 topics
          '0002' + T1, '00000002', // "t1", 2 partitions
          '00000000' + '0000' + '000000000000002a' + 'ffffffffffffffff', // p0: ok, base 42, append time -1
          '00000002' + '0006' + 'ffffffffffffffff' + 'ffffffffffffffff', // p2: NOT_LEADER_OR_FOLLOWER, -1, -1
          '0002' + T2, '00000001',
          '00000001' + '0000' + '0000000000000064' + '0000018cc251f400', // p1: base 100, append time 1704067200000
          '00000005', // throttle_time_ms 5
        );
        expect(decodeProduceResponse(body, version)).to.deep.equal({
          partitions: [
            result(),
            result({ partition: 2, errorCode: 6, baseOffset: -1 }),
            result({ topic: 't2', partition: 1, baseOffset: 100, logAppendTimeMs: 1704067200000 }),
          ],
          throttleTimeMs: 5,
          nodeEndpoints: [],
        });
      });
    }

    for (const version of [5, 6, 7]) {
      it(`decodes v${version}: + log_start_offset`, () => {
        const body = hex(
          '00000001', '0002' + T1, '00000001',
          '00000000' + '0000' + '000000000000002a' + 'ffffffffffffffff' + '0000000000000007', // log_start_offset 7
          '00000000',
        );
        expect(decodeProduceResponse(body, version)).to.deep.equal({
          partitions: [result({ logStartOffset: 7 })],
          throttleTimeMs: 0,
          nodeEndpoints: [],
        });
      });
    }

    it('decodes v8: + record_errors and error_message (KIP-467)', () => {
      const body = hex(
        '00000001', '0002' + T1, '00000001',
        '00000000' + '0057' + 'ffffffffffffffff' + 'ffffffffffffffff' + '0000000000000000', // INVALID_RECORD (87)
        '00000002', // record_errors: 2
        '00000003' + '0003' + ascii('bad'), // batch_index 3, "bad"
        '00000004' + 'ffff', // batch_index 4, no message
        '0004' + ascii('oops'), // error_message
        '00000000',
      );
      expect(decodeProduceResponse(body, 8).partitions).to.deep.equal([
        result({
          errorCode: 87,
          baseOffset: -1,
          logStartOffset: 0,
          recordErrors: [
            { batchIndex: 3, message: 'bad' },
            { batchIndex: 4, message: null },
          ],
          errorMessage: 'oops',
        }),
      ]);
    });

    it('decodes v9: flexible, and skips tag 0 (current_leader only exists from v10)', () => {
      const body = hex(
        '02', // responses: compact 1 + 1
        '03' + T1, '02',
        '00000000' + '0000' + '000000000000002a' + 'ffffffffffffffff' + '0000000000000007',
        '02' + '00000001' + '04' + ascii('bad') + '00', // record_errors: [{1, "bad"}], element tags
        '00', // error_message null
        '01' + '00' + '08' + '0000000200000007', // partition tags: tag 0 (unknown in v9), skipped
        '00', // topic tags
        '0000000a', // throttle_time_ms 10
        '00', // tags
      );
      expect(decodeProduceResponse(body, 9)).to.deep.equal({
        partitions: [result({ logStartOffset: 7, recordErrors: [{ batchIndex: 1, message: 'bad' }] })],
        throttleTimeMs: 10,
        nodeEndpoints: [],
      });
    });

    for (const version of [10, 11, 12]) {
      it(`decodes v${version}: tagged current_leader and node_endpoints (KIP-951), skipping unknown tags`, () => {
        const body = hex(
          '02', '03' + T1, '03', // t1: 2 partitions
          // p0: NOT_LEADER_OR_FOLLOWER with the new leader
          '00000000' + '0006' + 'ffffffffffffffff' + 'ffffffffffffffff' + 'ffffffffffffffff',
          '01', '00', // record_errors empty, error_message null
          '02', // partition tags: 2
          '00' + '09' + '00000002' + '00000007' + '00', // tag 0 current_leader {leader 2, epoch 7, no tags}
          '04' + '01' + 'ff', // tag 4: unknown, skipped
          // p1: fine, no tags
          '00000001' + '0000' + '000000000000002a' + 'ffffffffffffffff' + '0000000000000000', '01', '00', '00',
          '00', // topic tags
          '00000000', // throttle_time_ms
          '01', // tags: 1
          '00' + '0e', // tag 0 node_endpoints, 14 bytes:
          '02' + '00000002' + '03' + ascii('h2') + '00002384' + '00' + '00', // [{2, "h2", 9092, rack null}]
        );
        expect(decodeProduceResponse(body, version)).to.deep.equal({
          partitions: [
            result({ errorCode: 6, baseOffset: -1, currentLeader: { leaderId: 2, leaderEpoch: 7 } }),
            result({ partition: 1, logStartOffset: 0 }),
          ],
          throttleTimeMs: 0,
          nodeEndpoints: [{ nodeId: 2, host: 'h2', port: 9092, rack: null }],
        });
      });
    }

    it('names the version, field and offset when the body is truncated', () => {
      const body = hex('00000001', '0002' + T1, '00000001', '00000000', '00');
      expect(() => decodeProduceResponse(body, 7)).to.throw(
        ProtocolError,
        'ProduceResponse v7: cannot read int16 error_code at offset 16: only 1 of 2 bytes left',
      );
    });

    it('refuses a current_leader tag whose size does not match its struct', () => {
      const body = hex(
        '02', '03' + T1, '02',
        '00000000' + '0000' + '000000000000002a' + 'ffffffffffffffff' + '0000000000000000', '01', '00',
        '01' + '00' + '0a' + '00000002' + '00000007' + '00' + '00', // size 10, struct is 9
        '00', '00000000', '00',
      );
      expect(() => decodeProduceResponse(body, 10)).to.throw(ProtocolError, 'has 10 bytes but 9 were read');
    });
  });
});
