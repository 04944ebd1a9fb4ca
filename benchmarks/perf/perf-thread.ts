/**
 * A sending thread of `sluice-perf --threads N` (started by threaded-run.ts; the protocol is
 * in thread-protocol.ts). Its sender is, by the run's model:
 * - `shared`: an appender of the one producer on the main thread (`Producer.attach(handle)`):
 *   it encodes records straight into the owner's batches in shared memory;
 * - `per-thread`: a whole `Producer` of its own — its own accumulator, sender, producer id and
 *   connections (its own embedded cluster, or its own connections to the broker) — over the
 *   buffer pool every thread shares (`BufferPool.attach`).
 *
 * The loop is perf-run.ts's, cut down to what a thread can know: the records come from the
 * run's pools (posted once), chosen by a seeded generator; the no-promise path
 * `send(record, null)`, awaiting only when a send waits; a yield to the event loop every
 * 2048 records (completions run there); the `--throughput` share of this thread, throttled
 * as Kafka's tool throttles. Latency is SAMPLED: every `latencyEvery`-th record carries a
 * callback that times it from just before `send` to its acknowledgement (an appender hears
 * nothing per batch, so per-record latency needs a callback; sampling keeps that off the
 * hot path). The acknowledged and failed counts are exact: the owner's batch listener counts
 * them (shared), or this thread's producer's (per-thread); records `send` refuses are
 * counted here.
 */
import { parentPort } from 'node:worker_threads';
import { BufferPool, InMemoryCluster, Producer, resolveConfig, seededRandom } from '@sluice/core';
import type { RecordCallback, SluiceError } from '@sluice/core';
import { LatencyHistogram } from './latency-histogram.js';
import { ThreadStats } from './thread-stats.js';
import type { FromThread, ThreadPhase, ThreadPhaseReport, ThreadSetup, ToThread } from './thread-protocol.js';
import { unpackPool } from './thread-protocol.js';

/** The record object reused for every send. */
interface MutableRecord {
  topic: string;
  key: Buffer | null;
  value: Buffer | null;
  timestamp: number;
}

