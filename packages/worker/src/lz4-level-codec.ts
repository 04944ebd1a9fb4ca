/**
 * Kafka's lz4 codec with `compression.lz4.level` honoured (KIP-390), for the batches Sluice's
 * sealers seal: core's `lz4-napi` codec (the Rust `lz4_flex` fast compressor) has no levels.
 *
 * Kafka's Java producer (`Lz4BlockOutputStream`, kafka-clients 4.4) uses LZ4's fast
 * compressor at the default level, 9 (`CompressionType.LZ4.defaultLevel()`), and LZ4-HC at
 * any other level (`highCompressor(level)`; the C library clamps to LZ4-HC's 12) — so an
 * unset `compression.lz4.level` costs the fast compressor's CPU, as in Java; blocks of at most
 * 64 KiB, each compressed independently, no block or content checksums. This file writes
 * the same LZ4 frame (the frame format spec): magic 0x184D2204, FLG 0x60 (version 01,
 * independent blocks), BD 0x40 (64 KiB blocks), the header checksum byte
 * (xxh32(FLG, BD) >> 8) & 0xFF, then per block a little-endian u32 size — high bit set for a
 * block stored uncompressed because compressing did not make it smaller — and the end mark
 * (u32 0). Blocks are compressed by the `lz4` package's native binding of the reference C
 * library (`compressHCLimited`, which takes the level; `compressLimited` at level 9), an
 * optional dependency built at install. Without it this codec is core's (levels ignored,
 * as before) and says so once.
 *
 * Decompression is core's (`lz4_flex` reads any valid frame).
 */
import { createRequire } from 'node:module';
import { codecFor } from '@sluice/core';
import type { Codec, CompressionId } from '@sluice/core';

interface Lz4Binding {
  compressBound(size: number): number;
  compressLimited(input: Buffer, output: Buffer, maxSize: number): number;
  compressHCLimited(input: Buffer, output: Buffer, maxSize: number, level: number): number;
}

/** Kafka's lz4 codec id. */
const LZ4_ID = 3 as CompressionId;
/** LZ4 frame magic, written little-endian. */
const FRAME_MAGIC = 0x184d2204;
/** FLG: version 01, block independence, no checksums, no content size, no dictionary. */
const FLG = 0x60;
/** BD: block maximum size id 4 = 64 KiB (Kafka's default). */
const BD = 0x40;
/** Most bytes of one block. */
export const LZ4_BLOCK_BYTES = 64 * 1024;
/** Frame header: magic (4), FLG, BD, header checksum. */
const FRAME_HEADER_BYTES = 7;
const BLOCK_SIZE_BYTES = 4;
const END_MARK_BYTES = 4;
const UNCOMPRESSED_BLOCK_FLAG = 0x80000000;
/** Kafka's default lz4 level: the one level sealed with the fast compressor (every other is LZ4-HC). */
export const LZ4_DEFAULT_LEVEL = 9;
/** LZ4-HC's highest level (lz4-java and the C library clamp above it). */
const MAX_HC_LEVEL = 12;

const PRIME32_1 = 0x9e3779b1;
const PRIME32_2 = 0x85ebca77;
const PRIME32_3 = 0xc2b2ae3d;
const PRIME32_4 = 0x27d4eb2f;
const PRIME32_5 = 0x165667b1;

function rotl32(x: number, r: number): number {
  return ((x << r) | (x >>> (32 - r))) >>> 0;
}

/**
 * xxHash32 (seed 0) of an input shorter than 16 bytes — the only case the frame header
 * needs — written from the algorithm's specification.
 */
export function xxh32Short(input: Uint8Array, seed = 0): number {
  if (input.length >= 16) throw new RangeError('xxh32Short takes fewer than 16 bytes');
  let acc = (seed + PRIME32_5 + input.length) >>> 0;
  let i = 0;
  for (; i + 4 <= input.length; i += 4) {
    const lane = (input[i] | (input[i + 1] << 8) | (input[i + 2] << 16) | (input[i + 3] << 24)) >>> 0;
    acc = (acc + Math.imul(lane, PRIME32_3)) >>> 0;
    acc = Math.imul(rotl32(acc, 17), PRIME32_4) >>> 0;
  }
  for (; i < input.length; i++) {
    acc = (acc + Math.imul(input[i], PRIME32_5)) >>> 0;
    acc = Math.imul(rotl32(acc, 11), PRIME32_1) >>> 0;
  }
  acc ^= acc >>> 15;
  acc = Math.imul(acc, PRIME32_2) >>> 0;
  acc ^= acc >>> 13;
  acc = Math.imul(acc, PRIME32_3) >>> 0;
  acc ^= acc >>> 16;
  return acc >>> 0;
}

