/**
 * Zstandard (Kafka codec id 4, KIP-110): the records section is one zstd frame.
 *
 * Binding choice — measured on this 2-core machine, 16 KB of JSON-like records, level 3,
 * CPU per batch:
 *   - `zstd-napi` 0.0.13 — PREFERRED (optional dependency). Sync, and its `Compressor`
 *     keeps one compression context per thread: 43-47 µs on the main thread AND on worker
 *     threads. It is compiled at install (node-gyp, ~50-85 s here: its prebuilt download
 *     cannot be reached); when that build fails, npm skips it and the fallback is used.
 *   - `@toondepauw/node-zstd` 2.0.0 — FALLBACK (prebuilt N-API binaries in the registry,
 *     sync `encodeSync`/`decodeSync`). It allocates a fresh ~1 MiB context per call: 60-120
 *     µs on the main thread, and on worker threads intermittently 300 µs (glibc frees the
 *     context's memory back to the OS from a thread arena and faults it in again on every
 *     call; with GLIBC_TUNABLES raising mmap/trim thresholds it drops to 119 µs).
 *   - `@mongodb-js/zstd` 1.2.2 — rejected for sealing, kept as the tests' independent
 *     decoder: async only (a napi AsyncTask on the libuv pool), 109 µs per batch awaited
 *     one at a time vs 66 µs sync (+43 µs of thread hop); on a seal worker a second hop, and
 *     an "inline" seal would not be inline. (7.x does not install here.)
 * A sync codec keeps one pure `sealBatch` for the inline sealer and the seal workers.
 *
 * Level: `compression.zstd.level` (KIP-390), -131072..22; zstd's default is 3. One
 * compressor per level per thread.
 */
import { CompressionType } from '../format/compression-type.js';
import type { Codec } from './codec.js';
import { asBuffer, lazyNativeModule, optionalNativeModule } from './native-module.js';

interface ZstdNapiCompressor {
  setParameters(parameters: { compressionLevel: number }): void;
  compress(data: Uint8Array): Buffer;
}
interface ZstdNapiDecompressor {
  decompress(data: Uint8Array): Buffer;
}
interface ZstdNapiBinding {
  Compressor: new () => ZstdNapiCompressor;
  Decompressor: new () => ZstdNapiDecompressor;
}
interface ToondepauwEncoder {
  encodeSync(data: Buffer): Buffer;
}
interface ToondepauwDecoder {
  decodeSync(data: Buffer): Buffer;
}
interface ToondepauwBinding {
  Encoder: new (level: number) => ToondepauwEncoder;
  Decoder: new () => ToondepauwDecoder;
}

const preferred = optionalNativeModule<ZstdNapiBinding>('zstd-napi');
const fallback = lazyNativeModule<ToondepauwBinding>('zstd', '@toondepauw/node-zstd');

/** zstd's default level (`ZSTD_CLEVEL_DEFAULT`), Kafka's default `compression.zstd.level`. */
export const ZSTD_DEFAULT_LEVEL = 3;

type Compress = (input: Uint8Array) => Buffer;
const compressors = new Map<number, Compress>();
let decompress: Compress | null = null;

function compressorFor(level: number): Compress {
  let compress = compressors.get(level);
  if (compress === undefined) {
    const napi = preferred();
    if (napi !== null) {
      const c = new napi.Compressor();
      c.setParameters({ compressionLevel: level });
      compress = (input) => c.compress(input);
    } else {
      const e = new (fallback().Encoder)(level);
      compress = (input) => e.encodeSync(asBuffer(input));
    }
    compressors.set(level, compress);
  }
  return compress;
}

function decompressor(): Compress {
  if (decompress === null) {
    const napi = preferred();
    if (napi !== null) {
      const d = new napi.Decompressor();
      decompress = (input) => d.decompress(input);
    } else {
      const d = new (fallback().Decoder)();
      decompress = (input) => d.decodeSync(asBuffer(input));
    }
  }
  return decompress;
}

/** Which binding the zstd codec uses on this platform. */
export function zstdBinding(): 'zstd-napi' | '@toondepauw/node-zstd' {
  return preferred() !== null ? 'zstd-napi' : '@toondepauw/node-zstd';
}

/** Kafka's zstd codec. */
export const zstdCodec: Codec = {
  id: CompressionType.zstd,
  name: 'zstd',
  compress(input: Uint8Array, level: number = ZSTD_DEFAULT_LEVEL): Uint8Array {
    return compressorFor(level)(asBuffer(input));
  },
  decompress(input: Uint8Array): Uint8Array {
    return decompressor()(asBuffer(input));
  },
};
