/**
 * PoolSlot: the generation-checked handle of one allocation and the one place that changes
 * an allocation's shared state word. The state words are read straight from the pool's
 * SharedArrayBuffer at the indices `pool-layout.ts` documents, so these tests check the
 * contract other threads rely on, not just the handle's own view.
 */
import { expect } from 'chai';
import { IllegalStateError } from '../../../packages/core/src/errors.js';
import { BufferPool } from '../../../packages/core/src/memory/buffer-pool.js';
import {
  NON_POOLED_HEADER_BYTES,
  NON_POOLED_STATE_INDEX,
  RESERVED_SLOT_STATE,
  SLOT_GENERATION_MASK,
  SlotState,
  computePoolLayout,
  packSlotWord,
  slotWordGeneration,
  slotWordState,
} from '../../../packages/core/src/memory/pool-layout.js';
import type { SlotStateValue } from '../../../packages/core/src/memory/pool-layout.js';
import type { PoolSlot } from '../../../packages/core/src/memory/pool-slot.js';

const SLOT = 1024;

function newPool(slots = 4): BufferPool {
  return new BufferPool({ totalMemoryBytes: slots * SLOT, poolableSizeBytes: SLOT });
}

function take(pool: BufferPool, size = SLOT): PoolSlot {
  const slot = pool.tryAllocate(size);
  expect(slot, `tryAllocate(${size})`).to.not.equal(null);
  return slot!;
}

/** The raw shared state word of pooled slot `index`, as another thread would read it. */
function wordOf(pool: BufferPool, index: number): number {
  const layout = computePoolLayout(pool.totalMemory, pool.poolableSize);
  return Atomics.load(new Int32Array(pool.sharedBuffer), layout.stateIndex + index);
}

function setWord(pool: BufferPool, index: number, word: number): void {
  const layout = computePoolLayout(pool.totalMemory, pool.poolableSize);
  Atomics.store(new Int32Array(pool.sharedBuffer), layout.stateIndex + index, word);
}

const LIVE: readonly SlotStateValue[] = [SlotState.APPENDING, SlotState.SEALING, SlotState.SEALED, SlotState.IN_FLIGHT];
const NAME = ['FREE', 'APPENDING', 'SEALING', 'SEALED', 'IN_FLIGHT'] as const;
/** The slot table: from → to allowed through transition(). */
const LEGAL: readonly [SlotStateValue, SlotStateValue][] = [
  [SlotState.APPENDING, SlotState.SEALING],
  [SlotState.SEALING, SlotState.SEALED],
  [SlotState.SEALED, SlotState.IN_FLIGHT],
  [SlotState.IN_FLIGHT, SlotState.SEALED],
];

/** Walks a fresh APPENDING allocation to `target` along legal transitions. */
function walkTo(slot: PoolSlot, target: SlotStateValue): void {
  const path: SlotStateValue[] = [SlotState.APPENDING, SlotState.SEALING, SlotState.SEALED, SlotState.IN_FLIGHT];
  for (let i = 0; path[i] !== target; i++) slot.transition(path[i], path[i + 1]);
}

