/**
 * `WorkerSealer`: seals closed batches on seal threads, in place in the shared buffer pool,
 * while the caller's thread goes on appending.
 *
 * Key insight — piscina owns the threads (start-up, crashes, replacement, shutdown), but no
 * batch travels through piscina: each thread runs ONE long-lived task, a lane, that takes
 * jobs from a ring in shared memory (`seal-ring-layout.ts`). Handing off a batch is ~14
 * number stores and one atomic store (~1-2 µs of main-thread CPU instead of a 40-65 µs
 * piscina task), so batches go one by one as they close: no grouping, no grouping delay.
 * Completions come back through one `Atomics.waitAsync` on a signal word that every lane
 * bumps; one wake-up drains every finished entry of every lane.
 *
 * Lanes and back-pressure: a batch goes to the live lane with the fewest raw bytes waiting;
 * when every lane already holds `maxLaneBacklogBytes` (or its ring is full) the caller seals
 * the batch itself (caller-runs). That bounds the backlog — and the latency — at a few
 * batches per thread, and an appender faster than the threads is slowed by the work itself
 * instead of by waiting for pool memory. Order is unaffected: a partition's batches leave in
 * queue order whatever order their seals finish in.
 *
 * Faults (walked through in `seal-ring-layout.ts`): a thread that dies leaves its jobs'
 * states in shared memory — taken but not yet replacing: sealed again once on another lane
 * (a second failure fails the batch with a SealError naming both causes); replacing: kept
 * if its header and CRC are complete, else failed; queued: reclaimed and sent elsewhere. A
 * seal that runs longer than `sealTimeoutMs` (a stuck native codec) is abandoned by CAS —
 * the batch fails with a SealError and its slot returns to the pool; the thread, should its
 * codec ever return, loses the CAS and writes nothing — and its thread is terminated and
 * replaced. If no thread can start at all, the sealer seals inline and says so once.
 * `close()` waits for seals in progress (each bounded by the timeout), stops the lanes and
 * destroys the pool, and never waits on a thread that does not stop.
 *
 * Rejected: the previous design — grouped piscina tasks (≤ 16 batches / 512 KiB) — whose
 * ~40-65 µs per task forced the grouping and its latency (p99 278 ms vs 25 ms inline at
 * 250k records/s), and whose timeout could not be made safe (piscina rejects an aborted task
 * before its thread has exited, so a retry could race the old thread on the same slot; the
 * ring's CAS ownership makes that race impossible).
 */
import { setMaxListeners } from 'node:events';
import { MessageChannel } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { ConfigError, SealError, crc32c } from '@sluice/core';
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
  sealBatch,
  writeBatchHeader,
} from '@sluice/core/internal';
import { OffloadPolicy, defaultSealThreads } from './offload-policy.js';
import { sealCodecFor } from './seal-codecs.js';
import { RingWriter, writeJob } from './seal-ring.js';
import {
  E_BUSY_NS,
  E_ERROR_LENGTH,
  E_ERROR_TEXT,
  E_RESULT,
  E_STARTED_AT_MS,
  JobState,
  LANE_THREAD_ID,
  RING_ENTRIES,
  RING_MASK,
  SIGNAL_BYTES,
  SIGNAL_COUNT,
  SIGNAL_MAIN_WAITING,
  SealFault,
  isDrainable,
} from './seal-ring-layout.js';
import type { LaneStartMessage, SealFaultValue } from './seal-ring-layout.js';

/** Source mode (tests, benchmarks under tsx): piscina gets a bootstrap that registers tsx. */
const SOURCE_MODE = import.meta.url.endsWith('.ts');
const TASK_FILENAME = new URL(SOURCE_MODE ? './seal-task-bootstrap.mjs' : './seal-task.js', import.meta.url).href;

/**
 * Default raw bytes waiting per lane before the caller seals itself: about two full
 * compressed batches (4-slot runs of 16 KiB), i.e. 1-3 ms of gzip — enough that a thread
 * never idles between batches, small enough to bound latency.
 */
export const DEFAULT_LANE_BACKLOG_BYTES = 128 * 1024;
/** Default bound on one seal on a thread (ms); a 1 MiB batch at zstd level 19 takes ~0.4 s. */
export const DEFAULT_SEAL_TIMEOUT_MS = 10_000;
/** How long close() waits for lanes to return and for piscina to stop its threads (ms). */
const CLOSE_GRACE_MS = 2_000;
/**
 * `adaptive` calibration: inline seals skipped first (cold code, threads starting: measured
 * 55 and 60 ns/B for gzip and the main thread over the first 32 batches, against ~20 and ~3
 * warm), then the batches and time measured before the machine model decides.
 */
