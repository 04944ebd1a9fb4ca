/**
 * Conformance with Apache Kafka's `ProducerBatchTest`
 * (clients/src/test/java/org/apache/kafka/clients/producer/internals/ProducerBatchTest.java):
 * Kafka's scenarios and numbers (now = 1488748346917, a 512-byte batch, a 10-byte value,
 * offsets 500 / 1000, log-append times 10 / 20, delivery timeout 10240), rewritten in Sluice's
 * API. Kafka's `abort(e)` / `complete(offset, logAppendTime)` / `completeExceptionally(e)` are
 * `done(-1, -1, e)` / `done(offset, logAppendTime, null)` here; a success needs the batch in
 * flight, so it is sealed and sent first. A Sluice record asks for a callback OR a promise, so
 * Kafka's one record with both a callback and a future is two records here. Where Sluice
 * deliberately differs, the test keeps Sluice's expectation under a `// Sluice differs:` comment.
 *
 * Ported (Kafka test → test here):
 *   testBatchAbort                                        → 'abort tells each record once; later completions return false'
 *   testBatchCannotAbortTwice                             → 'a second abort returns false and tells no record again'
 *   testBatchCannotCompleteTwice                          → 'a second success throws IllegalStateError; the records keep offset 500, timestamp 10'
 *   testSplitPreservesHeaders                             → '<codec>: a split keeps every record\'s header'
 *   testSplitPreservesMagicAndCompressionType             → '<codec>: split batches keep magic 2 and the codec, base offset 0'
 *   testBatchExpiration                                   → 'is not expired 2 ms before its creation, and is at creation + delivery.timeout.ms'
 *   testBatchExpirationAfterReenqueue                     → 'a re-enqueued batch is not expired 2 ms before its creation'
 *   testShouldNotAttemptAppendOnceRecordsBuilderIsClosedForAppends → 'takes no record once closed for appends'
 *
 * Skipped (reason):
 *   testCompleteExceptionallyWithRecordErrors / …WithNullRecordErrors → per-record errors (KIP-467) are not part of
 *     Sluice's API: a failed batch fails every record with the batch's error.
 *   testWithLeaderChangesAcrossRetries                    → leader-epoch tracking across retries (KIP-951): Sluice's
 *     ClusterView has no leader epochs.
 *   (magic v0/v1 cases of testSplitPreservesMagicAndCompressionType) → Sluice writes RecordBatch v2 only.
 */
import { expect } from 'chai';
import type { ProducerBatch } from '../../../packages/core/src/accumulator/producer-batch.js';
import { decompressRecords } from '../../../packages/core/src/compression/codecs.js';
import { AbortedError, IllegalStateError, TimeoutError } from '../../../packages/core/src/errors.js';
import type { CompressionName } from '../../../packages/core/src/format/compression-type.js';
import { CompressionType } from '../../../packages/core/src/format/compression-type.js';
import { readRecordBatches } from '../../../packages/core/src/format/record-batch-reader.js';
import { BufferPool } from '../../../packages/core/src/memory/buffer-pool.js';
import { OffsetAssigner } from '../../helpers/accumulator-factory.js';
import type { TestAccumulator } from '../../helpers/accumulator-factory.js';
import { appendNow, createTestRecordAccumulator, drainNode, expectAllMemoryBack, sendAndRelease } from '../../helpers/kafka-accumulator.js';
import {
  CallbackRecorder,
  appendRecord,
  appendWithCallback,
  appendWithPromise,
  makeLoneBatch,
  rejectionOf,
  sealInline,
} from '../../helpers/producer-batch-factory.js';
import type { LoneBatch } from '../../helpers/producer-batch-factory.js';

