/**
 * The measured loop of sluice-perf, shared by Sluice and by every peer: it sends the
 * workload's records through a {@link PerfEngine} at the asked throughput and measures, for
 * every record, the time from the append call to the acknowledgement of its batch.
 *
 * Hot-path rules: nothing is allocated per record — records come from pre-generated pools
 * (workload.ts), the engine's append returns a number unless it must wait (then, and only
 * then, a promise is awaited), and the latency bookkeeping is an increment on the open run
 * (below). A record's append time is taken BEFORE the append, so time spent waiting for
 * memory counts in its latency, as in Kafka's tool (which times from before `send`).
 *
 * Latency, per record (every record is measured; none is sampled away). Scheme:
 *   - The clock (`performance.now()`, ~60 ns here) is read once every 16 appends, not per
 *     append: a record's append time is the last reading at or before its append, at most
 *     16 appends earlier (~5 us at 3M records/s), so latencies are over-, never
 *     under-stated. The ack time is read once per completed batch.
 *   - Appended records go into their partition's FIFO as RUNS: consecutive records of one
 *     partition with the same append-time reading are one entry (time, count, bytes). With
 *     sticky partitioning a run is up to 16 records, so the per-record cost is an increment.
 *     A run is pushed before any await (a memory wait, the yield after a chunk), so a run
 *     in the FIFO never misses records that were appended.
 *   - When a batch of partition p completes with n records, those records are the n oldest
 *     still in p's FIFO: a producer fills a partition's batches in append order and, with
 *     no retries, completes them in that order (a request holds at most one batch per
 *     partition; the in-memory cluster answers a node's requests in order). n records are
 *     popped (splitting a run if needed; its bytes are split pro rata, exact for fixed-size
 *     records) and each run's latency (ack time - append time) goes into the histogram
 *     with the run's count. Under retries two batches of a partition can complete out of
 *     order; their records' latencies are then attributed to each other (counts stay exact).
 * Harness cost, measured with a no-op engine on the 2-core dev machine: 42 ns per record
 * (23.5M records/s) with a FIFO entry per record, 21 ns (47.6M records/s) with runs — the
 * record choice, the loop and the engine call included. Memory: 20 bytes per run in flight.
 */
import { LatencyHistogram } from './latency-histogram.js';
import type { RunTotals, WindowStats } from './report.js';
import type { Workload } from './workload.js';

/**
 * A producer under test. The loop calls `append` for every record, yields to the event loop
 * between chunks (the engine's sender, network and acknowledgements run there), then
 * `finish`. The engine reports each completed batch to the {@link LatencyTracker} it was
 * given (`tracker.onBatchDone(partition, recordCount, error)`).
 */
export interface PerfEngine {
  /** Name in tables ("sluice", "kafkajs"). */
  readonly name: string;
  /**
   * Sends one record; the engine partitions it (keyed: murmur2 of the key; unkeyed: sticky,
   * KIP-794) and returns the partition, synchronously unless it must wait (memory,
   * in-flight limit) — then a promise of it, which the loop awaits before the next record.
   * @param poolIndex - index of the record's key/value in the workload pools
   * @param timestampMs - the record's timestamp (CreateTime)
   * @throws for a record that can never be sent (the loop counts it as an error)
   */
  append(poolIndex: number, timestampMs: number): number | Promise<number>;
  /** Makes everything appended so far sendable now (the end of the warm-up waits for it). */
  flush(): void;
  /** Sends what is left, waits for every acknowledgement, and releases resources. */
  finish(): Promise<void>;
  /**
   * Gives up on everything not yet acknowledged (an interrupted run whose tail takes too
   * long): what is outstanding fails and `finish` settles soon after. Optional.
   */
  abort?(): Promise<void>;
  /** Engine-specific figures for `--print-metrics` / JSON (optional). */
  metrics?(): Record<string, unknown>;
}

