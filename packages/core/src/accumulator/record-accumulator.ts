/**
 * The RecordAccumulator: per-partition queues of batches whose bytes live in the shared
 * buffer pool; `append` on the caller's thread, `ready`/`drain` for the sender loop.
 * Semantics follow Kafka's `org.apache.kafka.clients.producer.internals.RecordAccumulator`
 * (names kept: `batches`, `append`, `ready`, `drain`, `reenqueue`, `deallocate`).
 *
 * Key insight — readiness is tracked incrementally, not scanned. Kafka's `ready` walks every
 * partition with a deque on every call, and `drain` walks every partition of each ready
 * node; with 100k partitions that is the producer's hot spot. Here three structures are kept
 * up to date as batches are created, fill, drain and come back:
 *   - `#nonEmpty`: partitions with at least one batch, in drain-rotation order (a drained
 *     partition moves to the back, a skipped one keeps its place, so none starves);
 *   - `#sendable`: partitions whose head batch is sendable on its own (full, lingered, or
 *     its retry backoff over);
 *   - `#timers`: a min-heap of the moments non-sendable heads become sendable.
 * `ready` pops due timers and looks only at `#sendable` (or `#nonEmpty` when memory is
 * exhausted, a flush is in progress or the accumulator is closing — Kafka's global
 * conditions); `drain` walks `#nonEmpty`. Both cost what is pending, not what exists.
 */
import type { ClusterView } from '../cluster/cluster.js';
import { NO_LEADER } from '../cluster/cluster.js';
import type { TopicPartition } from '../cluster/topic-partition.js';
import { checkTopicName } from '../cluster/topic-partition.js';
import type { Clock } from '../clock.js';
import { systemClock, systemScheduler } from '../clock.js';
import { BurstClock } from '../burst-clock.js';
import { IndexedSet } from '../collections/indexed-set.js';
import type { IndexSlot } from '../collections/indexed-set.js';
import { codecFor } from '../compression/codecs.js';
import { CompressionRatioEstimator, MAX_COMPRESSED_BATCH_SLOTS, compressedBatchAllocationBytes } from '../compression/compression-ratio-estimator.js';
import type { ProducerConfig, ProducerConfigInput } from '../config.js';
import { resolveConfig } from '../config.js';
import { AbortedError, BufferExhaustedError, ClosedError, ConfigError, IllegalStateError, InvalidRecordError, RecordTooLargeError, SealError } from '../errors.js';
import type { SluiceError } from '../errors.js';
import { CompressionType } from '../format/compression-type.js';
import type { CompressionId } from '../format/compression-type.js';
import type { RecordData, RecordHeader } from '../format/record-data.js';
import { estimateSizeInBytesUpperBound, sizeOfHeaders } from '../format/record-writer.js';
import { RECORD_BATCH_OVERHEAD } from '../format/record-batch-layout.js';
import { readRecordBatches } from '../format/record-batch-reader.js';
import { incrementSequence, sequenceAfter } from '../format/sequence-number.js';
import { SlotState, packSlotWord } from '../memory/pool-layout.js';
import { BufferPool, MAX_RUN_SLOTS } from '../memory/buffer-pool.js';
import { PoolSlot } from '../memory/pool-slot.js';
import type { CodecResolver } from '../sealing/inline-sealer.js';
import { InlineSealer } from '../sealing/inline-sealer.js';
import type { Sealer } from '../sealing/sealer.js';
import { BatchState } from './batch-state.js';
import type { PartitionHandle } from './partition-deque.js';
import { PartitionDeque } from './partition-deque.js';
import type { BatchCompletionSink, BatchListener } from './producer-batch.js';
import { ProducerBatch } from './producer-batch.js';
import type { RecordCallback, RecordMetadata } from './record-metadata.js';
import { TimerHeap } from './timer-heap.js';
import { reportUserHookError } from '../user-hook-error.js';
import { checkData, checkHeaders, describe } from './record-checks.js';

/** What `append` reports (Kafka `RecordAppendResult`). */
export interface RecordAppendResult {
  /** The record's metadata promise when `'promise'` was asked for, else null. */
  readonly completion: Promise<RecordMetadata> | null;
  /** The batch the record went into (or one before it) is full: wake the sender. */
  readonly batchIsFull: boolean;
  /** A new batch was created for this record. */
  readonly newBatchCreated: boolean;
  /** The record was NOT appended: `abortOnNewBatch` was set and a new batch would be needed. */
  readonly abortForNewBatch: boolean;
}

/** Rare per-call switches of `append`; each defaults from config and the clock. */
export interface AppendOptions {
  /** Return `abortForNewBatch` instead of creating a new batch (sticky partitioner, KIP-480). */
  readonly abortOnNewBatch?: boolean;
  /** Override `maxBlockMs` for this call. */
  readonly maxBlockMs?: number;
  /** The time to use instead of the clock. */
  readonly nowMs?: number;
}

/** How a record asks to be told its outcome: a callback, a promise, or nothing (free). */
export type RecordCompletionRequest = RecordCallback | 'promise' | null | undefined;

/** What `ready` finds (Kafka `ReadyCheckResult`). */
export interface ReadyCheckResult {
  /** Nodes leading at least one partition with a sendable batch. */
  readonly readyNodes: Set<number>;
  /** Milliseconds until the next batch may become sendable by time (Infinity: none pending). */
  readonly nextReadyCheckDelayMs: number;
  /** Topics with data whose partition leader is unknown: ask for metadata. */
  readonly unknownLeaderTopics: Set<string>;
}

/**
 * What a sender installs on the accumulator ({@link RecordAccumulator.attachSender}): cheap
 * callbacks, called on the accumulator's thread, never per record.
 */
export interface AccumulatorSenderHooks {
  /**
   * Something may be sendable within `delayMs`: called when a batch fills (0), when a
   * partition's first batch is created (`lingerMs`: its linger deadline), and when an append
   * starts waiting for memory (0: everything becomes sendable).
   */
  wakeup(delayMs: number): void;
  /**
   * Asked by `drain` before it takes a partition's head batch (after the mute and backoff
   * checks); false leaves the batch queued. The idempotent sender keeps sequence order here.
   * It may change the partition's next sequence ({@link RecordAccumulator.resetSequence}).
   */
  mayDrain?(tp: TopicPartition, head: ProducerBatch, nowMs: number): boolean;
  /** Told about every batch that reaches a final state, before the `batchListener`. */
  batchDone?(batch: ProducerBatch, error: Error | null): void;
  /** An append starts waiting for pool memory (`buffer.memory` is full). */
  memoryWait?(sizeBytes: number, maxBlockMs: number): void;
  /** An append gave up on pool memory (BufferExhaustedError, thrown or rejected). */
  bufferExhausted?(error: SluiceError): void;
}

/** How the accumulator is built. */
export interface RecordAccumulatorOptions {
  /** Settings (camelCase or Kafka names), or an already resolved config. */
  readonly config?: ProducerConfigInput;
  /** A pool to share; by default one is created from `bufferMemory`/`batchSize` (and closed with the accumulator). */
  readonly pool?: BufferPool;
  readonly clock?: Clock;
  /** Who seals batches; default: inline, on this thread. */
  readonly sealer?: Sealer;
  /** Codec lookup for the default inline sealer. */
  readonly resolveCodec?: CodecResolver;
  /** Told about every batch that reaches a final state. */
  readonly batchListener?: BatchListener;
}

