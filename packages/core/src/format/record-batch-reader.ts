/**
 * Decoder of RecordBatch v2 bytes, for Sluice's own tools, tests and the embedded broker.
 * The producer never reads batches back; this is the other half of `record-writer.ts` and
 * `batch-header-writer.ts`, strict enough to catch anything those write wrong.
 *
 * Every malformed input throws {@link CorruptBatchError} naming the field, the byte offset
 * and the values involved. Offsets are into the `bytes` given, except inside a compressed
 * records section, where they are into the decompressed records (the message says so).
 *
 * Keys, values and header values are views into `bytes` (or into the decompressed
 * records), not copies: copy them before reusing the input buffer.
 *
 * int64 fields (baseOffset, timestamps, producerId) are read as numbers, exact within
 * ±2^53 — every value a producer writes, and any broker offset below 9 × 10^15.
 *
 * Layout and attribute bits: `record-batch-layout.ts`. Source: Kafka
 * `DefaultRecordBatch.iterator()` and `DefaultRecord.readFrom()`.
 */
import { CorruptBatchError } from '../errors.js';
import { readInt64 } from './batch-header-writer.js';
import type { CompressionName } from './compression-type.js';
import { compressionName } from './compression-type.js';
import { crc32c } from './crc32c.js';
import {
  ATTRIBUTES_OFFSET,
  BASE_OFFSET_OFFSET,
  BASE_SEQUENCE_OFFSET,
  BASE_TIMESTAMP_OFFSET,
  COMPRESSION_CODEC_MASK,
  CONTROL_FLAG_MASK,
  CRC_OFFSET,
  LAST_OFFSET_DELTA_OFFSET,
  LENGTH_OFFSET,
  LOG_OVERHEAD,
  MAGIC_OFFSET,
  MAGIC_V2,
  MAX_TIMESTAMP_OFFSET,
  PARTITION_LEADER_EPOCH_OFFSET,
  PRODUCER_EPOCH_OFFSET,
  PRODUCER_ID_OFFSET,
  RECORDS_COUNT_OFFSET,
  RECORDS_OFFSET,
  RECORD_BATCH_OVERHEAD,
  TIMESTAMP_TYPE_MASK,
  TRANSACTIONAL_FLAG_MASK,
} from './record-batch-layout.js';
import type { VarintRead } from './varint.js';
import { readVarint, readVarlong } from './varint.js';

/** The fixed 61-byte header of a batch, as stored, plus its total size. */
export interface RecordBatchHeader {
  baseOffset: number;
  /** Bytes after the length field (`sizeBytes - LOG_OVERHEAD`). */
  length: number;
  partitionLeaderEpoch: number;
  magic: number;
  /** Stored CRC32C, unsigned. */
  crc: number;
  attributes: number;
  lastOffsetDelta: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  recordsCount: number;
  /** Total size of the batch in bytes, header included (`length + LOG_OVERHEAD`). */
  sizeBytes: number;
}

/** Kafka's `TimestampType` as stored in attribute bit 3. */
export type TimestampType = 'CreateTime' | 'LogAppendTime';

/** One decoded header of a record. */
export interface DecodedRecordHeader {
  key: string;
  value: Uint8Array | null;
}

/** One decoded record, with its absolute offset and timestamp resolved. */
export interface DecodedRecord {
  /** `baseOffset + offsetDelta`. */
  offset: number;
  offsetDelta: number;
  /**
   * `baseTimestamp + timestampDelta`, or the batch's `maxTimestamp` under LogAppendTime
   * (Kafka `DefaultRecordBatch.iterator()` passes `maxTimestamp` as the log-append time).
   */
  timestamp: number;
  timestampDelta: number;
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers: DecodedRecordHeader[];
}

/** One decoded batch: its header, the attribute bits spelled out, and its records. */
export interface DecodedRecordBatch extends RecordBatchHeader {
  compression: CompressionName;
  timestampType: TimestampType;
  isTransactional: boolean;
  isControl: boolean;
  records: DecodedRecord[];
}

/** Options of {@link readRecordBatches}. */
export interface ReadRecordBatchesOptions {
  /** Check each batch's CRC32C before decoding it (default true). */
  verifyCrc?: boolean;
  /**
   * Decompresses the records section of a compressed batch (`codecId` from attributes bits
   * 0-2). Without it, a compressed batch throws.
   */
  decompress?: (codecId: number, data: Uint8Array) => Uint8Array;
}

