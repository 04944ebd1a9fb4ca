/**
 * `SharedIntake`: the owner's side of a producer shared by several threads
 * (`shared-appender.ts` is the appenders' side; `shared-accumulator-layout.ts` the memory
 * both read). It runs on the owning producer's thread, woken by the doorbell word
 * (`Atomics.waitAsync`), and turns what appender threads did in shared memory into the
 * owner's ordinary accumulator state, so that ready / drain / seal / sequence numbers /
 * retries / expiry / release stay exactly as for a single-thread producer:
 *
 * ```
 *   appender rings ──► OPENED slot  → schedule the batch's linger (createdMs + linger.ms)
 *                      CLOSED slot  → receive → in P_SEQ order → RecordAccumulator.adoptBatch
 *   linger due / flush / memory pressure / close → detach the open batch (under its lock)
 *                                                  → receive, like a CLOSED one
 *   NEED tickets (FIFO) → pool.allocate → grant into the appender's stash (+ notify)
 *   stashes kept topped up → new batches need no round trip
 *   topic requests → ProducerMetadata.awaitTopic → publish partitions, leaders, META_VERSION
 *   batch done → BatchCompletionSink → one completion cell per writer thread (+ notify)
 *   worker exit (watch) → recovery: the dead thread's locks, slots and half-done batches
 * ```
 *
 * Key insight — order without a global queue. Each appender publishes to its own SPSC ring
 * (a thread that dies mid-publish blocks nobody: `spsc-ring.ts`), so the owner may see
 * partition P's batch 8 (closed by thread B) before batch 7 (closed by thread A, whose ring
 * it read first, or who is still compressing it). Every batch carries its partition's
 * sequence number, taken under the partition's lock when it was opened; the owner adopts a
 * partition's batches strictly in that order, parking the early ones (rare: a few per
 * second under contention). A batch the owner detaches (linger) is numbered the same way,
 * so it too waits for every earlier batch of its partition.
 *
 * Thread death (`watch(worker)`): the rule is that a record exists once COMMITTED (the
 * partition's P_POS covers it). Recovery, on the owner's thread after the worker's 'exit':
 * 1. the dead thread's published events are processed as usual;
 * 2. each partition it held locked is repaired from its committed cursor — the record being
 *    written past P_POS is garbage that the next record overwrites; the count and the largest
 *    timestamp are recounted from the committed bytes; a batch it had already closed is
 *    taken off the partition — and the lock is broken;
 * 3. batches it had closed but not published (or was compressing) are received from their
 *    descriptors; a half-written compressed copy is dropped (its slot freed) and the intact
 *    raw records are sent instead;
 * 4. slots still in its stash — granted, never installed — go back to the pool.
 * So nothing half-written is ever drained, no slot leaks, and every record another thread
 * committed into a batch the dead thread touched is delivered.
 */
import type { Worker } from 'node:worker_threads';
import { BroadcastChannel, threadId } from 'node:worker_threads';
import type { PartitionHandle } from '../accumulator/partition-deque.js';
import type { BatchCompletionSink, ProducerBatch } from '../accumulator/producer-batch.js';
import type { RecordAccumulator } from '../accumulator/record-accumulator.js';
import type { Scheduler, TimerHandle } from '../clock.js';
import type { ProducerConfig } from '../config.js';
import { AbortedError, BrokerError, ClosedError, ConfigError, TimeoutError, asSluiceError } from '../errors.js';
import type { SluiceError } from '../errors.js';
import { CompressionType } from '../format/compression-type.js';
import type { RecordData, RecordHeader } from '../format/record-data.js';
import { RECORD_BATCH_OVERHEAD } from '../format/record-batch-layout.js';
import { readVarint, readVarlong } from '../format/varint.js';
import type { VarintRead } from '../format/varint.js';
import type { BufferPool } from '../memory/buffer-pool.js';
import type { PoolSlot } from '../memory/pool-slot.js';
import { POOL_ID_INDEX as POOL_POOL_ID_INDEX } from '../memory/pool-layout.js';
import type { ProducerMetadata } from '../metadata/producer-metadata.js';
import type { Partitioner } from '../partitioner/default-partitioner.js';
import { breakLock, lock, lockHolder, lockTag, unlock } from './partition-lock.js';
import {
  A_BIG_ACK,
  A_DRAINED,
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
  COMPLETION_CAPACITY_INDEX,
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
  EVENT_CAPACITY_INDEX,
  EVENT_KIND_SHIFT,
  EVENT_SLOT_MASK,
  EventKind,
  FLUSH_REQUESTS_INDEX,
  LEVEL_INDEX,
  LINGER_MS_INDEX,
  MAGIC_INDEX,
  MAP_USED_INDEX,
  MAX_APPENDERS_INDEX,
  MAX_BLOCK_INFINITE,
  MAX_BLOCK_MS_INDEX,
  MAX_PARTITIONS_INDEX,
  MAX_REQUEST_SIZE_INDEX,
  MAX_TOPICS_INDEX,
  META_VERSION_INDEX,
  OWNER_APPENDER_ID,
  OWNER_SLEEPING_INDEX,
  OWNER_THREAD_ID_INDEX,
  P_BASE_TS,
  P_COUNT,
  P_LEADER,
  P_LOCK,
  P_MAX_TS,
  P_OPEN,
  P_POS,
  P_SEQ,
  P_WRITERS0,
  P_WRITERS1,
  PARTITIONS_USED_INDEX,
  PARTITION_WORDS,
  POOL_ID_INDEX,
  RING_CELLS,
  RING_HEAD,
  RING_TAIL,
  SHARED_CLOSED,
  SHARED_CLOSING,
  SHARED_LAYOUT_VERSION,
  SHARED_MAGIC,
  SLOT_COUNT_INDEX,
  STASH_CAPACITY_INDEX,
  STASH_TARGET_INDEX,
  STATE_INDEX,
  STICKY_MODE_INDEX,
  STICKY_PER_THREAD,
  STICKY_SHARED,
  TOPIC_COUNT_INDEX,
  TOPIC_LOCK_INDEX,
  TOPIC_REQUESTS_INDEX,
  T_ERROR_CODE,
  T_MAP_CAPACITY,
  T_MAP_INDEX,
  T_NAME_LENGTH,
  T_NAME_WORD,
  T_PARTITION_COUNT,
  T_STATE,
  TopicState,
  VERSION_INDEX,
  appenderEntry,
  completionRingOf,
  computeSharedLayout,
  descriptorEntry,
  eventRingOf,
  nextPowerOfTwo,
  partitionEntry,
  stashOf,
  topicEntry,
} from './shared-accumulator-layout.js';
import type { SharedLayout } from './shared-accumulator-layout.js';
import { SharedAppender } from './shared-appender.js';
import type { SharedOwnerLink, SharedProducerHandle } from './shared-appender.js';
import { deserializeError, serializeError, sharedChannelName } from './shared-errors.js';
import type { SharedChannelMessage } from './shared-errors.js';
import { SpscRing } from './spsc-ring.js';

/** Sizes of a shared producer's tables (`producer.shareable(options)`). */
export interface SharedProducerOptions {
  /** Threads that may append at once, the owner included (2 … 64). Default 16. */
  readonly maxAppenders?: number;
  /** Topics the shared producer can send to. Default 256. */
  readonly maxTopics?: number;
  /** Partitions, over all its topics. Default 8192. */
  readonly maxPartitions?: number;
  /**
   * Unkeyed records' sticky partitions (KIP-794): `'per-thread'` (default), one sticky
   * partition per appending thread, so threads do not contend for one partition; or
   * `'shared'`, one for the whole producer as in Kafka's Java producer, so every thread fills
   * the same batch (fewer, fuller batches at low rates; measured slower than one thread for
   * two busy threads: see `shared-accumulator-layout.ts`, "Topic entry").
   */
  readonly sticky?: 'per-thread' | 'shared';
}

/** What the intake works with: the owning producer's parts. */
export interface SharedIntakeOptions extends SharedProducerOptions {
  readonly accumulator: RecordAccumulator;
  readonly metadata: ProducerMetadata;
  readonly scheduler: Scheduler;
  readonly config: ProducerConfig;
  /** Starts a flush of the owner's accumulator (the sender's `flush`). */
  readonly flush: () => Promise<void>;
  /** The owning producer's custom partitioner, for its own sends (undefined: Kafka's default, shared sticky state). */
  readonly partitioner?: Partitioner;
}