const CALIBRATION_WARMUP_BATCHES = 64;
const CALIBRATION_BATCHES = 64;
const CALIBRATION_MS = 250;

// `Atomics.waitAsync` is in Node 20 (V8 11.3) but in TypeScript's lib only from ES2024.
type WaitAsyncResult = { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> };
const atomicsWaitAsync = (Atomics as unknown as { waitAsync(a: Int32Array, i: number, v: number): WaitAsyncResult }).waitAsync.bind(Atomics);

/** How a {@link WorkerSealer} is built. */
export interface WorkerSealerOptions {
  /** Seal threads. Default {@link defaultSealThreads}. */
  readonly threads?: number;
  /**
   * Raw record bytes that may wait per lane; beyond it (on every lane) the caller's thread
   * seals the batch itself (caller-runs). Default {@link DEFAULT_LANE_BACKLOG_BYTES}.
   */
  readonly maxLaneBacklogBytes?: number;
  /** Longest one seal may run on a thread before it is abandoned (SealError). Default {@link DEFAULT_SEAL_TIMEOUT_MS}. */
  readonly sealTimeoutMs?: number;
  /** The inline-vs-worker rules. Default: `new OffloadPolicy()`. */
  readonly offloadPolicy?: OffloadPolicy;
  /**
   * `seal.workers=auto`: start no thread at first; seal the first batches inline to measure
   * the codec on this data and the main thread's own load, then start `threads` threads —
   * or as few as the machine model asks for — only if it says offloading pays; else stay
   * inline with no thread at all. Default false (threads at once, every paying batch offloaded).
   */
  readonly adaptive?: boolean;
  /** Codec lookup for batches sealed inline. Default: {@link sealCodecFor} (what the threads use). */
  readonly resolveCodec?: CodecResolver;
}

/** Counters, for metrics, tests and the benchmark's time breakdown. */
export interface WorkerSealerStats {
  /** Seal threads running a lane now. */
  threads: number;
  /** Lanes started (replacements included). */
  lanesStarted: number;
  /** Batches sealed by seal threads. */
  offloadedBatches: number;
  /** Batches sealed on the caller's thread (policy, calibration, fallback, after close, caller-runs). */
  inlineBatches: number;
  /** Of those, batches the caller sealed because every lane's backlog was full (caller-runs). */
  callerRunsBatches: number;
  /** Batches sent for a second seal after a failure. */
  retriedBatches: number;
  /** Batches found sealed in memory after their thread died. */
  recoveredBatches: number;
  /** Batches failed with a SealError. */
  failedBatches: number;
  /** Batches abandoned by the seal timeout. */
  timedOutBatches: number;
  /** Nanoseconds threads spent sealing. */
  workerBusyNs: number;
  /** Nanoseconds of main-thread time spent handing off: publishing jobs, draining completions (timer included). */
  handoffNs: number;
  /** Completion wake-ups of the main thread. */
  wakeups: number;
  /** For `adaptive`: whether batches are offloaded now (false while calibrating or when it does not pay). */
  offloading: boolean;
  /** For `adaptive`, once calibrated: measured codec ns per raw byte (0 before). */
  calibratedSealNsPerByte: number;
  /** For `adaptive`, once calibrated: measured main-thread ns per raw byte besides sealing (0 before). */
  calibratedMainNsPerByte: number;
  /** For `adaptive`, once calibrated: the machine model's predicted speed-up (0 before). */
  calibratedSpeedup: number;
}

/**
 * Test-only fault injection: the key of an option the constructor reads, exported only from
 * this file (not from the package index). Production code never sets it.
 * @internal
 */
export const kSealFaults: unique symbol = Symbol('sluice.worker.sealFaults');

/**
 * A fault for the next `jobs` jobs handed to threads (test-only). The sealer reads it at
 * every hand-off and counts `jobs` down in place, so a test can re-arm one sealer.
 * `skip` jobs are handed off clean first. @internal
 */
export interface SealFaultPlan {
  fault: SealFaultValue;
  /** How many more jobs get it; Infinity for every job. */
  jobs: number;
  /** Jobs to let through before the faulty ones. Default 0. */
  skip?: number;
}

interface Entry {
  readonly job: SealJob;
  spec: SealSpec;
  attempt: number;
  firstError: string | null;
  /** The lane that failed it last (a retry prefers another). */
  lastLane: Lane | null;
  /** 0 while sealing; the sealed size; or -1 when it failed (`error`). Delivered in seal() order. */
  outcome: number;
  error: Error | null;
}

function entryOf(job: SealJob, spec: SealSpec): Entry {
  return { job, spec, attempt: 0, firstError: null, lastLane: null, outcome: 0, error: null };
}

