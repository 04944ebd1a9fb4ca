/**
 * WorkerSealer faults, injected per job through the test-only `kSealFaults` option: a lane
 * task that throws, a codec that throws once or always, a seal thread that exits before a
 * batch, while compressing, while copying compressed bytes over the records, or after the
 * header; a codec stuck past the seal timeout. No batch is lost silently, every slot returns
 * to the pool, and close() does not hang.
 */
import { expect } from 'chai';
import type { ProducerBatch } from '../../packages/core/src/accumulator/producer-batch.js';
import { SealError } from '../../packages/core/src/errors.js';
import { OffloadPolicy } from '../../packages/worker/src/offload-policy.js';
import { SealFault } from '../../packages/worker/src/seal-ring-layout.js';
import type { SealFaultValue } from '../../packages/worker/src/seal-ring-layout.js';
import { WorkerSealer, kSealFaults } from '../../packages/worker/src/worker-sealer.js';
import type { SealFaultPlan, WorkerSealerOptions, WorkerSealerStats } from '../../packages/worker/src/worker-sealer.js';
import { OffsetAssigner, makeAccumulator } from '../helpers/accumulator-factory.js';
import type { TestAccumulator } from '../helpers/accumulator-factory.js';
import { decodeWithKafkajs } from '../helpers/kafka-oracle.js';
import { jsonValue } from '../helpers/sample-values.js';
import { completeSealed, drainEverything } from '../helpers/sealing.js';

const ALWAYS = OffloadPolicy.always();

