import { expect } from 'chai';
import fc from 'fast-check';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { Codec } from '../../../packages/core/src/compression/codec.js';
import { CorruptBatchError } from '../../../packages/core/src/errors.js';
import {
  readInt64,
  rewriteProducerState,
  writeBatchCrc,
  writeInt64,
} from '../../../packages/core/src/format/batch-header-writer.js';
import { crc32c } from '../../../packages/core/src/format/crc32c.js';
import {
  ATTRIBUTES_OFFSET,
  BASE_OFFSET_OFFSET,
  CONTROL_FLAG_MASK,
  CRC_OFFSET,
  LENGTH_OFFSET,
  LOG_OVERHEAD,
  MAGIC_OFFSET,
  MAX_TIMESTAMP_OFFSET,
  PARTITION_LEADER_EPOCH_OFFSET,
  RECORDS_COUNT_OFFSET,
  RECORD_BATCH_OVERHEAD,
  TIMESTAMP_TYPE_MASK,
} from '../../../packages/core/src/format/record-batch-layout.js';
import {
  peekBatchHeader,
  readRecordBatches,
  verifyBatchCrc,
} from '../../../packages/core/src/format/record-batch-reader.js';
import type { DecodedRecordBatch } from '../../../packages/core/src/format/record-batch-reader.js';
import { byteLengthOf } from '../../../packages/core/src/format/record-data.js';
import {
  sizeOfHeaders,
  sizeOfRecord,
  sizeOfRecordBody,
} from '../../../packages/core/src/format/record-writer.js';
import { writeVarint } from '../../../packages/core/src/format/varint.js';
import { buildBatch, T0 } from '../../helpers/batch-factory.js';
import type { TestRecord } from '../../helpers/batch-factory.js';

function viewOf(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** Recomputes the CRC after a test corrupts a batch on purpose, so the structural check fires. */
function reseal(batch: Buffer, base = 0): Buffer {
  const view = viewOf(batch);
  writeBatchCrc(batch, view, base, view.getInt32(base + LENGTH_OFFSET) + LOG_OVERHEAD);
  return batch;
}

const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');

const gzipCodec: Codec = {
  id: 1,
  name: 'gzip',
  compress: (input) => gzipSync(input),
  decompress: (input) => gunzipSync(input),
};

function expectCorrupt(fn: () => unknown, pattern: RegExp): CorruptBatchError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught, 'should throw').to.be.instanceOf(CorruptBatchError);
  const err = caught as CorruptBatchError;
  expect(err.code).to.equal('SLUICE_ERR_CORRUPT_BATCH');
  expect(err.message).to.match(pattern);
  return err;
}

const SAMPLE: readonly TestRecord[] = [
  { key: 'k0', value: 'v0', timestamp: T0 + 5 },
  { key: null, value: utf8('v1'), timestamp: T0 + 2, headers: [{ key: 'h', value: 'x' }, { key: 'n', value: null }] },
  { key: '', value: null, timestamp: T0 + 9 },
];

