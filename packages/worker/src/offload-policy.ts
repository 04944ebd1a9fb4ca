/**
 * The inline-vs-worker rules, from measured costs and a model of the whole machine.
 *
 * ## Per batch: is the hand-off worth it?
 * ```
 * offload a batch  ⇔  sealNs(batch) ≥ MIN_GAIN × HAND_OFF_NS_PER_BATCH
 * sealNs(batch)    =  codec ns per raw byte (measured on this data when known, else the table) × raw bytes
 * ```
 * With the shared-memory job ring a hand-off costs the main thread ~1-2 µs (fields into a
 * ring entry, one atomic store, a share of one wake-up; benchmarks/RESULTS.md 'Worker
 * sealing end to end'), so every full compressed batch pays; `none` (a header and a CRC32C)
 * and batches of a few hundred bytes closed by linger stay inline.
 *
 * ## Per producer (`seal.workers=auto`): threads or not, and how many?
 * The main thread is one of the cores. Per raw byte it spends `m` ns of its own (append,
 * ready/drain, the network, the application's loop) and `c` ns sealing inline; a hand-off
 * costs it `h`. With `C = os.availableParallelism()` cores:
 * ```
 * inline      T₀ = 1 / (m + c)                                   bytes per ns
 * workers     T  = min( 1 / (m + h),                             the main thread's own work
 *                       C × PARALLEL_EFFICIENCY / (m + h + c) )   all the CPU there is
 * threads     W  = min(C, ⌈c × T⌉)                               enough sealers to keep up
 * offload     ⇔  T / T₀ ≥ AUTO_MIN_SPEEDUP  and  c ≥ MIN_CODEC_TO_MAIN × m
 * ```
 * The second condition is empirical: where the codec costs less than twice the main
 * thread's own work per byte (lz4 at its default level, snappy, zstd ≤ 3 on 100 B records), forced
 * offload measured between 0.81x and 1.26x of inline across runs — the model's speed-up
 * does not survive two threads fighting over two vCPUs' caches and memory bandwidth.
 * `m` starts from {@link MAIN_NS_PER_BYTE} and `c` from {@link SEAL_NS_PER_BYTE}; a sealer
 * started with `auto` re-decides from its own measurements (the event loop's busy time and
 * the time its inline seals took on the producer's own data) after a calibration window,
 * and keeps sealing inline when the measured speed-up is below the bar. On one core there is
 * nothing to win (T < T₀): no thread starts.
 *
 * ## The measurements behind the constants (this 2-core machine, Node 20; RESULTS.md)
 * Codec CPU per raw byte on JSON-like records (16 KiB batches): gzip 11 / 18 / 22 / 24 ns/B
 * at levels 1 / 3 / 6 (= -1) / 9; zstd (zstd-napi) 3.2 / 3.5 / 11 / 33 / 90 / 340 ns/B at
 * levels 1 / 3 / 6 / 9 / 12 / 19; lz4 (`lz4-level-codec.ts`, 16 KiB batches) 1.75 ns/B at
 * Kafka's default level 9 (the fast compressor), LZ4-HC 8.9 / 8.4 / 12 / 41 ns/B at levels
 * 1 / 3 / 6 / 12 (core's lz4-napi: 4.0 at its one level); snappy 3.5 ns/B. Main-thread work end to end, 100 B records: ~2.2 ns/B (220 ns per
 * record at 4.5 M records/s); 1 KiB records: ~0.8 ns/B. Two threads of plain gzip run
 * 1.47-1.98x one thread here: two vCPUs are not two cores' worth, hence
 * {@link PARALLEL_EFFICIENCY}.
 *
 * Prior art: kafkajs dropped worker compression (a task per batch) for no gain, and
 * @platformatic/kafka compresses on the main thread: with a message per batch the hand-off
 * costs what a cheap codec does. The ring makes the hand-off cheap; the machine model keeps
 * the threads away where the main thread, not the codec, is the bottleneck.
 */
import { availableParallelism } from 'node:os';
import type { CompressionName } from '@sluice/core';
import { LZ4_DEFAULT_LEVEL } from './lz4-level-codec.js';

