/**
 * `WorkerSealer`: seals closed batches on piscina worker threads, in place in the shared
 * buffer pool, while the caller's thread goes on appending.
 *
 * Key insight — hand off GROUPS, not batches. One piscina task costs ~40-65 µs of CPU on
 * the caller's thread and ~65-110 µs on the worker (measured with tiny tasks; MessagePort
 * both ways plus piscina's bookkeeping), about what compressing one 16 KiB batch with zstd
 * or lz4 costs — the reason kafkajs dropped its worker compression. Batches that close
 * during one turn of the event loop are collected and flushed together at the end of that
 * turn (a microtask), or as soon as `maxGroupBatches` / `maxGroupBytes` per thread are
 * pending; each flush becomes as few tasks as keep the threads busy while every task still
 * pays for itself. At most two tasks per thread are given to piscina: while all are busy,
 * closed batches wait here and join the next task, so tasks grow with the backlog
 * (measured under back-pressure: 5.5 → 15.9 batches per task, a third of the tasks).
 * Measured: one task per batch ran at 0.40-0.70x of grouped tasks.
 * The {@link OffloadPolicy} seals a flush inline when its work does not pay for its
 * hand-off (always for `none`; in practice for lz4, snappy and zstd below level ~6).
 * When every worker is busy and more than `maxBacklogBytes` of closed batches wait, the
 * caller's thread seals the oldest itself (caller-runs): an appender faster than the
 * workers is slowed by the work instead of filling `buffer.memory` with batches waiting to
 * be sealed, which bounds latency (see {@link WorkerSealer#callerRuns}).
 *
 * Messages carry numbers and the SharedArrayBuffer references only (`seal-messages.ts`);
 * the worker compresses the records section, writes the compressed bytes back over it, then
 * the header and CRC, and returns the sealed size.
 *
 * Faults: a task that throws or a worker that dies loses no batch and leaks no slot. Each
 * batch's progress mark (its header gap's MAGIC byte) tells the main thread what happened:
 * sealed (kept), not started or still compressing (retried once, as one task that piscina
 * runs on another worker — the dead one is gone), or dying while the compressed bytes were
 * being copied over the raw ones (failed with a SealError: its records are lost). A batch
 * that fails twice fails with a SealError giving both causes. If no worker can start at all
 * (its module fails to load), the sealer falls back to sealing inline and says so once.
 *
 * Rejected: a per-task timeout that aborts a stuck task. piscina rejects an aborted task
 * BEFORE its worker has exited (`worker.terminate()` is asynchronous), so a retry could run
 * while the old thread still writes the same slot. A task runs to its end or its thread's
 * death; `close()` waits for it.
 */
import { setMaxListeners } from 'node:events';
import { Piscina } from 'piscina';
import { ConfigError, InlineSealer, SealError, codecFor, crc32c } from '@sluice/core';
import type { CodecResolver, SealJob, SealSpec, Sealer } from '@sluice/core';
import {
  ATTRIBUTES_OFFSET,
  CRC_OFFSET,
  LENGTH_OFFSET,
  LOG_OVERHEAD,
  MAGIC_OFFSET,
  MAGIC_V2,
  RECORD_BATCH_OVERHEAD,
  TRANSACTIONAL_FLAG_MASK,
  writeBatchHeader,
} from '@sluice/core/internal';
import { OffloadPolicy, defaultSealThreads } from './offload-policy.js';
import {
  BATCH_FIELDS,
  FAULT_NONE,
  SEAL_FAILED_RECORDS_LOST,
  SEAL_MARK_COMPRESSING,
  SEAL_MARK_PENDING,
  writeSealFields,
} from './seal-messages.js';
import type { SealFaultValue, SealTaskMessage, SealTaskResult } from './seal-messages.js';

/** Source mode (tests, benchmarks under tsx): piscina gets a bootstrap that registers tsx. */
const SOURCE_MODE = import.meta.url.endsWith('.ts');
const TASK_FILENAME = new URL(SOURCE_MODE ? './seal-task-bootstrap.mjs' : './seal-task.js', import.meta.url).href;

/** Default most batches in one task. */
export const DEFAULT_MAX_GROUP_BATCHES = 16;
/** Default most raw record bytes in one task. */
export const DEFAULT_MAX_GROUP_BYTES = 512 * 1024;
/**
 * Default backlog before caller-runs, in full rounds of tasks (`threads × maxGroupBytes`).
 * Four rounds: deep enough that an appender waiting on a small pool never reaches it (it
 * would then steal CPU from busy workers: measured 1.1x instead of 1.5x of inline with
 * one round and a 4 MiB pool), shallow enough to bound latency with a big one.
 */
