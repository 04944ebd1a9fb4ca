/**
 * Writes the 61-byte RecordBatch v2 header in front of records already in place, and the
 * CRC32C over `[ATTRIBUTES_OFFSET, end)`. Also rewrites the producer fields of a sealed
 * batch (sequence numbers are assigned when a batch is drained, possibly after a worker
 * sealed it) and fixes the CRC.
 */
import { crc32c } from './crc32c.js';
import { patchCrc32c } from './crc32c-patch.js';
import {
  ATTRIBUTES_OFFSET,
  BASE_OFFSET_OFFSET,
  BASE_SEQUENCE_OFFSET,
  BASE_TIMESTAMP_OFFSET,
  CRC_OFFSET,
  LAST_OFFSET_DELTA_OFFSET,
  LENGTH_OFFSET,
  LOG_OVERHEAD,
  MAGIC_OFFSET,
  MAGIC_V2,
  MAX_TIMESTAMP_OFFSET,
  NO_PARTITION_LEADER_EPOCH,
  PARTITION_LEADER_EPOCH_OFFSET,
  PRODUCER_EPOCH_OFFSET,
  PRODUCER_ID_OFFSET,
  RECORDS_COUNT_OFFSET,
} from './record-batch-layout.js';

const TWO_POW_32 = 4294967296;

/** Writes a safe integer as a big-endian int64 without BigInt. */
export function writeInt64(view: DataView, offset: number, value: number): void {
  const hi = Math.floor(value / TWO_POW_32);
  view.setInt32(offset, hi);
  view.setUint32(offset + 4, value - hi * TWO_POW_32);
}

/** Reads a big-endian int64 as a number (exact within ±2^53). */
export function readInt64(view: DataView, offset: number): number {
  return view.getInt32(offset) * TWO_POW_32 + view.getUint32(offset + 4);
}

/** The header fields a producer chooses; the rest (length, magic, CRC) are derived. */
export interface BatchHeaderFields {
  /** Attributes: codec id in bits 0-2, plus the flags of `record-batch-layout.ts`. */
  attributes: number;
  lastOffsetDelta: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  recordsCount: number;
}

/**
 * Writes the header of a batch that starts at `base` and is `sizeBytes` long in total
 * (records already written at `base + RECORD_BATCH_OVERHEAD`), then its CRC.
 * @param buf - bytes over the batch's memory (a Buffer, so the native CRC reads it in place)
 * @param view - a DataView over the same memory as `buf`, same origin
 */
export function writeBatchHeader(buf: Uint8Array, view: DataView, base: number, sizeBytes: number, h: BatchHeaderFields): void {
  writeInt64(view, base + BASE_OFFSET_OFFSET, 0);
  view.setInt32(base + LENGTH_OFFSET, sizeBytes - LOG_OVERHEAD);
  view.setInt32(base + PARTITION_LEADER_EPOCH_OFFSET, NO_PARTITION_LEADER_EPOCH);
  view.setInt8(base + MAGIC_OFFSET, MAGIC_V2);
  view.setInt16(base + ATTRIBUTES_OFFSET, h.attributes);
  view.setInt32(base + LAST_OFFSET_DELTA_OFFSET, h.lastOffsetDelta);
  writeInt64(view, base + BASE_TIMESTAMP_OFFSET, h.baseTimestamp);
  writeInt64(view, base + MAX_TIMESTAMP_OFFSET, h.maxTimestamp);
  writeInt64(view, base + PRODUCER_ID_OFFSET, h.producerId);
  view.setInt16(base + PRODUCER_EPOCH_OFFSET, h.producerEpoch);
  view.setInt32(base + BASE_SEQUENCE_OFFSET, h.baseSequence);
  view.setInt32(base + RECORDS_COUNT_OFFSET, h.recordsCount);
  writeBatchCrc(buf, view, base, sizeBytes);
}

/** Computes and stores the CRC32C of a batch whose other header fields are final. */
export function writeBatchCrc(buf: Uint8Array, view: DataView, base: number, sizeBytes: number): void {
  view.setUint32(base + CRC_OFFSET, crc32c(buf.subarray(base + ATTRIBUTES_OFFSET, base + sizeBytes)));
}

/** The producer fields as they were before a rewrite (producer id, epoch, base sequence: 14 contiguous bytes). */
const PRODUCER_FIELDS_BYTES = BASE_SEQUENCE_OFFSET + 4 - PRODUCER_ID_OFFSET;
const oldProducerFields = new Uint8Array(PRODUCER_FIELDS_BYTES);
if (PRODUCER_EPOCH_OFFSET !== PRODUCER_ID_OFFSET + 8 || BASE_SEQUENCE_OFFSET !== PRODUCER_EPOCH_OFFSET + 2) {
  throw new Error('batch-header-writer: the producer fields must be contiguous');
}

/**
 * Rewrites producer id, epoch and base sequence of a sealed batch and fixes its CRC
 * (the only header fields that may change after sealing: they are assigned at drain). The
 * CRC is patched from the old one (`crc32c-patch.ts`: only the 14 changed bytes are read),
 * not recomputed over the whole batch — so the batch's CRC must be its true CRC, as sealing
 * leaves it.
 */
export function rewriteProducerState(
  buf: Uint8Array,
  view: DataView,
  base: number,
  sizeBytes: number,
  producerId: number,
  producerEpoch: number,
  baseSequence: number,
): void {
  const fields = base + PRODUCER_ID_OFFSET;
  for (let i = 0; i < PRODUCER_FIELDS_BYTES; i++) oldProducerFields[i] = buf[fields + i];
  writeInt64(view, base + PRODUCER_ID_OFFSET, producerId);
  view.setInt16(base + PRODUCER_EPOCH_OFFSET, producerEpoch);
  view.setInt32(base + BASE_SEQUENCE_OFFSET, baseSequence);
  const crc = view.getUint32(base + CRC_OFFSET);
  view.setUint32(base + CRC_OFFSET, patchCrc32c(crc, oldProducerFields, 0, buf, fields, PRODUCER_FIELDS_BYTES, sizeBytes - (PRODUCER_ID_OFFSET + PRODUCER_FIELDS_BYTES)));
}