/** The frame header checksum byte for FLG, BD. */
const HEADER_CHECKSUM = (xxh32Short(Uint8Array.of(FLG, BD)) >>> 8) & 0xff;

const requireHere = createRequire(import.meta.url);
let binding: Lz4Binding | null | undefined;
let warned = false;

/** The `lz4` package's native binding, or null when it is not installed or does not load. */
export function lz4LevelBinding(): Lz4Binding | null {
  if (binding === undefined) {
    try {
      binding = requireHere('lz4/build/Release/lz4.node') as Lz4Binding;
    } catch {
      binding = null;
    }
  }
  return binding;
}

/** Per-thread scratch for one compressed block. */
let scratch: Buffer | null = null;

/**
 * Compresses `input` into a Kafka LZ4 frame at `level` (9, the default: the fast compressor;
 * any other: LZ4-HC at that level, above 12 as 12) — Kafka's Java producer's choice.
 * @returns the frame, or null when the native binding is unavailable
 */
export function compressLz4Frame(input: Uint8Array, level: number): Buffer | null {
  const b = lz4LevelBinding();
  if (b === null) return null;
  const src = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  const blocks = Math.max(1, Math.ceil(src.length / LZ4_BLOCK_BYTES));
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + blocks * BLOCK_SIZE_BYTES + src.length + END_MARK_BYTES);
  out.writeUInt32LE(FRAME_MAGIC, 0);
  out[4] = FLG;
  out[5] = BD;
  out[6] = HEADER_CHECKSUM;
  let at = FRAME_HEADER_BYTES;
  const hcLevel = Math.min(MAX_HC_LEVEL, level);
  scratch ??= Buffer.allocUnsafe(b.compressBound(LZ4_BLOCK_BYTES));
  for (let from = 0; from < src.length; from += LZ4_BLOCK_BYTES) {
    const block = src.subarray(from, Math.min(src.length, from + LZ4_BLOCK_BYTES));
    // Limited to block.length - 1: 0 means "would not be smaller", stored raw (as Java does).
    const n = level === LZ4_DEFAULT_LEVEL ? b.compressLimited(block, scratch, block.length - 1) : b.compressHCLimited(block, scratch, block.length - 1, hcLevel);
    if (n > 0) {
      out.writeUInt32LE(n, at);
      scratch.copy(out, at + BLOCK_SIZE_BYTES, 0, n);
      at += BLOCK_SIZE_BYTES + n;
    } else {
      out.writeUInt32LE((UNCOMPRESSED_BLOCK_FLAG | block.length) >>> 0, at);
      block.copy(out, at + BLOCK_SIZE_BYTES);
      at += BLOCK_SIZE_BYTES + block.length;
    }
  }
  out.writeUInt32LE(0, at);
  at += END_MARK_BYTES;
  return out.subarray(0, at);
}

/**
 * Kafka's lz4 codec, level honoured (see the file comment). Falls back to core's lz4
 * codec, once with a warning, where the `lz4` binding is missing.
 */
export const lz4LevelCodec: Codec = {
  id: LZ4_ID,
  name: 'lz4',
  compress(input: Uint8Array, level?: number): Uint8Array {
    const framed = compressLz4Frame(input, level ?? LZ4_DEFAULT_LEVEL);
    if (framed !== null) return framed;
    if (!warned) {
      warned = true;
      process.emitWarning('compression.lz4.level is not applied: the optional lz4 package (native LZ4/LZ4-HC) did not load; sealing with lz4-napi at its one level', 'SluiceWarning');
    }
    return codecFor(LZ4_ID)!.compress(input, level);
  },
  decompress(input: Uint8Array): Uint8Array {
    return codecFor(LZ4_ID)!.decompress(input);
  },
};