/** Per-partition FIFO of runs of in-flight records: append time, record count, bytes. */
class PartitionFifo {
  times = new Float64Array(256);
  counts = new Int32Array(256);
  bytes = new Float64Array(256);
  head = 0;
  tail = 0;
  mask = 255;
  /** Records in the FIFO. */
  records = 0;

  push(t: number, count: number, bytes: number): void {
    if (this.tail - this.head > this.mask) this.#grow();
    const i = this.tail & this.mask;
    this.times[i] = t;
    this.counts[i] = count;
    this.bytes[i] = bytes;
    this.tail++;
    this.records += count;
  }

  #grow(): void {
    const n = this.times.length * 2;
    const times = new Float64Array(n);
    const counts = new Int32Array(n);
    const bytes = new Float64Array(n);
    const count = this.tail - this.head;
    for (let k = 0; k < count; k++) {
      const i = (this.head + k) & this.mask;
      times[k] = this.times[i];
      counts[k] = this.counts[i];
      bytes[k] = this.bytes[i];
    }
    this.times = times;
    this.counts = counts;
    this.bytes = bytes;
    this.head = 0;
    this.tail = count;
    this.mask = n - 1;
  }
}

/**
 * Latency and throughput bookkeeping for one run (see the file comment). Records appended
 * during the warm-up carry their append time encoded as `-(t + 1)` (negative): they count in
 * the whole-run figures (Kafka's first summary line) but not in the measured ones.
 */
export class LatencyTracker {
  /** Latencies of the measured records (after the warm-up). */
  readonly histogram = new LatencyHistogram();
  /** Latencies of every record, warm-up included (the whole-run line). */
  readonly wholeHistogram = new LatencyHistogram();
  readonly #fifos: PartitionFifo[] = [];
  /** Measured records acknowledged. */
  completed = 0;
  /** Records (warm-up included) acknowledged or failed. */
  settled = 0;
  /** Measured records that failed. */
  errors = 0;
  /** Key + value bytes of measured acknowledged records. */
  bytes = 0;
  /** Records acknowledged, warm-up included. */
  wholeCompleted = 0;
  /** Key + value bytes of every acknowledged record. */
  wholeBytes = 0;
  /** Records that failed, warm-up included. */
  wholeErrors = 0;
  /** Time of the last acknowledgement (performance.now ms). */
  lastAckMs = 0;
  /** First error seen, for the report. */
  firstError: Error | null = null;
  #windowRecords = 0;
  #windowBytes = 0;
  #windowLatencySum = 0;
  #windowLatencyMax = 0;
  #windowStartMs = performance.now();

  constructor(partitions: number) {
    for (let p = 0; p < partitions; p++) this.#fifos.push(new PartitionFifo());
  }

  /**
   * `count` records of `bytes` key+value bytes in all were appended to `partition`, in
   * order, at `appendMs` (negative: warm-up, encoded as `-(t + 1)`).
   */
  onAppendRun(partition: number, appendMs: number, count: number, bytes: number): void {
    this.#fifos[partition].push(appendMs, count, bytes);
  }

