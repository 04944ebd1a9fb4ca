/**
 * The shared-memory layout of the buffer pool: the ONE place that knows where each word
 * lives. Everything else (BufferPool, PoolSlot, workers, tests) reads these constants.
 *
 * ## Contract
 *
 * One `SharedArrayBuffer` holds a control region of Int32 words followed by the data
 * region. Every control word is read and written only with `Atomics` (there is no single
 * writer anywhere: the event-loop thread and any worker that called `BufferPool.attach`
 * allocate and free concurrently, and no lock is ever held).
 *
 * ```
 * Int32 index                  word                 written by / how
 * ---------------------------  -------------------  -------------------------------------------
 * MAGIC_INDEX            (0)   POOL_MAGIC           constructor, once, before the SAB is shared
 * VERSION_INDEX          (1)   POOL_LAYOUT_VERSION  constructor, once
 * POOLABLE_SIZE_INDEX    (2)   slot size in bytes   constructor, once
 * SLOT_COUNT_INDEX       (3)   number of slots      constructor, once
 * WAIT_TIME_NS_INDEX   (4,5)   BigInt64: total ns   any thread, Atomics.add on a BigInt64Array view
 *                              spent by waiters      (index WAIT_TIME_NS_INDEX / 2; 8-byte aligned)
 * FREE_SLOTS_INDEX       (6)   # claimable slots    any thread: Atomics.compareExchange to reserve
 *                                                    (never below 0), Atomics.add to release
 * WAITERS_INDEX          (7)   # queued waiters     any thread: Atomics.add(+1) on enqueue,
 *                              (all threads)         Atomics.sub(-1) on fulfil / timeout / close
 * FREE_SIGNAL_INDEX      (8)   epoch, +1 per free   any thread: Atomics.add then Atomics.notify;
 *                                                    waiters Atomics.waitAsync on it
 * HIGH_WATER_INDEX       (9)   1 + highest slot     any thread: compareExchange max loop
 *                              index ever claimed
 * CLOSED_INDEX          (10)   0 open / 1 closed    close(): Atomics.store(1), then signal
 * INSTANCE_COUNTER_INDEX(11)   # pool instances     constructor/attach: Atomics.add(+1) gives each
 *                              ever created          instance its id (1, 2, …)
 * ACCUMULATOR_INDEX     (12)   id of the instance   compareExchange(0 → id) to take; the holder
 *                              whose multi-slot      gives it back with Atomics.store(0)
 *                              head waiter may
 *                              accumulate, or 0
 * POOL_ID_INDEX         (13)   random non-zero id   constructor, once: tells this pool's memory from
 *                                                    another's when the SAB arrives through a
 *                                                    different wrapper object (postMessage)
 * BITMAP_INDEX          (14)   bitmapWords words:   claim: compareExchange clearing the lowest
 *                              bit i%32 of word      set bit of a word; free: Atomics.or
 *                              i/32 is 1 = slot i    (bits >= slotCount in the last word stay 0)
 *                              is free
 * stateIndex = BITMAP_INDEX + bitmapWords
 *                              slotCount words:     the owner of the slot (see below), with
 *                              slot i's state word   Atomics.store / compareExchange
 * ```
 * The data region starts at `dataOffsetBytes` (control bytes rounded up to 8); slot i
 * occupies `[dataOffsetBytes + i * poolableSize, + poolableSize)`.
 *
 * ## State words
 *
 * A state word packs `(generation << SLOT_GENERATION_SHIFT) | state`. The generation is
 * bumped every time the slot is deallocated, and a {@link PoolSlot} handle remembers the
 * generation it was allocated with, so a stale handle (kept after deallocate, the
 * KAFKA-19012 bug class) can neither transition nor free the slot's next allocation: its
 * compareExchange expects an old generation and fails.
 *
 * | state      | who owns the slot's bytes                                              |
 * |------------|------------------------------------------------------------------------|
 * | FREE       | the pool: its bitmap bit is 1 (or about to be set by the freeing thread)|
 * | APPENDING  | the appender (accumulator, event-loop thread)                          |
 * | SEALING    | the sealer (inline or a worker thread)                                 |
 * | SEALED     | the accumulator's partition deque (drain may take it)                  |
 * | IN_FLIGHT  | the sender: a produce request is reading the bytes                     |
 * | RESERVED   | the pool (pool-internal): claimed for a queued waiter, held as the      |
 * |            | budget of a non-pooled buffer whose own state is in its 8-byte header, |
 * |            | or a non-first slot of a RUN (its state lives in the run's first slot) |
 *
 * Transitions (enforced by `PoolSlot.transition` with one compareExchange):
 * ```
 *  allocate ──► APPENDING ──► SEALING ──► SEALED ──► IN_FLIGHT
 *                                           ▲            │
 *                                           └── reenqueue┘ (retry)
 *  any non-FREE ──deallocate──► FREE   (pool only; generation + 1)
 * ```
 * Not allowed: SEALING → APPENDING (a batch being sealed never reopens), SEALED → SEALING
 * (nothing needs to re-seal: a split builds new batches), FREE → anything through
 * `transition` (only allocation claims a slot, via its bitmap bit).
 *
 * ## Invariants (checked by the stress and property tests)
 *
 * 1. At quiescence: bit i is 1 ⇔ state(i) is FREE, and FREE_SLOTS = popcount(bitmap).
 * 2. At every instant: popcount(bitmap) >= FREE_SLOTS + reservations not yet turned into
 *    claimed bits. (Free sets the bit BEFORE adding to FREE_SLOTS; allocate subtracts from
 *    FREE_SLOTS BEFORE clearing a bit.) So a thread that reserved k always finds k bits,
 *    and availableMemory() never over-reports.
 * 3. Each slot has exactly one owner; each allocation is freed exactly once (the state
 *    word's compareExchange to FREE succeeds once per generation).
 * 4. When nothing is held: availableMemory() === totalMemory, WAITERS = 0, ACCUMULATOR = 0.
 * 5. At most one instance holds ACCUMULATOR: the one whose head waiter is a multi-slot
 *    request, and only it may hold part of such a request (Kafka's progressive
 *    accumulation). Other threads' multi-slot waiters take all-or-nothing. Without this,
 *    two threads' big waiters can each hold half the pool and wait for each other until
 *    maxBlockMs (seen in the stress test: 4 slots, 5 threads, 74 timeouts in 79 s). With
 *    it, the single partial holder completes as soon as live allocations are freed.
 * 6. A RUN (`BufferPool.tryAllocateRun`) is k adjacent slots i..i+k-1 of one bitmap word,
 *    claimed by ONE compareExchange of that word (all k bits or none), after reserving k
 *    from FREE_SLOTS as any allocation does (invariant 2 holds unchanged; a run that finds
 *    no k adjacent bits gives its reservation back). Slot i carries the run's state and
 *    generation like a single slot; slots i+1..i+k-1 are RESERVED until the run is freed,
 *    when all k return at once.
 */

