/**
 * `SharedAppender`: the append path of ONE producer shared by several threads (Kafka's
 * thread-safe `KafkaProducer`, librdkafka's `rd_kafka_t`, the worker-thread way). Any thread
 * holding a {@link SharedProducerHandle} (`producer.shareable()`, posted to a worker) gets an
 * appender with `Producer.attach(handle)`; it validates, partitions and encodes records
 * straight into the batches of the owning producer's buffer pool, and the owner's thread
 * drains, seals and sends them (`shared-intake.ts`). Layout and invariants:
 * `shared-accumulator-layout.ts`.
 *
 * One record, on the appender's thread:
 * ```
 *   checks (accumulator/record-checks.ts)      same errors as Producer.send
 *   topic: cached; unknown → ask the owner once (topic table entry + doorbell), wait
 *   partition: explicit | murmur2(key) % count | sticky (shared per topic, KIP-794)
 *   lock the partition (partition-lock.ts) ─┐
 *     size the record at (count, ts − base)  │ one cache line: lock, open slot, cursor,
 *     open batch? no/full → close it,        │ count, timestamps
 *        install a slot from my stash        │
 *     encode the record at the cursor        │
 *     commit: P_POS past the record          │ (a record is visible only once committed)
 *     full? close: descriptor + CLOSED event │
 *   unlock ─────────────────────────────────┘
 *   compressed topic: compress the closed batch here, into a second slot
 *   ring the owner's doorbell (per batch, not per record)
 * ```
 * Completions come back through this thread's completion ring, one cell per batch (per
 * part, after a split) — never a message per record or per batch; callbacks and promises
 * run on this thread. Memory: a new batch takes a slot from this thread's STASH, which the
 * owner keeps topped up; when it is empty the appender queues a NEED ticket (FIFO across
 * threads) and waits up to `max.block.ms` — asynchronously, or with `Atomics.wait` for a
 * blocking appender.
 *
 * Key insight — the appender never allocates from the pool itself; the owner does, and
 * grants slots through the stash. Rejected: appenders claiming pool slots directly (one
 * compareExchange each, no owner round trip). A thread terminated between the pool's
 * reserve, claim and stamp steps would leave the pool's counters or bitmap half-changed, and
 * recovering that needs a per-slot owner word, a per-instance "claiming" marker and a
 * stop-the-world reconciliation of FREE_SLOTS against the bitmap. With the stash, the only
 * hand-off is a single-consumer ring whose tail advances AFTER the slot is installed in its
 * partition (layout invariant 4): wherever a thread dies, its slots are found in its stash,
 * in a partition entry it locked, or in a descriptor it closed. The pool is unchanged.
 *
 * The hot path is closure-free and allocation-free when no completion is asked for: waits
 * live in their own methods, per-batch bookkeeping (`LocalBatch`) is one object per batch
 * this thread writes into, and per-record completions are objects only when asked for.
 */
import { BroadcastChannel, threadId } from 'node:worker_threads';
import type { ClusterView } from '../cluster/cluster.js';
import { NO_LEADER } from '../cluster/cluster.js';
import { checkTopicName } from '../cluster/topic-partition.js';
import { codecFor } from '../compression/codecs.js';
import type { Codec } from '../compression/codec.js';
import { BurstClock } from '../burst-clock.js';
import { BufferExhaustedError, ClosedError, ConfigError, IllegalStateError, InvalidRecordError, RecordTooLargeError, TimeoutError, asSluiceError } from '../errors.js';
import type { SluiceError } from '../errors.js';
import { writeBatchHeader } from '../format/batch-header-writer.js';
import { RECORD_BATCH_OVERHEAD } from '../format/record-batch-layout.js';
import type { RecordData, RecordHeader } from '../format/record-data.js';
import { estimateSizeInBytesUpperBound, sizeOfHeaders, sizeOfRecord, sizeOfRecordBody, writeRecord } from '../format/record-writer.js';
import { copyBytes } from '../format/shared-copy.js';
import {
  FREE_SLOTS_INDEX as POOL_FREE_SLOTS_INDEX,
  MAGIC_INDEX as POOL_MAGIC_INDEX,
  POOLABLE_SIZE_INDEX,
  POOL_ID_INDEX as POOL_POOL_ID_INDEX,
  POOL_MAGIC,
  SLOT_COUNT_INDEX as POOL_SLOT_COUNT_INDEX,
  WAITERS_INDEX as POOL_WAITERS_INDEX,
  computePoolLayout,
} from '../memory/pool-layout.js';
import type { RecordCallback, RecordMetadata } from '../accumulator/record-metadata.js';
import { checkData, checkHeaders, checkPartition, checkRecordFields, checkTimestamp, toHeaders } from '../accumulator/record-checks.js';
import type { RecordHeadersInput } from '../accumulator/record-checks.js';
import { murmur2, toPositive } from '../partitioner/murmur2.js';
import type { Partitioner } from '../partitioner/default-partitioner.js';
import { sealBatch } from '../sealing/seal-batch.js';
import { reportUserHookError } from '../user-hook-error.js';
import { lock, lockTag, unlock } from './partition-lock.js';
import {
  A_BIG_ACK,
  A_DRAINED,
  A_INCARNATION,
  A_NEED,
  A_OVERFLOW,
  A_SEALING,
  A_STATE,
  A_THREAD_ID,
  A_WAITING,
  AppenderState,
  BATCH_SIZE_INDEX,
  CHANNEL_ID_INDEX,
  CODEC_INDEX,
  COMPLETION_WORDS,
  C_BASE_OFFSET,
  C_COUNT,
  C_ERROR_ID,
  C_FIRST_DELTA,
  C_LOG_APPEND_TIME,
  C_PARTITION,
  C_SEQ,
  C_TOTAL,
  DOORBELL_INDEX,
  D_BASE_TS,
  D_CLOSER,
  D_COUNT,
  D_CREATED_MS,
  D_MAX_TS,
  D_PARTITION,
  D_RECORDS_LENGTH,
  D_SEALED_SIZE,
  D_SEAL_TARGET,
  D_SEQ,
  D_STATE,
  D_WRITERS0,
  D_WRITERS1,
  DescriptorState,
  EVENT_KIND_SHIFT,
  EventKind,
  FLUSH_REQUESTS_INDEX,
  LEVEL_INDEX,
  MAGIC_INDEX,
  MAX_BLOCK_INFINITE,
  MAX_BLOCK_MS_INDEX,
  MAX_REQUEST_SIZE_INDEX,
  META_VERSION_INDEX,
  NEED_TICKETS_INDEX,
  OWNER_APPENDER_ID,
  OWNER_SLEEPING_INDEX,
  P_BASE_TS,
  P_CAPACITY,
  P_COUNT,
  P_CREATED_MS,
  P_LEADER,
  P_MAX_TS,
  P_OPEN,
  P_POS,
  P_SEQ,
  P_STICKY_BYTES,
  P_WRITERS0,
  P_WRITERS1,
  POOL_ID_INDEX,
  SHARED_LAYOUT_VERSION,
  SHARED_MAGIC,
  SHARED_CLOSED,
  SHARED_OPEN,
  STATE_INDEX,
  STICKY_LANES,
  STICKY_MODE_INDEX,
  STICKY_SHARED,
  TOPIC_COUNT_INDEX,
  TOPIC_LOCK_INDEX,
  TOPIC_NAME_BYTES,
  TOPIC_REQUESTS_INDEX,
  T_ERROR_CODE,
  T_MAP_INDEX,
  T_NAME_LENGTH,
  T_NAME_WORD,
  T_PARTITION_COUNT,
  T_STATE,
  T_STICKY_PARTITION,
  TopicState,
  VERSION_INDEX,
  appenderEntry,
  completionRingOf,
  computeSharedLayout,
  descriptorEntry,
  eventRingOf,
  layoutParamsFrom,
  partitionEntry,
  stashOf,
  topicEntry,
} from './shared-accumulator-layout.js';
import type { SharedLayout } from './shared-accumulator-layout.js';
import { SharedClusterView } from './shared-cluster-view.js';
import { deserializeError, sharedChannelName } from './shared-errors.js';
import type { SerializedError, SharedChannelMessage } from './shared-errors.js';
import { SpscRing } from './spsc-ring.js';
import { brokerErrorFor } from '../protocol/kafka-errors.js';

/**
 * What `producer.shareable()` returns and `Producer.attach` takes: SharedArrayBuffers only,
 * so it goes through `postMessage`/`workerData` as it is (the memory is shared, not copied).
 */
export interface SharedProducerHandle {
  /** The buffer pool's memory (the batches' bytes). */
  readonly pool: SharedArrayBuffer;
  /** The shared accumulator's memory (`shared-accumulator-layout.ts`). */
  readonly accumulator: SharedArrayBuffer;
}