export const DEFAULT_BACKLOG_ROUNDS = 4;
/** Tasks given to piscina per thread at once: one running, one queued behind it. */
const MAX_TASKS_IN_FLIGHT_PER_THREAD = 2;

/** How a {@link WorkerSealer} is built. */
export interface WorkerSealerOptions {
  /** Worker threads. Default {@link defaultSealThreads} (the offload policy's measured choice). */
  readonly threads?: number;
  /** Most batches one task seals. Default {@link DEFAULT_MAX_GROUP_BATCHES}. */
  readonly maxGroupBatches?: number;
  /** Most raw record bytes one task seals (a single bigger batch still goes alone). Default {@link DEFAULT_MAX_GROUP_BYTES}. */
  readonly maxGroupBytes?: number;
  /**
   * Most raw record bytes left waiting for a worker while every worker is busy; beyond it
   * the caller's thread seals the oldest waiting batches itself (caller-runs). Default
   * {@link DEFAULT_BACKLOG_ROUNDS} `× threads × maxGroupBytes`.
   */
  readonly maxBacklogBytes?: number;
  /** The inline-vs-worker rule. Default: `new OffloadPolicy()`. */
  readonly offloadPolicy?: OffloadPolicy;
  /** Codec lookup for batches sealed inline (small groups, fallback). Default: core's registry. */
  readonly resolveCodec?: CodecResolver;
  /**
   * piscina's `atomics` mode: how an idle worker waits for its next task. Default
   * {@link DEFAULT_PISCINA_ATOMICS} (measured; see the constant).
   */
  readonly atomics?: 'sync' | 'async' | 'disabled';
}

/**
 * piscina's wait mode for idle workers. 'disabled' (MessagePort events only) measured better
 * here than piscina's default 'sync' (Atomics.wait between tasks) with several tasks in
 * flight: 48 vs 197 µs wall and 23 vs 52 µs of main-thread CPU per no-op task at 8 in
 * flight; equal (37 µs CPU) at 1 in flight. See benchmarks/RESULTS.md, 'Worker sealing'.
 */
export const DEFAULT_PISCINA_ATOMICS = 'disabled';

/** Counters, for metrics and the benchmark's time breakdown. */
export interface WorkerSealerStats {
  /** Tasks posted to workers (retries included). */
  tasks: number;
  /** Batches sealed by workers. */
  offloadedBatches: number;
  /** Batches sealed on the caller's thread (policy, fallback, after close, caller-runs). */
  inlineBatches: number;
  /** Of those, batches the caller sealed because the workers' backlog was full (caller-runs). */
  callerRunsBatches: number;
  /** Batches sent for a second seal after a failure. */
  retriedBatches: number;
  /** Batches found sealed in memory after their worker died. */
  recoveredBatches: number;
  /** Batches failed with a SealError. */
  failedBatches: number;
  /** Nanoseconds workers spent sealing (sum over tasks). */
  workerBusyNs: number;
  /** Milliseconds the caller's thread spent handing off: building and posting tasks, applying results. */
  handoffMs: number;
}

/**
 * Test-only fault injection: the key of an option the constructor reads, exported only from
 * this file (not from the package index). Production code never sets it.
 * @internal
 */
export const kSealFaults: unique symbol = Symbol('sluice.worker.sealFaults');

/**
 * A fault for the next `tasks` tasks (test-only). The sealer reads it at every dispatch and
 * counts `tasks` down in place, so a test can re-arm one sealer between cases. @internal
 */
export interface SealFaultPlan {
  fault: SealFaultValue;
  /** Which batch of a group it hits. Default 0. */
  faultBatch?: number;
  /** How many more tasks get it; Infinity for every task. */
  tasks: number;
}

interface Entry {
  readonly job: SealJob;
  readonly spec: SealSpec;
  /** Estimated seal CPU (ns), from the offload policy. */
  readonly sealNs: number;
  attempt: number;
  firstError: string | null;
}

function positiveInt(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) throw new ConfigError(`WorkerSealer: ${name} must be an integer >= 1, got ${value}`);
  return value;
}

/**
 * Stable ids of the SharedArrayBuffers handed to workers (their view-cache keys), unique in
 * this process and never reused, so no two buffers share an id even across sealers.
 */
const bufferIds = new WeakMap<SharedArrayBuffer, number>();
let nextBufferId = 1;

