/**
 * The Producer's own sealer: `seal.workers` honoured without wiring (2 → two seal threads,
 * 0 → none, auto with none or lz4 at its default level → none), the ConfigError when `@sluice/worker` cannot be
 * resolved (an injected resolver: nothing is uninstalled), `eager` turning true once the
 * package has loaded, and a failed import falling back to inline with one warning.
 */
import { expect } from 'chai';
import { Producer } from '../../../packages/core/src/producer.js';
import { BatchState } from '../../../packages/core/src/accumulator/batch-state.js';
import { codecFor } from '../../../packages/core/src/compression/codecs.js';
import { resolveConfig } from '../../../packages/core/src/config.js';
import { ConfigError } from '../../../packages/core/src/errors.js';
import { InlineSealer } from '../../../packages/core/src/sealing/inline-sealer.js';
import { DeferredSealer, createDefaultSealer } from '../../../packages/core/src/sealing/default-sealer.js';
import { WorkerSealer, liveSealThreads } from '../../../packages/worker/src/worker-sealer.js';
import { jsonValue } from '../../helpers/sample-values.js';
import { makeAccumulator } from '../../helpers/accumulator-factory.js';
import { drainEverything, sealedAndDecoded, completeSealed } from '../../helpers/sealing.js';

const sealerFor = (input: Record<string, unknown>, hooks = {}) => createDefaultSealer(resolveConfig(input), input, codecFor, hooks);