/** Options of `Producer.attach`. */
export interface SharedAppenderOptions {
  /**
   * Wait for memory and for topic metadata with `Atomics.wait` on this thread instead of
   * returning a promise: `send` then never returns a promise (it throws
   * `BufferExhaustedError` / `TimeoutError` after `max.block.ms`). Worker threads only.
   * Completions still run when this thread's event loop turns, or on {@link SharedAppender.poll}.
   */
  readonly blocking?: boolean;
  /**
   * Chooses partitions for records without one, on this thread, over a `ClusterView` of the
   * shared tables. Default: Kafka's (murmur2 of the key; for null keys the uniform sticky
   * partition of this thread's sticky lane, or of the whole producer with `shareable({ sticky:
   * 'shared' })`).
   */
  readonly partitioner?: Partitioner;
}

/** One record as `send` takes it (the `Producer`'s `ProducerRecord`). */
export interface SharedProducerRecord {
  readonly topic: string;
  readonly partition?: number | null;
  readonly key?: RecordData;
  readonly value?: RecordData;
  readonly headers?: RecordHeadersInput;
  readonly timestamp?: number | null;
}

/**
 * What the owner's own appender (id 0) is wired to instead of messages: the intake on the
 * same thread.
 * @internal
 */
export interface SharedOwnerLink {
  /** Tops the owner appender's stash up now, synchronously (memory permitting). */
  topUpOwner(): void;
  /** A record bigger than `batch.size` of the owner appender (see {@link SharedAppender}'s big-record path). */
  appendBig(req: number, partitionIndex: number, afterSeq: number, topic: string, partition: number, timestamp: number, key: RecordData, value: RecordData, headers: readonly RecordHeader[] | null): void;
}

/** Result codes of one append attempt (never a user-visible value). */
const APPENDED = 0;
const WAIT_TOPIC = 1;
const WAIT_SLOT = 2;
const WAIT_LOCK = 3;
const WAIT_BIG = 4;
type AttemptCode = typeof APPENDED | typeof WAIT_TOPIC | typeof WAIT_SLOT | typeof WAIT_LOCK | typeof WAIT_BIG;

/** Longest single Atomics.waitAsync / Atomics.wait before re-checking (also the keep-alive poll period). */
const REARM_MS = 250;
/** How long the owner's thread waits for a partition lock before it queues the send instead (ms). */
const OWNER_LOCK_WAIT_MS = 1;

type WaitAsyncResult = { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> };
const atomicsWaitAsync = (
  Atomics as unknown as { waitAsync(array: Int32Array, index: number, value: number, timeoutMs?: number): WaitAsyncResult }
).waitAsync.bind(Atomics);

/** A promise-style send's completion. */
class PromiseCompletion {
  resolve!: (metadata: RecordMetadata) => void;
  reject!: (error: Error) => void;
  readonly promise: Promise<RecordMetadata>;
  constructor() {
    this.promise = new Promise<RecordMetadata>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }
}

type Completion = RecordCallback | PromiseCompletion;

/** One record of this thread that asked to be told its outcome. */
interface RecordCompletion {
  readonly delta: number;
  readonly timestampMs: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly completion: Completion;
}

/**
 * This thread's part of one shared batch: created when the thread first writes into batch
 * (partition, seq), done when the owner reported every record of the batch (its parts may
 * end separately after a split).
 */
class LocalBatch {
  readonly partitionIndex: number;
  readonly seq: number;
  readonly topic: string;
  readonly partition: number;
  /** Records of the batch reported so far (all threads' records: ranges cover the batch). */
  covered = 0;
  done = false;
  completions: RecordCompletion[] | null = null;
  /** Next batch of the same partition this thread wrote into (oldest first). */
  next: LocalBatch | null = null;
  constructor(partitionIndex: number, seq: number, topic: string, partition: number) {
    this.partitionIndex = partitionIndex;
    this.seq = seq;
    this.topic = topic;
    this.partition = partition;
  }
}

/** A record bigger than `batch.size`, handed to the owner (rare path). */
class BigRecord {
  done = false;
  readonly req: number;
  readonly topic: string;
  readonly partition: number;
  readonly timestampMs: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly completion: Completion | null;
  constructor(req: number, topic: string, partition: number, timestampMs: number, keySize: number, valueSize: number, completion: Completion | null) {
    this.req = req;
    this.topic = topic;
    this.partition = partition;
    this.timestampMs = timestampMs;
    this.keySize = keySize;
    this.valueSize = valueSize;
    this.completion = completion;
  }
}

/** A send that waits (topic metadata, memory, or — on the owner's thread — a busy lock). FIFO. */
class WaitingSend {
  readonly record: SharedProducerRecord;
  readonly completion: Completion | null;
  readonly timestampMs: number;
  readonly startMs: number;
  readonly deadlineMs: number;
  code: AttemptCode = APPENDED;
  next: WaitingSend | null = null;
  /** Resolves the promise `send(record, callback)` returned: null once in a batch, else the error. */
  settle: ((error: SluiceError | null) => void) | null = null;
  constructor(record: SharedProducerRecord, completion: Completion | null, timestampMs: number, startMs: number, maxBlockMs: number) {
    this.record = record;
    this.completion = completion;
    this.timestampMs = timestampMs;
    this.startMs = startMs;
    this.deadlineMs = startMs + maxBlockMs;
  }
}

/** What this thread caches about a topic while the metadata version is unchanged. */
interface LocalTopic {
  readonly name: string;
  /** Word index of the topic's entry. */
  readonly entry: number;
  version: number;
  count: number;
  mapIndex: number;
}

/** A flush waiting for this thread's batches (and big records) at the time it was called. */
interface FlushWaiter {
  readonly batches: (LocalBatch | BigRecord)[];
  index: number;
  readonly resolve: () => void;
}

/**
 * The appender of a shared producer on one thread; see the file comment. Build it with
 * `Producer.attach(handle)` (worker threads) — the owner's own sends use one too.
 */
export class SharedAppender {
  /** This appender's id in the shared tables (0 = the owner). */
  readonly id: number;
  readonly #control: Int32Array;
  readonly #f64: Float64Array;
  readonly #layout: SharedLayout;
  readonly #poolBytes: Buffer;
  readonly #poolView: DataView;
  readonly #poolControl: Int32Array;
  readonly #poolDataOffset: number;
  readonly #slotSize: number;
  readonly #tag: number;
  readonly #writerWord: number;
  /** Offset of this thread's sticky lane word in a topic entry (T_STICKY_PARTITION + lane). */
  readonly #stickyWord: number;
  readonly #stickyShared: boolean;
  readonly #writerBit: number;
  readonly #entry: number;
  readonly #events: SpscRing;
  readonly #stash: SpscRing;
  readonly #completions: SpscRing;
  readonly #batchSize: number;
  readonly #maxBlockMs: number;
  readonly #maxRequestSize: number;
  readonly #totalMemory: number;
  readonly #codecId: number;
  readonly #codec: Codec | null;
  readonly #level: number;
  readonly #blocking: boolean;
  readonly #lockWaitMs: number;
  readonly #owner: SharedOwnerLink | null;
  readonly #partitioner: Partitioner | null;
  readonly #clusterView: ClusterView;
  readonly #channel: BroadcastChannel | null;

  readonly #topics = new Map<string, LocalTopic>();
  #lastTopic: LocalTopic | null = null;
  #lastPartition = -1;
  /** The batch this thread writes into now, per partition entry. */
  readonly #current: (LocalBatch | undefined)[] = [];
  /** Oldest incomplete batch per partition entry (a list through `next`), and the newest. */
  readonly #oldest: (LocalBatch | null | undefined)[] = [];
  readonly #newest: (LocalBatch | null | undefined)[] = [];
  #incomplete = 0;
  readonly #bigs: BigRecord[] = [];
  #nextBigReq = 1;
  /** The last big record handed to the owner until it says it appended it (A_BIG_ACK): later sends wait for it. */
  #bigInTransit: BigRecord | null = null;
  readonly #errors = new Map<number, SluiceError>();
  /** Completion cells whose error has not arrived over the channel yet. */
  #awaitingErrors: number[][] = [];
  #flushWaiters: FlushWaiter[] = [];
  #waitHead: WaitingSend | null = null;
  #waitTail: WaitingSend | null = null;
  #waitPending = false;
  #completionWaitPending = false;
  #keepAlive: ReturnType<typeof setInterval> | null = null;
  /** Record timestamps, read at most once per few appends of a synchronous run (`burst-clock.ts`). */
  readonly #timestamps = new BurstClock(Date.now);
  /** A_INCARNATION when this appender took its id: another value means the id was recovered and reused. */
  readonly #incarnation: number;
  #closed = false;
  /** Set by an append that closed a compressed batch: sealed after the lock is released. */
  #sealSlot = -1;
  /** Set by an append that published an event: the doorbell rings after the lock is released. */
  #ring = false;
  #utf8 = Buffer.allocUnsafe(256);
  readonly #stickyScratch: number[] = [];
  readonly #candidateScratch: number[] = [];