function bufferIdOf(memory: SharedArrayBuffer): number {
  let id = bufferIds.get(memory);
  if (id === undefined) {
    id = nextBufferId++;
    bufferIds.set(memory, id);
  }
  return id;
}

/**
 * The worker's execArgv in source mode: the parent's minus its tsx loader flags (the
 * bootstrap registers tsx's ESM hooks itself; a worker that also runs `--import tsx` does
 * its start-up work twice), plus `--conditions=source` so `@sluice/core` resolves to
 * `src`. Compiled mode keeps Node's default (the parent's execArgv).
 */
function sourceExecArgv(): string[] | undefined {
  if (!SOURCE_MODE) return undefined;
  const argv = process.execArgv;
  const out: string[] = [];
  let hasSourceCondition = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const takesValue = a === '--import' || a === '--require' || a === '-r' || a === '--loader' || a === '--experimental-loader';
    const value = takesValue ? (argv[i + 1] ?? '') : a.includes('=') ? a.slice(a.indexOf('=') + 1) : '';
    if (/^(--import|--require|-r|--loader|--experimental-loader)(=|$)/.test(a) && value.includes('tsx')) {
      if (takesValue) i++;
      continue;
    }
    if (a === '--conditions=source' || a === '-C=source' || ((a === '--conditions' || a === '-C') && argv[i + 1] === 'source')) hasSourceCondition = true;
    out.push(a);
  }
  if (!hasSourceCondition) out.push('--conditions=source');
  return out;
}

/** Seals batches on piscina worker threads; see the file comment. */
export class WorkerSealer implements Sealer {
  /** Sealing starts as soon as a batch is full, in parallel with appends. */
  readonly eager = true;
  /** Worker threads in the pool. */
  readonly threads: number;
  readonly #maxGroupBatches: number;
  readonly #maxGroupBytes: number;
  readonly #maxBacklogBytes: number;
  readonly #policy: OffloadPolicy;
  readonly #inline: InlineSealer;
  readonly #pool: Piscina<SealTaskMessage, SealTaskResult>;
  /** Aborts queued tasks when no worker can run them (every worker failed to start). */
  readonly #abort = new AbortController();

