/**
 * `BufferPool`: Kafka's producer `BufferPool` (org.apache.kafka.clients.producer.internals)
 * over one SharedArrayBuffer, usable from the event-loop thread and from worker threads
 * that {@link BufferPool.attach} to the same memory. Layout: `pool-layout.ts`.
 *
 * Key insight: a free BITMAP changed only by compareExchange has no ABA hazard. A lock-free
 * Treiber stack of free indices does: thread A reads head = 7 (next = 3), B pops 7, pops 3,
 * pushes 7 back, and A's compareExchange(head, 7 → 3) succeeds although 3 is now owned by
 * B; it would need a tag counter to stay correct. Claiming a slot from the bitmap instead
 * compares the bits themselves: A reads word = 0b1010 and tries 0b1010 → 0b1000; if any
 * bit of the word changed in between (slot 1 claimed and freed again included: the word is
 * then equal again, and slot 1 is genuinely free, which is exactly what A wants) the value
 * A claims against is the truth about every slot in the word. There is no "next" pointer
 * that can go stale.
 *
 * A count of claimable slots (FREE_SLOTS) sits beside the bitmap as a reservation ticket:
 * allocate first takes k from the count (one compareExchange, never below 0), then clears
 * k bits; free first sets the bit, then adds to the count. So the bitmap always holds at
 * least as many set bits as the count plus outstanding reservations, a thread holding a
 * reservation always finds its bits, a multi-slot (non-pooled) request is all-or-nothing
 * without a lock, and "not enough memory" is one load instead of a scan.
 *
 * Waiting (Kafka's `Condition` queue) never blocks the event loop: a per-thread FIFO of
 * promises. Memory freed on this thread goes straight to the head waiter. Memory freed on
 * another thread bumps FREE_SIGNAL and `Atomics.notify`s it; while this thread has waiters
 * it keeps exactly one `Atomics.waitAsync` pending on that word, and serves the head
 * waiter again when it resolves.
 *
 * Rejected: a mutex word around a JS free list (the piscina/Java shape). A thread that
 * holds it cannot be preempted safely on the event loop, and every allocation would take
 * two atomic round trips plus the list update while any other thread spins.
 */

import { BufferExhaustedError, ClosedError, ConfigError, IllegalStateError, RecordTooLargeError } from '../errors.js';
import { systemClock } from '../clock.js';
import type { Clock } from '../clock.js';
import {
  ACCUMULATOR_INDEX,
  BITMAP_INDEX,
  CLOSED_INDEX,
  FREE_SIGNAL_INDEX,
  FREE_SLOTS_INDEX,
  HIGH_WATER_INDEX,
  INSTANCE_COUNTER_INDEX,
  MAGIC_INDEX,
  NON_POOLED_HEADER_BYTES,
  NON_POOLED_STATE_INDEX,
  POOLABLE_SIZE_INDEX,
  POOL_ID_INDEX,
  POOL_LAYOUT_VERSION,
  POOL_MAGIC,
  RESERVED_SLOT_STATE,
  SLOT_COUNT_INDEX,
  SlotState,
  VERSION_INDEX,
  WAITERS_INDEX,
  WAIT_TIME_NS_BIGINT_INDEX,
  computePoolLayout,
  packSlotWord,
  slotStateName,
  slotWordGeneration,
  slotWordState,
} from './pool-layout.js';
import type { SlotStateValue } from './pool-layout.js';
import { PoolSlot } from './pool-slot.js';

/** Options of {@link BufferPool}. */
export interface BufferPoolOptions {
  /** Kafka's `buffer.memory`: the bound on all memory handed out (rounded down to whole slots). */
  totalMemoryBytes: number;
  /** Kafka's `batch.size`: the size of one pooled slot. */
  poolableSizeBytes: number;
  /** Source of `hiResNs` for the wait-time metric. Default: {@link systemClock}. */
  clock?: Clock;
}

/** The pool's metrics, named as Kafka's producer metrics (`producer-metrics` group). */
export interface BufferPoolMetrics {
  /** Bytes that can be allocated now on any thread. */
  'buffer-available-bytes': number;
  /** Usable bytes of the pool. */
  'buffer-total-bytes': number;
  /** Queued waiters on all threads attached to the pool. */
  'waiting-threads': number;
  /** Total nanoseconds waiters (all threads) spent waiting for memory, whatever the outcome. */
  'bufferpool-wait-time-ns-total': number;
}

type WaitAsyncResult =
  | { async: false; value: 'not-equal' | 'timed-out' }
  | { async: true; value: Promise<'ok' | 'timed-out'> };

// `Atomics.waitAsync` is in Node 20 (V8 11.3) but in TypeScript's lib only from ES2024.
const atomicsWaitAsync = (
  Atomics as unknown as { waitAsync(array: Int32Array, index: number, value: number, timeoutMs?: number): WaitAsyncResult }
).waitAsync.bind(Atomics);

/**
 * How long one `Atomics.waitAsync` may stay pending before it is re-armed. It only bounds
 * how long an abandoned wait lingers (a pending waitAsync does not keep the process alive,
 * but it holds the SharedArrayBuffer); waiters' deadlines are kept by their own timers.
 */
