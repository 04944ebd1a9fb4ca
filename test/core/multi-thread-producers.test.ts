/**
 * Multi-core producers: several threads, each with its own `Producer` (accumulator, sender,
 * network), over ONE buffer pool in one SharedArrayBuffer — one bound on memory for the
 * whole process, back-pressure across threads (a thread waiting for memory is woken by
 * frees on any thread, `Atomics.waitAsync`; that wake-up is tested in the pool's own
 * cross-thread tests). The pool is small on purpose: sends have to wait for memory.
 */
import { expect } from 'chai';
import { Worker } from 'node:worker_threads';
import { ConfigError } from '../../packages/core/src/errors.js';
import { BufferPool } from '../../packages/core/src/memory/buffer-pool.js';
import { Producer } from '../../packages/core/src/producer.js';
import type { ProducerThreadData, ProducerThreadResult } from './fixtures/producer-thread.js';

function runThread(data: ProducerThreadData): Promise<ProducerThreadResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./fixtures/producer-thread.mjs', import.meta.url), { workerData: data });
    worker.once('message', (result: ProducerThreadResult) => {
      resolve(result);
      void worker.terminate();
    });
    worker.once('error', reject);
  });
}

describe('multi-thread producers over one shared buffer pool', function () {
  this.timeout(60_000);

  it('three threads send through one bounded pool: every record acknowledged, every slot back', async () => {
    // 8 slots of 4 KiB for three producers of 1 KiB records: the pool is the bottleneck.
    const pool = new BufferPool({ totalMemoryBytes: 8 * 4096, poolableSizeBytes: 4096 });
    const records = 3_000;
    const results = await Promise.all([0, 1, 2].map((thread) => runThread({ shared: pool.sharedBuffer, records, valueBytes: 1000, thread })));
    for (const r of results) {
      expect(r.firstError).to.equal(null);
      expect(r.failed).to.equal(0);
      expect(r.acked).to.equal(records);
    }
    expect(results.reduce((sum, r) => sum + r.waits, 0), 'the pool was the bottleneck: sends waited for memory').to.be.greaterThan(0);
    expect(pool.availableMemory()).to.equal(pool.totalMemory);
    expect(pool.queuedWaiters()).to.equal(0);
    pool.close();
  });

  it('refuses a shared pool whose slot size is not batch.size, naming both', () => {
    const pool = new BufferPool({ totalMemoryBytes: 8 * 4096, poolableSizeBytes: 4096 });
    expect(() => new Producer({ pool, config: { batchSize: 16384 } })).to.throw(ConfigError, /slot size is 4096 bytes but batch\.size is 16384/);
    pool.close();
  });
});