async function until(what: string, test: () => boolean, timeoutMs = 20_000): Promise<void> {
  const start = Date.now();
  while (!test()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('createDefaultSealer()', function () {
  this.timeout(60_000);

  it('seals inline, loading nothing, for seal.workers=0 and for compression none', () => {
    let resolved = 0;
    const hooks = { resolveWorkerPackage: () => (resolved++, null) };
    expect(sealerFor({ 'seal.workers': 0, 'compression.type': 'gzip' }, hooks)).to.be.instanceOf(InlineSealer);
    expect(sealerFor({ 'seal.workers': 2 }, hooks)).to.be.instanceOf(InlineSealer);
    expect(resolved, 'the package is not even looked up').to.equal(0);
  });

  it('throws a ConfigError naming the package to install when seal.workers is a number and it cannot be resolved', () => {
    const hooks = { resolveWorkerPackage: () => null };
    expect(() => sealerFor({ 'seal.workers': 2, 'compression.type': 'gzip' }, hooks))
      .to.throw(ConfigError, /seal\.workers=2 .*@sluice\/worker, is not installed: run `npm install @sluice\/worker`/);
  });

  it('builds a producer with seal.workers=1 where the package is installed', async () => {
    const producer = new Producer({ config: { 'seal.workers': 1, 'compression.type': 'zstd' } });
    await producer.close();
  });

  it('seals inline quietly with seal.workers=auto when the package cannot be resolved', () => {
    expect(sealerFor({ 'compression.type': 'gzip' }, { resolveWorkerPackage: () => null })).to.be.instanceOf(InlineSealer);
  });

  it('falls back to inline with one warning when the import fails', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      const s = sealerFor({ 'seal.workers': 2, 'compression.type': 'gzip' }, {
        resolveWorkerPackage: () => 'file:///nowhere/sluice-worker.js',
        importWorkerPackage: () => Promise.reject(new Error('broken install')),
      }) as DeferredSealer;
      await s.ready;
      await new Promise((r) => setImmediate(r));
      expect(s.eager).to.equal(false);
      expect(s.target).to.equal(null);
      expect(warnings.filter((m) => m.includes('could not be loaded (broken install)'))).to.have.length(1);
      const t = makeAccumulator({ compressionType: 'gzip' }, { sealer: s });
      for (let i = 0; i < 20; i++) t.acc.append({ topic: 't', partition: 0 }, t.clock.nowMs(), null, jsonValue(i, 100), null);
      const batches = drainEverything(t);
      await sealedAndDecoded(batches);
      completeSealed(batches, t);
      await s.close();
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('seals inline until the package has loaded, then forwards; eager turns from false to true once and the accumulator follows', async () => {
    const s = sealerFor({ 'seal.workers': 1, 'compression.type': 'gzip' }) as DeferredSealer;
    expect(s).to.be.instanceOf(DeferredSealer);
    const t = makeAccumulator({ compressionType: 'gzip', bufferMemory: 512 * 1024 }, { sealer: s });
    expect(s.eager).to.equal(false);
    for (let i = 0; i < 30; i++) t.acc.append({ topic: 't', partition: 0 }, t.clock.nowMs(), null, jsonValue(i, 100), null);
    const closedBefore = t.acc.batchesFor({ topic: 't', partition: 0 }).filter((b) => b.isClosed);
    expect(closedBefore.length).to.be.greaterThan(0);
    expect(closedBefore.every((b) => !b.isSealed), 'inline sealer: not sealed before drain').to.equal(true);
    await s.ready;
    expect(s.eager).to.equal(true);
    expect(s.target!.constructor.name, 'the package loaded by import() (a second copy under the test runner)').to.equal('WorkerSealer');
    // Batches go to a lane once its thread runs (before that they are sealed inline).
    await until('the seal thread to run', () => (s.target as unknown as WorkerSealer).stats.threads >= 1);
    for (let i = 30; i < 90; i++) t.acc.append({ topic: 't', partition: 0 }, t.clock.nowMs(), null, jsonValue(i, 100), null);
    const closedAfter = t.acc.batchesFor({ topic: 't', partition: 0 }).filter((b) => b.isClosed && !closedBefore.includes(b));
    expect(closedAfter.length).to.be.greaterThan(0);
    expect(closedAfter.every((b) => b.state !== BatchState.APPENDING), 'eager: sealing began when the batch closed').to.equal(true);
    const batches = drainEverything(t);
    const decoded = await sealedAndDecoded(batches);
    expect(decoded.flatMap((d) => d.records.map((r) => r.value!.toString()))).to.deep.equal(Array.from({ length: 90 }, (_, i) => jsonValue(i, 100).toString()));
    completeSealed(batches, t);
    expect((s.target as unknown as WorkerSealer).stats.offloadedBatches).to.be.greaterThan(0);
    expect(t.acc.pool.availableMemory()).to.equal(t.acc.pool.totalMemory);
    await s.close();
  });
});

describe('Producer: seal.workers without wiring', function () {
  this.timeout(60_000);

  /**
   * Sends records for up to `ms` (the callback path: no promise per record), watching the seal
   * threads: `auto` starts them only after calibrating on its first ~128 batches.
   */
  async function produce(config: Record<string, unknown>, ms = 2_000, until = Infinity, valueBytes = 200): Promise<{ threadsSeen: number; producer: Producer }> {
    const before = liveSealThreads();
    const producer = new Producer({ config: { 'linger.ms': 0, ...config } });
    let threadsSeen = 0;
    const deadline = Date.now() + ms;
    const values = Array.from({ length: 256 }, (_, i) => jsonValue(i * 7919, valueBytes));
    for (let i = 0; Date.now() < deadline && threadsSeen < until; i++) {
      const wait = producer.send({ topic: 'events', value: values[i & 255] }, null);
      if (wait !== undefined) await wait;
      if ((i & 1023) === 0) {
        await new Promise((r) => setImmediate(r));
        threadsSeen = Math.max(threadsSeen, liveSealThreads() - before);
      }
    }
    await producer.flush();
    return { threadsSeen, producer };
  }

  it('seal.workers=2 with gzip: two seal threads, stopped by close()', async () => {
    const { threadsSeen, producer } = await produce({ 'compression.type': 'gzip', 'seal.workers': 2 }, 10_000, 2);
    expect(threadsSeen).to.equal(2);
    await producer.close();
    await until('threads to stop', () => liveSealThreads() === 0);
    expect(producer.accumulator.pool.availableMemory()).to.equal(producer.accumulator.pool.totalMemory);
  });

  for (const config of [
    { 'compression.type': 'gzip', 'seal.workers': 0 },
    { 'compression.type': 'none' },
    { 'compression.type': 'lz4' },
  ]) {
    it(`${JSON.stringify(config)}: no seal thread`, async () => {
      const { threadsSeen, producer } = await produce(config);
      expect(threadsSeen).to.equal(0);
      await producer.close();
    });
  }

  it('seal.workers=auto with gzip level 9 on 1 KiB values: threads once calibration says they pay (none on one core)', async () => {
    // (On highly repetitive 200 B values gzip costs ~11 ns/B against the test loop's ~6: the
    // model rightly keeps that inline.)
    const { threadsSeen, producer } = await produce({ 'compression.type': 'gzip', 'compression.gzip.level': 9 }, 15_000, 1, 1000);
    const { availableParallelism } = await import('node:os');
    if (availableParallelism() < 2) expect(threadsSeen).to.equal(0);
    else expect(threadsSeen).to.be.greaterThan(0);
    await producer.close();
  });
});
