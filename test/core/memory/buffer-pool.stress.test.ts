import { expect } from 'chai';
import { Worker } from 'node:worker_threads';
import { BufferPool } from '../../../packages/core/src/memory/buffer-pool.js';
import {
  ACCUMULATOR_INDEX,
  FREE_SLOTS_INDEX,
  SlotState,
  WAITERS_INDEX,
  computePoolLayout,
  slotWordState,
} from '../../../packages/core/src/memory/pool-layout.js';
import { hammer, hammerAsync } from './fixtures/pool-hammer-worker.js';
import type { HammerRequest, HammerResult } from './fixtures/pool-hammer-worker.js';

const WORKERS = 4;
const ITERATIONS = 20_000;

/** Checks layout invariant 1 and 4 (pool-layout.ts) on a pool nobody is using. */
function expectQuiescentAndFree(pool: BufferPool): void {
  const layout = computePoolLayout(pool.totalMemory, pool.poolableSize);
  const control = new Int32Array(pool.sharedBuffer, 0, layout.controlWords);
  let freeBits = 0;
  for (let slot = 0; slot < layout.slotCount; slot++) {
    const bit = (control[layout.bitmapIndex + (slot >>> 5)]! >>> (slot & 31)) & 1;
    freeBits += bit;
    expect(bit, `bitmap bit of slot ${slot}`).to.equal(1);
    expect(slotWordState(control[layout.stateIndex + slot]!), `state of slot ${slot}`).to.equal(SlotState.FREE);
  }
  const lastWordBits = control[layout.bitmapIndex + layout.bitmapWords - 1]!;
  const bitsInLast = layout.slotCount - (layout.bitmapWords - 1) * 32;
  if (bitsInLast < 32) expect(lastWordBits >>> bitsInLast, 'bits past slotCount').to.equal(0);
  expect(control[FREE_SLOTS_INDEX]).to.equal(freeBits);
  expect(control[WAITERS_INDEX]).to.equal(0);
  expect(control[ACCUMULATOR_INDEX], 'accumulation token given back').to.equal(0);
  expect(pool.availableMemory()).to.equal(pool.totalMemory);
}

class HammerWorker {
  readonly worker = new Worker(new URL('./fixtures/pool-hammer-worker.mjs', import.meta.url));
  #listeners: ((message: { ready?: boolean; result?: HammerResult; error?: string }) => void)[] = [];

  constructor() {
    this.worker.on('message', (message) => {
      for (const listener of this.#listeners.splice(0)) listener(message);
    });
  }

  next(): Promise<{ ready?: boolean; result?: HammerResult; error?: string }> {
    return new Promise((resolve) => this.#listeners.push(resolve));
  }

  post(request: HammerRequest): void {
    this.worker.postMessage(request);
  }
}

function expectClean(results: HammerResult[]): void {
  for (const result of results) {
    expect(result.errors, `owner ${result.owner} errors`).to.deep.equal([]);
    expect(result.corruptions, `owner ${result.owner} saw bytes written by another owner`).to.equal(0);
  }
}

describe('BufferPool (stress, worker_threads)', function () {
  this.timeout(20_000);
  let workers: HammerWorker[] = [];

  before(() => {
    workers = Array.from({ length: WORKERS }, () => new HammerWorker());
  });

  after(async () => {
    await Promise.all(workers.map((w) => w.worker.terminate()));
  });

  for (const geometry of [
    { slots: 24, poolable: 128 },
    { slots: 70, poolable: 64 },
  ]) {
    it(`never hands one slot to two owners: ${WORKERS} workers + main, ${ITERATIONS} tryAllocate/tryAllocateRun/deallocate each, ${geometry.slots} slots`, async () => {
      const pool = new BufferPool({ totalMemoryBytes: geometry.slots * geometry.poolable, poolableSizeBytes: geometry.poolable });
      const gate = new SharedArrayBuffer(4);
      const ready = workers.map((w) => w.next());
      workers.forEach((w, i) =>
        w.post({ op: 'hammer', shared: pool.sharedBuffer, gate, owner: i + 2, iterations: ITERATIONS, seed: 1000 + i }),
      );
      await Promise.all(ready);
      const done = workers.map((w) => w.next());
      Atomics.store(new Int32Array(gate), 0, 1);
      Atomics.notify(new Int32Array(gate), 0);
      const mine = hammer(pool, 1, ITERATIONS, 7);
      const theirs = (await Promise.all(done)).map((m) => {
        expect(m.error).to.equal(undefined);
        return m.result!;
      });
      const results = [mine, ...theirs];
      expectClean(results);
      // Contention really happened: allocations of both kinds and "no memory" answers.
      const total = results.reduce((sum, r) => sum + r.allocations, 0);
      expect(total).to.be.greaterThan(WORKERS * ITERATIONS * 0.3);
      expect(results.reduce((sum, r) => sum + r.nonPooled, 0)).to.be.greaterThan(0);
      expect(results.reduce((sum, r) => sum + r.runs, 0)).to.be.greaterThan(0);
      expectQuiescentAndFree(pool);
    });
  }

  // 4 slots, requests of up to 3 slots, 5 threads: every thread waits, big waiters on
  // different threads compete for the accumulation token (layout invariant 5), and every
  // wake-up of a thread's waiter comes from a free on another thread.
  it('serves waiters on every thread through cross-thread frees without deadlock (awaited allocate, 4 slots)', async () => {
    const pool = new BufferPool({ totalMemoryBytes: 4 * 128, poolableSizeBytes: 128 });
    const done = workers.map((w) => w.next());
    workers.forEach((w, i) =>
      w.post({ op: 'hammer-async', shared: pool.sharedBuffer, owner: i + 2, iterations: 1_500, seed: 50 + i, maxBlockMs: 10_000 }),
    );
    const mine = await hammerAsync(pool, 1, 1_500, 99, 10_000);
    const theirs = (await Promise.all(done)).map((m) => m.result!);
    expectClean([mine, ...theirs]);
    for (const result of [mine, ...theirs]) expect(result.allocations).to.equal(1_500);
    expect(pool.metrics()['bufferpool-wait-time-ns-total'], 'some allocations waited').to.be.greaterThan(0);
    expectQuiescentAndFree(pool);
  });
});
