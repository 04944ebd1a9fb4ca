/**
 * Compression through the accumulator with its default (inline) sealer and the default codec
 * registry: every codec's sealed batches decode with kafkajs (independent decoder, CRC32C
 * and codec oracles), incompressible records fall back to no compression, a record bigger
 * than batch.size gets its own batch, and the ratio estimator sizes compressed batches.
 */
import { expect } from 'chai';
import type { ProducerBatch } from '../../../packages/core/src/accumulator/producer-batch.js';
import type { CompressionName } from '../../../packages/core/src/format/compression-type.js';
import { CompressionType } from '../../../packages/core/src/format/compression-type.js';
import { RECORD_BATCH_OVERHEAD } from '../../../packages/core/src/format/record-batch-layout.js';
import { OffsetAssigner, makeAccumulator } from '../../helpers/accumulator-factory.js';
import type { TestAccumulator } from '../../helpers/accumulator-factory.js';
import { decodeWithKafkajs } from '../../helpers/kafka-oracle.js';
import { jsonValue, randomValue } from '../../helpers/sample-values.js';
import { drainEverything } from '../../helpers/sealing.js';

interface Sent {
  partition: number;
  ts: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: { key: string; value: Buffer }[] | null;
}

/** Checks every batch with kafkajs and returns the records per partition, in drain order. */
async function verifyBatches(batches: ProducerBatch[], expectCodec: number | null): Promise<Map<number, { key: Buffer | null; value: Buffer | null; ts: number; headers: Record<string, Buffer | Buffer[]> }[]>> {
  const byPartition = new Map<number, { key: Buffer | null; value: Buffer | null; ts: number; headers: Record<string, Buffer | Buffer[]> }[]>();
  for (const b of batches) {
    await b.whenSealed();
    expect(b.isSealed, 'sealed').to.equal(true);
    const decoded = await decodeWithKafkajs(b.sealedBytes());
    expect(decoded.crcOk, 'CRC32C (kafkajs)').to.equal(true);
    // A batch of one or two records may not shrink: it is then sealed uncompressed.
    if (expectCodec !== null && (expectCodec === 0 || b.recordCount >= 5)) expect(decoded.codecId, 'codec in attributes').to.equal(expectCodec);
    if (expectCodec !== null) expect(decoded.codecId).to.be.oneOf([0, expectCodec]);
    expect(decoded.records).to.have.length(b.recordCount);
    expect(decoded.lastOffsetDelta).to.equal(b.recordCount - 1);
    decoded.records.forEach((r, i) => expect(r.offsetDelta).to.equal(i));
    const list = byPartition.get(b.partition) ?? [];
    for (const r of decoded.records) list.push({ key: r.key, value: r.value, ts: r.timestamp, headers: r.headers });
    byPartition.set(b.partition, list);
  }
  return byPartition;
}

function expectSameRecords(sent: Sent[], got: Map<number, { key: Buffer | null; value: Buffer | null; ts: number; headers: Record<string, Buffer | Buffer[]> }[]>): void {
  for (const partition of new Set(sent.map((s) => s.partition))) {
    const want = sent.filter((s) => s.partition === partition);
    const have = got.get(partition) ?? [];
    expect(have.length, `records of partition ${partition}`).to.equal(want.length);
    want.forEach((w, i) => {
      const h = have[i];
      expect(h.ts).to.equal(w.ts);
      expect(h.key === null ? null : h.key.toString('hex')).to.equal(w.key === null ? null : w.key.toString('hex'));
      expect(h.value === null ? null : h.value.toString('hex')).to.equal(w.value === null ? null : w.value.toString('hex'));
      for (const hd of w.headers ?? []) expect((h.headers[hd.key] as Buffer).toString('hex')).to.equal(hd.value.toString('hex'));
    });
  }
}

function appendAll(t: TestAccumulator, count: number, value: (i: number) => Buffer | null): Sent[] {
  const sent: Sent[] = [];
  for (let i = 0; i < count; i++) {
    const partition = i % 3;
    const key = i % 5 === 0 ? null : Buffer.from(`key-${i}`);
    const v = value(i);
    const headers = i % 4 === 0 ? [{ key: 'h', value: Buffer.from(`hv${i}`) }] : null;
    const ts = t.clock.nowMs() + i;
    const r = t.acc.append({ topic: 't', partition }, ts, key, v, headers);
    if (r instanceof Promise) throw new Error('test bug: append waited for memory');
    sent.push({ partition, ts, key, value: v, headers });
  }
  return sent;
}

function completeAll(batches: ProducerBatch[], t: TestAccumulator): void {
  const offsets = new OffsetAssigner();
  for (const b of batches) offsets.succeed(b, t.clock.nowMs());
}

