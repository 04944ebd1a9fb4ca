/**
 * The two ends of one lane's job ring (layout, states and races: `seal-ring-layout.ts`):
 * {@link RingWriter} on the main thread publishes, reclaims, abandons and drains entries;
 * {@link RingReader} on the seal thread takes and finishes them. Each method is one step of
 * the protocol — one or two atomic operations — so the property test can interleave the two
 * ends step by step on one thread and check the invariants for every schedule.
 */
import type { SealJob, SealSpec } from '@sluice/core';
import {
  E_BASE_SEQUENCE,
  E_BASE_TIMESTAMP,
  E_BUFFER_ID,
  E_BYTE_OFFSET,
  E_CAPACITY_BYTES,
  E_CODEC_ID,
  E_ERROR_LENGTH,
  E_FAULT,
  E_LEVEL,
  E_MAX_TIMESTAMP,
  E_PRODUCER_EPOCH,
  E_PRODUCER_ID,
  E_RECORDS_LENGTH,
  E_RECORD_COUNT,
  E_TRANSACTIONAL,
  E_STARTED_AT_MS,
  E_STATE,
  JobState,
  LANE_BYTES,
  LANE_PUBLISHED,
  LANE_SLEEPING,
  LANE_STOP,
  LANE_TAKEN,
  RING_ENTRIES,
  RING_MASK,
  entryWord,
} from './seal-ring-layout.js';

/** The main thread's end of a lane: the only writer of PUBLISHED and STOP. */
export class RingWriter {
  readonly buffer: SharedArrayBuffer;
  readonly i32: Int32Array;
  readonly f64: Float64Array;
  /** Jobs published (int32, wraps); mirrors LANE_PUBLISHED. */
  published: number;
  /** Entries drained (int32, wraps): entries `drained .. published-1` are outstanding. */
  drained: number;

  /**
   * @param initialCount - where both counters start (tests start near 2^31 to cover the
   *   wrap-around); the reader reads it from LANE_TAKEN
   */
  constructor(initialCount = 0, buffer: SharedArrayBuffer = new SharedArrayBuffer(LANE_BYTES)) {
    this.buffer = buffer;
    this.i32 = new Int32Array(buffer);
    this.f64 = new Float64Array(buffer);
    this.published = initialCount | 0;
    this.drained = initialCount | 0;
    Atomics.store(this.i32, LANE_PUBLISHED, this.published);
    Atomics.store(this.i32, LANE_TAKEN, this.published);
  }

  /** Entries published and not drained yet. */
  get outstanding(): number {
    return (this.published - this.drained) | 0;
  }

  /**
   * The first word of the entry the next job goes into, or -1 when the ring is full. The
   * caller writes the fields (plain stores) and then calls {@link commitPublish}.
   */
  tryBeginPublish(): number {
    if (this.outstanding >= RING_ENTRIES) return -1;
    const base = entryWord(this.published & RING_MASK);
    // Drained entries are FREE; an ABANDONED one is never drained, so the ring stays full.
    if (Atomics.load(this.i32, base + E_STATE) !== JobState.FREE) return -1;
    this.f64[(base + E_STARTED_AT_MS) >> 1] = 0;
    return base;
  }

  /**
   * Publishes the entry {@link tryBeginPublish} returned: QUEUED, then PUBLISHED + 1 (the
   * release the thread's load pairs with).
   * @returns whether the thread is parked (the caller notifies it)
   */
  commitPublish(base: number): boolean {
    Atomics.store(this.i32, base + E_STATE, JobState.QUEUED);
    this.published = (this.published + 1) | 0;
    Atomics.store(this.i32, LANE_PUBLISHED, this.published);
    return Atomics.load(this.i32, LANE_SLEEPING) === 1;
  }

  /** Wakes the thread parked on PUBLISHED or STOP. */
  wake(): void {
    Atomics.notify(this.i32, LANE_PUBLISHED);
  }

  /** First word of the oldest outstanding entry, or -1 when none. */
  oldest(): number {
    return this.outstanding === 0 ? -1 : entryWord(this.drained & RING_MASK);
  }

  /** First word of the `k`-th outstanding entry (0 = oldest). */
  outstandingEntry(k: number): number {
    return entryWord((this.drained + k) & RING_MASK);
  }

  stateOf(base: number): number {
    return Atomics.load(this.i32, base + E_STATE);
  }

  /** Frees the oldest entry (it must be drainable) and moves past it. */
  freeOldest(base: number): void {
    Atomics.store(this.i32, base + E_STATE, JobState.FREE);
    this.drained = (this.drained + 1) | 0;
  }

  /** Takes a queued job back from a retired lane: true when the thread had not taken it. */
  tryReclaim(base: number): boolean {
    return Atomics.compareExchange(this.i32, base + E_STATE, JobState.QUEUED, JobState.RECLAIMED) === JobState.QUEUED;
  }

