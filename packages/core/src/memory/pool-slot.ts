/**
 * `PoolSlot`: the handle of one allocation from a {@link BufferPool} (pooled slot or
 * non-pooled buffer), and the one place that changes an allocation's state word.
 *
 * Key insight: the handle carries the generation its allocation was made with, and every
 * state change is one `Atomics.compareExchange` that expects `(generation, from)`. Because
 * deallocation bumps the generation, "exactly once" holds even for stale handles: after
 * A deallocates slot 7 (generation 3 → 4) and B is handed slot 7 (generation 4), A's
 * second deallocate or late `transition(SEALED, IN_FLIGHT)` expects generation 3, its
 * compareExchange fails, and it throws instead of freeing or corrupting B's batch.
 *
 * Rejected: one cached handle per slot index reused across allocations (no allocation per
 * `allocate`). A reused handle cannot tell its allocations apart, so a double free after
 * the slot was reused would silently free someone else's slot. A fresh handle is one small
 * object (no typed arrays: `bytes` and `dataView` are the pool's shared views).
 */

import { IllegalStateError } from '../errors.js';
import {
  SLOT_GENERATION_MASK,
  SlotState,
  isLegalSlotTransition,
  packSlotWord,
  slotStateName,
  slotWordGeneration,
  slotWordState,
} from './pool-layout.js';
import type { SlotStateValue } from './pool-layout.js';

/** The handle of one allocation. Created by `BufferPool`; never construct one yourself. */
export class PoolSlot {
  /**
   * A view over the WHOLE backing buffer (the pool's SharedArrayBuffer for pooled slots, the
   * dedicated one for non-pooled buffers). Index it with {@link byteOffset}: the slot's
   * bytes are `bytes[byteOffset] … bytes[byteOffset + capacityBytes - 1]`. Shared by every
   * slot of a pool, so nothing is created per allocation.
   */
  readonly bytes: Uint8Array;
  /** A DataView over the whole backing buffer, shared like {@link bytes}. */
  readonly dataView: DataView;
  /** The backing SharedArrayBuffer, postable to a worker without copying. */
  readonly buffer: SharedArrayBuffer;
  /** Absolute offset of the slot's first byte inside {@link buffer}. */
  readonly byteOffset: number;
  /** Usable bytes: the pool's slot size for a pooled slot, whole slots for a run, the requested size for non-pooled. */
  readonly capacityBytes: number;
  /** Index of the pooled slot (a run's first slot), or -1 for a non-pooled buffer. */
  readonly slotIndex: number;
  /** Pool slots this allocation holds against the pool's budget: 1 for a pooled slot, k for a run, ceil(size / slot size) for non-pooled. */
  readonly reservedSlots: number;
  /** The slot generation this allocation was made with (0 for non-pooled). Carry it in messages with {@link slotIndex}. */
  readonly generation: number;
  /** The SharedArrayBuffer of the pool this allocation came from (equals {@link buffer} for pooled slots). */
  readonly poolBuffer: SharedArrayBuffer;
  /**
   * The other pool slots held (returned on deallocate): a non-pooled buffer's budget, or a
   * run's slots after the first. Empty for a single pooled slot.
   */
  readonly reservedSlotIndices: readonly number[];
  readonly #stateWords: Int32Array;
  readonly #stateIndex: number;

  /**
   * @internal Only `BufferPool` creates handles; the state word must already hold
   * `(generation, APPENDING)` or the state the pool hands out.
   */
  constructor(
    buffer: SharedArrayBuffer,
    bytes: Uint8Array,
    dataView: DataView,
    byteOffset: number,
    capacityBytes: number,
    slotIndex: number,
    reservedSlots: number,
    generation: number,
    poolBuffer: SharedArrayBuffer,
    reservedSlotIndices: readonly number[],
    stateWords: Int32Array,
    stateIndex: number,
  ) {
    this.buffer = buffer;
    this.bytes = bytes;
    this.dataView = dataView;
    this.byteOffset = byteOffset;
    this.capacityBytes = capacityBytes;
    this.slotIndex = slotIndex;
    this.reservedSlots = reservedSlots;
    this.generation = generation;
    this.poolBuffer = poolBuffer;
    this.reservedSlotIndices = reservedSlotIndices;
    this.#stateWords = stateWords;
    this.#stateIndex = stateIndex;
  }

  /** Whether this is a slot (or run) of the pool's own buffer (false: a non-pooled buffer). */
  get isPooled(): boolean {
    return this.slotIndex >= 0;
  }

  /**
   * The allocation's current state, read with `Atomics.load`.
   * @returns the state; FREE once this allocation was deallocated (even if the slot was
   *   allocated again since: that is another allocation)
   */
  state(): SlotStateValue {
    const word = Atomics.load(this.#stateWords, this.#stateIndex);
    const state = slotWordState(word);
    if (slotWordGeneration(word) !== this.generation || state > SlotState.IN_FLIGHT) return SlotState.FREE;
    return state as SlotStateValue;
  }

  /**
   * Moves the allocation from `from` to `to` with one compareExchange, so that of two
   * threads racing to do the same transition exactly one wins and the other throws.
   * @param from - the state the caller believes the slot is in
   * @param to - the next state; `from → to` must be in the table in `pool-layout.ts`
   * @throws IllegalStateError naming both states when the pair is not in the table, or
   *   naming the actual state when the slot is not in `from` (or was deallocated)
   */
  transition(from: SlotStateValue, to: SlotStateValue): void {
    if (!isLegalSlotTransition(from, to)) {
      throw new IllegalStateError(
        `illegal transition ${slotStateName(from)} -> ${slotStateName(to)} for ${this.#label()}: not in the slot transition table; actual state ${this.#describeActual()}`,
      );
    }
    const expected = packSlotWord(this.generation, from);
    const seen = Atomics.compareExchange(this.#stateWords, this.#stateIndex, expected, packSlotWord(this.generation, to));
    if (seen !== expected) {
      throw new IllegalStateError(
        `cannot transition ${this.#label()} ${slotStateName(from)} -> ${slotStateName(to)}: actual state ${this.#describeWord(seen)}`,
      );
    }
  }

  /**
   * @internal Pool use only (deallocate): moves any live state to FREE and bumps the
   * generation, exactly once per allocation.
   * @throws IllegalStateError naming the slot when this allocation was already deallocated
   */
  release(): void {
    const words = this.#stateWords;
    const index = this.#stateIndex;
    const freed = packSlotWord((this.generation + 1) & SLOT_GENERATION_MASK, SlotState.FREE);
    for (;;) {
      const word = Atomics.load(words, index);
      if (slotWordGeneration(word) !== this.generation || slotWordState(word) === SlotState.FREE) {
        throw new IllegalStateError(
          `${this.#label()} was already deallocated (double free); actual state ${this.#describeWord(word)}`,
        );
      }
      // A concurrent legal transition (a worker sealing) may change the word between the
      // load and the exchange; retry with what we saw rather than fail the free.
      if (Atomics.compareExchange(words, index, word, freed) === word) return;
    }
  }

  #label(): string {
    return this.slotIndex >= 0
      ? `slot ${this.slotIndex} (generation ${this.generation})`
      : `non-pooled buffer of ${this.capacityBytes} bytes`;
  }

  #describeActual(): string {
    return this.#describeWord(Atomics.load(this.#stateWords, this.#stateIndex));
  }

  #describeWord(word: number): string {
    const generation = slotWordGeneration(word);
    if (generation !== this.generation) {
      return `FREE (deallocated; the slot is now generation ${generation} in state ${slotStateName(slotWordState(word))})`;
    }
    return slotStateName(slotWordState(word));
  }
}
