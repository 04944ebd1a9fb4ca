/**
 * `Producer`: the small facade for the common case — a {@link RecordAccumulator}, a
 * {@link Sender} and a partitioner wired together over a {@link NetworkClient} (by default
 * an embedded {@link InMemoryCluster} that creates topics on first use).
 *
 * ```ts
 * const producer = new Producer({ config: { lingerMs: 5, compressionType: 'lz4' } });
 * const md = await producer.send({ topic: 'events', key: 'user-1', value: '{"a":1}' });
 * await producer.close();
 * ```
 *
 * Two ways to send, chosen per call:
 * - `send(record)` → `Promise<RecordMetadata>`: one promise per record; it rejects with the
 *   record's error (invalid record, too large, buffer exhausted, closed, expired, broker error).
 * - `send(record, callback)` → `undefined | Promise<Error | null>`: no promise per record
 *   (the perf harness path). The record's outcome goes to `callback(error, metadata)` exactly
 *   once — pass `null` for no per-record completion at all (learn about batches through
 *   `batchListener`). The return value is the backpressure signal: `undefined` when the
 *   record is already in a batch; a promise when the send had to wait (for pool memory, up
 *   to `maxBlockMs`, or for the topic's metadata); await it before sending more. That promise
 *   never rejects: it resolves with null once the record is in a batch, or with the error
 *   that ended the wait (`BufferExhaustedError` after `maxBlockMs`, `ClosedError`), which
 *   also goes to the callback. Errors known at once —
 *   invalid record, record too large, producer closed, and `BufferExhaustedError` in
 *   fail-fast mode (`maxBlockMs: 0`) — are THROWN synchronously, so a hot loop learns of
 *   them without a callback round trip.
 *
 * Partitioning (records without an explicit `partition`): keyed records by Java-compatible
 * murmur2 of the key bytes; unkeyed records by the uniform sticky partitioner (KIP-794),
 * switching after about `batch.size` bytes, on a batch boundary.
 *
 * Backpressure never becomes an unbounded queue: records live in pool memory
 * (`bufferMemory`); when it is full, `send` waits up to `maxBlockMs` (FIFO) or, with
 * `maxBlockMs: 0`, fails at once with `BufferExhaustedError`.
 */
import type { ClusterView } from './cluster/cluster.js';
import { NO_LEADER } from './cluster/cluster.js';
import type { TopicPartition } from './cluster/topic-partition.js';
import type { PartitionHandle } from './accumulator/partition-deque.js';
import type { BatchListener } from './accumulator/producer-batch.js';
import type { RecordAppendResult } from './accumulator/record-accumulator.js';
import { RecordAccumulator } from './accumulator/record-accumulator.js';
import type { RecordCallback, RecordMetadata } from './accumulator/record-metadata.js';
import type { Scheduler, TimerHandle } from './clock.js';
import { systemScheduler } from './clock.js';
import { codecFor, decompressRecords } from './compression/codecs.js';
import type { ProducerConfig, ProducerConfigInput } from './config.js';
import { resolveConfig } from './config.js';
import { InMemoryCluster } from './embedded/in-memory-cluster.js';
import { ClosedError, InvalidRecordError, TimeoutError } from './errors.js';
import type { RecordData, RecordHeader } from './format/record-data.js';
import type { BufferPool } from './memory/buffer-pool.js';
import type { ProducerMetricsSnapshot } from './metrics.js';
import { ProducerMetrics } from './metrics.js';
import type { Partitioner } from './partitioner/default-partitioner.js';
import { DefaultPartitioner } from './partitioner/default-partitioner.js';
import type { StickyState } from './partitioner/sticky-partitioner.js';
import { UNKNOWN_PARTITION } from './partitioner/sticky-partitioner.js';
import type { CodecResolver } from './sealing/inline-sealer.js';
import type { Sealer } from './sealing/sealer.js';
import { resolveIdempotence } from './sender/idempotence.js';
import type { NetworkClient } from './sender/network-client.js';
import { Sender } from './sender/sender.js';

/** One record to send (Kafka `ProducerRecord`). */
export interface ProducerRecord {
  readonly topic: string;
  /** Explicit partition; omitted or null: the partitioner chooses. */
  readonly partition?: number | null;
  /** Bytes, a UTF-8 string, or null. */
  readonly key?: RecordData;
  /** Bytes, a UTF-8 string, or null (a tombstone). */
  readonly value?: RecordData;
  /** `[{ key, value }]`, or an object `{ [key]: value }`. */
  readonly headers?: readonly RecordHeader[] | { readonly [key: string]: Uint8Array | string | null } | null;
  /** CreateTime in ms since the epoch; omitted or null: now. */
  readonly timestamp?: number | null;
}

