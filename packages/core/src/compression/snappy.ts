/**
 * Snappy (Kafka codec id 2) in the framing Kafka's consumers read: xerial snappy-java's
 * `SnappyOutputStream` format, which the Java client writes (Kafka `SnappyCompression`) and
 * librdkafka reads and writes for Java compatibility (`rd_kafka_snappy_java_uncompress`).
 *
 * ```
 * offset  size  field
 * ------  ----  -----------------------------------------------------------------
 *      0     8  magic: 0x82 'S' 'N' 'A' 'P' 'P' 'Y' 0x00
 *      8     4  version, int32 BE = 1
 *     12     4  compatible version, int32 BE = 1
 *     16     …  blocks, each: int32 BE compressed length, then one raw snappy block
 *               holding up to XERIAL_BLOCK_SIZE (32 KiB) of input
 * ```
 * A stream may be the concatenation of several such streams (snappy-java reads on past a
 * repeated header). Decoding also accepts raw, unframed snappy (what some non-Java clients
 * write; snappy-java's `SnappyInputStream` falls back to it when the magic is absent).
 *
 * Snappy has no levels. The raw block codec is the `snappy` package (napi-rs binding of
 * the Rust `snap` crate).
 */
import { CorruptBatchError } from '../errors.js';
import { CompressionType } from '../format/compression-type.js';
import type { Codec } from './codec.js';
import { asBuffer, lazyNativeModule } from './native-module.js';

interface SnappyBinding {
  compressSync(input: Uint8Array): Buffer;
  uncompressSync(input: Uint8Array, options: { asBuffer: true }): Buffer;
}

const binding = lazyNativeModule<SnappyBinding>('snappy', 'snappy');

/** snappy-java's stream magic. */
export const XERIAL_MAGIC: readonly number[] = [0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00];
export const XERIAL_MAGIC_LENGTH = XERIAL_MAGIC.length;
export const XERIAL_VERSION_OFFSET = XERIAL_MAGIC_LENGTH;
export const XERIAL_VERSION_LENGTH = 4;
export const XERIAL_COMPATIBLE_VERSION_OFFSET = XERIAL_VERSION_OFFSET + XERIAL_VERSION_LENGTH;
export const XERIAL_COMPATIBLE_VERSION_LENGTH = 4;
/** Bytes before the first block. */
export const XERIAL_HEADER_LENGTH = XERIAL_COMPATIBLE_VERSION_OFFSET + XERIAL_COMPATIBLE_VERSION_LENGTH;
/** Bytes of a block's length prefix. */
export const XERIAL_BLOCK_LENGTH_LENGTH = 4;
/** snappy-java's `SnappyOutputStream.DEFAULT_BLOCK_SIZE`: input bytes per block. */
export const XERIAL_BLOCK_SIZE = 32 * 1024;
/** The version and compatible version snappy-java writes (`SnappyCodec.DEFAULT_VERSION`). */
export const XERIAL_VERSION = 1;

/** Whether `input` starts with snappy-java's header magic at `pos`. */
export function hasXerialMagic(input: Uint8Array, pos = 0): boolean {
  if (input.length - pos < XERIAL_HEADER_LENGTH) return false;
  for (let i = 0; i < XERIAL_MAGIC_LENGTH; i++) if (input[pos + i] !== XERIAL_MAGIC[i]) return false;
  return true;
}

/**
 * Compresses `input` into snappy-java framing.
 * @returns header, then one length-prefixed raw snappy block per 32 KiB of input
 */
export function compressXerialSnappy(input: Uint8Array): Buffer {
  const snappy = binding();
  const src = asBuffer(input);
  const blockCount = Math.max(1, Math.ceil(src.length / XERIAL_BLOCK_SIZE));
  const blocks: Buffer[] = new Array<Buffer>(blockCount);
  let total = XERIAL_HEADER_LENGTH;
  for (let i = 0; i < blockCount; i++) {
    const start = i * XERIAL_BLOCK_SIZE;
    blocks[i] = snappy.compressSync(src.subarray(start, Math.min(src.length, start + XERIAL_BLOCK_SIZE)));
    total += XERIAL_BLOCK_LENGTH_LENGTH + blocks[i].length;
  }
  const out = Buffer.allocUnsafe(total);
  for (let i = 0; i < XERIAL_MAGIC_LENGTH; i++) out[i] = XERIAL_MAGIC[i];
  out.writeInt32BE(XERIAL_VERSION, XERIAL_VERSION_OFFSET);
  out.writeInt32BE(XERIAL_VERSION, XERIAL_COMPATIBLE_VERSION_OFFSET);
  let pos = XERIAL_HEADER_LENGTH;
  for (const block of blocks) {
    out.writeInt32BE(block.length, pos);
    pos += XERIAL_BLOCK_LENGTH_LENGTH;
    out.set(block, pos);
    pos += block.length;
  }
  return out;
}

/**
 * Decompresses snappy-java framing (one or more concatenated streams) or raw snappy.
 * @throws CorruptBatchError when a block length runs past the end of the input, or a
 *   block is not valid snappy
 */
export function decompressSnappy(input: Uint8Array): Buffer {
  const snappy = binding();
  const src = asBuffer(input);
  if (!hasXerialMagic(src)) return snappy.uncompressSync(src, { asBuffer: true });
  const parts: Buffer[] = [];
  let pos = 0;
  while (pos < src.length) {
    if (hasXerialMagic(src, pos)) {
      pos += XERIAL_HEADER_LENGTH;
      continue;
    }
    if (src.length - pos < XERIAL_BLOCK_LENGTH_LENGTH) {
      throw new CorruptBatchError(`snappy-java stream: ${src.length - pos} stray bytes at offset ${pos} of ${src.length}, expected a 4-byte block length`);
    }
    const length = src.readInt32BE(pos);
    pos += XERIAL_BLOCK_LENGTH_LENGTH;
    if (length < 0 || length > src.length - pos) {
      throw new CorruptBatchError(`snappy-java stream: block length ${length} at offset ${pos - XERIAL_BLOCK_LENGTH_LENGTH} runs past the end (${src.length} bytes)`);
    }
    parts.push(snappy.uncompressSync(src.subarray(pos, pos + length), { asBuffer: true }));
    pos += length;
  }
  return parts.length === 1 ? parts[0] : Buffer.concat(parts);
}

/** Kafka's snappy codec (snappy-java framing out; framed or raw in). No levels. */
export const snappyCodec: Codec = {
  id: CompressionType.snappy,
  name: 'snappy',
  compress(input: Uint8Array): Uint8Array {
    return compressXerialSnappy(input);
  },
  decompress(input: Uint8Array): Uint8Array {
    return decompressSnappy(input);
  },
};