describe('compressed batches (inline sealer, default codec registry)', () => {
  const codecs: CompressionName[] = ['gzip', 'snappy', 'lz4', 'zstd'];

  for (const codec of codecs) {
    it(`${codec}: sealed batches decode with kafkajs, records equal, CRC32C verified, producer fields written`, async () => {
      const t = makeAccumulator({ compressionType: codec, bufferMemory: 256 * 1024 });
      t.acc.setProducerIdAndEpoch({ producerId: 4242, epoch: 7 });
      const sent = appendAll(t, 300, (i) => (i % 17 === 0 ? null : jsonValue(i, 90)));
      const batches = drainEverything(t);
      expect(batches.length).to.be.greaterThan(3);
      expectSameRecords(sent, await verifyBatches(batches, CompressionType[codec]));
      const first = await decodeWithKafkajs(batches[0].sealedBytes());
      expect(first.producerId).to.equal(4242);
      expect(first.producerEpoch).to.equal(7);
      expect(first.baseSequence).to.equal(0);
      completeAll(batches, t);
      expect(t.acc.pool.availableMemory()).to.equal(t.acc.pool.totalMemory);
    });
  }

  for (const codec of codecs) {
    it(`${codec}: incompressible records are sealed uncompressed (codec 0), still decodable`, async () => {
      const t = makeAccumulator({ compressionType: codec, bufferMemory: 256 * 1024 });
      const sent = appendAll(t, 40, () => randomValue(200));
      const batches = drainEverything(t);
      expectSameRecords(sent, await verifyBatches(batches, 0));
      completeAll(batches, t);
      expect(t.acc.pool.availableMemory()).to.equal(t.acc.pool.totalMemory);
    });
  }

  for (const codec of codecs) {
    it(`${codec}: a single record bigger than batch.size gets its own batch and seals correctly`, async () => {
      const t = makeAccumulator({ compressionType: codec, bufferMemory: 256 * 1024 });
      const big = Buffer.concat(Array.from({ length: 60 }, (_, i) => jsonValue(i, 100))); // 6000 B > 1024
      const r = t.acc.append({ topic: 't', partition: 0 }, t.clock.nowMs(), Buffer.from('k'), big, null);
      if (r instanceof Promise) throw new Error('test bug');
      const batches = drainEverything(t);
      expect(batches).to.have.length(1);
      expect(batches[0].capacityBytes).to.be.greaterThan(1024);
      const got = await verifyBatches(batches, CompressionType[codec]);
      expect(got.get(0)![0].value!.equals(big)).to.equal(true);
      expect(batches[0].sizeBytes).to.be.lessThan(big.length);
      completeAll(batches, t);
      expect(t.acc.pool.availableMemory()).to.equal(t.acc.pool.totalMemory);
    });
  }

  it('gzip: the ratio estimate grows new batches to whole slots (<= 4), sealed size near batch.size, never overrunning', async () => {
    const t = makeAccumulator({ compressionType: 'gzip', bufferMemory: 512 * 1024 });
    const offsets = new OffsetAssigner();
    let maxCapacity = 0;
    let lastSealedRecords = 0;
    for (let round = 0; round < 40; round++) {
      appendAll(t, 60, (i) => jsonValue(round * 1000 + i, 90));
      for (const b of drainEverything(t)) {
        await b.whenSealed();
        expect(b.capacityBytes % 1024).to.equal(0);
        expect(b.capacityBytes).to.be.at.most(4 * 1024);
        expect(b.slot.buffer, 'grown batches are runs of the pool, not fresh buffers').to.equal(t.acc.pool.sharedBuffer);
        expect(b.sizeBytes).to.be.at.most(b.capacityBytes);
        if (b.capacityBytes > maxCapacity) maxCapacity = b.capacityBytes;
        if (b.capacityBytes === maxCapacity && b.recordsLength > b.capacityBytes / 2) lastSealedRecords = b.sizeBytes - RECORD_BATCH_OVERHEAD;
        offsets.succeed(b, t.clock.nowMs());
      }
      t.acc.awaitFlushCompletion().catch(() => {});
    }
    expect(maxCapacity, 'batches grew beyond one slot').to.be.greaterThan(1024);
    expect(lastSealedRecords).to.be.at.most(1024);
    expect(t.acc.pool.availableMemory()).to.equal(t.acc.pool.totalMemory);
  });

  it('uncompressed topics keep one-slot batches', async () => {
    const t = makeAccumulator({ compressionType: 'none', bufferMemory: 256 * 1024 });
    appendAll(t, 300, (i) => jsonValue(i, 90));
    const batches = drainEverything(t);
    for (const b of batches) expect(b.capacityBytes).to.equal(1024);
    completeAll(batches, t);
  });
});
