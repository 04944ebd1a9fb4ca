/**
 * `IndexedSet`: an insertion-ordered set of objects that keep their own position in it, for
 * the producer's collections that churn — a member added and deleted per batch or per
 * request, for as long as the producer lives (incomplete batches, sendable partitions,
 * requests in flight).
 *
 * Key insight — why not a `Set`: V8's `Set` and `Map` store entries in a hash table that is
 * replaced by a new one (rehash) once deleted entries fill it, so churn allocates a table
 * every few hundred operations. The replaced table keeps a pointer to its successor (for
 * live iterators) and its old keys. When one table happens to be promoted to the old
 * generation — it only has to outlive two young-generation collections, which any pause in
 * traffic allows — every later table is reachable from a dead old one, so each is promoted
 * in turn ("nepotism": the young collector cannot tell the old table is garbage) and takes
 * the batches, slots and requests it still names with it. The chain lasts until the next
 * full collection, and then starts again from the live table, which is old by then.
 * Measured: a promoted `Set` with churn made a loop 4.7x slower with 43 full collections
 * instead of 2; in sluice-perf, 2.4 MB of per-batch objects were promoted per scavenge
 * (scavenges of 8-10 ms instead of under 1 ms) in every process whose sets were promoted
 * during start-up.
 *
 * Here a member's position is stored in the member itself (through an {@link IndexSlot}):
 * `add` appends, `delete` leaves a hole (null), and holes are squeezed out in place when they
 * outnumber the members. The backing array is reused; nothing is allocated in steady state
 * and a deleted member is referenced from nowhere. All operations are O(1) amortized;
 * iteration visits members in insertion order and costs O(members + holes), with holes kept
 * at most max(members, {@link COMPACT_SLACK}) outside iterations.
 *
 * Iteration sees members added during it and skips members deleted during it (as a `Set`
 * does); compaction waits until no iteration is open.
 */

import { IllegalStateError } from '../errors.js';

/** Where a member of one {@link IndexedSet} keeps its position: a field of its own, -1 when it is not a member. */
export interface IndexSlot<T> {
  get(item: T): number;
  set(item: T, index: number): void;
}

/** Holes always tolerated: compaction waits for more holes than this and than members. */
export const COMPACT_SLACK = 32;

/** An insertion-ordered set whose members store their own index (see the file comment). */
export class IndexedSet<T extends object> {
  #items: (T | null)[] = [];
  /** Used length of `#items` (entries at and past it are null). */
  #end = 0;
  #size = 0;
  /** Open iterations: compaction would move members under them. */
  #iterating = 0;
  readonly #slot: IndexSlot<T>;

  /** @param slot - reads and writes the member's index field for this set */
  constructor(slot: IndexSlot<T>) {
    this.#slot = slot;
  }

  /** Members in the set. */
  get size(): number {
    return this.#size;
  }

  /** Slots in use, holes included: at most `size` + max(`size`, COMPACT_SLACK) outside iterations. */
  get usedSlots(): number {
    return this.#end;
  }

  has(item: T): boolean {
    return this.#slot.get(item) >= 0;
  }

  /**
   * Adds `item` at the end (insertion order); no-op when it is a member already.
   * @returns whether it was added
   */
  add(item: T): boolean {
    if (this.#slot.get(item) >= 0) return false;
    const index = this.#end++;
    if (index < this.#items.length) this.#items[index] = item;
    else this.#items.push(item);
    this.#slot.set(item, index);
    this.#size++;
    return true;
  }

  /**
   * Removes `item`; no-op when it is not a member.
   * @returns whether it was removed
   */
  delete(item: T): boolean {
    const index = this.#slot.get(item);
    if (index < 0) return false;
    const items = this.#items;
    if (items[index] !== item) throw new IllegalStateError(`IndexedSet: the member's index ${index} is stale (its slot is shared with another set?)`);
    items[index] = null;
    this.#slot.set(item, -1);
    this.#size--;
    if (this.#iterating === 0) this.#squeeze();
    return true;
  }

  /** Removes every member. */
  clear(): void {
    const items = this.#items;
    for (let i = 0; i < this.#end; i++) {
      const item = items[i];
      if (item !== null) {
        this.#slot.set(item, -1);
        items[i] = null;
      }
    }
    this.#size = 0;
    if (this.#iterating === 0) this.#squeeze();
  }

  /** The members in insertion order, as a new array. */
  toArray(): T[] {
    const out: T[] = [];
    const items = this.#items;
    for (let i = 0; i < this.#end; i++) {
      const item = items[i];
      if (item !== null) out.push(item);
    }
    return out;
  }

  /** The members in insertion order (see the file comment for changes during iteration). */
  *[Symbol.iterator](): IterableIterator<T> {
    this.#iterating++;
    try {
      for (let i = 0; i < this.#end; i++) {
        const item = this.#items[i];
        if (item !== null) yield item;
      }
    } finally {
      if (--this.#iterating === 0) this.#squeeze();
    }
  }

  /**
   * Restores the bound on holes (never while iterating): drops trailing holes, and compacts
   * once holes outnumber both the members and COMPACT_SLACK. Amortized O(1): a compaction
   * moves at most as many members as there are holes that triggered it.
   */
  #squeeze(): void {
    const items = this.#items;
    let end = this.#end;
    while (end > 0 && items[end - 1] === null) end--;
    this.#end = end;
    const holes = end - this.#size;
    if (holes > this.#size && holes > COMPACT_SLACK) this.#compact();
  }

  /** Moves the members to the front, in order, updating their indices. */
  #compact(): void {
    const items = this.#items;
    let to = 0;
    for (let from = 0; from < this.#end; from++) {
      const item = items[from];
      if (item === null) continue;
      if (from !== to) {
        items[to] = item;
        items[from] = null;
        this.#slot.set(item, to);
      }
      to++;
    }
    this.#end = to;
  }
}
