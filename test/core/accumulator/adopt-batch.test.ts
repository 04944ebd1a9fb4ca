/**
 * `RecordAccumulator.adoptBatch`: a batch whose records another thread encoded into pool
 * memory becomes an ordinary queued batch (ready, drain, sequence numbers, seal, completion),
 * and its outcome reaches the batch's `BatchCompletionSink` — split batches included.
 */
import { expect } from 'chai';
import type { BatchCompletionSink, ProducerBatch } from '../../../packages/core/src/accumulator/producer-batch.js';
import { RECORD_BATCH_OVERHEAD } from '../../../packages/core/src/format/record-batch-layout.js';
import { readRecordBatches, verifyBatchCrc } from '../../../packages/core/src/format/record-batch-reader.js';
import { sizeOfRecord, sizeOfRecordBody, writeRecord } from '../../../packages/core/src/format/record-writer.js';
import { sealBatch } from '../../../packages/core/src/sealing/seal-batch.js';
import type { PoolSlot } from '../../../packages/core/src/memory/pool-slot.js';
import type { SluiceError } from '../../../packages/core/src/errors.js';
import { OffsetAssigner, drainAll, makeAccumulator } from '../../helpers/accumulator-factory.js';

/** Encodes `values` as records into `slot` the way an appender thread does; returns the records' length. */
function encodeInto(slot: PoolSlot, values: string[], baseTs: number): number {
  const buf = Buffer.from(slot.buffer);
  let pos = slot.byteOffset + RECORD_BATCH_OVERHEAD;
  values.forEach((v, i) => {
    const body = sizeOfRecordBody(i, i, -1, v.length, 1);
    pos = writeRecord(buf, pos, body, i, i, null, -1, v, v.length, null);
    expect(sizeOfRecord(body)).to.be.greaterThan(0);
  });
  return pos - slot.byteOffset - RECORD_BATCH_OVERHEAD;
}

class RecordingSink implements BatchCompletionSink {
  calls: { firstDelta: number; count: number; baseOffset: number; error: SluiceError | null }[] = [];
  batchDone(batch: ProducerBatch, firstDelta: number, baseOffset: number, _logAppendTimeMs: number, error: SluiceError | null): void {
    this.calls.push({ firstDelta, count: batch.recordCount, baseOffset, error });
  }
}