  /**
   * A batch of `partition` with `recordCount` records completed (error null: acknowledged).
   * Bound to the instance, so it can be handed out as a listener.
   */
  readonly onBatchDone = (partition: number, recordCount: number, error: Error | null): void => {
    const now = performance.now();
    const f = this.#fifos[partition];
    const h = this.histogram;
    const all = this.wholeHistogram;
    let left = recordCount <= f.records ? recordCount : f.records;
    f.records -= left;
    this.settled += left;
    let measured = 0;
    let bytes = 0;
    let whole = 0;
    let wholeBytes = 0;
    let sum = 0;
    let max = this.#windowLatencyMax;
    while (left > 0) {
      const i = f.head & f.mask;
      const runCount = f.counts[i];
      let take = runCount;
      let runBytes = f.bytes[i];
      if (runCount > left) {
        // Split the run: the batch ends inside it.
        take = left;
        const takenBytes = (runBytes * take) / runCount;
        f.counts[i] = runCount - take;
        f.bytes[i] = runBytes - takenBytes;
        runBytes = takenBytes;
      } else {
        f.head++;
      }
      left -= take;
      let t = f.times[i];
      const warmup = t < 0;
      if (warmup) t = -t - 1;
      else measured += take;
      whole += take;
      if (error === null) {
        const latency = now - t;
        all.recordMany(latency, take);
        if (!warmup) {
          h.recordMany(latency, take);
          bytes += runBytes;
        }
        sum += latency * take;
        if (latency > max) max = latency;
        wholeBytes += runBytes;
      }
    }
    if (error === null) {
      this.completed += measured;
      this.bytes += bytes;
      this.wholeCompleted += whole;
      this.wholeBytes += wholeBytes;
      this.#windowRecords += whole;
      this.#windowBytes += wholeBytes;
      this.#windowLatencySum += sum;
      this.#windowLatencyMax = max;
      this.lastAckMs = now;
    } else {
      this.errors += measured;
      this.wholeErrors += whole;
      this.firstError ??= error;
    }
  };

  /** The window since the last call (Kafka prints one every 5 s), and starts a new one. */
  takeWindow(): WindowStats {
    const now = performance.now();
    const w: WindowStats = {
      records: this.#windowRecords,
      bytes: this.#windowBytes,
      elapsedMs: now - this.#windowStartMs,
      latencySumMs: this.#windowLatencySum,
      latencyMaxMs: this.#windowLatencyMax,
    };
    this.#windowRecords = 0;
    this.#windowBytes = 0;
    this.#windowLatencySum = 0;
    this.#windowLatencyMax = 0;
    this.#windowStartMs = now;
    return w;
  }

