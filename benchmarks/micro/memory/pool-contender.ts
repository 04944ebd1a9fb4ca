/**
 * What a contending thread does in `buffer-pool.bench.ts`: allocate and free pool slots in
 * a loop, on the same SharedArrayBuffer as the main thread, until told to stop. Shared by
 * the main thread (the loops) and the worker (`pool-contender-worker.ts`).
 *
 * Also home of the rejected alternative measured beside `BufferPool`: a free stack of slot
 * indices behind a spin lock word in shared memory (the piscina/Java shape).
 */
import { BufferPool } from '@sluice/core';
import type { PoolSlot } from '@sluice/core';

/** Control words of a contender run (Int32Array over a SharedArrayBuffer). */
export const STOP_INDEX = 0;
export const READY_INDEX = 1;
/** Operations done by all contenders, in units of OPS_UNIT. */
export const OPS_INDEX = 2;
export const CONTROL_WORDS = 4;
/** Allocate/free pairs between two updates of the shared counter. */
export const OPS_UNIT = 256;

/** Which pool a contender hammers. */
export type PoolKind = 'sluice' | 'mutex';

/** Message that starts a contender. */
export interface ContenderStart {
  kind: PoolKind;
  /** The pool's memory (BufferPool.sharedBuffer or MutexFreeListPool.shared). */
  shared: SharedArrayBuffer;
  control: SharedArrayBuffer;
  /** Slots allocated before freeing them again (1 = allocate, free). */
  depth: number;
}

/**
 * The rejected design: a LIFO stack of free slot indices in shared memory, guarded by one
 * lock word taken with compareExchange (spinning). Every allocate and free takes and
 * releases the lock: two atomic read-modify-writes plus the stack update, and every other
 * thread spins meanwhile.
 */
export class MutexFreeListPool {
  readonly shared: SharedArrayBuffer;
  readonly #words: Int32Array;
  /** Word 0: lock; word 1: stack top; words 2..: free slot indices. */
  static create(slots: number): MutexFreeListPool {
    const shared = new SharedArrayBuffer((2 + slots) * 4);
    const words = new Int32Array(shared);
    for (let i = 0; i < slots; i++) words[2 + i] = i;
    words[1] = slots;
    return new MutexFreeListPool(shared);
  }

  constructor(shared: SharedArrayBuffer) {
    this.shared = shared;
    this.#words = new Int32Array(shared);
  }

  #lock(): void {
    const w = this.#words;
    while (Atomics.compareExchange(w, 0, 0, 1) !== 0) {
      // spin
    }
  }

  #unlock(): void {
    Atomics.store(this.#words, 0, 0);
  }

  /** A free slot index, or -1. */
  tryAllocate(): number {
    this.#lock();
    const w = this.#words;
    const top = w[1];
    let slot = -1;
    if (top > 0) {
      slot = w[2 + top - 1];
      w[1] = top - 1;
    }
    this.#unlock();
    return slot;
  }

  deallocate(slot: number): void {
    this.#lock();
    const w = this.#words;
    const top = w[1];
    w[2 + top] = slot;
    w[1] = top + 1;
    this.#unlock();
  }
}

/** `depth` allocations then `depth` frees on a BufferPool; throws if the pool runs dry. */
export function sluiceRound(pool: BufferPool, held: (PoolSlot | null)[], depth: number, sizeBytes: number): void {
  for (let i = 0; i < depth; i++) {
    const s = pool.tryAllocate(sizeBytes);
    if (s === null) throw new Error(`pool ran dry: ${pool.availableMemory()} bytes available`);
    held[i] = s;
  }
  for (let i = 0; i < depth; i++) {
    pool.deallocate(held[i]!);
    held[i] = null;
  }
}

/** `depth` allocations then `depth` frees on the mutex pool. */
export function mutexRound(pool: MutexFreeListPool, held: Int32Array, depth: number): void {
  for (let i = 0; i < depth; i++) {
    const s = pool.tryAllocate();
    if (s < 0) throw new Error('mutex pool ran dry');
    held[i] = s;
  }
  for (let i = 0; i < depth; i++) pool.deallocate(held[i]);
}

/** Runs a contender until STOP is set (called in the worker). */
export function contend(msg: ContenderStart): void {
  const control = new Int32Array(msg.control);
  Atomics.add(control, READY_INDEX, 1);
  const rounds = Math.max(1, Math.floor(OPS_UNIT / msg.depth));
  if (msg.kind === 'sluice') {
    const pool = BufferPool.attach(msg.shared);
    const held: (PoolSlot | null)[] = new Array(msg.depth).fill(null);
    const size = pool.poolableSize;
    while (Atomics.load(control, STOP_INDEX) === 0) {
      for (let r = 0; r < rounds; r++) sluiceRound(pool, held, msg.depth, size);
      Atomics.add(control, OPS_INDEX, 1);
    }
  } else {
    const pool = new MutexFreeListPool(msg.shared);
    const held = new Int32Array(msg.depth);
    while (Atomics.load(control, STOP_INDEX) === 0) {
      for (let r = 0; r < rounds; r++) mutexRound(pool, held, msg.depth);
      Atomics.add(control, OPS_INDEX, 1);
    }
  }
}