/** A batch's hand-off must buy at least this many times its own cost. */
export const MIN_GAIN = 2;
/** Main-thread CPU to hand one batch to a seal thread through the job ring and take it back (ns). */
export const HAND_OFF_NS_PER_BATCH = 2_000;
/** Main-thread work per raw record byte besides sealing, before it is measured (ns/B). */
export const MAIN_NS_PER_BYTE = 2.2;
/** What a second core adds, as a share of the first (measured 0.47-0.98 here; the model's prior). */
export const PARALLEL_EFFICIENCY = 0.75;
/** `auto` offloads only a codec costing at least this many times the main thread's own work per byte. */
export const MIN_CODEC_TO_MAIN = 2;
/** `auto` starts threads only when the model predicts at least this speed-up over inline. */
export const AUTO_MIN_SPEEDUP = 1.2;
/** Bytes of a typical full batch, to spread the per-batch hand-off over bytes. */
const TYPICAL_BATCH_BYTES = 16 * 1024;

/** Measured seal cost per raw record byte, by codec, at the given levels (ns/B); interpolated between. */
export const SEAL_NS_PER_BYTE: Readonly<Record<Exclude<CompressionName, 'none'>, readonly (readonly [level: number, nsPerByte: number])[]>> = {
  gzip: [
    [1, 11],
    [3, 18],
    [6, 22],
    [9, 24],
  ],
  snappy: [[0, 3.5]],
  // LZ4-HC, the levels other than Kafka's default (see LZ4_FAST_NS_PER_BYTE for level 9).
  lz4: [
    [1, 8.9],
    [3, 8.4],
    [6, 12],
    [12, 41],
  ],
  zstd: [
    [1, 3.2],
    [3, 3.5],
    [6, 11],
    [9, 33],
    [12, 90],
    [19, 340],
    [22, 400],
  ],
};

/** lz4 at Kafka's default level 9 is LZ4's fast compressor, not LZ4-HC (`lz4-level-codec.ts`): ns/B. */
const LZ4_FAST_NS_PER_BYTE = 1.75;