/** How a {@link Producer} is built. Every field is optional. */
export interface ProducerOptions {
  /** Settings under camelCase or Kafka names (`lingerMs` / `linger.ms`); see `config.ts`. */
  readonly config?: ProducerConfigInput;
  /**
   * Where to send. Default: a new {@link InMemoryCluster} with `autoCreateTopics` (3 brokers,
   * 1 partition per new topic, latency 0), closed with the producer. A network passed in is
   * not closed by {@link Producer.close}.
   */
  readonly network?: NetworkClient;
  /** Time and timers (a `VirtualScheduler` in simulations). Default: the system scheduler. */
  readonly scheduler?: Scheduler;
  /** Who seals batches (e.g. `@sluice/worker`'s WorkerSealer). Default: inline on this thread. */
  readonly sealer?: Sealer;
  /** Codec lookup for sealing and for splitting compressed batches. Default: every built-in codec. */
  readonly resolveCodec?: CodecResolver;
  /** Chooses partitions for records without one. Default: {@link DefaultPartitioner}. */
  readonly partitioner?: Partitioner;
  /**
   * Told about every batch that reaches a final state: `(batch, error)` with `batch.topic`,
   * `.partition`, `.recordCount`, `.createdMs`, `.sizeBytes`, `.attempts`, `.drainedMs`, and
   * `error` null on success. Called on the main thread when the batch completes (batches
   * that were split are not reported; their parts are). Keep it cheap.
   */
  readonly batchListener?: BatchListener;
  /** Uniform [0, 1) source for backoff jitter and sticky partitioning. Default `Math.random`. */
  readonly random?: () => number;
  /** A buffer pool to share (default: one of `bufferMemory` bytes, closed with the producer). */
  readonly pool?: BufferPool;
}

/** Options of {@link Producer.close}. */
export interface ProducerCloseOptions {
  /**
   * How long to let pending records finish before failing the rest with an AbortedError;
   * 0 = forced close, aborting at once. Default Infinity (every record ends within
   * `deliveryTimeoutMs` anyway).
   */
  readonly timeoutMs?: number;
}

/**
 * What the producer remembers about a topic between sends, so that a record costs no map
 * lookup: the partition count and the leader check of the sticky partition hold while the
 * cluster's `version` is unchanged; partition handles hold for the accumulator's life.
 */
interface TopicState {
  readonly topic: string;
  version: number;
  count: number;
  /** Accumulator handles by partition, created on first use. */
  readonly handles: PartitionHandle[];
  /** The sticky partitioner's state of the topic, once it has one. */
  sticky: StickyState | null;
  /** The sticky partition whose leader was seen known under `version`; -1: check again. */
  checkedPartition: number;
}

/** A Kafka producer: accumulator + sender + partitioner. See the file comment. */
export class Producer {
  /** The effective configuration. */
  readonly config: ProducerConfig;
  /** Where requests go. */
  readonly network: NetworkClient;
  /** The record accumulator (for tools and tests). */
  readonly accumulator: RecordAccumulator;
  /** The I/O loop (for tools and tests). */
  readonly sender: Sender;
  /** Whether the producer is idempotent (after KIP-679 conflict resolution). */
  readonly idempotent: boolean;
  readonly #scheduler: Scheduler;
  readonly #partitioner: Partitioner;
  readonly #sticky: DefaultPartitioner | null;
  /** Whether unkeyed records may use the cached sticky partition (see the constructor). */
  readonly #stickyCache: boolean;
  #lastPartition = -1;
  readonly #ownsNetwork: boolean;
  readonly #metadataWaits = new Map<string, Promise<void>>();
  readonly #topicPartitions = new Map<string, TopicPartition[]>();
  /** Per-topic cached lookups (see {@link TopicState}); the last one used is checked first. */
  readonly #topicStates = new Map<string, TopicState>();
  #lastTopic: TopicState | null = null;
  readonly #metadataTimers = new Set<TimerHandle>();
  #closed = false;