interface Lane {
  readonly writer: RingWriter;
  readonly port: MessagePort;
  readonly knownBuffers: Set<number>;
  /** The job in each ring entry, by entry index; null when free. */
  readonly jobs: (Entry | null)[];
  backlogBytes: number;
  readonly abort: AbortController;
  retired: boolean;
  /** Whether the worker's thread was unref'd (it keeps the process alive only through our timer). */
  unrefd: boolean;
  /** Whether its thread has started the lane loop (until then batches are sealed inline, not queued behind a start-up). */
  running: boolean;
}

function positiveInt(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) throw new ConfigError(`WorkerSealer: ${name} must be an integer >= 1, got ${value}`);
  return value;
}

/**
 * Stable ids of the SharedArrayBuffers handed to threads (their view-cache keys), unique in
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
 * Sealers not closed yet, for {@link liveSealThreads}: one set per process (a `Symbol.for`
 * key), so that copies of this module loaded twice — `import()` of the package beside a
 * CommonJS-compiled copy, as under a test runner — count the same threads.
 */
const openSealers: Set<{ readonly stats: WorkerSealerStats }> = ((globalThis as Record<symbol, unknown>)[Symbol.for('sluice.worker.openSealers')] ??= new Set()) as Set<{
  readonly stats: WorkerSealerStats;
}>;

/** Seal threads running a lane in this process now, over every WorkerSealer not closed. */
export function liveSealThreads(): number {
  let n = 0;
  for (const s of openSealers) n += s.stats.threads;
  return n;
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

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms).unref());
const decoder = new TextDecoder();