describe('PoolSlot', () => {
  describe('state word', () => {
    it('packs (generation, state) into the slot\'s shared word: a new allocation is APPENDING at the slot\'s generation', () => {
      const pool = newPool();
      const slot = take(pool);
      expect(slot.isPooled).to.equal(true);
      expect(slot.generation).to.equal(0);
      expect(wordOf(pool, slot.slotIndex)).to.equal(packSlotWord(0, SlotState.APPENDING));
      expect(slot.state()).to.equal(SlotState.APPENDING);
      pool.deallocate(slot);
      expect(wordOf(pool, slot.slotIndex), 'deallocate: FREE, generation + 1').to.equal(packSlotWord(1, SlotState.FREE));
      expect(pool.availableMemory()).to.equal(pool.totalMemory);
    });

    it('walks the table APPENDING → SEALING → SEALED → IN_FLIGHT → SEALED → IN_FLIGHT, each step visible in the word', () => {
      const pool = newPool();
      const slot = take(pool);
      const steps: [SlotStateValue, SlotStateValue][] = [...LEGAL, [SlotState.SEALED, SlotState.IN_FLIGHT]];
      for (const [from, to] of steps) {
        slot.transition(from, to);
        expect(slot.state()).to.equal(to);
        expect(slotWordState(wordOf(pool, slot.slotIndex))).to.equal(to);
        expect(slotWordGeneration(wordOf(pool, slot.slotIndex))).to.equal(slot.generation);
      }
      pool.deallocate(slot);
      expect(pool.availableMemory()).to.equal(pool.totalMemory);
    });

    it('refuses every pair not in the table, naming both states and the actual one, and leaves the word alone', () => {
      const pool = newPool();
      const all: SlotStateValue[] = [SlotState.FREE, ...LIVE];
      let refused = 0;
      for (const from of all) {
        for (const to of all) {
          if (LEGAL.some(([f, t]) => f === from && t === to)) continue;
          const slot = take(pool);
          const before = wordOf(pool, slot.slotIndex);
          expect(() => slot.transition(from, to), `${NAME[from]} -> ${NAME[to]}`).to.throw(
            IllegalStateError,
            `illegal transition ${NAME[from]} -> ${NAME[to]} for slot ${slot.slotIndex} (generation ${slot.generation}): not in the slot transition table; actual state APPENDING`,
          );
          expect(wordOf(pool, slot.slotIndex)).to.equal(before);
          pool.deallocate(slot);
          refused++;
        }
      }
      expect(refused).to.equal(25 - 4);
      expect(() => take(pool).transition(SlotState.APPENDING, RESERVED_SLOT_STATE as SlotStateValue)).to.throw(IllegalStateError, /APPENDING -> RESERVED/);
    });

    it('refuses a legal pair when the slot is not in `from`, naming the actual state', () => {
      const pool = newPool();
      for (const actual of LIVE) {
        for (const [from, to] of LEGAL) {
          if (from === actual) continue;
          const slot = take(pool);
          walkTo(slot, actual);
          const before = wordOf(pool, slot.slotIndex);
          expect(() => slot.transition(from, to)).to.throw(
            IllegalStateError,
            `cannot transition slot ${slot.slotIndex} (generation ${slot.generation}) ${NAME[from]} -> ${NAME[to]}: actual state ${NAME[actual]}`,
          );
          expect(wordOf(pool, slot.slotIndex)).to.equal(before);
          pool.deallocate(slot);
        }
      }
      expect(pool.availableMemory()).to.equal(pool.totalMemory);
    });

    it('frees from every live state: FREE at generation + 1', () => {
      const pool = newPool(1);
      for (const [i, live] of LIVE.entries()) {
        const slot = take(pool);
        expect(slot.generation).to.equal(i);
        walkTo(slot, live);
        pool.deallocate(slot);
        expect(wordOf(pool, 0)).to.equal(packSlotWord(i + 1, SlotState.FREE));
        expect(slot.state()).to.equal(SlotState.FREE);
      }
      expect(pool.availableMemory()).to.equal(pool.totalMemory);
    });
  });

  describe('generations', () => {
    it('a stale handle reads FREE and can neither transition nor free the next allocation of its slot', () => {
      const pool = newPool(1);
      const stale = take(pool);
      walkTo(stale, SlotState.SEALED);
      pool.deallocate(stale);
      const next = take(pool);
      expect(next.slotIndex).to.equal(stale.slotIndex);
      expect(next.generation).to.equal(stale.generation + 1);
      walkTo(next, SlotState.SEALED);
      expect(stale.state(), 'another allocation, not this one').to.equal(SlotState.FREE);
      expect(() => stale.transition(SlotState.SEALED, SlotState.IN_FLIGHT)).to.throw(
        IllegalStateError,
        'cannot transition slot 0 (generation 0) SEALED -> IN_FLIGHT: actual state FREE (deallocated; the slot is now generation 1 in state SEALED)',
      );
      expect(() => pool.deallocate(stale)).to.throw(IllegalStateError, /slot 0 \(generation 0\) was already deallocated \(double free\)/);
      expect(next.state(), 'the live allocation is untouched').to.equal(SlotState.SEALED);
      expect(wordOf(pool, 0)).to.equal(packSlotWord(1, SlotState.SEALED));
      expect(pool.availableMemory()).to.equal(0);
      next.transition(SlotState.SEALED, SlotState.IN_FLIGHT);
      pool.deallocate(next);
      expect(pool.availableMemory()).to.equal(pool.totalMemory);
    });

    it('a stale handle cannot free its slot while the slot backs a non-pooled buffer\'s budget', () => {
      const pool = newPool(2);
      const stale = take(pool);
      pool.deallocate(stale);
      const budget = take(pool, 2 * SLOT); // claims slots 0 and 1 as RESERVED
      expect(budget.isPooled).to.equal(false);
      expect(wordOf(pool, stale.slotIndex)).to.equal(packSlotWord(stale.generation + 1, RESERVED_SLOT_STATE));
      expect(stale.state()).to.equal(SlotState.FREE);
      expect(() => pool.deallocate(stale)).to.throw(IllegalStateError, /double free/);
      expect(() => stale.transition(SlotState.APPENDING, SlotState.SEALING)).to.throw(IllegalStateError, /in state RESERVED/);
      expect(wordOf(pool, stale.slotIndex)).to.equal(packSlotWord(stale.generation + 1, RESERVED_SLOT_STATE));
      expect(pool.availableMemory()).to.equal(0);
      pool.deallocate(budget);
      expect(pool.availableMemory()).to.equal(pool.totalMemory);
    });

    it('wraps the generation modulo 2^28: the handle of generation 2^28 - 1 is stale for the next one, generation 0', () => {
      const pool = newPool(1);
      setWord(pool, 0, packSlotWord(SLOT_GENERATION_MASK, SlotState.FREE)); // as after 2^28 - 1 reuses
      const old = take(pool);
      expect(old.generation).to.equal(SLOT_GENERATION_MASK);
      expect(old.state()).to.equal(SlotState.APPENDING);
      old.transition(SlotState.APPENDING, SlotState.SEALING);
      expect(wordOf(pool, 0), 'the top generation bit makes the word negative').to.be.lessThan(0);
      pool.deallocate(old);
      expect(wordOf(pool, 0)).to.equal(packSlotWord(0, SlotState.FREE));
      const fresh = take(pool);
      expect(fresh.generation).to.equal(0);
      expect(old.state()).to.equal(SlotState.FREE);
      expect(() => old.transition(SlotState.APPENDING, SlotState.SEALING)).to.throw(IllegalStateError, /now generation 0 in state APPENDING/);
      expect(() => pool.deallocate(old)).to.throw(IllegalStateError, /double free/);
      expect(fresh.state()).to.equal(SlotState.APPENDING);
      pool.deallocate(fresh);
      expect(pool.availableMemory()).to.equal(pool.totalMemory);
    });

    it('a handle rebuilt on another pool instance (slotAt) shares the word, and goes stale with the allocation', () => {
      const pool = newPool();
      const other = BufferPool.attach(pool.sharedBuffer);
      const mine = take(pool);
      const theirs = other.slotAt(mine.slotIndex, mine.generation);
      expect([theirs.slotIndex, theirs.generation, theirs.byteOffset, theirs.capacityBytes]).to.deep.equal([
        mine.slotIndex,
        mine.generation,
        mine.byteOffset,
        mine.capacityBytes,
      ]);
      theirs.transition(SlotState.APPENDING, SlotState.SEALING); // a worker seals
      expect(mine.state()).to.equal(SlotState.SEALING);
      expect(() => mine.transition(SlotState.APPENDING, SlotState.SEALING), 'exactly one of the two wins').to.throw(IllegalStateError, /actual state SEALING/);
      theirs.transition(SlotState.SEALING, SlotState.SEALED);
      pool.deallocate(mine);
      expect(theirs.state()).to.equal(SlotState.FREE);
      expect(() => other.deallocate(theirs)).to.throw(IllegalStateError, /double free/);
      expect(() => other.slotAt(mine.slotIndex, mine.generation)).to.throw(IllegalStateError, /is not allocated/);
      expect(pool.availableMemory()).to.equal(pool.totalMemory);
    });
  });

  describe('non-pooled buffers and runs', () => {
    it('a non-pooled buffer keeps its state word in its own 8-byte header, generation 0, and frees exactly once', () => {
      const pool = newPool();
      const slot = take(pool, 2 * SLOT + 1);
      expect([slot.isPooled, slot.slotIndex, slot.generation, slot.reservedSlots, slot.capacityBytes]).to.deep.equal([false, -1, 0, 3, 2 * SLOT + 1]);
      expect(slot.byteOffset).to.equal(NON_POOLED_HEADER_BYTES);
      expect(slot.buffer).to.not.equal(pool.sharedBuffer);
      expect(slot.poolBuffer).to.equal(pool.sharedBuffer);
      const header = new Int32Array(slot.buffer, 0, NON_POOLED_HEADER_BYTES / 4);
      expect(header[NON_POOLED_STATE_INDEX]).to.equal(packSlotWord(0, SlotState.APPENDING));
      walkTo(slot, SlotState.IN_FLIGHT);
      expect(header[NON_POOLED_STATE_INDEX]).to.equal(packSlotWord(0, SlotState.IN_FLIGHT));
      expect(pool.availableMemory()).to.equal(SLOT);
      pool.deallocate(slot);
      expect(header[NON_POOLED_STATE_INDEX]).to.equal(packSlotWord(1, SlotState.FREE));
      expect(slot.state()).to.equal(SlotState.FREE);
      expect(() => pool.deallocate(slot)).to.throw(IllegalStateError, /non-pooled buffer of 2049 bytes was already deallocated/);
      expect(() => slot.transition(SlotState.SEALED, SlotState.IN_FLIGHT)).to.throw(IllegalStateError, /non-pooled buffer of 2049 bytes/);
      expect(pool.availableMemory()).to.equal(pool.totalMemory);
    });

    it('a run carries its state and generation in its first slot; the other slots stay RESERVED until the run is freed', () => {
      const pool = newPool(8);
      const run = pool.tryAllocateRun(3 * SLOT)!;
      expect(run).to.not.equal(null);
      expect([run.isPooled, run.reservedSlots, run.capacityBytes]).to.deep.equal([true, 3, 3 * SLOT]);
      const rest = run.reservedSlotIndices;
      expect(rest).to.deep.equal([run.slotIndex + 1, run.slotIndex + 2]);
      walkTo(run, SlotState.SEALED);
      expect(wordOf(pool, run.slotIndex)).to.equal(packSlotWord(run.generation, SlotState.SEALED));
      for (const i of rest) expect(slotWordState(wordOf(pool, i))).to.equal(RESERVED_SLOT_STATE);
      pool.deallocate(run);
      expect(wordOf(pool, run.slotIndex)).to.equal(packSlotWord(run.generation + 1, SlotState.FREE));
      for (const i of rest) expect(slotWordState(wordOf(pool, i))).to.equal(SlotState.FREE);
      expect(() => pool.deallocate(run)).to.throw(IllegalStateError, /double free/);
      expect(pool.availableMemory()).to.equal(pool.totalMemory);
    });
  });
});