import { ConfigError } from '../errors.js';

/** `'SLUI'`: identifies a pool's SharedArrayBuffer in {@link MAGIC_INDEX}. */
export const POOL_MAGIC = 0x534c5549;
/** Bumped whenever a constant in this file changes meaning. */
export const POOL_LAYOUT_VERSION = 1;

/** Int32 index of {@link POOL_MAGIC}. */
export const MAGIC_INDEX = 0;
/** Int32 index of {@link POOL_LAYOUT_VERSION}. */
export const VERSION_INDEX = MAGIC_INDEX + 1;
/** Int32 index of the slot size in bytes. */
export const POOLABLE_SIZE_INDEX = VERSION_INDEX + 1;
/** Int32 index of the number of slots. */
export const SLOT_COUNT_INDEX = POOLABLE_SIZE_INDEX + 1;
/**
 * Int32 index of the first of two words holding a BigInt64 (total wait time in ns).
 * Even, so the BigInt64 sits at byte 16: read it at BigInt64 index `WAIT_TIME_NS_INDEX / 2`.
 */
export const WAIT_TIME_NS_INDEX = SLOT_COUNT_INDEX + 1;
/** Int32 index of the count of claimable (free, unreserved) slots. */
export const FREE_SLOTS_INDEX = WAIT_TIME_NS_INDEX + 2;
/** Int32 index of the number of queued waiters on all threads. */
export const WAITERS_INDEX = FREE_SLOTS_INDEX + 1;
/** Int32 index of the free-signal epoch (bumped and notified on every free). */
export const FREE_SIGNAL_INDEX = WAITERS_INDEX + 1;
/** Int32 index of 1 + the highest slot index ever claimed. */
export const HIGH_WATER_INDEX = FREE_SIGNAL_INDEX + 1;
/** Int32 index of the closed flag (0 open, 1 closed). */
export const CLOSED_INDEX = HIGH_WATER_INDEX + 1;
/** Int32 index of the counter that numbers pool instances (constructor and every attach). */
export const INSTANCE_COUNTER_INDEX = CLOSED_INDEX + 1;
/**
 * Int32 index of the accumulation token: the id of the one instance (thread) whose head
 * waiter may hold part of a multi-slot request, or 0. See invariant 5.
 */