/** Seals batches on seal threads through shared-memory job rings; see the file comment. */
export class WorkerSealer implements Sealer {
  /** Sealing starts as soon as a batch is full, in parallel with appends. */
  readonly eager = true;
  /** Seal threads asked for. */
  readonly threads: number;
  readonly #laneBacklogBytes: number;
  readonly #sealTimeoutMs: number;
  readonly #policy: OffloadPolicy;
  readonly #resolveCodec: CodecResolver;
  /** Created with the first lane: `adaptive` starts none until calibration says they pay. */
  #pool: Piscina<LaneStartMessage, number> | null = null;
  readonly #signalBuffer = new SharedArrayBuffer(SIGNAL_BYTES);
  readonly #signal = new Int32Array(this.#signalBuffer);
  #lanes: Lane[] = [];
  /** Jobs on threads (published, not yet completed), all lanes. */
  #outstanding = 0;
  #armed = false;
  /** SIGNAL_COUNT when the last drain began: completions after it are not drained yet. */
  #signalSeen = 0;
  readonly #onSignal = (): void => {
    this.#armed = false;
    Atomics.store(this.#signal, SIGNAL_MAIN_WAITING, 0);
    this.#stats.wakeups++;
    this.#drainAll();
    this.#arm();
  };
  #watchdog: NodeJS.Timeout | null = null;
  /** Time spent in the accumulator's completion callbacks (not hand-off), during the current drain. */
  #callbackMs = 0;
  /** Every job not yet delivered, in seal() order, from #fifoHead. */
  #fifo: Entry[] = [];
  #fifoHead = 0;
  #delivering = false;
  readonly #watch = (): void => this.#onWatchdog();
  #idleWaiters: (() => void)[] = [];
  #closing: Promise<void> | null = null;
  #closed = false;
  #broken: Error | null = null;
  #everStarted = false;
  readonly #faults: SealFaultPlan | null;
  // `adaptive` calibration: inline seals measured until the model decides.
  readonly #adaptive: boolean;
  #calibrating: boolean;
  #calSealNs = 0;
  #calBytes = 0;
  #calBatches = 0;
  #calStartMs = 0;
  #calElu: ReturnType<typeof performance.eventLoopUtilization> | null = null;
  readonly #stats: WorkerSealerStats = {
    threads: 0,
    lanesStarted: 0,
    offloadedBatches: 0,
    inlineBatches: 0,
    callerRunsBatches: 0,
    retriedBatches: 0,
    recoveredBatches: 0,
    failedBatches: 0,
    timedOutBatches: 0,
    workerBusyNs: 0,
    handoffNs: 0,
    wakeups: 0,
    offloading: true,
    calibratedSealNsPerByte: 0,
    calibratedMainNsPerByte: 0,
    calibratedSpeedup: 0,
  };

  /**
   * Starts the seal threads (they load their codecs on first use).
   * @throws ConfigError when a numeric option is not a positive integer
   */
  constructor(options: WorkerSealerOptions = {}) {
    this.threads = positiveInt('threads', options.threads, defaultSealThreads());
    this.#laneBacklogBytes = positiveInt('maxLaneBacklogBytes', options.maxLaneBacklogBytes, DEFAULT_LANE_BACKLOG_BYTES);
    this.#sealTimeoutMs = positiveInt('sealTimeoutMs', options.sealTimeoutMs, DEFAULT_SEAL_TIMEOUT_MS);
    this.#policy = options.offloadPolicy ?? new OffloadPolicy();
    this.#resolveCodec = options.resolveCodec ?? sealCodecFor;
    this.#adaptive = options.adaptive === true;
    this.#calibrating = this.#adaptive;
    this.#stats.offloading = !this.#adaptive;
    this.#faults = (options as { [kSealFaults]?: SealFaultPlan })[kSealFaults] ?? null;
    // `adaptive` starts its threads only once calibration says they pay: a thread's start-up
    // is CPU the producer would lose for nothing (~1 s per thread in source mode).
    if (!this.#adaptive) this.#startLanes(this.threads);
    openSealers.add(this);
  }

  /** Creates the pool for `count` threads and a lane on each. */
  #startLanes(count: number): void {
    this.#pool = new Piscina<LaneStartMessage, number>({
      filename: TASK_FILENAME,
      minThreads: count,
      maxThreads: count,
      idleTimeout: Infinity,
      // Lanes park in Atomics.wait themselves; piscina's own between-task wait never runs.
      atomics: 'disabled',
      execArgv: sourceExecArgv(),
    });
    this.#pool.on('error', () => {}); // a thread dying is seen through its lane's task
    for (let i = 0; i < count; i++) this.#startLane();
  }

  /** Counters since construction (a copy). */
  get stats(): WorkerSealerStats {
    let running = 0;
    for (const lane of this.#lanes) if (this.#laneRunning(lane)) running++;
    this.#stats.threads = running;
    return { ...this.#stats };
  }

  /**
   * Seals `job` on a seal thread, or inline when the offload policy says the batch does not
   * pay for its hand-off or every lane's backlog is full (caller-runs).
   * Calls `job.completeSeal` or `job.failSeal` exactly once, later or now.
   */
  seal(job: SealJob): void {
    const e = entryOf(job, job.sealSpec());
    this.#fifo.push(e);
    if (this.#closed || this.#broken !== null) {
      this.#sealInline(e);
      return;
    }
    const spec = e.spec;
    if (this.#calibrating) {
      this.#sealCalibrating(e);
      return;
    }
    if (!this.#stats.offloading || !this.#policy.shouldOffload(this.#policy.sealNs(spec.codecId, spec.level, spec.recordsLength))) {
      this.#sealInline(e);
      return;
    }
    if (!this.#dispatch(e)) {
      this.#stats.callerRunsBatches++;
      this.#sealInline(e);
    }
  }

  /**
   * Waits for every seal in progress (each bounded by `sealTimeoutMs`), then stops the lanes
   * and the threads. Batches handed over afterwards are sealed inline. Idempotent; never
   * waits on a thread that does not stop.
   */
  close(): Promise<void> {
    this.#closing ??= this.#closeNow();
    return this.#closing;
  }

  async #closeNow(): Promise<void> {
    while (this.#outstanding > 0) {
      await new Promise<void>((resolve) => {
        this.#idleWaiters.push(resolve);
        this.#drainAll();
      });
    }
    this.#closed = true;
    const lanes = this.#lanes;
    this.#lanes = [];
    for (const lane of lanes) {
      lane.retired = true;
      lane.writer.stop();
      lane.port.close();
    }
    this.#stopWatchdog();
    // A lane whose thread never stops (a native codec stuck past its timeout) is not waited for.
    const pool = this.#pool;
    if (pool !== null) {
      await Promise.race([pool.destroy(), delay(CLOSE_GRACE_MS)]);
      for (const t of pool.threads) t.unref();
    }
    this.#stats.threads = 0;
    openSealers.delete(this);
  }

  /** Seals on this thread now (what InlineSealer does); the outcome is delivered in order. */
  #sealInline(e: Entry): void {
    this.#stats.inlineBatches++;
    const { job } = e;
    try {
      // Read again: a job sealed inline after a failed or reclaimed hand-off may have had its
      // producer fields set by drain meanwhile.
      const s = (e.spec = job.sealSpec());
      const codec = s.codecId === 0 ? null : this.#resolveCodec(s.codecId);
      if (s.codecId !== 0 && codec === null) throw new SealError(`no codec registered for compression id ${s.codecId}`);
      const size = sealBatch(job.bytes, job.view, job.byteOffset, {
        recordsLength: s.recordsLength,
        recordCount: s.recordCount,
        baseTimestamp: s.baseTimestamp,
        maxTimestamp: s.maxTimestamp,
        codec,
        level: s.level,
        producerId: s.producerId,
        producerEpoch: s.producerEpoch,
        baseSequence: s.baseSequence,
        transactional: s.transactional,
      });
      e.outcome = size;
    } catch (err) {
      e.outcome = -1;
      e.error = err instanceof SealError ? err : new SealError(`inline seal failed: ${(err as Error)?.message ?? String(err)}`, err);
    }
    this.#deliver();
  }

  /**
   * Calls `completeSeal` / `failSeal` for finished seals IN THE ORDER `seal()` was called:
   * a later batch whose seal finished first (another lane, or sealed inline by caller-runs)
   * waits for the earlier ones. The sender transmits a request as soon as its batches are
   * sealed, so seals finishing out of order let a request holding a partition's later batch
   * overtake the one holding its earlier batch (OUT_OF_ORDER_SEQUENCE_NUMBER, a retry after
   * retry.backoff.ms). In-order delivery removes the cases the sealer causes; a request can
   * still overtake another when a batch sealed later was drained earlier — the sender's
   * transmit order, not the sealer's (benchmarks/RESULTS.md, 'Worker sealing end to end').
   */
  #deliver(): void {
    if (this.#delivering) return;
    this.#delivering = true;
    const t0 = performance.now();
    try {
      const fifo = this.#fifo;
      while (this.#fifoHead < fifo.length) {
        const e = fifo[this.#fifoHead];
        if (e.outcome === 0) break;
        fifo[this.#fifoHead++] = undefined as unknown as Entry;
        try {
          if (e.outcome > 0) e.job.completeSeal(e.outcome);
          else e.job.failSeal(e.error!);
        } catch (err) {
          process.emitWarning(`WorkerSealer: a seal callback threw: ${(err as Error)?.stack ?? String(err)}`, 'SluiceWarning');
        }
      }
      if (this.#fifoHead > 1024 && this.#fifoHead * 2 > fifo.length) {
        fifo.splice(0, this.#fifoHead);
        this.#fifoHead = 0;
      }
    } finally {
      this.#delivering = false;
      this.#callbackMs += performance.now() - t0;
    }
  }

  // ---------------------------------------------------------------- auto: calibration

  /** Seals inline, timing the seal, until the window is over; then asks the machine model. */
  #sealCalibrating(e: Entry): void {
    const spec = e.spec;
    const nowMs = performance.now();
    if (this.#calElu === null) {
      this.#sealInline(e);
      // Warm-up: until the code is warm.
      if (spec.codecId !== 0 && ++this.#calBatches >= CALIBRATION_WARMUP_BATCHES) {
        this.#calBatches = 0;
        this.#calElu = performance.eventLoopUtilization();
        this.#calStartMs = performance.now();
      }
      return;
    }
    this.#sealInline(e);
    if (spec.codecId === 0) return;
    this.#calSealNs += (performance.now() - nowMs) * 1e6;
    this.#calBytes += spec.recordsLength;
    this.#calBatches++;
    if (this.#calBatches < CALIBRATION_BATCHES || nowMs - this.#calStartMs < CALIBRATION_MS) return;
    const elu = performance.eventLoopUtilization(this.#calElu);
    const sealPerByte = this.#calSealNs / this.#calBytes;
    const mainPerByte = Math.max(0, elu.active * 1e6 - this.#calSealNs) / this.#calBytes;
    const plan = this.#policy.plan(sealPerByte, mainPerByte, undefined, this.threads);
    this.#calibrating = false;
    this.#stats.offloading = plan.threads > 0;
    if (plan.threads > 0 && !this.#closed && this.#closing === null) this.#startLanes(plan.threads);
    this.#stats.calibratedSealNsPerByte = sealPerByte;
    this.#stats.calibratedMainNsPerByte = mainPerByte;
    this.#stats.calibratedSpeedup = plan.speedup;
  }


  // ---------------------------------------------------------------- lanes

  #startLane(): void {
    const { port1, port2 } = new MessageChannel();
    port1.unref();
    const lane: Lane = {
      writer: new RingWriter(),
      port: port1,
      knownBuffers: new Set(),
      jobs: new Array<Entry | null>(RING_ENTRIES).fill(null),
      backlogBytes: 0,
      abort: new AbortController(),
      retired: false,
      unrefd: false,
      running: false,
    };
    setMaxListeners(0, lane.abort.signal);
    this.#lanes.push(lane);
    // Until its thread runs and is unref'd, the watchdog checks on it.
    if (this.#watchdog === null) this.#startWatchdog();
    this.#stats.lanesStarted++;
    this.#pool!
      .run({ lane: lane.writer.buffer, signal: this.#signalBuffer, buffers: port2 }, {
        transferList: [port2],
        signal: lane.abort.signal,
      })
      .then(
        () => this.#onLaneEnded(lane, null),
        (err: unknown) => this.#onLaneEnded(lane, err),
      )
      .catch((err: unknown) => process.emitWarning(`WorkerSealer: bug while recovering a lane: ${(err as Error)?.stack ?? String(err)}`, 'SluiceWarning'));
  }

  /** Whether the lane's thread has started its loop (it writes its threadId). */
  #laneRunning(lane: Lane): boolean {
    return Atomics.load(lane.writer.i32, LANE_THREAD_ID) !== 0;
  }

  /** Counts running threads and unrefs them: only the watchdog (ref'd while seals are out) keeps the process alive. */
  #noteRunningLanes(): void {
    let running = 0;
    for (const lane of this.#lanes) {
      if (!this.#laneRunning(lane)) continue;
      running++;
      this.#everStarted = true;
      if (!lane.unrefd) {
        lane.unrefd = true;
        const id = Atomics.load(lane.writer.i32, LANE_THREAD_ID);
        for (const t of this.#pool?.threads ?? []) if (t.threadId === id) t.unref();
      }
    }
    this.#stats.threads = running;
  }

  /** A lane's task settled: its thread died, its loop threw, it was aborted, or it stopped. */
  #onLaneEnded(lane: Lane, err: unknown): void {
    const started = this.#laneRunning(lane);
    const wasLive = !lane.retired;
    lane.retired = true;
    this.#lanes = this.#lanes.filter((l) => l !== lane);
    this.#noteRunningLanes();
    const reason = err === null ? 'its seal thread stopped' : `its seal thread failed: ${(err as Error)?.message ?? String(err)}`;
    this.#recoverLane(lane, reason);
    if (this.#closed || this.#closing !== null) return;
    if (!started && !this.#everStarted && this.#lanes.every((l) => !this.#laneRunning(l))) {
      // No thread could start at all (the task module does not load): seal inline from now on.
      if (this.#broken === null) {
        this.#broken = err instanceof Error ? err : new Error(String(err));
        process.emitWarning(`WorkerSealer: no seal thread could start (${this.#broken.message}); sealing inline on the caller's thread from now on`, 'SluiceWarning');
        for (const l of this.#lanes) this.#retire(l, 'no seal thread could start');
      }
      return;
    }
    if (wasLive || err !== null) this.#startLane();
  }

  /** Stops publishing to a live lane, takes its queued jobs back and ends its task. */
  #retire(lane: Lane, reason: string): void {
    if (lane.retired) return;
    lane.retired = true;
    lane.writer.stop();
    this.#recoverLane(lane, reason);
    lane.abort.abort(new Error(reason));
  }

  /**
   * Settles every outstanding job of a retired lane by its state (layout file: 'Death').
   * Every claim is a CAS, so a thread that still runs cannot seal a job that is moved.
   */
  #recoverLane(lane: Lane, reason: string): void {
    const w = lane.writer;
    const retry: Entry[] = [];
    const moved: Entry[] = [];
    for (let k = 0; k < w.outstanding; k++) {
      const base = w.outstandingEntry(k);
      const index = (w.drained + k) & RING_MASK;
      const e = lane.jobs[index];
      if (e === null) continue;
      let state = w.stateOf(base);
      if (state === JobState.QUEUED && w.tryReclaim(base)) {
        this.#forget(lane, index, e);
        moved.push(e); // never started: not an attempt
        continue;
      }
      if (state === JobState.COMPRESSING && w.tryAbandon(base)) {
        this.#forget(lane, index, e);
        retry.push(this.#noteFailure(e, reason, lane));
        continue;
      }
      state = w.stateOf(base);
      if (isDrainable(state)) {
        this.#forget(lane, index, e);
        this.#settle(lane, base, state, e, retry);
      } else if (state === JobState.REPLACING) {
        this.#forget(lane, index, e);
        const size = e.job.view.getInt8(e.job.byteOffset + MAGIC_OFFSET) === MAGIC_V2 ? this.#recoverSealed(e) : -1;
        if (size > 0) {
          this.#stats.recoveredBatches++;
          this.#stats.offloadedBatches++;
          this.#complete(e, size);
        } else {
          this.#fail(e, `${reason} while copying compressed bytes over the records, which are lost`);
        }
      }
    }
    // Nothing of this lane is read again; its entries stay as they are (it is never reused).
    for (const e of moved) this.#redispatch(e);
    if (retry.length > 0) this.#retry(retry);
    this.#maybeIdle();
  }

  #forget(lane: Lane, index: number, e: Entry): void {
    lane.jobs[index] = null;
    lane.backlogBytes -= e.spec.recordsLength;
    this.#outstanding--;
  }

  // ---------------------------------------------------------------- hand-off

  /**
   * Publishes `e` to the live lane with the least backlog (not `e.lastLane` when another
   * has room).
   * @returns false when no lane has room (the caller seals it: caller-runs)
   */
  #dispatch(e: Entry): boolean {
    const t0 = performance.now();
    const bytes = e.spec.recordsLength;
    let best: Lane | null = null;
    let fallback: Lane | null = null;
    for (const lane of this.#lanes) {
      if (lane.retired || lane.writer.outstanding >= RING_ENTRIES) continue;
      if (!lane.running && !(lane.running = this.#laneRunning(lane))) continue;
      if (lane.backlogBytes > 0 && lane.backlogBytes + bytes > this.#laneBacklogBytes) continue;
      if (lane === e.lastLane) fallback = lane;
      else if (best === null || lane.backlogBytes < best.backlogBytes) best = lane;
    }
    best ??= fallback;
    if (best === null) {
      this.#stats.handoffNs += (performance.now() - t0) * 1e6;
      // Completions may have freed room since the last wake-up.
      if (this.#outstanding > 0 && this.#drainAll() > 0) return this.#dispatch(e);
      return false;
    }
    const w = best.writer;
    const base = w.tryBeginPublish();
    if (base < 0) return false;
    const { job, spec } = e;
    const memory = job.memory;
    const id = bufferIdOf(memory);
    if (!best.knownBuffers.has(id)) {
      best.port.postMessage({ id, buffer: memory });
      best.knownBuffers.add(id);
    }
    writeJob(w, base, id, job, spec, this.#nextFault());
    // Erase the header the slot's previous batch left: from now on a MAGIC_V2 there means
    // THIS seal wrote the header (recovery after a thread's death).
    job.bytes[job.byteOffset + MAGIC_OFFSET] = 0;
    best.jobs[w.published & RING_MASK] = e;
    best.backlogBytes += bytes;
    this.#outstanding++;
    if (w.commitPublish(base)) w.wake();
    if (!this.#armed) this.#arm();
    if (this.#watchdog === null) this.#startWatchdog();
    this.#stats.handoffNs += (performance.now() - t0) * 1e6;
    return true;
  }

  #nextFault(): number {
    const f = this.#faults;
    if (f === null || f.jobs <= 0) return SealFault.NONE;
    if ((f.skip ?? 0) > 0) {
      f.skip!--;
      return SealFault.NONE;
    }
    f.jobs--;
    return f.fault;
  }

  /** Keeps one Atomics.waitAsync armed on the completion signal while jobs are out (layout: 'Completion vs main's wait'). */
  #arm(): void {
    if (this.#armed || this.#outstanding === 0) return;
    this.#armed = true;
    Atomics.store(this.#signal, SIGNAL_MAIN_WAITING, 1);
    const seen = Atomics.load(this.#signal, SIGNAL_COUNT);
    // A seal that finished before MAIN_WAITING was set did not notify: drain after reading
    // `seen`, or its completion would wait for the next one (measured: lost wake-ups held
    // batches until the watchdog's next tick, ~1 s).
    if (seen !== this.#signalSeen) {
      this.#signalSeen = seen;
      this.#drainAll();
      if (this.#outstanding === 0) {
        this.#armed = false;
        Atomics.store(this.#signal, SIGNAL_MAIN_WAITING, 0);
        return;
      }
    }
    const r = atomicsWaitAsync(this.#signal, SIGNAL_COUNT, seen);
    if (r.async) void r.value.then(this.#onSignal);
    else queueMicrotask(this.#onSignal);
  }

  /**
   * Completes every finished job of every lane, oldest first per lane.
   * @returns the number of jobs settled
   */
  #drainAll(): number {
    this.#signalSeen = Atomics.load(this.#signal, SIGNAL_COUNT);
    const t0 = performance.now();
    const callbacks0 = this.#callbackMs;
    let settled = 0;
    let retry: Entry[] | null = null;
    for (const lane of this.#lanes) {
      const w = lane.writer;
      for (let base = w.oldest(); base >= 0; base = w.oldest()) {
        const state = w.stateOf(base);
        if (!isDrainable(state)) break;
        const index = w.drained & RING_MASK;
        const e = lane.jobs[index]!;
        this.#forget(lane, index, e);
        w.freeOldest(base);
        this.#settle(lane, base, state, e, (retry ??= []));
        settled++;
      }
    }
    if (retry !== null && retry.length > 0) this.#retry(retry);
    if (settled > 0) this.#maybeIdle();
    this.#stats.handoffNs += (performance.now() - t0 - (this.#callbackMs - callbacks0)) * 1e6;
    return settled;
  }

  /** Applies a terminal state read from the ring (the entry is already forgotten). */
  #settle(lane: Lane, base: number, state: number, e: Entry, retry: Entry[]): void {
    const i32 = lane.writer.i32;
    this.#stats.workerBusyNs += lane.writer.f64[(base + E_BUSY_NS) >> 1];
    if (state === JobState.SEALED) {
      this.#stats.offloadedBatches++;
      this.#complete(e, i32[base + E_RESULT]);
    } else if (state === JobState.FAILED_RETRYABLE) {
      retry.push(this.#noteFailure(e, this.#errorText(lane, base), lane));
    } else if (state === JobState.FAILED_LOST) {
      this.#fail(e, `its records may have been overwritten when sealing failed: ${this.#errorText(lane, base)}`);
    } else if (state === JobState.RECLAIMED) {
      this.#redispatch(e);
    }
  }

  #errorText(lane: Lane, base: number): string {
    const n = lane.writer.i32[base + E_ERROR_LENGTH];
    return n === 0 ? 'unknown error' : decoder.decode(new Uint8Array(lane.writer.buffer, (base + E_ERROR_TEXT) * 4, n).slice());
  }

  #maybeIdle(): void {
    if (this.#outstanding === 0 && this.#idleWaiters.length > 0) {
      for (const resolve of this.#idleWaiters.splice(0)) resolve();
    }
  }

  // ---------------------------------------------------------------- timeout watchdog

  /**
   * Runs while jobs are out (a ref'd timer: it is what keeps the process alive while seals
   * are in progress, the threads being unref'd): abandons seals past `sealTimeoutMs`.
   */
  #startWatchdog(): void {
    const periodMs = Math.min(1000, Math.max(5, Math.floor(this.#sealTimeoutMs / 4)));
    this.#watchdog = setTimeout(this.#watch, periodMs);
  }

  #stopWatchdog(): void {
    if (this.#watchdog !== null) clearTimeout(this.#watchdog);
    this.#watchdog = null;
  }

  #onWatchdog(): void {
    this.#watchdog = null;
    this.#noteRunningLanes();
    this.#drainAll();
    const nowMs = performance.timeOrigin + performance.now();
    for (const lane of this.#lanes) {
      const w = lane.writer;
      const base = w.oldest();
      if (base < 0 || w.stateOf(base) !== JobState.COMPRESSING) continue;
      const startedMs = w.f64[(base + E_STARTED_AT_MS) >> 1];
      if (startedMs === 0 || nowMs - startedMs < this.#sealTimeoutMs || !w.tryAbandon(base)) continue;
      const index = w.drained & RING_MASK;
      const e = lane.jobs[index]!;
      this.#forget(lane, index, e);
      this.#stats.timedOutBatches++;
      this.#fail(e, `it did not finish within sealTimeoutMs=${this.#sealTimeoutMs} (${Math.round(nowMs - startedMs)} ms on its seal thread, which is replaced)`);
      this.#retire(lane, `a seal ran past sealTimeoutMs=${this.#sealTimeoutMs}`);
    }
    if (this.#outstanding > 0 || this.#lanes.some((l) => !l.unrefd)) this.#startWatchdog();
    this.#maybeIdle();
  }

  // ---------------------------------------------------------------- results and faults

  /**
   * The batch's thread died after `sealBatch` started writing the header. The records
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

  /** Records a sealed batch; delivered in order by {@link #deliver}. */
  #complete(e: Entry, sizeBytes: number): void {
    e.outcome = sizeBytes;
    this.#deliver();
  }

  #noteFailure(e: Entry, reason: string, lane: Lane): Entry {
    e.firstError = e.attempt === 0 ? reason : `${e.firstError}; then: ${reason}`;
    e.attempt++;
    e.lastLane = lane;
    return e;
  }

  /** Seals again, once, the batches whose raw records are intact; fails those already retried. */
  #retry(entries: Entry[]): void {
    for (const e of entries) {
      if (e.attempt > 1) {
        this.#fail(e, `sealing failed twice: ${e.firstError}`);
        continue;
      }
      this.#stats.retriedBatches++;
      this.#redispatch(e);
    }
  }

  /** A job taken back before any thread started it: published again, or sealed inline. */
  #redispatch(e: Entry): void {
    if (this.#closed || this.#broken !== null || !this.#dispatch(e)) this.#sealInline(e);
  }

  #fail(e: Entry, why: string): void {
    this.#stats.failedBatches++;
    const { spec, job } = e;
    e.outcome = -1;
    e.error = new SealError(
      `worker seal of a batch of ${spec.recordCount} records (${spec.recordsLength} bytes at offset ${job.byteOffset}, codec ${spec.codecId}) failed: ${why}`,
    );
    this.#deliver();
  }

}
