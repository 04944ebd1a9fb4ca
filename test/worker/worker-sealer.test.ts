/**
 * WorkerSealer: batches sealed on seal threads (job rings) decode with kafkajs for every
 * codec, tiny batches and `none` stay inline, caller-runs bounds the backlog, per-partition
 * order holds while seals finish out of order, and close() waits for seals in progress.
 */
import { expect } from 'chai';
import type { ProducerBatch } from '../../packages/core/src/accumulator/producer-batch.js';
import type { CompressionName } from '../../packages/core/src/format/compression-type.js';
import { CompressionType } from '../../packages/core/src/format/compression-type.js';
import { InlineSealer } from '../../packages/core/src/sealing/inline-sealer.js';
import { createSealer } from '../../packages/worker/src/create-sealer.js';
import { OffloadPolicy, defaultSealThreads } from '../../packages/worker/src/offload-policy.js';
import { SealFault } from '../../packages/worker/src/seal-ring-layout.js';
import { WorkerSealer, kSealFaults } from '../../packages/worker/src/worker-sealer.js';
import type { SealFaultPlan, WorkerSealerOptions } from '../../packages/worker/src/worker-sealer.js';
import { OffsetAssigner, makeAccumulator } from '../helpers/accumulator-factory.js';
import { jsonValue } from '../helpers/sample-values.js';
import { RecordingSealer, completeSealed, drainEverything, sealedAndDecoded } from '../helpers/sealing.js';

/** Offload everything compressed (the tests' batches are 1 KiB). */
const ALWAYS = OffloadPolicy.always();

/** Batches go to a lane only once its thread runs (until then they are sealed inline). */
async function threadsUp(s: WorkerSealer, n: number): Promise<void> {
  while (s.stats.threads < n) await new Promise((r) => setTimeout(r, 10));
}