export const ACCUMULATOR_INDEX = INSTANCE_COUNTER_INDEX + 1;
/**
 * Int32 index of the pool's random id. Each `postMessage` of a SharedArrayBuffer creates a
 * new wrapper object for the same memory, so object identity cannot tell whether a handle
 * belongs to a pool; this word can.
 */
export const POOL_ID_INDEX = ACCUMULATOR_INDEX + 1;
/** Int32 index of the first free-bitmap word; also the number of header words. */
export const BITMAP_INDEX = POOL_ID_INDEX + 1;

/** BigInt64 index of the total wait time (same bytes as Int32 words 4 and 5). */
export const WAIT_TIME_NS_BIGINT_INDEX = WAIT_TIME_NS_INDEX / 2;
if (WAIT_TIME_NS_INDEX % 2 !== 0) throw new Error('pool-layout: WAIT_TIME_NS_INDEX must be even (8-byte aligned)');

/** Bits of a state word holding the state; the rest hold the generation. */
export const SLOT_STATE_MASK = 0xf;
/** Shift of the generation inside a state word. */
export const SLOT_GENERATION_SHIFT = 4;
/** Generations wrap modulo 2^28 (a stale handle would need 268M reuses of one slot to alias). */
export const SLOT_GENERATION_MASK = 0x0fffffff;

/** Bytes in front of a non-pooled buffer's data: Int32 state word at index 0, 4 bytes padding. */
export const NON_POOLED_HEADER_BYTES = 8;
/** Int32 index of the state word inside a non-pooled buffer's header. */
export const NON_POOLED_STATE_INDEX = 0;

/** Largest slot size: one slot's bytes must be addressable with Int32 arithmetic. */
export const MAX_POOLABLE_SIZE_BYTES = 0x7fffffff;

/** Lifecycle states of a slot (see the transition table in this file's header). */
export const SlotState = { FREE: 0, APPENDING: 1, SEALING: 2, SEALED: 3, IN_FLIGHT: 4 } as const;
/** One of the {@link SlotState} values. */
export type SlotStateValue = (typeof SlotState)[keyof typeof SlotState];

/**
 * Pool-internal state word value: the slot is claimed but belongs to no handle yet (it is
 * accumulated by a queued waiter) or backs the budget of a non-pooled buffer. Never
 * returned by `stateOf`, never accepted by `transition`.
 */
export const RESERVED_SLOT_STATE = 5;

const STATE_NAMES = ['FREE', 'APPENDING', 'SEALING', 'SEALED', 'IN_FLIGHT', 'RESERVED'] as const;

/** Bit `to` of `LEGAL_TRANSITIONS[from]` is set when `from → to` is in the table. */
const LEGAL_TRANSITIONS: readonly number[] = [
  /* FREE      */ 0,
  /* APPENDING */ 1 << SlotState.SEALING,
  /* SEALING   */ 1 << SlotState.SEALED,
  /* SEALED    */ 1 << SlotState.IN_FLIGHT,
  /* IN_FLIGHT */ 1 << SlotState.SEALED,
];

/**
 * Whether `from → to` may be done with `transition`. Allocation (FREE → APPENDING) and
 * deallocation (→ FREE) are not transitions: only the pool does them.
 * @param from - current state
 * @param to - wanted state
 * @returns true when the table allows it
 */
export function isLegalSlotTransition(from: number, to: number): boolean {
  const allowed = LEGAL_TRANSITIONS[from];
  return allowed !== undefined && to >= 0 && to < 32 && (allowed & (1 << to)) !== 0;
}

/**
 * The name of a state word's state, for error messages.
 * @param state - a state (not a packed word)
 * @returns `'FREE'`, `'APPENDING'`, … or `'UNKNOWN(n)'`
 */
export function slotStateName(state: number): string {
  return STATE_NAMES[state] ?? `UNKNOWN(${state})`;
}