/** What the loop sends through: an appender or a producer. */
interface ThreadSender {
  send(record: MutableRecord, callback: RecordCallback | null): Promise<SluiceError | null> | undefined;
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** Records between two yields to the event loop (as perf-run.ts). */
const CHUNK_RECORDS = 2048;
/** Appends between two clock readings for the records' timestamps. */
const CLOCK_EVERY = 16;
/** Refusals with nothing accepted after which the setup is taken to be broken. */
const BROKEN_AFTER = 1000;

const port = parentPort;
if (port === null) throw new Error('perf-thread runs as a worker thread (see threaded-run.ts)');

function post(m: FromThread): void {
  port!.postMessage(m);
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A thread's sender and the run's records, built from the setup message. */
class PerfThread {
  readonly #setup: ThreadSetup;
  readonly #stats: ThreadStats;
  readonly #sender: ThreadSender;
  readonly #network: InMemoryCluster | null;
  readonly #values: Buffer[];
  readonly #keys: Buffer[] | null;
  readonly #recordBytes: Int32Array;
  readonly #next: () => number;
  /** The phase's histogram (a phase's callbacks all run before its flush resolves). */
  #histogram = new LatencyHistogram();
  readonly #onSample = (t0: number): RecordCallback => (err) => {
    if (err !== null) return; // counted with its batch
    const ms = performance.now() - t0;
    this.#histogram.record(ms);
    this.#stats.addLatency(this.#setup.thread, ms);
  };

  constructor(setup: ThreadSetup) {
    this.#setup = setup;
    this.#stats = new ThreadStats(setup.stats);
    this.#values = unpackPool(setup.values);
    this.#keys = setup.keys === null ? null : unpackPool(setup.keys);
    this.#recordBytes = new Int32Array(this.#values.length);
    for (let i = 0; i < this.#values.length; i++) this.#recordBytes[i] = this.#values[i].length + (this.#keys === null ? 0 : this.#keys[i].length);
    this.#next = seededRandom(setup.seed);
    if (setup.model === 'shared') {
      const appender = Producer.attach(setup.handle!);
      this.#network = null;
      this.#sender = appender;
    } else {
      const config = resolveConfig(setup.config);
      this.#network =
        setup.embedded === null
          ? null
          : new InMemoryCluster({
              brokers: setup.embedded.brokers,
              topics: { [setup.topic]: setup.embedded.partitions },
              retainLog: false,
              maxInFlightRequestsPerConnection: config.maxInFlightRequestsPerConnection,
            });
      const row = setup.thread;
      const stats = this.#stats;
      this.#sender = new Producer({
        config: setup.config,
        pool: BufferPool.attach(setup.pool!),
        ...(this.#network === null ? {} : { network: this.#network }),
        batchListener: (batch, error) => stats.addCompleted(row, batch.recordCount, error !== null),
      });
    }
  }

  /** Waits at the phase's gate, sends the phase's records, flushes them and reports. */
  async run(phase: ThreadPhase): Promise<ThreadPhaseReport> {
    const stats = this.#stats;
    const row = this.#setup.thread;
    const sender = this.#sender;
    const values = this.#values;
    const keys = this.#keys;
    const recordBytes = this.#recordBytes;
    const poolSize = values.length;
    const monotonic = this.#setup.monotonic;
    const every = this.#setup.latencyEvery;
    const throughput = phase.throughput;
    const total = phase.records;
    const timeOrigin = performance.timeOrigin;
    const record: MutableRecord = { topic: this.#setup.topic, key: null, value: null, timestamp: 0 };
    this.#histogram = new LatencyHistogram();
    let refused = 0;
    let accepted = 0;
    let firstError: string | null = null;
    let stopped = false;
    let countdown = 1;
    Atomics.wait(new Int32Array(phase.gate), 0, 0);
    const startMs = performance.now();
    let i = 0;
    while (i < total) {
      if (stats.stopped) {
        stopped = true;
        break;
      }
      let end = i + CHUNK_RECORDS < total ? i + CHUNK_RECORDS : total;
      if (throughput > 0) {
        // Kafka's ThroughputThrottler, on this thread's share of the cap.
        const elapsed = performance.now() - startMs;
        const allowed = Math.floor((elapsed * throughput) / 1000) + 1;
        if (i >= allowed) {
          await new Promise((resolve) => setTimeout(resolve, Math.max(1, ((i + 1) * 1000) / throughput - elapsed)));
          continue;
        }
        if (end > allowed) end = allowed;
      }
      const chunkStart = i;
      let chunkBytes = 0;
      for (; i < end; i++) {
        if ((i & (CLOCK_EVERY - 1)) === 0) record.timestamp = Math.floor(timeOrigin + performance.now());
        let j: number;
        if (monotonic) {
          // A fresh buffer per record: the producer may still hold the previous one.
          j = (phase.firstIndex + i) % poolSize;
          record.value = Buffer.from(String(phase.firstIndex + i), 'latin1');
          chunkBytes += record.value.length + (keys === null ? 0 : keys[j].length);
        } else {
          j = Math.floor(this.#next() * poolSize);
          record.value = values[j];
          chunkBytes += recordBytes[j];
        }
        record.key = keys === null ? null : keys[j];
        let wait: Promise<SluiceError | null> | undefined;
        try {
          if (--countdown === 0) {
            countdown = every;
            wait = sender.send(record, this.#onSample(performance.now()));
          } else {
            wait = sender.send(record, null);
          }
        } catch (err) {
          refused++;
          firstError ??= describe(err);
          stats.addCompleted(row, 1, true);
          if (refused > BROKEN_AFTER && accepted === 0) {
            i++;
            break;
          }
          continue;
        }
        if (wait !== undefined) {
          const err = await wait;
          if (err !== null) {
            refused++;
            firstError ??= err.message;
            stats.addCompleted(row, 1, true);
            continue;
          }
        }
        accepted++;
      }
      stats.addAppended(row, i - chunkStart, chunkBytes);
      if (refused > BROKEN_AFTER && accepted === 0) break;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    await sender.flush();
    return { kind: 'report', appended: i, refused, firstError, latency: this.#histogram.toState(), stopped };
  }

  async close(): Promise<void> {
    await this.#sender.close();
    await this.#network?.close();
  }
}

let thread: PerfThread | null = null;

port.on('message', (m: ToThread) => {
  const handle = async (): Promise<FromThread> => {
    switch (m.kind) {
      case 'setup':
        thread = new PerfThread(m);
        return { kind: 'ready' };
      case 'phase':
        return thread!.run(m);
      case 'close':
        await thread?.close();
        return { kind: 'closed' };
    }
  };
  handle().then(post, (err: unknown) => post({ kind: 'failed', error: err instanceof Error ? (err.stack ?? err.message) : String(err) }));
});