  #pending: Entry[] = [];
  #pendingBytes = 0;
  #pendingNs = 0;
  #flushScheduled = false;
  readonly #flushNow = (): void => this.#flush();
  #inFlight = 0;
  #idleWaiters: (() => void)[] = [];
  #closing: Promise<void> | null = null;
  #closed = false;
  #broken: Error | null = null;
  readonly #faults: SealFaultPlan | null;
  readonly #stats: WorkerSealerStats = {
    tasks: 0,
    offloadedBatches: 0,
    inlineBatches: 0,
    callerRunsBatches: 0,
    retriedBatches: 0,
    recoveredBatches: 0,
    failedBatches: 0,
    workerBusyNs: 0,
    handoffMs: 0,
  };

  /**
   * Starts the worker threads (they load their codecs on first use).
   * @throws ConfigError when a numeric option is not a positive integer
   */
  constructor(options: WorkerSealerOptions = {}) {
    this.threads = positiveInt('threads', options.threads, defaultSealThreads());
    this.#maxGroupBatches = positiveInt('maxGroupBatches', options.maxGroupBatches, DEFAULT_MAX_GROUP_BATCHES);
    this.#maxGroupBytes = positiveInt('maxGroupBytes', options.maxGroupBytes, DEFAULT_MAX_GROUP_BYTES);
    this.#maxBacklogBytes = positiveInt('maxBacklogBytes', options.maxBacklogBytes, DEFAULT_BACKLOG_ROUNDS * this.threads * this.#maxGroupBytes);
    this.#policy = options.offloadPolicy ?? new OffloadPolicy();
    this.#inline = new InlineSealer(options.resolveCodec ?? codecFor);
    this.#faults = (options as { [kSealFaults]?: SealFaultPlan })[kSealFaults] ?? null;
    this.#pool = new Piscina<SealTaskMessage, SealTaskResult>({
      filename: TASK_FILENAME,
      minThreads: this.threads,
      maxThreads: this.threads,
      idleTimeout: Infinity,
      atomics: options.atomics ?? DEFAULT_PISCINA_ATOMICS,
      execArgv: sourceExecArgv(),
    });
    // Every task listens on this one signal: no per-task AbortController.
    setMaxListeners(0, this.#abort.signal);
    // A worker that fails with no task in hand is reported here, not through a task.
    this.#pool.on('error', (err: Error) => this.#checkPoolAlive(err));
  }

  /** Counters since construction (a copy). */
  get stats(): WorkerSealerStats {
    return { ...this.#stats };
  }

  /**
   * Queues `job` for sealing: on a worker with the other batches closed in this turn of the
   * event loop, or inline when the offload policy says the group is too small.
   * Calls `job.completeSeal` or `job.failSeal` exactly once, later.
   */
  seal(job: SealJob): void {
    if (this.#closed || this.#broken !== null) {
      this.#sealInline(job);
      return;
    }
    const spec = job.sealSpec();
    const sealNs = this.#policy.sealNs(spec.codecId, spec.level, spec.recordsLength);
    if (sealNs === 0) {
      this.#sealInline(job);
      return;
    }
    this.#pending.push({ job, spec, sealNs, attempt: 0, firstError: null });
    this.#pendingBytes += spec.recordsLength;
    this.#pendingNs += sealNs;
    if (this.#pending.length >= this.#maxGroupBatches * this.threads || this.#pendingBytes >= this.#maxGroupBytes * this.threads) {
      this.#flush();
    } else if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      queueMicrotask(this.#flushNow);
    }
  }

  /**
   * Seals what is queued, waits for every seal in progress (retries included), then
   * destroys the worker threads. Batches handed over afterwards are sealed inline.
   * Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#closeNow();
    return this.#closing;
  }

  async #closeNow(): Promise<void> {
    this.#flush();
    while (this.#inFlight > 0 || this.#pending.length > 0) await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
    this.#closed = true;
    await this.#pool.destroy();
  }

  #sealInline(job: SealJob): void {
    this.#stats.inlineBatches++;
    this.#inline.seal(job);
  }

  // ---------------------------------------------------------------- grouping

  #flush(): void {
    this.#flushScheduled = false;
    const pending = this.#pending;
    if (pending.length === 0) return;
    if (this.#broken !== null || this.#closed || !this.#policy.shouldOffload(this.#pendingNs, pending.length)) {
      this.#pending = [];
      this.#pendingBytes = 0;
      this.#pendingNs = 0;
      for (const e of pending) this.#sealInline(e.job);
      return;
    }
    // Key insight — under load, wait for a free worker rather than queue small tasks in
    // piscina: batches that close meanwhile join the next task, so a task grows with the
    // backlog (up to maxGroupBatches) and the per-task cost is paid less often. Each thread
    // may have one task running and one queued (no idle gap between tasks).
    const free = this.threads * MAX_TASKS_IN_FLIGHT_PER_THREAD - this.#inFlight;
    if (free <= 0) {
      this.#callerRuns();
      return; // #taskDone flushes again
    }
    let n = 0;
    let bytes = 0;
    let ns = 0;
    while (n < pending.length && n < free * this.#maxGroupBatches && bytes < free * this.#maxGroupBytes) {
      bytes += pending[n].spec.recordsLength;
      ns += pending[n].sealNs;
      n++;
    }
    const entries = n === pending.length ? pending : pending.slice(0, n);
    this.#pending = n === pending.length ? [] : pending.slice(n);
    this.#pendingBytes -= bytes;
    this.#pendingNs -= ns;
    // As few tasks as the group limits allow, but spread over the idle threads while every
    // part still pays for its own hand-off.
    let tasks = Math.max(Math.ceil(n / this.#maxGroupBatches), Math.ceil(bytes / this.#maxGroupBytes));
    tasks = Math.min(n, free, Math.max(tasks, this.#policy.tasksFor(ns, n, Math.min(free, this.threads))));
    if (tasks === 1) {
      this.#dispatch(entries);
      return;
    }
    // Cut in order (the worker seals a task's batches in order) at equal shares of work.
    const perTaskNs = ns / tasks;
    let group: Entry[] = [];
    let groupNs = 0;
    let remainingTasks = tasks;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i];
      group.push(e);
      groupNs += e.sealNs;
      const left = entries.length - i - 1;
      if (remainingTasks > 1 && left >= remainingTasks - 1 && (groupNs >= perTaskNs || group.length >= this.#maxGroupBatches || left === remainingTasks - 1)) {
        this.#dispatch(group);
        remainingTasks--;
        group = [];
        groupNs = 0;
      }
    }
    if (group.length > 0) this.#dispatch(group);
  }

  /**
   * Caller-runs: while every worker is busy and more than `maxBacklogBytes` wait, the
   * caller's thread seals the oldest waiting batches itself. Without it an appender faster
   * than the workers fills all of `buffer.memory` with batches waiting to be sealed
   * (measured: gzip end to end, 32 MiB pool, 2 workers — record-queue-time 388 ms, 345 ms
   * average latency, 417k records/s, against 14.5 ms and 497k records/s inline): the
   * appender now spends that time sealing, which is its back-pressure, and the backlog —
   * hence latency — stays bounded. Order is unaffected: a partition's batches leave in
   * queue order whatever order their seals finish in.
   */
  #callerRuns(): void {
    if (this.#pendingBytes <= this.#maxBacklogBytes) return;
    const pending = this.#pending;
    let n = 0;
    while (n < pending.length && this.#pendingBytes > this.#maxBacklogBytes) {
      this.#pendingBytes -= pending[n].spec.recordsLength;
      this.#pendingNs -= pending[n].sealNs;
      n++;
    }
    const oldest = pending.slice(0, n);
    this.#pending = pending.slice(n);
    this.#stats.callerRunsBatches += n;
    for (const e of oldest) this.#sealInline(e.job);
  }

  #dispatch(entries: Entry[]): void {
    const t0 = performance.now();
    const buffers: SharedArrayBuffer[] = [];
    const ids: number[] = [];
    const fields = new Float64Array(entries.length * BATCH_FIELDS);
    for (let i = 0; i < entries.length; i++) {
      const { job, spec } = entries[i];
      let bufferIndex = buffers.indexOf(job.memory);
      if (bufferIndex < 0) {
        bufferIndex = buffers.push(job.memory) - 1;
        ids.push(bufferIdOf(job.memory));
      }
      writeSealFields(fields, i, bufferIndex, job, spec);
      // Erase the header the slot's previous batch left: from now on a MAGIC_V2 here means
      // THIS seal wrote the header (see seal-messages.ts).
      job.bytes[job.byteOffset + MAGIC_OFFSET] = SEAL_MARK_PENDING;
    }
    let fault: SealFaultValue = FAULT_NONE;
    let faultBatch = 0;
    if (this.#faults !== null && this.#faults.tasks > 0) {
      this.#faults.tasks--;
      fault = this.#faults.fault;
      faultBatch = this.#faults.faultBatch ?? 0;
    }
    const message: SealTaskMessage = { buffers, bufferIds: Int32Array.from(ids), batches: fields, fault, faultBatch };
    this.#inFlight++;
    this.#stats.tasks++;
    this.#pool
      .run(message, { signal: this.#abort.signal })
      .then(
        (result) => this.#onResult(entries, result),
        (err: unknown) => this.#onTaskFailed(entries, err),
      )
      .catch((err: unknown) => process.emitWarning(`WorkerSealer: bug while completing a seal: ${(err as Error)?.stack ?? String(err)}`, 'SluiceWarning'))
      .finally(() => this.#taskDone());
    this.#stats.handoffMs += performance.now() - t0;
  }

  #taskDone(): void {
    this.#inFlight--;
    if (this.#pending.length > 0) this.#flush();
    if (this.#inFlight === 0 && this.#pending.length === 0 && this.#idleWaiters.length > 0) {
      for (const resolve of this.#idleWaiters.splice(0)) resolve();
    }
  }

  // ---------------------------------------------------------------- results and faults

  #onResult(entries: Entry[], result: SealTaskResult): void {
    const t0 = performance.now();
    this.#stats.workerBusyNs += result.busyNs;
    let retry: Entry[] | null = null;
    for (let i = 0; i < entries.length; i++) {
      const size = result.sizes[i];
      const e = entries[i];
      if (size > 0) {
        this.#stats.offloadedBatches++;
        this.#complete(e, size);
      } else if (size === SEAL_FAILED_RECORDS_LOST) {
        this.#fail(e, `its records may have been overwritten when sealing failed: ${result.errors?.[i] ?? 'unknown error'}`);
      } else {
        (retry ??= []).push(this.#noteFailure(e, result.errors?.[i] ?? 'unknown error'));
      }
    }
    if (retry !== null) this.#retry(retry);
    this.#stats.handoffMs += performance.now() - t0;
  }

  #onTaskFailed(entries: Entry[], err: unknown): void {
    const reason = (err as Error)?.message ?? String(err);
    this.#checkPoolAlive(err);
    let retry: Entry[] | null = null;
    for (const e of entries) {
      const { job } = e;
      const mark = job.view.getInt8(job.byteOffset + MAGIC_OFFSET);
      if (mark === MAGIC_V2) {
        const size = this.#recoverSealed(e);
        if (size > 0) {
          this.#stats.recoveredBatches++;
          this.#stats.offloadedBatches++;
          this.#complete(e, size);
        } else {
          this.#fail(e, `its worker failed (${reason}) and left an unreadable header`);
        }
      } else if (mark === SEAL_MARK_PENDING || mark === SEAL_MARK_COMPRESSING) {
        (retry ??= []).push(this.#noteFailure(e, reason));
      } else {
        this.#fail(e, `its worker failed (${reason}) while copying compressed bytes over the records, which are lost`);
      }
    }
    if (retry !== null) this.#retry(retry);
  }

  /**
   * The batch's worker died after `sealBatch` started writing the header. The records
   * section is final (compressed, or raw after the fallback); if the CRC already matches,
   * the batch is sealed, else the header is written again from the spec. Relies on
   * `writeBatchHeader` writing LENGTH before MAGIC and the CRC last.
   * @returns the sealed size, or -1 when the length field is not plausible
   */
  #recoverSealed(e: Entry): number {
    const { job, spec } = e;
    const base = job.byteOffset;
    const sizeBytes = job.view.getInt32(base + LENGTH_OFFSET) + LOG_OVERHEAD;
    if (sizeBytes < RECORD_BATCH_OVERHEAD || sizeBytes > RECORD_BATCH_OVERHEAD + spec.recordsLength) return -1;
    if (crc32c(job.bytes.subarray(base + ATTRIBUTES_OFFSET, base + sizeBytes)) === job.view.getUint32(base + CRC_OFFSET)) return sizeBytes;
    const compressed = sizeBytes - RECORD_BATCH_OVERHEAD < spec.recordsLength;
    writeBatchHeader(job.bytes, job.view, base, sizeBytes, {
      attributes: (spec.transactional ? TRANSACTIONAL_FLAG_MASK : 0) | (compressed ? spec.codecId : 0),
      lastOffsetDelta: spec.recordCount - 1,
      baseTimestamp: spec.baseTimestamp,
      maxTimestamp: spec.maxTimestamp,
      producerId: spec.producerId,
      producerEpoch: spec.producerEpoch,
      baseSequence: spec.baseSequence,
      recordsCount: spec.recordCount,
    });
    return sizeBytes;
  }

  /** Reports a sealed batch; a throwing callback (a bug) must not keep the others from completing. */
  #complete(e: Entry, sizeBytes: number): void {
    try {
      e.job.completeSeal(sizeBytes);
    } catch (err) {
      process.emitWarning(`WorkerSealer: completeSeal threw: ${(err as Error)?.stack ?? String(err)}`, 'SluiceWarning');
    }
  }

  #noteFailure(e: Entry, reason: string): Entry {
    if (e.attempt === 0) e.firstError = reason;
    else e.firstError = `${e.firstError}; then: ${reason}`;
    e.attempt++;
    return e;
  }

  /** Seals again, once, the batches whose raw records are intact; fails those already retried. */
  #retry(entries: Entry[]): void {
    const again: Entry[] = [];
    for (const e of entries) {
      if (e.attempt > 1) this.#fail(e, `sealing failed twice: ${e.firstError}`);
      else again.push(e);
    }
    if (again.length === 0) return;
    this.#stats.retriedBatches += again.length;
    if (this.#broken !== null || this.#closed) {
      for (const e of again) this.#sealInline(e.job);
      return;
    }
    for (const e of again) e.job.bytes[e.job.byteOffset + MAGIC_OFFSET] = SEAL_MARK_PENDING;
    this.#dispatch(again);
  }

  #fail(e: Entry, why: string): void {
    this.#stats.failedBatches++;
    const { spec, job } = e;
    job.failSeal(
      new SealError(
        `worker seal of a batch of ${spec.recordCount} records (${spec.recordsLength} bytes at offset ${job.byteOffset}, codec ${spec.codecId}) failed: ${why}`,
      ),
    );
  }

  /**
   * When every worker has died during startup, piscina starts no more and queued tasks would
   * wait forever: switch to inline sealing and abort what is queued (it is recovered inline).
   */
  #checkPoolAlive(err: unknown): void {
    if (this.#broken !== null || this.#closed || this.#pool.threads.length > 0) return;
    this.#broken = err instanceof Error ? err : new Error(String(err));
    process.emitWarning(
      `WorkerSealer: no seal worker could start (${this.#broken.message}); sealing inline on the caller's thread from now on`,
      'SluiceWarning',
    );
    this.#abort.abort(this.#broken);
  }
}