const UTF8 = new TextDecoder();

function hex32(n: number): string {
  return `0x${(n >>> 0).toString(16).padStart(8, '0')}`;
}

function hex16(n: number): string {
  return `0x${(n & 0xffff).toString(16).padStart(4, '0')}`;
}

/**
 * Reads the header of the batch at `base` without touching its records or its CRC.
 * Checks what is needed to find the next batch: the header fits, magic is 2, and `length`
 * covers the header and stays inside the view.
 * @param view - the bytes holding the batch; `base` is relative to the view's start
 * @param base - offset of the batch's first byte (its baseOffset field)
 * @throws CorruptBatchError on a truncated header, a magic other than 2, a length shorter
 *   than the header or past the end of the view, or a negative recordsCount
 */
export function peekBatchHeader(view: DataView, base: number): RecordBatchHeader {
  const available = view.byteLength - base;
  if (available < RECORD_BATCH_OVERHEAD) {
    throw new CorruptBatchError(
      `batch at offset ${base}: header truncated: need ${RECORD_BATCH_OVERHEAD} bytes, ${available} available`,
    );
  }
  const magic = view.getInt8(base + MAGIC_OFFSET);
  if (magic !== MAGIC_V2) {
    throw new CorruptBatchError(
      `batch at offset ${base}: bad magic ${magic} at offset ${base + MAGIC_OFFSET}; only magic ${MAGIC_V2} (RecordBatch v2) is supported`,
    );
  }
  const length = view.getInt32(base + LENGTH_OFFSET);
  const sizeBytes = length + LOG_OVERHEAD;
  if (sizeBytes < RECORD_BATCH_OVERHEAD) {
    throw new CorruptBatchError(
      `batch at offset ${base}: length ${length} at offset ${base + LENGTH_OFFSET} is shorter than the v2 header (${RECORD_BATCH_OVERHEAD - LOG_OVERHEAD})`,
    );
  }
  if (sizeBytes > available) {
    throw new CorruptBatchError(
      `batch at offset ${base}: length ${length} at offset ${base + LENGTH_OFFSET} runs past the end: batch needs ${sizeBytes} bytes, ${available} available`,
    );
  }
  const recordsCount = view.getInt32(base + RECORDS_COUNT_OFFSET);
  if (recordsCount < 0) {
    throw new CorruptBatchError(
      `batch at offset ${base}: negative recordsCount ${recordsCount} at offset ${base + RECORDS_COUNT_OFFSET}`,
    );
  }
  return {
    baseOffset: readInt64(view, base + BASE_OFFSET_OFFSET),
    length,
    partitionLeaderEpoch: view.getInt32(base + PARTITION_LEADER_EPOCH_OFFSET),
    magic,
    crc: view.getUint32(base + CRC_OFFSET),
    attributes: view.getInt16(base + ATTRIBUTES_OFFSET),
    lastOffsetDelta: view.getInt32(base + LAST_OFFSET_DELTA_OFFSET),
    baseTimestamp: readInt64(view, base + BASE_TIMESTAMP_OFFSET),
    maxTimestamp: readInt64(view, base + MAX_TIMESTAMP_OFFSET),
    producerId: readInt64(view, base + PRODUCER_ID_OFFSET),
    producerEpoch: view.getInt16(base + PRODUCER_EPOCH_OFFSET),
    baseSequence: view.getInt32(base + BASE_SEQUENCE_OFFSET),
    recordsCount,
    sizeBytes,
  };
}

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Whether the stored CRC32C of the batch at `base` matches the one computed over
 * `[base + ATTRIBUTES_OFFSET, base + sizeBytes)`.
 * @throws CorruptBatchError when the header itself is unreadable (see {@link peekBatchHeader})
 */
export function verifyBatchCrc(bytes: Uint8Array, base: number): boolean {
  const h = peekBatchHeader(viewOf(bytes), base);
  return crc32c(bytes.subarray(base + ATTRIBUTES_OFFSET, base + h.sizeBytes)) === h.crc;
}

