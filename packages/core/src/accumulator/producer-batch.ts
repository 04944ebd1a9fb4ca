/**
 * One batch of records for one partition: a slot of pool memory plus the metadata Kafka's
 * `ProducerBatch` keeps (counts, timestamps, attempts, per-record completions).
 *
 * Records are encoded straight into the slot after a 61-byte gap that sealing fills with
 * the header. Appends happen on the owning thread only. Completion happens exactly once
 * ({@link ProducerBatch#done}); memory returns exactly once ({@link ProducerBatch#release}),
 * and only when nothing reads the bytes any more.
 */
import { AbortedError, IllegalStateError, SealError, asSluiceError } from '../errors.js';
import type { SluiceError } from '../errors.js';
import { rewriteProducerState } from '../format/batch-header-writer.js';
import type { CompressionId } from '../format/compression-type.js';
import { NO_PRODUCER_EPOCH, NO_SEQUENCE, RECORD_BATCH_OVERHEAD } from '../format/record-batch-layout.js';
import type { RecordData, RecordHeader } from '../format/record-data.js';
import { sizeOfRecord, sizeOfRecordBody, writeRecord } from '../format/record-writer.js';
import type { SlotStateValue } from '../memory/pool-layout.js';
import type { PoolSlot } from '../memory/pool-slot.js';
import type { SealJob, SealSpec } from '../sealing/sealer.js';
import type { BatchStateValue } from './batch-state.js';
import { BatchState, batchStateName, checkTransition, isFinalState } from './batch-state.js';
import type { RecordCallback, RecordMetadata } from './record-metadata.js';
import { reportUserHookError } from '../user-hook-error.js';

/** One record that asked to be told how it ended. Created only when a caller asks. */
interface Completion {
  offsetDelta: number;
  timestampMs: number;
  keySize: number;
  valueSize: number;
  callback: RecordCallback | null;
  resolve: ((m: RecordMetadata) => void) | null;
  reject: ((e: Error) => void) | null;
}

/** Receives a batch once it reaches a final state (sender, metrics, the perf harness). */
export type BatchListener = (batch: ProducerBatch, error: Error | null) => void;

/**
 * Told the outcome of records whose completions live elsewhere — on the threads that
 * appended them to a shared batch (`shared/shared-intake.ts`). One sink per adopted batch;
 * the batches a split makes share it, each with its own {@link ProducerBatch.sinkFirstDelta}.
 */
export interface BatchCompletionSink {
  /**
   * Records `[firstDelta, firstDelta + batch.recordCount)` of the sink's batch ended: with
   * `baseOffset` (the offset of record `firstDelta`; -1 unknown) or with `error`. Called once
   * per final batch, from {@link ProducerBatch.done}, after the batch's own completions.
   */
  batchDone(batch: ProducerBatch, firstDelta: number, baseOffset: number, logAppendTimeMs: number, error: SluiceError | null): void;
}


/** Settings a batch takes from its accumulator when it is created. */
export interface ProducerBatchInit {
  topic: string;
  partition: number;
  slot: PoolSlot;
  bytes: Buffer;
  view: DataView;
  nowMs: number;
  codecId: CompressionId;
  level: number;
  /** Called once when the batch is final and nothing reads its memory: returns the slot. */
  releaseSlot: (slot: PoolSlot) => void;
  /** Called once when the batch is sealed (or failed sealing). */
  onSealed: ((batch: ProducerBatch) => void) | null;
  listener: BatchListener | null;
}

export class ProducerBatch implements SealJob {
  readonly topic: string;
  readonly partition: number;
  readonly slot: PoolSlot;
  readonly memory: SharedArrayBuffer;
  readonly bytes: Buffer;
  readonly view: DataView;
  readonly byteOffset: number;
  readonly capacityBytes: number;
  /** When the batch was created (ms). */
  readonly createdMs: number;
  readonly codecId: CompressionId;
  readonly level: number;