/** Kafka's `now`. */
const NOW = 1488748346917;
const TP = { topic: 'topic', partition: 1 };
const CODECS: readonly CompressionName[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

/** Kafka's `new ProducerBatch(tp, MemoryRecords.builder(ByteBuffer.allocate(512), …), now)`. */
function kafkaBatch(): LoneBatch {
  return makeLoneBatch({ pool: new BufferPool({ totalMemoryBytes: 4 * 512, poolableSizeBytes: 512 }), nowMs: NOW, ...TP });
}

function expectBalanced(l: LoneBatch): void {
  expect(l.pool.availableMemory(), 'pool balanced').to.equal(l.pool.totalMemory);
}

/** Fills one batch of `TP` with "hi" / "there" records carrying one header; drains and splits it. */
function fillDrainAndSplit(t: TestAccumulator): { big: ProducerBatch; parts: ProducerBatch[]; records: number } {
  const header = [{ key: 'header-key', value: Buffer.from('header-value') }];
  let records = 0;
  for (let full = false; !full; records++) {
    const r = t.acc.append(TP, NOW, Buffer.from('hi'), Buffer.from('there'), header);
    if (r instanceof Promise) throw new Error('unexpected wait for memory');
    full = r.batchIsFull;
  }
  const [big] = drainNode(t, [0], 0);
  expect(big.recordCount).to.equal(records);
  big.markInFlight(t.clock.nowMs()); // …MESSAGE_TOO_LARGE
  const parts = t.acc.splitAndReenqueue(big, t.clock.nowMs());
  big.releaseNetworkHold();
  return { big, parts, records };
}

function splitAccumulator(codec: CompressionName): TestAccumulator {
  // Sluice differs: a split sizes its parts itself (at most min(batch.size, half the batch)),
  // where Kafka's ProducerBatch.split takes a size (200 / 512 in Kafka's tests).
  const t = createTestRecordAccumulator(1024, 64 * 1024, codec, 0, {}, NOW);
  t.cluster.setTopic(TP.topic, [0, 0]);
  return t;
}

/** Drains the split parts (they are at the front of the queue, one per drain) and completes them. */
function drainParts(t: TestAccumulator, parts: readonly ProducerBatch[]): void {
  const broker = new OffsetAssigner();
  for (const part of parts) {
    expect(drainNode(t, [0], 0)).to.deep.equal([part]);
    broker.succeed(part, t.clock.nowMs());
  }
}

describe('ProducerBatch (Kafka ProducerBatchTest conformance)', () => {
  it('abort tells each record once; later completions return false', async () => {
    const l = kafkaBatch();
    const callback = new CallbackRecorder();
    appendWithCallback(l.batch, NOW, null, Buffer.alloc(10), callback.callback);
    const future = appendWithPromise(l.batch, NOW, null, Buffer.alloc(10));
    const exception = new AbortedError('aborted');
    expect(l.batch.done(-1, -1, exception)).to.equal(true);
    expect(callback.calls).to.deep.equal([{ error: exception, metadata: null }]);
    // Subsequent completions are ignored.
    expect(l.batch.done(500, 2342342341, null)).to.equal(false);
    expect(l.batch.done(-1, -1, new TimeoutError('completeExceptionally'))).to.equal(false);
    expect(callback.calls).to.have.length(1);
    expect(l.batch.isDone).to.equal(true);
    expect(await rejectionOf(future)).to.equal(exception);
    expectBalanced(l);
  });

  it('a second abort returns false and tells no record again', async () => {
    const l = kafkaBatch();
    const callback = new CallbackRecorder();
    appendWithCallback(l.batch, NOW, null, Buffer.alloc(10), callback.callback);
    const future = appendWithPromise(l.batch, NOW, null, Buffer.alloc(10));
    const exception = new AbortedError('first abort');
    l.batch.done(-1, -1, exception);
    expect(callback.calls).to.deep.equal([{ error: exception, metadata: null }]);
    // Sluice differs: Kafka throws IllegalStateException on a second abort; Sluice returns
    // false (a second abort is as harmless as a late answer after expiry).
    expect(l.batch.done(-1, -1, new AbortedError('second abort'))).to.equal(false);
    expect(callback.calls).to.have.length(1);
    expect(l.batch.finalError).to.equal(exception);
    expect(await rejectionOf(future)).to.equal(exception);
    expectBalanced(l);
  });

  it('a second success throws IllegalStateError; the records keep offset 500, timestamp 10', async () => {
    const l = kafkaBatch();
    const callback = new CallbackRecorder();
    appendWithCallback(l.batch, NOW, null, Buffer.alloc(10), callback.callback);
    const future = appendWithPromise(l.batch, NOW, null, Buffer.alloc(10));
    sealInline(l.batch);
    l.batch.markInFlight(NOW);
    l.batch.done(500, 10, null);
    expect(callback.calls).to.have.length(1);
    expect(callback.calls[0].error).to.equal(null);
    expect(callback.calls[0].metadata).to.not.equal(null);
    expect(() => l.batch.done(1000, 20, null)).to.throw(IllegalStateError);
    expect(callback.calls).to.have.length(1);
    expect([callback.calls[0].metadata!.offset, callback.calls[0].metadata!.timestamp]).to.deep.equal([500, 10]);
    const metadata = await future;
    expect([metadata.offset, metadata.timestamp]).to.deep.equal([501, 10]); // the second record: 500 + 1
    l.batch.releaseNetworkHold();
    expectBalanced(l);
  });

  it('takes no record once closed for appends', () => {
    const l = kafkaBatch();
    expect(appendRecord(l.batch, NOW, null, Buffer.alloc(10))).to.equal(0);
    expect(l.batch.remainingBytes, 'room for another').to.be.greaterThan(20);
    l.batch.closeForRecordAppends();
    expect(appendRecord(l.batch, NOW + 1, null, Buffer.alloc(10))).to.equal(-1);
    expect(l.batch.recordCount).to.equal(1);
    l.batch.done(-1, -1, new AbortedError('test over'));
    expectBalanced(l);
  });

  for (const codec of CODECS) {
    it(`${codec}: a split keeps every record's header`, () => {
      const t = splitAccumulator(codec);
      const { parts, records } = fillDrainAndSplit(t);
      expect(parts.length, 'this batch should be split to multiple small batches').to.be.at.least(2);
      let seen = 0;
      for (const part of parts) {
        sealInline(part);
        for (const batch of readRecordBatches(part.sealedBytes(), { decompress: decompressRecords })) {
          for (const record of batch.records) {
            expect(record.headers, 'header size should be 1').to.have.length(1);
            expect(record.headers[0].key).to.equal('header-key');
            expect(Buffer.from(record.headers[0].value!).toString()).to.equal('header-value');
            seen++;
          }
        }
      }
      expect(seen).to.equal(records);
      drainParts(t, parts);
      expectAllMemoryBack(t);
    });

    it(`${codec}: split batches keep magic 2 and the codec, base offset 0`, () => {
      const t = splitAccumulator(codec);
      const { big, parts } = fillDrainAndSplit(t);
      expect(parts.length).to.be.at.least(2);
      expect(big.splitInto, 'Kafka isSplitBatch: the split is recorded').to.deep.equal(parts);
      for (const part of parts) {
        expect(part.codecId).to.equal(CompressionType[codec]);
        sealInline(part);
        const batches = readRecordBatches(part.sealedBytes(), { decompress: decompressRecords });
        expect(batches).to.have.length(1);
        // Sluice differs: records that do not get smaller are sealed uncompressed (seal-batch.ts);
        // the 1-record part left over (38 bytes) never does, the 8-record parts always do.
        const sealedAs = part.recordCount > 1 ? codec : 'none';
        expect([batches[0].magic, batches[0].baseOffset, batches[0].compression]).to.deep.equal([2, 0, sealedAs]);
      }
      expect(parts.map((p) => p.recordCount), '25 records, at most half the batch per part').to.deep.equal([8, 8, 8, 1]);
      drainParts(t, parts);
      expectAllMemoryBack(t);
    });
  }

  it('is not expired 2 ms before its creation, and is at creation + delivery.timeout.ms', () => {
    const deliveryTimeoutMs = 10240;
    const t = createTestRecordAccumulator(512, 4 * 512, 'none', 0, { deliveryTimeoutMs }, NOW);
    appendNow(t, TP, null, Buffer.alloc(10));
    expect(t.acc.expiredBatches(NOW - 2)).to.have.length(0);
    expect(t.acc.expiredBatches(NOW + deliveryTimeoutMs - 1)).to.have.length(0);
    const expired = t.acc.expiredBatches(NOW + deliveryTimeoutMs);
    expect(expired).to.have.length(1);
    expect(expired[0].createdMs).to.equal(NOW);
    expired[0].done(-1, -1, new TimeoutError('expired'));
    expectAllMemoryBack(t);
  });

  it('a re-enqueued batch is not expired 2 ms before its creation', () => {
    const deliveryTimeoutMs = 10240;
    const t = createTestRecordAccumulator(512, 4 * 512, 'none', 0, { deliveryTimeoutMs }, NOW);
    t.cluster.setTopic(TP.topic, [0, 0]);
    appendNow(t, TP, null, Buffer.alloc(10));
    const [batch] = drainNode(t, [0], 0, 1 << 20, NOW);
    sendAndRelease(batch, NOW);
    t.acc.reenqueue(batch, NOW);
    expect(t.acc.expiredBatches(NOW - 2)).to.have.length(0);
    // The delivery timeout counts from creation, not from the re-enqueue.
    t.clock.advance(5000);
    expect(t.acc.expiredBatches(NOW + deliveryTimeoutMs)).to.deep.equal([batch]);
    batch.done(-1, -1, new TimeoutError('expired'));
    expectAllMemoryBack(t);
  });
});
