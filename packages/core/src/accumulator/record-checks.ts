/**
 * The checks a record goes through before it is appended, shared by every append path: the
 * `Producer` and the `RecordAccumulator` on the owning thread, and the shared accumulator's
 * appenders on other threads (`shared/shared-appender.ts`), so a record is refused with the
 * same {@link InvalidRecordError} — same field, same message — whichever thread sends it.
 */
import { InvalidRecordError } from '../errors.js';
import type { RecordData, RecordHeader } from '../format/record-data.js';

/** Headers as a record may carry them: `[{ key, value }]`, an object, or a `Map`. */
export type RecordHeadersInput =
  | readonly RecordHeader[]
  | { readonly [key: string]: Uint8Array | string | null | undefined }
  | ReadonlyMap<string, Uint8Array | string | null | undefined>
  | null
  | undefined;

/** A value for an error message: its type and a short rendering. */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return `an object (${(v as object).constructor?.name ?? 'Object'})`;
  return `${typeof v} ${String(v).slice(0, 40)}`;
}

/**
 * A key or value: bytes, a string, or null (undefined counts as null).
 * @throws InvalidRecordError naming `field` otherwise
 */
export function checkData(field: string, data: unknown): RecordData {
  if (data === null || data === undefined) return null;
  if (typeof data === 'string' || data instanceof Uint8Array) return data;
  throw new InvalidRecordError(field, `must be a Uint8Array, a string or null, got ${describe(data)}`);
}

/**
 * Headers in the accumulator's form: an array of `{ key: string, value: bytes | string | null }`.
 * @throws InvalidRecordError naming the bad header
 */
export function checkHeaders(headers: unknown): readonly RecordHeader[] | null {
  if (headers === null || headers === undefined) return null;
  if (!Array.isArray(headers)) throw new InvalidRecordError('headers', `must be an array of { key, value }, got ${describe(headers)}`);
  for (let i = 0; i < headers.length; i++) {
    const h: unknown = headers[i];
    if (typeof h !== 'object' || h === null) throw new InvalidRecordError(`headers[${i}]`, `must be { key, value }, got ${describe(h)}`);
    const key = (h as { key?: unknown }).key;
    if (typeof key !== 'string') throw new InvalidRecordError(`headers[${i}].key`, `must be a string, got ${describe(key)}`);
    const value = (h as { value?: unknown }).value;
    if (value !== null && value !== undefined && typeof value !== 'string' && !(value instanceof Uint8Array)) {
      throw new InvalidRecordError(`headers[${i}].value`, `must be a Uint8Array, a string or null, got ${describe(value)}`);
    }
  }
  return headers as readonly RecordHeader[];
}

/**
 * A record's timestamp: null/undefined means `nowMs`.
 * @throws InvalidRecordError unless it is a non-negative safe integer (ms)
 */
export function checkTimestamp(timestampMs: unknown, nowMs: number): number {
  if (timestampMs === null || timestampMs === undefined) return nowMs;
  if (typeof timestampMs === 'number' && Number.isSafeInteger(timestampMs) && timestampMs >= 0) return timestampMs;
  throw new InvalidRecordError('timestamp', `must be a non-negative integer (ms) or null, got ${describe(timestampMs)}`);
}

/**
 * The fields a record may have (`topic`, `partition`, `key`, `value`, `headers`, `timestamp`).
 * @throws InvalidRecordError naming the first unknown field
 */
export function checkRecordFields(record: object): void {
  for (const name in record) {
    switch (name) {
      case 'topic':
      case 'partition':
      case 'key':
      case 'value':
      case 'headers':
      case 'timestamp':
        continue;
      default:
        throw unknownFields(record);
    }
  }
}

function unknownFields(record: object): InvalidRecordError {
  const known = new Set(['topic', 'partition', 'key', 'value', 'headers', 'timestamp']);
  const unknown: string[] = [];
  for (const name in record) if (!known.has(name)) unknown.push(name);
  const hint = unknown.includes('messages')
    ? ': a record is one message — to send several, call send() once per record (kafkajs\'s { topic, messages: [...] } shape is not a record)'
    : '';
  return new InvalidRecordError(
    unknown[0],
    `is not a field of a record (unknown: ${unknown.map((u) => JSON.stringify(u)).join(', ')}; a record has topic, partition, key, value, headers, timestamp)${hint}`,
  );
}

/**
 * An explicit partition: an integer in [0, 2^31 − 1]; no value collides with the internal
 * "choose one" marker.
 * @throws InvalidRecordError otherwise
 */
export function checkPartition(partition: unknown): number {
  if (typeof partition === 'number' && Number.isInteger(partition) && partition >= 0 && partition <= 2147483647) return partition;
  throw new InvalidRecordError(
    'partition',
    `must be an integer in [0, 2147483647] (or null/omitted to let the partitioner choose), got ${typeof partition === 'number' ? partition : typeof partition}`,
  );
}

/** Headers as the accumulator takes them: an array of `{ key, value }`, or null (a bad shape is named by {@link checkHeaders}). */
export function toHeaders(headers: RecordHeadersInput): readonly RecordHeader[] | null {
  if (headers === null || headers === undefined) return null;
  if (Array.isArray(headers)) return headers as readonly RecordHeader[];
  if (typeof headers !== 'object') return headers as unknown as readonly RecordHeader[]; // checkHeaders names the error
  const out: RecordHeader[] = [];
  if (headers instanceof Map) {
    for (const [key, value] of headers as ReadonlyMap<unknown, unknown>) out.push({ key, value } as RecordHeader);
    return out;
  }
  for (const key of Object.keys(headers)) out.push({ key, value: (headers as { readonly [k: string]: Uint8Array | string | null })[key] });
  return out;
}
