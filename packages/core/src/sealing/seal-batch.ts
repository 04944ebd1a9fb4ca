/**
 * Sealing: the one pure function that turns a batch's records (already encoded in pool
 * memory after a 61-byte gap) into a complete Kafka RecordBatch v2, in place.
 *
 * Both the inline sealer (caller's thread) and the piscina seal task (worker thread) call
 * this with views over the same SharedArrayBuffer, so the bytes are never copied between
 * threads. Steps:
 *   1. compress `[base + 61, base + 61 + recordsLength)` with the codec, if any;
 *   2. if the result is smaller, copy it over the raw records (it is shorter, so it fits in
 *      the slot), else keep the raw records and mark the batch uncompressed — both are valid
 *      Kafka batches, and a "compressed" batch that is bigger only costs the consumer;
 *   3. write the header and the CRC32C over attributes..end.
 */
import type { Codec } from '../compression/codec.js';
import { writeBatchHeader } from '../format/batch-header-writer.js';
import { RECORD_BATCH_OVERHEAD, TRANSACTIONAL_FLAG_MASK } from '../format/record-batch-layout.js';
import { copyBytes } from '../format/shared-copy.js';

/** Everything {@link sealBatch} needs besides the memory: small numbers (and the codec). */
export interface SealParams {
  /** Bytes of encoded records after the header gap. */
  recordsLength: number;
  recordCount: number;
  baseTimestamp: number;
  maxTimestamp: number;
  /** Codec to try; null = no compression. */
  codec: Codec | null;
  /** Codec level; undefined = the codec's default. */
  level?: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  transactional: boolean;
}

/**
 * Seals the batch at `base` in place.
 * @param buf - a Buffer over the memory holding the batch
 * @param view - a DataView over the same memory, same origin as `buf`
 * @returns the sealed batch's total size in bytes (header included); the codec actually used
 *   is in the written attributes
 */
export function sealBatch(buf: Buffer, view: DataView, base: number, p: SealParams): number {
  const recordsStart = base + RECORD_BATCH_OVERHEAD;
  let recordsBytes = p.recordsLength;
  let attributes = p.transactional ? TRANSACTIONAL_FLAG_MASK : 0;
  if (p.codec !== null && p.recordsLength > 0) {
    const compressed = p.codec.compress(buf.subarray(recordsStart, recordsStart + p.recordsLength), p.level);
    if (compressed.byteLength < p.recordsLength) {
      copyBytes(buf, recordsStart, compressed);
      recordsBytes = compressed.byteLength;
      attributes |= p.codec.id;
    }
  }
  const sizeBytes = RECORD_BATCH_OVERHEAD + recordsBytes;
  writeBatchHeader(buf, view, base, sizeBytes, {
    attributes,
    lastOffsetDelta: p.recordCount - 1,
    baseTimestamp: p.baseTimestamp,
    maxTimestamp: p.maxTimestamp,
    producerId: p.producerId,
    producerEpoch: p.producerEpoch,
    baseSequence: p.baseSequence,
    recordsCount: p.recordCount,
  });
  return sizeBytes;
}
