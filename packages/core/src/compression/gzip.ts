/**
 * GZIP (Kafka codec id 1): the records section is one gzip member, as Java's
 * `GZIPOutputStream` writes it (Kafka `GzipCompression`). Built on `node:zlib`'s sync API so
 * that the same pure function runs inline and on a seal worker.
 *
 * Level: `compression.gzip.level` (KIP-390): 1..9, or -1 for zlib's default (6).
 */
import { constants, gunzipSync, gzipSync } from 'node:zlib';
import { CompressionType } from '../format/compression-type.js';
import type { Codec } from './codec.js';

/** zlib's default level, what `compression.gzip.level = -1` means. */
export const GZIP_DEFAULT_LEVEL = constants.Z_DEFAULT_COMPRESSION;

/** Kafka's gzip codec. Stateless; safe to share between batches (one zlib stream per call). */
export const gzipCodec: Codec = {
  id: CompressionType.gzip,
  name: 'gzip',
  compress(input: Uint8Array, level: number = GZIP_DEFAULT_LEVEL): Uint8Array {
    return gzipSync(input, { level });
  },
  decompress(input: Uint8Array): Uint8Array {
    // gunzip reads concatenated members too, as Java's GZIPInputStream does.
    return gunzipSync(input);
  },
};
