/**
 * `sluice-perf --threads N` (N ≥ 2): the run's records sent by N worker threads, in one of
 * two models (thread-protocol.ts):
 *
 * - `shared`: ONE producer on this (the main) thread — built from the command line's settings,
 *   so compression, acks, the target and TLS/SASL apply — made shareable, and N appender
 *   threads (`Producer.attach`) that encode straight into its batches; this thread drains,
 *   seals what the appenders did not, and sends, over one set of connections with one
 *   producer id;
 * - `per-thread` (`--compare per-thread`, the baseline): N producers, one per thread, each
 *   with its own accumulator, sender, producer id and connections (on the embedded target,
 *   its own cluster), over one buffer pool of `buffer.memory` that all of them share.
 *
 * The records are split evenly (the first `numRecords % N` threads send one more), every
 * thread waits at a common gate, and the run is measured from the gate to the last
 * acknowledgement; `--throughput` is divided among the threads; `--warmup-records` is a first
 * phase with its own gate, flushed before the measured one starts. Window lines and the
 * progress bar read the shared counters (thread-stats.ts); the final figures are the exact
 * acknowledged/failed counts and the threads' latency samples merged.
 *
 * The owner's cost (shared): this thread's event-loop busy time during the measured phase
 * (`performance.eventLoopUtilization`: drain, seal, send, acknowledgements), as a share of one
 * core and per adopted batch. On the embedded cluster the broker half runs on this thread too
 * (appending the batches to its partitions): it is timed around `InMemoryBrokers.produce` and
 * subtracted, since a real broker does that in its own process.
 */
import { Worker } from 'node:worker_threads';
import { BufferPool, InMemoryCluster, Producer } from '@sluice/core';
import type { ProducerConfig } from '@sluice/core';
import { LatencyHistogram } from './latency-histogram.js';
import type { PerfRunHooks, PerfRunResult } from './perf-run.js';
import type { RunTotals, ThreadsInfo } from './report.js';
import { ThreadStats } from './thread-stats.js';
import type { ThreadTotals } from './thread-stats.js';
import { packPool } from './thread-protocol.js';
import type { FromThread, ThreadModel, ThreadPhaseReport, ThreadSetup, ToThread } from './thread-protocol.js';
import type { Workload } from './workload.js';

/**
 * The thread's entry beside this file: under tsx (the sources) a bootstrap that registers tsx
 * in the new thread, in the compiled package the compiled thread.
 */
const THREAD_URL = new URL(import.meta.url.endsWith('.ts') ? './perf-thread.mjs' : './perf-thread.js', import.meta.url);

/** Every n-th record of a thread carries a latency-sampling callback. */
export const LATENCY_SAMPLE_EVERY = 16;
/** How often the window/progress timer looks (ms). */
const TICK_MS = 50;

/** What a threaded run needs. */
export interface ThreadedRunOptions {
  readonly model: ThreadModel;
  /** Sending threads (2 … 63). */
  readonly threads: number;
  readonly workload: Workload;
  /** The effective producer configuration. */
  readonly config: ProducerConfig;
  /** The settings as given (what the producers are built from: `producerInput` of cli.ts). */
  readonly input: Readonly<Record<string, unknown>>;
}

/** The shared producer's owner thread: what draining and sending cost it. */
export interface OwnerCost {
  /** Batches the owner adopted from the appenders in the measured phase. */
  batches: number;
  /** Its event loop's busy time in the measured phase, the broker half excluded, ms. */
  busyMs: number;
  /** The embedded broker half's time on the same thread (subtracted), ms; 0 against a broker. */
  brokerMs: number;
  /** `busyMs` over the phase's wall time: the share of one core. */
  coreShare: number;
  /** `busyMs` per adopted batch, µs. */
  usPerBatch: number;
}

/** A finished threaded run: a {@link PerfRunResult}, plus the threads and the owner's cost. */
export interface ThreadedRunResult extends PerfRunResult {
  readonly model: ThreadModel;
  readonly threads: number;
  /** `shared` only. */
  readonly owner: OwnerCost | null;
  /** Latency samples behind the measured percentiles. */
  readonly latencySamples: number;
}