/** The numbers of a batch whose records other threads encoded ({@link RecordAccumulator.adoptBatch}). */
export interface AdoptedBatch {
  /** Bytes of encoded (uncompressed) records after the header gap. */
  readonly recordsLength: number;
  readonly recordCount: number;
  readonly baseTimestamp: number;
  readonly maxTimestamp: number;
  /** When the batch was created (delivery timeout and linger count from here). */
  readonly createdMs: number;
  /** The sealed batch's size when it arrives sealed (header and CRC written, producer fields unset); 0 when not sealed. */
  readonly sealedSizeBytes: number;
}

/** Producer identity for idempotence: ids are written into batches as they are drained. */
export interface ProducerIdAndEpoch {
  readonly producerId: number;
  readonly epoch: number;
}

/**
 * The results without a promise are shared frozen constants, indexed by
 * (batchIsFull ? 2 : 0) + (newBatchCreated ? 1 : 0): `append` is the hot path, and one result
 * object per record was ~9 % of an end-to-end run's time in garbage collection.
 */
const APPENDED: readonly RecordAppendResult[] = [false, true].flatMap((batchIsFull) =>
  [false, true].map((newBatchCreated) => Object.freeze({ completion: null, batchIsFull, newBatchCreated, abortForNewBatch: false })),
);
const ABORT_FOR_NEW_BATCH: RecordAppendResult = Object.freeze({
  completion: null,
  batchIsFull: false,
  newBatchCreated: false,
  abortForNewBatch: true,
});

const INT32_MAX = 2147483647;
const NON_EMPTY_SLOT: IndexSlot<PartitionDeque> = {
  get: (d) => d.nonEmptyIndex,
  set: (d, i) => void (d.nonEmptyIndex = i),
};
const SENDABLE_SLOT: IndexSlot<PartitionDeque> = {
  get: (d) => d.sendableIndex,
  set: (d, i) => void (d.sendableIndex = i),
};
const INCOMPLETE_SLOT: IndexSlot<ProducerBatch> = {
  get: (b) => b.incompleteIndex,
  set: (b, i) => void (b.incompleteIndex = i),
};

/** Heap (non-pool) memory of a split batch: nothing to give back, the GC frees it. */
const releaseHeapSlot = (): void => {};

/** Checks `append`'s rare switches (only when some are given). */
function checkAppendOptions(options: AppendOptions): void {
  if (typeof options !== 'object' || options === null) throw new InvalidRecordError('options', `must be an object { abortOnNewBatch?, maxBlockMs?, nowMs? }, got ${describe(options)}`);
  const { abortOnNewBatch, maxBlockMs, nowMs } = options;
  if (abortOnNewBatch !== undefined && typeof abortOnNewBatch !== 'boolean') {
    throw new InvalidRecordError('options.abortOnNewBatch', `must be true or false, got ${describe(abortOnNewBatch)}`);
  }
  if (maxBlockMs !== undefined && !(typeof maxBlockMs === 'number' && maxBlockMs >= 0 && (Number.isSafeInteger(maxBlockMs) || maxBlockMs === Infinity))) {
    throw new InvalidRecordError('options.maxBlockMs', `must be an integer >= 0 (ms) or Infinity, got ${describe(maxBlockMs)}`);
  }
  if (nowMs !== undefined && !(typeof nowMs === 'number' && Number.isSafeInteger(nowMs) && nowMs >= 0)) {
    throw new InvalidRecordError('options.nowMs', `must be a non-negative integer (ms), got ${describe(nowMs)}`);
  }
}

export class RecordAccumulator {
  /** Effective configuration. */
  readonly config: ProducerConfig;
  /** The shared buffer pool batches live in. */
  readonly pool: BufferPool;
  readonly #ownsPool: boolean;
  readonly #clock: Clock;
  /** Record timestamps on the real wall clock, read at most once per few appends of a synchronous run (`burst-clock.ts`); null for an injected clock. */
  readonly #timestamps: BurstClock | null;
  readonly #sealer: Sealer;
  readonly #listener: BatchListener | null;
  readonly #poolBytes: Buffer;
  readonly #poolView: DataView;
  readonly #codecId: CompressionId;
  readonly #level: number;
  /** Per-topic compression ratio estimates (Kafka `CompressionRatioEstimator`), for compressed batches' sizes. */
  readonly #ratios = new CompressionRatioEstimator();
  /** Most pool slots one batch may take: 1 without compression, up to 4 with (see `#batchAllocationBytes`). */
  readonly #maxBatchSlots: number;
  /** Feeds each sealed compressed batch's ratio to its topic's estimate; null without compression. */
  readonly #onSealed: ((batch: ProducerBatch) => void) | null;