/**
 * Packs a generation and a state into a state word.
 * @param generation - 0 … {@link SLOT_GENERATION_MASK}
 * @param state - a {@link SlotState} value or {@link RESERVED_SLOT_STATE}
 * @returns the Int32 word
 */
export function packSlotWord(generation: number, state: number): number {
  return ((generation << SLOT_GENERATION_SHIFT) | state) | 0;
}

/**
 * @param word - a state word
 * @returns its generation
 */
export function slotWordGeneration(word: number): number {
  return (word >>> SLOT_GENERATION_SHIFT) & SLOT_GENERATION_MASK;
}

/**
 * @param word - a state word
 * @returns its state
 */
export function slotWordState(word: number): number {
  return word & SLOT_STATE_MASK;
}

/** Where everything lives for one pool size; see this file's header. */
export interface PoolLayout {
  /** Slot size in bytes. */
  readonly poolableSizeBytes: number;
  /** Number of slots: floor(totalMemoryBytes / poolableSizeBytes). */
  readonly slotCount: number;
  /** Usable memory: slotCount * poolableSizeBytes (the requested total rounded down). */
  readonly totalMemoryBytes: number;
  /** Int32 words in the free bitmap: ceil(slotCount / 32). */
  readonly bitmapWords: number;
  /** Int32 index of the first bitmap word (= {@link BITMAP_INDEX}). */
  readonly bitmapIndex: number;
  /** Int32 index of slot 0's state word. */
  readonly stateIndex: number;
  /** Int32 words in the control region. */
  readonly controlWords: number;
  /** Bytes of the control region (controlWords * 4). */
  readonly controlBytes: number;
  /** Byte offset of slot 0's data: controlBytes rounded up to 8. */
  readonly dataOffsetBytes: number;
  /** Byte length of the whole SharedArrayBuffer. */
  readonly sharedBytes: number;
}

/**
 * Computes the layout of a pool. The total is rounded down to whole slots.
 * @param totalMemoryBytes - Kafka's `buffer.memory`
 * @param poolableSizeBytes - Kafka's `batch.size`: the size of one slot
 * @returns the layout
 * @throws ConfigError when a size is not a positive integer, when the total is smaller than
 *   one slot, or when the slot or the whole buffer is too large to address
 */
export function computePoolLayout(totalMemoryBytes: number, poolableSizeBytes: number): PoolLayout {
  if (!Number.isSafeInteger(totalMemoryBytes) || totalMemoryBytes <= 0) {
    throw new ConfigError(`totalMemoryBytes must be a positive integer, got ${totalMemoryBytes}`);
  }
  if (!Number.isSafeInteger(poolableSizeBytes) || poolableSizeBytes <= 0 || poolableSizeBytes > MAX_POOLABLE_SIZE_BYTES) {
    throw new ConfigError(`poolableSizeBytes must be an integer in [1, ${MAX_POOLABLE_SIZE_BYTES}], got ${poolableSizeBytes}`);
  }
  if (totalMemoryBytes < poolableSizeBytes) {
    throw new ConfigError(
      `totalMemoryBytes (${totalMemoryBytes}) must be at least poolableSizeBytes (${poolableSizeBytes}): the pool needs one slot`,
    );
  }
  const slotCount = Math.floor(totalMemoryBytes / poolableSizeBytes);
  if (slotCount > 0x7fffffff) throw new ConfigError(`too many slots: ${slotCount} (at most ${0x7fffffff})`);
  const bitmapWords = Math.ceil(slotCount / 32);
  const bitmapIndex = BITMAP_INDEX;
  const stateIndex = bitmapIndex + bitmapWords;
  const controlWords = stateIndex + slotCount;
  const controlBytes = controlWords * Int32Array.BYTES_PER_ELEMENT;
  const dataOffsetBytes = Math.ceil(controlBytes / 8) * 8;
  const usableBytes = slotCount * poolableSizeBytes;
  const sharedBytes = dataOffsetBytes + usableBytes;
  if (!Number.isSafeInteger(sharedBytes)) throw new ConfigError(`pool of ${usableBytes} bytes is too large`);
  return {
    poolableSizeBytes,
    slotCount,
    totalMemoryBytes: usableBytes,
    bitmapWords,
    bitmapIndex,
    stateIndex,
    controlWords,
    controlBytes,
    dataOffsetBytes,
    sharedBytes,
  };
}
