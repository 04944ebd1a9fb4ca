/**
 * LZ4 (Kafka codec id 3) in the LZ4 *frame* format, as Kafka requires since KIP-57
 * (Kafka `Lz4BlockOutputStream`): magic 0x184D2204, FLG with version 01 and the
 * block-independence bit set (Kafka's `Lz4BlockInputStream` rejects dependent blocks),
 * BD with the maximum block size, the header checksum byte, then blocks and an end mark.
 * Written by `lz4-napi`'s `compressFrameSync` (the Rust `lz4_flex` frame encoder with its
 * defaults: independent blocks, the block size chosen to fit the input — measured: BD id 5
 * (256 KiB) for a 100 KB batch, id 7 (4 MiB) for 3 MB; Kafka's reader takes ids 4-7 — and
 * no block or content checksums, as Kafka's Java producer writes). NOT `compressSync`,
 * which is a size-prefixed raw block no Kafka consumer reads.
 *
 * Level: `compression.lz4.level` (KIP-390) is accepted but has no effect: `lz4_flex`
 * implements only LZ4's fast compressor (Java's level 1 path); LZ4-HC (levels > 1 in Java)
 * is not available from a registry-only native package here. The frames are valid at every
 * level; only the ratio of high levels is not reached.
 */
import { CompressionType } from '../format/compression-type.js';
import type { Codec } from './codec.js';
import { asBuffer, lazyNativeModule } from './native-module.js';

interface Lz4Binding {
  compressFrameSync(data: Buffer): Buffer;
  decompressFrameSync(data: Buffer): Buffer;
}

const binding = lazyNativeModule<Lz4Binding>('lz4', 'lz4-napi');

/** The LZ4 frame magic number (little-endian on the wire: 04 22 4D 18). */
export const LZ4_FRAME_MAGIC = 0x184d2204;

/** Kafka's lz4 codec (LZ4 frame format). */
export const lz4Codec: Codec = {
  id: CompressionType.lz4,
  name: 'lz4',
  compress(input: Uint8Array): Uint8Array {
    return binding().compressFrameSync(asBuffer(input));
  },
  decompress(input: Uint8Array): Uint8Array {
    return binding().decompressFrameSync(asBuffer(input));
  },
};
