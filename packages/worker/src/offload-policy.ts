/**
 * The inline-vs-worker rule: seal a group of closed batches on a worker only when the work
 * it takes off the caller's thread is clearly worth more than handing it over.
 *
 * ## The rule
 *
 * ```
 * offload a flush group  ⇔  Σ sealNs(batch)  ≥  MIN_GAIN × (HAND_OFF_NS_PER_TASK + HAND_OFF_NS_PER_BATCH × batches)
 * sealNs(batch)          =  SEAL_NS_PER_BYTE[codec][level] × raw record bytes
 * ```
 * with the measured constants below (MIN_GAIN = 2: a hand-off must buy twice what it
 * costs). `none` is never offloaded: its seal is a 61-byte header and a CRC32C (~0.25 ns/B,
 * ~4 µs per 16 KiB), far below any hand-off.
 *
 * ## The measurements behind it (this 2-core machine, Node 20; benchmarks/RESULTS.md)
 *
 * Seal cost per raw byte on JSON-like records (benchmarks/worker-sealing.ts data; 16 KiB
 * batches; codec CPU only): gzip 11 / 18 / 22 / 24 ns/B at levels 1 / 3 / 6 (= -1) / 9;
 * zstd (zstd-napi) 3.2 / 3.5 / 11 / 33 / 90 / 340 ns/B at levels 1 / 3 / 6 / 9 / 12 / 19;
 * lz4 3.5 ns/B (lz4_flex has no levels); snappy 3.5 ns/B.
 *
 * Hand-off cost, CPU (not wall) time, piscina `atomics: 'disabled'`: a task costs ~40-65 µs
 * on the caller's thread and ~65-110 µs on the worker (MessagePort both ways, piscina's
 * bookkeeping) whatever it carries, +4 µs per batch on the caller's thread; each batch
 * also brings ~20 µs of back-pressure: while workers seal, appends wait for memory
 * (promise, timer, wake-up) instead of finding a free slot as they do with inline sealing.
 *
 * What follows: gzip pays from one 16 KiB batch (360 µs of work vs 2 × 175 µs); zstd at
 * level 3 (57 µs per 16 KiB) and lz4/snappy (57 µs) never pay — even a full 512 KiB group
 * (1.8 ms of work) stays below 2 × (150 + 32 × 25) µs = 1.9 ms; zstd from level 6 pays in
 * groups of four or more batches. Measured end to end with offload forced (2 workers,
 * grouped; 100 B / 1 KiB values): gzip 1.53x / 2.06x of inline, zstd-9 1.33x / —,
 * zstd-3 0.88x / 0.81x, lz4 1.24x / 0.83x, snappy 0.93x / 1.23x: the rule offloads the
 * first two and keeps the others inline (no consistent gain, no threads).
 *
 * Prior art agrees where the work is cheap: kafkajs dropped its worker compression (a task
 * per batch) for no gain, and @platformatic/kafka compresses on the main thread. Sluice
 * groups batches (measured: a task per batch ran at 0.40-0.70x of grouped tasks) and keeps
 * the cheap codecs inline; Node's async zlib (libuv pool, one call per batch) ran at
 * 0.97x / 1.15x of inline gzip, grouped workers at 1.53x / 2.06x.
 */
import { availableParallelism } from 'node:os';
import type { CompressionName } from '@sluice/core';

/** A hand-off must buy at least this many times its own cost. */
export const MIN_GAIN = 2;
/** CPU a piscina task costs, caller's thread plus worker, whatever it carries (ns). */
export const HAND_OFF_NS_PER_TASK = 150_000;
/** CPU each batch adds to a hand-off, back-pressure included (ns). */
export const HAND_OFF_NS_PER_BATCH = 25_000;

