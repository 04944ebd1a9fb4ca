/**
 * `Producer`: the small facade for the common case — a {@link RecordAccumulator}, a
 * {@link Sender} and a partitioner wired together over a {@link NetworkClient}: the Kafka
 * wire transport when `bootstrap.servers` is set, else an embedded in-memory cluster that
 * creates topics on first use.
 *
 * ```ts
 * const producer = new Producer({ config: { 'bootstrap.servers': 'localhost:9092', 'linger.ms': 5, 'compression.type': 'lz4' } });
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
import { MAX_TOPIC_LENGTH, checkTopicName } from './cluster/topic-partition.js';
import type { TopicPartition } from './cluster/topic-partition.js';
import type { PartitionHandle } from './accumulator/partition-deque.js';
import type { BatchListener } from './accumulator/producer-batch.js';
import type { RecordAppendResult } from './accumulator/record-accumulator.js';
import { RecordAccumulator } from './accumulator/record-accumulator.js';
import type { RecordCallback, RecordMetadata } from './accumulator/record-metadata.js';
import type { Scheduler, TimerHandle } from './clock.js';
import { systemScheduler } from './clock.js';
import { codecFor } from './compression/codecs.js';
import type { ProducerConfig, ProducerConfigInput } from './config.js';
import { resolveConfig } from './config.js';
import { ClosedError, InvalidRecordError, asSluiceError } from './errors.js';
import { checkPartition, checkRecordFields, toHeaders } from './accumulator/record-checks.js';
import type { SluiceError } from './errors.js';
import type { RecordData, RecordHeader } from './format/record-data.js';
import type { BufferPool } from './memory/buffer-pool.js';
import type { ProducerMetricsSnapshot } from './metrics.js';
import { ProducerMetrics } from './metrics.js';
import type { Partitioner } from './partitioner/default-partitioner.js';
import { DefaultPartitioner } from './partitioner/default-partitioner.js';
import type { StickyState } from './partitioner/sticky-partitioner.js';
import { ProducerMetadata } from './metadata/producer-metadata.js';
import type { ConnectionOptions } from 'node:tls';
import type { ProducerEventListener, ProducerEventName, ProducerLogger } from './events/producer-events.js';
import { ProducerEvents } from './events/producer-events.js';
import type { NetworkClient } from './network/network-client.js';
import type { OAuthBearerTokenProvider } from './network/wire/sasl-authenticator.js';
import { createNetworkClient } from './network/create-network-client.js';
import type { CodecResolver } from './sealing/inline-sealer.js';
import type { Sealer } from './sealing/sealer.js';
import { createDefaultSealer } from './sealing/default-sealer.js';
import { resolveIdempotence } from './sender/idempotence.js';
import { Sender } from './sender/sender.js';
import type { Worker } from 'node:worker_threads';
import { IllegalStateError } from './errors.js';
import { SharedAppender } from './shared/shared-appender.js';
import type { SharedAppenderOptions, SharedProducerHandle } from './shared/shared-appender.js';
import { SharedIntake } from './shared/shared-intake.js';
import type { SharedProducerOptions } from './shared/shared-intake.js';

/** One record to send (Kafka `ProducerRecord`). */
export interface ProducerRecord {
  readonly topic: string;
  /** Explicit partition; omitted or null: the partitioner chooses. */
  readonly partition?: number | null;
  /** Bytes, a UTF-8 string, or null. */
  readonly key?: RecordData;
  /** Bytes, a UTF-8 string, or null (a tombstone). */
  readonly value?: RecordData;
  /**
   * `[{ key, value }]`, an object `{ [key]: value }` or a `Map` of key → value; a value may be
   * bytes, a UTF-8 string, or null (undefined counts as null).
   */
  readonly headers?:
    | readonly RecordHeader[]
    | { readonly [key: string]: Uint8Array | string | null | undefined }
    | ReadonlyMap<string, Uint8Array | string | null | undefined>
    | null;
  /** CreateTime in ms since the epoch; omitted or null: now. */
  readonly timestamp?: number | null;
}

