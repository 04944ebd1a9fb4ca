/**
 * Builds a sealed RecordBatch the way the accumulator does — records written with
 * `writeRecord` at base + 61, then `sealBatch` — without an accumulator or a pool, for the
 * format and reader tests.
 */
import { expect } from 'chai';
import type { Codec } from '../../packages/core/src/compression/codec.js';
import { RECORD_BATCH_OVERHEAD } from '../../packages/core/src/format/record-batch-layout.js';
import type { RecordData, RecordHeader } from '../../packages/core/src/format/record-data.js';
import { byteLengthOf } from '../../packages/core/src/format/record-data.js';
import { sizeOfHeaders, sizeOfRecord, sizeOfRecordBody, writeRecord } from '../../packages/core/src/format/record-writer.js';
import { sealBatch } from '../../packages/core/src/sealing/seal-batch.js';

export interface TestRecord {
  key: RecordData;
  value: RecordData;
  headers?: RecordHeader[];
  /** Defaults to the batch's base timestamp (the first record's, else T0). */
  timestamp?: number;
}

export interface TestBatchOptions {
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
  transactional?: boolean;
  codec?: Codec | null;
  /** Bytes before the batch in the returned buffer (the batch starts at `at`). */
  at?: number;
}

/** Base timestamp of built batches whose first record has none. */
export const T0 = 1_700_000_000_000;

/**
 * @returns a buffer holding `at` zero bytes then the sealed batch; asserts that each record
 *   ends exactly where its computed size says
 */
export function buildBatch(records: readonly TestRecord[], o: TestBatchOptions = {}): Buffer {
  const at = o.at ?? 0;
  const baseTimestamp = records[0]?.timestamp ?? T0;
  const bodies = records.map((r, i) =>
    sizeOfRecordBody(i, (r.timestamp ?? baseTimestamp) - baseTimestamp, byteLengthOf(r.key), byteLengthOf(r.value), sizeOfHeaders(r.headers)),
  );
  const recordsLength = bodies.reduce((sum, body) => sum + sizeOfRecord(body), 0);
  const buf = Buffer.alloc(at + RECORD_BATCH_OVERHEAD + recordsLength);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let pos = at + RECORD_BATCH_OVERHEAD;
  let maxTimestamp = baseTimestamp;
  records.forEach((r, i) => {
    const ts = r.timestamp ?? baseTimestamp;
    maxTimestamp = Math.max(maxTimestamp, ts);
    const next = writeRecord(buf, pos, bodies[i], i, ts - baseTimestamp, r.key, byteLengthOf(r.key), r.value, byteLengthOf(r.value), r.headers);
    expect(next, `end of record ${i}`).to.equal(pos + sizeOfRecord(bodies[i]));
    pos = next;
  });
  const sizeBytes = sealBatch(buf, view, at, {
    recordsLength,
    recordCount: records.length,
    baseTimestamp,
    maxTimestamp,
    codec: o.codec ?? null,
    producerId: o.producerId ?? -1,
    producerEpoch: o.producerEpoch ?? -1,
    baseSequence: o.baseSequence ?? -1,
    transactional: o.transactional ?? false,
  });
  return buf.subarray(0, at + sizeBytes);
}