/** Longest single doorbell wait before the owner looks again on its own (ms). */
const DOORBELL_REARM_MS = 1_000;
/** While busy, the owner looks at every ring this often (ms) instead of being woken per batch. */
const POLL_MS = 1;
/** Polls in a row that find nothing before the owner goes back to sleeping on the doorbell. */
const IDLE_POLLS_BEFORE_SLEEP = 3;
/** Most slots a stash is kept topped up with. */
const MAX_STASH_TARGET = 128;

type WaitAsyncResult = { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> };
const atomicsWaitAsync = (
  Atomics as unknown as { waitAsync(array: Int32Array, index: number, value: number, timeoutMs?: number): WaitAsyncResult }
).waitAsync.bind(Atomics);

/** The completion sink of one adopted batch: its outcome goes to each thread that wrote into it. */
class SharedBatchOrigin implements BatchCompletionSink {
  readonly #intake: SharedIntake;
  readonly partitionIndex: number;
  readonly seq: number;
  readonly total: number;
  readonly writers0: number;
  readonly writers1: number;
  constructor(intake: SharedIntake, partitionIndex: number, seq: number, total: number, writers0: number, writers1: number) {
    this.#intake = intake;
    this.partitionIndex = partitionIndex;
    this.seq = seq;
    this.total = total;
    this.writers0 = writers0;
    this.writers1 = writers1;
  }
  batchDone(batch: ProducerBatch, firstDelta: number, baseOffset: number, logAppendTimeMs: number, error: SluiceError | null): void {
    this.#intake.deliver(this, firstDelta, batch.recordCount, baseOffset, logAppendTimeMs, error);
  }
}

/** A record bigger than batch.size waiting until its partition's batches before it are adopted. */
interface BigRecordAction {
  readonly afterSeq: number;
  readonly run: () => void;
}

/** The owner's side of a shared producer; see the file comment. */
export class SharedIntake implements SharedOwnerLink {
  /** What appender threads attach with (SharedArrayBuffers only). */
  readonly handle: SharedProducerHandle;
  /** The owner's own appender (id 0): the owning producer's sends go through it. */
  readonly appender: SharedAppender;
  readonly #control: Int32Array;
  readonly #f64: Float64Array;
  readonly #layout: SharedLayout;
  readonly #acc: RecordAccumulator;
  readonly #pool: BufferPool;
  readonly #metadata: ProducerMetadata;
  readonly #scheduler: Scheduler;
  readonly #config: ProducerConfig;
  readonly #flush: () => Promise<void>;
  readonly #channel: BroadcastChannel;
  readonly #tag = lockTag(OWNER_APPENDER_ID);
  readonly #poolBytes: Buffer;
  readonly #poolDataOffset: number;

  // per appender
  readonly #events: SpscRing[] = [];
  readonly #stashes: SpscRing[] = [];
  readonly #completions: SpscRing[] = [];
  readonly #known: number[] = [];
  readonly #allocPending: boolean[] = [];
  readonly #overflow: number[][][] = [];
  readonly #drainedSeen: number[] = [];
  #liveCount = 1;

  // per partition entry
  readonly #pTopic: string[] = [];
  readonly #pPartition: number[] = [];
  readonly #pHandle: PartitionHandle[] = [];
  readonly #nextSeq: number[] = [];
  readonly #parked: (number[] | undefined)[] = [];
  readonly #barriers: (BigRecordAction[] | undefined)[] = [];

  // topics
  readonly #topicIndex = new Map<string, number>();
  readonly #topicBusy: boolean[] = [];
  #topicRequestsSeen = 0;

  // slots granted, by slot index: the owner's handles of memory lent to appenders
  readonly #granted: (PoolSlot | undefined)[] = [];

  // linger: a FIFO of (partition, seq, due); linger.ms is one value, so it is (nearly) in order
  #lingerPartition: number[] = [];
  #lingerSeq: number[] = [];
  #lingerAt: number[] = [];
  #lingerHead = 0;
  #lingerTimer: TimerHandle | null = null;
  #lingerTimerAt = Infinity;

  #doorbellSeen = 0;
  #doorbellPending = false;
  #doorbellDeferred = false;
  #pollTimer: ReturnType<typeof setTimeout> | null = null;
  #idlePolls = 0;
  /** Events, requests and needs handled by the last {@link process}. */
  #handled = 0;
  #flushSeen = 0;
  readonly #errorIds = new WeakMap<object, number>();
  #nextErrorId = 1;
  #notifyMask0 = 0;
  #notifyMask1 = 0;
  #notifyScheduled = false;
  #closing = false;
  #closed = false;
  /** Nothing more can arrive: the doorbell is no longer watched. */
  #stopped = false;
  /** Appenders whose stash is taken back once they finish compressing (close). */
  #reclaimAfterSeal: number[] = [];
  /**
   * What recoveries found (tests and operators): threads recovered, partition locks broken,
   * open batches repaired from their committed cursor, batches received from a dead
   * thread's descriptors, half-written compressed copies dropped, stash slots returned.
   */
  readonly recoveryStats = { threads: 0, locksBroken: 0, batchesRepaired: 0, batchesFromDescriptors: 0, sealCopiesDropped: 0, stashSlotsFreed: 0 };
  readonly #watched: { worker: Worker; listener: () => void }[] = [];
  /** Owner CPU spent in the intake (ns), for the benchmark's "owner cost per batch". */
  intakeNs = 0n;
  /** Batches adopted so far. */
  adopted = 0;