describe('WorkerSealer faults', function () {
  this.timeout(60_000);
  const plan: SealFaultPlan = { fault: SealFault.NONE, jobs: 0 };
  let sealer: WorkerSealer;

  /** Batches go to a lane only once its thread runs (until then they are sealed inline). */
  async function threadsUp(s: WorkerSealer, n: number): Promise<void> {
    while (s.stats.threads < n) await new Promise((r) => setTimeout(r, 10));
  }

  before(async () => {
    const options: WorkerSealerOptions & { [kSealFaults]: SealFaultPlan } = { threads: 2, offloadPolicy: ALWAYS, [kSealFaults]: plan };
    sealer = new WorkerSealer(options);
    await threadsUp(sealer, 2);
  });
  afterEach(() => {
    plan.jobs = 0;
    plan.skip = 0;
    plan.fault = SealFault.NONE;
  });
  after(async () => {
    await sealer.close(); // must not hang after workers died
  });

  /** Appends records (every 7th asks for a promise), drains, waits for every seal. */
  async function run(fault: SealFaultValue, jobs: number, skip = 0): Promise<{ t: TestAccumulator; batches: ProducerBatch[]; promises: Promise<unknown>[]; delta: WorkerSealerStats }> {
    await threadsUp(sealer, 2); // replacements for threads an earlier case killed
    const before = sealer.stats;
    plan.fault = fault;
    plan.jobs = jobs;
    plan.skip = skip;
    const t = makeAccumulator({ compressionType: 'gzip', bufferMemory: 512 * 1024 }, { sealer });
    const promises: Promise<unknown>[] = [];
    for (let i = 0; i < 120; i++) {
      const r = t.acc.append({ topic: 't', partition: 0 }, t.clock.nowMs() + i, null, jsonValue(i, 100), null, i % 7 === 0 ? 'promise' : null);
      if (r instanceof Promise) throw new Error('test bug: append waited');
      if (r.completion !== null) promises.push(r.completion.catch((e: unknown) => e));
    }
    const batches = drainEverything(t);
    for (const b of batches) await b.whenSealed();
    const after = sealer.stats;
    const delta = Object.fromEntries(Object.entries(after).map(([k, v]) => [k, Number(v) - Number(before[k as keyof WorkerSealerStats])])) as unknown as WorkerSealerStats;
    return { t, batches, promises, delta };
  }

  async function expectAllSealedAndReturned(t: TestAccumulator, batches: ProducerBatch[]): Promise<void> {
    let records = 0;
    for (const b of batches) {
      expect(b.isSealed, `sealed (${b.finalError?.message})`).to.equal(true);
      const d = await decodeWithKafkajs(b.sealedBytes());
      expect(d.crcOk).to.equal(true);
      d.records.forEach((r, i) => expect(r.value!.equals(jsonValue(records + i, 100))).to.equal(true));
      records += d.records.length;
    }
    expect(records).to.equal(120);
    completeSealed(batches, t);
    expect(t.acc.pool.availableMemory()).to.equal(t.acc.pool.totalMemory);
  }

  it('a codec that throws once: the batch is sealed again on a worker', async () => {
    const { t, batches, delta } = await run(SealFault.THROW_IN_CODEC, 1);
    expect(delta.retriedBatches).to.equal(1);
    expect(delta.failedBatches).to.equal(0);
    await expectAllSealedAndReturned(t, batches);
  });

  it('a lane task that throws: its job is sealed again, queued jobs move to another lane', async () => {
    const { t, batches, delta } = await run(SealFault.THROW_TASK, 1);
    expect(delta.retriedBatches).to.be.at.least(1);
    expect(delta.failedBatches).to.equal(0);
    await expectAllSealedAndReturned(t, batches);
  });

  it('a thread that exits after writing the header: the batch is found sealed and kept', async () => {
    const { t, batches, delta } = await run(SealFault.EXIT_AFTER_HEADER, 1, 1);
    expect(delta.recoveredBatches, 'found sealed in memory').to.equal(1);
    expect(delta.failedBatches).to.equal(0);
    await expectAllSealedAndReturned(t, batches);
  });

  it('a thread that exits before its batch: the raw records are intact and sealed again on another thread', async () => {
    const { t, batches, delta } = await run(SealFault.EXIT_BEFORE_BATCH, 1, 2);
    expect(delta.retriedBatches).to.be.at.least(1);
    expect(delta.failedBatches).to.equal(0);
    await expectAllSealedAndReturned(t, batches);
  });

  it('a thread that exits while compressing: the raw records are intact and sealed again', async () => {
    const { t, batches, delta } = await run(SealFault.EXIT_WHILE_COMPRESSING, 1, 1);
    expect(delta.retriedBatches).to.be.at.least(1);
    expect(delta.failedBatches).to.equal(0);
    await expectAllSealedAndReturned(t, batches);
  });

  it('a worker that exits while replacing records: that batch fails with SealError, the others are sealed, memory returns', async () => {
    const { t, batches, promises, delta } = await run(SealFault.EXIT_WHILE_REPLACING, 1, 0);
    expect(delta.failedBatches).to.equal(1);
    const failed = batches.filter((b) => b.isDone);
    expect(failed).to.have.length(1);
    expect(failed[0].finalError).to.be.instanceOf(SealError);
    expect(failed[0].finalError!.message).to.match(/copying compressed bytes over the records, which are lost/);
    expect((failed[0].finalError as SealError).code).to.equal('SLUICE_ERR_SEAL_FAILED');
    completeSealed(batches, t);
    const outcomes = await Promise.all(promises);
    expect(outcomes.filter((o) => o instanceof SealError).length).to.be.at.least(1);
    expect(t.acc.pool.availableMemory()).to.equal(t.acc.pool.totalMemory);
  });

  it('a codec that always throws: batches fail with SealError naming both attempts, records reject, memory returns', async () => {
    const { t, batches, promises, delta } = await run(SealFault.THROW_IN_CODEC, Infinity);
    expect(delta.failedBatches).to.be.greaterThan(0);
    for (const b of batches.filter((x) => x.isDone)) {
      expect(b.finalError).to.be.instanceOf(SealError);
      expect(b.finalError!.message).to.match(/failed twice: injected fault: codec threw; then: injected fault: codec threw/);
      expect(b.finalError!.message).to.match(/batch of \d+ records \(\d+ bytes at offset \d+, codec 1\)/);
    }
    plan.jobs = 0;
    completeSealed(batches, t);
    const outcomes = await Promise.all(promises);
    expect(outcomes.some((o) => o instanceof SealError)).to.equal(true);
    expect(t.acc.pool.availableMemory()).to.equal(t.acc.pool.totalMemory);
  });

  it('a worker that exits while compressing a multi-slot (run) batch: it is sealed again, every slot returns', async () => {
    const t = makeAccumulator({ compressionType: 'gzip', bufferMemory: 512 * 1024 }, { sealer });
    const offsets = new OffsetAssigner();
    let n = 0;
    // Teach the ratio estimate (starts at 1.0, improves 0.005 per batch) until batches take runs.
    let grown = false;
    for (let round = 0; round < 80 && !grown; round++) {
      for (let i = 0; i < 40; i++) t.acc.append({ topic: 't', partition: 0 }, t.clock.nowMs(), null, jsonValue(n++, 100), null);
      for (const b of drainEverything(t)) {
        await b.whenSealed();
        if (b.capacityBytes > 1024) grown = true;
        offsets.succeed(b, t.clock.nowMs());
      }
    }
    expect(grown, 'the estimate grew batches to runs').to.equal(true);
    await threadsUp(sealer, 2);
    const before = sealer.stats;
    plan.fault = SealFault.EXIT_WHILE_COMPRESSING;
    plan.jobs = 1;
    for (let i = 0; i < 60; i++) t.acc.append({ topic: 't', partition: 0 }, t.clock.nowMs(), null, jsonValue(n++, 100), null);
    const batches = drainEverything(t);
    expect(batches.some((b) => b.capacityBytes > 1024 && b.slot.isPooled), 'run batches in the faulted round').to.equal(true);
    for (const b of batches) await b.whenSealed();
    expect(sealer.stats.retriedBatches - before.retriedBatches).to.be.at.least(1);
    expect(sealer.stats.failedBatches - before.failedBatches).to.equal(0);
    for (const b of batches) {
      expect(b.isSealed).to.equal(true);
      expect((await decodeWithKafkajs(b.sealedBytes())).crcOk).to.equal(true);
      offsets.succeed(b, t.clock.nowMs());
    }
    for (const b of drainEverything(t)) {
      await b.whenSealed();
      offsets.succeed(b, t.clock.nowMs());
    }
    expect(t.acc.pool.availableMemory()).to.equal(t.acc.pool.totalMemory);
  });

  it('a codec stuck past sealTimeoutMs: SealError for that batch, the others sealed, close() returns, no slot leaked', async () => {
    const stuckPlan: SealFaultPlan = { fault: SealFault.STALL_IN_CODEC, jobs: 1 };
    const options: WorkerSealerOptions & { [kSealFaults]: SealFaultPlan } = { threads: 1, offloadPolicy: ALWAYS, sealTimeoutMs: 300, [kSealFaults]: stuckPlan };
    const stuck = new WorkerSealer(options);
    await threadsUp(stuck, 1);
    const t = makeAccumulator({ compressionType: 'gzip', bufferMemory: 512 * 1024 }, { sealer: stuck });
    const promises: Promise<unknown>[] = [];
    for (let i = 0; i < 60; i++) {
      const r = t.acc.append({ topic: 't', partition: 0 }, t.clock.nowMs(), null, jsonValue(i, 100), null, 'promise');
      if (r instanceof Promise) throw new Error('test bug: append waited');
      promises.push(r.completion!.catch((e: unknown) => e));
    }
    const batches = drainEverything(t);
    const startMs = performance.now();
    for (const b of batches) await b.whenSealed();
    const stats = stuck.stats;
    expect(stats.timedOutBatches).to.equal(1);
    expect(stats.failedBatches).to.equal(1);
    const failed = batches.filter((b) => b.isDone);
    expect(failed).to.have.length(1);
    expect(failed[0].finalError).to.be.instanceOf(SealError);
    expect(failed[0].finalError!.message).to.match(/did not finish within sealTimeoutMs=300/);
    for (const b of batches) if (!b.isDone) expect(b.isSealed).to.equal(true);
    completeSealed(batches, t);
    expect((await Promise.all(promises)).filter((o) => o instanceof SealError).length).to.equal(failed[0].recordCount);
    expect(t.acc.pool.availableMemory()).to.equal(t.acc.pool.totalMemory);
    await stuck.close();
    expect(performance.now() - startMs, 'close() did not wait for the stuck codec (60 s)').to.be.below(20_000);
  });

  it('keeps sealing normally after the faults (replacement workers)', async () => {
    const { t, batches, delta } = await run(SealFault.NONE, 0);
    expect(delta.failedBatches + delta.retriedBatches).to.equal(0);
    expect(delta.offloadedBatches).to.equal(batches.length);
    await expectAllSealedAndReturned(t, batches);
  });
});
