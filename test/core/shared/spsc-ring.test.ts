/**
 * SpscRing: cells in order, full and empty, counters that wrap past 2^31, and one
 * producer thread to one consumer thread without loss or reordering.
 */
import { expect } from 'chai';
import { Worker } from 'node:worker_threads';
import { RING_CELLS, RING_HEAD, RING_TAIL } from '../../../packages/core/src/shared/shared-accumulator-layout.js';
import { SpscRing } from '../../../packages/core/src/shared/spsc-ring.js';

function ring(capacity: number, cellWords = 1): SpscRing {
  return new SpscRing(new Int32Array(new SharedArrayBuffer((RING_CELLS + capacity * cellWords) * 4)), 0, capacity, cellWords);
}

describe('SpscRing', () => {
  it('keeps cells in order, refuses a push when full, returns the empty marker when empty', () => {
    const r = ring(4);
    for (let i = 1; i <= 4; i++) expect(r.tryPushWord(i)).to.equal(true);
    expect(r.tryPushWord(5)).to.equal(false);
    expect(r.size()).to.equal(4);
    expect(r.peekWord(-1)).to.equal(1);
    expect([r.popWord(-1), r.popWord(-1)]).to.deep.equal([1, 2]);
    expect(r.tryPushWord(5)).to.equal(true);
    expect([r.popWord(-1), r.popWord(-1), r.popWord(-1), r.popWord(-1)]).to.deep.equal([3, 4, 5, -1]);
  });

  it('multi-word cells: claim, write, publish; read with cellAt, then consume', () => {
    const r = ring(2, 3);
    const c = r.tryClaim();
    r.control[c] = 7;
    r.control[c + 2] = 9;
    expect(r.size()).to.equal(0);
    r.publish();
    expect(r.size()).to.equal(1);
    const read = r.cellAt(0);
    expect([r.control[read], r.control[read + 2]]).to.deep.equal([7, 9]);
    r.consume(1);
    expect(r.size()).to.equal(0);
  });

  it('works across the Int32 wrap-around of its counters', () => {
    const r = ring(8);
    r.control[RING_HEAD] = 0x7ffffffd;
    r.control[RING_TAIL] = 0x7ffffffd;
    for (let i = 0; i < 8; i++) expect(r.tryPushWord(100 + i)).to.equal(true);
    expect(r.tryPushWord(0)).to.equal(false);
    expect(r.size()).to.equal(8);
    for (let i = 0; i < 8; i++) expect(r.popWord(-1)).to.equal(100 + i);
    expect(r.size()).to.equal(0);
    expect(r.control[RING_HEAD]).to.be.lessThan(0); // wrapped
  });

  it('carries 100 000 words from a worker thread in order, none lost or repeated', async function () {
    this.timeout(30_000);
    const capacity = 64;
    const shared = new SharedArrayBuffer((RING_CELLS + capacity) * 4);
    const control = new Int32Array(shared);
    const n = 100_000;
    const producer = new Worker(
      `const { workerData } = require('node:worker_threads');
       const c = new Int32Array(workerData.shared);
       for (let i = 1; i <= workerData.n; ) {
         const head = Atomics.load(c, ${RING_HEAD});
         if (((head - Atomics.load(c, ${RING_TAIL})) | 0) >= ${capacity}) continue;
         c[${RING_CELLS} + (head & ${capacity - 1})] = i++;
         Atomics.store(c, ${RING_HEAD}, (head + 1) | 0);
       }`,
      { eval: true, workerData: { shared, n } },
    );
    const r = new SpscRing(control, 0, capacity, 1);
    let expected = 1;
    let empty = 0;
    while (expected <= n) {
      const v = r.popWord(-1);
      if (v === -1) {
        if (++empty % 10_000 === 0) await new Promise((resolve) => setImmediate(resolve));
        continue;
      }
      if (v !== expected) expect(v).to.equal(expected);
      expected++;
    }
    await producer.terminate();
  });
});