/** What the threads line and `--json` say about a threaded run. */
export function threadsInfo(r: ThreadedRunResult): ThreadsInfo {
  return {
    model: r.model,
    threads: r.threads,
    latencySampleEvery: LATENCY_SAMPLE_EVERY,
    latencySamples: r.latencySamples,
    owner: r.owner === null ? null : { coreShare: r.owner.coreShare, usPerBatch: r.owner.usPerBatch, batches: r.owner.batches, brokerMs: r.owner.brokerMs },
  };
}

/** `n` records over `threads` threads: the first `n % threads` send one more. */
export function splitRecords(n: number, threads: number): number[] {
  return Array.from({ length: threads }, (_, t) => Math.floor(n / threads) + (t < n % threads ? 1 : 0));
}

/** One sending thread, driven by request/answer messages. */
class SendingThread {
  readonly worker: Worker;
  #pending: { resolve: (m: FromThread) => void; reject: (e: Error) => void } | null = null;
  #failure: Error | null = null;

  constructor(index: number) {
    this.worker = new Worker(THREAD_URL);
    this.worker.on('message', (m: FromThread) => {
      if (m.kind === 'failed') this.#settle(new Error(`sending thread ${index} failed: ${m.error}`), null);
      else this.#settle(null, m);
    });
    this.worker.on('error', (err) => this.#settle(new Error(`sending thread ${index} failed: ${err.stack ?? err.message}`), null));
    this.worker.on('exit', (code) => this.#settle(new Error(`sending thread ${index} exited (code ${code})`), null));
  }

  /** Posts `m` and resolves with the thread's answer. */
  request(m: ToThread): Promise<FromThread> {
    if (this.#failure !== null) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      this.#pending = { resolve, reject };
      this.worker.postMessage(m);
    });
  }

  #settle(error: Error | null, m: FromThread | null): void {
    if (error !== null) this.#failure ??= error;
    const p = this.#pending;
    this.#pending = null;
    if (p === null) return;
    if (error !== null) p.reject(error);
    else p.resolve(m!);
  }
}

function openGate(gate: SharedArrayBuffer): void {
  const word = new Int32Array(gate);
  Atomics.store(word, 0, 1);
  Atomics.notify(word, 0);
}

