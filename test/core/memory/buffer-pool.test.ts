import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ManualClock } from '../../../packages/core/src/clock.js';
import {
  BufferExhaustedError,
  ClosedError,
  ConfigError,
  IllegalStateError,
  RecordTooLargeError,
} from '../../../packages/core/src/errors.js';
import { BufferPool } from '../../../packages/core/src/memory/buffer-pool.js';
import type { BufferPoolOptions } from '../../../packages/core/src/memory/buffer-pool.js';
import {
  BITMAP_INDEX,
  NON_POOLED_HEADER_BYTES,
  SlotState,
  computePoolLayout,
  isLegalSlotTransition,
} from '../../../packages/core/src/memory/pool-layout.js';
import type { PoolSlot } from '../../../packages/core/src/memory/pool-slot.js';

const POOLABLE = 1024;

function newPool(options: Partial<BufferPoolOptions> = {}): BufferPool {
  return new BufferPool({ totalMemoryBytes: 4 * POOLABLE, poolableSizeBytes: POOLABLE, ...options });
}

/** Allocates synchronously or fails the test. */
function take(pool: BufferPool, sizeBytes = POOLABLE): PoolSlot {
  const slot = pool.tryAllocate(sizeBytes);
  expect(slot, `tryAllocate(${sizeBytes})`).to.not.equal(null);
  return slot!;
}

function drainAll(pool: BufferPool): PoolSlot[] {
  const slots: PoolSlot[] = [];
  for (let slot = pool.tryAllocate(POOLABLE); slot !== null; slot = pool.tryAllocate(POOLABLE)) slots.push(slot);
  return slots;
}

