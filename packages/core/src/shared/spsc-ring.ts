/**
 * A bounded single-producer single-consumer ring of fixed-size cells in shared memory
 * (layout: `shared-accumulator-layout.ts`, "Regions"): `head` on its own cache line,
 * written only by the producer; `tail` on the next, written only by the consumer; then
 * `capacity` cells of `cellWords` Int32 words. Counters run freely (Int32 wrap-around is
 * fine: distances are taken `| 0` and cells are indexed `& (capacity − 1)`).
 *
 * Key insight — one ring PER PRODUCER THREAD, not one multi-producer ring. In a bounded
 * MPSC ring (Vyukov's), a producer first reserves a cell (compareExchange on the shared
 * head), then writes it, then publishes its sequence; a thread terminated between the
 * reservation and the publication leaves a cell that is reserved forever, and the consumer,
 * which must read cells in order, stops at it for good. Here a producer writes the cell
 * first and publishes it with ONE store of its own head: a thread that dies before that
 * store has published nothing, and one that dies after it has published a whole cell. The
 * price is that the owner polls one head per appender (a load each, ≤ 64) instead of one,
 * and that events of one partition from two appenders may be seen out of order — the owner
 * orders them by batch sequence number (shared-intake.ts), which it needs anyway.
 *
 * Publication: the producer writes the cell with plain stores, then `Atomics.store`s head;
 * the consumer `Atomics.load`s head, then reads the cell with plain loads. Sequentially
 * consistent atomics order the plain accesses around them (the JS memory model: a program
 * whose plain accesses are ordered by atomics is data-race free).
 */

import { LINE_WORDS, RING_CELLS, RING_HEAD, RING_TAIL } from './shared-accumulator-layout.js';

/** One SPSC ring over a region of a shared Int32Array. */
export class SpscRing {
  /** The shared words (the whole shared accumulator buffer). */
  readonly control: Int32Array;
  /** Word index of the head counter (producer's). */
  readonly headIndex: number;
  /** Word index of the tail counter (consumer's). */
  readonly tailIndex: number;
  /** Word index of cell 0. */
  readonly cellsIndex: number;
  readonly capacity: number;
  readonly cellWords: number;
  readonly #mask: number;

  /**
   * @param ringIndex - word index of the ring (its head line)
   * @param capacity - cells (a power of two)
   * @param cellWords - Int32 words per cell
   */
  constructor(control: Int32Array, ringIndex: number, capacity: number, cellWords: number) {
    this.control = control;
    this.headIndex = ringIndex + RING_HEAD;
    this.tailIndex = ringIndex + RING_TAIL;
    this.cellsIndex = ringIndex + RING_CELLS;
    this.capacity = capacity;
    this.cellWords = cellWords;
    this.#mask = capacity - 1;
    if (RING_TAIL - RING_HEAD < LINE_WORDS) throw new Error('spsc-ring: head and tail must sit on separate cache lines');
  }

  // ---------------------------------------------------------------- producer side

  /**
   * Word index of the cell the next {@link publish} makes visible, or -1 when the ring is
   * full. Producer only.
   */
  tryClaim(): number {
    const control = this.control;
    const head = Atomics.load(control, this.headIndex);
    if (((head - Atomics.load(control, this.tailIndex)) | 0) >= this.capacity) return -1;
    return this.cellsIndex + (head & this.#mask) * this.cellWords;
  }

  /** Makes the cell from {@link tryClaim} visible to the consumer. Producer only. */
  publish(): void {
    const control = this.control;
    Atomics.store(control, this.headIndex, (Atomics.load(control, this.headIndex) + 1) | 0);
  }

  /** Pushes a one-word cell; false when full. Producer only. */
  tryPushWord(value: number): boolean {
    const cell = this.tryClaim();
    if (cell < 0) return false;
    this.control[cell] = value;
    this.publish();
    return true;
  }

  // ---------------------------------------------------------------- consumer side

  /** Cells published and not yet consumed. */
  size(): number {
    return (Atomics.load(this.control, this.headIndex) - Atomics.load(this.control, this.tailIndex)) | 0;
  }

  /** Word index of the `k`-th unconsumed cell (0 = oldest); the caller knows k < size(). */
  cellAt(k: number): number {
    return this.cellsIndex + ((Atomics.load(this.control, this.tailIndex) + k) & this.#mask) * this.cellWords;
  }

  /** Consumes `n` cells (after reading them). Consumer only. */
  consume(n: number): void {
    const control = this.control;
    Atomics.store(control, this.tailIndex, (Atomics.load(control, this.tailIndex) + n) | 0);
  }

  /**
   * The oldest one-word cell without consuming it, or `empty` when there is none: the
   * stash's consumer installs the slot first and {@link consume}s after (layout invariant 4).
   */
  peekWord(empty: number): number {
    const control = this.control;
    const tail = Atomics.load(control, this.tailIndex);
    if (tail === Atomics.load(control, this.headIndex)) return empty;
    return control[this.cellsIndex + (tail & this.#mask) * this.cellWords];
  }

  /** Pops a one-word cell, or returns `empty` when there is none. Consumer only. */
  popWord(empty: number): number {
    const control = this.control;
    const tail = Atomics.load(control, this.tailIndex);
    if (tail === Atomics.load(control, this.headIndex)) return empty;
    const value = control[this.cellsIndex + (tail & this.#mask) * this.cellWords];
    Atomics.store(control, this.tailIndex, (tail + 1) | 0);
    return value;
  }
}
