/**
 * CRC32C (Castagnoli), as Kafka's RecordBatch v2 uses it. Computed twice per batch end to
 * end (the seal, and the embedded broker's check): ~8-10 % of a run's CPU, so the binding
 * matters. Measured on this machine, 16 KiB in a SharedArrayBuffer, per call:
 *   - Sluice's own (`native/crc32c.c`, compiled by node-gyp at install in ~2 s, x86-64 with
 *     SSE4.2): the `crc32` instruction on three interleaved streams, 0.83 µs, 19.8 GB/s;
 *   - `sse4_crc32` (optional dependency, compiled at install; one stream of the same
 *     instruction, whose 3-cycle latency leaves the unit two thirds idle): 1.9-2.1 µs, 8 GB/s;
 *   - `@node-rs/crc32` (prebuilt binaries in the npm package): 2.75 µs, 6 GB/s;
 *   - the pure TypeScript slicing-by-8 fallback below: ~0.5–1 GB/s, for any platform.
 * The first that loads and passes the self-check (the standard vector) is used; the tests
 * check each against the others.
 */
import { createRequire } from 'node:module';

type Crc32cFn = (data: Uint8Array, initial?: number) => number;

const POLY_REVERSED = 0x82f63b78;
const TABLES: Uint32Array[] = (() => {
  const tables: Uint32Array[] = [];
  const t0 = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY_REVERSED : c >>> 1;
    t0[n] = c >>> 0;
  }
  tables.push(t0);
  for (let t = 1; t < 8; t++) {
    const prev = tables[t - 1];
    const cur = new Uint32Array(256);
    for (let n = 0; n < 256; n++) cur[n] = (prev[n] >>> 8) ^ t0[prev[n] & 0xff];
    tables.push(cur);
  }
  return tables;
})();

/**
 * Pure TypeScript CRC32C (slicing-by-8). Exported for tests and for platforms where the
 * native module does not load.
 * @param initial - the CRC of the preceding bytes, to continue a running CRC (default 0)
 */
export function crc32cPure(data: Uint8Array, initial = 0): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = TABLES;
  let crc = ~initial >>> 0;
  let i = 0;
  const n = data.length;
  const end8 = n - (n % 8);
  while (i < end8) {
    const a = (data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24)) ^ crc;
    crc =
      t7[a & 0xff] ^
      t6[(a >>> 8) & 0xff] ^
      t5[(a >>> 16) & 0xff] ^
      t4[a >>> 24] ^
      t3[data[i + 4]] ^
      t2[data[i + 5]] ^
      t1[data[i + 6]] ^
      t0[data[i + 7]];
    i += 8;
  }
  while (i < n) crc = t0[(crc ^ data[i++]) & 0xff] ^ (crc >>> 8);
  return ~crc >>> 0;
}

/** The standard check value: CRC32C("123456789"). */
const CHECK_VALUE = 0xe3069283;

/** Wraps a native function taking Buffers; null when it fails the self-check. */
function checked(fn: (input: Buffer, initial: number) => number): Crc32cFn | null {
  if (fn(Buffer.from('123456789'), 0) >>> 0 !== CHECK_VALUE) return null;
  return (data, initial = 0) => {
    const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    return fn(buf, initial) >>> 0;
  };
}

/** Where the install step (`native/build.mjs`) leaves Sluice's own binding, from `src/format` or `dist/format`. */
const OWN_BINDING_PATH = '../../build/Release/sluice_crc32c.node';

/**
 * The fastest binding that loads and passes the self-check. `SLUICE_CRC32C` forces a lower
 * one: `pure` the fallback, `node-rs` skips the two above it, `sse4_crc32` skips Sluice's own.
 */
function loadNative(): [Crc32cFn, Crc32cBinding] | null {
  const choice = process.env.SLUICE_CRC32C;
  if (choice === 'pure') return null;
  const require = createRequire(import.meta.url);
  if (choice !== 'node-rs' && choice !== 'sse4_crc32') {
    try {
      const mod = require(OWN_BINDING_PATH) as { supported: boolean; crc32c(input: Uint8Array, initial?: number): number };
      // It takes any Uint8Array, so no Buffer wrapper is needed around the data.
      if (mod.supported && mod.crc32c(Buffer.from('123456789'), 0) === CHECK_VALUE) return [mod.crc32c, 'sluice'];
    } catch {
      // not built here (no compiler, not x86-64): next candidate
    }
  }
  if (choice !== 'node-rs') {
    try {
      const mod = require('sse4_crc32') as { hardware_support?: boolean; calculate(input: Buffer, initial?: number): number };
      // Only its hardware path: its software fallback is slower than @node-rs/crc32.
      const fn = mod.hardware_support === true ? checked((input, initial) => mod.calculate(input, initial)) : null;
      if (fn !== null) return [fn, 'sse4_crc32'];
    } catch {
      // optional dependency not built here: next candidate
    }
  }
  try {
    const mod = require('@node-rs/crc32') as { crc32c(input: Uint8Array, initialState?: number | null): number };
    const fn = checked((input, initial) => mod.crc32c(input, initial));
    if (fn !== null) return [fn, '@node-rs/crc32'];
  } catch {
    // no native binding: the pure fallback
  }
  return null;
}

/** The CRC32C bindings Sluice can use, fastest first, and the pure fallback. */
export type Crc32cBinding = 'sluice' | 'sse4_crc32' | '@node-rs/crc32' | 'pure';

const loaded = loadNative();
const native = loaded === null ? null : loaded[0];

/** Which implementation {@link crc32c} uses: `'native'` or `'pure'`. */
export const crc32cImplementation: 'native' | 'pure' = native ? 'native' : 'pure';

/** Which binding {@link crc32c} uses (see the file comment). */
export const crc32cBinding: Crc32cBinding = loaded === null ? 'pure' : loaded[1];

/** CRC32C of `data`, continuing from `initial` (default 0). Unsigned 32-bit result. */
export const crc32c: Crc32cFn = native ?? crc32cPure;
