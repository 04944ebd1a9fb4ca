/**
 * RecordAccumulator.splitAndReenqueue (added for the sender's MESSAGE_TOO_LARGE handling):
 * records re-appended in order into smaller batches at the front of the queue, completions
 * moved, sequence range kept, memory from the pool or (when it cannot serve) the heap.
 */
import { expect } from 'chai';
import type { ProducerBatch } from '../../../packages/core/src/accumulator/producer-batch.js';
import type { RecordMetadata } from '../../../packages/core/src/accumulator/record-metadata.js';
import { BatchState } from '../../../packages/core/src/accumulator/batch-state.js';
import { IllegalStateError } from '../../../packages/core/src/errors.js';
import { readRecordBatches } from '../../../packages/core/src/format/record-batch-reader.js';
import { decompressRecords } from '../../../packages/core/src/compression/codecs.js';
import { bytesOf, drainAll, makeAccumulator, OffsetAssigner } from '../../helpers/accumulator-factory.js';

const T0 = { topic: 't', partition: 0 };

/** Drains until nothing is left (drain takes one batch per partition per call). */
function drainEverything(t: ReturnType<typeof makeAccumulator>): ProducerBatch[] {
  const out: ProducerBatch[] = [];
  for (let got = drainAll(t); got.length > 0; got = drainAll(t)) out.push(...got);
  return out;
}

function fillAndDrain(t: ReturnType<typeof makeAccumulator>, records: number, size = 60): { batch: ProducerBatch; promises: Promise<RecordMetadata>[] } {
  const promises: Promise<RecordMetadata>[] = [];
  for (let i = 0; i < records; i++) {
    const r = t.acc.append(T0, 1000 + i, `k${i}`, bytesOf(size, i), [{ key: 'i', value: `${i}` }], 'promise');
    if (r instanceof Promise) throw new Error('unexpected wait');
    promises.push(r.completion!);
  }
  t.clock.advance(100);
  const [batch] = drainAll(t);
  batch.markInFlight(t.clock.nowMs());
  return { batch, promises };
}

