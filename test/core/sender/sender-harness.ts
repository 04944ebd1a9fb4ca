/**
 * Test harness for the sender: a producer on virtual time against the real
 * {@link InMemoryCluster}, seen through {@link RecordingNetwork} — a pass-through decorator
 * (not a mock: every call goes to the real cluster) that notes what each produce request
 * carried and when, so tests can check "no batch sent after its delivery timeout",
 * sequence numbers and request pipelining.
 */
import { VirtualScheduler } from '../../../packages/core/src/embedded/virtual-scheduler.js';
import type { InMemoryClusterOptions } from '../../../packages/core/src/embedded/in-memory-cluster.js';
import { InMemoryCluster } from '../../../packages/core/src/embedded/in-memory-cluster.js';
import { seededRandom } from '../../../packages/core/src/embedded/seeded-random.js';
import type { ProducerConfigInput } from '../../../packages/core/src/config.js';
import { peekBatchHeader, readRecordBatches } from '../../../packages/core/src/format/record-batch-reader.js';
import { decompressRecords } from '../../../packages/core/src/compression/codecs.js';
import type { ProducerOptions } from '../../../packages/core/src/producer.js';
import { codecFor } from '../../../packages/core/src/compression/codecs.js';
import type { Codec } from '../../../packages/core/src/compression/codec.js';
import { SealError } from '../../../packages/core/src/errors.js';
import { sealBatch } from '../../../packages/core/src/sealing/seal-batch.js';
import type { SealJob, Sealer } from '../../../packages/core/src/sealing/sealer.js';
import type { Scheduler } from '../../../packages/core/src/clock.js';
import { Producer } from '../../../packages/core/src/producer.js';
import type {
  InitProducerIdResponse,
  MetadataRequest,
  MetadataResponse,
  NetworkClient,
  ProducePartitionResponse,
  ProduceRequest,
} from '../../../packages/core/src/network/network-client.js';

/** One partition batch of one produce request, as it left the producer. */
export interface SentBatch {
  readonly atMs: number;
  readonly requestId: number;
  readonly nodeId: number;
  readonly topic: string;
  readonly partition: number;
  readonly baseTimestamp: number;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly baseSequence: number;
  readonly recordCount: number;
  readonly sizeBytes: number;
  /** The first record's value (a copy), when {@link RecordingNetwork} decodes batches. */
  readonly firstValue: Buffer | null;
}

/** A {@link NetworkClient} that forwards everything to a real cluster and records the produce requests. */
export class RecordingNetwork implements NetworkClient {
  readonly sent: SentBatch[] = [];
  /** Produce requests in flight now, and the most seen at once, per node. */
  readonly inFlightNow = new Map<number, number>();
  readonly maxInFlight = new Map<number, number>();
  readonly inner: InMemoryCluster;
  readonly #scheduler: VirtualScheduler;
  #requests = 0;

  /** Decode each batch to note its first record's value (costs a decode per batch). */
  decodeFirstValue = false;

  constructor(inner: InMemoryCluster, scheduler: VirtualScheduler) {
    this.inner = inner;
    this.#scheduler = scheduler;
  }

  ready(nodeId: number): boolean {
    return this.inner.ready(nodeId);
  }

  setWakeupListener(listener: (() => void) | null): void {
    this.inner.setWakeupListener(listener);
  }

  inFlightRequests(nodeId: number): number {
    return this.inner.inFlightRequests(nodeId);
  }

  send(request: ProduceRequest): Promise<ProducePartitionResponse[]> {
    const requestId = ++this.#requests;
    const atMs = this.#scheduler.nowMs();
    for (const p of request.partitions) {
      const h = peekBatchHeader(new DataView(p.records.buffer, p.records.byteOffset, p.records.byteLength), 0);
      let firstValue: Buffer | null = null;
      if (this.decodeFirstValue) {
        const [batch] = readRecordBatches(p.records, { verifyCrc: true, decompress: decompressRecords });
        const v = batch.records[0]?.value;
        firstValue = v === null || v === undefined ? null : Buffer.from(v);
      }
      this.sent.push({
        firstValue,
        atMs,
        requestId,
        nodeId: request.nodeId,
        topic: p.topic,
        partition: p.partition,
        baseTimestamp: h.baseTimestamp,
        producerId: h.producerId,
        producerEpoch: h.producerEpoch,
        baseSequence: h.baseSequence,
        recordCount: h.recordsCount,
        sizeBytes: h.sizeBytes,
      });
    }
    const n = (this.inFlightNow.get(request.nodeId) ?? 0) + 1;
    this.inFlightNow.set(request.nodeId, n);
    this.maxInFlight.set(request.nodeId, Math.max(n, this.maxInFlight.get(request.nodeId) ?? 0));
    const settle = (): void => {
      this.inFlightNow.set(request.nodeId, this.inFlightNow.get(request.nodeId)! - 1);
    };
    const p = this.inner.send(request);
    p.then(settle, settle);
    return p;
  }