  /**
   * Makes the owning producer shareable: builds the shared accumulator's memory next to its
   * pool and the owner's own appender.
   * @throws ConfigError for table sizes out of range
   */
  constructor(options: SharedIntakeOptions) {
    this.#acc = options.accumulator;
    this.#pool = options.accumulator.pool;
    this.#metadata = options.metadata;
    this.#scheduler = options.scheduler;
    this.#config = options.config;
    this.#flush = options.flush;
    const slotCount = this.#pool.slotCount;
    const params = {
      maxAppenders: options.maxAppenders ?? 16,
      maxTopics: options.maxTopics ?? 256,
      maxPartitions: options.maxPartitions ?? 8192,
      slotCount,
      stashCapacity: nextPowerOfTwo(MAX_STASH_TARGET + 2),
      eventCapacity: nextPowerOfTwo(2 * slotCount + 2),
      completionCapacity: nextPowerOfTwo(Math.max(64, Math.min(slotCount, 1024))),
    };
    const layout = computeSharedLayout(params);
    const shared = new SharedArrayBuffer(layout.sharedBytes);
    const control = new Int32Array(shared);
    this.#control = control;
    this.#f64 = new Float64Array(shared);
    this.#layout = layout;
    const config = this.#config;
    const channelId = crypto.getRandomValues(new Int32Array(1))[0]! | 1;
    // Not visible to any other thread yet: plain stores.
    control[MAGIC_INDEX] = SHARED_MAGIC;
    control[VERSION_INDEX] = SHARED_LAYOUT_VERSION;
    control[CHANNEL_ID_INDEX] = channelId;
    control[POOL_ID_INDEX] = new Int32Array(this.#pool.sharedBuffer, 0, POOL_POOL_ID_INDEX + 1)[POOL_POOL_ID_INDEX];
    control[BATCH_SIZE_INDEX] = config.batchSize;
    control[LINGER_MS_INDEX] = config.lingerMs;
    control[MAX_BLOCK_MS_INDEX] = Number.isFinite(config.maxBlockMs) && config.maxBlockMs <= 0x7fffffff ? config.maxBlockMs : MAX_BLOCK_INFINITE;
    control[CODEC_INDEX] = CompressionType[config.compressionType];
    control[LEVEL_INDEX] =
      config.compressionType === 'gzip' ? config.compressionGzipLevel : config.compressionType === 'lz4' ? config.compressionLz4Level : config.compressionType === 'zstd' ? config.compressionZstdLevel : 0;
    control[MAX_REQUEST_SIZE_INDEX] = config.maxRequestSize;
    control[MAX_APPENDERS_INDEX] = params.maxAppenders;
    control[MAX_TOPICS_INDEX] = params.maxTopics;
    control[MAX_PARTITIONS_INDEX] = params.maxPartitions;
    control[SLOT_COUNT_INDEX] = slotCount;
    control[STASH_CAPACITY_INDEX] = params.stashCapacity;
    control[EVENT_CAPACITY_INDEX] = params.eventCapacity;
    control[COMPLETION_CAPACITY_INDEX] = params.completionCapacity;
    control[OWNER_THREAD_ID_INDEX] = threadId;
    if (options.sticky !== undefined && options.sticky !== 'per-thread' && options.sticky !== 'shared') {
      throw new ConfigError(`sticky must be 'per-thread' or 'shared', got ${String(options.sticky)}`);
    }
    control[STICKY_MODE_INDEX] = options.sticky === 'shared' ? STICKY_SHARED : STICKY_PER_THREAD;
    for (let a = 0; a < params.maxAppenders; a++) {
      this.#events.push(new SpscRing(control, eventRingOf(layout, a), params.eventCapacity, 1));
      this.#stashes.push(new SpscRing(control, stashOf(layout, a), params.stashCapacity, 1));
      this.#completions.push(new SpscRing(control, completionRingOf(layout, a), params.completionCapacity, COMPLETION_WORDS));
      this.#known.push(AppenderState.FREE);
      this.#allocPending.push(false);
      this.#overflow.push([]);
      this.#drainedSeen.push(0);
    }
    control[appenderEntry(layout, OWNER_APPENDER_ID) + A_STATE] = AppenderState.LIVE;
    control[appenderEntry(layout, OWNER_APPENDER_ID) + A_THREAD_ID] = threadId;
    this.#known[OWNER_APPENDER_ID] = AppenderState.LIVE;
    this.#updateStashTarget();
    this.#poolBytes = Buffer.from(this.#pool.sharedBuffer);
    this.#poolDataOffset = this.#pool.sharedBuffer.byteLength - slotCount * this.#pool.poolableSize;
    this.handle = { pool: this.#pool.sharedBuffer, accumulator: shared };
    this.#channel = new BroadcastChannel(sharedChannelName(channelId));
    this.#channel.onmessage = this.#onChannelMessage;
    (this.#channel as unknown as { unref?(): void }).unref?.();
    this.appender = new SharedAppender(this.handle, { partitioner: options.partitioner }, this);
    this.#metadata.onUpdate((update) => {
      for (const topic of update.changedTopics) {
        const index = this.#topicIndex.get(topic);
        if (index !== undefined) this.#publishTopic(index, topic);
      }
    });
    this.#topUp(OWNER_APPENDER_ID);
    this.#armDoorbell();
  }

  /** Whether the shared producer is closing or closed. */
  get isClosing(): boolean {
    return this.#closing;
  }

  // ================================================================ doorbell

  /**
   * Two modes. SLEEPING: one `Atomics.waitAsync` on the doorbell, which appenders ring after
   * publishing (they read OWNER_SLEEPING first). BUSY: a timer every {@link POLL_MS} looks at
   * every ring, and appenders do not ring at all: a notify wakes this thread's event loop
   * with a task, and one per batch cost the appender threads more than anything else they
   * did. The owner goes back to sleep after {@link IDLE_POLLS_BEFORE_SLEEP} empty polls.
   * Going to sleep: OWNER_SLEEPING ← 1, THEN one more look at every ring, THEN wait — an
   * appender that published before that look is seen by it; one after it reads 1 and rings.
   */
  #armDoorbell(): void {
    if (this.#doorbellPending || this.#pollTimer !== null || this.#stopped) return;
    const control = this.#control;
    if (this.#handled !== 0) this.#idlePolls = 0;
    else this.#idlePolls++;
    if (this.#idlePolls < IDLE_POLLS_BEFORE_SLEEP) {
      if (Atomics.load(control, OWNER_SLEEPING_INDEX) !== 0) Atomics.store(control, OWNER_SLEEPING_INDEX, 0);
      this.#pollTimer = setTimeout(this.#onPoll, POLL_MS);
      this.#pollTimer.unref();
      return;
    }
    const seen = Atomics.load(control, DOORBELL_INDEX);
    if (Atomics.load(control, OWNER_SLEEPING_INDEX) === 0) {
      Atomics.store(control, OWNER_SLEEPING_INDEX, 1);
      this.process();
      if (this.#handled !== 0) {
        this.#idlePolls = 0;
        Atomics.store(control, OWNER_SLEEPING_INDEX, 0);
        this.#pollTimer = setTimeout(this.#onPoll, POLL_MS);
        this.#pollTimer.unref();
        return;
      }
    }
    const result = atomicsWaitAsync(control, DOORBELL_INDEX, seen, DOORBELL_REARM_MS);
    if (!result.async) {
      // Rang since we looked: handle it on the next turn (never inline: bounded work per turn).
      if (!this.#doorbellDeferred) {
        this.#doorbellDeferred = true;
        setImmediate(this.#onDoorbell);
      }
      return;
    }
    this.#doorbellPending = true;
    result.value.then(this.#onDoorbell, this.#onDoorbell);
  }

  readonly #onPoll = (): void => {
    this.#pollTimer = null;
    this.#onWake();
  };

  readonly #onDoorbell = (): void => {
    this.#doorbellPending = false;
    this.#doorbellDeferred = false;
    this.#onWake();
  };

  #onWake(): void {
    if (this.#stopped) return;
    this.process();
    if (this.#closed) this.#afterClose();
    if (!this.#stopped) this.#armDoorbell();
  }

  /**
   * Handles everything appenders published: events, topic requests, memory needs, flush
   * requests, drained completion rings; keeps stashes topped up. Runs on the doorbell; the
   * owner's producer also calls it before a flush or close. Never per record.
   */
  process(): void {
    const start = process.hrtime.bigint();
    const control = this.#control;
    this.#handled = 0;
    this.#doorbellSeen = Atomics.load(control, DOORBELL_INDEX);
    this.#scanAppenders();
    const max = this.#layout.maxAppenders;
    for (let a = 0; a < max; a++) if (this.#known[a] !== AppenderState.FREE) this.#drainEvents(a);
    const topicRequests = Atomics.load(control, TOPIC_REQUESTS_INDEX);
    if (topicRequests !== this.#topicRequestsSeen) {
      this.#topicRequestsSeen = topicRequests;
      this.#handled++;
      this.#serveTopics();
    }
    this.#serveNeeds();
    for (let a = 1; a < max; a++) if (this.#overflow[a].length !== 0) this.#retryOverflow(a);
    for (let a = 0; a < max; a++) if (this.#known[a] === AppenderState.LIVE) this.#topUp(a);
    const flushes = Atomics.load(control, FLUSH_REQUESTS_INDEX);
    if (flushes !== this.#flushSeen) {
      this.#flushSeen = flushes;
      this.#handled++;
      this.#detachAll();
      void this.#flush();
    }
    this.intakeNs += process.hrtime.bigint() - start;
  }

  /** Notices appenders that attached (stash target) and appenders that closed (their memory back). */
  #scanAppenders(): void {
    const control = this.#control;
    let changed = false;
    for (let a = 1; a < this.#layout.maxAppenders; a++) {
      const state = Atomics.load(control, appenderEntry(this.#layout, a) + A_STATE);
      if (state === this.#known[a]) continue;
      if (state === AppenderState.CLOSED) {
        this.#drainEvents(a);
        this.#reclaim(a);
        changed = true;
        continue;
      }
      if (state === AppenderState.LIVE || state === AppenderState.FREE) changed = true;
      this.#known[a] = state;
    }
    if (changed) this.#updateStashTarget();
  }

  /**
   * Slots kept in each live appender's stash: enough for a burst of new batches without a
   * round trip, but never so many that idle stashes hold memory other threads wait for
   * (an eighth of the pool over all stashes; 0 for a small pool: every new batch asks).
   */
  #updateStashTarget(): void {
    let live = 0;
    for (let a = 0; a < this.#layout.maxAppenders; a++) if (this.#known[a] === AppenderState.LIVE) live++;
    this.#liveCount = live;
    const target = Math.max(0, Math.min(MAX_STASH_TARGET, Math.floor(this.#layout.slotCount / (4 * Math.max(1, live)))));
    Atomics.store(this.#control, STASH_TARGET_INDEX, target);
  }

  // ================================================================ events and adoption

  #drainEvents(a: number): void {
    const ring = this.#events[a];
    const control = this.#control;
    for (let n = ring.size(); n > 0; n = ring.size()) {
      this.#handled += n;
      for (let i = 0; i < n; i++) {
        const word = control[ring.cellAt(0)];
        ring.consume(1);
        const slot = word & EVENT_SLOT_MASK;
        if (word >>> EVENT_KIND_SHIFT === EventKind.OPENED) this.#onOpened(slot);
        else this.#receive(slot);
      }
    }
  }

  #onOpened(slot: number): void {
    const d = descriptorEntry(this.#layout, slot);
    const control = this.#control;
    this.#scheduleLinger(control[d + D_PARTITION], control[d + D_SEQ], this.#f64[(d + D_CREATED_MS) >> 1] + Atomics.load(control, LINGER_MS_INDEX));
  }

  /**
   * The owner takes responsibility for a closed batch (layout invariant 1): RECEIVED first,
   * then adopted in its partition's sequence order.
   */
  #receive(slot: number): void {
    const control = this.#control;
    const d = descriptorEntry(this.#layout, slot);
    Atomics.store(control, d + D_STATE, DescriptorState.RECEIVED);
    const partitionIndex = control[d + D_PARTITION];
    const seq = control[d + D_SEQ];
    if (seq === this.#nextSeq[partitionIndex]) {
      this.#adopt(slot);
      this.#advance(partitionIndex);
    } else {
      (this.#parked[partitionIndex] ??= []).push(slot);
    }
  }

  /** After batch nextSeq − 1 of a partition was adopted: run what waited for it, adopt parked successors. */
  #advance(partitionIndex: number): void {
    this.#nextSeq[partitionIndex] = (this.#nextSeq[partitionIndex] + 1) | 0;
    for (;;) {
      this.#runBarriers(partitionIndex);
      const parked = this.#parked[partitionIndex];
      if (parked === undefined || parked.length === 0) return;
      const next = this.#nextSeq[partitionIndex];
      const i = parked.findIndex((s) => this.#control[descriptorEntry(this.#layout, s) + D_SEQ] === next);
      if (i < 0) return;
      const slot = parked[i];
      parked.splice(i, 1);
      this.#adopt(slot);
      this.#nextSeq[partitionIndex] = (next + 1) | 0;
    }
  }

  /** Builds the owner's ProducerBatch around a received slot (its compressed copy, when sealed there). */
  #adopt(slot: number): void {
    const control = this.#control;
    const f64 = this.#f64;
    const d = descriptorEntry(this.#layout, slot);
    const partitionIndex = control[d + D_PARTITION];
    const count = control[d + D_COUNT];
    const target = control[d + D_SEAL_TARGET];
    const sealedSize = control[d + D_SEALED_SIZE];
    let handle = this.#takeGranted(slot);
    if (target !== 0) {
      // Sealed into a second slot: the raw records' slot is no longer needed.
      this.#pool.deallocate(handle);
      handle = this.#takeGranted(target - 1);
    }
    if (count === 0) {
      this.#pool.deallocate(handle);
      return;
    }
    const writers0 = control[d + D_WRITERS0];
    const writers1 = control[d + D_WRITERS1];
    const sink = writers0 === 0 && writers1 === 0 ? null : new SharedBatchOrigin(this, partitionIndex, control[d + D_SEQ], count, writers0, writers1);
    const batch = this.#acc.adoptBatch(
      this.#pHandle[partitionIndex],
      handle,
      {
        recordsLength: control[d + D_RECORDS_LENGTH],
        recordCount: count,
        baseTimestamp: f64[(d + D_BASE_TS) >> 1],
        maxTimestamp: f64[(d + D_MAX_TS) >> 1],
        createdMs: f64[(d + D_CREATED_MS) >> 1],
        sealedSizeBytes: sealedSize,
      },
      sink,
      this.#scheduler.nowMs(),
    );
    this.adopted++;
    // After the sender closed (a forced close, or a batch an appender was still compressing):
    // nobody will drain it any more.
    if (this.#closed) batch.done(-1, -1, new AbortedError('the shared producer was closed before this batch could be sent: batch aborted'));
  }

  #takeGranted(slot: number): PoolSlot {
    const handle = this.#granted[slot];
    if (handle === undefined) throw new Error(`shared intake: slot ${slot} was not granted (a bug)`);
    this.#granted[slot] = undefined;
    return handle;
  }

  // ================================================================ linger and detach

  #scheduleLinger(partitionIndex: number, seq: number, atMs: number): void {
    this.#lingerPartition.push(partitionIndex);
    this.#lingerSeq.push(seq);
    this.#lingerAt.push(atMs);
    if (this.#lingerTimer === null || atMs < this.#lingerTimerAt) this.#armLinger(atMs);
  }

  #armLinger(atMs: number): void {
    if (this.#lingerTimer !== null) this.#scheduler.clearTimeout(this.#lingerTimer);
    this.#lingerTimerAt = atMs;
    this.#lingerTimer = this.#scheduler.setTimeout(this.#onLinger, Math.max(0, atMs - this.#scheduler.nowMs()));
  }

  readonly #onLinger = (): void => {
    this.#lingerTimer = null;
    this.#lingerTimerAt = Infinity;
    this.process(); // batches closed meanwhile are adopted first (their successors wait for them anyway)
    const nowMs = this.#scheduler.nowMs();
    let retry = false;
    while (this.#lingerHead < this.#lingerAt.length && this.#lingerAt[this.#lingerHead] <= nowMs) {
      const i = this.#lingerHead++;
      if (!this.#detach(this.#lingerPartition[i], this.#lingerSeq[i])) {
        this.#scheduleLinger(this.#lingerPartition[i], this.#lingerSeq[i], nowMs + 1);
        retry = true;
      }
    }
    if (this.#lingerHead > 1024 && this.#lingerHead * 2 > this.#lingerAt.length) {
      this.#lingerPartition = this.#lingerPartition.slice(this.#lingerHead);
      this.#lingerSeq = this.#lingerSeq.slice(this.#lingerHead);
      this.#lingerAt = this.#lingerAt.slice(this.#lingerHead);
      this.#lingerHead = 0;
    }
    if (this.#lingerHead < this.#lingerAt.length && (this.#lingerTimer === null || retry)) this.#armLinger(this.#lingerAt[this.#lingerHead]);
  };

  /**
   * Takes a partition's open batch (batch `expectSeq`, or whichever is open when -1) away
   * from the appenders and receives it: its linger is over, a flush or close came, or memory
   * is short.
   * @returns false when the partition's lock could not be taken now (try again later)
   */
  #detach(partitionIndex: number, expectSeq: number): boolean {
    const control = this.#control;
    const f64 = this.#f64;
    const e = partitionEntry(this.#layout, partitionIndex);
    const peek = Atomics.load(control, e + P_OPEN);
    if (peek === 0 || (expectSeq !== -1 && control[descriptorEntry(this.#layout, peek - 1) + D_SEQ] !== expectSeq)) return true;
    // Spin only: the owner's event loop never sleeps on a lock (its holder may be a dead thread
    // that only this loop can recover); a busy partition is detached on the next try.
    if (!lock(control, e + P_LOCK, this.#tag, 0)) return false;
    const open = control[e + P_OPEN];
    const count = control[e + P_COUNT];
    // An open batch holding no record exists only after a thread died between installing it
    // and committing its first record (recovery keeps it for the others). A linger leaves it
    // open; a flush or close (expectSeq -1) takes it too — empty, it is adopted as nothing
    // and its slot returns — or close would wait for it forever.
    if (open === 0 || (expectSeq !== -1 && (count === 0 || control[descriptorEntry(this.#layout, open - 1) + D_SEQ] !== expectSeq))) {
      unlock(control, e + P_LOCK);
      return true;
    }
    const slot = open - 1;
    const d = descriptorEntry(this.#layout, slot);
    control[d + D_RECORDS_LENGTH] = control[e + P_POS] - RECORD_BATCH_OVERHEAD;
    control[d + D_COUNT] = count;
    control[d + D_WRITERS0] = control[e + P_WRITERS0];
    control[d + D_WRITERS1] = control[e + P_WRITERS1];
    f64[(d + D_BASE_TS) >> 1] = f64[(e + P_BASE_TS) >> 1];
    f64[(d + D_MAX_TS) >> 1] = f64[(e + P_MAX_TS) >> 1];
    control[d + D_CLOSER] = OWNER_APPENDER_ID;
    control[d + D_SEALED_SIZE] = 0;
    control[d + D_SEAL_TARGET] = 0;
    Atomics.store(control, d + D_STATE, DescriptorState.CLOSED);
    Atomics.store(control, e + P_OPEN, 0);
    unlock(control, e + P_LOCK);
    this.#receive(slot);
    return true;
  }

  /** Detaches every open batch whose linger is pending (memory pressure: they must be sendable). */
  #detachLingering(): void {
    for (let i = this.#lingerHead; i < this.#lingerAt.length; i++) this.#detach(this.#lingerPartition[i], this.#lingerSeq[i]);
  }

  /**
   * Detaches the open batch of every partition (flush, close).
   * @returns whether every partition's lock could be taken
   */
  #detachAll(): boolean {
    let all = true;
    const control = this.#control;
    const used = Atomics.load(control, PARTITIONS_USED_INDEX);
    for (let p = 0; p < used; p++) {
      if (this.#detach(p, -1)) continue;
      all = false;
      // Busy now: detach it on the next turn of the linger queue.
      const open = Atomics.load(control, partitionEntry(this.#layout, p) + P_OPEN);
      if (open !== 0) this.#scheduleLinger(p, control[descriptorEntry(this.#layout, open - 1) + D_SEQ], this.#scheduler.nowMs() + 1);
    }
    return all;
  }

  // ================================================================ memory

  /** Tops appender `a`'s stash up to the target, with memory free now (never waits). */
  #topUp(a: number): void {
    const stash = this.#stashes[a];
    const target = Atomics.load(this.#control, STASH_TARGET_INDEX);
    while (stash.size() < target) {
      let slot: PoolSlot | null;
      try {
        slot = this.#pool.tryAllocate(this.#config.batchSize);
      } catch {
        return; // closed
      }
      if (slot === null) return;
      this.#grant(a, slot);
    }
  }

  /** {@link SharedOwnerLink.topUpOwner}: the owner's appender found its stash empty. */
  topUpOwner(): void {
    this.#topUp(OWNER_APPENDER_ID);
    if (this.#stashes[OWNER_APPENDER_ID].size() > 0) return;
    try {
      const slot = this.#pool.tryAllocate(this.#config.batchSize);
      if (slot !== null) this.#grant(OWNER_APPENDER_ID, slot);
    } catch {
      // closed: the append sees it
    }
  }

  #grant(a: number, slot: PoolSlot): void {
    this.#granted[slot.slotIndex] = slot;
    if (!this.#stashes[a].tryPushWord(slot.slotIndex)) {
      this.#granted[slot.slotIndex] = undefined;
      this.#pool.deallocate(slot);
    }
  }

  /**
   * Serves appenders whose stash ran empty, in NEED ticket order (FIFO across threads): from
   * free memory at once, else through the pool's FIFO wait. While anyone waits, every open
   * batch is detached (Kafka: exhausted memory makes every batch sendable).
   */
  #serveNeeds(): void {
    const control = this.#control;
    let needy: number[] | null = null;
    for (let a = 0; a < this.#layout.maxAppenders; a++) {
      if (this.#known[a] !== AppenderState.LIVE) continue;
      if (Atomics.load(control, appenderEntry(this.#layout, a) + A_NEED) !== 0) (needy ??= []).push(a);
    }
    if (needy === null) return;
    this.#handled++;
    const ticket = (a: number): number => Atomics.load(control, appenderEntry(this.#layout, a) + A_NEED);
    needy.sort((x, y) => (ticket(x) - ticket(y)) | 0);
    let pressure = false;
    for (const a of needy) {
      const entry = appenderEntry(this.#layout, a);
      const asked = Atomics.load(control, entry + A_NEED);
      if (this.#stashes[a].size() > 0) {
        this.#served(a, asked);
        continue;
      }
      if (this.#allocPending[a]) {
        pressure = true;
        continue;
      }
      let result: PoolSlot | Promise<PoolSlot>;
      try {
        result = this.#pool.allocate(this.#config.batchSize, Infinity);
      } catch {
        continue; // closed: the appender sees the state
      }
      if (!(result instanceof Promise)) {
        this.#grant(a, result);
        this.#served(a, asked);
        continue;
      }
      pressure = true;
      this.#allocPending[a] = true;
      result.then(
        (slot) => this.#onAllocated(a, slot),
        () => {
          this.#allocPending[a] = false;
        },
      );
    }
    if (pressure) this.#detachLingering();
  }

  #onAllocated(a: number, slot: PoolSlot): void {
    this.#allocPending[a] = false;
    if (this.#closed || this.#known[a] !== AppenderState.LIVE) {
      this.#pool.deallocate(slot);
      return;
    }
    this.#grant(a, slot);
    this.#served(a, Atomics.load(this.#control, appenderEntry(this.#layout, a) + A_NEED));
  }

  /** Clears a served NEED (only the ticket served: a newer one stays) and wakes the appender. */
  #served(a: number, ticket: number): void {
    const entry = appenderEntry(this.#layout, a);
    if (ticket !== 0) Atomics.compareExchange(this.#control, entry + A_NEED, ticket, 0);
    Atomics.notify(this.#control, this.#stashes[a].headIndex);
  }

  // ================================================================ topics

  /** Serves topic entries appenders set REQUESTED: waits for their metadata as `Producer.send` would. */
  #serveTopics(): void {
    const control = this.#control;
    const count = Atomics.load(control, TOPIC_COUNT_INDEX);
    for (let i = 0; i < count; i++) {
      const entry = topicEntry(this.#layout, i);
      if (Atomics.load(control, entry + T_STATE) !== TopicState.REQUESTED || this.#topicBusy[i] === true) continue;
      const name = Buffer.from(new Uint8Array(control.buffer, (entry + T_NAME_WORD) * 4, Atomics.load(control, entry + T_NAME_LENGTH))).toString('utf8');
      this.#topicIndex.set(name, i);
      if (this.#metadata.cluster.partitionCount(name) >= 0) {
        this.#publishTopic(i, name);
        continue;
      }
      this.#topicBusy[i] = true;
      this.#metadata.awaitTopic(name, -1, this.#config.maxBlockMs).then(
        () => {
          this.#topicBusy[i] = false;
          this.#publishTopic(i, name);
        },
        (err: unknown) => {
          this.#topicBusy[i] = false;
          this.#topicFailed(i, err);
        },
      );
    }
  }

  #topicFailed(index: number, err: unknown): void {
    const control = this.#control;
    const entry = topicEntry(this.#layout, index);
    if (err instanceof BrokerError) {
      control[entry + T_ERROR_CODE] = err.errorCode;
      Atomics.store(control, entry + T_STATE, TopicState.FAILED);
    } else {
      Atomics.store(control, entry + T_STATE, err instanceof TimeoutError ? TopicState.TIMED_OUT : TopicState.TIMED_OUT);
    }
    Atomics.add(control, META_VERSION_INDEX, 1);
    Atomics.notify(control, META_VERSION_INDEX);
  }

  /**
   * Publishes a topic's partitions and leaders (first time, growth, leader moves): new
   * partition entries, the partition map (a new, larger one when it grew past its capacity:
   * copy on grow), the leaders, then the count, then READY, then META_VERSION — each after
   * what it vouches for, so a reader that sees the count sees a map that covers it.
   */
  #publishTopic(index: number, name: string): void {
    const control = this.#control;
    const layout = this.#layout;
    const cluster = this.#metadata.cluster;
    const count = cluster.partitionCount(name);
    if (count < 0) return;
    const entry = topicEntry(layout, index);
    const known = Atomics.load(control, entry + T_STATE) === TopicState.READY ? Atomics.load(control, entry + T_PARTITION_COUNT) : control[entry + T_MAP_CAPACITY] === 0 ? 0 : Atomics.load(control, entry + T_PARTITION_COUNT);
    if (count > known) {
      const used = Atomics.load(control, PARTITIONS_USED_INDEX);
      if (used + (count - known) > layout.maxPartitions) {
        control[entry + T_ERROR_CODE] = -1;
        Atomics.store(control, entry + T_STATE, TopicState.FAILED);
        Atomics.add(control, META_VERSION_INDEX, 1);
        Atomics.notify(control, META_VERSION_INDEX);
        process.emitWarning(`sluice shared producer: topic ${name} needs ${count - known} more partition entries; only ${layout.maxPartitions - used} of maxPartitions=${layout.maxPartitions} are left`, 'SluiceWarning');
        return;
      }
      let mapIndex = control[entry + T_MAP_INDEX];
      if (count > control[entry + T_MAP_CAPACITY]) {
        const capacity = Math.max(4, nextPowerOfTwo(count));
        const mapUsed = Atomics.load(control, MAP_USED_INDEX);
        if (mapUsed + capacity > layout.mapWords) {
          control[entry + T_ERROR_CODE] = -1;
          Atomics.store(control, entry + T_STATE, TopicState.FAILED);
          Atomics.add(control, META_VERSION_INDEX, 1);
          Atomics.notify(control, META_VERSION_INDEX);
          return;
        }
        const newIndex = layout.mapIndex + mapUsed;
        for (let p = 0; p < known; p++) control[newIndex + p] = control[mapIndex + p];
        Atomics.store(control, MAP_USED_INDEX, mapUsed + capacity);
        mapIndex = newIndex;
        control[entry + T_MAP_CAPACITY] = capacity;
      }
      for (let p = known; p < count; p++) {
        const partitionIndex = Atomics.load(control, PARTITIONS_USED_INDEX);
        Atomics.store(control, PARTITIONS_USED_INDEX, partitionIndex + 1);
        const e = partitionEntry(layout, partitionIndex);
        for (let w = 0; w < PARTITION_WORDS; w++) control[e + w] = 0;
        this.#pTopic[partitionIndex] = name;
        this.#pPartition[partitionIndex] = p;
        this.#pHandle[partitionIndex] = this.#acc.partitionHandle({ topic: name, partition: p });
        this.#nextSeq[partitionIndex] = 1;
        Atomics.store(control, mapIndex + p, partitionIndex);
      }
      Atomics.store(control, entry + T_MAP_INDEX, mapIndex);
    }
    const mapIndex = control[entry + T_MAP_INDEX];
    for (let p = 0; p < count; p++) {
      Atomics.store(control, partitionEntry(layout, control[mapIndex + p]) + P_LEADER, cluster.leaderFor(name, p));
    }
    Atomics.store(control, entry + T_PARTITION_COUNT, Math.max(count, known));
    Atomics.store(control, entry + T_STATE, TopicState.READY);
    Atomics.add(control, META_VERSION_INDEX, 1);
    Atomics.notify(control, META_VERSION_INDEX);
  }

  // ================================================================ completions

  /**
   * A shared batch (or one part of it, after a split) ended: one completion cell for each
   * thread that wrote into it. The owner's own appender is called directly.
   * @internal (SharedBatchOrigin)
   */
  deliver(origin: SharedBatchOrigin, firstDelta: number, count: number, baseOffset: number, logAppendTimeMs: number, error: SluiceError | null): void {
    const errorId = error === null ? 0 : this.#errorIdOf(error);
    for (let word = 0; word < 2; word++) {
      let bits = word === 0 ? origin.writers0 : origin.writers1;
      while (bits !== 0) {
        const low = bits & -bits;
        bits &= ~low;
        const a = word * 32 + (31 - Math.clz32(low));
        if (a === OWNER_APPENDER_ID) {
          this.appender.completeRange(origin.partitionIndex, origin.seq, firstDelta, count, origin.total, error, baseOffset, logAppendTimeMs);
          continue;
        }
        if (this.#known[a] !== AppenderState.LIVE) continue; // gone: nobody to tell
        if (this.#overflow[a].length !== 0 || !this.#pushCompletion(a, origin.partitionIndex, origin.seq, firstDelta, count, origin.total, errorId, baseOffset, logAppendTimeMs)) {
          this.#overflow[a].push([origin.partitionIndex, origin.seq, firstDelta, count, origin.total, errorId, baseOffset, logAppendTimeMs]);
          Atomics.store(this.#control, appenderEntry(this.#layout, a) + A_OVERFLOW, 1);
        }
        if (word === 0) this.#notifyMask0 |= low;
        else this.#notifyMask1 |= low;
        if (!this.#notifyScheduled) {
          this.#notifyScheduled = true;
          queueMicrotask(this.#notifyAppenders);
        }
      }
    }
  }

  #pushCompletion(a: number, partitionIndex: number, seq: number, firstDelta: number, count: number, total: number, errorId: number, baseOffset: number, logAppendTimeMs: number): boolean {
    const ring = this.#completions[a];
    const c = ring.tryClaim();
    if (c < 0) return false;
    const control = this.#control;
    control[c + C_PARTITION] = partitionIndex;
    control[c + C_SEQ] = seq;
    control[c + C_FIRST_DELTA] = firstDelta;
    control[c + C_COUNT] = count;
    control[c + C_TOTAL] = total;
    control[c + C_ERROR_ID] = errorId;
    this.#f64[(c + C_BASE_OFFSET) >> 1] = baseOffset;
    this.#f64[(c + C_LOG_APPEND_TIME) >> 1] = logAppendTimeMs;
    ring.publish();
    return true;
  }

  /** One notify per appender per turn, however many batches completed for it. */
  readonly #notifyAppenders = (): void => {
    this.#notifyScheduled = false;
    const control = this.#control;
    for (let word = 0; word < 2; word++) {
      let bits = word === 0 ? this.#notifyMask0 : this.#notifyMask1;
      while (bits !== 0) {
        const low = bits & -bits;
        bits &= ~low;
        const a = word * 32 + (31 - Math.clz32(low));
        if (Atomics.load(control, appenderEntry(this.#layout, a) + A_WAITING) !== 0) Atomics.notify(control, this.#completions[a].headIndex);
      }
    }
    this.#notifyMask0 = 0;
    this.#notifyMask1 = 0;
  };

  #retryOverflow(a: number): void {
    const control = this.#control;
    const entry = appenderEntry(this.#layout, a);
    const drained = Atomics.load(control, entry + A_DRAINED);
    if (drained === this.#drainedSeen[a] && this.#completions[a].size() >= this.#completions[a].capacity) return;
    this.#drainedSeen[a] = drained;
    const list = this.#overflow[a];
    let i = 0;
    while (i < list.length) {
      const c = list[i];
      if (!this.#pushCompletion(a, c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7])) break;
      i++;
    }
    list.splice(0, i);
    if (list.length === 0) Atomics.store(control, entry + A_OVERFLOW, 0);
    if (i > 0) Atomics.notify(control, this.#completions[a].headIndex);
  }

  /** The number completion cells name `error` by; the error itself goes once over the channel. */
  #errorIdOf(error: SluiceError): number {
    let id = this.#errorIds.get(error);
    if (id !== undefined) return id;
    id = this.#nextErrorId++;
    this.#errorIds.set(error, id);
    const message: SharedChannelMessage = { t: 'error', id, error: serializeError(error) };
    this.#channel.postMessage(message);
    this.appender.registerError(id, error);
    return id;
  }

  // ================================================================ big records

  /** {@link SharedOwnerLink.appendBig}: the owner's own appender's record bigger than batch.size. */
  appendBig(req: number, partitionIndex: number, afterSeq: number, topic: string, partition: number, timestamp: number, key: RecordData, value: RecordData, headers: readonly RecordHeader[] | null): void {
    this.process(); // the batch it closed is in its own ring
    this.#enqueueBig(OWNER_APPENDER_ID, req, partitionIndex, afterSeq, topic, partition, timestamp, key, value, headers);
  }

  readonly #onChannelMessage = (event: MessageEvent): void => {
    const m = event.data as SharedChannelMessage;
    if (m === null || typeof m !== 'object' || m.t !== 'big') return;
    if (this.#known[m.from] !== AppenderState.LIVE && Atomics.load(this.#control, appenderEntry(this.#layout, m.from) + A_STATE) !== AppenderState.LIVE) return;
    this.process();
    this.#enqueueBig(m.from, m.req, m.partitionIndex, m.afterSeq, m.topic, m.partition, m.timestamp, m.key, m.value, m.headers);
  };

  /**
   * Appends a big record to its partition right after batch `afterSeq` (the one its thread
   * closed before sending it) is adopted, then acknowledges it (A_BIG_ACK) so that thread's
   * next sends go on; its outcome goes back as a message.
   */
  #enqueueBig(from: number, req: number, partitionIndex: number, afterSeq: number, topic: string, partition: number, timestamp: number, key: RecordData, value: RecordData, headers: readonly RecordHeader[] | null): void {
    const run = (): void => {
      const acknowledge = (): void => {
        const entry = appenderEntry(this.#layout, from);
        Atomics.store(this.#control, entry + A_BIG_ACK, req);
        Atomics.notify(this.#control, entry + A_BIG_ACK);
      };
      const done = (error: SluiceError | null, offset: number, ts: number): void => {
        if (from === OWNER_APPENDER_ID) {
          this.appender.completeBig(req, offset, ts, error);
          return;
        }
        const message: SharedChannelMessage = { t: 'bigdone', to: from, req, offset, timestamp: ts, error: error === null ? null : serializeError(error) };
        this.#channel.postMessage(message);
      };
      let appended;
      try {
        appended = this.#acc.appendTo(this.#pHandle[partitionIndex], timestamp, key, value, headers, (err, md) => {
          done(err, md?.offset ?? -1, md?.timestamp ?? -1);
        });
      } catch (err) {
        acknowledge();
        done(asSluiceError(err), -1, -1);
        return;
      }
      if (appended instanceof Promise) {
        appended.then(acknowledge, (err: unknown) => {
          acknowledge();
          done(asSluiceError(err), -1, -1);
        });
      } else {
        acknowledge();
      }
    };
    if (((this.#nextSeq[partitionIndex] - afterSeq) | 0) > 0 && (this.#barriers[partitionIndex]?.length ?? 0) === 0) run();
    else (this.#barriers[partitionIndex] ??= []).push({ afterSeq, run });
  }

  #runBarriers(partitionIndex: number): void {
    const barriers = this.#barriers[partitionIndex];
    while (barriers !== undefined && barriers.length !== 0 && ((this.#nextSeq[partitionIndex] - barriers[0].afterSeq) | 0) > 0) barriers.shift()!.run();
  }

  // ================================================================ flush and close

  /**
   * The owning producer's flush: this thread's waiting sends, every open batch detached, the
   * accumulator flushed; resolves when the owner's own records are complete.
   */
  async flush(): Promise<void> {
    this.process();
    this.#detachAll();
    const own = this.appender.flush();
    await this.#flush();
    await own;
  }

  /**
   * First half of the owner's close: appends stop (ClosedError, waiting sends fail), every
   * open batch is detached, and every batch appenders closed — compressing ones included —
   * is adopted, so the sender's close covers all of them. Waits at most `timeoutMs`.
   */
  async beginClose(timeoutMs: number): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    const control = this.#control;
    Atomics.store(control, STATE_INDEX, SHARED_CLOSING);
    this.#wakeEveryone();
    this.appender.failWaiting(new ClosedError('the producer was closed while the send waited'));
    const deadline = this.#scheduler.nowMs() + timeoutMs;
    for (;;) {
      this.process();
      const detached = this.#detachAll();
      this.process();
      if (detached && this.#everythingAdopted()) return;
      if (this.#scheduler.nowMs() >= deadline) return;
      await new Promise<void>((resolve) => setTimeout(resolve, 1));
    }
  }

  /** Whether every batch opened so far on every partition has been adopted (or is still open: none after a detach). */
  #everythingAdopted(): boolean {
    const control = this.#control;
    const used = Atomics.load(control, PARTITIONS_USED_INDEX);
    for (let p = 0; p < used; p++) {
      const e = partitionEntry(this.#layout, p);
      if (Atomics.load(control, e + P_OPEN) !== 0) return false;
      if (((this.#nextSeq[p] - control[e + P_SEQ]) | 0) <= 0) return false;
    }
    return true;
  }

  /**
   * Second half, after the sender closed: the memory lent to stashes goes back to the pool;
   * a batch still arriving (an appender compressing it through a forced close) is aborted.
   */
  finishClose(): void {
    if (this.#closed) return;
    this.#closed = true;
    const control = this.#control;
    Atomics.store(control, STATE_INDEX, SHARED_CLOSED);
    // CLOSED, THEN A_SEALING (Dekker with the appender's seal): a stash is taken back only
    // from a thread that will not take a slot from it any more.
    for (let a = 0; a < this.#layout.maxAppenders; a++) {
      if (a !== OWNER_APPENDER_ID && Atomics.load(control, appenderEntry(this.#layout, a) + A_SEALING) !== 0) this.#reclaimAfterSeal.push(a);
      else this.#freeStash(a);
    }
    this.process(); // what arrived meanwhile is aborted (#adopt after #closed)
    this.#wakeEveryone();
    if (this.#lingerTimer !== null) this.#scheduler.clearTimeout(this.#lingerTimer);
    this.#lingerTimer = null;
    this.#afterClose();
    if (!this.#stopped) this.#armDoorbell();
  }

  /** After close: stashes of threads done compressing go back; once nothing can arrive, stop. */
  #afterClose(): void {
    const control = this.#control;
    this.#reclaimAfterSeal = this.#reclaimAfterSeal.filter((a) => {
      if (Atomics.load(control, appenderEntry(this.#layout, a) + A_SEALING) !== 0) return true;
      this.#freeStash(a);
      return false;
    });
    if (this.#reclaimAfterSeal.length === 0 && this.#everythingAdopted()) {
      this.#stopped = true;
      if (this.#pollTimer !== null) clearTimeout(this.#pollTimer);
      this.#pollTimer = null;
      this.#channel.close();
      for (const w of this.#watched) w.worker.off('exit', w.listener);
      this.#watched.length = 0;
    }
  }

  /** Wakes every thread waiting on the shared memory (the state changed). */
  #wakeEveryone(): void {
    const control = this.#control;
    Atomics.add(control, META_VERSION_INDEX, 1);
    Atomics.notify(control, META_VERSION_INDEX);
    for (let a = 0; a < this.#layout.maxAppenders; a++) {
      Atomics.notify(control, this.#stashes[a].headIndex);
      Atomics.notify(control, this.#completions[a].headIndex);
      Atomics.notify(control, appenderEntry(this.#layout, a) + A_BIG_ACK);
    }
  }

  #freeStash(a: number): void {
    const stash = this.#stashes[a];
    for (let slot = stash.popWord(-1); slot >= 0; slot = stash.popWord(-1)) {
      const handle = this.#granted[slot];
      this.#granted[slot] = undefined;
      if (handle !== undefined) this.#pool.deallocate(handle);
    }
  }

  /** An appender that closed cleanly: its stash goes back, its rings are reset, its id is free again. */
  #reclaim(a: number): void {
    this.#freeStash(a);
    this.#resetRings(a);
    this.#overflow[a] = [];
    this.#known[a] = AppenderState.FREE;
    Atomics.store(this.#control, appenderEntry(this.#layout, a) + A_NEED, 0);
    Atomics.store(this.#control, appenderEntry(this.#layout, a) + A_STATE, AppenderState.FREE);
  }

  #resetRings(a: number): void {
    const control = this.#control;
    for (const ring of [this.#events[a], this.#stashes[a], this.#completions[a]]) {
      Atomics.store(control, ring.headIndex, 0);
      Atomics.store(control, ring.tailIndex, 0);
    }
  }

  // ================================================================ thread death

  /**
   * Recovers appenders of `worker` when its thread exits (terminated, crashed, or done
   * without closing its appender): see the file comment for the rule.
   */
  watch(worker: Worker): void {
    const id = worker.threadId; // -1 once the thread has exited: read it now
    const listener = (): void => void this.recoverThread(id);
    worker.once('exit', listener);
    this.#watched.push({ worker, listener });
  }

  /** Recovers every appender attached from thread `id` (exited). @returns how many */
  recoverThread(id: number): number {
    const control = this.#control;
    let recovered = 0;
    for (let a = 1; a < this.#layout.maxAppenders; a++) {
      const entry = appenderEntry(this.#layout, a);
      const state = Atomics.load(control, entry + A_STATE);
      if (Atomics.load(control, entry + A_THREAD_ID) !== id || state === AppenderState.FREE || state === AppenderState.DEAD) continue;
      if (state === AppenderState.CLOSED) {
        this.#drainEvents(a);
        this.#reclaim(a);
        continue;
      }
      this.#recover(a);
      recovered++;
    }
    if (recovered > 0) {
      this.#updateStashTarget();
      this.process();
    }
    return recovered;
  }

  #recover(a: number): void {
    const control = this.#control;
    const layout = this.#layout;
    const tag = lockTag(a);
    const entry = appenderEntry(layout, a);
    Atomics.store(control, entry + A_STATE, AppenderState.DEAD);
    this.#known[a] = AppenderState.DEAD;
    const stats = this.recoveryStats;
    stats.threads++;
    // 1. What it published.
    this.#drainEvents(a);
    // 2. Partitions it held locked.
    const used = Atomics.load(control, PARTITIONS_USED_INDEX);
    const installed = new Set<number>();
    for (let p = 0; p < used; p++) {
      const e = partitionEntry(layout, p);
      if (lockHolder(Atomics.load(control, e + P_LOCK)) !== a) continue;
      const open = control[e + P_OPEN];
      if (open !== 0) {
        const d = descriptorEntry(layout, open - 1);
        const state = Atomics.load(control, d + D_STATE);
        if (state === DescriptorState.OPEN) {
          control[e + P_SEQ] = control[d + D_SEQ];
          this.#recount(e, open - 1);
          stats.batchesRepaired++;
          this.#scheduleLinger(p, control[d + D_SEQ], this.#scheduler.nowMs());
        } else {
          Atomics.store(control, e + P_OPEN, 0); // closed before it died: taken off the partition
        }
      }
      if (breakLock(control, e + P_LOCK, tag)) stats.locksBroken++;
    }
    breakLock(control, TOPIC_LOCK_INDEX, tag);
    for (let p = 0; p < used; p++) {
      const open = Atomics.load(control, partitionEntry(layout, p) + P_OPEN);
      if (open !== 0) installed.add(open - 1);
    }
    // 3. Batches it closed but did not publish, or was compressing.
    for (let slot = 0; slot < layout.slotCount; slot++) {
      const d = descriptorEntry(layout, slot);
      const state = Atomics.load(control, d + D_STATE);
      if ((state !== DescriptorState.CLOSING && state !== DescriptorState.CLOSED) || control[d + D_CLOSER] !== a) continue;
      const target = control[d + D_SEAL_TARGET];
      if (target !== 0) installed.add(target - 1);
      if (state === DescriptorState.CLOSING) {
        // The compressed copy may be half written: send the raw records (intact) instead.
        if (target !== 0) {
          const handle = this.#granted[target - 1];
          this.#granted[target - 1] = undefined;
          if (handle !== undefined) this.#pool.deallocate(handle);
          stats.sealCopiesDropped++;
        }
        control[d + D_SEAL_TARGET] = 0;
        control[d + D_SEALED_SIZE] = 0;
        Atomics.store(control, d + D_STATE, DescriptorState.CLOSED);
      }
      this.#receive(slot);
      stats.batchesFromDescriptors++;
    }
    // 4. Slots still in its stash: installed ones stay where they are, the rest go back.
    const stash = this.#stashes[a];
    for (let slot = stash.popWord(-1); slot >= 0; slot = stash.popWord(-1)) {
      if (installed.has(slot)) continue;
      const handle = this.#granted[slot];
      this.#granted[slot] = undefined;
      if (handle !== undefined) this.#pool.deallocate(handle);
      stats.stashSlotsFreed++;
    }
    this.#resetRings(a);
    this.#overflow[a] = [];
    Atomics.store(control, entry + A_NEED, 0);
    // Its id may be attached again; completions still due to the dead one are dropped by the
    // next one (it never wrote into those batches).
    this.#known[a] = AppenderState.FREE;
    Atomics.store(control, entry + A_STATE, AppenderState.FREE);
  }

  /** Recounts an open batch's committed records (count, largest timestamp) from its bytes up to P_POS. */
  #recount(e: number, slot: number): void {
    const control = this.#control;
    const f64 = this.#f64;
    const bytes = this.#poolBytes;
    const base = this.#poolDataOffset + slot * this.#pool.poolableSize;
    const end = base + control[e + P_POS];
    const read: VarintRead = { value: 0, pos: 0 };
    const baseTs = f64[(e + P_BASE_TS) >> 1];
    let maxTs = baseTs;
    let count = 0;
    for (let pos = base + RECORD_BATCH_OVERHEAD; pos < end; ) {
      readVarint(bytes, pos, end, read);
      const next = read.pos + read.value;
      readVarlong(bytes, read.pos + 1, end, read); // after the attributes byte: timestampDelta
      if (baseTs + read.value > maxTs) maxTs = baseTs + read.value;
      count++;
      pos = next;
    }
    control[e + P_COUNT] = count;
    f64[(e + P_MAX_TS) >> 1] = maxTs;
  }

  /** Descriptor state word of a slot (tests). @internal */
  descriptorState(slot: number): number {
    return Atomics.load(this.#control, descriptorEntry(this.#layout, slot) + D_STATE);
  }

  /**
   * What the owner knows of every partition and appender right now, for a diagnosis when a
   * flush or close takes longer than it should (tests print it). @internal
   */
  debugSnapshot(): Record<string, unknown> {
    const control = this.#control;
    const layout = this.#layout;
    const partitions: Record<string, unknown>[] = [];
    const used = Atomics.load(control, PARTITIONS_USED_INDEX);
    for (let p = 0; p < used; p++) {
      const e = partitionEntry(layout, p);
      const open = Atomics.load(control, e + P_OPEN);
      partitions.push({
        p,
        open: open - 1,
        openState: open === 0 ? null : Atomics.load(control, descriptorEntry(layout, open - 1) + D_STATE),
        seq: control[e + P_SEQ],
        nextSeq: this.#nextSeq[p],
        lockHolder: lockHolder(Atomics.load(control, e + P_LOCK)),
        parked: (this.#parked[p] ?? []).map((s) => control[descriptorEntry(layout, s) + D_SEQ]),
        barriers: this.#barriers[p]?.length ?? 0,
      });
    }
    const descriptors: Record<string, unknown>[] = [];
    for (let slot = 0; slot < layout.slotCount; slot++) {
      const d = descriptorEntry(layout, slot);
      const state = Atomics.load(control, d + D_STATE);
      if (state === DescriptorState.CLOSING || state === DescriptorState.CLOSED || state === DescriptorState.OPEN) {
        descriptors.push({ slot, state, partition: control[d + D_PARTITION], seq: control[d + D_SEQ], closer: control[d + D_CLOSER] });
      }
    }
    return {
      state: Atomics.load(control, STATE_INDEX),
      closing: this.#closing,
      closed: this.#closed,
      known: [...this.#known],
      overflow: this.#overflow.map((o) => o.length),
      lingerQueued: this.#lingerAt.length - this.#lingerHead,
      lingerTimerAt: this.#lingerTimerAt,
      nowMs: this.#scheduler.nowMs(),
      partitions,
      descriptors,
    };
  }

  /** Slots lent to stashes and open batches right now (tests). @internal */
  grantedSlots(): number {
    let n = 0;
    for (const g of this.#granted) if (g !== undefined) n++;
    return n;
  }
}
