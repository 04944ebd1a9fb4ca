import { expect } from 'chai';
import { NO_LEADER } from '../../../packages/core/src/cluster/cluster.js';
import {
  AbortedError,
  BufferExhaustedError,
  ClosedError,
  IllegalStateError,
  InvalidRecordError,
  RecordTooLargeError,
} from '../../../packages/core/src/errors.js';
import type { RecordMetadata } from '../../../packages/core/src/accumulator/record-metadata.js';
import type { RecordAppendResult } from '../../../packages/core/src/accumulator/record-accumulator.js';
import { BatchState } from '../../../packages/core/src/accumulator/batch-state.js';
import { SlotState } from '../../../packages/core/src/memory/pool-layout.js';
import { crc32c } from '../../../packages/core/src/format/crc32c.js';
import { ATTRIBUTES_OFFSET, CRC_OFFSET, RECORDS_COUNT_OFFSET, BASE_SEQUENCE_OFFSET } from '../../../packages/core/src/format/record-batch-layout.js';
import { bytesOf, drainAll, makeAccumulator, OffsetAssigner } from '../../helpers/accumulator-factory.js';

const T0 = { topic: 't', partition: 0 };
const T1 = { topic: 't', partition: 1 };

function sync(r: RecordAppendResult | Promise<RecordAppendResult>): RecordAppendResult {
  if (r instanceof Promise) throw new Error('append unexpectedly waited for memory');
  return r;
}

/** Appends 100-byte records to tp until a batch closes as full; returns how many went in. */
function fillOneBatch(t: ReturnType<typeof makeAccumulator>, tp = T0): number {
  let n = 0;
  for (;;) {
    const r = sync(t.acc.append(tp, t.clock.nowMs(), bytesOf(8, n), bytesOf(100, n)));
    n++;
    if (r.batchIsFull) return n;
  }
}