describe('RecordAccumulator.splitAndReenqueue()', () => {
  it('re-appends the records in order into smaller batches at the front, moving each completion', async () => {
    const t = makeAccumulator({ lingerMs: 10 });
    const { batch, promises } = fillAndDrain(t, 10);
    t.acc.append(T0, 2000, null, 'later'); // a newer batch queued behind
    const children = t.acc.splitAndReenqueue(batch, t.clock.nowMs());
    expect(children.length).to.be.at.least(2);
    expect(children.reduce((a, c) => a + c.recordCount, 0)).to.equal(10);
    const queued = t.acc.batchesFor(T0);
    expect(queued.slice(0, children.length)).to.deep.equal(children);
    expect(queued[children.length].recordCount).to.equal(1);
    for (const c of children) {
      expect(c.createdMs).to.equal(batch.createdMs);
      expect(c.isClosed).to.equal(true);
      expect(c.attempts).to.equal(0);
    }
    expect(batch.isDone).to.equal(true);
    expect(batch.splitInto).to.deep.equal(children);
    let parentDone = false;
    void batch.whenDone().then(() => (parentDone = true));
    batch.releaseNetworkHold();
    const broker = new OffsetAssigner();
    for (const b of drainAll(t)) broker.succeed(b, t.clock.nowMs());
    await Promise.resolve();
    expect(parentDone, 'the split batch is done only when its parts are').to.equal(false);
    for (let guard = 0; t.acc.hasIncomplete() && guard < 20; guard++) {
      t.clock.advance(20);
      for (const b of drainAll(t)) broker.succeed(b, t.clock.nowMs());
    }
    const mds = await Promise.all(promises);
    expect(mds.map((m) => m.offset)).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(mds.map((m) => m.timestamp)).to.deep.equal(Array.from({ length: 10 }, (_, i) => 1000 + i));
    await batch.whenDone();
    expect(t.acc.pool.availableMemory()).to.equal(t.acc.pool.totalMemory);
  });

  it('keeps the records intact: keys, values, headers, timestamps', () => {
    const t = makeAccumulator();
    const { batch } = fillAndDrain(t, 6, 90);
    const children = t.acc.splitAndReenqueue(batch, t.clock.nowMs());
    t.clock.advance(100);
    const records = drainEverything(t).flatMap((c) => readRecordBatches(c.sealedBytes())[0].records);
    expect(children.length).to.be.at.least(2);
    expect(records.map((r) => Buffer.from(r.key!).toString())).to.deep.equal(['k0', 'k1', 'k2', 'k3', 'k4', 'k5']);
    records.forEach((r, i) => {
      expect(Buffer.from(r.value!)).to.deep.equal(bytesOf(90, i));
      expect(r.timestamp).to.equal(1000 + i);
      expect(r.headers.map((h) => [h.key, Buffer.from(h.value!).toString()])).to.deep.equal([['i', `${i}`]]);
    });
  });

  it('gives the parts the batch\'s producer id, epoch and sequence range', () => {
    const t = makeAccumulator({ enableIdempotence: true });
    t.acc.setProducerIdAndEpoch({ producerId: 42, epoch: 3 });
    t.acc.resetSequence(T0, 100);
    const { batch } = fillAndDrain(t, 8);
    expect(batch.baseSequence).to.equal(100);
    const children = t.acc.splitAndReenqueue(batch, t.clock.nowMs());
    let seq = 100;
    for (const c of children) {
      expect([c.producerId, c.producerEpoch, c.baseSequence]).to.deep.equal([42, 3, seq]);
      seq += c.recordCount;
    }
    expect(t.acc.sequenceFor(T0), 'the next new batch is unaffected').to.equal(108);
  });

  it('splits a compressed batch, decompressing its records', () => {
    const t = makeAccumulator({ compressionType: 'gzip', batchSize: 2048, bufferMemory: 128 * 1024 });
    const { batch } = fillAndDrain(t, 12, 100);
    expect(batch.sizeBytes).to.be.lessThan(batch.recordsLength);
    const children = t.acc.splitAndReenqueue(batch, t.clock.nowMs());
    t.clock.advance(100);
    const values = drainEverything(t).flatMap((c) => readRecordBatches(c.sealedBytes(), { decompress: decompressRecords })[0].records.map((r) => Buffer.from(r.value!)));
    expect(children.length).to.be.at.least(2);
    expect(values).to.deep.equal(Array.from({ length: 12 }, (_, i) => bytesOf(100, i)));
  });

  it('takes heap memory when the pool cannot serve at once, and the pool still balances', () => {
    const t = makeAccumulator({ bufferMemory: 2048, batchSize: 1024, maxBlockMs: 0 });
    const { batch } = fillAndDrain(t, 12);
    t.acc.append({ topic: 't', partition: 1 }, 1, null, 'fills the second slot');
    expect(t.acc.pool.availableMemory()).to.equal(0);
    const children = t.acc.splitAndReenqueue(batch, t.clock.nowMs());
    expect(children.every((c) => !c.slot.isPooled)).to.equal(true);
    batch.releaseNetworkHold();
    expect(t.acc.pool.availableMemory(), 'the split batch\'s own slot is back').to.equal(1024);
    const broker = new OffsetAssigner();
    for (let guard = 0; t.acc.hasIncomplete() && guard < 20; guard++) {
      t.clock.advance(20);
      for (const b of drainAll(t)) broker.succeed(b, t.clock.nowMs());
    }
    expect(t.acc.pool.availableMemory()).to.equal(t.acc.pool.totalMemory);
  });

  it('refuses a single-record, unsealed or final batch', () => {
    const t = makeAccumulator();
    const { batch } = fillAndDrain(t, 1);
    expect(() => t.acc.splitAndReenqueue(batch)).to.throw(IllegalStateError);
    t.acc.append(T0, 1, null, 'a');
    t.acc.append(T0, 1, null, 'b');
    const [open] = t.acc.batchesFor(T0);
    expect(open.state).to.equal(BatchState.APPENDING);
    expect(() => t.acc.splitAndReenqueue(open)).to.throw(IllegalStateError);
  });
});