  /** Records appended so far. */
  recordCount = 0;
  /** Timestamp of the first record. */
  baseTimestamp = 0;
  /** Largest record timestamp. */
  maxTimestamp = 0;
  /** Sends so far (Kafka `attempts`). */
  attempts = 0;
  /** Last time the batch was created, sent or re-enqueued (ms); linger and backoff count from here. */
  lastAttemptMs: number;
  /** When the last drain took the batch (ms); -1 before. */
  drainedMs = -1;
  /** Earliest time a retry may be sent (ms); 0 when not backing off. */
  retryAtMs = 0;
  producerId = -1;
  producerEpoch = NO_PRODUCER_EPOCH;
  baseSequence = NO_SEQUENCE;
  transactional = false;
  /** Total sealed size (header included); 0 before sealing. */
  sizeBytes = 0;
  /** Why the batch failed, once it has. */
  finalError: Error | null = null;
  /** Position in the accumulator's set of incomplete batches; -1 when not in it (see `IndexedSet`). */
  incompleteIndex = -1;
  /**
   * The batches this one was split into after MESSAGE_TOO_LARGE ({@link retireAsSplit}); null
   * when it was not split. A split batch is final (state FAILED, `finalError` null) but
   * completed none of its records: they moved to these batches.
   */
  splitInto: readonly ProducerBatch[] | null = null;
  /** Where the outcome of records appended on other threads goes (shared accumulator); null: none. */
  completionSink: BatchCompletionSink | null = null;
  /** Delta, in the sink's batch, of this batch's first record (non-zero for a split's later parts). */
  sinkFirstDelta = 0;

  #pos: number;
  #end: number;
  #closed = false;
  #state: BatchStateValue = BatchState.APPENDING;
  #completions: Completion[] | null = null;
  #donePromise: Promise<void> | null = null;
  #resolveDone: (() => void) | null = null;
  #sealPromise: Promise<void> | null = null;
  #resolveSeal: (() => void) | null = null;
  #networkHolds = 0;
  #sealing = false;
  #sealedSequence = NO_SEQUENCE;
  #sealedProducerId = -1;
  #released = false;
  #init: ProducerBatchInit;

  constructor(init: ProducerBatchInit) {
    this.topic = init.topic;
    this.partition = init.partition;
    this.slot = init.slot;
    this.memory = init.slot.buffer;
    this.bytes = init.bytes;
    this.view = init.view;
    this.byteOffset = init.slot.byteOffset;
    this.capacityBytes = init.slot.capacityBytes;
    this.createdMs = init.nowMs;
    this.lastAttemptMs = init.nowMs;
    this.codecId = init.codecId;
    this.level = init.level;
    this.#pos = this.byteOffset + RECORD_BATCH_OVERHEAD;
    this.#end = this.byteOffset + this.capacityBytes;
    this.#init = init;
  }

  /** Current state. */
  get state(): BatchStateValue {
    return this.#state;
  }

  /** Whether the batch takes no more records (full, drained, or flushed). */
  get isClosed(): boolean {
    return this.#closed;
  }