  /** topic → deques by partition (Kafka `batches`). */
  readonly #batches = new Map<string, PartitionDeque[]>();
  // IndexedSet, not Set: these churn per batch for the producer's lifetime (see indexed-set.ts).
  readonly #nonEmpty = new IndexedSet<PartitionDeque>(NON_EMPTY_SLOT);
  readonly #sendable = new IndexedSet<PartitionDeque>(SENDABLE_SLOT);
  readonly #timers = new TimerHeap();
  #newlyNonEmpty: PartitionDeque[] = [];
  /** Every batch created and not yet final (Kafka `IncompleteBatches`). */
  readonly #incomplete = new IndexedSet<ProducerBatch>(INCOMPLETE_SLOT);
  #flushesInProgress = 0;
  #closed = false;
  #producerIdAndEpoch: ProducerIdAndEpoch | null = null;
  /** The sender's hooks (wake-up, drain gate, completion); null until a sender attaches. */
  #hooks: AccumulatorSenderHooks | null = null;
  /** Codec lookup for decoding compressed batches when splitting them; null: none known. */
  readonly #splitCodecs: CodecResolver | null;
  /** Lower bound of the earliest `createdMs + deliveryTimeoutMs` of a queued batch (Kafka `nextBatchExpiryTimeMs`). */
  #nextBatchExpiryMs = Infinity;
  readonly #releaseSlot = (slot: PoolSlot): void => this.pool.deallocate(slot);
  readonly #onBatchDone: BatchListener = (batch, error) => {
    this.#incomplete.delete(batch);
    this.#hooks?.batchDone?.(batch, error);
    if (this.#listener !== null) {
      // User code: a throw must not stop the handling of the rest of the broker's answer.
      try {
        this.#listener(batch, error);
      } catch (err) {
        reportUserHookError('batchListener', err);
      }
    }
  };

  constructor(options: RecordAccumulatorOptions = {}) {
    this.config = resolveConfig(options.config ?? {});
    this.#clock = options.clock ?? systemClock;
    const clock = this.#clock;
    this.#timestamps = clock === systemClock || clock === systemScheduler ? new BurstClock(() => clock.nowMs()) : null;
    this.#ownsPool = options.pool === undefined;
    this.pool =
      options.pool ??
      new BufferPool({ totalMemoryBytes: this.config.bufferMemory, poolableSizeBytes: this.config.batchSize, clock: this.#clock });
    if (this.pool.poolableSize !== this.config.batchSize) {
      // A slot is a batch (Kafka's poolable size is batch.size): any other size would make
      // every batch a non-pooled buffer, or waste most of each slot.
      throw new ConfigError(
        `the shared buffer pool's slot size is ${this.pool.poolableSize} bytes but batch.size is ${this.config.batchSize}: they must be equal`,
      );
    }
    this.#sealer = options.sealer ?? new InlineSealer(options.resolveCodec ?? codecFor);
    this.#splitCodecs = options.resolveCodec ?? codecFor;
    this.#listener = options.batchListener ?? null;
    this.#poolBytes = Buffer.from(this.pool.sharedBuffer);
    this.#poolView = new DataView(this.pool.sharedBuffer);
    this.#codecId = CompressionType[this.config.compressionType];
    this.#level =
      this.config.compressionType === 'gzip'
        ? this.config.compressionGzipLevel
        : this.config.compressionType === 'lz4'
          ? this.config.compressionLz4Level
          : this.config.compressionType === 'zstd'
            ? this.config.compressionZstdLevel
            : 0;
    const compressed = this.#codecId !== CompressionType.none;
    // A compressed topic's batch may take several slots (sized by the ratio estimate) — as a
    // RUN of adjacent pool slots (BufferPool.tryAllocateRun), pooled memory like one slot.
    // A non-pooled buffer instead is only taken for an inline sealer: with an eager (worker)
    // sealer a fresh SharedArrayBuffer per batch measured as a loss (its allocation plus GC
    // pressure doubled by the worker's reference: 2x main-thread CPU per batch), so there a
    // batch falls back to one slot when no run is free (benchmarks/RESULTS.md).
    this.#maxBatchSlots = compressed
      ? Math.max(1, Math.min(MAX_COMPRESSED_BATCH_SLOTS, Math.floor(this.config.maxRequestSize / this.config.batchSize), Math.floor(this.pool.slotCount / 8)))
      : 1;
    // Only batches at least half full teach the estimate: one closed early by linger or flush
    // says little about the topic's ratio, and (the steps being 0.05 up, 0.005 down) a few
    // tiny batches that did not compress would undo a hundred full ones.
    this.#onSealed = compressed
      ? (batch) => {
          if (batch.sizeBytes > 0 && batch.recordsLength * 2 >= batch.capacityBytes) {
            this.#ratios.updateEstimation(batch.topic, batch.codecId, (batch.sizeBytes - RECORD_BATCH_OVERHEAD) / batch.recordsLength);
          }
        }
      : null;
  }

  /**
   * Bytes to allocate for a new batch of `topic`: `batchSize`, or for a compressed topic whole
   * slots enough for about `batchSize` after compression at the topic's estimated ratio
   * (at most `#maxBatchSlots`; more than one slot is a non-pooled buffer counted against
   * `bufferMemory`). The batch closes when its raw records fill it, so it never overruns.
   */
  #batchAllocationBytes(topic: string): number {
    if (this.#maxBatchSlots === 1) return this.config.batchSize;
    return compressedBatchAllocationBytes(this.config.batchSize, this.#ratios.estimation(topic, this.#codecId), this.#maxBatchSlots);
  }

  // ------------------------------------------------------------------ append

  /**
   * Appends a record to its partition's open batch, or to a new batch.
   *
   * Returns synchronously unless it had to wait for pool memory; then it returns a promise
   * (`await` works on both). Hot loops can test `result instanceof Promise`.
   *
   * @param tp - topic and partition (partition chosen by the caller or a partitioner)
   * @param timestampMs - record timestamp (CreateTime); null/undefined = now
   * @param key - bytes, a UTF-8 string, or null
   * @param value - bytes, a UTF-8 string, or null
   * @param headers - `{ key, value }` pairs, or null
   * @param completion - a callback, `'promise'` for a promise in the result, or nothing (no per-record cost)
   * @param options - rare switches: `abortOnNewBatch`, `maxBlockMs`, `nowMs`
   * @throws InvalidRecordError naming the bad field (nothing allocated)
   * @throws RecordTooLargeError when the record exceeds `maxRequestSize` or `bufferMemory`
   * @throws ClosedError after `close()`
   * @throws BufferExhaustedError when `maxBlockMs` is 0 and no memory is free (a promise rejects
   *   with it after `maxBlockMs` otherwise)
   */
  append(
    tp: TopicPartition,
    timestampMs: number | null | undefined,
    key: RecordData | undefined,
    value: RecordData | undefined,
    headers?: readonly RecordHeader[] | null,
    completion?: RecordCompletionRequest,
    options?: AppendOptions,
  ): RecordAppendResult | Promise<RecordAppendResult> {
    if (this.#closed) throw new ClosedError('cannot append: the accumulator is closed');
    return this.#appendToDeque(this.partitionHandle(tp) as PartitionDeque, timestampMs, key, value, headers, completion, options);
  }

  /**
   * The partition handle of `tp`: {@link appendTo} with it skips the topic/partition checks
   * and the per-record lookup of the partition's queue. A handle stays valid for the
   * accumulator's lifetime (a partition's queue is never dropped).
   * @throws InvalidRecordError naming a bad topic or partition
   */
  partitionHandle(tp: TopicPartition): PartitionHandle {
    const topic = tp?.topic;
    const partition = tp?.partition;
    // A topic seen before was checked then: only a new one pays for the name check.
    if (typeof topic !== 'string' || !this.#batches.has(topic)) checkTopicName(topic);
    if (typeof partition !== 'number' || !Number.isInteger(partition) || partition < 0 || partition > INT32_MAX) {
      throw new InvalidRecordError('partition', `must be an integer in [0, ${INT32_MAX}], got ${describe(partition)}`);
    }
    return this.#dequeFor(topic, partition);
  }

  /**
   * {@link append} to the partition of a handle from {@link partitionHandle}: the same
   * checks of the record, results and errors, without the per-record partition lookup
   * (the producer's hot path).
   * @throws IllegalStateError for a handle of another accumulator
   */
  appendTo(
    handle: PartitionHandle,
    timestampMs: number | null | undefined,
    key: RecordData | undefined,
    value: RecordData | undefined,
    headers?: readonly RecordHeader[] | null,
    completion?: RecordCompletionRequest,
    options?: AppendOptions,
  ): RecordAppendResult | Promise<RecordAppendResult> {
    if (this.#closed) throw new ClosedError('cannot append: the accumulator is closed');
    if (!(handle instanceof PartitionDeque) || handle.owner !== this) {
      throw new IllegalStateError('appendTo: the partition handle does not come from this accumulator');
    }
    return this.#appendToDeque(handle, timestampMs, key, value, headers, completion, options);
  }

  /**
   * Whether the newest queued batch of a handle's partition takes no more records, or none
   * is queued: {@link lastBatchFull} without the lookup.
   */
  lastBatchFullOf(handle: PartitionHandle): boolean {
    const last = (handle as PartitionDeque).peekLast();
    return last === undefined || last.isClosed;
  }

  /**
   * Queues a batch whose records other threads already encoded into pool memory (the shared
   * accumulator, `shared/shared-intake.ts`): a closed {@link ProducerBatch} is built around
   * `slot` with the given numbers and queued behind the partition's batches; from then on
   * it is an ordinary batch — ready, drain, sequence numbers at drain, seal (eagerly on a
   * worker sealer; at drain inline; not at all when it arrives sealed), retries, expiry,
   * release. The partition's open batch, if any, is closed first (records keep their order).
   * Works after {@link close} too: adopted batches are records already accepted.
   * @param handle - the partition (from {@link partitionHandle})
   * @param slot - the allocation holding the records (state APPENDING); the batch owns it from now on
   * @param sink - told the records' outcome (for completions on other threads); null: none
   * @returns the queued batch
   * @throws IllegalStateError for a handle of another accumulator or numbers that do not fit the slot
   */
  adoptBatch(handle: PartitionHandle, slot: PoolSlot, adopted: AdoptedBatch, sink: BatchCompletionSink | null, nowMs: number = this.#clock.nowMs()): ProducerBatch {
    if (!(handle instanceof PartitionDeque) || handle.owner !== this) {
      throw new IllegalStateError('adoptBatch: the partition handle does not come from this accumulator');
    }
    const deque = handle;
    const pooled = slot.slotIndex >= 0;
    const batch = new ProducerBatch({
      topic: deque.topic,
      partition: deque.partition,
      slot,
      bytes: pooled ? this.#poolBytes : Buffer.from(slot.buffer),
      view: pooled ? this.#poolView : new DataView(slot.buffer),
      nowMs: adopted.createdMs,
      codecId: this.#codecId,
      level: this.#level,
      releaseSlot: this.#releaseSlot,
      onSealed: this.#onSealed,
      listener: this.#onBatchDone,
    });
    batch.adoptRecords(adopted.recordsLength, adopted.recordCount, adopted.baseTimestamp, adopted.maxTimestamp);
    batch.completionSink = sink;
    const last = deque.peekLast();
    if (last !== undefined && !last.isClosed) this.#closeBatch(deque, last);
    deque.batches.push(batch);
    this.#incomplete.add(batch);
    const expiryMs = adopted.createdMs + this.config.deliveryTimeoutMs;
    if (expiryMs < this.#nextBatchExpiryMs) this.#nextBatchExpiryMs = expiryMs;
    if (adopted.sealedSizeBytes > 0) {
      batch.beginSeal();
      batch.completeSeal(adopted.sealedSizeBytes);
    } else if (this.#sealer.eager) {
      batch.beginSeal();
      this.#sealer.seal(batch);
    }
    if (deque.batches.length === 1) this.#newlyNonEmpty.push(deque);
    this.#onHeadChanged(deque, nowMs);
    this.#hooks?.wakeup(0);
    return batch;
  }

  #appendToDeque(
    deque: PartitionDeque,
    timestampMs: number | null | undefined,
    key: RecordData | undefined,
    value: RecordData | undefined,
    headers: readonly RecordHeader[] | null | undefined,
    completion: RecordCompletionRequest | undefined,
    options: AppendOptions | undefined,
  ): RecordAppendResult | Promise<RecordAppendResult> {
    if (options !== undefined) checkAppendOptions(options);
    let ts: number;
    if (timestampMs === null || timestampMs === undefined) {
      ts = options?.nowMs ?? (this.#timestamps !== null ? this.#timestamps.nowMs() : this.#clock.nowMs());
    } else if (typeof timestampMs === 'number' && Number.isSafeInteger(timestampMs) && timestampMs >= 0) {
      ts = timestampMs;
    } else {
      throw new InvalidRecordError('timestamp', `must be a non-negative integer (ms) or null, got ${describe(timestampMs)}`);
    }
    const k = key === null || key === undefined || typeof key === 'string' || key instanceof Uint8Array ? (key ?? null) : checkData('key', key);
    const v = value === null || value === undefined || typeof value === 'string' || value instanceof Uint8Array ? (value ?? null) : checkData('value', value);
    const h = headers === null || headers === undefined ? null : checkHeaders(headers);
    if (completion !== null && completion !== undefined && completion !== 'promise' && typeof completion !== 'function') {
      throw new InvalidRecordError('completion', `must be a callback, 'promise' or null, got ${describe(completion)}`);
    }
    // `.length`, not `.byteLength`: equal for a Uint8Array (and a Buffer), and V8 inlines the
    // first where it calls a builtin for the second (~7 ns per read measured).
    const keyLength = k === null ? -1 : typeof k === 'string' ? Buffer.byteLength(k, 'utf8') : k.length;
    const valueLength = v === null ? -1 : typeof v === 'string' ? Buffer.byteLength(v, 'utf8') : v.length;
    const headersSize = h === null ? 1 : sizeOfHeaders(h);

    const last = deque.peekLast();
    if (last !== undefined) {
      const offsetDelta = last.tryAppend(ts, k, keyLength, v, valueLength, h, headersSize);
      if (offsetDelta >= 0) return this.#appended(deque, last, offsetDelta, false, ts, keyLength, valueLength, completion);
    }
    return this.#appendToNewBatchSlow(deque, ts, k, keyLength, v, valueLength, h, headersSize, completion, options);
  }

  /**
   * The record opens a new batch: size it, take memory (or wait for it), append. Kept out of
   * {@link #appendToDeque} on purpose: a function whose variables a closure captures
   * allocates their context on EVERY call (measured: ~120 bytes per record, a tenth of an
   * end-to-end run in scavenges), and only this path needs one (the memory wait).
   */
  #appendToNewBatchSlow(
    deque: PartitionDeque,
    ts: number,
    k: RecordData,
    keyLength: number,
    v: RecordData,
    valueLength: number,
    h: readonly RecordHeader[] | null,
    headersSize: number,
    completion: RecordCompletionRequest | undefined,
    options: AppendOptions | undefined,
  ): RecordAppendResult | Promise<RecordAppendResult> {
    if (options?.abortOnNewBatch === true) {
      return ABORT_FOR_NEW_BATCH;
    }
    const upper = estimateSizeInBytesUpperBound(keyLength, valueLength, headersSize);
    if (upper > this.config.maxRequestSize || upper > this.pool.totalMemory) {
      throw new RecordTooLargeError(
        upper,
        `record for ${deque.topic}-${deque.partition} is ${upper} bytes when serialized, larger than ` +
          (upper > this.config.maxRequestSize
            ? `max.request.size=${this.config.maxRequestSize}`
            : `the buffer pool's ${this.pool.totalMemory} bytes (buffer.memory=${this.config.bufferMemory})`),
      );
    }
    let size = Math.max(this.#batchAllocationBytes(deque.topic), upper);
    let slot: PoolSlot | null;
    if (size > this.config.batchSize && upper <= this.config.batchSize && size <= MAX_RUN_SLOTS * this.config.batchSize) {
      // A compressed topic's bigger batch: a run of the pool's own slots; a fresh buffer only
      // for an inline sealer (see the constructor). A record bigger than batch.size still
      // gets a non-pooled buffer of its own, as in Kafka.
      slot = this.pool.tryAllocateRun(size);
      if (slot === null && !this.#sealer.eager) slot = this.pool.tryAllocate(size);
    } else {
      slot = this.pool.tryAllocate(size);
    }
    if (slot === null && size > this.config.batchSize && upper <= this.config.batchSize) {
      // Too little free memory for a compressed topic's bigger batch: take (or wait for) one slot.
      size = this.config.batchSize;
      slot = this.pool.tryAllocate(size);
    }
    if (slot !== null) {
      return this.#appendToNewBatch(deque, slot, ts, k, keyLength, v, valueLength, h, headersSize, completion, options?.nowMs);
    }
    const maxBlockMs = options?.maxBlockMs ?? this.config.maxBlockMs;
    let pending: PoolSlot | Promise<PoolSlot>;
    try {
      pending = this.pool.allocate(size, maxBlockMs);
    } catch (err) {
      if (err instanceof BufferExhaustedError) this.#hooks?.bufferExhausted?.(err);
      throw err;
    }
    if (!(pending instanceof Promise)) {
      return this.#appendToNewBatch(deque, pending, ts, k, keyLength, v, valueLength, h, headersSize, completion, options?.nowMs);
    }
    // Memory is short: every queued batch becomes sendable (`ready`'s global condition).
    this.#hooks?.wakeup(0);
    this.#hooks?.memoryWait?.(size, maxBlockMs);
    return pending.then(
      (s) => {
        if (this.#closed) {
          this.pool.deallocate(s);
          throw new ClosedError('the accumulator was closed while append waited for memory');
        }
        return this.#appendToNewBatch(deque, s, ts, k, keyLength, v, valueLength, h, headersSize, completion, options?.nowMs);
      },
      (err: unknown) => {
        if (err instanceof BufferExhaustedError) this.#hooks?.bufferExhausted?.(err);
        throw err;
      },
    );
  }

  #dequeFor(topic: string, partition: number): PartitionDeque {
    let byPartition = this.#batches.get(topic);
    if (byPartition === undefined) {
      byPartition = [];
      this.#batches.set(topic, byPartition);
    }
    return (byPartition[partition] ??= new PartitionDeque(topic, partition, this));
  }

  #appendToNewBatch(
    deque: PartitionDeque,
    slot: PoolSlot,
    ts: number,
    key: RecordData,
    keyLength: number,
    value: RecordData,
    valueLength: number,
    headers: readonly RecordHeader[] | null,
    headersSize: number,
    completion: RecordCompletionRequest,
    nowMsOverride: number | undefined,
  ): RecordAppendResult {
    // Another append may have opened a batch while this one waited for memory (Kafka does
    // the same re-check after `free.allocate`).
    const last = deque.peekLast();
    if (last !== undefined) {
      const offsetDelta = last.tryAppend(ts, key, keyLength, value, valueLength, headers, headersSize);
      if (offsetDelta >= 0) {
        this.pool.deallocate(slot);
        return this.#appended(deque, last, offsetDelta, false, ts, keyLength, valueLength, completion);
      }
    }
    const nowMs = nowMsOverride ?? this.#clock.nowMs();
    const pooled = slot.slotIndex >= 0;
    const batch = new ProducerBatch({
      topic: deque.topic,
      partition: deque.partition,
      slot,
      bytes: pooled ? this.#poolBytes : Buffer.from(slot.buffer),
      view: pooled ? this.#poolView : new DataView(slot.buffer),
      nowMs,
      codecId: this.#codecId,
      level: this.#level,
      releaseSlot: this.#releaseSlot,
      onSealed: this.#onSealed,
      listener: this.#onBatchDone,
    });
    const offsetDelta = batch.tryAppend(ts, key, keyLength, value, valueLength, headers, headersSize);
    if (offsetDelta < 0) {
      this.pool.deallocate(slot);
      throw new IllegalStateError(
        `a record sized ${estimateSizeInBytesUpperBound(keyLength, valueLength, headersSize)} bytes did not fit a new batch of ${slot.capacityBytes} bytes`,
      );
    }
    if (last !== undefined && !last.isClosed) this.#closeBatch(deque, last);
    deque.batches.push(batch);
    this.#incomplete.add(batch);
    const expiryMs = nowMs + this.config.deliveryTimeoutMs;
    if (expiryMs < this.#nextBatchExpiryMs) this.#nextBatchExpiryMs = expiryMs;
    if (deque.batches.length === 1) {
      this.#nonEmpty.add(deque);
      this.#newlyNonEmpty.push(deque);
      this.#scheduleLinger(deque, batch, nowMs);
      this.#hooks?.wakeup(this.config.lingerMs);
    } else {
      this.#markSendable(deque);
      this.#hooks?.wakeup(0);
    }
    return this.#appended(deque, batch, offsetDelta, true, ts, keyLength, valueLength, completion);
  }

  #appended(
    deque: PartitionDeque,
    batch: ProducerBatch,
    offsetDelta: number,
    newBatchCreated: boolean,
    ts: number,
    keyLength: number,
    valueLength: number,
    completion: RecordCompletionRequest,
  ): RecordAppendResult {
    let promise: Promise<RecordMetadata> | null = null;
    if (completion !== null && completion !== undefined) {
      if (completion === 'promise') promise = batch.addPromise(offsetDelta, ts, keyLength, valueLength);
      else batch.addCallback(offsetDelta, ts, keyLength, valueLength, completion);
    }
    // Close the batch as soon as a record like this one would not fit: it is full, the
    // sender may take it now, and an eager (worker) sealer can start on it at once.
    if (batch.remainingBytes < batch.recordsLength / batch.recordCount) {
      this.#closeBatch(deque, batch);
      this.#hooks?.wakeup(0);
    }
    const batchIsFull = deque.batches.length > 1 || batch.isClosed;
    if (promise === null) return APPENDED[(batchIsFull ? 2 : 0) + (newBatchCreated ? 1 : 0)];
    return { completion: promise, batchIsFull, newBatchCreated, abortForNewBatch: false };
  }

  #closeBatch(deque: PartitionDeque, batch: ProducerBatch): void {
    batch.closeForRecordAppends();
    if (this.#sealer.eager && batch.state === BatchState.APPENDING) {
      batch.beginSeal();
      this.#sealer.seal(batch);
    }
    if (deque.peekFirst() === batch) this.#markSendable(deque);
  }

  // ------------------------------------------------------------------ ready-set bookkeeping

  #markSendable(deque: PartitionDeque): void {
    this.#sendable.add(deque);
    this.#timers.cancel(deque);
  }

  #unmarkSendable(deque: PartitionDeque): void {
    this.#sendable.delete(deque);
  }

  #scheduleLinger(deque: PartitionDeque, head: ProducerBatch, nowMs: number): void {
    const atMs = head.lastAttemptMs + this.config.lingerMs;
    if (atMs <= nowMs) this.#markSendable(deque);
    else {
      this.#unmarkSendable(deque);
      this.#timers.schedule(deque, atMs);
    }
  }

  /** Re-evaluates a partition after its head batch changed (drained, re-enqueued, aborted). */
  #onHeadChanged(deque: PartitionDeque, nowMs: number): void {
    const head = deque.peekFirst();
    if (head === undefined) {
      this.#unmarkSendable(deque);
      this.#timers.cancel(deque);
      this.#nonEmpty.delete(deque);
      return;
    }
    if (!this.#nonEmpty.has(deque)) this.#nonEmpty.add(deque);
    if (head.isBackingOff(nowMs)) {
      this.#unmarkSendable(deque);
      this.#timers.schedule(deque, head.retryAtMs);
    } else if (deque.headIsFull()) {
      this.#markSendable(deque);
    } else {
      this.#scheduleLinger(deque, head, nowMs);
    }
  }

  // ------------------------------------------------------------------ ready / drain

  /**
   * Finds the nodes that have something to send (Kafka `ready`): a partition's head batch is
   * sendable when it is full, has lingered `lingerMs`, or its retry backoff is over; every
   * batch is sendable while memory is exhausted (waiters queued), a flush is in progress,
   * or the accumulator is closed. Muted and backing-off partitions are skipped.
   *
   * Cost: O(sendable partitions + due timers · log n) — see the class comment.
   */
  ready(cluster: ClusterView, nowMs: number = this.#clock.nowMs()): ReadyCheckResult {
    for (let d = this.#timers.popDue(nowMs); d !== undefined; d = this.#timers.popDue(nowMs)) {
      this.#onHeadChanged(d, nowMs);
    }
    const readyNodes = new Set<number>();
    const unknownLeaderTopics = new Set<string>();
    if (this.#newlyNonEmpty.length > 0) {
      for (const d of this.#newlyNonEmpty) {
        if (d.batches.length > 0 && cluster.leaderFor(d.topic, d.partition) === NO_LEADER) unknownLeaderTopics.add(d.topic);
      }
      this.#newlyNonEmpty = [];
    }
    const global = this.#closed || this.#flushesInProgress > 0 || this.pool.queuedWaiters() > 0;
    let nextReadyCheckDelayMs = Infinity;
    for (const d of global ? this.#nonEmpty : this.#sendable) {
      if (d.muted) continue;
      const head = d.batches[0];
      if (head.isBackingOff(nowMs)) {
        nextReadyCheckDelayMs = Math.min(nextReadyCheckDelayMs, head.retryAtMs - nowMs);
        continue;
      }
      const leader = cluster.leaderFor(d.topic, d.partition);
      if (leader === NO_LEADER) unknownLeaderTopics.add(d.topic);
      else readyNodes.add(leader);
    }
    const nextTimer = this.#timers.peekMs();
    if (nextTimer !== Infinity) nextReadyCheckDelayMs = Math.min(nextReadyCheckDelayMs, Math.max(0, nextTimer - nowMs));
    return { readyNodes, nextReadyCheckDelayMs, unknownLeaderTopics };
  }

  /**
   * Takes batches for the given nodes (Kafka `drain`): for each node, at most one batch per
   * partition it leads, until the batches reach `maxRequestSize` — the first batch of a node
   * is always taken, even alone over the limit. Partitions are visited in rotation: a drained
   * partition moves to the back, so none starves. Drained batches are closed for appends,
   * get their producer id/epoch and sequence (idempotence), and are sealed (inline sealer) or
   * already being sealed (worker sealer: the sender awaits `whenSealed()`).
   *
   * @returns node id → batches to send to that node, in partition-rotation order; every node
   *   asked for has an entry, empty when it has nothing to send (as Kafka's `drain`)
   */
  drain(
    cluster: ClusterView,
    nodeIds: Iterable<number>,
    maxRequestSize: number = this.config.maxRequestSize,
    nowMs: number = this.#clock.nowMs(),
  ): Map<number, ProducerBatch[]> {
    const nodes = nodeIds instanceof Set ? (nodeIds as Set<number>) : new Set(nodeIds);
    const out = new Map<number, ProducerBatch[]>();
    for (const node of nodes) out.set(node, []);
    if (nodes.size === 0 || this.#nonEmpty.size === 0) return out;
    const sizes = new Map<number, number>();
    const fullNodes = new Set<number>();
    const drained: PartitionDeque[] = [];
    for (const d of this.#nonEmpty) {
      if (d.muted) continue;
      const leader = cluster.leaderFor(d.topic, d.partition);
      if (leader === NO_LEADER || !nodes.has(leader) || fullNodes.has(leader)) continue;
      const head = d.batches[0];
      if (head.isBackingOff(nowMs)) continue;
      if (this.#hooks?.mayDrain !== undefined && !this.#hooks.mayDrain(d, head, nowMs)) continue;
      const list = out.get(leader)!;
      const size = sizes.get(leader) ?? 0;
      const estimate = head.estimatedSizeInBytes();
      if (list.length > 0 && size + estimate > maxRequestSize) {
        fullNodes.add(leader);
        if (fullNodes.size === nodes.size) break;
        continue;
      }
      d.batches.shift();
      this.#prepareDrained(d, head, nowMs);
      list.push(head);
      sizes.set(leader, size + estimate);
      drained.push(d);
    }
    for (const d of drained) {
      this.#nonEmpty.delete(d);
      this.#onHeadChanged(d, nowMs);
    }
    return out;
  }

  #prepareDrained(deque: PartitionDeque, batch: ProducerBatch, nowMs: number): void {
    batch.closeForRecordAppends();
    batch.drainedMs = nowMs;
    const pid = this.#producerIdAndEpoch;
    if (pid !== null && this.config.enableIdempotence && batch.baseSequence < 0) {
      batch.setProducerState(pid.producerId, pid.epoch, deque.nextSequence, false);
      deque.nextSequence = incrementSequence(deque.nextSequence, batch.recordCount);
    }
    if (batch.state === BatchState.APPENDING) {
      batch.beginSeal();
      this.#sealer.seal(batch);
    }
  }

  /**
   * Puts a batch back at the front of its partition's queue after a retriable failure
   * (Kafka `reenqueue`), to be sent again after `retryAtMs`. Batches with sequence numbers
   * are kept in sequence order.
   */
  reenqueue(batch: ProducerBatch, nowMs: number, retryAtMs: number = nowMs): void {
    batch.prepareRetry(nowMs, retryAtMs);
    const deque = this.#dequeFor(batch.topic, batch.partition);
    const list = deque.batches;
    let i = 0;
    if (batch.baseSequence >= 0) {
      while (i < list.length && list[i].baseSequence >= 0 && sequenceAfter(batch.baseSequence, list[i].baseSequence)) i++;
    }
    list.splice(i, 0, batch);
    const expiryMs = batch.createdMs + this.config.deliveryTimeoutMs;
    if (expiryMs < this.#nextBatchExpiryMs) this.#nextBatchExpiryMs = expiryMs;
    this.#onHeadChanged(deque, nowMs);
  }

  /**
   * Splits a batch the broker rejected as too large (MESSAGE_TOO_LARGE) into smaller batches
   * and puts them at the front of its partition's queue, in record order (Kafka
   * `RecordAccumulator.splitAndReenqueue` / `ProducerBatch.split`).
   *
   * The records are decoded from the sealed bytes (decompressed when the batch is compressed)
   * and appended again into new batches of at most `min(batchSize, half the batch)` bytes of
   * records, so every split at least halves the batch and repeated splits end at single
   * records. The new batches keep the old batch's creation time (delivery timeout), are
   * closed for appends, count as never sent, and — idempotence — take over its producer id,
   * epoch and sequence range (records keep their sequence numbers; the broker never accepted
   * the old batch). Each record's completion moves to the batch that now holds it; the old
   * batch ends with {@link ProducerBatch.splitInto} set and completes no record itself (its
   * `whenDone()` waits for the new batches, so `flush` still covers its records).
   *
   * Memory: the new batches come from the pool when it can serve them at once; otherwise
   * from the heap, outside the pool, as Kafka's split does (`ProducerBatch.split` allocates
   * its buffers off the `BufferPool`). Waiting for pool memory here could deadlock: the
   * appends queued for memory are served first, and the memory they wait for may be held
   * by this very partition's batches, queued behind the one being split. The old batch's
   * own memory returns when its request releases it, as always.
   *
   * @param batch - a sealed, not yet final batch of at least two records
   * @param nowMs - the time
   * @returns the new batches, first records first (at least two)
   * @throws IllegalStateError when the batch is final, not sealed, or holds fewer than 2 records
   * @throws SealError when the batch is compressed and no codec to decompress it is known
   * @throws CorruptBatchError when its bytes do not decode
   */
  splitAndReenqueue(batch: ProducerBatch, nowMs: number = this.#clock.nowMs()): ProducerBatch[] {
    if (batch.isDone || !batch.isSealed || batch.recordCount < 2) {
      throw new IllegalStateError(
        `cannot split batch ${batch.topic}-${batch.partition} of ${batch.recordCount} records (state ${batch.state}, sealed ${batch.isSealed}, done ${batch.isDone})`,
      );
    }
    const codecs = this.#splitCodecs;
    const [decoded] = readRecordBatches(batch.sealedBytes(), {
      verifyCrc: false,
      decompress: (codecId, data) => {
        const codec = codecs?.(codecId) ?? null;
        if (codec === null) throw new SealError(`cannot split ${batch.topic}-${batch.partition}: no codec known to decompress codec id ${codecId}`);
        return codec.decompress(data);
      },
    });
    const records = decoded.records;
    // Group records: at most `targetBytes` of (upper-bound sized) records per new batch.
    const targetBytes = Math.max(1, Math.min(this.config.batchSize - RECORD_BATCH_OVERHEAD, Math.ceil(batch.recordsLength / 2)));
    const groups: { from: number; to: number; bytes: number }[] = [];
    const headerSizes: number[] = new Array<number>(records.length);
    let from = 0;
    let bytes = 0;
    for (let i = 0; i < records.length; i++) {
      const r = records[i];
      headerSizes[i] = sizeOfHeaders(r.headers);
      const size =
        estimateSizeInBytesUpperBound(r.key === null ? -1 : r.key.byteLength, r.value === null ? -1 : r.value.byteLength, headerSizes[i]) -
        RECORD_BATCH_OVERHEAD;
      if (i > from && bytes + size > targetBytes) {
        groups.push({ from, to: i, bytes });
        from = i;
        bytes = 0;
      }
      bytes += size;
    }
    groups.push({ from, to: records.length, bytes });

    const children: ProducerBatch[] = [];
    let sequence = batch.baseSequence;
    for (const g of groups) {
      const sizeBytes = RECORD_BATCH_OVERHEAD + g.bytes;
      const { slot, pooled } = this.#allocateForSplit(sizeBytes);
      const child = new ProducerBatch({
        topic: batch.topic,
        partition: batch.partition,
        slot,
        bytes: slot.slotIndex >= 0 ? this.#poolBytes : Buffer.from(slot.buffer),
        view: slot.slotIndex >= 0 ? this.#poolView : new DataView(slot.buffer),
        nowMs: batch.createdMs,
        codecId: batch.codecId,
        level: batch.level,
        releaseSlot: pooled ? this.#releaseSlot : releaseHeapSlot,
        onSealed: null,
        listener: this.#onBatchDone,
      });
      for (let i = g.from; i < g.to; i++) {
        const r = records[i];
        const keyLength = r.key === null ? -1 : r.key.byteLength;
        const valueLength = r.value === null ? -1 : r.value.byteLength;
        if (child.tryAppend(r.timestamp, r.key, keyLength, r.value, valueLength, r.headers, headerSizes[i]) < 0) {
          throw new IllegalStateError(`split of ${batch.topic}-${batch.partition}: record ${i} did not fit a new batch of ${slot.capacityBytes} bytes`);
        }
      }
      child.closeForRecordAppends();
      if (sequence >= 0) {
        child.setProducerState(batch.producerId, batch.producerEpoch, sequence, batch.transactional);
        sequence = incrementSequence(sequence, child.recordCount);
      }
      children.push(child);
    }
    batch.retireAsSplit(children);
    this.#incomplete.delete(batch);
    const deque = this.#dequeFor(batch.topic, batch.partition);
    const list = deque.batches;
    if (batch.baseSequence >= 0) {
      for (const child of children) {
        let i = 0;
        while (i < list.length && list[i].baseSequence >= 0 && sequenceAfter(child.baseSequence, list[i].baseSequence)) i++;
        list.splice(i, 0, child);
      }
    } else {
      list.unshift(...children);
    }
    for (const child of children) {
      this.#incomplete.add(child);
      if (this.#sealer.eager) {
        child.beginSeal();
        this.#sealer.seal(child);
      }
    }
    const expiryMs = batch.createdMs + this.config.deliveryTimeoutMs;
    if (expiryMs < this.#nextBatchExpiryMs) this.#nextBatchExpiryMs = expiryMs;
    this.#onHeadChanged(deque, nowMs);
    return children;
  }

  /** Memory for a split batch: the pool if it can serve now, else the heap (see {@link splitAndReenqueue}). */
  #allocateForSplit(sizeBytes: number): { slot: PoolSlot; pooled: boolean } {
    try {
      const slot = this.pool.tryAllocate(sizeBytes);
      if (slot !== null) return { slot, pooled: true };
    } catch {
      // Closed pool, or a size the pool can never serve: the heap still can.
    }
    const buffer = new SharedArrayBuffer(sizeBytes);
    const stateWords = new Int32Array(new SharedArrayBuffer(4));
    stateWords[0] = packSlotWord(0, SlotState.APPENDING);
    const slot = new PoolSlot(buffer, new Uint8Array(buffer), new DataView(buffer), 0, sizeBytes, -1, 0, 0, buffer, [], stateWords, 0);
    return { slot, pooled: false };
  }

  /**
   * Removes a batch that has not been drained from its queue (expiry, abort) without
   * completing it. @returns whether it was queued.
   */
  removeUndrained(batch: ProducerBatch, nowMs: number = this.#clock.nowMs()): boolean {
    const deque = this.#batches.get(batch.topic)?.[batch.partition];
    if (deque === undefined) return false;
    const i = deque.batches.indexOf(batch);
    if (i < 0) return false;
    deque.batches.splice(i, 1);
    this.#onHeadChanged(deque, nowMs);
    return true;
  }

  /** Mutes a partition: `ready`/`drain` skip it until unmuted (max.in.flight = 1 ordering). */
  mutePartition(tp: TopicPartition): void {
    this.#dequeFor(tp.topic, tp.partition).muted = true;
  }

  /** Unmutes a partition. */
  unmutePartition(tp: TopicPartition): void {
    this.#dequeFor(tp.topic, tp.partition).muted = false;
  }

  /** Sets the producer id and epoch written into batches drained from now on (idempotence). */
  setProducerIdAndEpoch(value: ProducerIdAndEpoch | null): void {
    this.#producerIdAndEpoch = value;
  }

  /** Next sequence number a partition's next drained batch will get. */
  sequenceFor(tp: TopicPartition): number {
    return this.#batches.get(tp.topic)?.[tp.partition]?.nextSequence ?? 0;
  }

  /** Resets a partition's sequence (after a producer epoch bump). */
  resetSequence(tp: TopicPartition, nextSequence = 0): void {
    this.#dequeFor(tp.topic, tp.partition).nextSequence = nextSequence;
  }

  /**
   * The queued batches of a partition, oldest first (a read-only snapshot, for the sender's
   * expiry checks and for tests).
   */
  batchesFor(tp: TopicPartition): readonly ProducerBatch[] {
    return this.#batches.get(tp.topic)?.[tp.partition]?.batches.slice() ?? [];
  }

  /**
   * Whether the partition's newest queued batch takes no more records, or none is queued
   * (Kafka `RecordAccumulator.allBatchesFull`): the uniform sticky partitioner switches
   * partitions only then, so that it leaves no half-filled batch behind (KIP-794).
   */
  lastBatchFull(tp: TopicPartition): boolean {
    const deque = this.#batches.get(tp.topic)?.[tp.partition];
    return deque === undefined || this.lastBatchFullOf(deque);
  }

  /** Partitions that currently hold undrained batches. */
  partitionsWithBatches(): TopicPartition[] {
    return this.#nonEmpty.toArray().map((d) => ({ topic: d.topic, partition: d.partition }));
  }

  /**
   * Removes and returns the undrained batches that have waited `deliveryTimeoutMs` since
   * creation (Kafka `expiredBatches`); the caller completes them with a timeout error.
   * O(partitions with batches).
   */
  expiredBatches(nowMs: number = this.#clock.nowMs()): ProducerBatch[] {
    const expired: ProducerBatch[] = [];
    const touched: PartitionDeque[] = [];
    let next = Infinity;
    for (const d of this.#nonEmpty) {
      let n = 0;
      while (n < d.batches.length && nowMs - d.batches[n].createdMs >= this.config.deliveryTimeoutMs) n++;
      if (n > 0) {
        expired.push(...d.batches.splice(0, n));
        touched.push(d);
      }
      if (d.batches.length > 0) next = Math.min(next, d.batches[0].createdMs + this.config.deliveryTimeoutMs);
    }
    this.#nextBatchExpiryMs = next;
    for (const d of touched) this.#onHeadChanged(d, nowMs);
    return expired;
  }

  /**
   * When {@link expiredBatches} may next find something (Kafka `nextExpiryTimeMs`): a lower
   * bound of the earliest `createdMs + deliveryTimeoutMs` of the queued batches, kept as
   * batches are created, re-enqueued and split, and made exact by each `expiredBatches`
   * call; Infinity when nothing is queued. A sender calls `expiredBatches` only once the
   * clock reaches it, so expiry costs nothing between deadlines.
   */
  nextBatchExpiryMs(): number {
    return this.#nonEmpty.size === 0 ? Infinity : this.#nextBatchExpiryMs;
  }

  /**
   * Attaches a sender's hooks (one sender per accumulator), or detaches them with null.
   * @throws IllegalStateError when another sender is attached
   */
  attachSender(hooks: AccumulatorSenderHooks | null): void {
    if (hooks !== null && this.#hooks !== null && this.#hooks !== hooks) {
      throw new IllegalStateError('a sender is already attached to this accumulator');
    }
    this.#hooks = hooks;
  }

  // ------------------------------------------------------------------ flush / abort / close

  /** Makes every batch sendable now, until the matching {@link awaitFlushCompletion}. */
  beginFlush(): void {
    this.#flushesInProgress++;
  }

  /** Whether a flush is in progress. */
  flushInProgress(): boolean {
    return this.#flushesInProgress > 0;
  }

  /**
   * Resolves when every batch that existed when it was called is complete (Kafka
   * `awaitFlushCompletion`); ends the flush begun by {@link beginFlush}.
   */
  async awaitFlushCompletion(): Promise<void> {
    try {
      await Promise.all(this.#incomplete.toArray().map((b) => b.whenDone()));
    } finally {
      this.#flushesInProgress--;
    }
  }

  /** Whether any batch is still queued (not drained). */
  hasUndrained(): boolean {
    return this.#nonEmpty.size > 0;
  }

  /** Whether any batch is not yet complete. */
  hasIncomplete(): boolean {
    return this.#incomplete.size > 0;
  }

  /** Number of batches not yet complete. */
  incompleteCount(): number {
    return this.#incomplete.size;
  }

  /**
   * Fails every incomplete batch — queued, sealing or in flight — with `error` (default an
   * {@link AbortedError}). Each record completes exactly once; each slot returns to the pool
   * as soon as nothing reads it (a seal or a request in progress keeps it until it ends).
   */
  abortIncompleteBatches(error: Error = new AbortedError('producer is closing forcefully: batch aborted before it was acknowledged')): void {
    const nowMs = this.#clock.nowMs();
    const touched = new Set<PartitionDeque>();
    for (const d of this.#nonEmpty) {
      if (d.batches.length > 0) touched.add(d);
    }
    const all = this.#incomplete.toArray();
    for (const d of touched) d.batches.length = 0;
    for (const d of touched) this.#onHeadChanged(d, nowMs);
    for (const batch of all) batch.done(-1, -1, error);
  }

  /**
   * Fails every batch that was never drained — open, or closed and waiting in its queue —
   * with `reason`, and removes it (Kafka `RecordAccumulator.abortUndrainedBatches`). Batches
   * drained at least once (in flight, or queued again for a retry) are left alone: their fate
   * is the broker's. Differs from Kafka, which without a transaction manager aborts only the
   * batches still open for appends; a closed batch nobody drained has no better fate.
   * @returns the number of batches aborted
   */
  abortUndrainedBatches(reason: Error = new AbortedError('batch aborted before it was drained')): number {
    const nowMs = this.#clock.nowMs();
    const aborted: ProducerBatch[] = [];
    const touched: PartitionDeque[] = [];
    for (const d of this.#nonEmpty) {
      const kept = d.batches.filter((b) => b.drainedMs >= 0);
      if (kept.length === d.batches.length) continue;
      for (const b of d.batches) if (b.drainedMs < 0) aborted.push(b);
      d.batches.length = 0;
      d.batches.push(...kept);
      touched.push(d);
    }
    for (const d of touched) this.#onHeadChanged(d, nowMs);
    for (const b of aborted) {
      b.closeForRecordAppends();
      b.done(-1, -1, reason);
    }
    return aborted.length;
  }

  /** Whether {@link close} was called. */
  get isClosed(): boolean {
    return this.#closed;
  }

  /**
   * Closes for appends: later `append` calls throw {@link ClosedError}; appends waiting for
   * memory fail; every queued batch becomes sendable so the sender can drain it. Does not
   * fail queued records (the sender drains them, or {@link abortIncompleteBatches} does).
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#ownsPool) this.pool.close();
  }

  /** Closes the sealer (waits for seals in progress). Call after the last batch is drained. */
  async closeSealer(): Promise<void> {
    await this.#sealer.close();
  }
}