describe('RecordAccumulator', () => {
  describe('partitionHandle() / appendTo()', () => {
    it('appends through a handle exactly as append() does, to the same batches', () => {
      const t = makeAccumulator();
      const h = t.acc.partitionHandle(T0);
      expect(t.acc.partitionHandle({ topic: 't', partition: 0 })).to.equal(h, 'one handle per partition');
      const a = sync(t.acc.appendTo(h, 1000, 'k', 'v1'));
      const b = sync(t.acc.append(T0, 1001, 'k', 'v2'));
      const c = sync(t.acc.appendTo(h, 1002, null, bytesOf(10)));
      expect([a.newBatchCreated, b.newBatchCreated, c.newBatchCreated]).to.deep.equal([true, false, false]);
      expect(t.acc.batchesFor(T0)).to.have.length(1);
      expect(t.acc.batchesFor(T0)[0].recordCount).to.equal(3);
      expect(t.acc.lastBatchFullOf(h)).to.equal(t.acc.lastBatchFull(T0)).and.to.equal(false);
      let n = 0;
      while (!sync(t.acc.appendTo(h, 1003, null, bytesOf(100, n++))).batchIsFull);
      expect(t.acc.lastBatchFullOf(h)).to.equal(true);
    });

    it('checks the record as append() does, and rejects bad partitions and foreign handles', () => {
      const t = makeAccumulator();
      const h = t.acc.partitionHandle(T0);
      expect(() => t.acc.appendTo(h, -5, null, 'v')).to.throw(InvalidRecordError, /timestamp/);
      expect(() => t.acc.appendTo(h, 1, 42 as never, 'v')).to.throw(InvalidRecordError, /key/);
      expect(() => t.acc.partitionHandle({ topic: '', partition: 0 })).to.throw(InvalidRecordError, /topic/);
      expect(() => t.acc.partitionHandle({ topic: 't', partition: -1 })).to.throw(InvalidRecordError, /partition/);
      const other = makeAccumulator();
      expect(() => t.acc.appendTo(other.acc.partitionHandle(T0), 1, null, 'v')).to.throw(IllegalStateError, /handle/);
      expect(() => t.acc.appendTo({ topic: 't', partition: 0 }, 1, null, 'v')).to.throw(IllegalStateError, /handle/);
      expect(t.acc.pool.availableMemory()).to.equal(t.acc.pool.totalMemory, 'nothing allocated by rejected records');
    });
  });

  describe('append()', () => {
    it('creates one batch for the first record and appends later ones to it', () => {
      const t = makeAccumulator();
      const a = sync(t.acc.append(T0, 1000, 'k', 'v'));
      expect(a.newBatchCreated).to.equal(true);
      expect(a.batchIsFull).to.equal(false);
      expect(a.abortForNewBatch).to.equal(false);
      expect(a.completion).to.equal(null);
      const b = sync(t.acc.append(T0, 1001, 'k', 'v'));
      expect(b.newBatchCreated).to.equal(false);
      const batches = t.acc.batchesFor(T0);
      expect(batches).to.have.length(1);
      expect(batches[0].recordCount).to.equal(2);
      expect(t.acc.pool.availableMemory()).to.equal(t.acc.pool.totalMemory - 1024);
    });

    it('reports batchIsFull when a batch fills and opens the next batch for the next record', () => {
      const t = makeAccumulator();
      const n = fillOneBatch(t);
      expect(n).to.be.greaterThan(5);
      const [first] = t.acc.batchesFor(T0);
      expect(first.isClosed).to.equal(true);
      expect(first.remainingBytes).to.be.lessThan(120);
      const r = sync(t.acc.append(T0, t.clock.nowMs(), 'k', 'v'));
      expect(r.newBatchCreated).to.equal(true);
      expect(r.batchIsFull).to.equal(true, 'two batches queued: the first is sendable');
      expect(t.acc.batchesFor(T0)).to.have.length(2);
    });

    it('returns abortForNewBatch without appending when abortOnNewBatch is set and a new batch is needed', () => {
      const t = makeAccumulator();
      const r = sync(t.acc.append(T0, 1, null, 'v', null, null, { abortOnNewBatch: true }));
      expect(r.abortForNewBatch).to.equal(true);
      expect(t.acc.batchesFor(T0)).to.have.length(0);
      expect(t.acc.pool.availableMemory()).to.equal(t.acc.pool.totalMemory);
      sync(t.acc.append(T0, 1, null, 'v'));
      const r2 = sync(t.acc.append(T0, 1, null, 'v', null, null, { abortOnNewBatch: true }));
      expect(r2.abortForNewBatch).to.equal(false, 'the open batch had room');
    });

    it('gives a record larger than batchSize a non-pooled batch of its own, counted against memory', () => {
      const t = makeAccumulator();
      const big = bytesOf(3000);
      sync(t.acc.append(T0, 1, null, big));
      const [batch] = t.acc.batchesFor(T0);
      expect(batch.slot.slotIndex).to.equal(-1);
      expect(batch.capacityBytes).to.be.greaterThan(3000);
      expect(t.acc.pool.availableMemory()).to.be.at.most(t.acc.pool.totalMemory - 3000);
      t.clock.advance(10);
      const drained = drainAll(t);
      expect(drained).to.have.length(1);
      new OffsetAssigner().succeed(drained[0], t.clock.nowMs());
      expect(t.acc.pool.availableMemory()).to.equal(t.acc.pool.totalMemory);
    });

    it('fails a record over maxRequestSize or bufferMemory with RecordTooLargeError and allocates nothing', () => {
      const t = makeAccumulator({ maxRequestSize: 2048 });
      expect(() => t.acc.append(T0, 1, null, bytesOf(4096))).to.throw(RecordTooLargeError, /max.request.size=2048/);
      const t2 = makeAccumulator({ maxRequestSize: 1 << 20 });
      expect(() => t2.acc.append(T0, 1, null, bytesOf(70 * 1024))).to.throw(RecordTooLargeError, /buffer.memory=65536/);
      expect(t.acc.pool.availableMemory()).to.equal(t.acc.pool.totalMemory);
      expect(t2.acc.pool.availableMemory()).to.equal(t2.acc.pool.totalMemory);
    });

    const badInputs: [string, () => unknown, RegExp][] = [
      ['missing topic', () => [{ partition: 0 }, 1, null, 'v'], /topic/],
      ['empty topic', () => [{ topic: '', partition: 0 }, 1, null, 'v'], /topic/],
      ['negative partition', () => [{ topic: 't', partition: -1 }, 1, null, 'v'], /partition.*-1/],
      ['fractional partition', () => [{ topic: 't', partition: 1.5 }, 1, null, 'v'], /partition/],
      ['negative timestamp', () => [T0, -5, null, 'v'], /timestamp.*-5/],
      ['numeric value', () => [T0, 1, null, 42], /value.*number 42/],
      ['object key', () => [T0, 1, { a: 1 }, 'v'], /key.*object/],
      ['headers not an array', () => [T0, 1, null, 'v', { a: 'b' }], /headers/],
      ['header without string key', () => [T0, 1, null, 'v', [{ key: 1, value: 'x' }]], /headers\[0\]\.key/],
      ['header with numeric value', () => [T0, 1, null, 'v', [{ key: 'a', value: 'x' }, { key: 'b', value: 7 }]], /headers\[1\]\.value/],
    ];
    for (const [name, args, message] of badInputs) {
      it(`rejects ${name} with InvalidRecordError naming the field, leaving the pool untouched`, () => {
        const t = makeAccumulator();
        sync(t.acc.append(T0, 1, null, 'existing'));
        const before = t.acc.pool.availableMemory();
        const call = () => (t.acc.append as (...a: unknown[]) => unknown)(...(args() as unknown[]));
        expect(call).to.throw(InvalidRecordError, message);
        expect(t.acc.pool.availableMemory()).to.equal(before);
        expect(t.acc.batchesFor(T0)[0].recordCount).to.equal(1);
      });
    }

    it('throws ClosedError after close()', () => {
      const t = makeAccumulator();
      t.acc.close();
      expect(() => t.acc.append(T0, 1, null, 'v')).to.throw(ClosedError);
    });

    it('fails at once with BufferExhaustedError when memory is exhausted and maxBlockMs is 0', () => {
      const t = makeAccumulator({ bufferMemory: 2048, batchSize: 1024 });
      fillOneBatch(t, T0);
      fillOneBatch(t, T1);
      expect(() => t.acc.append({ topic: 'u', partition: 0 }, 1, null, 'v')).to.throw(BufferExhaustedError, /2048/);
    });

    it('waits for memory up to maxBlockMs, then rejects with BufferExhaustedError', async () => {
      const t = makeAccumulator({ bufferMemory: 2048, batchSize: 1024, maxBlockMs: 30 });
      fillOneBatch(t, T0);
      fillOneBatch(t, T1);
      const pending = t.acc.append({ topic: 'u', partition: 0 }, 1, null, 'v');
      expect(pending).to.be.instanceOf(Promise);
      expect(t.acc.pool.queuedWaiters()).to.equal(1);
      const err = await (pending as Promise<unknown>).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(BufferExhaustedError);
      expect(t.acc.pool.queuedWaiters()).to.equal(0);
    });

    it('completes a waiting append once a batch completes and frees its memory, in FIFO order', async () => {
      const t = makeAccumulator({ bufferMemory: 2048, batchSize: 1024, maxBlockMs: 5000 });
      fillOneBatch(t, T0);
      fillOneBatch(t, T1);
      const order: string[] = [];
      const p1 = (t.acc.append({ topic: 'u', partition: 0 }, 1, null, 'first') as Promise<RecordAppendResult>).then(() => order.push('first'));
      const p2 = (t.acc.append({ topic: 'u', partition: 1 }, 1, null, 'second') as Promise<RecordAppendResult>).then(() => order.push('second'));
      // Memory exhausted with waiters: everything is sendable now (Kafka's `exhausted`).
      const { readyNodes } = t.acc.ready(t.cluster, t.clock.nowMs());
      expect([...readyNodes].sort()).to.deep.equal([0, 1]);
      const broker = new OffsetAssigner();
      for (const b of drainAll(t)) broker.succeed(b, t.clock.nowMs());
      await Promise.all([p1, p2]);
      expect(order).to.deep.equal(['first', 'second']);
    });
  });

  describe('completions', () => {
    it('calls callbacks and resolves promises with offset = baseOffset + offsetDelta', async () => {
      const t = makeAccumulator();
      const seen: RecordMetadata[] = [];
      t.acc.append(T0, 5000, 'key', 'v0', null, (err, md) => {
        expect(err).to.equal(null);
        seen.push(md!);
      });
      const r = sync(t.acc.append(T0, 5001, null, 'v1', null, 'promise'));
      t.acc.append(T0, 5002, 'k', null, null, (_e, md) => seen.push(md!));
      t.clock.advance(10);
      const [batch] = drainAll(t);
      batch.markInFlight(t.clock.nowMs());
      batch.done(100, -1, null);
      batch.releaseNetworkHold();
      const md = await r.completion!;
      expect(md).to.deep.equal({ topic: 't', partition: 0, offset: 101, timestamp: 5001, serializedKeySize: -1, serializedValueSize: 2 });
      expect(seen.map((m) => m.offset)).to.deep.equal([100, 102]);
      expect(seen[0].serializedKeySize).to.equal(3);
      expect(seen[1].serializedValueSize).to.equal(-1);
    });

    it('uses the log-append time when the broker returns one', async () => {
      const t = makeAccumulator();
      const r = sync(t.acc.append(T0, 5000, null, 'v', null, 'promise'));
      t.clock.advance(10);
      const [batch] = drainAll(t);
      batch.markInFlight(t.clock.nowMs());
      batch.done(7, 99999, null);
      batch.releaseNetworkHold();
      expect((await r.completion!).timestamp).to.equal(99999);
    });

    it('completes a batch exactly once: a late second completion is ignored, a success after success throws', () => {
      const t = makeAccumulator();
      let calls = 0;
      t.acc.append(T0, 1, null, 'v', null, () => calls++);
      t.clock.advance(10);
      const [batch] = drainAll(t);
      batch.markInFlight(t.clock.nowMs());
      expect(batch.done(-1, -1, new Error('expired'))).to.equal(true);
      expect(batch.done(5, -1, null)).to.equal(false);
      expect(calls).to.equal(1);
      batch.releaseNetworkHold();
      expect(t.acc.pool.availableMemory()).to.equal(t.acc.pool.totalMemory);
    });

    it('does not free a batch memory while a request still holds its bytes (KAFKA-17862)', () => {
      const t = makeAccumulator();
      t.acc.append(T0, 1, null, 'v');
      t.clock.advance(10);
      const [batch] = drainAll(t);
      batch.markInFlight(t.clock.nowMs());
      batch.done(-1, -1, new Error('delivery timeout while in flight'));
      expect(batch.isReleased).to.equal(false);
      expect(t.acc.pool.availableMemory()).to.equal(t.acc.pool.totalMemory - 1024);
      batch.releaseNetworkHold();
      expect(batch.isReleased).to.equal(true);
      expect(t.acc.pool.availableMemory()).to.equal(t.acc.pool.totalMemory);
    });

    it('keeps completing the other records when a callback throws', () => {
      const t = makeAccumulator();
      let second = 0;
      const warnings: unknown[] = [];
      const onWarning = (w: unknown) => warnings.push(w);
      process.on('warning', onWarning);
      t.acc.append(T0, 1, null, 'a', null, () => {
        throw new Error('user bug');
      });
      t.acc.append(T0, 1, null, 'b', null, () => second++);
      t.clock.advance(10);
      const [batch] = drainAll(t);
      new OffsetAssigner().succeed(batch, t.clock.nowMs());
      expect(second).to.equal(1);
      process.off('warning', onWarning);
    });
  });

  describe('ready()', () => {
    it('does not report a partial batch before lingerMs, and reports it once lingerMs has passed', () => {
      const t = makeAccumulator({ lingerMs: 10 });
      t.acc.append(T0, 1, null, 'v');
      let r = t.acc.ready(t.cluster, t.clock.nowMs());
      expect(r.readyNodes.size).to.equal(0);
      expect(r.nextReadyCheckDelayMs).to.equal(10);
      t.clock.advance(9);
      r = t.acc.ready(t.cluster, t.clock.nowMs());
      expect(r.readyNodes.size).to.equal(0);
      expect(r.nextReadyCheckDelayMs).to.equal(1);
      t.clock.advance(1);
      r = t.acc.ready(t.cluster, t.clock.nowMs());
      expect([...r.readyNodes]).to.deep.equal([0]);
    });

    it('reports a full batch at once', () => {
      const t = makeAccumulator({ lingerMs: 10_000 });
      fillOneBatch(t, T1);
      expect([...t.acc.ready(t.cluster, t.clock.nowMs()).readyNodes]).to.deep.equal([1]);
    });

    it('reports topics whose leader is unknown', () => {
      const t = makeAccumulator({ lingerMs: 0 });
      t.acc.append({ topic: 'nowhere', partition: 0 }, 1, null, 'v');
      t.cluster.setLeader('t', 2, NO_LEADER);
      t.acc.append({ topic: 't', partition: 2 }, 1, null, 'v');
      const r = t.acc.ready(t.cluster, t.clock.nowMs());
      expect([...r.unknownLeaderTopics].sort()).to.deep.equal(['nowhere', 't']);
      expect(r.readyNodes.size).to.equal(0);
    });

    it('makes everything sendable during a flush and after close', async () => {
      const t = makeAccumulator({ lingerMs: 10_000 });
      t.acc.append(T0, 1, null, 'v');
      expect(t.acc.ready(t.cluster, t.clock.nowMs()).readyNodes.size).to.equal(0);
      t.acc.beginFlush();
      expect(t.acc.flushInProgress()).to.equal(true);
      expect([...t.acc.ready(t.cluster, t.clock.nowMs()).readyNodes]).to.deep.equal([0]);
      const flushed = t.acc.awaitFlushCompletion();
      const [batch] = drainAll(t);
      new OffsetAssigner().succeed(batch, t.clock.nowMs());
      await flushed;
      expect(t.acc.flushInProgress()).to.equal(false);
      t.acc.append(T1, 1, null, 'v');
      expect(t.acc.ready(t.cluster, t.clock.nowMs()).readyNodes.size).to.equal(0);
      t.acc.close();
      expect([...t.acc.ready(t.cluster, t.clock.nowMs()).readyNodes]).to.deep.equal([1]);
    });

    it('skips muted partitions and partitions backing off after a retry', () => {
      const t = makeAccumulator({ lingerMs: 0 });
      t.acc.append(T0, 1, null, 'v');
      t.acc.mutePartition(T0);
      expect(t.acc.ready(t.cluster, t.clock.nowMs()).readyNodes.size).to.equal(0);
      t.acc.unmutePartition(T0);
      const [batch] = drainAll(t);
      batch.markInFlight(t.clock.nowMs());
      batch.releaseNetworkHold();
      t.acc.reenqueue(batch, t.clock.nowMs(), t.clock.nowMs() + 100);
      let r = t.acc.ready(t.cluster, t.clock.nowMs());
      expect(r.readyNodes.size).to.equal(0);
      expect(r.nextReadyCheckDelayMs).to.equal(100);
      expect(drainAll(t)).to.have.length(0);
      t.clock.advance(100);
      r = t.acc.ready(t.cluster, t.clock.nowMs());
      expect([...r.readyNodes]).to.deep.equal([0]);
      expect(drainAll(t)).to.deep.equal([batch]);
    });
  });

  describe('drain()', () => {
    it('takes one batch per partition per call, and piggybacks non-lingered batches of a ready node', () => {
      const t = makeAccumulator({ lingerMs: 10_000 });
      fillOneBatch(t, T0);
      fillOneBatch(t, T0);
      t.acc.append({ topic: 't', partition: 3 }, 1, null, 'small'); // also led by node 0, not lingered
      const drained = t.acc.drain(t.cluster, t.acc.ready(t.cluster, t.clock.nowMs()).readyNodes, 1 << 20, t.clock.nowMs());
      const list = drained.get(0)!;
      expect(list.map((b) => b.partition)).to.deep.equal([0, 3]);
      expect(t.acc.batchesFor(T0)).to.have.length(1);
    });

    it('returns an entry for every node asked, empty when the node has nothing to send (as Kafka)', () => {
      const t = makeAccumulator({ lingerMs: 0 });
      t.acc.append(T0, 1, null, 'v'); // t-0 is led by node 0
      const drained = t.acc.drain(t.cluster, [0, 1, 2, 7], 1 << 20, t.clock.nowMs());
      expect([...drained.keys()].sort()).to.deep.equal([0, 1, 2, 7]);
      expect(drained.get(0)).to.have.length(1);
      expect(drained.get(1)).to.deep.equal([]);
      expect(drained.get(7)).to.deep.equal([]);
      expect([...t.acc.drain(t.cluster, [1], 1 << 20, t.clock.nowMs()).entries()]).to.deep.equal([[1, []]]);
    });

    it('stops at maxRequestSize but always takes the first batch even when it alone is larger', () => {
      const t = makeAccumulator({ lingerMs: 0 });
      t.acc.append(T0, 1, null, bytesOf(3000));
      t.acc.append({ topic: 't', partition: 3 }, 1, null, bytesOf(100));
      const first = t.acc.drain(t.cluster, [0], 1000, t.clock.nowMs()).get(0)!;
      expect(first).to.have.length(1);
      expect(first[0].recordCount).to.equal(1);
      expect(first[0].sizeBytes).to.be.greaterThan(3000);
      const second = t.acc.drain(t.cluster, [0], 1000, t.clock.nowMs()).get(0)!;
      expect(second).to.have.length(1);
      expect(second[0].partition).to.equal(3);
    });

    it('rotates over partitions so that none starves when requests are size-limited', () => {
      const t = makeAccumulator({ lingerMs: 0, bufferMemory: 256 * 1024, batchSize: 1024 });
      const partitions = 20;
      const topic = 'many';
      t.cluster.setTopic(topic, new Array(partitions).fill(0));
      for (let round = 0; round < 3; round++) for (let p = 0; p < partitions; p++) fillOneBatch(t, { topic, partition: p });
      // Each request fits ~4 batches: every partition must be served within ceil(20/4) calls.
      const servedAt = new Map<number, number>();
      for (let call = 0; call < 5; call++) {
        for (const b of t.acc.drain(t.cluster, [0], 4 * 1100, t.clock.nowMs()).get(0) ?? []) {
          if (!servedAt.has(b.partition)) servedAt.set(b.partition, call);
        }
      }
      expect(servedAt.size).to.equal(partitions);
    });

    it('seals drained batches: header, record count and CRC32C are valid', () => {
      const t = makeAccumulator({ lingerMs: 0 });
      for (let i = 0; i < 5; i++) t.acc.append(T0, 1000 + i, `k${i}`, `v${i}`);
      const [batch] = drainAll(t);
      expect(batch.state).to.equal(BatchState.SEALED);
      expect(batch.isClosed).to.equal(true);
      const bytes = batch.sealedBytes();
      expect(bytes.readInt32BE(RECORDS_COUNT_OFFSET)).to.equal(5);
      expect(bytes.readUInt32BE(CRC_OFFSET)).to.equal(crc32c(bytes.subarray(ATTRIBUTES_OFFSET)));
    });

    it('mirrors batch states onto the slot state word in shared memory', () => {
      const t = makeAccumulator({ lingerMs: 0 });
      t.acc.append(T0, 1, null, 'v');
      const [open] = t.acc.batchesFor(T0);
      expect(t.acc.pool.stateOf(open.slot)).to.equal(SlotState.APPENDING);
      const [batch] = drainAll(t);
      expect(t.acc.pool.stateOf(batch.slot)).to.equal(SlotState.SEALED);
      batch.markInFlight(t.clock.nowMs());
      expect(t.acc.pool.stateOf(batch.slot)).to.equal(SlotState.IN_FLIGHT);
      batch.done(0, -1, null);
      batch.releaseNetworkHold();
      expect(t.acc.pool.stateOf(batch.slot)).to.equal(SlotState.FREE);
    });

    it('assigns sequence numbers at drain when idempotent, and keeps them on retry', () => {
      const t = makeAccumulator({ lingerMs: 0 });
      t.acc.setProducerIdAndEpoch({ producerId: 42, epoch: 3 });
      for (let i = 0; i < 3; i++) t.acc.append(T0, 1, null, 'v');
      const [b1] = drainAll(t);
      expect(b1.baseSequence).to.equal(0);
      for (let i = 0; i < 2; i++) t.acc.append(T0, 1, null, 'v');
      const [b2] = drainAll(t);
      expect(b2.baseSequence).to.equal(3);
      expect(b2.sealedBytes().readInt32BE(BASE_SEQUENCE_OFFSET)).to.equal(3);
      b1.markInFlight(t.clock.nowMs());
      b1.releaseNetworkHold();
      t.acc.reenqueue(b1, t.clock.nowMs());
      const [again] = drainAll(t);
      expect(again).to.equal(b1);
      expect(again.baseSequence).to.equal(0);
      expect(t.acc.sequenceFor(T0)).to.equal(5);
    });

    it('wraps sequences after 2^31 - 1 and keeps re-enqueued batches in sequence order across the wrap', () => {
      const t = makeAccumulator({ lingerMs: 0 });
      t.acc.setProducerIdAndEpoch({ producerId: 42, epoch: 0 });
      t.acc.resetSequence(T0, 2147483647 - 2);
      for (let i = 0; i < 3; i++) t.acc.append(T0, 1, null, 'v');
      const [a] = drainAll(t);
      for (let i = 0; i < 2; i++) t.acc.append(T0, 1, null, 'v');
      const [b] = drainAll(t);
      expect([a.baseSequence, b.baseSequence]).to.deep.equal([2147483645, 0]);
      expect(t.acc.sequenceFor(T0)).to.equal(2);
      // Both fail and come back, the later one first: the queue must still read a, b.
      for (const x of [a, b]) {
        x.markInFlight(t.clock.nowMs());
        x.releaseNetworkHold();
      }
      t.acc.reenqueue(b, t.clock.nowMs());
      t.acc.reenqueue(a, t.clock.nowMs());
      expect(t.acc.batchesFor(T0)).to.deep.equal([a, b]);
    });
  });

  describe('abortUndrainedBatches()', () => {
    it('fails the batches never drained, open or closed, and leaves drained ones (in flight or queued for retry) alone', async () => {
      const t = makeAccumulator({ lingerMs: 0 });
      const outcome = new Map<string, Error | null>();
      const note = (name: string) => (e: Error | null): void => void outcome.set(name, e);
      t.acc.append({ topic: 't', partition: 0 }, 1, null, 'drained', null, note('in-flight'));
      t.acc.append({ topic: 't', partition: 1 }, 1, null, 'drained', null, note('retrying'));
      const [inFlight, retrying] = drainAll(t);
      inFlight.markInFlight(t.clock.nowMs());
      retrying.markInFlight(t.clock.nowMs());
      retrying.releaseNetworkHold();
      t.acc.reenqueue(retrying, t.clock.nowMs(), t.clock.nowMs() + 1000);
      t.acc.append({ topic: 't', partition: 1 }, 1, null, bytesOf(1000), null, note('closed')); // fills a batch: closed, undrained
      t.acc.append({ topic: 't', partition: 2 }, 1, null, 'open', null, note('open'));
      const cause = new AbortedError('transaction aborted');
      expect(t.acc.abortUndrainedBatches(cause)).to.equal(2);
      expect(outcome.get('open')).to.equal(cause);
      expect(outcome.get('closed')).to.equal(cause);
      expect(outcome.has('in-flight')).to.equal(false);
      expect(outcome.has('retrying')).to.equal(false);
      expect(t.acc.batchesFor({ topic: 't', partition: 1 })).to.deep.equal([retrying]);
      expect(t.acc.batchesFor({ topic: 't', partition: 2 })).to.deep.equal([]);
      expect(t.acc.abortUndrainedBatches(cause), 'a second call finds nothing').to.equal(0);
      inFlight.done(0, -1, null);
      inFlight.releaseNetworkHold();
      t.acc.abortIncompleteBatches();
      expect(t.acc.pool.availableMemory()).to.equal(t.acc.pool.totalMemory);
    });
  });

  describe('abortIncompleteBatches()', () => {
    it('fails every pending record with AbortedError and returns every slot', async () => {
      const t = makeAccumulator({ lingerMs: 0 });
      const errors: Error[] = [];
      const promises: Promise<RecordMetadata>[] = [];
      for (let p = 0; p < 4; p++) {
        for (let i = 0; i < 30; i++) {
          t.acc.append({ topic: 't', partition: p }, 1, null, bytesOf(60), null, (e) => errors.push(e!));
        }
        promises.push(sync(t.acc.append({ topic: 't', partition: p }, 1, null, 'v', null, 'promise')).completion!);
      }
      const inFlight = drainAll(t);
      for (const b of inFlight) b.markInFlight(t.clock.nowMs());
      t.acc.abortIncompleteBatches();
      expect(errors).to.have.length(120);
      expect(errors.every((e) => e instanceof AbortedError)).to.equal(true);
      for (const p of promises) await p.then(() => expect.fail('resolved'), (e: unknown) => expect(e).to.be.instanceOf(AbortedError));
      expect(t.acc.hasIncomplete()).to.equal(false);
      expect(t.acc.hasUndrained()).to.equal(false);
      // In-flight bytes stay reserved until the network lets go of them.
      expect(t.acc.pool.availableMemory()).to.be.lessThan(t.acc.pool.totalMemory);
      for (const b of inFlight) b.releaseNetworkHold();
      expect(t.acc.pool.availableMemory()).to.equal(t.acc.pool.totalMemory);
    });
  });

  describe('expiredBatches()', () => {
    it('removes the undrained batches older than deliveryTimeoutMs', () => {
      const t = makeAccumulator({ lingerMs: 10_000, deliveryTimeoutMs: 40_000, requestTimeoutMs: 30_000 });
      t.acc.append(T0, 1, null, 'old');
      t.clock.advance(20_000);
      t.acc.append(T1, 1, null, 'young');
      t.clock.advance(20_000);
      const expired = t.acc.expiredBatches(t.clock.nowMs());
      expect(expired.map((b) => b.partition)).to.deep.equal([0]);
      expect(t.acc.batchesFor(T0)).to.have.length(0);
      expect(t.acc.batchesFor(T1)).to.have.length(1);
      expired[0].done(-1, -1, new Error('expired'));
      t.acc.abortIncompleteBatches();
      expect(t.acc.pool.availableMemory()).to.equal(t.acc.pool.totalMemory);
    });
  });
});