/** Measured seal cost per raw record byte, by codec, at the given levels (ns/B); interpolated between. */
export const SEAL_NS_PER_BYTE: Readonly<Record<Exclude<CompressionName, 'none'>, readonly (readonly [level: number, nsPerByte: number])[]>> = {
  gzip: [
    [1, 11],
    [3, 18],
    [6, 22],
    [9, 24],
  ],
  snappy: [[0, 3.5]],
  lz4: [[0, 3.5]],
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

/** zlib's level for gzip's -1 (Z_DEFAULT_COMPRESSION). */
const GZIP_DEFAULT_LEVEL = 6;
const NAMES: readonly CompressionName[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

/** Options of {@link OffloadPolicy}: every constant of the rule can be replaced. */
export interface OffloadPolicyOptions {
  readonly minGain?: number;
  readonly handOffNsPerTask?: number;
  readonly handOffNsPerBatch?: number;
  /** Per-codec flat costs (ns per raw byte, any level) replacing {@link SEAL_NS_PER_BYTE}. */
  readonly sealNsPerByte?: Partial<Record<Exclude<CompressionName, 'none'>, number>>;
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

/** Decides whether a group of closed batches is sealed inline or on a worker (see the file comment). */
export class OffloadPolicy {
  readonly #minGain: number;
  readonly #perTaskNs: number;
  readonly #perBatchNs: number;
  readonly #flat: Partial<Record<CompressionName, number>>;

  constructor(options: OffloadPolicyOptions = {}) {
    this.#minGain = options.minGain ?? MIN_GAIN;
    this.#perTaskNs = options.handOffNsPerTask ?? HAND_OFF_NS_PER_TASK;
    this.#perBatchNs = options.handOffNsPerBatch ?? HAND_OFF_NS_PER_BATCH;
    this.#flat = { ...(options.sealNsPerByte ?? {}) };
  }

  /** A policy that offloads every compressed group (tests, benchmarks). */
  static always(): OffloadPolicy {
    return new OffloadPolicy({ minGain: 0 });
  }

  /**
   * Estimated CPU to seal `rawBytes` of records with `codecId` at `level` on one thread.
   * @returns ns; 0 for `none` and unknown codecs (never offloaded)
   */
  sealNs(codecId: number, level: number, rawBytes: number): number {
    const name = NAMES[codecId];
    if (name === undefined || name === 'none') return 0;
    const flat = this.#flat[name];
    if (flat !== undefined) return flat * rawBytes;
    const lvl = name === 'gzip' && level < 0 ? GZIP_DEFAULT_LEVEL : level;
    return interpolate(SEAL_NS_PER_BYTE[name], lvl) * rawBytes;
  }

  /** CPU one task carrying `batches` batches costs (ns). */
  handOffNs(batches: number): number {
    return this.#perTaskNs + this.#perBatchNs * batches;
  }

  /**
   * Whether a group of `batches` batches whose seals cost `sealNs` together goes to a
   * worker: `sealNs ≥ minGain × handOffNs(batches)`, and never when there is no work.
   */
  shouldOffload(sealNs: number, batches: number): boolean {
    return sealNs > 0 && sealNs >= this.#minGain * this.handOffNs(batches);
  }

  /**
   * Into how many tasks (at most `threads`) a group is worth splitting: each part must
   * still pay for its own hand-off.
   */
  tasksFor(sealNs: number, batches: number, threads: number): number {
    let tasks = Math.min(threads, batches);
    while (tasks > 1 && !this.shouldOffload(sealNs / tasks, batches / tasks)) tasks--;
    return tasks;
  }

  /**
   * Whether offloading can ever pay for this codec and level: a full group of
   * `maxGroupBytes` in `batchSizeBytes` batches. {@link createSealer} starts no threads when
   * it cannot.
   */
  mayOffload(codecId: number, level: number, maxGroupBytes: number, batchSizeBytes: number): boolean {
    const batches = Math.max(1, Math.ceil(maxGroupBytes / batchSizeBytes));
    return this.shouldOffload(this.sealNs(codecId, level, maxGroupBytes), batches);
  }
}

/**
 * Default seal threads: one per core the process may use. The caller's thread mostly waits
 * while workers compress (it appends, ~2 ms per MiB), so on 2 cores 2 workers measured
 * faster than 1 for gzip (1.46-1.76x vs 1.14-1.26x of inline).
 */
export function defaultSealThreads(): number {
  return Math.max(1, availableParallelism());
}
