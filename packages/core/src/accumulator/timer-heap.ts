import type { PartitionDeque } from './partition-deque.js';

/**
 * A binary min-heap of (deadline, partition) — the partitions whose head batch becomes
 * sendable at a known time (linger expiry, retry backoff). Entries are never removed in
 * place: a partition's `timerGeneration` is bumped instead, and stale entries are dropped
 * when they surface (lazy deletion). This keeps `ready` at O(due · log n) instead of
 * Kafka's O(all partitions) scan.
 */
export class TimerHeap {
  #at: number[] = [];
  #deque: PartitionDeque[] = [];
  #gen: number[] = [];

  get size(): number {
    return this.#at.length;
  }

  /** Registers `deque`'s head deadline, invalidating its previous entry. */
  schedule(deque: PartitionDeque, atMs: number): void {
    deque.timerGeneration++;
    deque.timerAtMs = atMs;
    this.#push(atMs, deque, deque.timerGeneration);
  }

  /** Invalidates `deque`'s entry, if any. */
  cancel(deque: PartitionDeque): void {
    if (deque.timerAtMs >= 0) {
      deque.timerGeneration++;
      deque.timerAtMs = -1;
    }
  }

  /** Earliest live deadline, or Infinity. Drops stale entries on the way. */
  peekMs(): number {
    this.#dropStale();
    return this.#at.length > 0 ? this.#at[0] : Infinity;
  }

  /** Removes and returns a partition whose deadline is <= nowMs, or undefined. */
  popDue(nowMs: number): PartitionDeque | undefined {
    this.#dropStale();
    if (this.#at.length === 0 || this.#at[0] > nowMs) return undefined;
    const d = this.#deque[0];
    this.#pop();
    d.timerAtMs = -1;
    return d;
  }

  #dropStale(): void {
    while (this.#at.length > 0 && this.#gen[0] !== this.#deque[0].timerGeneration) this.#pop();
  }

  #push(at: number, d: PartitionDeque, g: number): void {
    const a = this.#at;
    let i = a.length;
    a.push(at);
    this.#deque.push(d);
    this.#gen.push(g);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (a[parent] <= at) break;
      this.#move(parent, i);
      i = parent;
    }
    this.#set(i, at, d, g);
  }

  #pop(): void {
    const a = this.#at;
    const lastAt = a.pop()!;
    const lastD = this.#deque.pop()!;
    const lastG = this.#gen.pop()!;
    const n = a.length;
    if (n === 0) return;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && a[c + 1] < a[c]) c++;
      if (a[c] >= lastAt) break;
      this.#move(c, i);
      i = c;
    }
    this.#set(i, lastAt, lastD, lastG);
  }

  #move(from: number, to: number): void {
    this.#at[to] = this.#at[from];
    this.#deque[to] = this.#deque[from];
    this.#gen[to] = this.#gen[from];
  }

  #set(i: number, at: number, d: PartitionDeque, g: number): void {
    this.#at[i] = at;
    this.#deque[i] = d;
    this.#gen[i] = g;
  }
}
