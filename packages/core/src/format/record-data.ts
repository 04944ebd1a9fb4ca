/**
 * What a record's key, value and header values may be: bytes, a string (written as
 * UTF-8), or `null`. Header keys are strings.
 */
export type RecordData = Uint8Array | string | null;

/** One record header (Kafka `Header`): a string key and a bytes/string/null value. */
export interface RecordHeader {
  readonly key: string;
  readonly value: Uint8Array | string | null;
}

/** Serialized length of a key/value in bytes; -1 for null or undefined (Kafka's null marker). */
export function byteLengthOf(data: RecordData | undefined): number {
  if (data === null || data === undefined) return -1;
  return typeof data === 'string' ? Buffer.byteLength(data, 'utf8') : data.length;
}
