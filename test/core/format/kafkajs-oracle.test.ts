/**
 * kafkajs as an oracle for the RecordBatch v2 bytes Sluice writes: every batch built with
 * `writeRecord` + `sealBatch` is decoded by kafkajs's own RecordBatch decoder AND by our
 * `readRecordBatches`, and every field is compared with both and with the input. The other
 * way round, batches written by kafkajs's encoder are decoded by our reader.
 *
 * kafkajs is CommonJS and ships no types for its protocol internals; they are loaded with
 * `require` and described by the small interfaces below.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { createRequire } from 'node:module';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { Codec } from '../../../packages/core/src/compression/codec.js';
import { rewriteProducerState } from '../../../packages/core/src/format/batch-header-writer.js';
import { crc32c } from '../../../packages/core/src/format/crc32c.js';
import { ATTRIBUTES_OFFSET, CRC_OFFSET } from '../../../packages/core/src/format/record-batch-layout.js';
import { readRecordBatches, verifyBatchCrc } from '../../../packages/core/src/format/record-batch-reader.js';
import type { DecodedRecordBatch } from '../../../packages/core/src/format/record-batch-reader.js';
import type { RecordData } from '../../../packages/core/src/format/record-data.js';
import { buildBatch, T0 } from '../../helpers/batch-factory.js';
import type { TestBatchOptions, TestRecord } from '../../helpers/batch-factory.js';

type KafkajsHeaderValue = Buffer | null;
interface KafkajsRecord {
  magicByte: number;
  attributes: number;
  timestamp: string;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, KafkajsHeaderValue | KafkajsHeaderValue[]>;
  isControlRecord: boolean;
}
interface KafkajsBatch {
  firstOffset: string;
  firstTimestamp: string;
  partitionLeaderEpoch: number;
  inTransaction: boolean;
  isControlBatch: boolean;
  lastOffsetDelta: number;
  producerId: string;
  producerEpoch: number;
  firstSequence: number;
  maxTimestamp: string;
  timestampType: number;
  records: KafkajsRecord[];
}
interface KafkajsEncoder {
  readonly buffer: Buffer;
}

const require = createRequire(import.meta.url);
const KafkajsDecoder = require('kafkajs/src/protocol/decoder.js') as new (buf: Buffer) => unknown;
const kafkajsDecodeBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder.js') as (d: unknown) => Promise<KafkajsBatch>;
const kafkajsCrc32c = require('kafkajs/src/protocol/recordBatch/crc32C/index.js') as (buf: Buffer) => number;
const { RecordBatch: kafkajsRecordBatch } = require('kafkajs/src/protocol/recordBatch/v0/index.js') as {
  RecordBatch: (b: {
    compression?: number;
    firstOffset?: bigint;
    firstTimestamp: number;
    maxTimestamp: number;
    partitionLeaderEpoch?: number;
    lastOffsetDelta: number;
    transactional?: boolean;
    producerId?: bigint;
    producerEpoch?: number;
    firstSequence?: number;
    records: KafkajsEncoder[];
  }) => Promise<KafkajsEncoder>;
};
const kafkajsRecord = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (r: {
  offsetDelta: number;
  timestampDelta: number;
  key: Buffer | null;
  value: Buffer | null;
  headers?: Record<string, Buffer>;
}) => KafkajsEncoder;

const toBytes = (d: RecordData): Buffer | null => (d === null ? null : typeof d === 'string' ? Buffer.from(d, 'utf8') : Buffer.from(d));

/** kafkajs's header shape: an object by key, a repeated key becomes an array, in order. */
function kafkajsHeadersOf(headers: readonly { key: string; value: Uint8Array | string | null }[]): KafkajsRecord['headers'] {
  const out: KafkajsRecord['headers'] = {};
  for (const h of headers) {
    const v = toBytes(h.value);
    const prev = out[h.key];
    out[h.key] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

/** Decodes with both decoders and checks every field against each other and the input. */
async function expectBothDecode(
  bytes: Buffer,
  input: readonly TestRecord[],
  o: TestBatchOptions = {},
  decompress?: (id: number, data: Uint8Array) => Uint8Array,
): Promise<DecodedRecordBatch> {
  const ours = readRecordBatches(bytes, { decompress });
  expect(ours).to.have.length(1);
  const batch = ours[0];
  const theirs = await kafkajsDecodeBatch(new KafkajsDecoder(bytes));

  const baseTimestamp = input[0]?.timestamp ?? T0;
  const timestamps = input.map((r) => r.timestamp ?? baseTimestamp);
  const maxTimestamp = Math.max(baseTimestamp, ...timestamps);

  // header: ours against the input
  expect(batch.baseOffset).to.equal(0);
  expect(batch.sizeBytes).to.equal(bytes.length);
  expect(batch.length).to.equal(bytes.length - 12);
  expect(batch.magic).to.equal(2);
  expect(batch.partitionLeaderEpoch).to.equal(-1);
  expect(batch.lastOffsetDelta).to.equal(input.length - 1);
  expect(batch.recordsCount).to.equal(input.length);
  expect(batch.baseTimestamp).to.equal(baseTimestamp);
  expect(batch.maxTimestamp).to.equal(maxTimestamp);
  expect(batch.producerId).to.equal(o.producerId ?? -1);
  expect(batch.producerEpoch).to.equal(o.producerEpoch ?? -1);
  expect(batch.baseSequence).to.equal(o.baseSequence ?? -1);
  expect(batch.isTransactional).to.equal(o.transactional ?? false);
  expect(batch.isControl).to.equal(false);
  expect(batch.timestampType).to.equal('CreateTime');
  expect(batch.attributes & ~0x07).to.equal(o.transactional ? 0x10 : 0);

  // header: kafkajs against ours
  expect(theirs.firstOffset).to.equal(String(batch.baseOffset));
  expect(theirs.partitionLeaderEpoch).to.equal(batch.partitionLeaderEpoch);
  expect(theirs.lastOffsetDelta).to.equal(batch.lastOffsetDelta);
  expect(theirs.firstTimestamp).to.equal(String(batch.baseTimestamp));
  expect(theirs.maxTimestamp).to.equal(String(batch.maxTimestamp));
  expect(theirs.producerId).to.equal(String(batch.producerId));
  expect(theirs.producerEpoch).to.equal(batch.producerEpoch);
  expect(theirs.firstSequence).to.equal(batch.baseSequence);
  expect(theirs.inTransaction).to.equal(batch.isTransactional);
  expect(theirs.isControlBatch).to.equal(batch.isControl);
  expect(theirs.timestampType).to.equal(0);

  // CRC: stored = ours = kafkajs's crc32C over attributes..end
  const stored = bytes.readUInt32BE(CRC_OFFSET);
  expect(batch.crc).to.equal(stored);
  expect(kafkajsCrc32c(bytes.subarray(ATTRIBUTES_OFFSET))).to.equal(stored);
  expect(crc32c(bytes.subarray(ATTRIBUTES_OFFSET))).to.equal(stored);
  expect(verifyBatchCrc(bytes, 0)).to.equal(true);

  // records
  expect(batch.records).to.have.length(input.length);
  expect(theirs.records).to.have.length(input.length);
  input.forEach((r, i) => {
    const mine = batch.records[i];
    const k = theirs.records[i];
    const at = `record ${i}`;
    expect(mine.offset, at).to.equal(i);
    expect(mine.offsetDelta, at).to.equal(i);
    expect(mine.timestamp, at).to.equal(timestamps[i]);
    expect(mine.timestampDelta, at).to.equal(timestamps[i] - baseTimestamp);
    expect(nullableHex(mine.key), at).to.equal(nullableHex(toBytes(r.key)));
    expect(nullableHex(mine.value), at).to.equal(nullableHex(toBytes(r.value)));
    expect(
      mine.headers.map((h) => [h.key, nullableHex(h.value)]),
      at,
    ).to.deep.equal((r.headers ?? []).map((h) => [h.key, nullableHex(toBytes(h.value))]));

    expect(k.magicByte, at).to.equal(batch.magic);
    expect(k.attributes, at).to.equal(0);
    expect(k.offset, at).to.equal(String(mine.offset));
    expect(k.timestamp, at).to.equal(String(mine.timestamp));
    expect(nullableHex(k.key), at).to.equal(nullableHex(mine.key));
    expect(nullableHex(k.value), at).to.equal(nullableHex(mine.value));
    expect(hexHeaders(k.headers), at).to.deep.equal(hexHeaders(kafkajsHeadersOf(mine.headers)));
    expect(k.isControlRecord, at).to.equal(false);
  });
  return batch;
}

function nullableHex(b: Uint8Array | null): string | null {
  return b === null ? null : Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

function hexHeaders(h: KafkajsRecord['headers']): Record<string, string | null | (string | null)[]> {
  return Object.fromEntries(
    Object.entries(h).map(([k, v]) => [k, Array.isArray(v) ? v.map(nullableHex) : nullableHex(v)]),
  );
}

const gzipCodec: Codec = {
  id: 1,
  name: 'gzip',
  compress: (input) => gzipSync(input),
  decompress: (input) => gunzipSync(input),
};
const gunzip = (_id: number, data: Uint8Array): Uint8Array => gunzipSync(data);

interface OracleCase {
  name: string;
  records: TestRecord[];
  options?: TestBatchOptions;
}

const CASES: OracleCase[] = [
  { name: 'one record, string key and value', records: [{ key: 'key', value: 'value' }] },
  { name: 'null key', records: [{ key: null, value: 'v' }] },
  { name: 'null value (tombstone)', records: [{ key: 'k', value: null }] },
  { name: 'null key and null value', records: [{ key: null, value: null }] },
  {
    name: 'empty (zero-length) key and value, as string and as bytes',
    records: [
      { key: '', value: '' },
      { key: new Uint8Array(0), value: Buffer.alloc(0) },
    ],
  },
  {
    name: 'several headers, a null header value, an empty header key, a repeated key',
    records: [
      {
        key: 'k',
        value: 'v',
        headers: [
          { key: 'a', value: 'one' },
          { key: 'nul', value: null },
          { key: '', value: Buffer.from([0, 1, 2, 255]) },
          { key: 'a', value: 'two' },
          { key: 'empty', value: '' },
        ],
      },
      { key: 'k2', value: 'v2', headers: [] },
    ],
  },
  { name: 'timestamp -1', records: [{ key: 'k', value: 'v', timestamp: -1 }] },
  {
    name: 'negative timestamps (-5000, -1) and a delta across zero',
    records: [
      { key: 'a', value: '1', timestamp: -5000 },
      { key: 'b', value: '2', timestamp: -1 },
      { key: 'c', value: '3', timestamp: 1234 },
    ],
  },
  {
    name: 'large timestamps (8e12, year 2223)',
    records: [
      { key: 'a', value: '1', timestamp: 8_000_000_000_000 },
      { key: 'b', value: '2', timestamp: 8_000_000_000_123 },
    ],
  },
  {
    name: 'negative timestamp deltas (records older than the first)',
    records: [
      { key: 'a', value: '1', timestamp: T0 },
      { key: 'b', value: '2', timestamp: T0 - 1 },
      { key: 'c', value: '3', timestamp: T0 - 86_400_000 },
      { key: 'd', value: '4', timestamp: T0 + 5 },
    ],
  },
  {
    name: 'a timestamp delta beyond 32 bits',
    records: [
      { key: 'a', value: '1', timestamp: 1 },
      { key: 'b', value: '2', timestamp: 8_000_000_000_000 },
      { key: 'c', value: '3', timestamp: -8_000_000_000_000 },
    ],
  },
  {
    name: 'unicode keys, values and header keys (Cyrillic, emoji, CJK)',
    records: [
      { key: 'ключ', value: 'значение', headers: [{ key: 'заголовок', value: 'знач' }] },
      { key: '🚀', value: '🚀🎉👩‍👩‍👧', headers: [{ key: '🔑', value: '🚀' }] },
      { key: '日本語', value: '中文内容 한국어', headers: [{ key: '键', value: '值' }] },
    ],
  },
  {
    name: 'string and Buffer inputs mixed in one batch',
    records: [
      { key: Buffer.from('ключ'), value: 'значение', headers: [{ key: 'h', value: Buffer.from('🚀') }] },
      { key: 'ключ', value: Buffer.from('значение'), headers: [{ key: 'h', value: '🚀' }] },
    ],
  },
  {
    name: 'a value over 8 KiB (3-byte record length varint) and binary bytes',
    records: [
      { key: 'big', value: Buffer.alloc(20_000, 0xab) },
      { key: Buffer.from(Array.from({ length: 256 }, (_, i) => i)), value: 'small' },
    ],
  },
  {
    name: '1000 records (2-byte offset deltas)',
    records: Array.from({ length: 1000 }, (_, i) => ({
      key: i % 7 === 0 ? null : `key-${i}`,
      value: i % 11 === 0 ? null : 'x'.repeat(i % 90),
      timestamp: T0 + ((i * 37) % 500) - 250,
      headers: i % 5 === 0 ? [{ key: 'i', value: String(i) }] : undefined,
    })),
  },
  {
    name: 'producer id, epoch and base sequence set (idempotent)',
    records: [{ key: 'k', value: 'v' }, { key: 'k', value: 'w' }],
    options: { producerId: 2 ** 40 + 123, producerEpoch: 32_767, baseSequence: 2_147_483_000 },
  },
  {
    name: 'transactional',
    records: [{ key: 'k', value: 'v' }],
    options: { producerId: 77, producerEpoch: 2, baseSequence: 0, transactional: true },
  },
];

describe('RecordBatch v2 against kafkajs (oracle)', () => {
  describe('batches written by writeRecord + sealBatch: kafkajs and readRecordBatches agree on every field', () => {
    for (const c of CASES) {
      it(c.name, async () => {
        await expectBothDecode(buildBatch(c.records, c.options), c.records, c.options);
      });
    }

    it('string and Buffer inputs give identical batches', () => {
      const s = buildBatch([{ key: 'ключ', value: '🚀 日本', headers: [{ key: 'h', value: 'é' }], timestamp: -5000 }]);
      const b = buildBatch([
        { key: Buffer.from('ключ'), value: new Uint8Array(Buffer.from('🚀 日本')), headers: [{ key: 'h', value: Buffer.from('é') }], timestamp: -5000 },
      ]);
      expect(s.toString('hex')).to.equal(b.toString('hex'));
    });

    it('random batches (property)', async () => {
      const data: fc.Arbitrary<RecordData> = fc.oneof(
        fc.constant(null),
        fc.string({ unit: 'grapheme', maxLength: 30 }),
        fc.uint8Array({ maxLength: 200 }).map((u) => Buffer.from(u)),
      );
      const record: fc.Arbitrary<TestRecord> = fc.record({
        key: data,
        value: data,
        // kafkajs folds headers into a plain object and misreads keys such as 'valueOf' or
        // '__proto__' (its `obj[key] === undefined` sees Object.prototype); keep clear of them.
        headers: fc.array(
          fc.record({ key: fc.string({ unit: 'grapheme', maxLength: 10 }).filter((k) => !(k in Object.prototype)), value: data }),
          { maxLength: 4 },
        ),
        timestamp: fc.oneof(fc.integer({ min: -10_000, max: 10_000 }), fc.integer({ min: T0 - 1e9, max: T0 + 1e9 }), fc.constant(8e12)),
      });
      const options: fc.Arbitrary<TestBatchOptions> = fc.oneof(
        fc.constant({}),
        fc.record({
          producerId: fc.integer({ min: 0, max: 2 ** 50 }),
          producerEpoch: fc.integer({ min: 0, max: 32_767 }),
          baseSequence: fc.nat(2_147_483_647),
          transactional: fc.boolean(),
        }),
      );
      await fc.assert(
        fc.asyncProperty(fc.array(record, { minLength: 1, maxLength: 25 }), options, async (records, o) => {
          await expectBothDecode(buildBatch(records, o), records, o);
        }),
        { numRuns: 150 },
      );
    });
  });

  describe('gzip batches sealed by sealBatch', () => {
    it('kafkajs (zlib) and readRecordBatches with a decompress function agree', async () => {
      const records: TestRecord[] = Array.from({ length: 200 }, (_, i) => ({
        key: `user-${i % 10}`,
        value: `{"event":"click","n":${i},"page":"/home"}`,
        timestamp: T0 + i,
        headers: [{ key: 'source', value: 'web' }],
      }));
      const o: TestBatchOptions = { codec: gzipCodec, producerId: 5, producerEpoch: 1, baseSequence: 400 };
      const bytes = buildBatch(records, o);
      expect(bytes.length).to.be.lessThan(buildBatch(records).length / 3);
      const batch = await expectBothDecode(bytes, records, o, gunzip);
      expect(batch.compression).to.equal('gzip');
      expect(batch.attributes & 0x07).to.equal(1);
    });

    it('keeps a batch that does not shrink uncompressed (codec bits 0)', async () => {
      const records: TestRecord[] = [{ key: null, value: 'x' }];
      const bytes = buildBatch(records, { codec: gzipCodec });
      const batch = await expectBothDecode(bytes, records);
      expect(batch.compression).to.equal('none');
    });
  });

  describe('rewriteProducerState()', () => {
    it('after a rewrite kafkajs still decodes, its crc32C verifies, and both see the new values', async () => {
      const records: TestRecord[] = [
        { key: 'a', value: '1', timestamp: T0 },
        { key: null, value: 'ключ', timestamp: T0 - 3, headers: [{ key: 'h', value: null }] },
      ];
      const bytes = buildBatch(records);
      const before = bytes.readUInt32BE(CRC_OFFSET);
      const o: TestBatchOptions = { producerId: 2 ** 47 + 9, producerEpoch: 12, baseSequence: 1_000_000 };
      rewriteProducerState(bytes, new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), 0, bytes.length, o.producerId!, o.producerEpoch!, o.baseSequence!);
      expect(bytes.readUInt32BE(CRC_OFFSET)).to.not.equal(before);
      // expectBothDecode checks the stored CRC against kafkajs's crc32C and the new fields.
      await expectBothDecode(bytes, records, o);
      // Rewriting back restores the original bytes exactly.
      rewriteProducerState(bytes, new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), 0, bytes.length, -1, -1, -1);
      expect(bytes.toString('hex')).to.equal(buildBatch(records).toString('hex'));
    });
  });

  describe('batches written by kafkajs RecordBatch encoder, decoded by readRecordBatches', () => {
    const encodeWithKafkajs = async (compression: number): Promise<Buffer> => {
      const records = [
        kafkajsRecord({ offsetDelta: 0, timestampDelta: 0, key: Buffer.from('ключ'), value: Buffer.from('🚀'), headers: { h: Buffer.from('v') } }),
        kafkajsRecord({ offsetDelta: 1, timestampDelta: -7, key: null, value: Buffer.alloc(0) }),
        kafkajsRecord({ offsetDelta: 2, timestampDelta: 8_000_000_000_000, key: Buffer.from('k'), value: null }),
      ];
      const batch = await kafkajsRecordBatch({
        compression,
        firstOffset: 0n,
        firstTimestamp: -5000,
        maxTimestamp: 8_000_000_000_000 - 5000,
        partitionLeaderEpoch: 4,
        lastOffsetDelta: 2,
        transactional: true,
        producerId: 99n,
        producerEpoch: 3,
        firstSequence: 17,
        records,
      });
      return batch.buffer;
    };

    for (const [label, compression] of [['uncompressed', 0], ['gzip', 1]] as const) {
      it(`decodes every field (${label})`, async () => {
        const bytes = await encodeWithKafkajs(compression);
        const [batch, ...rest] = readRecordBatches(bytes, { decompress: gunzip });
        expect(rest).to.have.length(0);
        expect(batch.compression).to.equal(label === 'gzip' ? 'gzip' : 'none');
        expect({
          baseOffset: batch.baseOffset,
          partitionLeaderEpoch: batch.partitionLeaderEpoch,
          magic: batch.magic,
          isTransactional: batch.isTransactional,
          lastOffsetDelta: batch.lastOffsetDelta,
          baseTimestamp: batch.baseTimestamp,
          maxTimestamp: batch.maxTimestamp,
          producerId: batch.producerId,
          producerEpoch: batch.producerEpoch,
          baseSequence: batch.baseSequence,
          recordsCount: batch.recordsCount,
          sizeBytes: batch.sizeBytes,
        }).to.deep.equal({
          baseOffset: 0,
          partitionLeaderEpoch: 4,
          magic: 2,
          isTransactional: true,
          lastOffsetDelta: 2,
          baseTimestamp: -5000,
          maxTimestamp: 8_000_000_000_000 - 5000,
          producerId: 99,
          producerEpoch: 3,
          baseSequence: 17,
          recordsCount: 3,
          sizeBytes: bytes.length,
        });
        expect(
          batch.records.map((r) => [r.offset, r.timestamp, nullableHex(r.key), nullableHex(r.value), r.headers.map((h) => [h.key, nullableHex(h.value)])]),
        ).to.deep.equal([
          [0, -5000, nullableHex(Buffer.from('ключ')), nullableHex(Buffer.from('🚀')), [['h', '76']]],
          [1, -5007, null, '', []],
          [2, 8_000_000_000_000 - 5000, '6b', null, []],
        ]);
      });
    }
  });
});