  /**
   * Attaches to a shared producer (see `Producer.attach`).
   * @throws ConfigError when `handle` is not a shared producer's, its layout version differs,
   *   or every appender id is taken (`maxAppenders`)
   * @internal `owner` is for the owning producer's own appender
   */
  constructor(handle: SharedProducerHandle, options: SharedAppenderOptions = {}, owner: SharedOwnerLink | null = null) {
    if (typeof handle !== 'object' || handle === null || !(handle.pool instanceof SharedArrayBuffer) || !(handle.accumulator instanceof SharedArrayBuffer)) {
      throw new ConfigError('Producer.attach: the handle must be what producer.shareable() returned ({ pool, accumulator }: two SharedArrayBuffers)');
    }
    const control = new Int32Array(handle.accumulator);
    if (control.length < 64 || Atomics.load(control, MAGIC_INDEX) !== SHARED_MAGIC || Atomics.load(control, VERSION_INDEX) !== SHARED_LAYOUT_VERSION) {
      throw new ConfigError(`Producer.attach: not a shared producer handle of layout version ${SHARED_LAYOUT_VERSION}`);
    }
    const poolControl = new Int32Array(handle.pool, 0, 16);
    if (Atomics.load(poolControl, POOL_MAGIC_INDEX) !== POOL_MAGIC || Atomics.load(poolControl, POOL_POOL_ID_INDEX) !== Atomics.load(control, POOL_ID_INDEX)) {
      throw new ConfigError('Producer.attach: the handle\'s pool is not the shared accumulator\'s pool');
    }
    if (options.blocking === true && owner !== null) throw new ConfigError('a blocking appender cannot run on the owning producer\'s thread');
    this.#control = control;
    this.#f64 = new Float64Array(handle.accumulator);
    this.#layout = computeSharedLayout(layoutParamsFrom(control));
    const slotSize = Atomics.load(poolControl, POOLABLE_SIZE_INDEX);
    const slotCount = Atomics.load(poolControl, POOL_SLOT_COUNT_INDEX);
    const poolLayout = computePoolLayout(slotSize * slotCount, slotSize);
    this.#poolBytes = Buffer.from(handle.pool);
    this.#poolView = new DataView(handle.pool);
    this.#poolControl = new Int32Array(handle.pool, 0, poolLayout.bitmapIndex);
    this.#poolDataOffset = poolLayout.dataOffsetBytes;
    this.#slotSize = slotSize;
    this.#totalMemory = poolLayout.totalMemoryBytes;
    this.#batchSize = Atomics.load(control, BATCH_SIZE_INDEX);
    const maxBlock = Atomics.load(control, MAX_BLOCK_MS_INDEX);
    this.#maxBlockMs = maxBlock === MAX_BLOCK_INFINITE ? Infinity : maxBlock;
    this.#maxRequestSize = Atomics.load(control, MAX_REQUEST_SIZE_INDEX);
    this.#codecId = Atomics.load(control, CODEC_INDEX);
    this.#codec = this.#codecId === 0 ? null : codecFor(this.#codecId);
    this.#level = Atomics.load(control, LEVEL_INDEX);
    this.#blocking = options.blocking === true;
    this.#owner = owner;
    this.#lockWaitMs = owner !== null ? OWNER_LOCK_WAIT_MS : Infinity;
    this.#partitioner = options.partitioner ?? null;
    this.#clusterView = new SharedClusterView(control, this.#layout, (topic) => this.#topicEntryOf(topic));
    this.id = owner !== null ? OWNER_APPENDER_ID : this.#claimId();
    this.#tag = lockTag(this.id);
    this.#writerWord = this.id < 32 ? P_WRITERS0 : P_WRITERS1;
    this.#writerBit = 1 << (this.id & 31);
    this.#stickyShared = Atomics.load(control, STICKY_MODE_INDEX) === STICKY_SHARED;
    this.#stickyWord = T_STICKY_PARTITION + (this.#stickyShared ? 0 : this.id);
    this.#entry = appenderEntry(this.#layout, this.id);
    this.#events = new SpscRing(control, eventRingOf(this.#layout, this.id), this.#layout.eventCapacity, 1);
    this.#stash = new SpscRing(control, stashOf(this.#layout, this.id), this.#layout.stashCapacity, 1);
    this.#completions = new SpscRing(control, completionRingOf(this.#layout, this.id), this.#layout.completionCapacity, COMPLETION_WORDS);
    this.#incarnation = Atomics.load(control, this.#entry + A_INCARNATION);
    if (owner === null) {
      this.#channel = new BroadcastChannel(sharedChannelName(Atomics.load(control, CHANNEL_ID_INDEX)));
      this.#channel.onmessage = this.#onChannelMessage;
      (this.#channel as unknown as { unref?(): void }).unref?.();
      Atomics.store(control, this.#entry + A_STATE, AppenderState.LIVE);
      this.#wakeOwner(); // the owner tops the new appender's stash up
    } else {
      this.#channel = null;
    }
  }

  /** The partition chosen for the last record `send` took (-1 before any). */
  get lastPartition(): number {
    return this.#lastPartition;
  }

  /**
   * Sends of this thread that had to wait, by what for: `memory` (its stash was empty),
   * `metadata` (a topic's), `lock` (the owner's thread only), `big` (behind a record larger
   * than batch.size). For tools and benchmarks.
   */
  readonly waits = { memory: 0, metadata: 0, lock: 0, big: 0 };

  /** Batches (and big records) of this thread not complete yet. */
  get pendingBatches(): number {
    return this.#incomplete + this.#bigs.length;
  }

  // ================================================================ send

  /**
   * Sends a record through the shared producer; the promise settles when the broker answered
   * (or the record failed) — on this thread.
   */
  send(record: SharedProducerRecord): Promise<RecordMetadata>;
  /**
   * Sends a record without a per-record promise (see `Producer.send`): `callback` is told
   * the outcome exactly once, on this thread; null: not told.
   * @returns undefined when the record is in a batch; a promise when the send waits (memory,
   *   topic metadata) — await it before sending more — that never rejects and resolves with
   *   null once the record is in a batch, or with the error that ended the wait. A blocking
   *   appender never returns one.
   * @throws InvalidRecordError, RecordTooLargeError, ClosedError; BufferExhaustedError /
   *   TimeoutError from a blocking appender after `max.block.ms`
   */
  send(record: SharedProducerRecord, callback: RecordCallback | null): Promise<SluiceError | null> | undefined;
  send(record: SharedProducerRecord, callback?: RecordCallback | null): Promise<unknown> | undefined {
    if (callback === undefined) return this.#sendWithPromise(record);
    if (callback !== null && typeof callback !== 'function') {
      throw new InvalidRecordError('callback', `must be a function (error, metadata) => void or null, got ${typeof callback}`);
    }
    if (this.#waitHead !== null) return this.#enqueue(record, callback, -1);
    const code = this.#tryAppend(record, callback, -1);
    if (code === APPENDED) return undefined;
    if (this.#blocking) return this.#appendBlocking(record, callback, code);
    return this.#enqueue(record, callback, -1);
  }

  #sendWithPromise(record: SharedProducerRecord): Promise<RecordMetadata> {
    const completion = new PromiseCompletion();
    try {
      if (this.#waitHead !== null) {
        void this.#enqueue(record, completion, -1);
        return completion.promise;
      }
      const code = this.#tryAppend(record, completion, -1);
      if (code !== APPENDED) {
        if (this.#blocking) this.#appendBlocking(record, completion, code);
        else void this.#enqueue(record, completion, -1);
      }
    } catch (err) {
      return Promise.reject(err);
    }
    return completion.promise;
  }

  /**
   * One attempt to append `record`.
   * @param tsOverride - the record's timestamp fixed by an earlier attempt, or -1
   * @returns APPENDED, or what it has to wait for (nothing was appended then)
   */
  #tryAppend(record: SharedProducerRecord, completion: Completion | null, tsOverride: number): AttemptCode {
    const control = this.#control;
    // Plain reads of STATE and META_VERSION (hot path): the state is checked again under the
    // partition lock, whose compareExchange orders it after the owner's store; a metadata
    // change seen one record late changes nothing.
    if (this.#closed || control[STATE_INDEX] !== SHARED_OPEN) throw this.#closedError();
    if (typeof record !== 'object' || record === null) {
      throw new InvalidRecordError('record', `must be an object { topic, partition?, key?, value?, headers?, timestamp? }, got ${String(record)}`);
    }
    checkRecordFields(record);
    if (this.#bigInTransit !== null && !this.#bigAcked()) return WAIT_BIG;
    const topicName = record.topic;
    let t = this.#lastTopic;
    if (t === null || t.name !== topicName || t.version !== control[META_VERSION_INDEX]) {
      t = this.#readyTopic(topicName);
      if (t === null) return WAIT_TOPIC;
    }
    const explicit = record.partition !== undefined && record.partition !== null;
    const key = record.key ?? null;
    const sticky = !explicit && key === null && this.#partitioner === null;
    let partition: number;
    if (explicit) {
      partition = checkPartition(record.partition);
      if (partition >= t.count) {
        throw new InvalidRecordError('partition', `is ${partition}, but topic ${topicName} has ${t.count} partition(s) [0..${t.count - 1}]`);
      }
    } else if (sticky) {
      partition = this.#stickyPartition(t);
    } else {
      partition = this.#choosePartition(t, key);
    }
    this.#lastPartition = partition;
    const recordTs = record.timestamp;
    const ts = tsOverride >= 0 ? tsOverride : recordTs === null || recordTs === undefined ? this.#timestamps.nowMs() : checkTimestamp(recordTs, 0);
    const k = key === null || typeof key === 'string' || key instanceof Uint8Array ? key : checkData('key', key);
    const value = record.value;
    const v = value === null || value === undefined || typeof value === 'string' || value instanceof Uint8Array ? (value ?? null) : checkData('value', value);
    const headers = record.headers;
    const h = headers === null || headers === undefined ? null : checkHeaders(toHeaders(headers));
    const keyLength = k === null ? -1 : typeof k === 'string' ? Buffer.byteLength(k, 'utf8') : k.length;
    const valueLength = v === null ? -1 : typeof v === 'string' ? Buffer.byteLength(v, 'utf8') : v.length;
    const headersSize = h === null ? 1 : sizeOfHeaders(h);
    const partitionIndex = control[t.mapIndex + partition];
    const upper = estimateSizeInBytesUpperBound(keyLength, valueLength, headersSize);
    if (upper > this.#maxRequestSize || upper > this.#totalMemory) this.#throwTooLarge(upper, topicName, partition);
    if (upper > this.#batchSize) return this.#sendBig(t, partitionIndex, partition, ts, k, keyLength, v, valueLength, h, completion);
    return this.#appendToPartition(partitionIndex, t, partition, sticky, ts, k, keyLength, v, valueLength, h, headersSize, completion);
  }

  /**
   * Appends under the partition's lock (see the file comment's diagram). The lock is held for
   * one record; a compressed batch closed here is sealed after the release.
   */
  #appendToPartition(
    partitionIndex: number,
    t: LocalTopic,
    partition: number,
    sticky: boolean,
    ts: number,
    k: RecordData,
    keyLength: number,
    v: RecordData,
    valueLength: number,
    h: readonly RecordHeader[] | null,
    headersSize: number,
    completion: Completion | null,
  ): AttemptCode {
    const control = this.#control;
    const f64 = this.#f64;
    const e = partitionEntry(this.#layout, partitionIndex);
    if (Atomics.compareExchange(control, e, 0, this.#tag) !== 0 && !lock(control, e, this.#tag, this.#lockWaitMs)) return WAIT_LOCK;
    // ---- critical section: plain accesses to the partition entry (the lock orders them) ----
    if (control[STATE_INDEX] !== SHARED_OPEN) {
      unlock(control, e);
      throw this.#closedError();
    }
    let open = control[e + P_OPEN];
    let pos = 0;
    let count = 0;
    let body = 0;
    let tsDelta = 0;
    if (open !== 0) {
      pos = control[e + P_POS];
      count = control[e + P_COUNT];
      tsDelta = count === 0 ? 0 : ts - f64[(e + P_BASE_TS) >> 1];
      body = sizeOfRecordBody(count, tsDelta, keyLength, valueLength, headersSize);
      if (pos + sizeOfRecord(body) > control[e + P_CAPACITY]) {
        this.#closeLocked(e, open - 1, pos, count);
        open = 0;
      }
    }
    if (open === 0) {
      let slot = this.#stash.peekWord(-1);
      if (slot < 0 && this.#owner !== null) {
        // The owner's own thread allocates for itself at once (no lock of ours is involved).
        this.#owner.topUpOwner();
        slot = this.#stash.peekWord(-1);
      }
      if (slot < 0) {
        unlock(control, e);
        this.#afterUnlock();
        return WAIT_SLOT;
      }
      this.#installLocked(e, partitionIndex, slot);
      open = slot + 1;
      pos = RECORD_BATCH_OVERHEAD;
      count = 0;
      tsDelta = 0;
      body = sizeOfRecordBody(0, 0, keyLength, valueLength, headersSize);
    }
    const slotBase = this.#poolDataOffset + (open - 1) * this.#slotSize;
    const end = writeRecord(this.#poolBytes, slotBase + pos, body, count, tsDelta, k, keyLength, v, valueLength, h);
    if (count === 0) {
      f64[(e + P_BASE_TS) >> 1] = ts;
      f64[(e + P_MAX_TS) >> 1] = ts;
    } else if (ts > f64[(e + P_MAX_TS) >> 1]) {
      f64[(e + P_MAX_TS) >> 1] = ts;
    }
    const seq = control[e + P_SEQ];
    let local = this.#current[partitionIndex];
    if (local === undefined || local.seq !== seq) {
      local = this.#newLocalBatch(partitionIndex, seq, t.name, partition);
      control[e + this.#writerWord] |= this.#writerBit; // before the commit: the owner must know we wrote
    }
    const newPos = end - slotBase;
    control[e + P_COUNT] = count + 1;
    control[e + P_POS] = newPos; // COMMIT (see P_POS in the layout: ordered by the unlock)
    if (completion !== null) {
      (local.completions ??= []).push({ delta: count, timestampMs: ts, keySize: keyLength, valueSize: valueLength, completion });
    }
    // Close as soon as a record of the batch's average size would not fit (invariant 5 of
    // ARCHITECTURE.md): the batch is sendable now, not at the next append.
    const closed = control[e + P_CAPACITY] - newPos < (newPos - RECORD_BATCH_OVERHEAD) / (count + 1);
    if (closed) this.#closeLocked(e, open - 1, newPos, count + 1);
    if (sticky) this.#recordStickyLocked(t, e, partition, valueLength, closed);
    unlock(control, e);
    if (this.#ring || this.#sealSlot >= 0) this.#afterUnlock();
    return APPENDED;
  }

  /** Installs `slot` (from the stash) as the partition's open batch; the caller holds the lock. */
  #installLocked(e: number, partitionIndex: number, slot: number): void {
    const control = this.#control;
    const f64 = this.#f64;
    const d = descriptorEntry(this.#layout, slot);
    const seq = (control[e + P_SEQ] + 1) | 0;
    const nowMs = Date.now();
    control[d + D_PARTITION] = partitionIndex;
    control[d + D_SEQ] = seq;
    control[d + D_CLOSER] = -1;
    control[d + D_SEAL_TARGET] = 0;
    control[d + D_SEALED_SIZE] = 0;
    f64[(d + D_CREATED_MS) >> 1] = nowMs;
    Atomics.store(control, d + D_STATE, DescriptorState.OPEN);
    control[e + P_POS] = RECORD_BATCH_OVERHEAD;
    control[e + P_COUNT] = 0;
    control[e + P_CAPACITY] = this.#slotSize;
    control[e + P_WRITERS0] = 0;
    control[e + P_WRITERS1] = 0;
    f64[(e + P_CREATED_MS) >> 1] = nowMs;
    // P_OPEN, then P_SEQ, then the stash's tail: a thread that dies in between leaves the
    // slot both installed and in its stash (recovery tells), never in neither; P_SEQ is
    // taken from the installed slot's descriptor by recovery when it lags.
    Atomics.store(control, e + P_OPEN, slot + 1);
    control[e + P_SEQ] = seq;
    this.#stash.consume(1);
    if (!this.#events.tryPushWord((EventKind.OPENED << EVENT_KIND_SHIFT) | slot)) throw this.#ringFull();
    this.#ring = true;
  }

  /**
   * Ends the partition's open batch (full): fills the slot's descriptor and marks it CLOSING;
   * it is sealed, and its CLOSED event published, after the lock is released. The caller
   * holds the lock.
   */
  #closeLocked(e: number, slot: number, pos: number, count: number): void {
    const control = this.#control;
    const f64 = this.#f64;
    const d = descriptorEntry(this.#layout, slot);
    control[d + D_RECORDS_LENGTH] = pos - RECORD_BATCH_OVERHEAD;
    control[d + D_COUNT] = count;
    control[d + D_WRITERS0] = control[e + P_WRITERS0];
    control[d + D_WRITERS1] = control[e + P_WRITERS1];
    f64[(d + D_BASE_TS) >> 1] = f64[(e + P_BASE_TS) >> 1];
    f64[(d + D_MAX_TS) >> 1] = f64[(e + P_MAX_TS) >> 1];
    control[d + D_CLOSER] = this.id;
    Atomics.store(control, d + D_STATE, DescriptorState.CLOSING);
    this.#sealSlot = slot;
    Atomics.store(control, e + P_OPEN, 0);
  }

  /** What an append leaves for after the lock: sealing a closed compressed batch, the doorbell. */
  #afterUnlock(): void {
    const slot = this.#sealSlot;
    if (slot >= 0) {
      this.#sealSlot = -1;
      this.#sealClosed(slot);
    }
    if (this.#ring) {
      this.#ring = false;
      this.#doorbell();
    }
  }

  /**
   * Seals a closed batch on this thread, off the lock: the CRC32C (and the compression) of
   * every batch is computed on the threads that fill them, not on the owner's. Compressed
   * records go into a SECOND slot from the stash (the raw ones stay intact until the owner
   * frees them), so a thread that dies in the middle leaves a batch the owner can still send
   * unsealed (layout invariant 4). An uncompressed or incompressible batch is sealed in
   * place: that writes only the header, never a record byte. The producer fields are left
   * unset; the owner's drain writes them and patches the CRC (`format/crc32c-patch.ts`: the
   * 14 changed bytes, not the whole batch).
   */
  #sealClosed(slot: number): void {
    const control = this.#control;
    const f64 = this.#f64;
    const d = descriptorEntry(this.#layout, slot);
    const recordsLength = control[d + D_RECORDS_LENGTH];
    const count = control[d + D_COUNT];
    const baseTs = f64[(d + D_BASE_TS) >> 1];
    const maxTs = f64[(d + D_MAX_TS) >> 1];
    const base = this.#poolDataOffset + slot * this.#slotSize;
    const bytes = this.#poolBytes;
    // The compressed records when they are smaller; null: sealed in place, uncompressed.
    let compressed: Uint8Array | null = null;
    let codecFailed = false;
    if (this.#codec !== null) {
      try {
        compressed = this.#codec.compress(bytes.subarray(base + RECORD_BATCH_OVERHEAD, base + RECORD_BATCH_OVERHEAD + recordsLength), this.#level);
        if (compressed.byteLength >= recordsLength) compressed = null;
      } catch {
        codecFailed = true; // left unsealed: the owner's sealer tries again (and reports a failure) — rare
      }
    }
    let sealedSize = 0;
    // A_SEALING before the state check (the owner checks them the other way round before
    // taking the stash back at close): a second slot is taken only from a stash still ours.
    Atomics.store(control, this.#entry + A_SEALING, 1);
    if (compressed !== null) {
      const target = Atomics.load(control, STATE_INDEX) === SHARED_CLOSED ? -1 : this.#stash.peekWord(-1);
      if (target >= 0) {
        Atomics.store(control, d + D_SEAL_TARGET, target + 1);
        this.#stash.consume(1);
        const targetBase = this.#poolDataOffset + target * this.#slotSize;
        copyBytes(bytes, targetBase + RECORD_BATCH_OVERHEAD, compressed);
        sealedSize = RECORD_BATCH_OVERHEAD + compressed.byteLength;
        writeBatchHeader(bytes, this.#poolView, targetBase, sealedSize, {
          attributes: this.#codecId,
          lastOffsetDelta: count - 1,
          baseTimestamp: baseTs,
          maxTimestamp: maxTs,
          producerId: -1,
          producerEpoch: -1,
          baseSequence: -1,
          recordsCount: count,
        });
      }
    } else if (!codecFailed) {
      sealedSize = sealBatch(bytes, this.#poolView, base, {
        recordsLength,
        recordCount: count,
        baseTimestamp: baseTs,
        maxTimestamp: maxTs,
        codec: null,
        producerId: -1,
        producerEpoch: -1,
        baseSequence: -1,
        transactional: false,
      });
    }
    control[d + D_SEALED_SIZE] = sealedSize;
    Atomics.store(control, d + D_STATE, DescriptorState.CLOSED);
    if (!this.#events.tryPushWord((EventKind.CLOSED << EVENT_KIND_SHIFT) | slot)) throw this.#ringFull();
    Atomics.store(control, this.#entry + A_SEALING, 0);
    this.#ring = true;
  }

  /**
   * Tells the owner something was published — only when it sleeps on the doorbell. While it
   * is busy it polls every ring about once a millisecond, and a notify per batch would be a
   * wake-up task posted to its event loop per batch (measured: the single largest cost of an
   * appender thread, ~13 % of its time, before this). The event was published (Atomics.store)
   * BEFORE this load; the owner sets OWNER_SLEEPING BEFORE its last look at the rings.
   */
  #doorbell(): void {
    const control = this.#control;
    if (Atomics.load(control, OWNER_SLEEPING_INDEX) === 0) return;
    this.#wakeOwner();
  }

  /** Rings the doorbell whether the owner sleeps or not (requests that should not wait for its next poll). */
  #wakeOwner(): void {
    const control = this.#control;
    Atomics.add(control, DOORBELL_INDEX, 1);
    Atomics.notify(control, DOORBELL_INDEX, 1);
  }

  #newLocalBatch(partitionIndex: number, seq: number, topic: string, partition: number): LocalBatch {
    const local = new LocalBatch(partitionIndex, seq, topic, partition);
    this.#current[partitionIndex] = local;
    const newest = this.#newest[partitionIndex];
    if (newest === null || newest === undefined) this.#oldest[partitionIndex] = local;
    else newest.next = local;
    this.#newest[partitionIndex] = local;
    if (this.#incomplete++ === 0) this.#ensureKeepAlive();
    return local;
  }

  #ringFull(): IllegalStateError {
    return new IllegalStateError(`shared accumulator: appender ${this.id}'s event ring is full (${this.#events.capacity} cells) — layout invariant 5 broken`);
  }

  #closedError(): ClosedError {
    return new ClosedError(this.#closed ? 'cannot send: this appender is closed' : 'cannot send: the shared producer is closed');
  }

  // ================================================================ partitioning

  /** murmur2 of the key (Kafka's default), or the custom partitioner's choice. */
  #choosePartition(t: LocalTopic, key: RecordData): number {
    let partition: number;
    if (this.#partitioner !== null) {
      try {
        partition = this.#partitioner.partition(t.name, key, 0, this.#clusterView);
      } catch (err) {
        throw new InvalidRecordError('partition', `could not be chosen: the partitioner threw ${(err as Error)?.message ?? String(err)}`);
      }
      if (!(Number.isInteger(partition) && partition >= 0 && partition < t.count)) {
        throw new InvalidRecordError('partition', `the partitioner chose ${String(partition)} for topic ${t.name}, which has ${t.count} partition(s)`);
      }
      return partition;
    }
    if (typeof key === 'string') {
      if (key.length * 3 > this.#utf8.length) this.#utf8 = Buffer.allocUnsafe(Math.max(key.length * 3, this.#utf8.length * 2));
      const n = this.#utf8.write(key, 0, 'utf8');
      return toPositive(murmur2(this.#utf8.subarray(0, n))) % t.count;
    }
    if (!(key instanceof Uint8Array)) checkData('key', key);
    return toPositive(murmur2(key as Uint8Array)) % t.count;
  }

  /**
   * The uniform sticky partition of an unkeyed record (KIP-794), shared by every thread so
   * that they fill the same batch: the topic's T_STICKY_PARTITION. Chosen here when there is
   * none, when its leader is unknown, or when a switch was deferred because its batch was not
   * full and now it is (Kafka `RecordAccumulator.partitionChanged`). Plain reads: a stale
   * value costs one record in the previous sticky partition.
   */
  #stickyPartition(t: LocalTopic): number {
    const control = this.#control;
    const p = control[t.entry + this.#stickyWord];
    if (p < 0 || p >= t.count) return this.#switchSticky(t, p);
    const e = partitionEntry(this.#layout, control[t.mapIndex + p]);
    if (control[e + P_LEADER] !== NO_LEADER && (control[e + P_STICKY_BYTES] < this.#batchSize || control[e + P_OPEN] !== 0)) return p;
    // Leave it under its lock, so that its byte count starts again from 0 next time.
    if (!lock(control, e, this.#tag, this.#lockWaitMs)) return p;
    let next = p;
    if (control[t.entry + this.#stickyWord] === p) {
      control[e + P_STICKY_BYTES] = 0;
      next = this.#switchSticky(t, p);
    }
    unlock(control, e);
    return next === p ? control[t.entry + this.#stickyWord] : next;
  }

  /**
   * Counts an unkeyed record (its size approximated as the `Producer` does) against the
   * sticky partition it went to — under that partition's lock, and only while it is still
   * the sticky partition (a thread that read a stale one does not count) — and switches after
   * `batch.size` bytes on a batch boundary, or after twice that anyway (Kafka
   * `BuiltInPartitioner.updatePartitionInfo`). The switch's compareExchange, made under the
   * same lock, happens once per switch: the next thread to count sees the new partition.
   */
  #recordStickyLocked(t: LocalTopic, e: number, partition: number, valueLength: number, batchClosed: boolean): void {
    const control = this.#control;
    if (control[t.entry + this.#stickyWord] !== partition) return;
    const bytes = control[e + P_STICKY_BYTES] + 16 + (valueLength < 0 ? 0 : valueLength);
    if ((bytes >= this.#batchSize && batchClosed) || bytes >= 2 * this.#batchSize) {
      control[e + P_STICKY_BYTES] = 0;
      this.#switchSticky(t, partition);
    } else {
      control[e + P_STICKY_BYTES] = bytes;
    }
  }

  /** Moves the topic's sticky partition from `from` to a new one (one thread wins a race); @returns the sticky partition after. */
  #switchSticky(t: LocalTopic, from: number): number {
    const control = this.#control;
    const next = this.#nextStickyPartition(t);
    const seen = Atomics.compareExchange(control, t.entry + this.#stickyWord, from, next);
    if (seen !== from) return seen >= 0 && seen < t.count ? seen : next;
    return next;
  }

  /**
   * A random partition with a known leader (Kafka `BuiltInPartitioner.nextPartition`), or any
   * when none has one — preferring, with sticky lanes, one no other lane sticks to now, so
   * that threads do not share (and contend for) one sticky batch while there are partitions
   * enough.
   */
  #nextStickyPartition(t: LocalTopic): number {
    const control = this.#control;
    const layout = this.#layout;
    const lanes = this.#stickyShared ? 1 : layout.maxAppenders;
    const taken = this.#stickyScratch;
    taken.length = 0;
    if (lanes > 1) {
      for (let lane = 0; lane < lanes; lane++) {
        if (T_STICKY_PARTITION + lane === this.#stickyWord) continue;
        const p = control[t.entry + T_STICKY_PARTITION + lane];
        if (p >= 0) taken.push(p);
      }
    }
    const candidates = this.#candidateScratch;
    for (let pass = 0; pass < 3; pass++) {
      candidates.length = 0;
      for (let p = 0; p < t.count; p++) {
        if (pass < 2 && control[partitionEntry(layout, control[t.mapIndex + p]) + P_LEADER] === NO_LEADER) continue;
        if (pass === 0 && taken.includes(p)) continue;
        candidates.push(p);
      }
      if (candidates.length > 0) return candidates[Math.floor(Math.random() * candidates.length)];
    }
    return 0;
  }

  // ================================================================ topics

  /**
   * The topic's cached view when it is READY under the current metadata version; null when
   * its metadata is not there yet (it was asked for: wait on META_VERSION).
   * @throws InvalidRecordError for a name Kafka would refuse; BrokerError for a topic the
   *   brokers refused (non-retriable metadata error)
   */
  #readyTopic(name: string): LocalTopic | null {
    const control = this.#control;
    let t = this.#topics.get(name);
    if (t === undefined) {
      checkTopicName(name);
      const entry = this.#findOrAddTopic(name);
      t = { name, entry, version: -1, count: 0, mapIndex: 0 };
      this.#topics.set(name, t);
    }
    const version = Atomics.load(control, META_VERSION_INDEX);
    const state = Atomics.load(control, t.entry + T_STATE);
    if (state === TopicState.READY) {
      t.version = version;
      t.mapIndex = Atomics.load(control, t.entry + T_MAP_INDEX);
      t.count = Atomics.load(control, t.entry + T_PARTITION_COUNT);
      this.#lastTopic = t;
      return t;
    }
    if (state === TopicState.FAILED || state === TopicState.TIMED_OUT) {
      const code = Atomics.load(control, t.entry + T_ERROR_CODE);
      // Ask again (the next answer may differ: an ACL granted, a topic created).
      if (Atomics.compareExchange(control, t.entry + T_STATE, state, TopicState.REQUESTED) === state) {
        Atomics.add(control, TOPIC_REQUESTS_INDEX, 1);
        this.#wakeOwner();
      }
      if (state === TopicState.FAILED) throw brokerErrorFor(code, `metadata for topic ${name}`);
    }
    return null;
  }

  /** Word index of `name`'s entry, adding it (REQUESTED) under TOPIC_LOCK when there is none. */
  #findOrAddTopic(name: string): number {
    const control = this.#control;
    const found = this.#scanTopics(name);
    if (found >= 0) return found;
    const nameBytes = Buffer.from(name, 'utf8');
    if (nameBytes.length > TOPIC_NAME_BYTES) throw new InvalidRecordError('topic', `is ${nameBytes.length} bytes long; the shared producer keeps at most ${TOPIC_NAME_BYTES}`);
    let entry: number;
    lock(control, TOPIC_LOCK_INDEX, this.#tag);
    try {
      const again = this.#scanTopics(name);
      if (again >= 0) return again;
      const index = Atomics.load(control, TOPIC_COUNT_INDEX);
      if (index >= this.#layout.maxTopics) {
        throw new InvalidRecordError('topic', `${name} cannot be added: the shared producer's topic table is full (maxTopics=${this.#layout.maxTopics})`);
      }
      // The name first, REQUESTED next, the count last: a thread that dies in between leaves
      // an entry nobody counts, reused by the next topic.
      entry = topicEntry(this.#layout, index);
      new Uint8Array(control.buffer, (entry + T_NAME_WORD) * 4, TOPIC_NAME_BYTES).set(nameBytes);
      control[entry + T_NAME_LENGTH] = nameBytes.length;
      for (let lane = 0; lane < STICKY_LANES; lane++) Atomics.store(control, entry + T_STICKY_PARTITION + lane, -1);
      Atomics.store(control, entry + T_STATE, TopicState.REQUESTED);
      Atomics.store(control, TOPIC_COUNT_INDEX, index + 1);
    } finally {
      unlock(control, TOPIC_LOCK_INDEX);
    }
    Atomics.add(control, TOPIC_REQUESTS_INDEX, 1);
    this.#wakeOwner();
    return entry;
  }

  /** Word index of `name`'s entry among the published ones, or -1. */
  #scanTopics(name: string): number {
    const control = this.#control;
    const count = Atomics.load(control, TOPIC_COUNT_INDEX);
    const wanted = Buffer.from(name, 'utf8');
    for (let i = 0; i < count; i++) {
      const entry = topicEntry(this.#layout, i);
      if (Atomics.load(control, entry + T_NAME_LENGTH) !== wanted.length) continue;
      const bytes = new Uint8Array(control.buffer, (entry + T_NAME_WORD) * 4, wanted.length);
      if (Buffer.compare(bytes, wanted) === 0) return entry;
    }
    return -1;
  }

  /** For the ClusterView of custom partitioners: a topic's entry, -1 when unknown here. */
  #topicEntryOf(name: string): number {
    return this.#topics.get(name)?.entry ?? this.#scanTopics(name);
  }

  // ================================================================ big records

  #throwTooLarge(upper: number, topic: string, partition: number): never {
    throw new RecordTooLargeError(
      upper,
      `record for ${topic}-${partition} is ${upper} bytes when serialized, larger than ` +
        (upper > this.#maxRequestSize ? `max.request.size=${this.#maxRequestSize}` : `the buffer pool's ${this.#totalMemory} bytes`),
    );
  }

  /**
   * A record bigger than `batch.size` does not fit a pool slot: it goes to the owner, which
   * appends it to a batch of its own (a non-pooled buffer counted against `buffer.memory`,
   * as Kafka does). To keep this thread's order on the partition, the partition's open batch
   * is closed first and the owner appends the record right after adopting that batch
   * (`afterSeq`): this thread's later records go into later batches. Rare path: one message
   * each way per record.
   */
  #sendBig(
    t: LocalTopic,
    partitionIndex: number,
    partition: number,
    ts: number,
    k: RecordData,
    keyLength: number,
    v: RecordData,
    valueLength: number,
    h: readonly RecordHeader[] | null,
    completion: Completion | null,
  ): AttemptCode {
    const control = this.#control;
    const e = partitionEntry(this.#layout, partitionIndex);
    if (!lock(control, e, this.#tag, this.#lockWaitMs)) return WAIT_LOCK;
    if (Atomics.load(control, STATE_INDEX) !== SHARED_OPEN) {
      unlock(control, e);
      throw this.#closedError();
    }
    const open = control[e + P_OPEN];
    if (open !== 0 && control[e + P_COUNT] > 0) this.#closeLocked(e, open - 1, control[e + P_POS], control[e + P_COUNT]);
    const afterSeq = control[e + P_SEQ];
    unlock(control, e);
    this.#afterUnlock();
    const big = new BigRecord(this.#nextBigReq++, t.name, partition, ts, keyLength, valueLength, completion);
    this.#bigs.push(big);
    this.#bigInTransit = big;
    this.#ensureKeepAlive();
    if (this.#owner !== null) {
      this.#owner.appendBig(big.req, partitionIndex, afterSeq, t.name, partition, ts, k, v, h);
    } else {
      const message: SharedChannelMessage = {
        t: 'big',
        from: this.id,
        req: big.req,
        partitionIndex,
        afterSeq,
        topic: t.name,
        partition,
        timestamp: ts,
        key: k,
        value: v,
        headers: h === null ? null : h.map((x) => ({ key: x.key, value: x.value ?? null })),
      };
      this.#channel!.postMessage(message);
    }
    return APPENDED;
  }

  /** Whether the owner appended the big record in transit (then later sends may go). */
  #bigAcked(): boolean {
    const big = this.#bigInTransit;
    if (big === null) return true;
    if (((Atomics.load(this.#control, this.#entry + A_BIG_ACK) - big.req) | 0) < 0) return false;
    this.#bigInTransit = null;
    return true;
  }

  /** The owner finished a big record of this thread. @internal (the owner calls it for its own appender) */
  completeBig(req: number, offset: number, timestampMs: number, error: SluiceError | null): void {
    const i = this.#bigs.findIndex((b) => b.req === req);
    if (i < 0) return;
    const big = this.#bigs[i];
    this.#bigs.splice(i, 1);
    big.done = true;
    if (big.completion !== null) {
      const metadata: RecordMetadata | null =
        error === null
          ? { topic: big.topic, partition: big.partition, offset, timestamp: timestampMs >= 0 ? timestampMs : big.timestampMs, serializedKeySize: big.keySize, serializedValueSize: big.valueSize }
          : null;
      runCompletion(big.completion, error, metadata);
    }
    this.#checkFlushes();
  }

  // ================================================================ waiting sends

  /** Queues a send behind the ones already waiting (FIFO) and pumps the queue. */
  #enqueue(record: SharedProducerRecord, completion: Completion | null, timestampMs: number): Promise<SluiceError | null> {
    const w = new WaitingSend(record, completion, timestampMs, Date.now(), this.#maxBlockMs);
    const settled = new Promise<SluiceError | null>((resolve) => (w.settle = resolve));
    if (this.#waitTail === null) this.#waitHead = w;
    else this.#waitTail.next = w;
    this.#waitTail = w;
    this.#ensureKeepAlive();
    this.#pump();
    return settled;
  }

  /** Retries the waiting sends in order; arms one wait for what the head needs. */
  #pump(): void {
    for (let w = this.#waitHead; w !== null; w = this.#waitHead) {
      let code: AttemptCode;
      try {
        code = this.#tryAppend(w.record, w.completion, w.timestampMs);
      } catch (err) {
        this.#settleHead(asSluiceError(err));
        continue;
      }
      if (code === APPENDED) {
        this.#settleHead(null);
        continue;
      }
      if (w.code !== code) this.#countWait(code);
      w.code = code;
      if (code === WAIT_SLOT) this.#raiseNeed();
      const leftMs = w.deadlineMs - Date.now();
      if (leftMs <= 0) {
        this.#settleHead(this.#waitError(w));
        continue;
      }
      this.#armWait(w, leftMs);
      return;
    }
  }

  #countWait(code: AttemptCode): void {
    if (code === WAIT_SLOT) this.waits.memory++;
    else if (code === WAIT_TOPIC) this.waits.metadata++;
    else if (code === WAIT_LOCK) this.waits.lock++;
    else if (code === WAIT_BIG) this.waits.big++;
  }

  #settleHead(error: SluiceError | null): void {
    const w = this.#waitHead!;
    this.#waitHead = w.next;
    if (this.#waitHead === null) this.#waitTail = null;
    if (error !== null && w.completion !== null) runCompletion(w.completion, error, null);
    w.settle?.(error);
  }

  /** One wait for the head's need: the stash's head (memory), META_VERSION (topic), or the next turn (lock). */
  #armWait(w: WaitingSend, leftMs: number): void {
    if (this.#waitPending) return;
    const control = this.#control;
    let index: number;
    let value: number;
    if (w.code === WAIT_LOCK) {
      this.#waitPending = true;
      setImmediate(this.#onWaitOver);
      return;
    }
    // Read the word, THEN check the condition: a grant (or an answer) that lands after the
    // read changes the word, so the wait returns at once; one before it is seen by the check.
    index = this.#waitWord(w.code);
    value = Atomics.load(control, index);
    if (this.#waitOver(w.code, w.record.topic)) value = value + 1; // 'not-equal' at once
    const result = atomicsWaitAsync(control, index, value | 0, Math.min(leftMs, REARM_MS));
    if (!result.async) {
      this.#waitPending = true;
      queueMicrotask(this.#onWaitOver);
      return;
    }
    this.#waitPending = true;
    result.value.then(this.#onWaitOver, this.#onWaitOver);
  }

  readonly #onWaitOver = (): void => {
    this.#waitPending = false;
    this.#pump();
  };

  /** The shared word whose change ends a wait of kind `code`. */
  #waitWord(code: AttemptCode): number {
    return code === WAIT_SLOT ? this.#stash.headIndex : code === WAIT_BIG ? this.#entry + A_BIG_ACK : META_VERSION_INDEX;
  }

  /** Whether what a send waits for has happened (a slot in the stash, an answer about the topic, the owner took a big record, or the producer closing). */
  #waitOver(code: AttemptCode, topic: string): boolean {
    const control = this.#control;
    if (Atomics.load(control, STATE_INDEX) !== SHARED_OPEN) return true;
    if (code === WAIT_SLOT) return this.#stash.size() > 0;
    if (code === WAIT_BIG) return this.#bigAcked();
    const t = this.#topics.get(topic);
    return t === undefined || Atomics.load(control, t.entry + T_STATE) !== TopicState.REQUESTED;
  }

  /** The error a wait ends with after `max.block.ms`, numbers included. */
  #waitError(w: WaitingSend): SluiceError {
    const waitedMs = Date.now() - w.startMs;
    if (w.code === WAIT_TOPIC) {
      return new TimeoutError(`topic ${w.record.topic} not present in metadata after ${waitedMs} ms (max.block.ms=${this.#maxBlockMs})`);
    }
    if (w.code === WAIT_BIG) {
      return new TimeoutError(`the owner did not take this thread's record larger than batch.size within ${waitedMs} ms (max.block.ms=${this.#maxBlockMs})`);
    }
    if (w.code === WAIT_LOCK) {
      return new TimeoutError(`partition lock of ${w.record.topic} not taken within ${waitedMs} ms (max.block.ms=${this.#maxBlockMs}); an appender thread may have died unwatched`);
    }
    const pool = this.#poolControl;
    return new BufferExhaustedError(
      `could not allocate ${this.#batchSize} bytes within maxBlockMs=${this.#maxBlockMs}; total ${this.#totalMemory}, available ${Atomics.load(pool, POOL_FREE_SLOTS_INDEX) * this.#slotSize}, waiters ${Atomics.load(pool, POOL_WAITERS_INDEX)}`,
    );
  }

  /** Asks the owner for a slot (FIFO ticket), unless already asked; the owner's thread tops itself up at once. */
  #raiseNeed(): void {
    const control = this.#control;
    if (this.#owner !== null) {
      this.#owner.topUpOwner();
      if (this.#stash.size() > 0) return;
    }
    if (Atomics.load(control, this.#entry + A_NEED) !== 0) return;
    Atomics.store(control, this.#entry + A_NEED, (Atomics.add(control, NEED_TICKETS_INDEX, 1) + 1) | 0 || 1);
    this.#wakeOwner();
  }

  /** A blocking appender's wait: `Atomics.wait` until appended or `max.block.ms`. */
  #appendBlocking(record: SharedProducerRecord, completion: Completion | null, code: AttemptCode): undefined {
    const control = this.#control;
    const w = new WaitingSend(record, completion, checkTimestamp(record.timestamp, Date.now()), Date.now(), this.#maxBlockMs);
    w.code = code;
    for (;;) {
      if (w.code === WAIT_SLOT) this.#raiseNeed();
      const leftMs = w.deadlineMs - Date.now();
      if (leftMs <= 0) throw this.#waitError(w);
      const index = this.#waitWord(w.code);
      const value = Atomics.load(control, index);
      if (!this.#waitOver(w.code, record.topic)) Atomics.wait(control, index, value, Math.min(leftMs, REARM_MS));
      const next = this.#tryAppend(record, completion, w.timestampMs);
      if (next === APPENDED) return undefined;
      w.code = next;
    }
  }

  // ================================================================ completions

  /**
   * Runs the completions that arrived for this thread (the owner's answers), now. Callbacks
   * and promises otherwise run when this thread's event loop turns; a blocking appender that
   * keeps its loop busy calls this.
   * @returns the completion cells handled
   */
  poll(): number {
    const ring = this.#completions;
    const control = this.#control;
    const f64 = this.#f64;
    let handled = 0;
    for (let n = ring.size(); n > 0; n = ring.size()) {
      for (let i = 0; i < n; i++) {
        const c = ring.cellAt(0);
        const partitionIndex = control[c + C_PARTITION];
        const seq = control[c + C_SEQ];
        const firstDelta = control[c + C_FIRST_DELTA];
        const count = control[c + C_COUNT];
        const total = control[c + C_TOTAL];
        const errorId = control[c + C_ERROR_ID];
        const baseOffset = f64[(c + C_BASE_OFFSET) >> 1];
        const logAppendTimeMs = f64[(c + C_LOG_APPEND_TIME) >> 1];
        ring.consume(1); // before user code runs: a callback that polls again sees the next cell
        handled++;
        if (errorId !== 0 && !this.#errors.has(errorId)) {
          this.#awaitingErrors.push([partitionIndex, seq, firstDelta, count, total, errorId, baseOffset, logAppendTimeMs]);
          continue;
        }
        this.completeRange(partitionIndex, seq, firstDelta, count, total, errorId === 0 ? null : this.#errors.get(errorId)!, baseOffset, logAppendTimeMs);
      }
    }
    if (handled !== 0 && Atomics.load(control, this.#entry + A_OVERFLOW) !== 0) {
      Atomics.add(control, this.#entry + A_DRAINED, 1);
      this.#wakeOwner();
    }
    return handled;
  }

  /**
   * Records `[firstDelta, firstDelta + count)` of batch (partition entry, seq), which holds
   * `total` records, ended. @internal (the owner calls it for its own appender)
   */
  completeRange(partitionIndex: number, seq: number, firstDelta: number, count: number, total: number, error: SluiceError | null, baseOffset: number, logAppendTimeMs: number): void {
    let previous: LocalBatch | null = null;
    let b = this.#oldest[partitionIndex] ?? null;
    while (b !== null && b.seq !== seq) {
      previous = b;
      b = b.next;
    }
    if (b === null) return; // not a batch this thread wrote into (an earlier incarnation's)
    const completions = b.completions;
    if (completions !== null) {
      const end = firstDelta + count;
      for (let i = 0; i < completions.length; i++) {
        const c = completions[i];
        if (c.delta < firstDelta || c.delta >= end) continue;
        runCompletion(
          c.completion,
          error,
          error === null
            ? {
                topic: b.topic,
                partition: b.partition,
                offset: baseOffset < 0 ? -1 : baseOffset + (c.delta - firstDelta),
                timestamp: logAppendTimeMs >= 0 ? logAppendTimeMs : c.timestampMs,
                serializedKeySize: c.keySize,
                serializedValueSize: c.valueSize,
              }
            : null,
        );
      }
    }
    b.covered += count;
    if (b.covered < total) return;
    b.done = true;
    b.completions = null;
    if (previous === null) this.#oldest[partitionIndex] = b.next;
    else previous.next = b.next;
    if (this.#newest[partitionIndex] === b) this.#newest[partitionIndex] = previous;
    if (this.#current[partitionIndex] === b) this.#current[partitionIndex] = undefined;
    this.#incomplete--;
    if (this.#flushWaiters.length !== 0) this.#checkFlushes();
  }

  /** An error the owner sent over the channel. @internal (the owner registers its own) */
  registerError(id: number, error: SluiceError): void {
    this.#errors.set(id, error);
    if (this.#awaitingErrors.length === 0) return;
    const waiting = this.#awaitingErrors;
    this.#awaitingErrors = [];
    for (const cell of waiting) {
      const known = this.#errors.get(cell[5]);
      if (known === undefined) this.#awaitingErrors.push(cell);
      else this.completeRange(cell[0], cell[1], cell[2], cell[3], cell[4], known, cell[6], cell[7]);
    }
  }

  readonly #onChannelMessage = (event: MessageEvent): void => {
    const m = event.data as SharedChannelMessage;
    if (m === null || typeof m !== 'object') return;
    if (m.t === 'error') this.registerError(m.id, deserializeError(m.error));
    else if (m.t === 'bigdone' && m.to === this.id) this.completeBig(m.req, m.offset, m.timestamp, m.error === null ? null : deserializeError(m.error as SerializedError));
  };

  /** Keeps this thread alive (and polling, as a safety net) while anything of it is pending; completions wake it sooner through the ring's head. */
  #ensureKeepAlive(): void {
    if (this.#owner !== null) return; // the owner's producer keeps its thread alive, and calls completeRange itself
    if (this.#keepAlive === null) this.#keepAlive = setInterval(this.#onKeepAlive, REARM_MS);
    this.#armCompletionWait();
  }

  readonly #onKeepAlive = (): void => {
    if (this.#declaredGone()) return;
    this.poll();
    if (this.#waitHead !== null && !this.#waitPending) this.#pump();
    if (this.#incomplete === 0 && this.#bigs.length === 0 && this.#waitHead === null && this.#keepAlive !== null) {
      clearInterval(this.#keepAlive);
      this.#keepAlive = null;
    }
  };

  /**
   * Whether the owner recovered this appender as gone (its thread was reported exited — a
   * `watch` on the wrong worker, or a test that declares the thread dead) while it still
   * runs. Its completions are no longer delivered, so its pending records fail with a
   * ClosedError, it detaches, and nothing of it keeps the thread alive. Checked on the
   * keep-alive poll only (the rare case costs nothing per record).
   */
  #declaredGone(): boolean {
    if (this.#owner !== null || this.#closed) return false;
    const control = this.#control;
    const state = Atomics.load(control, this.#entry + A_STATE);
    if (state === AppenderState.LIVE && Atomics.load(control, this.#entry + A_INCARNATION) === this.#incarnation) return false;
    const error = new ClosedError(`appender ${this.id} was recovered as gone (its thread was reported exited) while it still ran: its pending records are no longer tracked`);
    this.#closed = true;
    this.failWaiting(error);
    for (let p = 0; p < this.#oldest.length; p++) {
      for (let b = this.#oldest[p] ?? null; b !== null; b = b.next) {
        if (b.completions !== null) for (const c of b.completions) runCompletion(c.completion, error, null);
        b.completions = null;
        b.done = true;
      }
      this.#oldest[p] = null;
      this.#newest[p] = null;
      this.#current[p] = undefined;
    }
    this.#incomplete = 0;
    if (this.#flushWaiters.length !== 0) this.#checkFlushes();
    this.#channel?.close();
    if (this.#keepAlive !== null) clearInterval(this.#keepAlive);
    this.#keepAlive = null;
    return true;
  }

  /** One Atomics.waitAsync on the completion ring's head while batches of this thread are incomplete. */
  #armCompletionWait(): void {
    if (this.#completionWaitPending || this.#owner !== null) return;
    const control = this.#control;
    const index = this.#completions.headIndex;
    Atomics.store(control, this.#entry + A_WAITING, 1);
    const head = Atomics.load(control, index);
    if (this.#completions.size() > 0) {
      this.#completionWaitPending = true;
      queueMicrotask(this.#onCompletions);
      return;
    }
    const result = atomicsWaitAsync(control, index, head, REARM_MS * 4);
    this.#completionWaitPending = true;
    if (!result.async) queueMicrotask(this.#onCompletions);
    else result.value.then(this.#onCompletions, this.#onCompletions);
  }

  readonly #onCompletions = (): void => {
    this.#completionWaitPending = false;
    this.poll();
    if (this.#incomplete !== 0 || this.#bigs.length !== 0 || this.#awaitingErrors.length !== 0) this.#armCompletionWait();
    else Atomics.store(this.#control, this.#entry + A_WAITING, 0);
  };

  // ================================================================ flush / close

  /**
   * Sends everything this thread sent so far right away (linger ends) and resolves when each
   * of its records is complete — success or failure — including sends still waiting for
   * metadata or memory when it was called. Records of other threads are not waited for.
   * Never rejects.
   */
  async flush(): Promise<void> {
    if (this.#waitTail !== null) {
      const last = this.#waitTail;
      await new Promise<void>((resolve) => {
        const previous = last.settle;
        last.settle = (error) => {
          previous?.(error);
          resolve();
        };
      });
    }
    const batches: (LocalBatch | BigRecord)[] = [...this.#bigs];
    for (const list of this.#oldest) for (let b = list ?? null; b !== null; b = b.next) batches.push(b);
    if (batches.length === 0) return;
    const control = this.#control;
    Atomics.add(control, FLUSH_REQUESTS_INDEX, 1);
    this.#wakeOwner();
    this.#ensureKeepAlive();
    await new Promise<void>((resolve) => {
      this.#flushWaiters.push({ batches, index: 0, resolve });
      this.#checkFlushes();
    });
  }

  #checkFlushes(): void {
    const waiters = this.#flushWaiters;
    for (let i = 0; i < waiters.length; ) {
      const w = waiters[i];
      while (w.index < w.batches.length && w.batches[w.index].done) w.index++;
      if (w.index < w.batches.length) {
        i++;
        continue;
      }
      waiters.splice(i, 1);
      w.resolve();
    }
  }

  /**
   * Flushes, then detaches this thread from the shared producer (its appender id can be used
   * again). Later sends throw ClosedError. Idempotent.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.flush();
    this.#closed = true;
    if (this.#owner === null) {
      Atomics.store(this.#control, this.#entry + A_STATE, AppenderState.CLOSED);
      this.#wakeOwner();
      this.#channel?.close();
    }
    if (this.#keepAlive !== null) clearInterval(this.#keepAlive);
    this.#keepAlive = null;
  }

  /** Fails this thread's waiting sends with `error` (the owner closing). @internal */
  failWaiting(error: SluiceError): void {
    while (this.#waitHead !== null) this.#settleHead(error);
  }

  // ================================================================ attach

  /** Takes a FREE appender id (1 … maxAppenders − 1) with compareExchange. */
  #claimId(): number {
    const control = this.#control;
    for (let id = 1; id < this.#layout.maxAppenders; id++) {
      const entry = appenderEntry(this.#layout, id);
      if (Atomics.compareExchange(control, entry + A_STATE, AppenderState.FREE, AppenderState.ATTACHING) !== AppenderState.FREE) continue;
      Atomics.store(control, entry + A_THREAD_ID, threadId);
      Atomics.add(control, entry + A_INCARNATION, 1);
      Atomics.store(control, entry + A_NEED, 0);
      Atomics.store(control, entry + A_WAITING, 0);
      return id;
    }
    throw new ConfigError(
      `Producer.attach: all ${this.#layout.maxAppenders - 1} appender ids of this shared producer are in use; close appenders you no longer need, or call shareable({ maxAppenders }) with more`,
    );
  }
}

/** Tells one record's completion its outcome; a throwing callback is reported, not propagated. */
function runCompletion(completion: Completion, error: SluiceError | null, metadata: RecordMetadata | null): void {
  try {
    if (completion instanceof PromiseCompletion) {
      if (error !== null) completion.reject(error);
      else completion.resolve(metadata!);
    } else {
      completion(error, metadata);
    }
  } catch (err) {
    reportUserHookError('record callback', err);
  }
}