describe('readRecordBatches()', () => {
  it('decodes every header field and record of a sealed batch', () => {
    const bytes = buildBatch(SAMPLE, { producerId: 4242, producerEpoch: 3, baseSequence: 100 });
    const [batch, ...rest] = readRecordBatches(bytes);
    expect(rest).to.have.length(0);
    const expected: DecodedRecordBatch = {
      baseOffset: 0,
      length: bytes.length - LOG_OVERHEAD,
      partitionLeaderEpoch: -1,
      magic: 2,
      crc: crc32c(bytes.subarray(ATTRIBUTES_OFFSET)),
      attributes: 0,
      compression: 'none',
      timestampType: 'CreateTime',
      isTransactional: false,
      isControl: false,
      lastOffsetDelta: 2,
      baseTimestamp: T0 + 5,
      maxTimestamp: T0 + 9,
      producerId: 4242,
      producerEpoch: 3,
      baseSequence: 100,
      recordsCount: 3,
      sizeBytes: bytes.length,
      records: [
        { offset: 0, offsetDelta: 0, timestamp: T0 + 5, timestampDelta: 0, key: utf8('k0'), value: utf8('v0'), headers: [] },
        {
          offset: 1,
          offsetDelta: 1,
          timestamp: T0 + 2,
          timestampDelta: -3,
          key: null,
          value: utf8('v1'),
          headers: [
            { key: 'h', value: utf8('x') },
            { key: 'n', value: null },
          ],
        },
        { offset: 2, offsetDelta: 2, timestamp: T0 + 9, timestampDelta: 4, key: new Uint8Array(0), value: null, headers: [] },
      ],
    };
    // chai compares Buffer and Uint8Array by type; normalise the decoded views.
    expect(normalise(batch)).to.deep.equal(normalise(expected));
  });

  it('returns views into the input, not copies', () => {
    const bytes = buildBatch([{ key: 'key', value: 'value' }]);
    const [batch] = readRecordBatches(bytes);
    const value = batch.records[0].value!;
    expect(value.buffer).to.equal(bytes.buffer);
    expect(Buffer.from(value).toString()).to.equal('value');
  });

  it('returns [] for empty input, and decodes a batch of zero records', () => {
    expect(readRecordBatches(new Uint8Array(0))).to.deep.equal([]);
    const [batch] = readRecordBatches(buildBatch([]));
    expect(batch.recordsCount).to.equal(0);
    expect(batch.records).to.deep.equal([]);
    expect(batch.sizeBytes).to.equal(RECORD_BATCH_OVERHEAD);
  });

  it('reads concatenated batches, resolving offsets from each baseOffset (outside the CRC)', () => {
    const a = buildBatch(SAMPLE);
    const b = buildBatch([{ key: 'x', value: 'y', timestamp: 7 }], { transactional: true });
    const c = buildBatch(SAMPLE.slice(0, 2));
    const all = Buffer.concat([a, b, c]);
    const view = viewOf(all);
    // The broker assigns baseOffset and partitionLeaderEpoch; neither is under the CRC.
    writeInt64(view, a.length + BASE_OFFSET_OFFSET, 3);
    writeInt64(view, a.length + b.length + BASE_OFFSET_OFFSET, 2 ** 40);
    view.setInt32(a.length + PARTITION_LEADER_EPOCH_OFFSET, 17);
    const batches = readRecordBatches(all);
    expect(batches.map((x) => x.sizeBytes)).to.deep.equal([a.length, b.length, c.length]);
    expect(batches.map((x) => x.baseOffset)).to.deep.equal([0, 3, 2 ** 40]);
    expect(batches.map((x) => x.partitionLeaderEpoch)).to.deep.equal([-1, 17, -1]);
    expect(batches.map((x) => x.isTransactional)).to.deep.equal([false, true, false]);
    expect(batches[0].records.map((r) => r.offset)).to.deep.equal([0, 1, 2]);
    expect(batches[1].records.map((r) => r.offset)).to.deep.equal([3]);
    expect(batches[2].records.map((r) => r.offset)).to.deep.equal([2 ** 40, 2 ** 40 + 1]);
  });

  it('decodes a view that starts inside a larger buffer (non-zero byteOffset)', () => {
    const padded = buildBatch(SAMPLE, { at: 13 });
    const batch = padded.subarray(13);
    expect(batch.byteOffset).to.be.greaterThan(0);
    const [decoded] = readRecordBatches(batch);
    expect(decoded.records.map((r) => r.timestamp)).to.deep.equal([T0 + 5, T0 + 2, T0 + 9]);
    expect(verifyBatchCrc(padded, 13)).to.equal(true);
  });

  it('gives every record maxTimestamp under LogAppendTime', () => {
    const bytes = buildBatch(SAMPLE);
    const view = viewOf(bytes);
    view.setInt16(ATTRIBUTES_OFFSET, view.getInt16(ATTRIBUTES_OFFSET) | TIMESTAMP_TYPE_MASK);
    writeInt64(view, MAX_TIMESTAMP_OFFSET, 8_000_000_000_000);
    reseal(bytes);
    const [batch] = readRecordBatches(bytes);
    expect(batch.timestampType).to.equal('LogAppendTime');
    expect(batch.records.map((r) => r.timestamp)).to.deep.equal([8e12, 8e12, 8e12]);
    expect(batch.records.map((r) => r.timestampDelta)).to.deep.equal([0, -3, 4]);
  });

  it('reports the transactional and control bits', () => {
    const bytes = buildBatch(SAMPLE, { transactional: true, producerId: 9, producerEpoch: 0, baseSequence: 0 });
    let [batch] = readRecordBatches(bytes);
    expect([batch.isTransactional, batch.isControl, batch.attributes]).to.deep.equal([true, false, 0x10]);
    const view = viewOf(bytes);
    view.setInt16(ATTRIBUTES_OFFSET, view.getInt16(ATTRIBUTES_OFFSET) | CONTROL_FLAG_MASK);
    [batch] = readRecordBatches(reseal(bytes));
    expect([batch.isTransactional, batch.isControl, batch.attributes]).to.deep.equal([true, true, 0x30]);
  });

  describe('compressed batches', () => {
    const records: TestRecord[] = Array.from({ length: 50 }, (_, i) => ({
      key: `key-${i}`,
      value: 'the same value compresses well '.repeat(4),
      timestamp: T0 + i,
      headers: [{ key: 'trace', value: `t${i}` }],
    }));

    it('hands the records section to decompress with the codec id and decodes the result', () => {
      const bytes = buildBatch(records, { codec: gzipCodec });
      const calls: number[] = [];
      const [batch] = readRecordBatches(bytes, {
        decompress: (id, data) => {
          calls.push(id, data.byteLength);
          return gunzipSync(data);
        },
      });
      expect(calls).to.deep.equal([1, bytes.length - RECORD_BATCH_OVERHEAD]);
      expect(batch.compression).to.equal('gzip');
      expect(batch.attributes & 0x07).to.equal(1);
      const plain = readRecordBatches(buildBatch(records))[0];
      expect(normalise(batch.records)).to.deep.equal(normalise(plain.records));
    });

    it('throws CorruptBatchError for a compressed batch without a decompress function', () => {
      const bytes = buildBatch(records, { codec: gzipCodec });
      expectCorrupt(() => readRecordBatches(bytes), /batch at offset 0: records are compressed with gzip \(codec 1\) but no decompress function was given/);
    });

    it('throws CorruptBatchError when decompress fails', () => {
      const bytes = buildBatch(records, { codec: gzipCodec });
      bytes[RECORD_BATCH_OVERHEAD + 20] ^= 0xff;
      expectCorrupt(
        () => readRecordBatches(reseal(bytes), { decompress: (_id, data) => gunzipSync(data) }),
        /decompressing the gzip records section \[61, \d+\) failed/,
      );
    });

    it('throws CorruptBatchError for a codec id Kafka does not define (5)', () => {
      const bytes = buildBatch(SAMPLE);
      viewOf(bytes).setInt16(ATTRIBUTES_OFFSET, 5);
      expectCorrupt(() => readRecordBatches(reseal(bytes), { decompress: (_id, d) => d }), /unknown compression codec 5 in attributes 0x0005 at offset 21/);
    });
  });

  describe('options.verifyCrc', () => {
    it('skips the CRC check when false', () => {
      const bytes = buildBatch(SAMPLE);
      bytes[bytes.length - 3] ^= 0x01; // inside the last record's value
      expect(() => readRecordBatches(bytes)).to.throw(CorruptBatchError, /crc/);
      const [batch] = readRecordBatches(bytes, { verifyCrc: false });
      expect(batch.recordsCount).to.equal(3);
    });
  });

  describe('errors', () => {
    it('throws "crc mismatch: stored 0x…, computed 0x…" for any flipped byte from attributes to the end', () => {
      const clean = buildBatch(SAMPLE, { producerId: 1, producerEpoch: 1, baseSequence: 1 });
      const stored = viewOf(clean).getUint32(CRC_OFFSET);
      for (let i = ATTRIBUTES_OFFSET; i < clean.length; i++) {
        const bytes = Buffer.from(clean);
        bytes[i] ^= 0x40;
        const computed = crc32c(bytes.subarray(ATTRIBUTES_OFFSET));
        const hex = (n: number): string => `0x${n.toString(16).padStart(8, '0')}`;
        const err = expectCorrupt(() => readRecordBatches(bytes), /batch at offset 0: crc mismatch: stored 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}/);
        expect(err.message, `byte ${i}`).to.contain(`stored ${hex(stored)}, computed ${hex(computed)}`);
        expect(verifyBatchCrc(bytes, 0), `byte ${i}`).to.equal(false);
      }
    });

    it('throws for a flipped CRC byte itself', () => {
      const bytes = buildBatch(SAMPLE);
      bytes[CRC_OFFSET + 2] ^= 0x01;
      expectCorrupt(() => readRecordBatches(bytes), /crc mismatch/);
    });

    it('throws for every truncation, with or without CRC verification', () => {
      const clean = Buffer.concat([buildBatch(SAMPLE), buildBatch(SAMPLE.slice(1))]);
      const firstSize = buildBatch(SAMPLE).length;
      for (let len = 1; len < clean.length; len++) {
        if (len === firstSize) continue; // a whole first batch is valid input
        for (const verifyCrc of [true, false]) {
          expectCorrupt(
            () => readRecordBatches(clean.subarray(0, len), { verifyCrc }),
            /header truncated: need 61 bytes, \d+ available|length \d+ at offset \d+ runs past the end: batch needs \d+ bytes, \d+ available/,
          );
        }
      }
    });

    it('throws for bad magic, naming the value and its offset', () => {
      for (const magic of [0, 1, 3, -1]) {
        const bytes = buildBatch(SAMPLE);
        viewOf(bytes).setInt8(MAGIC_OFFSET, magic);
        expectCorrupt(() => readRecordBatches(bytes), new RegExp(`batch at offset 0: bad magic ${magic} at offset 16`));
      }
      const two = Buffer.concat([buildBatch(SAMPLE), buildBatch(SAMPLE)]);
      two[two.length / 2 + MAGIC_OFFSET] = 1;
      expectCorrupt(() => readRecordBatches(two), new RegExp(`batch at offset ${two.length / 2}: bad magic 1 at offset ${two.length / 2 + 16}`));
    });

    it('throws for a length past the end of the input or shorter than the header', () => {
      const bytes = buildBatch(SAMPLE);
      const view = viewOf(bytes);
      const length = bytes.length - LOG_OVERHEAD;
      view.setInt32(LENGTH_OFFSET, length + 1);
      expectCorrupt(() => readRecordBatches(bytes), new RegExp(`length ${length + 1} at offset 8 runs past the end: batch needs ${bytes.length + 1} bytes, ${bytes.length} available`));
      view.setInt32(LENGTH_OFFSET, 48);
      expectCorrupt(() => readRecordBatches(bytes), /length 48 at offset 8 is shorter than the v2 header \(49\)/);
      view.setInt32(LENGTH_OFFSET, -12);
      expectCorrupt(() => readRecordBatches(bytes), /length -12 at offset 8 is shorter/);
    });

    it('throws for a record whose length overruns the records section', () => {
      const bytes = buildBatch(SAMPLE);
      // The last record's length varint, made one too large: it now claims a byte past the end.
      const last = RECORD_BATCH_OVERHEAD + recordSizes(SAMPLE.slice(0, 2));
      bytes[last] += 2;
      expectCorrupt(() => readRecordBatches(reseal(bytes)), new RegExp(`record 2 at offset ${last}: record length \\d+ overruns the records section`));
    });

    it('throws for a record length shorter than its fields', () => {
      const bytes = buildBatch([{ key: 'abc', value: 'def' }, { key: 'g', value: 'h' }]);
      expect(bytes[RECORD_BATCH_OVERHEAD]).to.equal(24); // zigzag(12)
      writeVarint(bytes, RECORD_BATCH_OVERHEAD, 10); // 2 bytes short: the value now runs past the record
      expectCorrupt(() => readRecordBatches(reseal(bytes)), /record 0 at offset 61: value length 3 overruns the record/);
    });

    it('throws "recordsCount mismatch" when the header claims more or fewer records than present', () => {
      const more = buildBatch(SAMPLE);
      viewOf(more).setInt32(RECORDS_COUNT_OFFSET, 4);
      expectCorrupt(() => readRecordBatches(reseal(more)), /recordsCount mismatch: header says 4 at offset 57, the records section ends after 3 records/);
      const fewer = buildBatch(SAMPLE);
      viewOf(fewer).setInt32(RECORDS_COUNT_OFFSET, 2);
      expectCorrupt(() => readRecordBatches(reseal(fewer)), /recordsCount mismatch: header says 2 at offset 57, but \d+ bytes follow those records/);
      viewOf(fewer).setInt32(RECORDS_COUNT_OFFSET, -1);
      expectCorrupt(() => readRecordBatches(reseal(fewer)), /negative recordsCount -1 at offset 57/);
    });

    it('throws for a null header key, a negative header count and an over-long key', () => {
      const headerBatch = (): Buffer => buildBatch([{ key: null, value: null, headers: [{ key: 'a', value: 'b' }] }]);
      // record: length, attrs, tsDelta, offsetDelta, keyLen(-1), valueLen(-1), headerCount, keyLen ...
      const headerCountAt = RECORD_BATCH_OVERHEAD + 6;
      let bytes = headerBatch();
      expect(bytes[headerCountAt]).to.equal(2); // zigzag(1)
      writeVarint(bytes, headerCountAt + 1, -1);
      expectCorrupt(() => readRecordBatches(reseal(bytes)), /header 0 key length -1 at offset 68: header keys may not be null/);
      bytes = headerBatch();
      writeVarint(bytes, headerCountAt, -1);
      expectCorrupt(() => readRecordBatches(reseal(bytes)), /record 0 at offset 61: negative headers count -1 at offset 67/);
      bytes = headerBatch();
      writeVarint(bytes, RECORD_BATCH_OVERHEAD + 4, 40);
      expectCorrupt(() => readRecordBatches(reseal(bytes)), /key length 40 overruns the record/);
    });

    it('throws for a varint running past the end of its record, naming the field', () => {
      const bytes = buildBatch([{ key: null, value: null }]);
      // length 6 → 2: the record now ends after attributes and timestampDelta; 4 bytes trail.
      writeVarint(bytes, RECORD_BATCH_OVERHEAD, 2);
      expectCorrupt(() => readRecordBatches(reseal(bytes)), /record 0 at offset 61: offsetDelta truncated or malformed \(record ends at offset 64\)/);
    });

    it('throws CorruptBatchError, never anything else, for random corruption behind a valid CRC', () => {
      const clean = buildBatch(SAMPLE, { producerId: 7, producerEpoch: 7, baseSequence: 7 });
      fc.assert(
        fc.property(
          fc.array(fc.record({ at: fc.integer({ min: ATTRIBUTES_OFFSET, max: clean.length - 1 }), byte: fc.nat(255) }), { minLength: 1, maxLength: 4 }),
          (edits) => {
            const bytes = Buffer.from(clean);
            for (const e of edits) bytes[e.at] = e.byte;
            try {
              readRecordBatches(reseal(bytes));
            } catch (err) {
              expect(err).to.be.instanceOf(CorruptBatchError);
            }
          },
        ),
        { numRuns: 500 },
      );
    });
  });
});