const WAKE_REARM_MS = 1_000;
/** Free-signal changes handled synchronously in a row before yielding to the event loop. */
const MAX_SYNC_WAKE_ROUNDS = 16;
/** setTimeout's delay is an Int32: longer waits get no timer and wait until served or closed. */
const MAX_TIMER_MS = 0x7fffffff;
/**
 * Set by {@link BufferPool.attach} just before it calls the constructor, which then views
 * this buffer instead of creating one (private fields can only be set by the constructor).
 */
let attachRequest: SharedArrayBuffer | undefined;
/** Most slots in one run ({@link BufferPool.tryAllocateRun}): one bitmap word. */
export const MAX_RUN_SLOTS = 32;
/** Full bitmap passes a reservation holder may make before the pool is declared corrupt. */
const MAX_CLAIM_PASSES = 100_000;

interface Waiter {
  readonly sizeBytes: number;
  readonly slotsNeeded: number;
  readonly maxBlockMs: number;
  readonly startNs: bigint;
  /** When the wait began by the process's monotonic clock — the clock Node's timers run on. */
  readonly timerStartNs: bigint;
  /** Slot indices accumulated so far, each in state RESERVED. */
  readonly held: number[];
  readonly resolve: (slot: PoolSlot) => void;
  readonly reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/**
 * A bounded pool of `poolableSize` slots in one SharedArrayBuffer, with Kafka's
 * BufferPool semantics: FIFO waiting bounded by `maxBlockMs`, non-pooled buffers for
 * larger requests counted against the same total, and memory returned exactly once.
 */
export class BufferPool {
  /** The pool's memory: control words and slots. Post it to workers and {@link BufferPool.attach} there. */
  readonly sharedBuffer: SharedArrayBuffer;
  /** Usable bytes: slotCount * poolableSize. */
  readonly totalMemory: number;
  /** Bytes per pooled slot. */
  readonly poolableSize: number;
  /** Number of pooled slots. */
  readonly slotCount: number;

  readonly #clock: Clock;
  readonly #control: Int32Array;
  readonly #control64: BigInt64Array;
  readonly #bytes: Uint8Array;
  readonly #dataView: DataView;
  readonly #bitmapWords: number;
  readonly #stateIndex: number;
  readonly #dataOffsetBytes: number;
  /** This thread's FIFO of waiters (Kafka's `waiters` deque); the head accumulates first. */
  #waiters: Waiter[] = [];
  /** Bitmap word to start the next scan at: lowest word this thread believes may have a free bit. */
  #hintWord = 0;
  /** Whether an Atomics.waitAsync on FREE_SIGNAL is pending for this instance. */
  #wakePending = false;
  #wakeDeferred = false;
  /** This instance's id, the value it writes into ACCUMULATOR_INDEX. */
  readonly #instanceId: number;
  /** Whether this instance holds the accumulation token (layout invariant 5). */
  #holdsAccumulation = false;

  /**
   * Creates a pool and its SharedArrayBuffer, all slots free.
   * @param options - sizes and clock
   * @throws ConfigError when a size is not a positive integer or the total is below one slot
   */
  constructor(options: BufferPoolOptions) {
    const attached = attachRequest;
    attachRequest = undefined;
    const layout = computePoolLayout(options.totalMemoryBytes, options.poolableSizeBytes);
    const shared = attached ?? new SharedArrayBuffer(layout.sharedBytes);
    const control = new Int32Array(shared, 0, layout.controlWords);
    if (attached === undefined) {
      // Not yet visible to any other thread: plain stores are enough here.
      control[MAGIC_INDEX] = POOL_MAGIC;
      control[VERSION_INDEX] = POOL_LAYOUT_VERSION;
      control[POOLABLE_SIZE_INDEX] = layout.poolableSizeBytes;
      control[SLOT_COUNT_INDEX] = layout.slotCount;
      control[FREE_SLOTS_INDEX] = layout.slotCount;
      control[POOL_ID_INDEX] = crypto.getRandomValues(new Int32Array(1))[0]! | 1;
      for (let word = 0; word < layout.bitmapWords; word++) {
        const bitsInWord = Math.min(32, layout.slotCount - word * 32);
        control[BITMAP_INDEX + word] = bitsInWord === 32 ? -1 : (1 << bitsInWord) - 1;
      }
      // State words start as packSlotWord(0, FREE) = 0: nothing to write.
    }
    this.sharedBuffer = shared;
    this.#clock = options.clock ?? systemClock;
    this.totalMemory = layout.totalMemoryBytes;
    this.poolableSize = layout.poolableSizeBytes;
    this.slotCount = layout.slotCount;
    this.#control = control;
    this.#control64 = new BigInt64Array(shared, 0, WAIT_TIME_NS_BIGINT_INDEX + 1);
    this.#bytes = new Uint8Array(shared);
    this.#dataView = new DataView(shared);
    this.#bitmapWords = layout.bitmapWords;
    this.#stateIndex = layout.stateIndex;
    this.#dataOffsetBytes = layout.dataOffsetBytes;
    this.#instanceId = Atomics.add(control, INSTANCE_COUNTER_INDEX, 1) + 1;
  }