  /**
   * @param options - see {@link ProducerOptions}
   * @throws ConfigError for an unknown setting, a bad value, or settings that contradict each
   *   other (including an explicit `enableIdempotence: true` with `acks` ≠ all,
   *   `maxInFlightRequestsPerConnection` > 5 or `retries` = 0)
   */
  constructor(options: ProducerOptions = {}) {
    const input = options.config ?? {};
    const config = resolveConfig(input);
    this.idempotent = resolveIdempotence(config, input);
    this.config = config.enableIdempotence === this.idempotent ? config : { ...config, enableIdempotence: this.idempotent };
    this.#scheduler = options.scheduler ?? systemScheduler;
    this.#ownsNetwork = options.network === undefined;
    this.network =
      options.network ?? new InMemoryCluster({ autoCreateTopics: true, scheduler: this.#scheduler, decompress: decompressRecords });
    const listener = options.batchListener;
    this.accumulator = new RecordAccumulator({
      config: this.config as unknown as ProducerConfigInput,
      clock: this.#scheduler,
      pool: options.pool,
      sealer: options.sealer,
      resolveCodec: options.resolveCodec ?? codecFor,
      batchListener: listener,
    });
    const metrics = new ProducerMetrics(this.#scheduler);
    this.sender = new Sender({
      accumulator: this.accumulator,
      network: this.network,
      scheduler: this.#scheduler,
      metrics,
      random: options.random,
      idempotence: this.idempotent,
    });
    this.#partitioner = options.partitioner ?? new DefaultPartitioner({ batchSizeBytes: this.config.batchSize, random: options.random });
    this.#sticky = this.#partitioner instanceof DefaultPartitioner ? this.#partitioner : null;
    // The cached sticky path stands in for `partition()`: only when that is Kafka's own (a
    // subclass overriding it is asked for every record, as before).
    this.#stickyCache = this.#sticky !== null && this.#sticky.partition === DefaultPartitioner.prototype.partition;
  }

  /**
   * Sends a record; the promise settles when the broker answered (or the record failed).
   * @returns the record's metadata (offset -1 with acks=0)
   */
  send(record: ProducerRecord): Promise<RecordMetadata>;
  /**
   * Sends a record without a per-record promise; see the file comment.
   * @param callback - told the outcome exactly once; null: not told (no per-record cost)
   * @returns undefined when the record is in a batch; when the send waits (memory or
   *   metadata), a promise — await it before sending more — that never rejects and resolves
   *   with null once the record is in a batch, or with the error that ended the wait
   * @throws InvalidRecordError, RecordTooLargeError, ClosedError, or BufferExhaustedError
   *   when `maxBlockMs` is 0 and no memory is free
   */
  send(record: ProducerRecord, callback: RecordCallback | null): Promise<Error | null> | undefined;
  send(record: ProducerRecord, callback?: RecordCallback | null): Promise<unknown> | undefined {
    if (callback === undefined) {
      try {
        const r = this.#append(record, 'promise');
        if (r instanceof Promise) return r.then((res) => res.completion!);
        return r.completion!;
      } catch (err) {
        return Promise.reject(err);
      }
    }
    const r = this.#append(record, callback);
    if (!(r instanceof Promise)) return undefined;
    return settleWait(r, callback);
  }

  /**
   * Sends every record appended so far right away (linger ends) and resolves when each is
   * complete — success or failure (Kafka `flush`). Records sent while it waits are not
   * waited for. Never rejects.
   */
  flush(): Promise<void> {
    return this.sender.flush();
  }

  /**
   * Stops taking records (sends waiting for memory or metadata fail with ClosedError), sends
   * what is pending — retrying, expiring as usual — for up to `timeoutMs`, then fails the
   * rest with an AbortedError; resolves when every request has settled, every slot is back
   * in the pool and no timer of the producer is left. `timeoutMs: 0` aborts everything at
   * once. Idempotent; never rejects.
   */
  async close(options: ProducerCloseOptions = {}): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      for (const t of this.#metadataTimers) this.#scheduler.clearTimeout(t);
      this.#metadataTimers.clear();
    }
    await this.sender.close({ timeoutMs: options.timeoutMs, closeNetwork: this.#ownsNetwork });
  }

  /** Metrics under Kafka's names, as a plain object (see `metrics.ts`). */
  metrics(): ProducerMetricsSnapshot {
    return this.sender.metrics.snapshot();
  }

  /**
   * The partition chosen for the last record `send` took (-1 before any): what a tool that
   * sends without per-record callbacks (the perf harness) needs to account a record.
   * Set when the partition is chosen, so it also holds for a send that waits for memory.
   */
  get lastPartition(): number {
    return this.#lastPartition;
  }

  // ------------------------------------------------------------------ internals

  #append(
    record: ProducerRecord,
    completion: RecordCallback | 'promise' | null,
  ): RecordAppendResult | Promise<RecordAppendResult> {
    if (this.#closed) throw new ClosedError('cannot send: the producer is closed');
    if (typeof record !== 'object' || record === null) {
      throw new InvalidRecordError('record', `must be an object { topic, partition?, key?, value?, headers?, timestamp? }, got ${String(record)}`);
    }
    const topic = record.topic;
    const cluster = this.network.cluster;
    // The topic's cached lookups, valid while the cluster's version is unchanged.
    let t = this.#lastTopic;
    if (t === null || t.topic !== topic || t.version !== cluster.version) t = this.#topicStateFor(topic, cluster);
    const count = t !== null ? t.count : typeof topic === 'string' ? cluster.partitionCount(topic) : 0;
    const explicit = record.partition !== undefined && record.partition !== null;
    if (count < 0 && !(explicit && typeof topic === 'string')) {
      // Unknown topic and a partition to choose: wait for its metadata (Kafka `waitOnMetadata`).
      return this.#appendAfterMetadata(topic, record, completion);
    }
    let partition: number;
    const key = record.key ?? null;
    const sticky = !explicit && key === null && this.#sticky !== null;
    if (explicit) {
      partition = record.partition!;
      if (count >= 0 && typeof partition === 'number' && partition >= count) {
        throw new InvalidRecordError('partition', `is ${partition}, but topic ${topic} has ${count} partition(s) [0..${count - 1}]`);
      }
    } else if (sticky) {
      if (t !== null && this.#stickyCache && t.sticky !== null && t.sticky.partition === t.checkedPartition) {
        // Same sticky partition, leader checked under this cluster version: nothing to look up.
        partition = t.checkedPartition;
      } else {
        partition = this.#sticky!.partition(topic, null, 0, cluster);
        if (t !== null) {
          t.sticky = this.#sticky!.sticky.stateOf(topic) ?? null;
          t.checkedPartition = partition >= 0 && cluster.leaderFor(topic, partition) !== NO_LEADER ? partition : -1;
        }
      }
    } else {
      partition = this.#partitioner.partition(topic, key, 0, cluster);
    }
    if (partition === UNKNOWN_PARTITION) return this.#appendAfterMetadata(topic, record, completion);
    this.#lastPartition = partition;
    const headers = toHeaders(record.headers);
    let handle: PartitionHandle | null = null;
    if (t !== null && typeof partition === 'number' && partition >= 0 && partition < t.count && Number.isInteger(partition)) {
      handle = t.handles[partition] ??= this.accumulator.partitionHandle({ topic, partition });
    }
    const r =
      handle !== null
        ? this.accumulator.appendTo(handle, record.timestamp, key, record.value, headers, completion)
        : this.accumulator.append(this.#topicPartition(topic, partition), record.timestamp, key, record.value, headers, completion);
    if (sticky) {
      if (r instanceof Promise) return this.#recordStickyAfterWait(r, topic, partition, record);
      this.#recordSticky(topic, partition, record, t !== null && t.sticky !== null ? t : null);
    }
    return r;
  }

  // The two waits below are methods, not closures in #append: a closure there would make
  // every call allocate a context for the variables it captures (see RecordAccumulator).

  /** Appends `record` once `topic` has metadata. */
  #appendAfterMetadata(
    topic: string,
    record: ProducerRecord,
    completion: RecordCallback | 'promise' | null,
  ): Promise<RecordAppendResult> {
    return this.#awaitMetadata(topic).then(() => this.#append(record, completion));
  }

  /** Accounts a sticky append that had to wait for memory, once it is in a batch. */
  #recordStickyAfterWait(
    pending: Promise<RecordAppendResult>,
    topic: string,
    partition: number,
    record: ProducerRecord,
  ): Promise<RecordAppendResult> {
    return pending.then((res) => {
      this.#recordSticky(topic, partition, record, null);
      return res;
    });
  }

  /**
   * The cached lookups of `topic` under the cluster's current version (rebuilt when it
   * changed); null when they cannot be cached: a bad or unknown topic, or a cluster view
   * without a `version`.
   */
  #topicStateFor(topic: string, cluster: ClusterView): TopicState | null {
    const version = cluster.version;
    if (version === undefined || typeof topic !== 'string' || topic.length === 0) return null;
    const count = cluster.partitionCount(topic);
    if (count < 0) return null;
    let t = this.#topicStates.get(topic);
    if (t === undefined) {
      t = { topic, version, count, handles: [], sticky: null, checkedPartition: -1 };
      this.#topicStates.set(topic, t);
    } else if (t.version !== version) {
      t.version = version;
      t.count = count;
      t.checkedPartition = -1; // leaders may have moved: check the sticky partition again
    }
    this.#lastTopic = t;
    return t;
  }

  /**
   * One immutable `{ topic, partition }` per partition, reused by every send that takes the
   * lookup path (records of uncached topics). Invalid topics/partitions are not cached (the
   * accumulator rejects them).
   */
  #topicPartition(topic: string, partition: number): TopicPartition {
    if (typeof topic !== 'string' || typeof partition !== 'number' || !Number.isInteger(partition) || partition < 0 || partition >= 65536) {
      return { topic, partition };
    }
    let byPartition = this.#topicPartitions.get(topic);
    if (byPartition === undefined) {
      byPartition = [];
      this.#topicPartitions.set(topic, byPartition);
    }
    return (byPartition[partition] ??= Object.freeze({ topic, partition }));
  }

  /**
   * Accounts an unkeyed append to the sticky partition (KIP-794), switching on a batch
   * boundary. `t`: the topic's cached state when it holds the sticky state and the handle.
   */
  #recordSticky(topic: string, partition: number, record: ProducerRecord, t: TopicState | null): void {
    // The record's size, approximated cheaply (string length, not UTF-8 bytes): it only
    // decides when to move to another partition.
    const v = record.value;
    const size = 16 + (v === null || v === undefined ? 0 : typeof v === 'string' ? v.length : v.length);
    const handle = t !== null ? t.handles[partition] : undefined;
    if (t !== null && handle !== undefined) {
      this.#sticky!.sticky.recordAppendedTo(t.sticky!, topic, partition, size, this.network.cluster, this.accumulator.lastBatchFullOf(handle));
    } else {
      this.#sticky!.sticky.recordAppended(topic, partition, size, this.network.cluster, this.accumulator.lastBatchFull(this.#topicPartition(topic, partition)));
    }
  }