/**
 * Decodes one or more concatenated RecordBatch v2 (as in a Produce request's records, a
 * Fetch response's records, or a log segment).
 * @param bytes - the batches, back to back, nothing before or after
 * @returns the batches in order, records decoded
 * @throws CorruptBatchError on any malformed batch: bad magic, length past the end, CRC
 *   mismatch (when `verifyCrc`), unknown codec, compressed batch without `decompress` or
 *   whose `decompress` throws, a record overrunning its length or the records section, a
 *   recordsCount that disagrees with the records present. A trailing partial batch (which
 *   a Kafka Fetch response may legally end with) is an error here too: this reader is strict.
 */
export function readRecordBatches(bytes: Uint8Array, options?: ReadRecordBatchesOptions): DecodedRecordBatch[] {
  const verifyCrc = options?.verifyCrc ?? true;
  const view = viewOf(bytes);
  const batches: DecodedRecordBatch[] = [];
  let base = 0;
  while (base < bytes.byteLength) {
    const h = peekBatchHeader(view, base);
    const end = base + h.sizeBytes;
    if (verifyCrc) {
      const computed = crc32c(bytes.subarray(base + ATTRIBUTES_OFFSET, end));
      if (computed !== h.crc) {
        throw new CorruptBatchError(
          `batch at offset ${base}: crc mismatch: stored ${hex32(h.crc)}, computed ${hex32(computed)} over [${base + ATTRIBUTES_OFFSET}, ${end})`,
        );
      }
    }
    const codecId = h.attributes & COMPRESSION_CODEC_MASK;
    const compression = compressionName(codecId);
    if (compression === undefined) {
      throw new CorruptBatchError(
        `batch at offset ${base}: unknown compression codec ${codecId} in attributes ${hex16(h.attributes)} at offset ${base + ATTRIBUTES_OFFSET}`,
      );
    }
    const timestampType: TimestampType = (h.attributes & TIMESTAMP_TYPE_MASK) !== 0 ? 'LogAppendTime' : 'CreateTime';
    let section = bytes.subarray(base + RECORDS_OFFSET, end);
    let sectionOrigin = base + RECORDS_OFFSET;
    let where = 'offset';
    if (codecId !== 0) {
      if (options?.decompress === undefined) {
        throw new CorruptBatchError(
          `batch at offset ${base}: records are compressed with ${compression} (codec ${codecId}) but no decompress function was given`,
        );
      }
      try {
        section = options.decompress(codecId, section);
      } catch (err) {
        throw new CorruptBatchError(
          `batch at offset ${base}: decompressing the ${compression} records section [${sectionOrigin}, ${end}) failed: ${(err as Error).message}`,
        );
      }
      sectionOrigin = 0;
      where = `decompressed ${compression} offset`;
    }
    const records = readRecords(section, sectionOrigin, where, base, h, timestampType);
    batches.push({
      ...h,
      compression,
      timestampType,
      isTransactional: (h.attributes & TRANSACTIONAL_FLAG_MASK) !== 0,
      isControl: (h.attributes & CONTROL_FLAG_MASK) !== 0,
      records,
    });
    base = end;
  }
  return batches;
}

/**
 * Decodes `h.recordsCount` records filling `section` exactly. `origin` is the offset the
 * section's first byte has in the caller's terms (`where`), for messages.
 */