describe('peekBatchHeader()', () => {
  it('returns the header fields readRecordBatches returns, without reading records or CRC', () => {
    const bytes = buildBatch(SAMPLE, { at: 5, producerId: 2 ** 45 + 3, producerEpoch: 32767, baseSequence: 2_000_000_000 });
    const [decoded] = readRecordBatches(bytes.subarray(5));
    const peeked = peekBatchHeader(viewOf(bytes), 5);
    const { records: _r, compression: _c, timestampType: _t, isTransactional: _x, isControl: _k, ...header } = decoded;
    expect(peeked).to.deep.equal(header);
    expect(peeked.producerId).to.equal(2 ** 45 + 3);
    // Corrupt the records: peek does not care.
    bytes.fill(0xff, 5 + RECORD_BATCH_OVERHEAD);
    expect(peekBatchHeader(viewOf(bytes), 5)).to.deep.equal(header);
  });

  it('throws CorruptBatchError for a short header, bad magic or bad length', () => {
    const bytes = buildBatch(SAMPLE);
    expectCorrupt(() => peekBatchHeader(viewOf(bytes.subarray(0, 60)), 0), /header truncated: need 61 bytes, 60 available/);
    expectCorrupt(() => peekBatchHeader(viewOf(bytes), 1), /batch at offset 1:/);
  });
});