describe('WorkerSealer', function () {
  this.timeout(60_000);
  let sealer: WorkerSealer;

  before(async () => {
    sealer = new WorkerSealer({ threads: 2, offloadPolicy: ALWAYS });
    await threadsUp(sealer, 2);
  });
  after(async () => {
    await sealer.close();
  });

  for (const codec of ['gzip', 'snappy', 'lz4', 'zstd'] as CompressionName[]) {
    it(`${codec}: batches sealed on workers decode with kafkajs, records equal, CRC32C ok, sequences patched in`, async () => {
      const t = makeAccumulator({ compressionType: codec, bufferMemory: 512 * 1024 }, { sealer });
      t.acc.setProducerIdAndEpoch({ producerId: 77, epoch: 2 });
      const before = sealer.stats;
      const values: Buffer[] = [];
      for (let i = 0; i < 400; i++) {
        values.push(jsonValue(i, 110));
        t.acc.append({ topic: 't', partition: i % 2 }, t.clock.nowMs() + i, Buffer.from(`k${i}`), values[i], i % 3 === 0 ? [{ key: 'n', value: String(i) }] : null);
      }
      const batches = drainEverything(t);
      const decoded = await sealedAndDecoded(batches);
      const after = sealer.stats;
      expect(after.offloadedBatches - before.offloadedBatches, 'sealed on workers').to.be.greaterThan(batches.length / 2);
      expect(after.handoffNs - before.handoffNs, 'hand-off time is measured').to.be.greaterThan(0);
      const seqs = new Map<number, number>();
      decoded.forEach((d, k) => {
        const b = batches[k];
        if (b.recordCount >= 5) expect(d.codecId).to.equal(CompressionType[codec]);
        expect(d.producerId).to.equal(77);
        expect(d.producerEpoch).to.equal(2);
        expect(d.baseSequence).to.equal(seqs.get(b.partition) ?? 0);
        seqs.set(b.partition, (seqs.get(b.partition) ?? 0) + b.recordCount);
      });
      for (const partition of [0, 1]) {
        const got = decoded.flatMap((d, k) => (batches[k].partition === partition ? d.records : []));
        const want = values.filter((_, i) => i % 2 === partition);
        expect(got.map((r) => r.value!.toString())).to.deep.equal(want.map((v) => v.toString()));
        expect(got.map((r) => r.key!.toString())).to.deep.equal(want.map((_, j) => `k${j * 2 + partition}`));
      }
      completeSealed(batches, t);
      expect(t.acc.pool.availableMemory()).to.equal(t.acc.pool.totalMemory);
    });
  }

  it('seals a record bigger than batch.size (non-pooled buffer) on a worker', async () => {
    const t = makeAccumulator({ compressionType: 'zstd', bufferMemory: 512 * 1024 }, { sealer });
    const big = Buffer.concat(Array.from({ length: 80 }, (_, i) => jsonValue(i, 100)));
    t.acc.append({ topic: 't', partition: 0 }, t.clock.nowMs(), null, big, null);
    const batches = drainEverything(t);
    expect(batches[0].slot.slotIndex).to.equal(-1);
    const [d] = await sealedAndDecoded(batches);
    expect(d.codecId).to.equal(4);
    expect(d.records[0].value!.equals(big)).to.equal(true);
    completeSealed(batches, t);
    expect(t.acc.pool.availableMemory()).to.equal(t.acc.pool.totalMemory);
  });

  it('grows compressed batches as runs of pool slots (never a fresh buffer), one slot when no run is free', async () => {
    const t = makeAccumulator({ compressionType: 'gzip', bufferMemory: 512 * 1024 }, { sealer });
    const offsets = new OffsetAssigner();
    let grown = 0;
    const values: string[] = [];
    const got: string[] = [];
    // The estimate starts at 1.0 and improves by 0.005 per batch (Kafka's steps): ~110
    // batches before a batch is sized at two slots.
    for (let round = 0; round < 40; round++) {
      for (let i = 0; i < 60; i++) {
        const v = jsonValue(round * 100 + i, 90);
        values.push(v.toString());
        t.acc.append({ topic: 't', partition: 0 }, t.clock.nowMs(), null, v, null);
      }
      const batches = drainEverything(t);
      for (const [k, d] of (await sealedAndDecoded(batches)).entries()) {
        const b = batches[k];
        expect(b.slot.isPooled, 'a run of the pool, not a non-pooled buffer').to.equal(true);
        expect(b.sizeBytes).to.be.at.most(b.capacityBytes);
        if (b.capacityBytes > 1024) grown++;
        got.push(...d.records.map((r) => r.value!.toString()));
        offsets.succeed(b, t.clock.nowMs());
      }
    }
    expect(grown, 'the ratio estimate grew worker-sealed batches beyond one slot').to.be.greaterThan(0);
    expect(got).to.deep.equal(values);
    expect(t.acc.pool.availableMemory()).to.equal(t.acc.pool.totalMemory);
    // Fragment the pool (every other slot held): a new batch falls back to a single slot.
    const held = [];
    for (let s = t.acc.pool.tryAllocate(1024); s !== null; s = t.acc.pool.tryAllocate(1024)) held.push(s);
    for (let k = 0; k < held.length; k += 2) t.acc.pool.deallocate(held[k]);
    t.acc.append({ topic: 't', partition: 1 }, t.clock.nowMs(), null, jsonValue(1, 90), null);
    const [single] = t.acc.batchesFor({ topic: 't', partition: 1 });
    expect(single.capacityBytes).to.equal(1024);
    expect(single.slot.isPooled).to.equal(true);
    const last = drainEverything(t);
    await sealedAndDecoded(last);
    completeSealed(last, t);
    for (let k = 1; k < held.length; k += 2) t.acc.pool.deallocate(held[k]);
    expect(t.acc.pool.availableMemory()).to.equal(t.acc.pool.totalMemory);
  });

  it('caller-runs: with every lane backlog full, the caller seals the batch itself', async () => {
    const busy = new WorkerSealer({ threads: 1, offloadPolicy: ALWAYS, maxLaneBacklogBytes: 1 });
    await threadsUp(busy, 1);
    try {
      const t = makeAccumulator({ compressionType: 'gzip', compressionGzipLevel: 9, bufferMemory: 512 * 1024 }, { sealer: busy });
      const values: string[] = [];
      for (let i = 0; i < 300; i++) {
        const v = jsonValue(i, 110);
        values.push(v.toString());
        t.acc.append({ topic: 't', partition: i % 3 }, t.clock.nowMs(), null, v, null);
      }
      const batches = drainEverything(t);
      const decoded = await sealedAndDecoded(batches);
      const stats = busy.stats;
      expect(stats.callerRunsBatches, 'sealed by the caller').to.be.greaterThan(0);
      expect(stats.offloadedBatches, 'and by the worker').to.be.greaterThan(0);
      expect(stats.callerRunsBatches + stats.offloadedBatches).to.equal(batches.length);
      for (const partition of [0, 1, 2]) {
        const got = decoded.flatMap((d, k) => (batches[k].partition === partition ? d.records.map((r) => r.value!.toString()) : []));
        expect(got).to.deep.equal(values.filter((_, i) => i % 3 === partition));
      }
      completeSealed(batches, t);
      expect(t.acc.pool.availableMemory()).to.equal(t.acc.pool.totalMemory);
    } finally {
      await busy.close();
    }
  });

  it('keeps uncompressed batches and batches below the threshold inline', async () => {
    const policy = new OffloadPolicy({ minGain: 1e9 });
    const small = new WorkerSealer({ threads: 1, offloadPolicy: policy });
    try {
      for (const codec of ['none', 'gzip'] as const) {
        const t = makeAccumulator({ compressionType: codec }, { sealer: small });
        for (let i = 0; i < 30; i++) t.acc.append({ topic: 't', partition: 0 }, t.clock.nowMs(), null, jsonValue(i, 100), null);
        const batches = drainEverything(t);
        await sealedAndDecoded(batches);
        completeSealed(batches, t);
      }
      expect(small.stats.offloadedBatches).to.equal(0);
      expect(small.stats.inlineBatches).to.be.greaterThan(0);
    } finally {
      await small.close();
    }
  });

  it('hands out each partition\'s batches in append order and delivers seals in order while they finish out of order (32 partitions, 2 workers)', async () => {
    // The first job's codec throws once: it is sealed again after later jobs, so seals
    // finish out of order for sure; they are delivered in order all the same.
    const plan: SealFaultPlan = { fault: SealFault.THROW_IN_CODEC, jobs: 1 };
    const options: WorkerSealerOptions & { [kSealFaults]: SealFaultPlan } = { threads: 2, offloadPolicy: ALWAYS, [kSealFaults]: plan };
    const inner = new WorkerSealer(options);
    await threadsUp(inner, 2);
    const recording = new RecordingSealer(inner);
    try {
      const t = makeAccumulator({ compressionType: 'gzip', bufferMemory: 1024 * 1024, lingerMs: 1000 }, { sealer: recording });
      const partitions = 32;
      const leaders = Array.from({ length: partitions }, (_, p) => p % 3);
      t.cluster.setTopic('m', leaders);
      const drained: ProducerBatch[] = [];
      let sawPending = false;
      const drainReady = (): void => {
        const { readyNodes } = t.acc.ready(t.cluster, t.clock.nowMs());
        for (const list of t.acc.drain(t.cluster, readyNodes, 1 << 30, t.clock.nowMs()).values()) {
          for (const b of list) {
            if (!b.isSealed) sawPending = true; // drain did not wait for the seal
            drained.push(b);
          }
        }
      };
      for (let i = 0; i < 3000; i++) {
        t.acc.append({ topic: 'm', partition: i % partitions }, t.clock.nowMs(), null, Buffer.from(`${i % partitions}:${Math.floor(i / partitions)}:${jsonValue(i, 60).toString()}`), null);
        if (i % 200 === 199) {
          drainReady();
          await new Promise((r) => setImmediate(r));
        }
      }
      drained.push(...drainEverything(t));
      const decoded = await sealedAndDecoded(drained);
      expect(sawPending, 'drain hands out batches still being sealed').to.equal(true);
      const next = new Array<number>(partitions).fill(0);
      decoded.forEach((d) => {
        for (const r of d.records) {
          const [p, n] = r.value!.toString().split(':').map(Number);
          expect(n, `partition ${p} record order`).to.equal(next[p]);
          next[p]++;
        }
      });
      expect(next.reduce((a, b) => a + b, 0)).to.equal(3000);
      const startIndex = new Map(recording.started.map((j, i) => [j, i]));
      const inversions = recording.completed.some((j, i) => i > 0 && startIndex.get(j)! < startIndex.get(recording.completed[i - 1])!);
      expect(inversions, 'completions delivered in seal() order, though a seal was retried after later ones').to.equal(false);
      expect(inner.stats.retriedBatches).to.be.greaterThan(0);
      completeSealed(drained, t, new OffsetAssigner());
      expect(t.acc.pool.availableMemory()).to.equal(t.acc.pool.totalMemory);
    } finally {
      await recording.close();
    }
  });

  it('close() waits for seals in progress; batches handed over afterwards are sealed inline', async () => {
    const own = new WorkerSealer({ threads: 1, offloadPolicy: ALWAYS });
    await threadsUp(own, 1);
    const t = makeAccumulator({ compressionType: 'gzip', bufferMemory: 512 * 1024 }, { sealer: own });
    for (let i = 0; i < 203; i++) t.acc.append({ topic: 't', partition: 0 }, t.clock.nowMs(), null, jsonValue(i, 100), null);
    expect(t.acc.batchesFor({ topic: 't', partition: 0 }).some((b) => !b.isClosed), 'an open batch remains').to.equal(true);
    const full = t.acc.batchesFor({ topic: 't', partition: 0 }).filter((b) => b.isClosed);
    expect(full.length).to.be.greaterThan(3);
    await own.close();
    for (const b of full) expect(b.isSealed, 'sealed by the time close() resolved').to.equal(true);
    const inlineBefore = own.stats.inlineBatches;
    const rest = drainEverything(t); // the open batch is sealed now, after close
    await sealedAndDecoded(rest);
    expect(own.stats.inlineBatches).to.be.greaterThan(inlineBefore);
    completeSealed(rest, t);
    expect(t.acc.pool.availableMemory()).to.equal(t.acc.pool.totalMemory);
    await own.close(); // idempotent
  });

  describe('createSealer()', () => {
    it('seals inline for sealWorkers=0, for none, and (auto) where the machine model says no', async () => {
      expect(createSealer({ sealWorkers: 0, compressionType: 'gzip' })).to.be.instanceOf(InlineSealer);
      expect(createSealer({ compressionType: 'none' })).to.be.instanceOf(InlineSealer);
      expect(createSealer({ 'compression.type': 'none', 'seal.workers': 4 })).to.be.instanceOf(InlineSealer);
      expect(createSealer({ compressionType: 'lz4' }), 'lz4 at its default level: the fast compressor').to.be.instanceOf(InlineSealer);
      expect(createSealer({ compressionType: 'snappy' })).to.be.instanceOf(InlineSealer);
      expect(createSealer({ compressionType: 'zstd' })).to.be.instanceOf(InlineSealer);
      expect(createSealer({ compressionType: 'gzip' }, { cores: 1 }), 'one core').to.be.instanceOf(InlineSealer);
    });

    it('starts threads: sealWorkers N gives N (any codec), auto gives what the model plans for gzip', async () => {
      const auto = createSealer({ compressionType: 'gzip' }, { cores: 2 });
      const three = createSealer({ compressionType: 'zstd', 'compression.zstd.level': 9, sealWorkers: 3 });
      const lz4 = createSealer({ compressionType: 'lz4', sealWorkers: 2 });
      try {
        expect(auto).to.be.instanceOf(WorkerSealer);
        expect((auto as WorkerSealer).threads).to.equal(new OffloadPolicy().planFor(1, -1, 2).threads);
        expect((three as WorkerSealer).threads).to.equal(3);
        expect((lz4 as WorkerSealer).threads).to.equal(2);
        expect(defaultSealThreads()).to.be.at.least(1);
      } finally {
        await Promise.all([auto.close(), three.close(), lz4.close()]);
      }
    });
  });
});