describe('RecordAccumulator', () => {
  describe('adoptBatch()', () => {
    it('queues the records another thread encoded as a closed, sendable batch; drain seals it; the sink hears the outcome', () => {
      const t = makeAccumulator({ enableIdempotence: true });
      t.acc.setProducerIdAndEpoch({ producerId: 7, epoch: 1 });
      const slot = t.acc.pool.tryAllocate(1024)!;
      const values = ['a', 'bb', 'ccc'];
      const recordsLength = encodeInto(slot, values, 1000);
      const sink = new RecordingSink();
      const handle = t.acc.partitionHandle({ topic: 't', partition: 1 });
      const batch = t.acc.adoptBatch(handle, slot, { recordsLength, recordCount: 3, baseTimestamp: 1000, maxTimestamp: 1002, createdMs: t.clock.nowMs(), sealedSizeBytes: 0 }, sink);
      expect(batch.isClosed).to.equal(true);
      expect(batch.recordCount).to.equal(3);
      const drained = drainAll(t);
      expect(drained).to.deep.equal([batch]);
      expect(batch.baseSequence).to.equal(0);
      const [decoded] = readRecordBatches(batch.sealedBytes());
      expect(decoded.records.map((r) => r.value!.toString())).to.deep.equal(values);
      expect(decoded.producerId).to.equal(7);
      new OffsetAssigner().succeed(batch, t.clock.nowMs());
      expect(sink.calls).to.deep.equal([{ firstDelta: 0, count: 3, baseOffset: 0, error: null }]);
      expect(t.acc.pool.availableMemory()).to.equal(t.acc.pool.totalMemory);
    });

    it('takes a batch that arrives sealed: producer fields and CRC are rewritten at drain', () => {
      const t = makeAccumulator({ enableIdempotence: true });
      t.acc.setProducerIdAndEpoch({ producerId: 9, epoch: 0 });
      const slot = t.acc.pool.tryAllocate(1024)!;
      const recordsLength = encodeInto(slot, ['x', 'y'], 5);
      const buf = Buffer.from(slot.buffer);
      const size = sealBatch(buf, new DataView(slot.buffer), slot.byteOffset, {
        recordsLength, recordCount: 2, baseTimestamp: 5, maxTimestamp: 6, codec: null, producerId: -1, producerEpoch: -1, baseSequence: -1, transactional: false,
      });
      const handle = t.acc.partitionHandle({ topic: 't', partition: 0 });
      const batch = t.acc.adoptBatch(handle, slot, { recordsLength, recordCount: 2, baseTimestamp: 5, maxTimestamp: 6, createdMs: t.clock.nowMs(), sealedSizeBytes: size }, null);
      expect(batch.isSealed).to.equal(true);
      drainAll(t);
      const bytes = batch.sealedBytes();
      expect(verifyBatchCrc(bytes, 0)).to.equal(true);
      expect(readRecordBatches(bytes)[0].producerId).to.equal(9);
      new OffsetAssigner().succeed(batch, t.clock.nowMs());
      expect(t.acc.pool.availableMemory()).to.equal(t.acc.pool.totalMemory);
    });

    it('keeps the partition order: the open batch before it is closed and drained first', () => {
      const t = makeAccumulator();
      t.acc.append({ topic: 't', partition: 2 }, 1, null, 'first');
      const slot = t.acc.pool.tryAllocate(1024)!;
      const recordsLength = encodeInto(slot, ['second'], 2);
      t.acc.adoptBatch(t.acc.partitionHandle({ topic: 't', partition: 2 }), slot, { recordsLength, recordCount: 1, baseTimestamp: 2, maxTimestamp: 2, createdMs: t.clock.nowMs(), sealedSizeBytes: 0 }, null);
      const order: string[] = [];
      for (let i = 0; i < 2; i++) {
        for (const b of drainAll(t)) {
          order.push(...readRecordBatches(b.sealedBytes())[0].records.map((r) => r.value!.toString()));
          new OffsetAssigner().succeed(b, t.clock.nowMs());
        }
      }
      expect(order).to.deep.equal(['first', 'second']);
    });

    it('a split batch passes the sink to its parts, each with the delta of its first record', () => {
      const t = makeAccumulator({ enableIdempotence: false });
      const slot = t.acc.pool.tryAllocate(1024)!;
      const values = Array.from({ length: 8 }, (_, i) => `value-${i}-${'z'.repeat(40)}`);
      const recordsLength = encodeInto(slot, values, 0);
      const sink = new RecordingSink();
      const batch = t.acc.adoptBatch(t.acc.partitionHandle({ topic: 't', partition: 3 }), slot, { recordsLength, recordCount: 8, baseTimestamp: 0, maxTimestamp: 7, createdMs: t.clock.nowMs(), sealedSizeBytes: 0 }, sink);
      drainAll(t);
      batch.markInFlight(t.clock.nowMs());
      const parts = t.acc.splitAndReenqueue(batch);
      batch.releaseNetworkHold();
      expect(parts.length).to.be.greaterThan(1);
      const offsets = new OffsetAssigner();
      for (let drained = drainAll(t); drained.length > 0; drained = drainAll(t)) {
        for (const p of drained) offsets.succeed(p, t.clock.nowMs());
      }
      const covered = sink.calls.map((c) => [c.firstDelta, c.count, c.baseOffset]);
      let next = 0;
      for (const [firstDelta, count, baseOffset] of covered) {
        expect(firstDelta).to.equal(next);
        expect(baseOffset).to.equal(firstDelta);
        next += count;
      }
      expect(next).to.equal(8);
      expect(t.acc.pool.availableMemory()).to.equal(t.acc.pool.totalMemory);
    });
  });
});