  /** Records appended and not yet settled. */
  inFlight(): number {
    let n = 0;
    for (const f of this.#fifos) n += f.records;
    return n;
  }
}

/** What the loop reports while it runs. */
export interface PerfRunHooks {
  /** Every `reportingIntervalMs`: the window's figures (Kafka's 5-second line). */
  onWindow?(w: WindowStats): void;
  /** Once, when the warm-up is over and measuring starts (Kafka prints "In steady state."). */
  onSteadyState?(): void;
  /** About every 100 ms: records appended so far. */
  onProgress?(appended: number): void;
  /**
   * Asked between chunks: true stops sending (Ctrl-C); what was sent is still waited for,
   * for at most `stopGraceMs`, then the engine is aborted.
   */
  shouldStop?(): boolean;
  /** How long an interrupted run waits for what it sent (default 3000 ms). */
  stopGraceMs?: number;
}

/** A finished run. */
export interface PerfRunResult {
  engine: string;
  /** The measured records (after the warm-up). */
  totals: RunTotals;
  /** Every record, warm-up included: Kafka's whole-run line (same as `totals` without warm-up). */
  wholeRun: RunTotals;
  /** Records appended (= numRecords unless the run failed or was stopped). */
  appended: number;
  /** Stopped by `shouldStop` before every record was sent. */
  interrupted: boolean;
  firstError: Error | null;
  metrics: Record<string, unknown> | undefined;
}

/** Appends between two yields to the event loop (the sender and the acks run in between). */
export const CHUNK_RECORDS = 2048;
/** Longest wait for the warm-up records' acknowledgements. */
const WARMUP_SETTLE_LIMIT_MS = 60_000;
/** Appends between two clock readings. */
const CLOCK_EVERY = 16;

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Runs the workload through `makeEngine`'s engine and measures it.
 * @param makeEngine - builds the engine around the tracker it must report completions to
 */
export async function runPerf(
  w: Workload,
  makeEngine: (tracker: LatencyTracker) => Promise<PerfEngine> | PerfEngine,
  hooks: PerfRunHooks = {},
): Promise<PerfRunResult> {
  const tracker = new LatencyTracker(w.partitions);
  const engine = await makeEngine(tracker);
  const total = w.numRecords;
  const warmup = w.warmupRecords;
  const values = w.values;
  const poolSize = values.length;
  const recordBytes = w.recordBytes;
  const keys = w.keys;
  const monotonic = w.monotonic;
  const throughput = w.throughput;
  const timeOrigin = performance.timeOrigin;

  // Record selection: mulberry32, inlined (the same sequence for every engine).
  let rng = (w.seed ^ 0x7ec0) >>> 0;

  let measureStartMs = -1;
  /** Records the producer accepted (appended), to tell a broken setup from a fail-fast one. */
  let accepted = 0;
  let interrupted = false;
  let nextWindowMs = Infinity;
  let nextProgressMs = 0;
  let i = 0;
  let now = performance.now();
  const startMs = now;
  tracker.takeWindow();
  nextWindowMs = now + w.reportingIntervalMs;
  if (warmup === 0) measureStartMs = now;

  while (i < total) {
    now = performance.now();
    if (now >= nextWindowMs) {
      hooks.onWindow?.(tracker.takeWindow());
      nextWindowMs = now + w.reportingIntervalMs;
    }
    if (hooks.onProgress !== undefined && now >= nextProgressMs) {
      hooks.onProgress(i);
      nextProgressMs = now + 100;
    }
    if (hooks.shouldStop?.() === true) {
      interrupted = true;
      break;
    }
    let end = i + CHUNK_RECORDS < total ? i + CHUNK_RECORDS : total;
    if (warmup > 0 && i < warmup && end > warmup) end = warmup;
    if (throughput > 0) {
      // Kafka's ThroughputThrottler: sleep when ahead of the target rate.
      const base = measureStartMs >= 0 ? measureStartMs : startMs;
      const sent = measureStartMs >= 0 ? i - warmup : i;
      const allowed = Math.floor(((now - base) * throughput) / 1000) + 1;
      if (sent >= allowed) {
        await sleep(Math.max(1, ((sent + 1) * 1000) / throughput - (now - base)));
        continue;
      }
      if (end - i > allowed - sent) end = i + (allowed - sent);
    }
    const measuring = i >= warmup;
    // Warm-up records carry -(t + 1): counted in the whole run only (see LatencyTracker).
    let t = measuring ? now : -now - 1;
    let tsMs = Math.floor(timeOrigin + now);
    // The open run: records of partition runP appended at reading runT (see the file comment).
    let runP = -1;
    let runT = 0;
    let runCount = 0;
    let runBytes = 0;
    for (; i < end; i++) {
      if ((i & (CLOCK_EVERY - 1)) === 0) {
        const c = performance.now();
        t = measuring ? c : -c - 1;
        tsMs = Math.floor(timeOrigin + c);
      }
      let j: number;
      if (monotonic) {
        // Kafka's --payload-monotonic: the value is the record's index. A fresh buffer per
        // record (an engine may still hold the previous one of this pool entry).
        j = i % poolSize;
        const value = Buffer.from(String(i), 'latin1');
        values[j] = value;
        recordBytes[j] = value.length + (keys === null ? 0 : keys[j].length);
      } else {
        rng = (rng + 0x6d2b79f5) | 0;
        let x = rng;
        x = Math.imul(x ^ (x >>> 15), x | 1);
        x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
        j = ((x ^ (x >>> 14)) & 0x7fffffff) % poolSize;
      }
      let p: number;
      try {
        const r = engine.append(j, tsMs);
        if (typeof r === 'number') {
          p = r;
        } else {
          // Waiting: the records before this one must be in the FIFO before anything completes.
          if (runCount > 0) tracker.onAppendRun(runP, runT, runCount, runBytes);
          runCount = 0;
          runP = -1;
          p = await r;
        }
      } catch (err) {
        if (measuring) tracker.errors++;
        tracker.wholeErrors++;
        tracker.firstError ??= err as Error;
        // Give up only when nothing at all is accepted (a broken setup), not when a fail-fast
        // producer (max.block.ms=0) rejects records while its memory is in flight. Step past
        // this record first: it is already counted.
        if (tracker.wholeErrors > 1000 && accepted === 0) {
          i++;
          break;
        }
        continue;
      }
      accepted++;
      if (p === runP && t === runT) {
        runCount++;
        runBytes += recordBytes[j];
      } else {
        if (runCount > 0) tracker.onAppendRun(runP, runT, runCount, runBytes);
        runP = p;
        runT = t;
        runCount = 1;
        runBytes = recordBytes[j];
      }
    }
    if (runCount > 0) tracker.onAppendRun(runP, runT, runCount, runBytes);
    if (tracker.wholeErrors > 1000 && accepted === 0) break;
    if (i === warmup && measureStartMs < 0) {
      // Warm-up done: wait for its records, then start measuring from a clean state.
      engine.flush();
      const waitStartMs = performance.now();
      while (tracker.settled < accepted) {
        if (hooks.shouldStop?.() === true) break;
        if (performance.now() - waitStartMs > WARMUP_SETTLE_LIMIT_MS) {
          throw new Error(`${engine.name}: ${accepted - tracker.settled} of ${warmup} warm-up records not acknowledged after ${WARMUP_SETTLE_LIMIT_MS} ms`);
        }
        await sleep(1);
      }
      measureStartMs = performance.now();
      // The warm-up's last partial window is dropped: windows restart with measuring.
      tracker.takeWindow();
      nextWindowMs = measureStartMs + w.reportingIntervalMs;
      hooks.onSteadyState?.();
    }
    await yieldToEventLoop();
  }
  hooks.onProgress?.(i);
  // Keep printing windows while the tail is acknowledged.
  const timer =
    hooks.onWindow === undefined
      ? null
      : setInterval(() => {
          if (performance.now() >= nextWindowMs) {
            hooks.onWindow!(tracker.takeWindow());
            nextWindowMs = performance.now() + w.reportingIntervalMs;
          }
        }, 50);
  try {
    if (interrupted && engine.abort !== undefined) {
      // Ctrl-C: deliver what was sent if that is quick, else give up on it.
      const finished = engine.finish();
      const graceMs = hooks.stopGraceMs ?? 3000;
      let graceTimer: NodeJS.Timeout | undefined;
      const inTime = await Promise.race([
        finished.then(() => true),
        new Promise<boolean>((resolve) => {
          graceTimer = setTimeout(() => resolve(false), graceMs);
        }),
      ]);
      clearTimeout(graceTimer);
      if (!inTime) {
        await engine.abort();
        await finished.catch(() => undefined);
      }
    } else {
      await engine.finish();
    }
  } finally {
    if (timer !== null) clearInterval(timer);
  }
  const endMs = tracker.lastAckMs > 0 ? tracker.lastAckMs : performance.now();
  const notSent = i < total && !interrupted ? total - i : 0;
  const measuredStart = measureStartMs >= 0 ? measureStartMs : endMs;
  return {
    engine: engine.name,
    appended: i,
    interrupted,
    firstError: tracker.firstError,
    metrics: engine.metrics?.(),
    totals: {
      records: tracker.completed,
      errors: tracker.errors + notSent,
      bytes: tracker.bytes,
      elapsedMs: Math.max(0, endMs - measuredStart),
      latencyMs: tracker.histogram.summary(),
    },
    wholeRun: {
      records: tracker.wholeCompleted,
      errors: tracker.wholeErrors + notSent,
      bytes: tracker.wholeBytes,
      elapsedMs: endMs - startMs,
      latencyMs: tracker.wholeHistogram.summary(),
    },
  };
}