  /**
   * Another thread's view of an existing pool (e.g. a worker given `sharedBuffer` in
   * `workerData`). It allocates, frees and waits on the same memory; its waiters are queued
   * on its own thread.
   * @param shared - a pool's {@link sharedBuffer}
   * @param clock - clock for the wait-time metric; default {@link systemClock}
   * @returns a pool instance over `shared`
   * @throws ConfigError when `shared` is not a pool of this layout version
   */
  static attach(shared: SharedArrayBuffer, clock?: Clock): BufferPool {
    if (!(shared instanceof SharedArrayBuffer) || shared.byteLength < (BITMAP_INDEX + 1) * 4) {
      throw new ConfigError('BufferPool.attach: not a buffer pool SharedArrayBuffer');
    }
    const header = new Int32Array(shared, 0, BITMAP_INDEX);
    const magic = Atomics.load(header, MAGIC_INDEX);
    const version = Atomics.load(header, VERSION_INDEX);
    if (magic !== POOL_MAGIC || version !== POOL_LAYOUT_VERSION) {
      throw new ConfigError(
        `BufferPool.attach: bad magic/version 0x${(magic >>> 0).toString(16)}/${version}, expected 0x${POOL_MAGIC.toString(16)}/${POOL_LAYOUT_VERSION}`,
      );
    }
    const poolableSize = Atomics.load(header, POOLABLE_SIZE_INDEX);
    const slotCount = Atomics.load(header, SLOT_COUNT_INDEX);
    const layout = computePoolLayout(slotCount * poolableSize, poolableSize);
    if (layout.sharedBytes !== shared.byteLength) {
      throw new ConfigError(
        `BufferPool.attach: buffer is ${shared.byteLength} bytes, layout of ${slotCount} x ${poolableSize} needs ${layout.sharedBytes}`,
      );
    }
    attachRequest = shared;
    return new BufferPool({ totalMemoryBytes: layout.totalMemoryBytes, poolableSizeBytes: poolableSize, clock });
  }

