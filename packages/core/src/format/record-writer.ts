/**
 * Sizing and encoding of one v2 record straight into a batch's pool memory.
 *
 * Sizing is kept apart from encoding: the accumulator sizes a record exactly (it knows the
 * offsetDelta and timestampDelta the record will get) before deciding whether it fits in
 * the open batch, then encodes it once, in place. Keys and values are copied exactly once,
 * from the caller's buffer (or string) into the slot.
 *
 * Layout of a record: see `record-batch-layout.ts`.
 */
import { MAX_RECORD_OVERHEAD, RECORD_BATCH_OVERHEAD } from './record-batch-layout.js';
import type { RecordData, RecordHeader } from './record-data.js';
import { byteLengthOf } from './record-data.js';
import { copyBytes } from './shared-copy.js';
import { sizeOfVarint, sizeOfVarlong, writeVarint, writeVarlong } from './varint.js';

/** Bytes that `headers` take in a record, including the header-count varint. */
export function sizeOfHeaders(headers: readonly RecordHeader[] | null | undefined): number {
  if (headers == null || headers.length === 0) return 1;
  let size = sizeOfVarint(headers.length);
  for (let i = 0; i < headers.length; i++) {
    const h = headers[i];
    const keyLen = Buffer.byteLength(h.key, 'utf8');
    const valueLen = byteLengthOf(h.value);
    size += sizeOfVarint(keyLen) + keyLen + sizeOfVarint(valueLen) + (valueLen < 0 ? 0 : valueLen);
  }
  return size;
}

/**
 * Size of a record's body (everything after its length varint).
 * @param keyLength - serialized key length, -1 for null
 * @param valueLength - serialized value length, -1 for null
 * @param headersSize - from {@link sizeOfHeaders}
 */
export function sizeOfRecordBody(
  offsetDelta: number,
  timestampDelta: number,
  keyLength: number,
  valueLength: number,
  headersSize: number,
): number {
  return (
    1 +
    sizeOfVarlong(timestampDelta) +
    sizeOfVarint(offsetDelta) +
    sizeOfVarint(keyLength) +
    (keyLength < 0 ? 0 : keyLength) +
    sizeOfVarint(valueLength) +
    (valueLength < 0 ? 0 : valueLength) +
    headersSize
  );
}

/** Total size of a record with a body of `bodySize` bytes (body plus its length varint). */
export function sizeOfRecord(bodySize: number): number {
  return sizeOfVarint(bodySize) + bodySize;
}

/**
 * Upper bound of the bytes one record needs in a fresh batch, header included, whatever
 * its offset and timestamp deltas (Kafka `AbstractRecords.estimateSizeInBytesUpperBound`).
 * Used to size a batch for a record larger than `batchSize` and to reject records that can
 * never be sent.
 */
export function estimateSizeInBytesUpperBound(keyLength: number, valueLength: number, headersSize: number): number {
  return (
    RECORD_BATCH_OVERHEAD +
    MAX_RECORD_OVERHEAD +
    sizeOfVarint(keyLength) +
    (keyLength < 0 ? 0 : keyLength) +
    sizeOfVarint(valueLength) +
    (valueLength < 0 ? 0 : valueLength) +
    headersSize
  );
}

function writeData(buf: Buffer, pos: number, data: RecordData, length: number): number {
  pos = writeVarint(buf, pos, length);
  if (length > 0) {
    // An ASCII string (UTF-8 length = string length: any other character takes 2+ bytes)
    // has the same bytes in Latin-1, which Node copies out of V8's one-byte string instead of
    // running the UTF-8 encoder: 100 characters ~110 ns instead of ~250 ns (measured).
    if (typeof data === 'string') buf.write(data, pos, length, length === data.length ? 'latin1' : 'utf8');
    else copyBytes(buf, pos, data as Uint8Array);
    pos += length;
  }
  return pos;
}

/**
 * Encodes one record at `pos` and returns the position after it. The caller has sized the
 * record with {@link sizeOfRecordBody} and checked it fits; nothing is checked here.
 * @param buf - a Buffer over the batch's pool memory
 * @param bodySize - from {@link sizeOfRecordBody} with the same arguments
 */
export function writeRecord(
  buf: Buffer,
  pos: number,
  bodySize: number,
  offsetDelta: number,
  timestampDelta: number,
  key: RecordData,
  keyLength: number,
  value: RecordData,
  valueLength: number,
  headers: readonly RecordHeader[] | null | undefined,
): number {
  pos = writeVarint(buf, pos, bodySize);
  buf[pos++] = 0; // record attributes: unused in v2
  pos = writeVarlong(buf, pos, timestampDelta);
  pos = writeVarint(buf, pos, offsetDelta);
  pos = writeData(buf, pos, key, keyLength);
  pos = writeData(buf, pos, value, valueLength);
  if (headers == null || headers.length === 0) {
    buf[pos++] = 0;
    return pos;
  }
  pos = writeVarint(buf, pos, headers.length);
  for (let i = 0; i < headers.length; i++) {
    const h = headers[i];
    pos = writeData(buf, pos, h.key, Buffer.byteLength(h.key, 'utf8'));
    pos = writeData(buf, pos, h.value, byteLengthOf(h.value));
  }
  return pos;
}