  fetchMetadata(request: MetadataRequest): Promise<MetadataResponse> {
    return this.inner.fetchMetadata(request);
  }

  initProducerId(): Promise<InitProducerIdResponse> {
    return this.inner.initProducerId();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** A producer, its cluster and virtual time. */
export interface Sim {
  readonly scheduler: VirtualScheduler;
  readonly cluster: InMemoryCluster;
  readonly network: RecordingNetwork;
  readonly producer: Producer;
  /** Runs virtual time until `condition` holds (or `maxMs` passes); returns whether it holds. */
  runUntil(condition: () => boolean, maxMs?: number): Promise<boolean>;
  /** Awaits `promise` while running virtual time (at most `maxMs`); throws if it did not settle. */
  settle<T>(promise: Promise<T>, maxMs?: number): Promise<T>;
}

/** Options of {@link makeSim}. */
export interface SimOptions {
  /** Producer settings; defaults: batchSize 1024, bufferMemory 64 KiB, lingerMs 5, small timeouts and backoffs. */
  readonly config?: ProducerConfigInput;
  /** Cluster options (scheduler is set); default 3 brokers, topic `t` with 3 partitions. */
  readonly cluster?: InMemoryClusterOptions;
  /** Seed of the jitter / partitioner randomness (default 1). */
  readonly seed?: number;
  /** More producer options. */
  readonly producer?: Omit<ProducerOptions, 'config' | 'network' | 'scheduler' | 'random'>;
  /** Builds the sealer on the simulation's scheduler (e.g. a {@link DelayedSealer}); default inline. */
  readonly sealer?: (scheduler: VirtualScheduler) => Sealer;
}

/**
 * A sealer that works like the worker sealer as the sender sees it — eager (sealing starts
 * when a batch fills), asynchronous (the answer comes `delayMs` later, on the scheduler) —
 * running the same `sealBatch` as every sealer. `failEvery` makes every n-th seal fail.
 */
export class DelayedSealer implements Sealer {
  readonly eager = true;
  readonly #scheduler: Scheduler;
  readonly #delayMs: number | ((sealNumber: number) => number);
  readonly #failEvery: number;
  #count = 0;
  #pending = 0;
  #idle: (() => void)[] = [];

  /** `delayMs` may depend on the seal's number (1, 2, …), so that seals finish out of order. */
  constructor(scheduler: Scheduler, delayMs: number | ((sealNumber: number) => number) = 1, failEvery = 0) {
    this.#scheduler = scheduler;
    this.#delayMs = delayMs;
    this.#failEvery = failEvery;
  }

  seal(job: SealJob): void {
    const n = ++this.#count;
    this.#pending++;
    const spec = job.sealSpec(); // read when the seal starts, as a worker message carries it
    this.#scheduler.setTimeout(() => {
      this.#pending--;
      if (this.#failEvery > 0 && n % this.#failEvery === 0) {
        job.failSeal(new SealError(`seal ${n} failed on purpose`));
      } else {
        const size = sealBatch(job.bytes, job.view, job.byteOffset, { ...spec, codec: spec.codecId === 0 ? null : codecFor(spec.codecId) });
        job.completeSeal(size);
      }
      if (this.#pending === 0) for (const w of this.#idle.splice(0)) w();
    }, typeof this.#delayMs === 'number' ? this.#delayMs : this.#delayMs(n));
  }

  close(): Promise<void> {
    return this.#pending === 0 ? Promise.resolve() : new Promise((r) => this.#idle.push(r));
  }
}

/** An eager, asynchronous sealer (like {@link DelayedSealer}) that compresses with a given codec, which may throw. */
export class FlakyCodecSealer implements Sealer {
  readonly eager = true;
  readonly #scheduler: Scheduler;
  readonly #codec: Codec;
  #pending = 0;
  #idle: (() => void)[] = [];

  constructor(scheduler: Scheduler, codec: Codec) {
    this.#scheduler = scheduler;
    this.#codec = codec;
  }

  seal(job: SealJob): void {
    this.#pending++;
    const spec = job.sealSpec();
    this.#scheduler.setTimeout(() => {
      this.#pending--;
      let size: number;
      try {
        size = sealBatch(job.bytes, job.view, job.byteOffset, { ...spec, codec: spec.codecId === 0 ? null : this.#codec });
      } catch (err) {
        job.failSeal(new SealError(`seal failed: ${(err as Error).message}`, err));
        size = -1;
      }
      if (size >= 0) job.completeSeal(size);
      if (this.#pending === 0) for (const w of this.#idle.splice(0)) w();
    }, 1);
  }

  close(): Promise<void> {
    return this.#pending === 0 ? Promise.resolve() : new Promise((r) => this.#idle.push(r));
  }
}

/** Small, fast defaults: every rule shows within a few virtual seconds. */
export const SIM_DEFAULT_CONFIG: ProducerConfigInput = Object.freeze({
  batchSize: 1024,
  bufferMemory: 64 * 1024,
  lingerMs: 5,
  requestTimeoutMs: 1000,
  deliveryTimeoutMs: 5000,
  retryBackoffMs: 10,
  retryBackoffMaxMs: 100,
  maxBlockMs: 60_000,
});

/** A producer on a {@link VirtualScheduler} sending to a real {@link InMemoryCluster} through a {@link RecordingNetwork}. */
export function makeSim(options: SimOptions = {}): Sim {
  const scheduler = new VirtualScheduler();
  const cluster = new InMemoryCluster({ brokers: 3, topics: { t: 3 }, decompress: decompressRecords, ...options.cluster, scheduler });
  const network = new RecordingNetwork(cluster, scheduler);
  const producer = new Producer({
    ...options.producer,
    sealer: options.sealer?.(scheduler),
    config: { ...SIM_DEFAULT_CONFIG, ...options.config },
    network,
    scheduler,
    random: seededRandom(options.seed ?? 1),
  });
  // As if the producer had fetched metadata once: the topics created up front are known.
  const known = Object.keys(cluster.topicPartitionCounts());
  if (known.length > 0) producer.metadata.apply(cluster.brokers.metadata(known, false));
  const runUntil = (condition: () => boolean, maxMs = 600_000): Promise<boolean> => scheduler.runUntil(condition, maxMs);
  const settle = async <T>(promise: Promise<T>, maxMs = 600_000): Promise<T> => {
    let done = false;
    const tracked = promise.then(
      (v) => {
        done = true;
        return v;
      },
      (e: unknown) => {
        done = true;
        throw e;
      },
    );
    tracked.catch(() => undefined);
    await scheduler.runUntil(() => done, maxMs);
    if (!done) throw new Error(`promise did not settle within ${maxMs} virtual ms (now ${scheduler.nowMs()})`);
    return tracked;
  };
  return { scheduler, cluster, network, producer, runUntil, settle };
}

/** The ids (value as UTF-8 `id-<n>` or `id-<n>:…`) of a partition's log, in offset order. */
export function logIds(cluster: InMemoryCluster, topic: string, partition: number): number[] {
  return cluster.readRecords(topic, partition).map((r) => Number(Buffer.from(r.value!).toString('utf8').split(':')[0].slice(3)));
}

/** `id-<n>`: a record value the log can be checked by. */
export function idValue(id: number): string {
  return `id-${id}`;
}

/** The settled state of a promise, readable synchronously (for asserting while virtual time runs). */
export interface Tracked<T> {
  settled: boolean;
  value: T | undefined;
  error: Error | undefined;
}

/** Tracks `promise` (and handles its rejection, so none goes unhandled). */
export function track<T>(promise: Promise<T>): Tracked<T> {
  const t: Tracked<T> = { settled: false, value: undefined, error: undefined };
  promise.then(
    (v) => {
      t.settled = true;
      t.value = v;
    },
    (e: unknown) => {
      t.settled = true;
      t.error = e as Error;
    },
  );
  return t;
}

/** A value of `size` bytes starting with `id-<n>:` (see {@link logIds}). */
export function paddedValue(id: number, size: number): string {
  const head = `id-${id}:`;
  return head + 'x'.repeat(Math.max(0, size - head.length));
}