  /**
   * Allocates now or returns null; never waits.
   * @param sizeBytes - bytes wanted: up to `poolableSize` gets a pooled slot, more gets a
   *   non-pooled buffer holding ceil(size / poolableSize) slots of the budget
   * @returns the allocation in state APPENDING, or null when there is not enough free memory
   *   or when waiters are queued on this thread (they are served first, FIFO)
   * @throws RangeError when `sizeBytes` is not a positive integer
   * @throws RecordTooLargeError when `sizeBytes` > `totalMemory` (it can never be satisfied)
   * @throws ClosedError when the pool is closed
   */
  tryAllocate(sizeBytes: number): PoolSlot | null {
    const slotsNeeded = this.#slotsNeeded(sizeBytes);
    this.#throwIfClosed(sizeBytes);
    if (this.#waiters.length !== 0) return null;
    if (!this.#reserveExactly(slotsNeeded)) return null;
    if (sizeBytes <= this.poolableSize) {
      const index = this.#claimReservedSlot();
      return this.#pooledSlot(index, Atomics.load(this.#control, this.#stateIndex + index));
    }
    const indices: number[] = [];
    for (let i = 0; i < slotsNeeded; i++) indices.push(this.#claimReservedSlot());
    return this.#nonPooledSlot(sizeBytes, indices);
  }

  /**
   * Allocates `sizeBytes` (more than one slot) as a RUN: adjacent slots of the pool's own
   * buffer (layout invariant 6), never a fresh buffer. A run is pooled memory like a single
   * slot — nothing for the garbage collector, and shared with worker threads through the
   * pool's one SharedArrayBuffer — so it is how batches bigger than `batch.size`
   * (compressed topics) stay cheap. Never waits.
   * @param sizeBytes - bytes wanted; at most {@link MAX_RUN_SLOTS} slots
   * @returns the run (state APPENDING; `slotIndex` its first slot, `capacityBytes` whole
   *   slots), or null when no run of that many adjacent free slots exists in one bitmap word
   *   now, memory is short, or waiters are queued on this thread
   * @throws RangeError when `sizeBytes` is not a positive integer or needs more than
   *   {@link MAX_RUN_SLOTS} slots
   * @throws RecordTooLargeError when `sizeBytes` > `totalMemory`
   * @throws ClosedError when the pool is closed
   */
  tryAllocateRun(sizeBytes: number): PoolSlot | null {
    const slotsNeeded = this.#slotsNeeded(sizeBytes);
    if (slotsNeeded > MAX_RUN_SLOTS) {
      throw new RangeError(`tryAllocateRun: ${sizeBytes} bytes need ${slotsNeeded} slots, more than a run's ${MAX_RUN_SLOTS}`);
    }
    if (slotsNeeded === 1) return this.tryAllocate(sizeBytes); // a run of one is a slot
    this.#throwIfClosed(sizeBytes);
    if (this.#waiters.length !== 0) return null;
    if (!this.#reserveExactly(slotsNeeded)) return null;
    const first = this.#claimRun(slotsNeeded);
    if (first < 0) {
      // No k adjacent free bits: give the reservation back, and wake anyone whose reserve
      // failed while we held it.
      Atomics.add(this.#control, FREE_SLOTS_INDEX, slotsNeeded);
      this.#signalFree();
      return null;
    }
    const control = this.#control;
    const rest: number[] = [];
    for (let index = first + 1; index < first + slotsNeeded; index++) {
      const stateWord = this.#stateIndex + index;
      Atomics.store(control, stateWord, packSlotWord(slotWordGeneration(Atomics.load(control, stateWord)), RESERVED_SLOT_STATE));
      rest.push(index);
    }
    return this.#pooledSlot(first, Atomics.load(control, this.#stateIndex + first), slotsNeeded, rest);
  }

  /**
   * Allocates, waiting (asynchronously, FIFO after this thread's earlier waiters) up to
   * `maxBlockMs` for memory to be freed on any thread. A waiter for a non-pooled buffer
   * accumulates slots as they come, so it is not starved by smaller requests behind it.
   * @param sizeBytes - bytes wanted (see {@link tryAllocate})
   * @param maxBlockMs - longest wait in ms; 0 fails at once; Infinity waits until served or closed
   * @returns the allocation (state APPENDING) synchronously when memory is free and nobody is
   *   queued, else a promise of it
   * @throws RangeError when `sizeBytes` is not a positive integer or `maxBlockMs` is negative or NaN
   * @throws RecordTooLargeError when `sizeBytes` > `totalMemory`
   * @throws ClosedError when the pool is closed (the promise rejects with it when closed while waiting)
   * @throws BufferExhaustedError synchronously when `maxBlockMs` is 0 and memory is short; the
   *   promise rejects with it after `maxBlockMs`
   */
  allocate(sizeBytes: number, maxBlockMs: number): PoolSlot | Promise<PoolSlot> {
    if (!(maxBlockMs >= 0)) throw new RangeError(`maxBlockMs must be >= 0, got ${maxBlockMs}`);
    const slot = this.tryAllocate(sizeBytes);
    if (slot !== null) return slot;
    if (maxBlockMs === 0) throw this.#exhausted(sizeBytes, maxBlockMs, 0);
    return new Promise<PoolSlot>((resolve, reject) => {
      const waiter: Waiter = {
        sizeBytes,
        slotsNeeded: this.#slotsNeeded(sizeBytes),
        maxBlockMs,
        startNs: this.#startNs(),
        timerStartNs: process.hrtime.bigint(),
        held: [],
        resolve,
        reject,
        timer: undefined,
      };
      if (maxBlockMs <= MAX_TIMER_MS) waiter.timer = setTimeout(() => this.#onWaiterTimeout(waiter), maxBlockMs);
      // WAITERS before serving: a thread that frees after this add sees WAITERS > 0 and
      // notifies; one that freed before it is seen by the serve below. See #pumpWaiters.
      Atomics.add(this.#control, WAITERS_INDEX, 1);
      this.#waiters.push(waiter);
      this.#pumpWaiters();
    });
  }

  /**
   * Returns an allocation's memory, exactly once, to this thread's head waiter first (FIFO),
   * else to the free bitmap (waking waiters on other threads). Works after {@link close}.
   * @param slot - a handle from this pool (any thread's instance)
   * @throws IllegalStateError naming the slot when it was already deallocated or belongs to another pool
   */
  deallocate(slot: PoolSlot): void {
    if (slot.poolBuffer !== this.sharedBuffer && !this.#isSamePool(slot.poolBuffer)) {
      throw new IllegalStateError(`cannot deallocate slot ${slot.slotIndex}: it belongs to another buffer pool`);
    }
    slot.release();
    if (slot.slotIndex >= 0 && slot.reservedSlotIndices.length === 0) {
      this.#returnSlots(slot.slotIndex, null);
    } else if (slot.slotIndex >= 0) {
      // A run: its first slot and the RESERVED rest, together.
      this.#returnSlots(-1, [slot.slotIndex, ...slot.reservedSlotIndices]);
    } else {
      this.#returnSlots(-1, slot.reservedSlotIndices);
    }
  }

  /**
   * Changes an allocation's state with one compareExchange (see `pool-layout.ts` for the table).
   * @param slot - the allocation
   * @param from - the state it must be in
   * @param to - the next state
   * @throws IllegalStateError naming both states (and the actual one) when the pair is not in
   *   the table or the slot is not in `from`
   */
  transition(slot: PoolSlot, from: SlotStateValue, to: SlotStateValue): void {
    slot.transition(from, to);
  }

  /**
   * @param slot - an allocation
   * @returns its state; FREE once deallocated
   */
  stateOf(slot: PoolSlot): SlotStateValue {
    return slot.state();
  }

  /**
   * A handle for a live pooled allocation made on another thread, from the numbers a
   * message carries (worker side of sealing).
   * @param slotIndex - {@link PoolSlot.slotIndex}
   * @param generation - {@link PoolSlot.generation}
   * @returns a handle equivalent to the allocating thread's one
   * @throws RangeError when `slotIndex` is out of range
   * @throws IllegalStateError when that allocation is no longer live
   */
  slotAt(slotIndex: number, generation: number): PoolSlot {
    if (!Number.isInteger(slotIndex) || slotIndex < 0 || slotIndex >= this.slotCount) {
      throw new RangeError(`slotIndex must be an integer in [0, ${this.slotCount}), got ${slotIndex}`);
    }
    const word = Atomics.load(this.#control, this.#stateIndex + slotIndex);
    const state = slotWordState(word);
    if (slotWordGeneration(word) !== generation || state === SlotState.FREE || state === RESERVED_SLOT_STATE) {
      throw new IllegalStateError(
        `slot ${slotIndex} generation ${generation} is not allocated: the slot is generation ${slotWordGeneration(word)} in state ${slotStateName(state)}`,
      );
    }
    return this.#pooledSlot(slotIndex, word);
  }

  /** @returns bytes that can be allocated now on any thread (free slots * poolableSize) */
  availableMemory(): number {
    return Atomics.load(this.#control, FREE_SLOTS_INDEX) * this.poolableSize;
  }

  /**
   * Kafka distinguishes never-allocated memory from cached free buffers; here that is the
   * slots above the high-water mark (slots are claimed lowest free index first, from a
   * per-thread hint, so the mark grows only when the lower slots are busy).
   * @returns bytes of slots never handed out
   */
  unallocatedMemory(): number {
    return (this.slotCount - Atomics.load(this.#control, HIGH_WATER_INDEX)) * this.poolableSize;
  }

  /** @returns queued waiters on all threads attached to this pool */
  queuedWaiters(): number {
    return Atomics.load(this.#control, WAITERS_INDEX);
  }

  /** @returns the pool's metrics, Kafka names */
  metrics(): BufferPoolMetrics {
    return {
      'buffer-available-bytes': this.availableMemory(),
      'buffer-total-bytes': this.totalMemory,
      'waiting-threads': this.queuedWaiters(),
      'bufferpool-wait-time-ns-total': Number(Atomics.load(this.#control64, WAIT_TIME_NS_BIGINT_INDEX)),
    };
  }

  /** @returns whether the pool (shared by all attached threads) is closed */
  get closed(): boolean {
    return Atomics.load(this.#control, CLOSED_INDEX) !== 0;
  }

  /**
   * Closes the pool for every attached thread: this thread's waiters reject with
   * ClosedError ("producer closed while allocating memory", as Kafka's), other threads'
   * waiters are woken to do the same, and later allocations throw ClosedError. Memory
   * held by waiters goes back to the bitmap; {@link deallocate} keeps working. Idempotent.
   */
  close(): void {
    Atomics.store(this.#control, CLOSED_INDEX, 1);
    this.#rejectAllClosed();
    Atomics.add(this.#control, FREE_SIGNAL_INDEX, 1);
    Atomics.notify(this.#control, FREE_SIGNAL_INDEX);
  }

  // ---------------------------------------------------------------- slot claiming

  /** Slow path of the ownership check: another wrapper object of (maybe) the same memory. */
  #isSamePool(shared: SharedArrayBuffer): boolean {
    if (shared.byteLength !== this.sharedBuffer.byteLength) return false;
    const header = new Int32Array(shared, 0, BITMAP_INDEX);
    return (
      Atomics.load(header, MAGIC_INDEX) === POOL_MAGIC &&
      Atomics.load(header, POOL_ID_INDEX) === Atomics.load(this.#control, POOL_ID_INDEX)
    );
  }

  #slotsNeeded(sizeBytes: number): number {
    if (!Number.isInteger(sizeBytes) || sizeBytes <= 0) {
      throw new RangeError(`sizeBytes must be a positive integer, got ${sizeBytes}`);
    }
    if (sizeBytes <= this.poolableSize) return 1;
    if (sizeBytes > this.totalMemory) {
      throw new RecordTooLargeError(
        sizeBytes,
        `cannot allocate ${sizeBytes} bytes: more than the buffer pool's total memory ${this.totalMemory}; it can never be satisfied`,
      );
    }
    return Math.ceil(sizeBytes / this.poolableSize);
  }

  #throwIfClosed(sizeBytes: number): void {
    if (Atomics.load(this.#control, CLOSED_INDEX) !== 0) {
      throw new ClosedError(`buffer pool is closed; cannot allocate ${sizeBytes} bytes`);
    }
  }

  /** Takes exactly `count` from FREE_SLOTS, or nothing. */
  #reserveExactly(count: number): boolean {
    const control = this.#control;
    let free = Atomics.load(control, FREE_SLOTS_INDEX);
    while (free >= count) {
      const seen = Atomics.compareExchange(control, FREE_SLOTS_INDEX, free, free - count);
      if (seen === free) return true;
      free = seen;
    }
    return false;
  }

  /** Takes up to `count` from FREE_SLOTS; returns how many it took. */
  #reserveUpTo(count: number): number {
    const control = this.#control;
    let free = Atomics.load(control, FREE_SLOTS_INDEX);
    while (free > 0) {
      const take = free < count ? free : count;
      const seen = Atomics.compareExchange(control, FREE_SLOTS_INDEX, free, free - take);
      if (seen === free) return take;
      free = seen;
    }
    return 0;
  }

  /**
   * Clears one free bit, lowest first from the hint word. The caller holds a reservation,
   * so by invariant 2 a set bit exists; a pass can still miss it when other threads free
   * behind and claim ahead of the scan, hence the outer loop.
   */
  #claimReservedSlot(): number {
    const control = this.#control;
    const words = this.#bitmapWords;
    let word = this.#hintWord;
    for (let pass = 0; pass < MAX_CLAIM_PASSES; pass++) {
      for (let n = 0; n < words; n++) {
        const index = BITMAP_INDEX + word;
        let bits = Atomics.load(control, index);
        while (bits !== 0) {
          const lowest = bits & -bits;
          const seen = Atomics.compareExchange(control, index, bits, bits & ~lowest);
          if (seen === bits) {
            this.#hintWord = word;
            const slotIndex = (word << 5) | (31 - Math.clz32(lowest));
            this.#raiseHighWater(slotIndex + 1);
            return slotIndex;
          }
          bits = seen;
        }
        if (++word === words) word = 0;
      }
    }
    throw new IllegalStateError(
      `buffer pool corrupt: a reservation found no free bit in ${MAX_CLAIM_PASSES} passes (FREE_SLOTS ${Atomics.load(control, FREE_SLOTS_INDEX)})`,
    );
  }

  /**
   * Clears `count` (2..32) adjacent free bits of one bitmap word with one compareExchange
   * (the caller holds a reservation of `count`). Lowest run first, from the hint word.
   * @returns the run's first slot, or -1 when no word holds `count` adjacent free bits
   */
  #claimRun(count: number): number {
    const control = this.#control;
    const words = this.#bitmapWords;
    const mask = count === 32 ? -1 : (1 << count) - 1;
    let word = this.#hintWord;
    for (let n = 0; n < words; n++) {
      const index = BITMAP_INDEX + word;
      let bits = Atomics.load(control, index);
      for (;;) {
        // starts: bit j set ⇔ bits j..j+count-1 are all set.
        let starts = bits;
        for (let k = 1; k < count && starts !== 0; k++) starts &= bits >>> k;
        if (starts === 0) break;
        const lowest = starts & -starts;
        const shift = 31 - Math.clz32(lowest);
        const run = mask << shift;
        const seen = Atomics.compareExchange(control, index, bits, bits & ~run);
        if (seen === bits) {
          const first = (word << 5) | shift;
          this.#raiseHighWater(first + count);
          return first;
        }
        bits = seen;
      }
      if (++word === words) word = 0;
    }
    return -1;
  }

  #raiseHighWater(mark: number): void {
    const control = this.#control;
    let high = Atomics.load(control, HIGH_WATER_INDEX);
    while (mark > high) {
      const seen = Atomics.compareExchange(control, HIGH_WATER_INDEX, high, mark);
      if (seen === high) return;
      high = seen;
    }
  }

  /**
   * Builds the handle of claimed slot `index` (or of the run of `slots` slots it starts,
   * whose other slots `rest` are already RESERVED), setting its state to APPENDING.
   */
  #pooledSlot(index: number, word: number, slots = 1, rest: readonly number[] = EMPTY_INDICES): PoolSlot {
    const generation = slotWordGeneration(word);
    const stateWord = this.#stateIndex + index;
    if (slotWordState(word) === SlotState.FREE || slotWordState(word) === RESERVED_SLOT_STATE) {
      // We own the slot (its bit is clear and no handle exists): a store is enough.
      Atomics.store(this.#control, stateWord, packSlotWord(generation, SlotState.APPENDING));
    }
    return new PoolSlot(
      this.sharedBuffer,
      this.#bytes,
      this.#dataView,
      this.#dataOffsetBytes + index * this.poolableSize,
      this.poolableSize * slots,
      index,
      slots,
      generation,
      this.sharedBuffer,
      rest,
      this.#control,
      stateWord,
    );
  }

  /**
   * Builds a non-pooled buffer backed by the claimed slots `indices` (marked RESERVED).
   * @throws BufferExhaustedError when the buffer cannot be created (the process is out of
   *   memory, say): the slots go back to the pool first, so the budget is not lost for good
   */
  #nonPooledSlot(sizeBytes: number, indices: number[]): PoolSlot {
    const control = this.#control;
    for (const index of indices) {
      const stateWord = this.#stateIndex + index;
      Atomics.store(control, stateWord, packSlotWord(slotWordGeneration(Atomics.load(control, stateWord)), RESERVED_SLOT_STATE));
    }
    let buffer: SharedArrayBuffer;
    try {
      buffer = new SharedArrayBuffer(NON_POOLED_HEADER_BYTES + sizeBytes);
    } catch (err) {
      this.#returnSlots(-1, indices);
      throw new BufferExhaustedError(
        `could not create a non-pooled buffer of ${sizeBytes} bytes (${(err as Error)?.message ?? String(err)}); its ${indices.length} slots of the budget went back to the pool`,
      );
    }
    const header = new Int32Array(buffer, 0, NON_POOLED_HEADER_BYTES / 4);
    header[NON_POOLED_STATE_INDEX] = packSlotWord(0, SlotState.APPENDING);
    return new PoolSlot(
      buffer,
      new Uint8Array(buffer),
      new DataView(buffer),
      NON_POOLED_HEADER_BYTES,
      sizeBytes,
      -1,
      indices.length,
      0,
      this.sharedBuffer,
      indices,
      header,
      NON_POOLED_STATE_INDEX,
    );
  }

  // ---------------------------------------------------------------- freeing

  /**
   * Gives slot `single` (or each of `many`) to this thread's head waiter, else back to the
   * bitmap. Ordering for the bitmap (invariant 2): state FREE, then the bit, then the
   * count, then the signal. Storing FREE after the bit would race: another thread could
   * claim the bit, store APPENDING, and have it overwritten with FREE.
   */
  #returnSlots(single: number, many: readonly number[] | null): void {
    const count = many === null ? 1 : many.length;
    const control = this.#control;
    let freed = 0;
    for (let i = 0; i < count; i++) {
      const index = many === null ? single : many[i]!;
      const stateWord = this.#stateIndex + index;
      const generation = slotWordGeneration(Atomics.load(control, stateWord));
      const head = this.#waiters.length !== 0 ? this.#waiters[0]! : undefined;
      if (
        head !== undefined &&
        Atomics.load(control, CLOSED_INDEX) === 0 &&
        (head.held.length + 1 === head.slotsNeeded || this.#tryAcquireAccumulation())
      ) {
        Atomics.store(control, stateWord, packSlotWord(generation, RESERVED_SLOT_STATE));
        head.held.push(index);
        if (head.held.length === head.slotsNeeded) this.#fulfil(head);
        continue;
      }
      Atomics.store(control, stateWord, packSlotWord(generation, SlotState.FREE));
      const word = index >>> 5;
      Atomics.or(control, BITMAP_INDEX + word, 1 << (index & 31));
      if (word < this.#hintWord) this.#hintWord = word;
      freed++;
    }
    if (freed !== 0) {
      Atomics.add(control, FREE_SLOTS_INDEX, freed);
      this.#signalFree();
    }
    this.#maybeReleaseAccumulation();
    // The head may take all-or-nothing what just went to the bitmap (another instance holds
    // the accumulation token).
    if (freed !== 0 && this.#waiters.length !== 0) this.#serveWaiters();
  }

  /** Takes the accumulation token (layout invariant 5) unless another instance holds it. */
  #tryAcquireAccumulation(): boolean {
    if (this.#holdsAccumulation) return true;
    if (Atomics.compareExchange(this.#control, ACCUMULATOR_INDEX, 0, this.#instanceId) !== 0) return false;
    this.#holdsAccumulation = true;
    return true;
  }

  /**
   * Gives the token back once this thread's head no longer needs to accumulate (no waiter,
   * or a single-slot head). The token is kept while a multi-slot head waits, even with
   * nothing accumulated yet.
   *
   * No signal on release, and that is deliberate. Rejected (measured): release whenever the
   * head held nothing and signal so other threads retry. A big head that found nothing free
   * then released, signalled, was woken by its own notify, re-acquired, found nothing, and
   * released again: a 300 ms wait burned 300 ms of CPU. The signal is not needed: another
   * thread's big waiter only needs the token to take memory that arrives piecewise, and
   * every arrival (a free) signals on its own.
   */
  #maybeReleaseAccumulation(): void {
    if (!this.#holdsAccumulation) return;
    if (this.#waiters.length !== 0 && this.#waiters[0]!.slotsNeeded > 1) return;
    this.#holdsAccumulation = false;
    Atomics.store(this.#control, ACCUMULATOR_INDEX, 0);
  }

  /**
   * Wakes other threads' waiters. The epoch add comes after the count add, and the WAITERS
   * load after the epoch add (all sequentially consistent): a waiter that enqueued too late
   * for us to see it reads the new epoch and our slot when it serves (see #pumpWaiters).
   */
  #signalFree(): void {
    const control = this.#control;
    Atomics.add(control, FREE_SIGNAL_INDEX, 1);
    if (Atomics.load(control, WAITERS_INDEX) !== 0) Atomics.notify(control, FREE_SIGNAL_INDEX);
  }

  // ---------------------------------------------------------------- waiting

  /**
   * Serves the head waiter from the bitmap and keeps one waitAsync pending while waiters
   * remain. No lost wake-up: we read the epoch, THEN serve, THEN wait for the epoch to
   * change. A free that lands before the read is seen by the serve; one after it changes
   * the epoch, so waitAsync returns 'not-equal' at once or is woken by the notify (the
   * freeing thread sees WAITERS > 0 because we added to it before the first serve).
   */
  #pumpWaiters(): void {
    for (let round = 0; round < MAX_SYNC_WAKE_ROUNDS; round++) {
      const epoch = Atomics.load(this.#control, FREE_SIGNAL_INDEX);
      this.#serveWaiters();
      if (this.#waiters.length === 0 || this.#wakePending) return;
      const result = atomicsWaitAsync(this.#control, FREE_SIGNAL_INDEX, epoch, WAKE_REARM_MS);
      if (result.async) {
        this.#wakePending = true;
        result.value.then(this.#onFreeSignal, this.#onFreeSignal);
        return;
      }
      // 'not-equal': something was freed since the epoch read; serve again.
    }
    // Other threads are freeing (and re-claiming) faster than the head can be served: yield
    // to the event loop rather than spin, and try again on the next turn.
    if (!this.#wakeDeferred) {
      this.#wakeDeferred = true;
      setImmediate(() => {
        this.#wakeDeferred = false;
        this.#pumpWaiters();
      });
    }
  }

  readonly #onFreeSignal = (): void => {
    this.#wakePending = false;
    if (this.#waiters.length !== 0) this.#pumpWaiters();
  };

  /**
   * Strict FIFO: the head takes what is free; nobody behind it is served before it is. A
   * multi-slot head accumulates progressively only while this instance holds the
   * accumulation token (layout invariant 5); otherwise it takes all it needs or nothing.
   */
  #serveWaiters(): void {
    if (Atomics.load(this.#control, CLOSED_INDEX) !== 0) {
      this.#rejectAllClosed();
      return;
    }
    const control = this.#control;
    while (this.#waiters.length !== 0) {
      const head = this.#waiters[0]!;
      const missing = head.slotsNeeded - head.held.length;
      let taken: number;
      if (missing === 1 || this.#tryAcquireAccumulation()) {
        taken = this.#reserveUpTo(missing);
      } else {
        taken = this.#reserveExactly(missing) ? missing : 0;
      }
      for (let i = 0; i < taken; i++) {
        const index = this.#claimReservedSlot();
        const stateWord = this.#stateIndex + index;
        Atomics.store(control, stateWord, packSlotWord(slotWordGeneration(Atomics.load(control, stateWord)), RESERVED_SLOT_STATE));
        head.held.push(index);
      }
      if (taken < missing) break;
      this.#fulfil(head);
    }
    this.#maybeReleaseAccumulation();
  }

  /** Completes the head waiter, which holds all the slots it needs. */
  #fulfil(waiter: Waiter): void {
    this.#waiters.shift();
    this.#settle(waiter);
    if (waiter.sizeBytes <= this.poolableSize) {
      const index = waiter.held[0]!;
      waiter.resolve(this.#pooledSlot(index, Atomics.load(this.#control, this.#stateIndex + index)));
      return;
    }
    let slot: PoolSlot;
    try {
      slot = this.#nonPooledSlot(waiter.sizeBytes, waiter.held);
    } catch (err) {
      waiter.reject(err as Error); // its slots went back to the pool
      return;
    }
    waiter.resolve(slot);
  }

  /**
   * Bookkeeping common to every way a waiter leaves the queue. The wait-time metric reads the
   * injected clock, which may throw: the metric is then skipped — the waiter must settle.
   */
  #settle(waiter: Waiter): void {
    if (waiter.timer !== undefined) clearTimeout(waiter.timer);
    waiter.timer = undefined;
    Atomics.sub(this.#control, WAITERS_INDEX, 1);
    try {
      Atomics.add(this.#control64, WAIT_TIME_NS_BIGINT_INDEX, this.#clock.hiResNs() - waiter.startNs);
    } catch {
      // A clock that cannot tell the time costs the metric, not the allocation.
    }
  }

  /** The clock's time for a new waiter; 0n when the injected clock cannot tell (the metric then reads high). */
  #startNs(): bigint {
    try {
      const ns = this.#clock.hiResNs();
      return typeof ns === 'bigint' ? ns : 0n;
    } catch {
      return 0n;
    }
  }

  #onWaiterTimeout(waiter: Waiter): void {
    waiter.timer = undefined;
    const position = this.#waiters.indexOf(waiter);
    if (position < 0) return;
    // Node's timers count from the event loop's cached time, which lags behind after
    // synchronous work: a timer set late in a long turn fires early. Kafka's max.block.ms is
    // never early, so check against the monotonic clock and wait out the rest.
    const leftMs = Math.ceil((waiter.maxBlockMs * 1e6 - Number(process.hrtime.bigint() - waiter.timerStartNs)) / 1e6);
    if (leftMs > 0) {
      waiter.timer = setTimeout(() => this.#onWaiterTimeout(waiter), leftMs);
      return;
    }
    const error = this.#exhausted(waiter.sizeBytes, waiter.maxBlockMs, waiter.held.length * this.poolableSize);
    this.#waiters.splice(position, 1);
    this.#settle(waiter);
    // Kafka returns a timed-out waiter's accumulated memory; here it goes to the new head
    // first (it is "freed on this thread"), then to the bitmap.
    if (waiter.held.length !== 0) this.#returnSlots(-1, waiter.held);
    this.#maybeReleaseAccumulation();
    waiter.reject(error);
    if (position === 0 && this.#waiters.length !== 0) this.#pumpWaiters();
  }

  #rejectAllClosed(): void {
    const waiters = this.#waiters;
    if (waiters.length === 0) return;
    this.#waiters = [];
    for (const waiter of waiters) {
      this.#settle(waiter);
      if (waiter.held.length !== 0) this.#returnSlots(-1, waiter.held);
      this.#maybeReleaseAccumulation();
      waiter.reject(
        new ClosedError(
          `producer closed while allocating memory (${waiter.sizeBytes} bytes requested, maxBlockMs=${waiter.maxBlockMs})`,
        ),
      );
    }
  }

  #exhausted(sizeBytes: number, maxBlockMs: number, accumulatedBytes: number): BufferExhaustedError {
    const accumulated = accumulatedBytes === 0 ? '' : ` (had accumulated ${accumulatedBytes})`;
    return new BufferExhaustedError(
      `could not allocate ${sizeBytes} bytes within maxBlockMs=${maxBlockMs}; total ${this.totalMemory}, available ${this.availableMemory()}, waiters ${this.queuedWaiters()}${accumulated}`,
    );
  }
}

const EMPTY_INDICES: readonly number[] = Object.freeze([]);