  /** Whether the batch has completed (success, failure or abort). */
  get isDone(): boolean {
    return isFinalState(this.#state);
  }

  /** Bytes of encoded records so far (uncompressed). */
  get recordsLength(): number {
    return this.#pos - this.byteOffset - RECORD_BATCH_OVERHEAD;
  }

  /** Bytes free in the slot for more records. */
  get remainingBytes(): number {
    return this.#end - this.#pos;
  }

  /**
   * Size the batch will take in a request: its sealed size once sealed, else its
   * uncompressed size (an upper bound for compressed batches).
   */
  estimatedSizeInBytes(): number {
    return this.sizeBytes > 0 ? this.sizeBytes : this.#pos - this.byteOffset;
  }

  /**
   * Appends one record if it fits; never throws for lack of room.
   * @returns the record's offsetDelta, or -1 when the batch is closed or the record does not fit
   */
  tryAppend(
    timestampMs: number,
    key: RecordData,
    keyLength: number,
    value: RecordData,
    valueLength: number,
    headers: readonly RecordHeader[] | null | undefined,
    headersSize: number,
  ): number {
    if (this.#closed) return -1;
    const offsetDelta = this.recordCount;
    const timestampDelta = offsetDelta === 0 ? 0 : timestampMs - this.baseTimestamp;
    const body = sizeOfRecordBody(offsetDelta, timestampDelta, keyLength, valueLength, headersSize);
    const size = sizeOfRecord(body);
    if (this.#pos + size > this.#end) return -1;
    this.#pos = writeRecord(this.bytes, this.#pos, body, offsetDelta, timestampDelta, key, keyLength, value, valueLength, headers);
    if (offsetDelta === 0) {
      this.baseTimestamp = timestampMs;
      this.maxTimestamp = timestampMs;
    } else if (timestampMs > this.maxTimestamp) {
      this.maxTimestamp = timestampMs;
    }
    this.recordCount = offsetDelta + 1;
    return offsetDelta;
  }

  /**
   * Takes records already encoded in the slot by other threads (shared accumulator): the
   * batch holds `recordsLength` bytes of `recordCount` records after the header gap and is
   * closed for appends.
   * @throws IllegalStateError when the batch already has records, is not APPENDING, or the
   *   records do not fit its slot
   */
  adoptRecords(recordsLength: number, recordCount: number, baseTimestamp: number, maxTimestamp: number): void {
    if (this.recordCount !== 0 || this.#state !== BatchState.APPENDING || RECORD_BATCH_OVERHEAD + recordsLength > this.capacityBytes || recordCount < 1) {
      throw new IllegalStateError(
        `${this.#describe()}: cannot adopt ${recordCount} records of ${recordsLength} bytes (state ${batchStateName(this.#state)}, capacity ${this.capacityBytes})`,
      );
    }
    this.#pos = this.byteOffset + RECORD_BATCH_OVERHEAD + recordsLength;
    this.recordCount = recordCount;
    this.baseTimestamp = baseTimestamp;
    this.maxTimestamp = maxTimestamp;
    this.#closed = true;
  }

  /** Registers a callback for the record just appended at `offsetDelta`. */
  addCallback(offsetDelta: number, timestampMs: number, keySize: number, valueSize: number, callback: RecordCallback): void {
    (this.#completions ??= []).push({ offsetDelta, timestampMs, keySize, valueSize, callback, resolve: null, reject: null });
  }

  /** Returns a promise of the metadata of the record just appended at `offsetDelta`. */
  addPromise(offsetDelta: number, timestampMs: number, keySize: number, valueSize: number): Promise<RecordMetadata> {
    return new Promise<RecordMetadata>((resolve, reject) => {
      (this.#completions ??= []).push({ offsetDelta, timestampMs, keySize, valueSize, callback: null, resolve, reject });
    });
  }

  /** Closes the batch for appends (idempotent). */
  closeForRecordAppends(): void {
    this.#closed = true;
  }

  // ---- sealing (SealJob) ----

  /** The seal's parameters; producer fields as they are now (a later change is patched in `completeSeal`). */
  sealSpec(): SealSpec {
    this.#sealedSequence = this.baseSequence;
    this.#sealedProducerId = this.producerId;
    return {
      recordsLength: this.recordsLength,
      recordCount: this.recordCount,
      baseTimestamp: this.baseTimestamp,
      maxTimestamp: this.maxTimestamp,
      codecId: this.codecId,
      level: this.level,
      producerId: this.producerId,
      producerEpoch: this.producerEpoch,
      baseSequence: this.baseSequence,
      transactional: this.transactional,
    };
  }

  /** Marks the batch as being sealed; the sealer will call back. */
  beginSeal(): void {
    this.#closed = true;
    this.#transition(BatchState.SEALING);
    this.#sealing = true;
  }

  /** Whether the batch's bytes are a complete RecordBatch. */
  get isSealed(): boolean {
    return this.sizeBytes > 0;
  }

  /** Resolves when the seal finished (successfully or not); already resolved when sealed. */
  whenSealed(): Promise<void> {
    if (this.sizeBytes > 0 || this.#state !== BatchState.SEALING) return Promise.resolve();
    return (this.#sealPromise ??= new Promise<void>((r) => (this.#resolveSeal = r)));
  }

  completeSeal(sizeBytes: number): void {
    this.#sealing = false;
    if (this.#state === BatchState.SEALING) {
      this.sizeBytes = sizeBytes;
      // Drain may have assigned the sequence while a worker sealed with the old one.
      if (this.baseSequence !== this.#sealedSequence || this.producerId !== this.#sealedProducerId) {
        rewriteProducerState(this.bytes, this.view, this.byteOffset, sizeBytes, this.producerId, this.producerEpoch, this.baseSequence);
      }
      this.#transition(BatchState.SEALED);
    } else if (!isFinalState(this.#state)) {
      throw new IllegalStateError(`completeSeal on ${this.#describe()} in state ${batchStateName(this.#state)}`);
    }
    this.#afterSeal();
  }

  failSeal(error: Error): void {
    this.#sealing = false;
    if (!isFinalState(this.#state)) {
      this.done(-1, -1, error instanceof SealError ? error : new SealError(error.message, error));
    }
    this.#afterSeal();
  }

  #afterSeal(): void {
    this.#resolveSeal?.();
    this.#resolveSeal = null;
    this.#init.onSealed?.(this);
    this.#maybeRelease();
  }

  /**
   * Sets producer id, epoch and base sequence (assigned when drained; never changed on retry).
   * If the batch is already sealed, rewrites those header fields and its CRC in place.
   */
  setProducerState(producerId: number, producerEpoch: number, baseSequence: number, transactional: boolean): void {
    this.producerId = producerId;
    this.producerEpoch = producerEpoch;
    this.baseSequence = baseSequence;
    this.transactional = transactional;
    if (this.sizeBytes > 0) {
      rewriteProducerState(this.bytes, this.view, this.byteOffset, this.sizeBytes, producerId, producerEpoch, baseSequence);
    }
  }

  /** The sealed RecordBatch bytes (a view into pool memory; valid until the batch is released). */
  sealedBytes(): Buffer {
    if (this.sizeBytes === 0) throw new IllegalStateError(`${this.#describe()} is not sealed (state ${batchStateName(this.#state)})`);
    return this.bytes.subarray(this.byteOffset, this.byteOffset + this.sizeBytes);
  }

  // ---- sending ----

  /** Sender: the batch goes into a request (SEALED → IN_FLIGHT); holds its memory until {@link releaseNetworkHold}. */
  markInFlight(nowMs: number): void {
    this.#transition(BatchState.IN_FLIGHT);
    this.attempts++;
    this.lastAttemptMs = nowMs;
    this.#networkHolds++;
  }

  /** Sender: the request that held the bytes is finished with them (written, answered or dropped). */
  releaseNetworkHold(): void {
    if (this.#networkHolds <= 0) throw new IllegalStateError(`${this.#describe()}: network hold released twice`);
    this.#networkHolds--;
    this.#maybeRelease();
  }

  /** Sender: a retriable failure; the batch goes back to SEALED to be sent again after `retryAtMs`. */
  prepareRetry(nowMs: number, retryAtMs: number): void {
    this.#transition(BatchState.SEALED);
    this.lastAttemptMs = nowMs;
    this.retryAtMs = retryAtMs;
  }

  /** Whether the batch waits for its retry backoff at `nowMs`. */
  isBackingOff(nowMs: number): boolean {
    return this.attempts > 0 && nowMs < this.retryAtMs;
  }

  // ---- completion ----

  /**
   * Completes every record of the batch, exactly once: success when `error` is null
   * (offsets = baseOffset + offsetDelta), else failure with `error`.
   * @returns true if this call completed the batch, false if it was already complete
   *   (a late answer after expiry, say)
   * @throws IllegalStateError when a batch that already succeeded is completed again
   */
  done(baseOffset: number, logAppendTimeMs: number, error: Error | null): boolean {
    if (isFinalState(this.#state)) {
      if (this.#state === BatchState.SUCCEEDED) {
        throw new IllegalStateError(`${this.#describe()} already succeeded; cannot complete it again`);
      }
      return false;
    }
    error = error === null ? null : asSluiceError(error);
    const to = error === null ? BatchState.SUCCEEDED : error instanceof AbortedError ? BatchState.ABORTED : BatchState.FAILED;
    if (to === BatchState.SUCCEEDED) checkTransition(this.#state, to, this);
    this.#state = to;
    this.finalError = error;
    const completions = this.#completions;
    this.#completions = null;
    if (completions !== null) {
      for (const c of completions) this.#complete(c, baseOffset, logAppendTimeMs, error as SluiceError | null);
    }
    this.completionSink?.batchDone(this, this.sinkFirstDelta, baseOffset, logAppendTimeMs, error as SluiceError | null);
    this.#resolveDone?.();
    this.#init.listener?.(this, error);
    this.#maybeRelease();
    return true;
  }

  #complete(c: Completion, baseOffset: number, logAppendTimeMs: number, error: SluiceError | null): void {
    try {
      if (error !== null) {
        if (c.callback !== null) c.callback(error, null);
        else c.reject!(error);
        return;
      }
      const metadata: RecordMetadata = {
        topic: this.topic,
        partition: this.partition,
        offset: baseOffset < 0 ? -1 : baseOffset + c.offsetDelta,
        timestamp: logAppendTimeMs >= 0 ? logAppendTimeMs : c.timestampMs,
        serializedKeySize: c.keySize,
        serializedValueSize: c.valueSize,
      };
      if (c.callback !== null) c.callback(null, metadata);
      else c.resolve!(metadata);
    } catch (err) {
      // A callback's exception must not stop the other records' completions.
      reportUserHookError('record callback', err);
    }
  }

  /**
   * Ends the batch because it was split (accumulator `splitAndReenqueue`): each record's
   * completion moves to the batch in `children` that now holds it — the children hold this
   * batch's records in order, so record `d` goes to the child covering `d` and becomes its
   * record `d − (records in the children before it)`. The batch becomes final without
   * completing any record and without telling the listener (its records are not done);
   * `whenDone()` resolves once every child is done. Its memory returns as for any final
   * batch, once no request holds it.
   * @throws IllegalStateError when the batch is already final or the children do not hold exactly its records
   */
  retireAsSplit(children: readonly ProducerBatch[]): void {
    let total = 0;
    for (const c of children) total += c.recordCount;
    if (total !== this.recordCount) {
      throw new IllegalStateError(`${this.#describe()}: split into batches holding ${total} records, expected ${this.recordCount}`);
    }
    if (isFinalState(this.#state)) throw new IllegalStateError(`${this.#describe()} is already ${batchStateName(this.#state)}; cannot retire it as split`);
    checkTransition(this.#state, BatchState.FAILED, this);
    this.#state = BatchState.FAILED;
    this.splitInto = children;
    if (this.completionSink !== null) {
      let firstDelta = this.sinkFirstDelta;
      for (const c of children) {
        c.completionSink = this.completionSink;
        c.sinkFirstDelta = firstDelta;
        firstDelta += c.recordCount;
      }
    }
    const completions = this.#completions;
    this.#completions = null;
    if (completions !== null) {
      let ci = 0;
      let start = 0;
      for (const c of completions) {
        while (c.offsetDelta >= start + children[ci].recordCount) start += children[ci++].recordCount;
        c.offsetDelta -= start;
        (children[ci].#completions ??= []).push(c);
      }
    }
    const resolve = this.#resolveDone;
    this.#resolveDone = null;
    if (resolve !== null) void this.whenDone().then(resolve);
    this.#maybeRelease();
  }

  /**
   * Resolves when the batch is final — for a split batch, when every batch it was split into
   * is. Never rejects (read {@link finalError}).
   */
  whenDone(): Promise<void> {
    if (this.splitInto !== null) return Promise.all(this.splitInto.map((c) => c.whenDone())).then(() => undefined);
    if (isFinalState(this.#state)) return Promise.resolve();
    return (this.#donePromise ??= new Promise<void>((r) => (this.#resolveDone = r)));
  }

  /** Whether the memory went back to the pool. */
  get isReleased(): boolean {
    return this.#released;
  }

  #maybeRelease(): void {
    if (this.#released || !isFinalState(this.#state) || this.#networkHolds > 0) return;
    // A worker may still be writing the slot: wait for its answer (completeSeal/failSeal).
    if (this.#sealing) return;
    this.#released = true;
    this.#init.releaseSlot(this.slot);
  }

  #transition(to: BatchStateValue): void {
    checkTransition(this.#state, to, this);
    // Mirror the non-final states onto the slot's shared state word (SlotState = BatchState + 1
    // for APPENDING..IN_FLIGHT), so every thread sees who owns the bytes; final states leave the
    // word alone until the slot is deallocated.
    if (!isFinalState(to)) this.slot.transition((this.#state + 1) as SlotStateValue, (to + 1) as SlotStateValue);
    this.#state = to;
  }

  /** `batch topic-partition (N records, created T)`, for messages. */
  toString(): string {
    return this.#describe();
  }

  #describe(): string {
    return `batch ${this.topic}-${this.partition} (${this.recordCount} records, created ${this.createdMs})`;
  }
}
