/**
 * The partition lock: a word naming its holder. Mutual exclusion across threads (a
 * non-atomic read-modify-write under the lock loses no update), the contended bit and
 * notify, bounded waits, and breaking the lock of a holder that is gone.
 */
import { expect } from 'chai';
import { Worker } from 'node:worker_threads';
import { LOCK_CONTENDED, breakLock, lock, lockHolder, lockTag, tryLock, unlock } from '../../../packages/core/src/shared/partition-lock.js';

const LOCKER = `
const { workerData, parentPort } = require('node:worker_threads');
const control = new Int32Array(workerData.shared);
const tag = workerData.tag;
for (let i = 0; i < workerData.rounds; i++) {
  if (Atomics.compareExchange(control, 0, 0, tag) !== 0) {
    for (;;) {
      let w = Atomics.load(control, 0);
      if (w === 0) { if (Atomics.compareExchange(control, 0, 0, tag | 0x40000000) === 0) break; continue; }
      if ((w & 0x40000000) === 0) { if (Atomics.compareExchange(control, 0, w, w | 0x40000000) !== w) continue; w |= 0x40000000; }
      Atomics.wait(control, 0, w, 2);
    }
  }
  // non-atomic increment of word 1: correct only under mutual exclusion
  const v = control[1]; for (let k = 0; k < 20; k++) control[2] ^= k; control[1] = v + 1;
  if ((Atomics.exchange(control, 0, 0) & 0x40000000) !== 0) Atomics.notify(control, 0, 1);
}
parentPort.postMessage('done');
`;

describe('partition-lock', () => {
  it('names its holder: tryLock takes a free word only, unlock frees it', () => {
    const control = new Int32Array(new SharedArrayBuffer(16));
    expect(lockHolder(control[0])).to.equal(-1);
    expect(tryLock(control, 0, lockTag(3))).to.equal(true);
    expect(lockHolder(control[0])).to.equal(3);
    expect(tryLock(control, 0, lockTag(4))).to.equal(false);
    unlock(control, 0);
    expect(control[0]).to.equal(0);
  });

  it('lock() gives up after maxWaitMs when the holder does not release, marking the word contended', () => {
    const control = new Int32Array(new SharedArrayBuffer(16));
    lock(control, 0, lockTag(1));
    const start = performance.now();
    expect(lock(control, 0, lockTag(2), 5)).to.equal(false);
    expect(performance.now() - start).to.be.at.least(4);
    expect(control[0] & LOCK_CONTENDED).to.equal(LOCK_CONTENDED);
    expect(lockHolder(control[0])).to.equal(1);
  });

  it('breakLock() frees the word only when the given holder has it, and wakes sleepers', () => {
    const control = new Int32Array(new SharedArrayBuffer(16));
    lock(control, 0, lockTag(7));
    expect(breakLock(control, 0, lockTag(6))).to.equal(false);
    expect(lockHolder(control[0])).to.equal(7);
    control[0] |= LOCK_CONTENDED;
    expect(breakLock(control, 0, lockTag(7))).to.equal(true);
    expect(control[0]).to.equal(0);
  });

  it('excludes: 3 threads and this one increment a plain word under the lock 20 000 times each, no update lost', async function () {
    this.timeout(30_000);
    const shared = new SharedArrayBuffer(16);
    const control = new Int32Array(shared);
    const rounds = 20_000;
    const workers = [1, 2, 3].map((id) => new Worker(LOCKER, { eval: true, workerData: { shared, tag: lockTag(id), rounds } }));
    const done = workers.map((w) => new Promise((resolve, reject) => { w.once('message', resolve); w.once('error', reject); }));
    for (let i = 0; i < rounds; i++) {
      lock(control, 0, lockTag(0));
      control[1] = control[1] + 1;
      unlock(control, 0);
      if (i % 1000 === 0) await new Promise((r) => setImmediate(r));
    }
    await Promise.all(done);
    await Promise.all(workers.map((w) => w.terminate()));
    expect(control[1]).to.equal(4 * rounds);
    expect(control[0]).to.equal(0);
  });
});