/** How a {@link Producer} is built. Every field is optional. */
export interface ProducerOptions {
  /** Settings under camelCase or Kafka names (`lingerMs` / `linger.ms`); see `config.ts`. */
  readonly config?: ProducerConfigInput;
  /**
   * Where to send. Default: from the config — the Kafka wire transport to
   * `bootstrap.servers`, or, without it, an embedded in-memory cluster with auto-created
   * topics (3 brokers, 1 partition per new topic, latency 0); either is closed with the
   * producer. A network passed in is not closed by {@link Producer.close}.
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
  /**
   * Where the producer writes what it does (connections, metadata changes, retries, failures,
   * recoveries): `console`, pino, winston — anything with `debug`/`info`/`warn`/`error`.
   * Silent by default. Reports of user hooks that throw go here too (once per kind).
   */
  readonly logger?: ProducerLogger;
  /**
   * Node's own TLS options for `security.protocol` SSL / SASL_SSL, applied over those the
   * `ssl.*` settings make (e.g. `{ ca: [pem], servername: 'kafka.internal' }`).
   */
  readonly tls?: ConnectionOptions;
  /**
   * Supplies OAuth bearer tokens for `sasl.mechanism: 'OAUTHBEARER'`: called for every
   * authentication and re-authentication (KIP-368), so it may fetch a fresh token.
   */
  readonly oauthBearerTokenProvider?: OAuthBearerTokenProvider;
  /**
   * The sequence number each partition's first batch starts at under a new producer id
   * (idempotence). Kafka starts at 0, and so does the default; seeded simulations start just
   * below 2^31 − 1 to cover the wrap-around. A new epoch always starts at 0.
   * @internal
   */
  readonly firstSequence?: number;
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
  /** What the producer knows about the cluster: leaders, partition counts, brokers (for tools and tests). */
  readonly metadata: ProducerMetadata;
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
  readonly #topicPartitions = new Map<string, TopicPartition[]>();
  /** Per-topic cached lookups (see {@link TopicState}); the last one used is checked first. */
  readonly #topicStates = new Map<string, TopicState>();
  #lastTopic: TopicState | null = null;
  /**
   * Sends that wait — for metadata or for pool memory — and are not in a batch yet: `flush`
   * and `close` wait for them too. A Set is fine here: only waiting sends churn it.
   */
  readonly #waitingSends = new Set<Promise<RecordAppendResult>>();
  #closed = false;
  readonly #events: ProducerEvents;
  /** Set when the producer can send nothing any more (failed authentication, refused producer id). */
  #fatal: SluiceError | null = null;
  #closePromise: Promise<void> | null = null;
  /** Cuts a graceful close's wait for waiting sends short (a forced close came). */
  #forceClose: (() => void) | null = null;
  /** A forced close (timeoutMs 0) came, first or while a graceful one ran. */
  #forced = false;
  /** Set by {@link shareable}: other threads append too, and this producer's own sends go through the shared path. */
  #shared: SharedIntake | null = null;

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
      options.network ??
      createNetworkClient(this.config, this.#scheduler, { tls: options.tls, oauthBearerTokenProvider: options.oauthBearerTokenProvider, random: options.random });
    this.metadata = new ProducerMetadata({ network: this.network, scheduler: this.#scheduler, config: this.config, random: options.random });
    const listener = options.batchListener;
    this.accumulator = new RecordAccumulator({
      config: this.config as unknown as ProducerConfigInput,
      clock: this.#scheduler,
      pool: options.pool,
      sealer: options.sealer ?? (options.scheduler === undefined ? createDefaultSealer(this.config, input, options.resolveCodec ?? codecFor) : undefined),
      resolveCodec: options.resolveCodec ?? codecFor,
      batchListener: listener,
    });
    const metrics = new ProducerMetrics(this.#scheduler);
    this.#events = new ProducerEvents(options.logger ?? null);
    this.metadata.onUpdate((update) => this.#events.emit('metadata', update));
    this.sender = new Sender({
      events: this.#events,
      accumulator: this.accumulator,
      network: this.network,
      metadata: this.metadata,
      scheduler: this.#scheduler,
      metrics,
      random: options.random,
      idempotence: this.idempotent,
      firstSequence: options.firstSequence,
      onFatal: (error) => {
        this.#fatal = error;
      },
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
  send(record: ProducerRecord, callback: RecordCallback | null): Promise<SluiceError | null> | undefined;
  send(record: ProducerRecord, callback?: RecordCallback | null): Promise<unknown> | undefined {
    // The no-promise path on the producer's own accumulator stays small enough for V8 to
    // inline into the caller's loop; everything else is #sendOther.
    if (callback === null && this.#shared === null) {
      const r = this.#append(record, null, false);
      return r instanceof Promise ? settleWait(this.#trackWaiting(r), null) : undefined;
    }
    return this.#sendOther(record, callback);
  }

  #sendOther(record: ProducerRecord, callback: RecordCallback | null | undefined): Promise<unknown> | undefined {
    if (this.#shared !== null && this.#fatal === null && !this.#closed) return callback === undefined ? this.#shared.appender.send(record) : this.#shared.appender.send(record, callback);
    if (callback === undefined) {
      try {
        const r = this.#append(record, 'promise', false);
        if (r instanceof Promise) return this.#trackWaiting(r).then(completionOf);
        return r.completion!;
      } catch (err) {
        return Promise.reject(err);
      }
    }
    if (callback !== null && typeof callback !== 'function') {
      throw new InvalidRecordError('callback', `must be a function (error, metadata) => void or null, got ${typeof callback}`);
    }
    const r = this.#append(record, callback, false);
    if (!(r instanceof Promise)) return undefined;
    return settleWait(this.#trackWaiting(r), callback);
  }

  /**
   * Sends every record sent so far right away (linger ends) and resolves when each is
   * complete — success or failure (Kafka `flush`), including sends still waiting for
   * metadata or memory when it was called. Records sent while it waits may or may not be
   * waited for. Never rejects.
   */
  flush(): Promise<void> {
    if (this.#shared !== null) return this.#shared.flush();
    const waiting = this.#waitingSends.size === 0 ? null : Promise.allSettled([...this.#waitingSends]);
    return this.sender.flush(waiting);
  }

  /**
   * Stops taking records and delivers what was sent: sends still waiting for metadata or
   * memory get it (each within its `max.block.ms`), then everything pending is sent —
   * retried and expired as usual — for up to `timeoutMs` in all; whatever is left then fails
   * with an AbortedError (a send still waiting: ClosedError). Resolves when every request has
   * settled, every slot is back in the pool and no timer of the producer is left.
   * `timeoutMs: 0` forces the close: everything not yet acknowledged fails at once (and a
   * forced close cuts short a graceful one in progress). Idempotent; never rejects.
   */
  close(options: ProducerCloseOptions = {}): Promise<void> {
    const timeoutMs = options.timeoutMs ?? Infinity;
    if (!(timeoutMs >= 0)) return Promise.reject(new RangeError(`close: timeoutMs must be >= 0, got ${timeoutMs}`));
    if (timeoutMs === 0) this.#forced = true;
    if (this.#closePromise !== null) {
      if (timeoutMs === 0) {
        this.#forceClose?.();
        void this.sender.close({ timeoutMs: 0 });
      }
      return this.#closePromise;
    }
    this.#closed = true;
    this.#closePromise = this.#close(timeoutMs);
    return this.#closePromise;
  }

  async #close(timeoutMs: number): Promise<void> {
    const startMs = this.#scheduler.nowMs();
    const shared = this.#shared;
    if (shared !== null) {
      // Every thread's batches reach the accumulator before the sender's close drains it.
      if (timeoutMs > 0 && !this.#forced) await this.#waitAtMost(shared.flush(), timeoutMs);
      await shared.beginClose(this.#forced ? 0 : Math.max(0, timeoutMs - (this.#scheduler.nowMs() - startMs)));
    }
    if (timeoutMs > 0 && this.#waitingSends.size > 0) {
      // Deliver the sends that wait for metadata or memory (Kafka's close lets them finish):
      // flush so that their batches and everything else go out at once.
      const flushed = this.flush();
      await this.#waitAtMost(flushed, timeoutMs);
    }
    const metadataClosed = this.metadata.close(new ClosedError('the producer was closed while the send waited for metadata of its topic'));
    // A graceful close lets a metadata request in flight finish; a forced one does not wait for it.
    if (!this.#forced) await metadataClosed;
    const leftMs = this.#forced ? 0 : Math.max(0, timeoutMs - (this.#scheduler.nowMs() - startMs));
    await this.sender.close({ timeoutMs: leftMs, closeNetwork: this.#ownsNetwork });
    shared?.finishClose();
  }

  /**
   * Makes this producer one that other threads send through (Kafka's thread-safe producer,
   * the worker-thread way): returns a small handle — two SharedArrayBuffers — to post to
   * worker threads, where `Producer.attach(handle)` gives an appender with the same `send`.
   * Appends from every thread go straight into this producer's batches in shared memory;
   * this thread drains, seals and sends them over its one set of connections, with one
   * producer id. From now on this producer's own sends take the same path (and share
   * batches with the other threads). Call {@link watch} for each worker, so that a thread
   * that dies mid-append is recovered. The first call's options hold; later calls return
   * the same handle. See `shared/shared-intake.ts`.
   * @param options - table sizes: `maxAppenders` (threads, this one included; default 16),
   *   `maxTopics` (256), `maxPartitions` (8192)
   * @throws ClosedError when the producer is closed; ConfigError for sizes out of range
   */
  shareable(options: SharedProducerOptions = {}): SharedProducerHandle {
    if (this.#closed) throw new ClosedError('cannot share a closed producer');
    this.#shared ??= new SharedIntake({
      ...options,
      accumulator: this.accumulator,
      metadata: this.metadata,
      scheduler: this.#scheduler,
      config: this.config,
      flush: () => this.sender.flush(),
      partitioner: this.#sticky === null ? this.#partitioner : undefined,
    });
    return this.#shared.handle;
  }

  /**
   * Watches a worker thread that attached to this producer: when it exits — terminated,
   * crashed, or done without closing its appender — its partition locks are broken, the
   * records it committed are delivered, the record it was writing is dropped, and the
   * memory it held goes back (see `shared/shared-intake.ts`, "Thread death").
   * @returns this
   * @throws IllegalStateError before {@link shareable}
   */
  watch(worker: Worker): this {
    if (this.#shared === null) throw new IllegalStateError('watch(): call shareable() first');
    this.#shared.watch(worker);
    return this;
  }

  /** The owner's side of the shared accumulator once {@link shareable} was called, else null (for tools and tests). */
  get shared(): SharedIntake | null {
    return this.#shared;
  }

  /**
   * An appender of a shared producer, on this thread (a worker): the same `send`, checks,
   * typed errors and back-pressure as the owning producer; completions run on this thread.
   * @param handle - what the owner's `shareable()` returned (posted to this thread)
   * @param options - `blocking` (wait with Atomics.wait), `partitioner`
   * @throws ConfigError when the handle is not a shared producer's or every appender id is in use
   */
  static attach(handle: SharedProducerHandle, options: SharedAppenderOptions = {}): SharedAppender {
    return new SharedAppender(handle, options);
  }

  /** Resolves when `promise` settles, after `timeoutMs`, or when a forced close comes. */
  #waitAtMost(promise: Promise<unknown>, timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      let timer: TimerHandle | null = null;
      const done = (): void => {
        if (timer !== null) this.#scheduler.clearTimeout(timer);
        timer = null;
        this.#forceClose = null;
        resolve();
      };
      if (Number.isFinite(timeoutMs)) timer = this.#scheduler.setTimeout(done, timeoutMs);
      this.#forceClose = done;
      promise.then(done, done);
    });
  }

  /**
   * Listens to what the producer does (see {@link ProducerEventMap}): `connection`,
   * `metadata`, `batch.sent`, `batch.retried`, `batch.failed`, `buffer.wait`,
   * `buffer.exhausted`, `recovered`, `fatal`. A listener that throws is reported once and
   * ignored. Per-batch events cost nothing until someone listens.
   */
  on<E extends ProducerEventName>(event: E, listener: ProducerEventListener<E>): this {
    this.#events.on(event, listener);
    return this;
  }

  /** Removes a listener added with {@link Producer.on}. */
  off<E extends ProducerEventName>(event: E, listener: ProducerEventListener<E>): this {
    this.#events.off(event, listener);
    return this;
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
    if (this.#shared !== null) return this.#shared.appender.lastPartition;
    return this.#lastPartition;
  }

  // ------------------------------------------------------------------ internals

  /**
   * Partitions and appends one record.
   * @param resumed - the send waited for metadata and goes on now: it was accepted before a
   *   close began, so a closing producer still delivers it
   */
  #append(
    record: ProducerRecord,
    completion: RecordCallback | 'promise' | null,
    resumed: boolean,
  ): RecordAppendResult | Promise<RecordAppendResult> {
    if ((this.#closed || this.#fatal !== null) && !resumed) {
      throw this.#fatal ?? new ClosedError('cannot send: the producer is closed');
    }
    if (typeof record !== 'object' || record === null) {
      throw new InvalidRecordError('record', `must be an object { topic, partition?, key?, value?, headers?, timestamp? }, got ${String(record)}`);
    }
    checkRecordFields(record);
    const topic = record.topic;
    const cluster = this.metadata.cluster;
    // The topic's cached lookups, valid while the cluster's version is unchanged.
    let t = this.#lastTopic;
    if (t === null || t.topic !== topic || t.version !== cluster.version) t = this.#topicStateFor(topic, cluster);
    const explicit = record.partition !== undefined && record.partition !== null;
    const requested = explicit ? checkPartition(record.partition) : -1;
    // Unknown topic: wait for its metadata (Kafka `waitOnMetadata`), explicit partition or not.
    if (t === null) return this.#appendAfterMetadata(topic, requested, record, completion);
    let partition: number;
    const key = record.key ?? null;
    const sticky = !explicit && key === null && this.#sticky !== null;
    if (explicit) {
      partition = requested;
      if (partition >= t.count) {
        throw new InvalidRecordError('partition', `is ${partition}, but topic ${topic} has ${t.count} partition(s) [0..${t.count - 1}]`);
      }
    } else if (sticky) {
      const st = t.sticky;
      if (this.#stickyCache && st !== null && st.partition === t.checkedPartition && st.producedBytes < this.config.batchSize) {
        // Same sticky partition, leader checked under this cluster version, no switch pending:
        // nothing to look up.
        partition = t.checkedPartition;
      } else {
        partition = this.#stickyPartition(t, cluster);
      }
    } else {
      try {
        partition = this.#partitioner.partition(topic, key, 0, cluster);
      } catch (err) {
        // User code (a custom partitioner): its failure is this record's, typed.
        throw new InvalidRecordError('partition', `could not be chosen: the partitioner threw ${(err as Error)?.message ?? String(err)}`);
      }
      if (!(Number.isInteger(partition) && partition >= 0 && partition < t.count)) {
        throw new InvalidRecordError('partition', `the partitioner chose ${String(partition)} for topic ${topic}, which has ${t.count} partition(s)`);
      }
    }
    this.#lastPartition = partition;
    const rawHeaders = record.headers;
    const headers = rawHeaders === undefined || rawHeaders === null ? null : toHeaders(rawHeaders);
    const handle = (t.handles[partition] ??= this.accumulator.partitionHandle({ topic, partition }));
    const r = this.accumulator.appendTo(handle, record.timestamp, key, record.value, headers, completion);
    if (sticky) {
      if (r instanceof Promise) return this.#recordStickyAfterWait(r, topic, partition, record);
      this.#recordSticky(topic, partition, record, t.sticky !== null ? t : null);
    }
    return r;
  }

  /**
   * The sticky partition of an unkeyed record when the cached one cannot be used: first
   * completes a switch that was deferred because the partition's last batch was not full,
   * once it is (KIP-794; Kafka `RecordAccumulator.partitionChanged`).
   */
  #stickyPartition(t: TopicState, cluster: ClusterView): number {
    const sp = this.#sticky!;
    const st = t.sticky ?? sp.sticky.stateOf(t.topic) ?? null;
    if (st !== null && sp.sticky.switchDeferred(st)) {
      const handle = t.handles[st.partition];
      if (handle === undefined || this.accumulator.lastBatchFullOf(handle)) sp.sticky.completeDeferredSwitch(st, t.topic, cluster);
    }
    const partition = sp.partition(t.topic, null, 0, cluster);
    t.sticky = sp.sticky.stateOf(t.topic) ?? null;
    t.checkedPartition = partition >= 0 && cluster.leaderFor(t.topic, partition) !== NO_LEADER ? partition : -1;
    if (!(partition >= 0 && partition < t.count)) {
      throw new InvalidRecordError('partition', `the sticky partitioner chose ${partition} for topic ${t.topic}, which has ${t.count} partition(s)`);
    }
    return partition;
  }

  // The waits below are methods, not closures in #append: a closure there would make every
  // call allocate a context for the variables it captures (see RecordAccumulator).

  /** Appends `record` once `topic` (and `partition`, when >= 0) is in the metadata. */
  #appendAfterMetadata(
    topic: string,
    partition: number,
    record: ProducerRecord,
    completion: RecordCallback | 'promise' | null,
  ): Promise<RecordAppendResult> {
    return this.metadata.awaitTopic(topic, partition, this.config.maxBlockMs).then(() => this.#append(record, completion, true));
  }

  /** Remembers a waiting send until it is in a batch (or failed), for flush and close. */
  #trackWaiting(pending: Promise<RecordAppendResult>): Promise<RecordAppendResult> {
    this.#waitingSends.add(pending);
    const forget = (): void => {
      this.#waitingSends.delete(pending);
    };
    pending.then(forget, forget);
    return pending;
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
   * changed); null when the topic has no metadata yet.
   * @throws InvalidRecordError for a topic name Kafka would refuse
   */
  #topicStateFor(topic: string, cluster: ClusterView): TopicState | null {
    let t = this.#topicStates.get(topic);
    if (t === undefined) checkTopicName(topic); // checked once per topic: known topics have a state
    const count = cluster.partitionCount(topic);
    if (count < 0) return null;
    const version = cluster.version ?? 0;
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
   * One immutable `{ topic, partition }` per partition, for the sticky partitioner's
   * lookups of partitions without a handle yet.
   */
  #topicPartition(topic: string, partition: number): TopicPartition {
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
    const cluster = this.metadata.cluster;
    const handle = t !== null ? t.handles[partition] : undefined;
    if (t !== null && handle !== undefined) {
      this.#sticky!.sticky.recordAppendedTo(t.sticky!, topic, partition, size, cluster, this.accumulator.lastBatchFullOf(handle));
    } else {
      this.#sticky!.sticky.recordAppended(topic, partition, size, cluster, this.accumulator.lastBatchFull(this.#topicPartition(topic, partition)));
    }
  }
}

/** A promise-style send's result once its append finished waiting. */
function completionOf(r: RecordAppendResult): Promise<RecordMetadata> {
  return r.completion!;
}

/**
 * The no-promise send's wait, as a function of its own: a closure inside `send` would make
 * every send allocate a context for `callback` (see RecordAccumulator#appendToNewBatchSlow).
 */
function settleWait(pending: Promise<RecordAppendResult>, callback: RecordCallback | null): Promise<SluiceError | null> {
  return pending.then(
    () => null,
    (err: unknown) => {
      const error = asSluiceError(err);
      if (callback !== null) callback(error, null);
      return error;
    },
  );
}