describe('verifyBatchCrc()', () => {
  it('is true for a sealed batch and false after any change under the CRC', () => {
    const bytes = buildBatch(SAMPLE);
    expect(verifyBatchCrc(bytes, 0)).to.equal(true);
    bytes[ATTRIBUTES_OFFSET + 1] ^= 0x08;
    expect(verifyBatchCrc(bytes, 0)).to.equal(false);
  });

  it('ignores baseOffset and partitionLeaderEpoch, which the broker rewrites', () => {
    const bytes = buildBatch(SAMPLE);
    const view = viewOf(bytes);
    writeInt64(view, BASE_OFFSET_OFFSET, 123_456_789_012);
    view.setInt32(PARTITION_LEADER_EPOCH_OFFSET, 99);
    expect(verifyBatchCrc(bytes, 0)).to.equal(true);
    expect(readInt64(view, BASE_OFFSET_OFFSET)).to.equal(123_456_789_012);
  });
});

describe('rewriteProducerState()', () => {
  it('changes producer id, epoch and base sequence; the CRC verifies and the reader sees the new values', () => {
    const bytes = buildBatch(SAMPLE);
    const before = readRecordBatches(bytes)[0];
    expect([before.producerId, before.producerEpoch, before.baseSequence]).to.deep.equal([-1, -1, -1]);
    rewriteProducerState(bytes, viewOf(bytes), 0, bytes.length, 2 ** 40 + 1, 5, 2_147_483_000);
    expect(verifyBatchCrc(bytes, 0)).to.equal(true);
    const after = readRecordBatches(bytes)[0];
    expect([after.producerId, after.producerEpoch, after.baseSequence]).to.deep.equal([2 ** 40 + 1, 5, 2_147_483_000]);
    expect(after.crc).to.not.equal(before.crc);
    expect(normalise(after.records)).to.deep.equal(normalise(before.records));
  });
});

function recordSizes(records: readonly TestRecord[]): number {
  const t = records[0]?.timestamp ?? T0;
  return records.reduce(
    (sum, r, i) =>
      sum +
      sizeOfRecord(sizeOfRecordBody(i, (r.timestamp ?? t) - t, byteLengthOf(r.key), byteLengthOf(r.value), sizeOfHeaders(r.headers))),
    0,
  );
}

/** Turns every Uint8Array (Buffer or view) into a hex string, so deep equality ignores the class. */
function normalise(x: unknown): unknown {
  if (x instanceof Uint8Array) return `bytes:${Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString('hex')}`;
  if (Array.isArray(x)) return x.map(normalise);
  if (x !== null && typeof x === 'object') {
    return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, normalise(v)]));
  }
  return x;
}