function readRecords(
  section: Uint8Array,
  origin: number,
  where: string,
  base: number,
  h: RecordBatchHeader,
  timestampType: TimestampType,
): DecodedRecord[] {
  // Pushed, not preallocated: recordsCount is untrusted until the records are read.
  const records: DecodedRecord[] = [];
  const out: VarintRead = { value: 0, pos: 0 };
  const end = section.byteLength;
  let pos = 0;
  for (let i = 0; i < h.recordsCount; i++) {
    if (pos >= end) {
      throw new CorruptBatchError(
        `batch at offset ${base}: recordsCount mismatch: header says ${h.recordsCount} at offset ${base + RECORDS_COUNT_OFFSET}, the records section ends after ${i} records`,
      );
    }
    const ctx = `batch at offset ${base}: record ${i} at ${where} ${origin + pos}`;
    // The field being read, for the message when a varint runs past the record's end.
    let field = 'length';
    let recordEnd = end;
    try {
      pos = readVarint(section, pos, end, out).pos;
      const bodyLength = out.value;
      if (bodyLength < 0 || pos + bodyLength > end) {
        throw new CorruptBatchError(
          `${ctx}: record length ${bodyLength} overruns the records section (${end - pos} bytes left)`,
        );
      }
      recordEnd = pos + bodyLength;
      field = 'attributes';
      if (pos >= recordEnd) throw new RangeError('empty record');
      pos++; // record attributes: unused in v2
      field = 'timestampDelta';
      const timestampDelta = readVarlong(section, pos, recordEnd, out).value;
      pos = out.pos;
      field = 'offsetDelta';
      const offsetDelta = readVarint(section, pos, recordEnd, out).value;
      pos = out.pos;

      field = 'key length';
      const keyLength = readVarint(section, pos, recordEnd, out).value;
      pos = out.pos;
      const key = bytesField(section, pos, keyLength, recordEnd, origin, where, ctx, 'key');
      if (keyLength > 0) pos += keyLength;

      field = 'value length';
      const valueLength = readVarint(section, pos, recordEnd, out).value;
      pos = out.pos;
      const value = bytesField(section, pos, valueLength, recordEnd, origin, where, ctx, 'value');
      if (valueLength > 0) pos += valueLength;

      field = 'headers count';
      const headersCount = readVarint(section, pos, recordEnd, out).value;
      if (headersCount < 0) {
        throw new CorruptBatchError(`${ctx}: negative headers count ${headersCount} at ${where} ${origin + pos}`);
      }
      pos = out.pos;
      const headers: DecodedRecordHeader[] = [];
      for (let j = 0; j < headersCount; j++) {
        field = `header ${j} key length`;
        const headerKeyLength = readVarint(section, pos, recordEnd, out).value;
        if (headerKeyLength < 0) {
          throw new CorruptBatchError(
            `${ctx}: header ${j} key length ${headerKeyLength} at ${where} ${origin + pos}: header keys may not be null`,
          );
        }
        pos = out.pos;
        const headerKey = bytesField(section, pos, headerKeyLength, recordEnd, origin, where, ctx, `header ${j} key`)!;
        pos += headerKeyLength;
        field = `header ${j} value length`;
        const headerValueLength = readVarint(section, pos, recordEnd, out).value;
        pos = out.pos;
        const headerValue = bytesField(section, pos, headerValueLength, recordEnd, origin, where, ctx, `header ${j} value`);
        if (headerValueLength > 0) pos += headerValueLength;
        headers.push({ key: UTF8.decode(headerKey), value: headerValue });
      }
      if (pos !== recordEnd) {
        throw new CorruptBatchError(
          `${ctx}: record length ${bodyLength} but its fields end at ${where} ${origin + pos}, ${recordEnd - pos} bytes before the record's end ${origin + recordEnd}`,
        );
      }
      records.push({
        offset: h.baseOffset + offsetDelta,
        offsetDelta,
        timestamp: timestampType === 'LogAppendTime' ? h.maxTimestamp : h.baseTimestamp + timestampDelta,
        timestampDelta,
        key,
        value,
        headers,
      });
    } catch (err) {
      if (err instanceof RangeError) {
        throw new CorruptBatchError(
          `${ctx}: ${field} truncated or malformed (record ends at ${where} ${origin + recordEnd}): ${err.message}`,
        );
      }
      throw err;
    }
  }
  if (pos !== end) {
    throw new CorruptBatchError(
      `batch at offset ${base}: recordsCount mismatch: header says ${h.recordsCount} at offset ${base + RECORDS_COUNT_OFFSET}, but ${end - pos} bytes follow those records (at ${where} ${origin + pos})`,
    );
  }
  return records;
}

/** A length-prefixed byte field at `pos` (length already read): null for -1, else a view. */
function bytesField(
  section: Uint8Array,
  pos: number,
  length: number,
  recordEnd: number,
  origin: number,
  where: string,
  ctx: string,
  field: string,
): Uint8Array | null {
  if (length === -1) return null;
  if (length < -1 || pos + length > recordEnd) {
    throw new CorruptBatchError(
      `${ctx}: ${field} length ${length} overruns the record: ${recordEnd - pos} bytes left at ${where} ${origin + pos}`,
    );
  }
  return section.subarray(pos, pos + length);
}
