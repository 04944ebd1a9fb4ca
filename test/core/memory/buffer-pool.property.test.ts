import { expect } from 'chai';
import fc from 'fast-check';
import { IllegalStateError } from '../../../packages/core/src/errors.js';
import { BufferPool } from '../../../packages/core/src/memory/buffer-pool.js';
import {
  FREE_SLOTS_INDEX,
  SlotState,
  computePoolLayout,
  slotWordState,
} from '../../../packages/core/src/memory/pool-layout.js';
import type { PoolSlot } from '../../../packages/core/src/memory/pool-slot.js';

type Op =
  | { kind: 'allocate'; sizeFactor: number; sync: boolean }
  | { kind: 'allocate-run'; sizeFactor: number }
  | { kind: 'deallocate'; pick: number }
  | { kind: 'advance'; pick: number }
  | { kind: 'double-free'; pick: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('allocate' as const), sizeFactor: fc.double({ min: 0, max: 1, noNaN: true }), sync: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('allocate-run' as const), sizeFactor: fc.double({ min: 0, max: 1, noNaN: true }) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('deallocate' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('advance' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('double-free' as const), pick: fc.nat() }) },
);

interface Live {
  slot: PoolSlot;
  tag: number;
}

/**
 * Every byte range a live allocation owns in the pool buffer: its slot or run (whose other
 * slots are its reserved ones), or a non-pooled buffer's reserved slots.
 */
function poolRanges(pool: BufferPool, live: Live[]): [number, number, number][] {
  const data = computePoolLayout(pool.totalMemory, pool.poolableSize).dataOffsetBytes;
  const ranges: [number, number, number][] = [];
  for (const { slot, tag } of live) {
    if (slot.isPooled) {
      ranges.push([slot.byteOffset, slot.byteOffset + slot.capacityBytes, tag]);
      continue;
    }
    for (const index of slot.reservedSlotIndices) {
      ranges.push([data + index * pool.poolableSize, data + (index + 1) * pool.poolableSize, tag]);
    }
  }
  return ranges.sort((a, b) => a[0] - b[0]);
}

/** Whether `count` adjacent slots of one bitmap word are free, from the live allocations alone. */
function runExists(pool: BufferPool, live: Live[], count: number): boolean {
  const data = computePoolLayout(pool.totalMemory, pool.poolableSize).dataOffsetBytes;
  const slotCount = pool.totalMemory / pool.poolableSize;
  const taken = new Uint8Array(slotCount);
  for (const [start, end] of poolRanges(pool, live)) {
    for (let i = (start - data) / pool.poolableSize; i < (end - data) / pool.poolableSize; i++) taken[i] = 1;
  }
  for (let i = 0; i + count <= slotCount; i++) {
    if (i >>> 5 !== (i + count - 1) >>> 5) continue;
    let free = true;
    for (let k = 0; k < count && free; k++) free = taken[i + k] === 0;
    if (free) return true;
  }
  return false;
}

function checkInvariants(pool: BufferPool, live: Live[]): void {
  const held = live.reduce((sum, { slot }) => sum + slot.reservedSlots * pool.poolableSize, 0);
  expect(pool.availableMemory() + held, 'available + held == total').to.equal(pool.totalMemory);
  const ranges = poolRanges(pool, live);
  for (let i = 1; i < ranges.length; i++) {
    expect(ranges[i]![0], 'byte ranges do not overlap').to.be.at.least(ranges[i - 1]![1]);
  }
  const nonPooled = live.filter(({ slot }) => !slot.isPooled).map(({ slot }) => slot.buffer);
  expect(new Set(nonPooled).size, 'non-pooled buffers are distinct').to.equal(nonPooled.length);
  // Each owner's bytes still hold its tag: nobody else was handed them.
  for (const { slot, tag } of live) {
    const end = slot.byteOffset + slot.capacityBytes;
    for (let i = slot.byteOffset; i < end; i++) if (slot.bytes[i] !== tag) expect.fail(`byte ${i} of allocation ${tag} overwritten`);
  }
}

