/**
 * Kafka's compression codecs by id, as stored in the low 3 bits of a batch's attributes.
 * Source: Kafka `org.apache.kafka.common.record.CompressionType`.
 */
export const CompressionType = {
  none: 0,
  gzip: 1,
  snappy: 2,
  lz4: 3,
  zstd: 4,
} as const;

/** A codec name as used in config (`compression.type`). */
export type CompressionName = keyof typeof CompressionType;
/** A codec id as written in attributes. */
export type CompressionId = (typeof CompressionType)[CompressionName];

const NAMES: readonly CompressionName[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

/** Name of a codec id, or undefined for an id Kafka does not define. */
export function compressionName(id: number): CompressionName | undefined {
  return NAMES[id];
}

/** Whether `name` is a codec Kafka knows. */
export function isCompressionName(name: unknown): name is CompressionName {
  return typeof name === 'string' && (NAMES as readonly string[]).includes(name);
}