  /** Abandons a job whose codec runs too long: true when the thread had not started replacing. */
  tryAbandon(base: number): boolean {
    return Atomics.compareExchange(this.i32, base + E_STATE, JobState.COMPRESSING, JobState.ABANDONED) === JobState.COMPRESSING;
  }

  /** Tells the thread to return once idle, and wakes it. */
  stop(): void {
    Atomics.store(this.i32, LANE_STOP, 1);
    Atomics.notify(this.i32, LANE_PUBLISHED);
  }
}

/** The seal thread's end of a lane: the only writer of TAKEN and SLEEPING. */
export class RingReader {
  readonly i32: Int32Array;
  readonly f64: Float64Array;
  /** Entries passed (int32, wraps). */
  taken: number;

  constructor(buffer: SharedArrayBuffer) {
    this.i32 = new Int32Array(buffer);
    this.f64 = new Float64Array(buffer);
    this.taken = Atomics.load(this.i32, LANE_TAKEN);
  }

  /** Whether main asked the thread to stop. */
  get stopping(): boolean {
    return Atomics.load(this.i32, LANE_STOP) === 1;
  }

  /** Whether a published entry has not been passed yet. */
  hasPublished(): boolean {
    return Atomics.load(this.i32, LANE_PUBLISHED) !== this.taken;
  }

  /**
   * Takes the next published entry: writes its start time, then CASes QUEUED → COMPRESSING.
   * @returns its first word; -1 when nothing is published, or when the entry was reclaimed
   *   (passed all the same: call again)
   */
  tryTake(nowMs: number): number {
    if (!this.hasPublished()) return -1;
    const base = entryWord(this.taken & RING_MASK);
    this.taken = (this.taken + 1) | 0;
    Atomics.store(this.i32, LANE_TAKEN, this.taken);
    this.f64[(base + E_STARTED_AT_MS) >> 1] = nowMs;
    return Atomics.compareExchange(this.i32, base + E_STATE, JobState.QUEUED, JobState.COMPRESSING) === JobState.QUEUED ? base : -1;
  }

  /** COMPRESSING → REPLACING: false when main abandoned the job (write nothing then). */
  tryBeginReplace(base: number): boolean {
    return Atomics.compareExchange(this.i32, base + E_STATE, JobState.COMPRESSING, JobState.REPLACING) === JobState.COMPRESSING;
  }

  /** COMPRESSING → FAILED_RETRYABLE: false when main abandoned the job. */
  tryFailRetryable(base: number): boolean {
    return Atomics.compareExchange(this.i32, base + E_STATE, JobState.COMPRESSING, JobState.FAILED_RETRYABLE) === JobState.COMPRESSING;
  }

  /** REPLACING → SEALED or FAILED_LOST (nobody else writes a REPLACING entry). */
  finish(base: number, state: typeof JobState.SEALED | typeof JobState.FAILED_LOST): void {
    Atomics.store(this.i32, base + E_STATE, state);
  }

  /**
   * Parks until something is published or `timeoutMs` passes (SLEEPING set around the wait,
   * see the publish-vs-park race in the layout file).
   */
  park(timeoutMs: number): void {
    Atomics.store(this.i32, LANE_SLEEPING, 1);
    if (!this.hasPublished() && !this.stopping) Atomics.wait(this.i32, LANE_PUBLISHED, this.taken, timeoutMs);
    Atomics.store(this.i32, LANE_SLEEPING, 0);
  }
}

/**
 * Writes a job's fields into the entry at `base` (plain stores, before
 * {@link RingWriter.commitPublish}): the one encoder of the entry layout (the seal task is its
 * one decoder).
 * @param bufferId - the id `job.memory` was registered under with the lane's thread
 * @param fault - test-only SealFault; 0 in production
 */
export function writeJob(w: RingWriter, base: number, bufferId: number, job: SealJob, spec: SealSpec, fault = 0): void {
  const i32 = w.i32;
  const f64 = w.f64;
  i32[base + E_BUFFER_ID] = bufferId;
  i32[base + E_BYTE_OFFSET] = job.byteOffset;
  i32[base + E_CAPACITY_BYTES] = job.capacityBytes;
  i32[base + E_RECORDS_LENGTH] = spec.recordsLength;
  i32[base + E_RECORD_COUNT] = spec.recordCount;
  i32[base + E_CODEC_ID] = spec.codecId;
  i32[base + E_LEVEL] = spec.level;
  i32[base + E_PRODUCER_EPOCH] = spec.producerEpoch;
  i32[base + E_BASE_SEQUENCE] = spec.baseSequence;
  i32[base + E_TRANSACTIONAL] = spec.transactional ? 1 : 0;
  i32[base + E_FAULT] = fault;
  i32[base + E_ERROR_LENGTH] = 0;
  f64[(base + E_BASE_TIMESTAMP) >> 1] = spec.baseTimestamp;
  f64[(base + E_MAX_TIMESTAMP) >> 1] = spec.maxTimestamp;
  f64[(base + E_PRODUCER_ID) >> 1] = spec.producerId;
}