function checkQuiescent(pool: BufferPool): void {
  const layout = computePoolLayout(pool.totalMemory, pool.poolableSize);
  const control = new Int32Array(pool.sharedBuffer, 0, layout.controlWords);
  let bits = 0;
  for (let slot = 0; slot < layout.slotCount; slot++) {
    const bit = (control[layout.bitmapIndex + (slot >>> 5)]! >>> (slot & 31)) & 1;
    bits += bit;
    expect(slotWordState(control[layout.stateIndex + slot]!) === SlotState.FREE, `slot ${slot} free <=> bit set`).to.equal(bit === 1);
  }
  expect(control[FREE_SLOTS_INDEX]).to.equal(bits);
}

describe('BufferPool (property)', () => {
  it('random allocate/deallocate sequences keep available + held == total and never overlap byte ranges', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 64 }),
        fc.integer({ min: 1, max: 70 }),
        fc.array(opArb, { maxLength: 120 }),
        (poolableSizeBytes, slots, ops) => {
          const pool = new BufferPool({ totalMemoryBytes: slots * poolableSizeBytes, poolableSizeBytes });
          const live: Live[] = [];
          const freed: PoolSlot[] = [];
          let nextTag = 1;
          for (const op of ops) {
            switch (op.kind) {
              case 'allocate': {
                const sizeBytes = 1 + Math.floor(op.sizeFactor * (3 * poolableSizeBytes - 1));
                const needed = sizeBytes <= poolableSizeBytes ? 1 : Math.ceil(sizeBytes / poolableSizeBytes);
                const fits = needed * poolableSizeBytes <= pool.availableMemory();
                if (sizeBytes > pool.totalMemory) {
                  expect(() => pool.tryAllocate(sizeBytes)).to.throw();
                  break;
                }
                let slot: PoolSlot | null;
                if (op.sync) {
                  slot = pool.tryAllocate(sizeBytes);
                } else {
                  try {
                    slot = pool.allocate(sizeBytes, 0) as PoolSlot;
                  } catch {
                    slot = null;
                  }
                }
                // Single thread, nobody waiting: it fails exactly when memory is short.
                expect(slot !== null, `allocate(${sizeBytes}) with ${pool.availableMemory()} available`).to.equal(fits);
                if (slot !== null) {
                  expect(slot.capacityBytes).to.be.at.least(sizeBytes);
                  expect(slot.reservedSlots).to.equal(needed);
                  const tag = (nextTag++ % 255) + 1;
                  slot.bytes.fill(tag, slot.byteOffset, slot.byteOffset + slot.capacityBytes);
                  live.push({ slot, tag });
                }
                break;
              }
              case 'allocate-run': {
                const sizeBytes = poolableSizeBytes + 1 + Math.floor(op.sizeFactor * (3 * poolableSizeBytes - 1));
                const needed = Math.ceil(sizeBytes / poolableSizeBytes);
                if (sizeBytes > pool.totalMemory) {
                  expect(() => pool.tryAllocateRun(sizeBytes)).to.throw();
                  break;
                }
                const expected = runExists(pool, live, needed);
                const before = pool.availableMemory();
                const slot = pool.tryAllocateRun(sizeBytes);
                expect(slot !== null, `tryAllocateRun(${needed} slots)`).to.equal(expected);
                if (slot === null) {
                  expect(pool.availableMemory(), 'a failed run reserves nothing').to.equal(before);
                  break;
                }
                expect(slot.isPooled).to.equal(true);
                expect(slot.capacityBytes).to.equal(needed * poolableSizeBytes);
                expect(slot.reservedSlots).to.equal(needed);
                expect(slot.reservedSlotIndices).to.deep.equal(Array.from({ length: needed - 1 }, (_, k) => slot.slotIndex + 1 + k));
                const tag = (nextTag++ % 255) + 1;
                slot.bytes.fill(tag, slot.byteOffset, slot.byteOffset + slot.capacityBytes);
                live.push({ slot, tag });
                break;
              }
              case 'deallocate': {
                if (live.length === 0) break;
                const [{ slot }] = live.splice(op.pick % live.length, 1) as [Live];
                pool.deallocate(slot);
                freed.push(slot);
                break;
              }
              case 'advance': {
                if (live.length === 0) break;
                const { slot } = live[op.pick % live.length]!;
                const state = pool.stateOf(slot);
                if (state === SlotState.APPENDING) pool.transition(slot, SlotState.APPENDING, SlotState.SEALING);
                else if (state === SlotState.SEALING) pool.transition(slot, SlotState.SEALING, SlotState.SEALED);
                else if (state === SlotState.SEALED) pool.transition(slot, SlotState.SEALED, SlotState.IN_FLIGHT);
                else pool.transition(slot, SlotState.IN_FLIGHT, SlotState.SEALED);
                break;
              }
              case 'double-free': {
                if (freed.length === 0) break;
                const slot = freed[op.pick % freed.length]!;
                expect(() => pool.deallocate(slot)).to.throw(IllegalStateError);
                break;
              }
            }
            checkInvariants(pool, live);
          }
          for (const { slot } of live.splice(0)) pool.deallocate(slot);
          expect(pool.availableMemory()).to.equal(pool.totalMemory);
          expect(pool.queuedWaiters()).to.equal(0);
          checkQuiescent(pool);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('with waiters: FIFO service, nothing free while someone waits, and everything returns after close()', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 32 }),
        fc.integer({ min: 1, max: 8 }),
        fc.array(
          fc.oneof(
            { weight: 3, arbitrary: fc.record({ kind: fc.constant('allocate' as const), sizeFactor: fc.double({ min: 0, max: 1, noNaN: true }) }) },
            { weight: 2, arbitrary: fc.record({ kind: fc.constant('deallocate' as const), pick: fc.nat() }) },
          ),
          { minLength: 10, maxLength: 60 },
        ),
        async (poolableSizeBytes, slots, ops) => {
          const pool = new BufferPool({ totalMemoryBytes: slots * poolableSizeBytes, poolableSizeBytes });
          const live: PoolSlot[] = [];
          const enqueued: number[] = [];
          const served: number[] = [];
          const settled: Promise<unknown>[] = [];
          let nextWaiter = 0;
          for (const op of ops) {
            if (op.kind === 'allocate') {
              const sizeBytes = Math.min(pool.totalMemory, 1 + Math.floor(op.sizeFactor * (3 * poolableSizeBytes - 1)));
              const result = pool.allocate(sizeBytes, 60_000);
              if (result instanceof Promise) {
                const id = nextWaiter++;
                enqueued.push(id);
                settled.push(
                  result.then(
                    (slot) => {
                      served.push(id);
                      live.push(slot);
                    },
                    () => undefined,
                  ),
                );
              } else {
                live.push(result);
              }
            } else if (live.length !== 0) {
              pool.deallocate(live.splice(op.pick % live.length, 1)[0]!);
            }
            await new Promise((resolve) => setImmediate(resolve));
            expect(served, 'FIFO').to.deep.equal(enqueued.slice(0, served.length));
            const waiting = enqueued.length - served.length;
            expect(pool.queuedWaiters()).to.equal(waiting);
            if (waiting !== 0) expect(pool.availableMemory(), 'the head takes everything free').to.equal(0);
            const held = live.reduce((sum, slot) => sum + slot.reservedSlots * poolableSizeBytes, 0);
            expect(pool.availableMemory() + held).to.be.at.most(pool.totalMemory);
            if (waiting === 0) expect(pool.availableMemory() + held).to.equal(pool.totalMemory);
          }
          pool.close();
          await Promise.all(settled);
          for (const slot of live.splice(0)) pool.deallocate(slot);
          expect(pool.availableMemory()).to.equal(pool.totalMemory);
          expect(pool.queuedWaiters()).to.equal(0);
          checkQuiescent(pool);
        },
      ),
      { numRuns: 100 },
    );
  });
});