/** zlib's level for gzip's -1 (Z_DEFAULT_COMPRESSION). */
const GZIP_DEFAULT_LEVEL = 6;
const NAMES: readonly CompressionName[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

/** Options of {@link OffloadPolicy}: every constant of the rules can be replaced. */
export interface OffloadPolicyOptions {
  readonly minGain?: number;
  readonly handOffNsPerBatch?: number;
  readonly mainNsPerByte?: number;
  readonly parallelEfficiency?: number;
  readonly autoMinSpeedup?: number;
  readonly minCodecToMain?: number;
  /** Per-codec flat costs (ns per raw byte, any level) replacing {@link SEAL_NS_PER_BYTE}. */
  readonly sealNsPerByte?: Partial<Record<Exclude<CompressionName, 'none'>, number>>;
}

/** What {@link OffloadPolicy.plan} decides for a producer. */
export interface OffloadPlan {
  /** Seal threads to start; 0 = seal inline. */
  readonly threads: number;
  /** Predicted records/s with those threads over inline (1 when 0 threads). */
  readonly speedup: number;
}

function interpolate(points: readonly (readonly [number, number])[], level: number): number {
  if (points.length === 1 || level <= points[0][0]) return points[0][1];
  for (let i = 1; i < points.length; i++) {
    const [l1, c1] = points[i];
    if (level <= l1) {
      const [l0, c0] = points[i - 1];
      return c0 + ((c1 - c0) * (level - l0)) / (l1 - l0);
    }
  }
  return points[points.length - 1][1];
}

/** The rules of the file comment, with replaceable constants. */
export class OffloadPolicy {
  readonly #minGain: number;
  readonly #handOffNs: number;
  readonly #mainNsPerByte: number;
  readonly #efficiency: number;
  readonly #minSpeedup: number;
  readonly #minCodecToMain: number;
  readonly #flat: Partial<Record<CompressionName, number>>;

  constructor(options: OffloadPolicyOptions = {}) {
    this.#minGain = options.minGain ?? MIN_GAIN;
    this.#handOffNs = options.handOffNsPerBatch ?? HAND_OFF_NS_PER_BATCH;
    this.#mainNsPerByte = options.mainNsPerByte ?? MAIN_NS_PER_BYTE;
    this.#efficiency = options.parallelEfficiency ?? PARALLEL_EFFICIENCY;
    this.#minSpeedup = options.autoMinSpeedup ?? AUTO_MIN_SPEEDUP;
    this.#minCodecToMain = options.minCodecToMain ?? MIN_CODEC_TO_MAIN;
    this.#flat = { ...(options.sealNsPerByte ?? {}) };
  }

  /** A policy that offloads every compressed batch (tests, benchmarks). */
  static always(): OffloadPolicy {
    return new OffloadPolicy({ minGain: 0, autoMinSpeedup: 0, minCodecToMain: 0 });
  }

  /**
   * Codec CPU per raw byte for `codecId` at `level`, from the table.
   * @returns ns/B; 0 for `none` and unknown codecs
   */
  sealNsPerByte(codecId: number, level: number): number {
    const name = NAMES[codecId];
    if (name === undefined || name === 'none') return 0;
    const flat = this.#flat[name];
    if (flat !== undefined) return flat;
    if (name === 'lz4' && level === LZ4_DEFAULT_LEVEL) return LZ4_FAST_NS_PER_BYTE;
    const lvl = name === 'gzip' && level < 0 ? GZIP_DEFAULT_LEVEL : level;
    return interpolate(SEAL_NS_PER_BYTE[name], lvl);
  }

  /** Estimated CPU to seal `rawBytes` with `codecId` at `level` (ns); 0 for `none`. */
  sealNs(codecId: number, level: number, rawBytes: number): number {
    return this.sealNsPerByte(codecId, level) * rawBytes;
  }

  /** Main-thread CPU of handing off `batches` batches (ns). */
  handOffNs(batches = 1): number {
    return this.#handOffNs * batches;
  }

  /** Whether a batch whose seal costs `sealNs` goes to a seal thread: never without work. */
  shouldOffload(sealNs: number, batches = 1): boolean {
    return sealNs > 0 && sealNs >= this.#minGain * this.handOffNs(batches);
  }

  /**
   * The machine model of the file comment: threads and predicted speed-up.
   * @param sealNsPerByte - `c`, codec CPU per raw byte
   * @param mainNsPerByte - `m`, the main thread's other work per raw byte (default: the prior)
   * @param cores - `C` (default `os.availableParallelism()`)
   * @param maxThreads - cap on the threads (an explicit `seal.workers`), default `C`
   */
  plan(sealNsPerByte: number, mainNsPerByte: number = this.#mainNsPerByte, cores: number = availableParallelism(), maxThreads: number = cores): OffloadPlan {
    const c = sealNsPerByte;
    const m = Math.max(mainNsPerByte, 0.01);
    if (!(c > 0) || cores < 1 || maxThreads < 1) return { threads: 0, speedup: 1 };
    const h = this.#handOffNs / TYPICAL_BATCH_BYTES;
    const usable = 1 + (cores - 1) * this.#efficiency;
    const inline = 1 / (m + c);
    const offloaded = Math.min(1 / (m + h), usable / (m + h + c));
    const speedup = offloaded / inline;
    if (speedup < this.#minSpeedup || c < this.#minCodecToMain * m) return { threads: 0, speedup: 1 };
    const threads = Math.max(1, Math.min(maxThreads, cores, Math.ceil(c * offloaded - 1e-9)));
    return { threads, speedup };
  }

  /** {@link plan} from the table's cost for `codecId` at `level`. */
  planFor(codecId: number, level: number, cores: number = availableParallelism()): OffloadPlan {
    return this.plan(this.sealNsPerByte(codecId, level), this.#mainNsPerByte, cores);
  }
}

/**
 * Default seal threads for `seal.workers=auto` when the codec pays: what the machine model
 * chooses for gzip at its default level (on 2 cores: 2), at least 1.
 */
export function defaultSealThreads(): number {
  return Math.max(1, new OffloadPolicy().planFor(1, -1).threads);
}