function nowAbs(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * Measured figures between two readings of the counters.
 * @param notSent - records of the phase(s) never handed to `send` (a broken setup gave up): failed
 */
function totalsBetween(from: ThreadTotals, to: ThreadTotals, startAbs: number, histogram: LatencyHistogram, notSent: number): RunTotals {
  const acked = to.acked - from.acked;
  const appended = to.appended - from.appended;
  const bytes = to.bytes - from.bytes;
  const endAbs = to.lastAckMs > startAbs ? to.lastAckMs : nowAbs();
  return {
    records: acked,
    errors: to.failed - from.failed + notSent,
    // Exact when every record was acknowledged; else the mean record size of the phase.
    bytes: acked === appended ? bytes : appended > 0 ? (acked * bytes) / appended : 0,
    elapsedMs: Math.max(0, endAbs - startAbs),
    latencyMs: histogram.summary(),
  };
}

/**
 * Runs the workload on `threads` threads in the given model, with the hooks of
 * {@link runPerf} (windows, steady state, progress, stop).
 * @throws Error when a thread fails, or memory is not returned to the pool at the end
 */
export async function runThreaded(opts: ThreadedRunOptions, hooks: PerfRunHooks = {}): Promise<ThreadedRunResult> {
  const { model, threads: n, workload: w, config } = opts;
  const input = opts.input;
  const stats = ThreadStats.create(n);
  const ownerRow = stats.ownerRow;
  let network: InMemoryCluster | null = null;
  let owner: Producer | null = null;
  let pool: BufferPool | null = null;
  let brokerMs = 0;
  if (model === 'shared') {
    if (config.bootstrapServers.length === 0) {
      network = new InMemoryCluster({
        brokers: w.brokers,
        topics: { [w.topic]: w.partitions },
        retainLog: false,
        maxInFlightRequestsPerConnection: config.maxInFlightRequestsPerConnection,
      });
      const brokers = network.brokers;
      const produce = brokers.produce.bind(brokers);
      brokers.produce = (...a: Parameters<typeof produce>) => {
        const t = performance.now();
        try {
          return produce(...a);
        } finally {
          brokerMs += performance.now() - t;
        }
      };
    }
    owner = new Producer({
      config: input,
      ...(network === null ? {} : { network }),
      batchListener: (batch, error) => stats.addCompleted(ownerRow, batch.recordCount, error !== null),
    });
  } else {
    pool = new BufferPool({ totalMemoryBytes: config.bufferMemory, poolableSizeBytes: config.batchSize });
  }
  const handle = owner === null ? null : owner.shareable({ maxAppenders: n + 1 });
  const threads = Array.from({ length: n }, (_, t) => new SendingThread(t));
  if (owner !== null) for (const t of threads) owner.watch(t.worker);
  const values = packPool(w.values);
  const keys = w.keys === null ? null : packPool(w.keys);

  let timer: NodeJS.Timeout | null = null;
  try {
    await Promise.all(
      threads.map((t, thread) => {
        const setup: ThreadSetup = {
          kind: 'setup',
          model,
          thread,
          stats: stats.buffer,
          handle,
          pool: pool === null ? null : pool.sharedBuffer,
          config: input,
          embedded: config.bootstrapServers.length === 0 ? { brokers: w.brokers, partitions: w.partitions } : null,
          topic: w.topic,
          values,
          keys,
          monotonic: w.monotonic,
          seed: (w.seed ^ 0x7ec0) + thread * 0x9e3779b9,
          latencyEvery: LATENCY_SAMPLE_EVERY,
        };
        return t.request(setup);
      }),
    );

    // Windows and progress, read from the shared counters; Ctrl-C reaches the threads here.
    let last = stats.totals();
    let windowStartMs = performance.now();
    let nextWindowMs = windowStartMs + w.reportingIntervalMs;
    let nextProgressMs = 0;
    const takeWindow = (): void => {
      const now = stats.totals();
      const records = now.acked - last.acked;
      const samples = now.latencySamples - last.latencySamples;
      const meanLatency = samples > 0 ? (now.latencySumMs - last.latencySumMs) / samples : 0;
      const appended = now.appended - last.appended;
      const t = performance.now();
      const window = {
        records,
        bytes: appended > 0 ? (records * (now.bytes - last.bytes)) / appended : records * (now.appended > 0 ? now.bytes / now.appended : 0),
        elapsedMs: t - windowStartMs,
        latencySumMs: meanLatency * records,
        latencyMaxMs: stats.takeWindowMax(),
      };
      last = now;
      windowStartMs = t;
      nextWindowMs = t + w.reportingIntervalMs;
      hooks.onWindow?.(window);
    };
    timer = setInterval(() => {
      const t = performance.now();
      if (!stats.stopped && hooks.shouldStop?.() === true) stats.stop();
      if (t >= nextWindowMs) takeWindow();
      if (hooks.onProgress !== undefined && t >= nextProgressMs) {
        hooks.onProgress(stats.totals().appended);
        nextProgressMs = t + 100;
      }
    }, TICK_MS);

    /** One phase: every thread's share, from one gate; resolves with the reports. */
    const phase = async (records: number, firstIndex: number): Promise<{ reports: ThreadPhaseReport[]; startAbs: number; startMs: number }> => {
      const gate = new SharedArrayBuffer(4);
      const shares = splitRecords(records, n);
      let first = firstIndex;
      const answers = threads.map((t, thread) => {
        const share = shares[thread];
        const m: ToThread = { kind: 'phase', gate, records: share, firstIndex: first, throughput: w.throughput > 0 ? w.throughput / n : -1 };
        first += share;
        return t.request(m);
      });
      // Every thread is at the gate (or about to wait there) once it has the message; a
      // thread that is late only starts late, it cannot miss the gate.
      const startAbs = nowAbs();
      const startMs = performance.now();
      openGate(gate);
      const reports = (await Promise.all(answers)) as ThreadPhaseReport[];
      return { reports, startAbs, startMs };
    };

    const wholeHistogram = new LatencyHistogram();
    const base = stats.totals();
    let wholeStartAbs = nowAbs();
    let interrupted = false;
    let firstError: string | null = null;
    const collect = (reports: ThreadPhaseReport[]): LatencyHistogram => {
      const h = new LatencyHistogram();
      for (const r of reports) {
        h.add(LatencyHistogram.fromState(r.latency));
        firstError ??= r.firstError;
        if (r.stopped) interrupted = true;
      }
      wholeHistogram.add(h);
      return h;
    };

    if (w.warmupRecords > 0) {
      const warm = await phase(w.warmupRecords, 0);
      wholeStartAbs = warm.startAbs;
      collect(warm.reports);
      // The warm-up's last partial window is dropped: windows restart with measuring.
      if (!interrupted) {
        stats.takeWindowMax();
        last = stats.totals();
        windowStartMs = performance.now();
        nextWindowMs = windowStartMs + w.reportingIntervalMs;
        hooks.onSteadyState?.();
      }
    }
    const measuredBase = stats.totals();
    let measured: { reports: ThreadPhaseReport[]; startAbs: number; startMs: number } | null = null;
    let ownerCost: OwnerCost | null = null;
    let histogram = new LatencyHistogram();
    if (!interrupted) {
      const adopted0 = owner?.shared?.adopted ?? 0;
      const elu0 = performance.eventLoopUtilization();
      brokerMs = 0;
      measured = await phase(w.numRecords - w.warmupRecords, w.warmupRecords);
      const wallMs = performance.now() - measured.startMs;
      const elu = performance.eventLoopUtilization(elu0);
      histogram = collect(measured.reports);
      if (owner !== null) {
        const batches = (owner.shared?.adopted ?? 0) - adopted0;
        const busyMs = Math.max(0, elu.active - brokerMs);
        ownerCost = { batches, busyMs, brokerMs, coreShare: wallMs > 0 ? busyMs / wallMs : 0, usPerBatch: batches > 0 ? (busyMs * 1000) / batches : 0 };
      }
      if (!interrupted) hooks.onProgress?.(w.numRecords);
    }
    clearInterval(timer);
    timer = null;
    const end = stats.totals();
    const measuredStartAbs = measured?.startAbs ?? nowAbs();
    const appended = end.appended - base.appended;
    // As perf-run.ts: records a thread gave up on (nothing accepted) count as failed; a stopped run's do not.
    const notSent = interrupted ? 0 : Math.max(0, w.numRecords - appended);
    const totals = totalsBetween(measuredBase, end, measuredStartAbs, histogram, notSent);
    const wholeRun = totalsBetween(base, end, wholeStartAbs, wholeHistogram, notSent);
    const metrics = owner === null ? undefined : { ...owner.metrics(), ...(network === null ? {} : { cluster: network.stats() }) };

    const memory = owner?.accumulator.pool ?? pool!;
    await Promise.all(threads.map((t) => t.request({ kind: 'close' })));
    await owner?.close();
    owner = null;
    await network?.close();
    if (memory.availableMemory() !== memory.totalMemory) {
      throw new Error(`pool memory not returned after close: ${memory.availableMemory()} of ${memory.totalMemory} bytes available`);
    }
    return {
      engine: model === 'shared' ? 'sluice' : 'per-thread',
      model,
      threads: n,
      totals,
      wholeRun,
      appended,
      interrupted,
      firstError: firstError === null ? null : new Error(firstError),
      metrics,
      owner: ownerCost,
      latencySamples: histogram.count,
    };
  } finally {
    if (timer !== null) clearInterval(timer);
    // A failed run: give up on what is still in flight.
    await owner?.close({ timeoutMs: 0 }).catch(() => undefined);
    await Promise.all(threads.map((t) => t.worker.terminate()));
    pool?.close();
  }
}
