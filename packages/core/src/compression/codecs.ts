/**
 * The codec registry: Kafka codec id → implementation. It is the default
 * {@link CodecResolver} of the inline sealer and the one seal workers use, so that
 * `compression.type` works the same on either side.
 *
 * Every codec here is a set of pure, synchronous functions (see `codec.ts`); the native
 * bindings behind snappy, lz4 and zstd load on first use (`native-module.ts`).
 */
import { CorruptBatchError } from '../errors.js';
import { CompressionType, compressionName } from '../format/compression-type.js';
import type { CompressionName } from '../format/compression-type.js';
import type { CodecResolver } from '../sealing/inline-sealer.js';
import type { Codec } from './codec.js';
import { gzipCodec } from './gzip.js';
import { lz4Codec } from './lz4.js';
import { snappyCodec } from './snappy.js';
import { zstdCodec } from './zstd.js';

// Indexed by Kafka codec id; `none` (0) has no codec.
const BY_ID: readonly (Codec | null)[] = [null, gzipCodec, snappyCodec, lz4Codec, zstdCodec];

/**
 * The codec for a Kafka codec id.
 * @param codecId - attributes bits 0-2: 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd
 * @returns the codec, or null for `none` and for ids Kafka does not define
 */
export const codecFor: CodecResolver = (codecId: number): Codec | null => BY_ID[codecId] ?? null;

/**
 * The codec for a `compression.type` name.
 * @returns the codec, or null for `none`
 */
export function codecByName(name: CompressionName): Codec | null {
  return BY_ID[CompressionType[name]] ?? null;
}

/**
 * Decompresses a batch's records section (the shape `readRecordBatches`'s `decompress`
 * option takes).
 * @throws CorruptBatchError for an unknown codec id or `none`
 */
export function decompressRecords(codecId: number, data: Uint8Array): Uint8Array {
  const codec = BY_ID[codecId];
  if (codec === null || codec === undefined) {
    throw new CorruptBatchError(`cannot decompress records: codec id ${codecId} (${compressionName(codecId) ?? 'unknown'}) is not a compression codec`);
  }
  return codec.decompress(data);
}