/** Lets promise callbacks and one macrotask run. */
function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function rejectionOf(promise: PoolSlot | Promise<PoolSlot>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

/** Records the order in which allocation promises settle. */
function track(promise: PoolSlot | Promise<PoolSlot>, name: string, log: string[]): Promise<PoolSlot> {
  return Promise.resolve(promise).then((slot) => {
    log.push(name);
    return slot;
  });
}

describe('computePoolLayout()', () => {
  it('derives slots, bitmap words and an 8-byte aligned data offset', () => {
    const layout = computePoolLayout(32 * 1024 * 1024, 16 * 1024);
    expect(layout.slotCount).to.equal(2048);
    expect(layout.bitmapWords).to.equal(64);
    expect(layout.bitmapIndex).to.equal(BITMAP_INDEX);
    expect(layout.stateIndex).to.equal(BITMAP_INDEX + 64);
    expect(layout.controlWords).to.equal(BITMAP_INDEX + 64 + 2048);
    expect(layout.controlBytes).to.equal(layout.controlWords * 4);
    expect(layout.dataOffsetBytes % 8).to.equal(0);
    expect(layout.dataOffsetBytes).to.be.at.least(layout.controlBytes);
    expect(layout.sharedBytes).to.equal(layout.dataOffsetBytes + 32 * 1024 * 1024);
  });

  it('rounds the total down to whole slots', () => {
    const layout = computePoolLayout(10_000, 1024);
    expect(layout.slotCount).to.equal(9);
    expect(layout.totalMemoryBytes).to.equal(9 * 1024);
    expect(layout.bitmapWords).to.equal(1);
  });

  it('rejects sizes that are not positive integers or a total below one slot with ConfigError', () => {
    expect(() => computePoolLayout(0, 1024)).to.throw(ConfigError, /totalMemoryBytes/);
    expect(() => computePoolLayout(4096, 1.5)).to.throw(ConfigError, /poolableSizeBytes/);
    expect(() => computePoolLayout(1000, 1024)).to.throw(ConfigError, /at least poolableSizeBytes/);
  });
});

describe('slot transition table', () => {
  it('allows exactly the documented transitions', () => {
    const legal = new Set(['1>2', '2>3', '3>4', '4>3']);
    for (let from = 0; from <= 4; from++) {
      for (let to = 0; to <= 4; to++) {
        expect(isLegalSlotTransition(from, to), `${from} -> ${to}`).to.equal(legal.has(`${from}>${to}`));
      }
    }
  });
});

describe('BufferPool', () => {
  describe('constructor / attach()', () => {
    it('exposes the sizes and one SharedArrayBuffer of the computed layout', () => {
      const pool = newPool();
      expect(pool.totalMemory).to.equal(4 * POOLABLE);
      expect(pool.poolableSize).to.equal(POOLABLE);
      expect(pool.slotCount).to.equal(4);
      expect(pool.sharedBuffer).to.be.instanceOf(SharedArrayBuffer);
      expect(pool.sharedBuffer.byteLength).to.equal(computePoolLayout(4 * POOLABLE, POOLABLE).sharedBytes);
      expect(pool.availableMemory()).to.equal(4 * POOLABLE);
    });

    it('attach() reads the layout from the control words and shares the accounting', () => {
      const pool = newPool();
      const other = BufferPool.attach(pool.sharedBuffer);
      expect(other.totalMemory).to.equal(pool.totalMemory);
      expect(other.poolableSize).to.equal(pool.poolableSize);
      const slot = take(other);
      expect(pool.availableMemory()).to.equal(3 * POOLABLE);
      pool.deallocate(slot); // freed through the other instance: the memory is the same
      expect(other.availableMemory()).to.equal(4 * POOLABLE);
    });

    it('attach() rejects a buffer that is not a pool with ConfigError', () => {
      expect(() => BufferPool.attach(new SharedArrayBuffer(1024))).to.throw(ConfigError, /magic/);
      expect(() => BufferPool.attach(new SharedArrayBuffer(4))).to.throw(ConfigError);
    });
  });

  describe('tryAllocate() / deallocate()', () => {
    it('accounts a simple allocate and deallocate (Kafka BufferPoolTest.testSimple)', () => {
      const pool = newPool();
      const slot = take(pool, 512);
      expect(slot.capacityBytes).to.equal(POOLABLE);
      expect(slot.isPooled).to.equal(true);
      expect(slot.reservedSlots).to.equal(1);
      expect(pool.stateOf(slot)).to.equal(SlotState.APPENDING);
      expect(pool.availableMemory()).to.equal(3 * POOLABLE);
      pool.deallocate(slot);
      expect(pool.stateOf(slot)).to.equal(SlotState.FREE);
      expect(pool.availableMemory()).to.equal(4 * POOLABLE);
    });

    it('hands out views over the one pool buffer at distinct, non-overlapping offsets', () => {
      const pool = newPool();
      const slots = drainAll(pool);
      expect(slots).to.have.length(4);
      const layout = computePoolLayout(pool.totalMemory, pool.poolableSize);
      const offsets = slots.map((s) => s.byteOffset).sort((a, b) => a - b);
      expect(offsets).to.deep.equal([0, 1, 2, 3].map((i) => layout.dataOffsetBytes + i * POOLABLE));
      for (const slot of slots) {
        expect(slot.buffer).to.equal(pool.sharedBuffer);
        expect(slot.bytes).to.equal(slots[0]!.bytes); // one shared Uint8Array, none per allocation
        expect(slot.dataView).to.equal(slots[0]!.dataView);
        expect(slot.bytes.byteLength).to.equal(pool.sharedBuffer.byteLength);
      }
      slots[1]!.dataView.setUint32(slots[1]!.byteOffset, 0xdeadbeef);
      expect(slots[1]!.bytes[slots[1]!.byteOffset]).to.equal(0xde);
      for (const slot of slots) pool.deallocate(slot);
      expect(pool.availableMemory()).to.equal(pool.totalMemory);
    });

    it('returns null when memory is short and allocates again once memory is returned', () => {
      const pool = newPool();
      const slots = drainAll(pool);
      expect(pool.tryAllocate(1)).to.equal(null);
      expect(pool.availableMemory()).to.equal(0);
      pool.deallocate(slots[2]!);
      const again = take(pool);
      expect(again.slotIndex).to.equal(slots[2]!.slotIndex);
      for (const slot of [slots[0]!, slots[1]!, slots[3]!, again]) pool.deallocate(slot);
      expect(pool.availableMemory()).to.equal(pool.totalMemory);
    });

    it('throws IllegalStateError naming the slot on a second deallocate', () => {
      const pool = newPool();
      const slot = take(pool);
      pool.deallocate(slot);
      expect(() => pool.deallocate(slot)).to.throw(IllegalStateError, `slot ${slot.slotIndex} `);
      expect(pool.availableMemory()).to.equal(pool.totalMemory);
    });

    it('a stale handle cannot free or transition the next allocation of the same slot', () => {
      const pool = new BufferPool({ totalMemoryBytes: POOLABLE, poolableSizeBytes: POOLABLE });
      const first = take(pool);
      pool.deallocate(first);
      const second = take(pool);
      expect(second.slotIndex).to.equal(first.slotIndex);
      expect(second.generation).to.equal(first.generation + 1);
      expect(() => pool.deallocate(first)).to.throw(IllegalStateError, /already deallocated/);
      expect(() => pool.transition(first, SlotState.APPENDING, SlotState.SEALING)).to.throw(IllegalStateError, /FREE/);
      expect(pool.stateOf(first)).to.equal(SlotState.FREE);
      expect(pool.stateOf(second)).to.equal(SlotState.APPENDING);
      expect(pool.availableMemory()).to.equal(0);
      pool.deallocate(second);
      expect(pool.availableMemory()).to.equal(pool.totalMemory);
    });

    it('refuses a slot of another pool', () => {
      const a = newPool();
      const b = newPool();
      const slot = take(a);
      expect(() => b.deallocate(slot)).to.throw(IllegalStateError, /another buffer pool/);
      a.deallocate(slot);
    });

    it('throws RangeError naming the value for a size that is not a positive integer', () => {
      const pool = newPool();
      expect(() => pool.tryAllocate(0)).to.throw(RangeError, 'got 0');
      expect(() => pool.tryAllocate(-5)).to.throw(RangeError, 'got -5');
      expect(() => pool.tryAllocate(1.5)).to.throw(RangeError, 'got 1.5');
      expect(() => pool.allocate(Number.NaN, 10)).to.throw(RangeError, 'got NaN');
      expect(() => pool.allocate(10, -1)).to.throw(RangeError, 'maxBlockMs');
    });

    it('fails at once with RecordTooLargeError for a size above the total memory', () => {
      const pool = newPool();
      expect(() => pool.tryAllocate(4 * POOLABLE + 1)).to.throw(RecordTooLargeError, /4097 bytes.*total memory 4096/);
      expect(() => pool.allocate(4 * POOLABLE + 1, 60_000)).to.throw(RecordTooLargeError);
      expect(pool.queuedWaiters()).to.equal(0);
    });

    it('claims the lowest free slot first and tracks the high-water mark in unallocatedMemory()', () => {
      const pool = new BufferPool({ totalMemoryBytes: 40 * POOLABLE, poolableSizeBytes: POOLABLE });
      expect(pool.unallocatedMemory()).to.equal(40 * POOLABLE);
      const a = take(pool);
      const b = take(pool);
      expect([a.slotIndex, b.slotIndex]).to.deep.equal([0, 1]);
      expect(pool.unallocatedMemory()).to.equal(38 * POOLABLE);
      pool.deallocate(a);
      const c = take(pool);
      expect(c.slotIndex).to.equal(0);
      expect(pool.unallocatedMemory()).to.equal(38 * POOLABLE);
      // Fill past the first bitmap word: the second word is used, the mark follows.
      const more = Array.from({ length: 33 }, () => take(pool));
      expect(more.at(-1)!.slotIndex).to.equal(34);
      expect(pool.unallocatedMemory()).to.equal(5 * POOLABLE);
      for (const slot of [b, c, ...more]) pool.deallocate(slot);
      expect(pool.availableMemory()).to.equal(pool.totalMemory);
      expect(pool.unallocatedMemory()).to.equal(5 * POOLABLE);
    });
  });

  describe('non-pooled allocations', () => {
    it('gets its own buffer of exactly the size, counted against the total and fully returned', () => {
      const pool = newPool();
      const big = take(pool, 2 * POOLABLE + 100);
      expect(big.isPooled).to.equal(false);
      expect(big.slotIndex).to.equal(-1);
      expect(big.capacityBytes).to.equal(2 * POOLABLE + 100);
      expect(big.reservedSlots).to.equal(3);
      expect(big.reservedSlotIndices).to.have.length(3);
      expect(big.byteOffset).to.equal(NON_POOLED_HEADER_BYTES);
      expect(big.buffer).to.be.instanceOf(SharedArrayBuffer);
      expect(big.buffer).to.not.equal(pool.sharedBuffer);
      expect(big.buffer.byteLength).to.equal(NON_POOLED_HEADER_BYTES + 2 * POOLABLE + 100);
      expect(big.bytes.byteLength).to.equal(big.buffer.byteLength);
      big.bytes.fill(7, big.byteOffset, big.byteOffset + big.capacityBytes);
      expect(pool.availableMemory()).to.equal(POOLABLE);
      expect(pool.tryAllocate(2 * POOLABLE)).to.equal(null);
      pool.transition(big, SlotState.APPENDING, SlotState.SEALING);
      expect(pool.stateOf(big)).to.equal(SlotState.SEALING);
      pool.deallocate(big);
      expect(pool.availableMemory()).to.equal(pool.totalMemory);
      expect(() => pool.deallocate(big)).to.throw(IllegalStateError, /non-pooled buffer of 2148 bytes was already deallocated/);
      expect(pool.availableMemory()).to.equal(pool.totalMemory);
    });

    it('can take the whole pool', () => {
      const pool = newPool();
      const all = take(pool, pool.totalMemory);
      expect(all.reservedSlots).to.equal(4);
      expect(pool.availableMemory()).to.equal(0);
      pool.deallocate(all);
      expect(pool.availableMemory()).to.equal(pool.totalMemory);
    });
  });

  describe('failures while allocating', () => {
    /** Runs `fn` while creating a SharedArrayBuffer of more than `bytes` throws (the process out of memory). */
    async function withFailingBigBuffers<T>(bytes: number, fn: () => Promise<T> | T): Promise<T> {
      const Real = globalThis.SharedArrayBuffer;
      const Failing = function (this: unknown, length: number) {
        if (length > bytes) throw new RangeError('Array buffer allocation failed');
        return new Real(length);
      } as unknown as SharedArrayBufferConstructor;
      Object.setPrototypeOf(Failing, Real);
      (Failing as { prototype: unknown }).prototype = Real.prototype;
      globalThis.SharedArrayBuffer = Failing;
      try {
        return await fn();
      } finally {
        globalThis.SharedArrayBuffer = Real;
      }
    }

    it('returns the budget of a non-pooled allocation whose buffer cannot be created, with a typed error', async () => {
      const pool = newPool();
      const error = await withFailingBigBuffers(POOLABLE, () => {
        try {
          pool.tryAllocate(2 * POOLABLE + 100);
        } catch (e) {
          return e;
        }
        return null;
      });
      expect(error).to.be.instanceOf(BufferExhaustedError);
      expect((error as Error).message).to.match(/could not create a non-pooled buffer of 2148 bytes \(Array buffer allocation failed\); its 3 slots/);
      expect(pool.availableMemory(), 'the 3 slots are back').to.equal(pool.totalMemory);
      expect(drainAll(pool)).to.have.length(4);
    });

    it('rejects a waiter for a non-pooled buffer that cannot be created and gives its slots to the next waiter', async () => {
      const pool = newPool();
      const held = drainAll(pool);
      const big = pool.allocate(2 * POOLABLE + 100, 10_000);
      const next = pool.allocate(POOLABLE, 10_000);
      const bigError = rejectionOf(big);
      await withFailingBigBuffers(POOLABLE, async () => {
        for (const slot of held) pool.deallocate(slot);
        await tick();
      });
      expect(await bigError).to.be.instanceOf(BufferExhaustedError);
      const slot = await next;
      pool.deallocate(slot);
      expect(pool.availableMemory()).to.equal(pool.totalMemory);
      expect(pool.queuedWaiters()).to.equal(0);
    });

    it('settles a timed-out wait even when the clock of the wait-time metric throws', async () => {
      let calls = 0;
      const clock = {
        nowMs: () => Date.now(),
        hiResNs: (): bigint => {
          if (++calls > 1) throw new Error('clock broken');
          return process.hrtime.bigint();
        },
      };
      const pool = newPool({ clock });
      const held = drainAll(pool);
      const error = await rejectionOf(pool.allocate(POOLABLE, 20));
      expect(error).to.be.instanceOf(BufferExhaustedError);
      expect(pool.queuedWaiters()).to.equal(0);
      const served = pool.allocate(POOLABLE, 1000);
      pool.deallocate(held[0]);
      pool.deallocate(await served);
      for (const slot of held.slice(1)) pool.deallocate(slot);
      expect(pool.availableMemory()).to.equal(pool.totalMemory);
    });

    it('never fails a wait before maxBlockMs by the monotonic clock, even when the timer fires early', async () => {
      // Node's timers run on libuv's millisecond clock and may fire up to 1 ms early by the
      // monotonic one. To make "the timer fired early" deterministic (and large enough to
      // measure), the monotonic clock reads 30 ms ahead while the wait starts: when the 20 ms
      // timer fires, that clock says the wait has not even begun, and it must go on.
      const pool = newPool();
      const held = drainAll(pool);
      const realHrtime = process.hrtime.bigint;
      const start = realHrtime();
      process.hrtime.bigint = () => realHrtime() + 30_000_000n;
      let pending: PoolSlot | Promise<PoolSlot>;
      try {
        pending = pool.allocate(POOLABLE, 20);
      } finally {
        process.hrtime.bigint = realHrtime;
      }
      const error = await rejectionOf(pending);
      const waitedMs = Number(realHrtime() - start) / 1e6;
      expect(error).to.be.instanceOf(BufferExhaustedError);
      expect(waitedMs, 'the wait lasted maxBlockMs by the clock it started on').to.be.at.least(49);
      for (const slot of held) pool.deallocate(slot);
    });
  });

  describe('tryAllocateRun()', () => {
    it('takes adjacent slots of the pool buffer itself, as one allocation returned whole', () => {
      const pool = newPool({ totalMemoryBytes: 8 * POOLABLE });
      const single = take(pool);
      const run = pool.tryAllocateRun(3 * POOLABLE - 10)!;
      expect(run).to.not.equal(null);
      expect(run.isPooled).to.equal(true);
      expect(run.buffer).to.equal(pool.sharedBuffer);
      expect(run.slotIndex).to.equal(1, 'the lowest run after slot 0');
      expect(run.capacityBytes).to.equal(3 * POOLABLE);
      expect(run.reservedSlots).to.equal(3);
      expect(run.reservedSlotIndices).to.deep.equal([2, 3]);
      expect(run.byteOffset).to.equal(single.byteOffset + POOLABLE);
      expect(pool.stateOf(run)).to.equal(SlotState.APPENDING);
      expect(pool.availableMemory()).to.equal(4 * POOLABLE);
      // The run's bytes are its own: the next allocation starts after them.
      const next = take(pool);
      expect(next.byteOffset).to.equal(run.byteOffset + run.capacityBytes);
      pool.transition(run, SlotState.APPENDING, SlotState.SEALING);
      pool.deallocate(run);
      expect(pool.availableMemory()).to.equal(6 * POOLABLE);
      expect(() => pool.deallocate(run)).to.throw(IllegalStateError, /already deallocated/);
      pool.deallocate(single);
      pool.deallocate(next);
      expect(pool.availableMemory()).to.equal(pool.totalMemory);
      // Everything came back to the bitmap: the whole pool is one run again.
      const all = pool.tryAllocateRun(8 * POOLABLE)!;
      expect(all.slotIndex).to.equal(0);
      pool.deallocate(all);
      expect(Atomics.load(new Int32Array(pool.sharedBuffer), BITMAP_INDEX)).to.equal(0xff);
    });

    it('returns null, reserving nothing, when free slots are not adjacent or too few', () => {
      const pool = newPool({ totalMemoryBytes: 6 * POOLABLE });
      const slots = drainAll(pool);
      pool.deallocate(slots[1]);
      pool.deallocate(slots[3]);
      pool.deallocate(slots[5]);
      expect(pool.availableMemory()).to.equal(3 * POOLABLE);
      expect(pool.tryAllocateRun(2 * POOLABLE)).to.equal(null, 'three free slots, no two adjacent');
      expect(pool.availableMemory()).to.equal(3 * POOLABLE, 'the reservation was given back');
      expect(pool.tryAllocateRun(4 * POOLABLE)).to.equal(null, 'not enough free memory');
      const one = take(pool);
      expect(one.slotIndex).to.equal(1);
      pool.deallocate(slots[4]);
      const run = pool.tryAllocateRun(2 * POOLABLE)!;
      expect(run.slotIndex).to.equal(3);
      for (const s of [one, run, slots[0], slots[2]]) pool.deallocate(s);
      expect(pool.availableMemory()).to.equal(pool.totalMemory);
    });

    it('finds runs in any bitmap word, never across two, and leaves waiters on this thread first', async () => {
      const pool = newPool({ totalMemoryBytes: 40 * POOLABLE, clock: new ManualClock() });
      const slots = drainAll(pool);
      expect(slots).to.have.length(40);
      // Free 30, 31 (end of word 0) and 32, 33 (start of word 1): no run of 3 in one word.
      for (const i of [30, 31, 32, 33]) pool.deallocate(slots[i]);
      expect(pool.tryAllocateRun(3 * POOLABLE)).to.equal(null);
      const run = pool.tryAllocateRun(2 * POOLABLE)!;
      expect(run.slotIndex).to.equal(30);
      const run2 = pool.tryAllocateRun(2 * POOLABLE)!;
      expect(run2.slotIndex).to.equal(32);
      const waiting = pool.allocate(POOLABLE, 10_000);
      expect(waiting).to.be.instanceOf(Promise);
      pool.deallocate(slots[0]);
      const served = await waiting;
      expect(served.slotIndex).to.equal(0);
      pool.deallocate(slots[1]);
      pool.deallocate(slots[2]);
      expect(pool.tryAllocateRun(2 * POOLABLE)!.slotIndex).to.equal(1);
    });

    it('rejects more slots than a bitmap word with RangeError', () => {
      const pool = newPool({ totalMemoryBytes: 40 * POOLABLE });
      expect(() => pool.tryAllocateRun(33 * POOLABLE)).to.throw(RangeError, /33 slots/);
      expect(pool.availableMemory()).to.equal(pool.totalMemory);
    });
  });

  describe('transition() / stateOf()', () => {
    it('walks APPENDING → SEALING → SEALED → IN_FLIGHT → SEALED (retry) → IN_FLIGHT', () => {
      const pool = newPool();
      const slot = take(pool);
      pool.transition(slot, SlotState.APPENDING, SlotState.SEALING);
      pool.transition(slot, SlotState.SEALING, SlotState.SEALED);
      pool.transition(slot, SlotState.SEALED, SlotState.IN_FLIGHT);
      pool.transition(slot, SlotState.IN_FLIGHT, SlotState.SEALED);
      pool.transition(slot, SlotState.SEALED, SlotState.IN_FLIGHT);
      expect(pool.stateOf(slot)).to.equal(SlotState.IN_FLIGHT);
      pool.deallocate(slot);
      expect(pool.stateOf(slot)).to.equal(SlotState.FREE);
    });

    it('throws IllegalStateError naming both states for a pair not in the table', () => {
      const pool = newPool();
      const slot = take(pool);
      pool.transition(slot, SlotState.APPENDING, SlotState.SEALING);
      expect(() => pool.transition(slot, SlotState.SEALING, SlotState.APPENDING)).to.throw(
        IllegalStateError,
        /SEALING -> APPENDING.*not in the slot transition table; actual state SEALING/,
      );
      expect(() => pool.transition(slot, SlotState.SEALING, SlotState.FREE)).to.throw(IllegalStateError, /SEALING -> FREE/);
      expect(() => pool.transition(slot, SlotState.FREE, SlotState.APPENDING)).to.throw(IllegalStateError, /FREE -> APPENDING/);
      expect(pool.stateOf(slot)).to.equal(SlotState.SEALING);
      pool.deallocate(slot);
    });

    it('throws IllegalStateError naming the actual state when the slot is not in `from`', () => {
      const pool = newPool();
      const slot = take(pool);
      expect(() => pool.transition(slot, SlotState.SEALED, SlotState.IN_FLIGHT)).to.throw(
        IllegalStateError,
        /SEALED -> IN_FLIGHT: actual state APPENDING/,
      );
      pool.deallocate(slot);
      expect(() => pool.transition(slot, SlotState.APPENDING, SlotState.SEALING)).to.throw(IllegalStateError, /actual state FREE/);
    });

    it('lets exactly one of two racing identical transitions win', () => {
      const pool = newPool();
      const slot = take(pool);
      const twin = pool.slotAt(slot.slotIndex, slot.generation);
      pool.transition(slot, SlotState.APPENDING, SlotState.SEALING);
      expect(() => pool.transition(twin, SlotState.APPENDING, SlotState.SEALING)).to.throw(IllegalStateError);
      pool.deallocate(twin);
      expect(() => pool.deallocate(slot)).to.throw(IllegalStateError);
      expect(pool.availableMemory()).to.equal(pool.totalMemory);
    });

    it('slotAt() refuses a slot that is free or of another generation', () => {
      const pool = newPool();
      const slot = take(pool);
      expect(() => pool.slotAt(slot.slotIndex, slot.generation + 1)).to.throw(IllegalStateError, /not allocated/);
      expect(() => pool.slotAt(3, 0)).to.throw(IllegalStateError, /state FREE/);
      expect(() => pool.slotAt(4, 0)).to.throw(RangeError);
      pool.deallocate(slot);
    });
  });

  describe('allocate()', () => {
    it('returns synchronously when memory is free', () => {
      const pool = newPool();
      const slot = pool.allocate(100, 60_000);
      expect(slot).to.not.be.instanceOf(Promise);
      pool.deallocate(slot as PoolSlot);
    });

    it('throws BufferExhaustedError at once when maxBlockMs is 0 and memory is short', () => {
      const pool = newPool();
      const slots = drainAll(pool);
      expect(() => pool.allocate(16, 0)).to.throw(
        BufferExhaustedError,
        'could not allocate 16 bytes within maxBlockMs=0; total 4096, available 0, waiters 0',
      );
      expect(pool.queuedWaiters()).to.equal(0);
      for (const slot of slots) pool.deallocate(slot);
    });

    it('fails with BufferExhaustedError after maxBlockMs when nothing is freed', async () => {
      const pool = newPool();
      const slots = drainAll(pool);
      const started = Date.now();
      const pending = pool.allocate(POOLABLE, 30);
      expect(pending).to.be.instanceOf(Promise);
      expect(pool.queuedWaiters()).to.equal(1);
      const error = await rejectionOf(pending);
      expect(Date.now() - started).to.be.at.least(25);
      expect(error).to.be.instanceOf(BufferExhaustedError);
      expect((error as BufferExhaustedError).code).to.equal('SLUICE_ERR_BUFFER_EXHAUSTED');
      expect((error as Error).message).to.equal(
        'could not allocate 1024 bytes within maxBlockMs=30; total 4096, available 0, waiters 1',
      );
      expect(pool.queuedWaiters()).to.equal(0);
      for (const slot of slots) pool.deallocate(slot);
      expect(pool.availableMemory()).to.equal(pool.totalMemory);
    });

    it('serves waiters in FIFO order as slots are freed one at a time', async () => {
      const pool = newPool();
      const slots = drainAll(pool);
      const order: string[] = [];
      const waiters = ['first', 'second', 'third'].map((name) => track(pool.allocate(POOLABLE, 5_000), name, order));
      expect(pool.queuedWaiters()).to.equal(3);
      for (let i = 0; i < 3; i++) {
        pool.deallocate(slots[i]!);
        await tick();
        expect(order).to.deep.equal(['first', 'second', 'third'].slice(0, i + 1));
        expect(pool.availableMemory()).to.equal(0);
      }
      const served = await Promise.all(waiters);
      expect(pool.queuedWaiters()).to.equal(0);
      for (const slot of [...served, slots[3]!]) pool.deallocate(slot);
      expect(pool.availableMemory()).to.equal(pool.totalMemory);
    });

    it('does not let tryAllocate barge ahead of queued waiters on this thread', async () => {
      const pool = newPool();
      const other = BufferPool.attach(pool.sharedBuffer); // stands in for another thread
      const slots = drainAll(pool);
      const waiter = pool.allocate(POOLABLE, 5_000);
      other.deallocate(slots[0]!); // freed "elsewhere": goes to the bitmap, not to our head
      expect(pool.availableMemory()).to.equal(POOLABLE);
      expect(pool.tryAllocate(POOLABLE)).to.equal(null);
      const served = await waiter; // woken through FREE_SIGNAL / Atomics.waitAsync
      expect(pool.availableMemory()).to.equal(0);
      for (const slot of [served, ...slots.slice(1)]) pool.deallocate(slot);
      expect(pool.availableMemory()).to.equal(pool.totalMemory);
    });

    it('lets a big (non-pooled) waiter accumulate freed slots so smaller requests behind it cannot starve it', async () => {
      const pool = newPool();
      const slots = drainAll(pool);
      const order: string[] = [];
      const big = track(pool.allocate(3 * POOLABLE, 5_000), 'big', order);
      const small = track(pool.allocate(POOLABLE, 5_000), 'small', order);
      pool.deallocate(slots[0]!);
      pool.deallocate(slots[1]!);
      await tick();
      expect(order).to.deep.equal([]);
      expect(pool.availableMemory(), 'accumulated memory is not available').to.equal(0);
      expect(pool.tryAllocate(POOLABLE)).to.equal(null);
      pool.deallocate(slots[2]!);
      await tick();
      expect(order).to.deep.equal(['big']);
      const bigSlot = await big;
      expect(bigSlot.reservedSlots).to.equal(3);
      expect(bigSlot.capacityBytes).to.equal(3 * POOLABLE);
      pool.deallocate(slots[3]!);
      const smallSlot = await small;
      expect(order).to.deep.equal(['big', 'small']);
      pool.deallocate(bigSlot);
      pool.deallocate(smallSlot);
      expect(pool.availableMemory()).to.equal(pool.totalMemory);
    });

    it('waits without burning CPU (big and small waiters, two instances)', async () => {
      const pool = newPool();
      const other = BufferPool.attach(pool.sharedBuffer);
      const all = take(pool, pool.totalMemory);
      const before = process.cpuUsage();
      const started = Date.now();
      await Promise.all(
        [pool.allocate(3 * POOLABLE, 100), pool.allocate(POOLABLE, 100), other.allocate(3 * POOLABLE, 100)].map(rejectionOf),
      );
      const cpu = process.cpuUsage(before);
      const cpuMs = (cpu.user + cpu.system) / 1000;
      expect(cpuMs, `CPU ${cpuMs} ms over ${Date.now() - started} ms of waiting`).to.be.below(50);
      pool.deallocate(all);
      expect(pool.availableMemory()).to.equal(pool.totalMemory);
    });

    it('returns what a timed-out waiter accumulated, to the next waiter first', async () => {
      const pool = newPool();
      const slots = drainAll(pool);
      const big = pool.allocate(3 * POOLABLE, 40);
      const small = pool.allocate(POOLABLE, 5_000);
      pool.deallocate(slots[0]!);
      pool.deallocate(slots[1]!);
      const error = await rejectionOf(big);
      expect(error).to.be.instanceOf(BufferExhaustedError);
      expect((error as Error).message).to.match(
        /^could not allocate 3072 bytes within maxBlockMs=40; total 4096, available 0, waiters 2 \(had accumulated 2048\)$/,
      );
      const smallSlot = await small; // got one of the two returned slots
      expect(pool.availableMemory()).to.equal(POOLABLE); // the other went back to the pool
      expect(pool.queuedWaiters()).to.equal(0);
      for (const slot of [smallSlot, slots[2]!, slots[3]!]) pool.deallocate(slot);
      expect(pool.availableMemory()).to.equal(pool.totalMemory);
    });

    it('returns a timed-out waiter\'s accumulated memory to the pool when nobody else waits', async () => {
      const pool = newPool();
      const slots = drainAll(pool);
      const big = pool.allocate(4 * POOLABLE, 30);
      pool.deallocate(slots[0]!);
      expect(pool.availableMemory()).to.equal(0);
      expect(await rejectionOf(big)).to.be.instanceOf(BufferExhaustedError);
      expect(pool.availableMemory()).to.equal(POOLABLE);
      for (const slot of slots.slice(1)) pool.deallocate(slot);
      expect(pool.availableMemory()).to.equal(pool.totalMemory);
    });

    it('accumulates the waiting time in bufferpool-wait-time-ns-total', async () => {
      const clock = new ManualClock();
      const pool = newPool({ clock });
      const slots = drainAll(pool);
      const waiter = pool.allocate(POOLABLE, 5_000);
      clock.advance(25);
      pool.deallocate(slots[0]!);
      const served = await waiter;
      expect(pool.metrics()['bufferpool-wait-time-ns-total']).to.equal(25_000_000);
      const timedOut = pool.allocate(POOLABLE, 20);
      clock.advance(20);
      await rejectionOf(timedOut);
      expect(pool.metrics()['bufferpool-wait-time-ns-total']).to.equal(45_000_000);
      for (const slot of [served, ...slots.slice(1)]) pool.deallocate(slot);
    });

    it('is woken by a deallocate on another thread (worker_threads)', async function () {
      this.timeout(10_000);
      const pool = newPool();
      const worker = new Worker(new URL('./fixtures/pool-hammer-worker.mjs', import.meta.url));
      try {
        const reply = (): Promise<{ slotIndex?: number; generation?: number; freed?: number; error?: string }> =>
          new Promise((resolve) => worker.once('message', resolve));
        // The worker allocates one slot on its own instance; we take the rest.
        let answer = reply();
        worker.postMessage({ op: 'allocate', shared: pool.sharedBuffer, sizeBytes: POOLABLE });
        const held = await answer;
        expect(held.error).to.equal(undefined);
        const mine = drainAll(pool);
        expect(mine).to.have.length(3);
        const waiter = pool.allocate(POOLABLE, 5_000);
        await sleep(20);
        expect(pool.queuedWaiters()).to.equal(1);
        answer = reply();
        worker.postMessage({ op: 'free', shared: pool.sharedBuffer, slotIndex: held.slotIndex, generation: held.generation });
        const freed = await answer;
        expect(freed.error).to.equal(undefined);
        expect(freed.freed).to.equal(held.slotIndex);
        const served = await waiter;
        expect(served.slotIndex).to.equal(held.slotIndex);
        // And the other direction: the worker frees a slot the main thread allocated.
        answer = reply();
        worker.postMessage({ op: 'free', shared: pool.sharedBuffer, slotIndex: served.slotIndex, generation: served.generation });
        expect((await answer).error).to.equal(undefined);
        expect(() => pool.deallocate(served)).to.throw(IllegalStateError);
        for (const slot of mine) pool.deallocate(slot);
        expect(pool.availableMemory()).to.equal(pool.totalMemory);
      } finally {
        await worker.terminate();
      }
    });
  });

  describe('close()', () => {
    it('rejects every queued waiter with ClosedError and returns what they held', async () => {
      const pool = newPool();
      const slots = drainAll(pool);
      const big = pool.allocate(2 * POOLABLE, 5_000);
      const small = pool.allocate(POOLABLE, 5_000);
      pool.deallocate(slots[0]!); // accumulated by `big`
      pool.close();
      for (const pending of [big, small]) {
        const error = await rejectionOf(pending);
        expect(error).to.be.instanceOf(ClosedError);
        expect((error as Error).message).to.match(/^producer closed while allocating memory/);
      }
      expect(pool.queuedWaiters()).to.equal(0);
      expect(pool.availableMemory()).to.equal(POOLABLE);
      expect(() => pool.allocate(POOLABLE, 1_000)).to.throw(ClosedError);
      expect(() => pool.tryAllocate(POOLABLE)).to.throw(ClosedError);
      for (const slot of slots.slice(1)) pool.deallocate(slot); // still works after close
      expect(pool.availableMemory()).to.equal(pool.totalMemory);
      pool.close(); // idempotent
    });

    it('closes the pool for attached instances too and wakes their waiters', async () => {
      const pool = newPool();
      const other = BufferPool.attach(pool.sharedBuffer);
      const slots = drainAll(pool);
      const theirs = other.allocate(POOLABLE, 5_000);
      pool.close();
      expect(await rejectionOf(theirs)).to.be.instanceOf(ClosedError);
      expect(other.closed).to.equal(true);
      expect(() => other.tryAllocate(1)).to.throw(ClosedError);
      for (const slot of slots) other.deallocate(slot);
      expect(pool.availableMemory()).to.equal(pool.totalMemory);
    });
  });

  describe('metrics()', () => {
    it('reports Kafka\'s buffer pool metrics', async () => {
      const pool = newPool();
      const slot = take(pool);
      const rest = drainAll(pool);
      const waiter = pool.allocate(POOLABLE, 5_000);
      expect(pool.metrics()).to.deep.equal({
        'buffer-available-bytes': 0,
        'buffer-total-bytes': 4 * POOLABLE,
        'waiting-threads': 1,
        'bufferpool-wait-time-ns-total': 0,
      });
      pool.deallocate(slot);
      const served = await waiter;
      const metrics = pool.metrics();
      expect(Object.keys(metrics).sort()).to.deep.equal([
        'buffer-available-bytes',
        'buffer-total-bytes',
        'bufferpool-wait-time-ns-total',
        'waiting-threads',
      ]);
      expect(metrics['waiting-threads']).to.equal(0);
      expect(metrics['bufferpool-wait-time-ns-total']).to.be.greaterThan(0);
      for (const s of [served, ...rest]) pool.deallocate(s);
      expect(pool.metrics()['buffer-available-bytes']).to.equal(4 * POOLABLE);
    });
  });

  describe('process lifetime', () => {
    const root = fileURLToPath(new URL('../../../', import.meta.url));

    function runScript(body: string): Promise<{ code: number | null; ms: number; stdout: string; stderr: string }> {
      const source = `import { BufferPool } from './packages/core/src/memory/buffer-pool.ts';\n${body}`;
      const started = Date.now();
      return new Promise((resolve) => {
        execFile(
          process.execPath,
          ['--conditions=source', '--import', 'tsx', '--input-type=module', '-e', source],
          { cwd: root, timeout: 20_000 },
          (error, stdout, stderr) => {
            resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, ms: Date.now() - started, stdout, stderr });
          },
        );
      });
    }

    it('lets a script exit as soon as its waiters are served or rejected (no timer or waitAsync left)', async function () {
      this.timeout(30_000);
      const [served, closed] = await Promise.all([
        runScript(`
          const pool = new BufferPool({ totalMemoryBytes: 2048, poolableSizeBytes: 1024 });
          const other = BufferPool.attach(pool.sharedBuffer);
          const held = [pool.tryAllocate(1024), pool.tryAllocate(1024)];
          setTimeout(() => other.deallocate(held[0]), 20);
          const slot = await pool.allocate(1024, 60_000); // woken via Atomics.waitAsync
          pool.deallocate(slot);
          console.log('served');
        `),
        runScript(`
          const pool = new BufferPool({ totalMemoryBytes: 2048, poolableSizeBytes: 1024 });
          pool.tryAllocate(2048);
          const pending = pool.allocate(1024, 60_000);
          setTimeout(() => pool.close(), 20);
          await pending.catch((e) => console.log(e.name));
        `),
      ]);
      expect(served.stderr).to.equal('');
      expect(served.stdout.trim()).to.equal('served');
      expect(served.code).to.equal(0);
      expect(closed.stdout.trim()).to.equal('ClosedError');
      expect(closed.code).to.equal(0);
      // Far below maxBlockMs=60000 and WAKE_REARM_MS: nothing kept the event loop alive.
      expect(served.ms).to.be.below(8_000);
      expect(closed.ms).to.be.below(8_000);
    });
  });
});