  /**
   * Waits until `topic` has metadata (refreshing every `retryBackoffMs`), at most
   * `maxBlockMs` (Kafka `waitOnMetadata`): concurrent sends to the topic share one wait.
   */
  #awaitMetadata(topic: string): Promise<void> {
    if (typeof topic !== 'string' || topic.length === 0) {
      return Promise.reject(new InvalidRecordError('topic', `must be a non-empty string, got ${String(topic)}`));
    }
    let wait = this.#metadataWaits.get(topic);
    if (wait !== undefined) return wait;
    const startMs = this.#scheduler.nowMs();
    const maxBlockMs = this.config.maxBlockMs;
    wait = new Promise<void>((resolve, reject) => {
      const attempt = (): void => {
        if (this.#closed) {
          reject(new ClosedError(`the producer was closed while waiting for metadata of topic ${topic}`));
          return;
        }
        const check = (): void => {
          if (this.#closed) {
            reject(new ClosedError(`the producer was closed while waiting for metadata of topic ${topic}`));
            return;
          }
          if (this.network.cluster.partitionCount(topic) >= 0) {
            resolve();
            return;
          }
          const waitedMs = this.#scheduler.nowMs() - startMs;
          if (waitedMs >= maxBlockMs) {
            reject(new TimeoutError(`topic ${topic} not present in metadata after ${waitedMs} ms (maxBlockMs=${maxBlockMs})`));
            return;
          }
          const timer = this.#scheduler.setTimeout(() => {
            this.#metadataTimers.delete(timer);
            attempt();
          }, Math.min(Math.max(this.config.retryBackoffMs, 1), maxBlockMs - waitedMs));
          this.#metadataTimers.add(timer);
        };
        let pending: Promise<void>;
        try {
          pending = this.network.refreshMetadata([topic]);
        } catch (err) {
          pending = Promise.reject(err);
        }
        pending.then(check, check);
      };
      attempt();
    });
    const cleanup = (): void => {
      this.#metadataWaits.delete(topic);
    };
    wait.then(cleanup, cleanup);
    this.#metadataWaits.set(topic, wait);
    return wait;
  }
}

/**
 * The no-promise send's wait, as a function of its own: a closure inside `send` would make
 * every send allocate a context for `callback` (see RecordAccumulator#appendToNewBatchSlow).
 */
function settleWait(pending: Promise<RecordAppendResult>, callback: RecordCallback | null): Promise<Error | null> {
  return pending.then(
    () => null,
    (err: Error) => {
      if (callback !== null) callback(err, null);
      return err;
    },
  );
}

/** Headers as the accumulator takes them: an array of `{ key, value }`, or null. */
function toHeaders(headers: ProducerRecord['headers']): readonly RecordHeader[] | null {
  if (headers === null || headers === undefined) return null;
  if (Array.isArray(headers)) return headers as readonly RecordHeader[];
  if (typeof headers !== 'object') return headers as unknown as readonly RecordHeader[]; // the accumulator names the error
  const out: RecordHeader[] = [];
  for (const key of Object.keys(headers)) out.push({ key, value: (headers as { readonly [k: string]: Uint8Array | string | null })[key] });
  return out;
}
