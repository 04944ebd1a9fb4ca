/**
 * ProducerBatch on its own (no accumulator): appends, exactly-once completion, memory
 * released exactly once and only when nothing reads the bytes, sealing hand-off, and the
 * split hand-over of completions. Batches live in a real BufferPool slot; every test that
 * allocates ends with the pool balanced.
 */
import { expect } from 'chai';
import { BatchState } from '../../../packages/core/src/accumulator/batch-state.js';
import type { ProducerBatch } from '../../../packages/core/src/accumulator/producer-batch.js';
import type { RecordMetadata } from '../../../packages/core/src/accumulator/record-metadata.js';
import { AbortedError, IllegalStateError, SealError, TimeoutError } from '../../../packages/core/src/errors.js';
import { RECORD_BATCH_OVERHEAD } from '../../../packages/core/src/format/record-batch-layout.js';
import { readRecordBatches } from '../../../packages/core/src/format/record-batch-reader.js';
import { sizeOfRecord, sizeOfRecordBody } from '../../../packages/core/src/format/record-writer.js';
import { SlotState } from '../../../packages/core/src/memory/pool-layout.js';
import { sealBatch } from '../../../packages/core/src/sealing/seal-batch.js';
import { userHookErrorCounts } from '../../../packages/core/src/user-hook-error.js';
import {
  CallbackRecorder,
  appendRecord,
  appendWithCallback,
  appendWithPromise,
  makeLoneBatch,
  rejectionOf,
  sealInline,
  smallPool,
  succeed,
} from '../../helpers/producer-batch-factory.js';
import type { LoneBatch } from '../../helpers/producer-batch-factory.js';

function expectBalanced(l: LoneBatch): void {
  expect(l.pool.availableMemory(), 'pool balanced').to.equal(l.pool.totalMemory);
}

/** Lets process.emitWarning's nextTick and promise callbacks run. */
function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * How many record callbacks threw (as counted by `user-hook-error.ts`) while `body` ran. The
 * first throw of a process is also printed as a warning; it is swallowed here so that the
 * expected throws do not clutter the test output.
 */
function callbackThrowsDuring(body: () => void): number {
  const before = userHookErrorCounts()['record callback'];
  const original = process.emitWarning;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    if (rest[0] !== 'SluiceUserHookWarning') (original as (...args: unknown[]) => void).call(process, warning, ...rest);
  }) as typeof process.emitWarning;
  try {
    body();
  } finally {
    process.emitWarning = original;
  }
  return userHookErrorCounts()['record callback'] - before;
}

describe('ProducerBatch', () => {
  describe('tryAppend()', () => {
    it('returns offsetDeltas 0, 1, 2 and advances by the exact encoded size of each record', () => {
      const l = makeLoneBatch();
      const { batch } = l;
      expect(batch.remainingBytes).to.equal(1024 - RECORD_BATCH_OVERHEAD);
      const ts = [5_000, 5_003, 5_001];
      const values = ['v', 'value-1', 'a somewhat longer value two'];
      let used = 0;
      for (let i = 0; i < 3; i++) {
        const before = batch.remainingBytes;
        expect(appendRecord(batch, ts[i], `k${i}`, values[i])).to.equal(i);
        const size = sizeOfRecord(sizeOfRecordBody(i, ts[i] - ts[0], 2, Buffer.byteLength(values[i]), 1));
        expect(before - batch.remainingBytes, `record ${i} size`).to.equal(size);
        used += size;
      }
      expect(batch.recordCount).to.equal(3);
      expect(batch.recordsLength).to.equal(used);
      expect(batch.estimatedSizeInBytes()).to.equal(RECORD_BATCH_OVERHEAD + used);
      expect(batch.isSealed).to.equal(false);
      batch.done(-1, -1, new AbortedError('test over'));
      expectBalanced(l);
    });

    it('keeps the first record\'s timestamp as base and the largest as max, whatever their order', () => {
      const l = makeLoneBatch();
      appendRecord(l.batch, 1_000, null, 'a');
      appendRecord(l.batch, 900, null, 'b'); // earlier than base: negative delta
      appendRecord(l.batch, 1_700, null, 'c');
      appendRecord(l.batch, 1_200, null, 'd');
      expect([l.batch.baseTimestamp, l.batch.maxTimestamp]).to.deep.equal([1_000, 1_700]);
      sealInline(l.batch);
      const [decoded] = readRecordBatches(l.batch.sealedBytes());
      expect([decoded.baseTimestamp, decoded.maxTimestamp]).to.deep.equal([1_000, 1_700]);
      expect(decoded.records.map((r) => r.timestamp)).to.deep.equal([1_000, 900, 1_700, 1_200]);
      l.batch.done(-1, -1, new AbortedError('test over'));
      expectBalanced(l);
    });

    it('returns -1 and changes nothing when the record does not fit; a record ending on the slot\'s last byte fits', () => {
      const l = makeLoneBatch();
      const { batch } = l;
      while (batch.remainingBytes > 200) appendRecord(batch, 1, null, Buffer.alloc(100, 1));
      const count = batch.recordCount;
      // Find the value length whose record fills the rest exactly.
      let valueLength = 0;
      while (sizeOfRecord(sizeOfRecordBody(count, 0, -1, valueLength + 1, 1)) <= batch.remainingBytes) valueLength++;
      expect(sizeOfRecord(sizeOfRecordBody(count, 0, -1, valueLength, 1))).to.equal(batch.remainingBytes, 'an exact fit exists');
      const before = { remaining: batch.remainingBytes, length: batch.recordsLength };
      expect(appendRecord(batch, 1, null, Buffer.alloc(valueLength + 1, 2))).to.equal(-1);
      expect(batch.recordCount).to.equal(count);
      expect({ remaining: batch.remainingBytes, length: batch.recordsLength }).to.deep.equal(before);
      expect(appendRecord(batch, 1, null, Buffer.alloc(valueLength, 3))).to.equal(count);
      expect(batch.remainingBytes).to.equal(0);
      expect(appendRecord(batch, 1, null, null)).to.equal(-1);
      sealInline(batch);
      const [decoded] = readRecordBatches(batch.sealedBytes());
      expect(decoded.records).to.have.length(count + 1);
      expect(Buffer.from(decoded.records[count].value!)).to.deep.equal(Buffer.alloc(valueLength, 3));
      batch.done(-1, -1, new AbortedError('test over'));
      expectBalanced(l);
    });

    it('returns -1 once the batch is closed for appends, by closeForRecordAppends() or by beginSeal()', () => {
      const a = makeLoneBatch();
      expect(appendRecord(a.batch, 1, null, 'x')).to.equal(0);
      a.batch.closeForRecordAppends();
      a.batch.closeForRecordAppends(); // idempotent
      expect(a.batch.isClosed).to.equal(true);
      expect(appendRecord(a.batch, 1, null, 'y')).to.equal(-1);
      expect(a.batch.recordCount).to.equal(1);
      const b = makeLoneBatch({ pool: a.pool });
      appendRecord(b.batch, 1, null, 'x');
      b.batch.beginSeal();
      expect(b.batch.isClosed).to.equal(true);
      expect(appendRecord(b.batch, 1, null, 'y')).to.equal(-1);
      a.batch.done(-1, -1, new AbortedError('test over'));
      b.batch.done(-1, -1, new AbortedError('test over'));
      b.batch.failSeal(new Error('seal abandoned')); // the seal in progress answers: now the slot may go
      expectBalanced(a);
    });
  });

  describe('done()', () => {
    it('succeeds once: callbacks and promises get offset = baseOffset + offsetDelta, sizes and timestamps', async () => {
      const l = makeLoneBatch({ topic: 'orders', partition: 3 });
      const cb = new CallbackRecorder();
      appendWithCallback(l.batch, 7_000, 'key', 'v0', cb.callback);
      appendRecord(l.batch, 7_001, null, 'no completion asked');
      const p2 = appendWithPromise(l.batch, 7_002, null, 'v2');
      appendWithCallback(l.batch, 7_003, 'k', null, cb.callback);
      expect(succeed(l.batch, 500)).to.equal(true);
      expect(l.batch.state).to.equal(BatchState.SUCCEEDED);
      expect(l.batch.finalError).to.equal(null);
      expect(cb.calls.map((c) => c.error)).to.deep.equal([null, null]);
      expect(cb.calls.map((c) => c.metadata)).to.deep.equal([
        { topic: 'orders', partition: 3, offset: 500, timestamp: 7_000, serializedKeySize: 3, serializedValueSize: 2 },
        { topic: 'orders', partition: 3, offset: 503, timestamp: 7_003, serializedKeySize: 1, serializedValueSize: -1 },
      ]);
      expect(await p2).to.deep.equal({ topic: 'orders', partition: 3, offset: 502, timestamp: 7_002, serializedKeySize: -1, serializedValueSize: 2 });
      expectBalanced(l);
    });

    it('after a success, another success or failure throws IllegalStateError and tells no record again', () => {
      const l = makeLoneBatch();
      const cb = new CallbackRecorder();
      appendWithCallback(l.batch, 1, null, 'v', cb.callback);
      succeed(l.batch, 10);
      expect(() => l.batch.done(20, -1, null)).to.throw(IllegalStateError, /already succeeded/);
      expect(() => l.batch.done(-1, -1, new TimeoutError('late expiry'))).to.throw(IllegalStateError, /already succeeded/);
      expect(cb.calls).to.have.length(1);
      expect(cb.calls[0].metadata!.offset).to.equal(10);
      expect(l.batch.state).to.equal(BatchState.SUCCEEDED);
      expect(l.listened).to.have.length(1);
      expect(l.releases).to.have.length(1);
      expectBalanced(l);
    });

    it('fails every record with the error: AbortedError ends ABORTED, any other error FAILED', async () => {
      for (const [error, state] of [
        [new AbortedError('forced close'), BatchState.ABORTED],
        [new TimeoutError('expired after 120000 ms'), BatchState.FAILED],
      ] as const) {
        const l = makeLoneBatch();
        const cb = new CallbackRecorder();
        appendWithCallback(l.batch, 1, null, 'a', cb.callback);
        const p = appendWithPromise(l.batch, 1, null, 'b');
        expect(l.batch.done(-1, -1, error)).to.equal(true);
        expect(l.batch.state).to.equal(state);
        expect(l.batch.isDone).to.equal(true);
        expect(l.batch.finalError).to.equal(error);
        expect(cb.calls).to.deep.equal([{ error, metadata: null }]);
        expect(await rejectionOf(p)).to.equal(error);
        expect(l.listened).to.deep.equal([[l.batch, error]]);
        expectBalanced(l);
      }
    });

    it('returns false for any completion after a failure or an abort (a late answer after expiry), telling no record again', () => {
      const l = makeLoneBatch();
      const cb = new CallbackRecorder();
      appendWithCallback(l.batch, 1, null, 'v', cb.callback);
      sealInline(l.batch);
      l.batch.markInFlight(2);
      const expiry = new TimeoutError('expired in flight');
      expect(l.batch.done(-1, -1, expiry)).to.equal(true);
      expect(l.batch.done(40, -1, null)).to.equal(false, 'a success after the expiry');
      expect(l.batch.done(-1, -1, new AbortedError('abort'))).to.equal(false, 'an abort after the expiry');
      expect(l.batch.state).to.equal(BatchState.FAILED);
      expect(l.batch.finalError).to.equal(expiry);
      expect(cb.calls).to.deep.equal([{ error: expiry, metadata: null }]);
      expect(l.listened).to.have.length(1);
      l.batch.releaseNetworkHold();
      expect(l.releases).to.have.length(1);
      expectBalanced(l);
    });

    it('refuses a success before the batch is in flight, naming both states, and completes nothing', () => {
      const l = makeLoneBatch();
      const cb = new CallbackRecorder();
      appendWithCallback(l.batch, 1, null, 'v', cb.callback);
      expect(() => l.batch.done(0, -1, null)).to.throw(IllegalStateError, /illegal batch transition APPENDING -> SUCCEEDED/);
      sealInline(l.batch);
      expect(() => l.batch.done(0, -1, null)).to.throw(IllegalStateError, /illegal batch transition SEALED -> SUCCEEDED/);
      expect(l.batch.state).to.equal(BatchState.SEALED);
      expect(cb.calls).to.have.length(0);
      expect(l.listened).to.have.length(0);
      expect(l.releases).to.have.length(0);
      expect(succeed(l.batch, 0)).to.equal(true);
      expect(cb.calls).to.have.length(1);
      expectBalanced(l);
    });

    it('keeps completing the other records when callbacks throw, and counts each throw', async () => {
      const l = makeLoneBatch();
      const cb = new CallbackRecorder();
      appendWithCallback(l.batch, 1, null, 'a', () => {
        throw new Error('user bug in callback 0');
      });
      const p1 = appendWithPromise(l.batch, 1, null, 'b');
      appendWithCallback(l.batch, 1, null, 'c', cb.callback);
      appendWithCallback(l.batch, 1, null, 'd', () => {
        throw new Error('user bug in callback 3');
      });
      appendWithCallback(l.batch, 1, null, 'e', cb.callback);
      const throws = callbackThrowsDuring(() => {
        expect(succeed(l.batch, 100)).to.equal(true);
      });
      expect(throws).to.equal(2);
      expect((await p1).offset).to.equal(101);
      expect(cb.calls.map((c) => c.metadata!.offset)).to.deep.equal([102, 104]);
      expect(l.batch.state).to.equal(BatchState.SUCCEEDED);
      expect(l.listened).to.have.length(1);
      expectBalanced(l);
    });

    it('keeps failing the other records when a callback throws on failure', () => {
      const l = makeLoneBatch();
      const cb = new CallbackRecorder();
      appendWithCallback(l.batch, 1, null, 'a', () => {
        throw new Error('user bug on failure');
      });
      appendWithCallback(l.batch, 1, null, 'b', cb.callback);
      const error = new AbortedError('forced close');
      const throws = callbackThrowsDuring(() => {
        expect(l.batch.done(-1, -1, error)).to.equal(true);
      });
      expect(throws).to.equal(1);
      expect(cb.calls).to.deep.equal([{ error, metadata: null }]);
      expectBalanced(l);
    });

    it('gives every record the log-append time when the broker returns one, and offset -1 without a base offset (acks=0)', async () => {
      const a = makeLoneBatch();
      const pa = [appendWithPromise(a.batch, 100, null, 'x'), appendWithPromise(a.batch, 150, null, 'y')];
      succeed(a.batch, 7, 2_000, 99_999);
      expect((await Promise.all(pa)).map((m) => [m.offset, m.timestamp])).to.deep.equal([
        [7, 99_999],
        [8, 99_999],
      ]);
      const b = makeLoneBatch({ pool: a.pool });
      const pb = [appendWithPromise(b.batch, 100, null, 'x'), appendWithPromise(b.batch, 150, null, 'y')];
      succeed(b.batch, -1, 2_000, -1);
      expect((await Promise.all(pb)).map((m) => [m.offset, m.timestamp])).to.deep.equal([
        [-1, 100],
        [-1, 150],
      ]);
      expectBalanced(a);
    });

    it('whenDone() resolves once the batch is final, and at once for a final batch', async () => {
      const l = makeLoneBatch();
      appendRecord(l.batch, 1, null, 'v');
      let resolved = false;
      const pending = l.batch.whenDone().then(() => (resolved = true));
      await tick();
      expect(resolved).to.equal(false);
      l.batch.done(-1, -1, new TimeoutError('expired'));
      await pending;
      expect(resolved).to.equal(true);
      let again = false;
      await l.batch.whenDone().then(() => (again = true));
      expect(again).to.equal(true);
      expectBalanced(l);
    });
  });

  describe('memory release', () => {
    it('returns the slot once, when the batch is final AND no request holds its bytes', () => {
      const l = makeLoneBatch();
      appendRecord(l.batch, 1, null, 'v');
      sealInline(l.batch);
      l.batch.markInFlight(5);
      expect(l.pool.availableMemory()).to.equal(3 * 1024);
      l.batch.releaseNetworkHold(); // the request finished writing, the answer is pending
      expect(l.batch.isReleased, 'not final yet').to.equal(false);
      l.batch.prepareRetry(6, 6);
      l.batch.markInFlight(7);
      l.batch.done(-1, -1, new TimeoutError('expired in flight'));
      expect(l.batch.isReleased, 'final, but a request still holds the bytes').to.equal(false);
      expect(l.releases).to.have.length(0);
      expect(l.pool.availableMemory()).to.equal(3 * 1024);
      l.batch.releaseNetworkHold();
      expect(l.batch.isReleased).to.equal(true);
      expect(l.releases).to.deep.equal([l.batch.slot]);
      expectBalanced(l);
      expect(() => l.batch.releaseNetworkHold()).to.throw(IllegalStateError, /network hold released twice/);
      expect(l.releases).to.have.length(1);
      expectBalanced(l);
    });

    it('waits for every request holding the bytes (a retry sent while the earlier request still holds them)', () => {
      const l = makeLoneBatch();
      appendRecord(l.batch, 1, null, 'v');
      sealInline(l.batch);
      l.batch.markInFlight(10);
      l.batch.prepareRetry(11, 11); // the answer came back retriable; the first request is still being written
      l.batch.markInFlight(12);
      expect(l.batch.attempts).to.equal(2);
      l.batch.done(3, -1, null);
      l.batch.releaseNetworkHold();
      expect(l.batch.isReleased, 'one request still holds the bytes').to.equal(false);
      l.batch.releaseNetworkHold();
      expect(l.batch.isReleased).to.equal(true);
      expect(l.releases).to.have.length(1);
      expectBalanced(l);
    });

    it('returns the slot of a batch failed before it was sent at once', () => {
      const l = makeLoneBatch();
      appendRecord(l.batch, 1, null, 'v');
      expect(l.pool.availableMemory()).to.equal(3 * 1024);
      l.batch.done(-1, -1, new AbortedError('abort'));
      expect(l.batch.isReleased).to.equal(true);
      expect(l.releases).to.have.length(1);
      expectBalanced(l);
    });

    for (const answer of ['completeSeal', 'failSeal'] as const) {
      it(`keeps the slot while a seal is in progress even when the batch fails meanwhile, and returns it on ${answer}()`, () => {
        const l = makeLoneBatch();
        const cb = new CallbackRecorder();
        appendWithCallback(l.batch, 1, null, 'v', cb.callback);
        l.batch.beginSeal(); // a worker now writes the slot
        const abort = new AbortedError('forced close while sealing');
        l.batch.done(-1, -1, abort);
        expect(l.batch.state).to.equal(BatchState.ABORTED);
        expect(l.batch.isReleased, 'a worker may still be writing').to.equal(false);
        expect(l.pool.availableMemory()).to.equal(3 * 1024);
        if (answer === 'completeSeal') l.batch.completeSeal(RECORD_BATCH_OVERHEAD + l.batch.recordsLength);
        else l.batch.failSeal(new Error('worker died'));
        expect(l.batch.state, 'stays ABORTED').to.equal(BatchState.ABORTED);
        expect(l.batch.finalError).to.equal(abort);
        expect(l.batch.isSealed).to.equal(false);
        expect(cb.calls).to.deep.equal([{ error: abort, metadata: null }]);
        expect(l.releases).to.have.length(1);
        expectBalanced(l);
      });
    }

    it('returns the slot after retireAsSplit() only once the request that held it lets go', () => {
      const l = makeLoneBatch();
      for (let i = 0; i < 2; i++) appendRecord(l.batch, 1, null, `r${i}`);
      sealInline(l.batch);
      l.batch.markInFlight(3);
      const child = makeLoneBatch({ pool: l.pool });
      for (let i = 0; i < 2; i++) appendRecord(child.batch, 1, null, `r${i}`);
      l.batch.retireAsSplit([child.batch]);
      expect(l.batch.isReleased).to.equal(false);
      l.batch.releaseNetworkHold();
      expect(l.releases).to.have.length(1);
      child.batch.done(-1, -1, new AbortedError('test over'));
      expectBalanced(l);
    });
  });

  describe('sealing', () => {
    it('walks APPENDING → SEALING → SEALED → IN_FLIGHT → SUCCEEDED, mirroring each live state on the slot word', () => {
      const l = makeLoneBatch();
      appendRecord(l.batch, 1, 'k', 'v');
      const seen = (): [number, number] => [l.batch.state, l.pool.stateOf(l.batch.slot)];
      expect(seen()).to.deep.equal([BatchState.APPENDING, SlotState.APPENDING]);
      l.batch.beginSeal();
      expect(seen()).to.deep.equal([BatchState.SEALING, SlotState.SEALING]);
      expect(l.batch.isSealed).to.equal(false);
      expect(() => l.batch.sealedBytes()).to.throw(IllegalStateError, /not sealed \(state SEALING\)/);
      const spec = l.batch.sealSpec();
      const size = sealBatch(l.batch.bytes, l.batch.view, l.batch.byteOffset, { ...spec, codec: null });
      l.batch.completeSeal(size);
      expect(seen()).to.deep.equal([BatchState.SEALED, SlotState.SEALED]);
      expect(l.sealed).to.deep.equal([l.batch]);
      expect(l.batch.sizeBytes).to.equal(size);
      expect(l.batch.estimatedSizeInBytes()).to.equal(size);
      l.batch.markInFlight(9);
      expect(seen()).to.deep.equal([BatchState.IN_FLIGHT, SlotState.IN_FLIGHT]);
      expect([l.batch.attempts, l.batch.lastAttemptMs]).to.deep.equal([1, 9]);
      l.batch.done(0, -1, null);
      expect(l.pool.stateOf(l.batch.slot), 'the word stays until the slot is freed').to.equal(SlotState.IN_FLIGHT);
      l.batch.releaseNetworkHold();
      expect(l.pool.stateOf(l.batch.slot)).to.equal(SlotState.FREE);
      expectBalanced(l);
    });

    it('whenSealed() resolves when the seal completes, and at once when no seal is in progress', async () => {
      const l = makeLoneBatch();
      appendRecord(l.batch, 1, null, 'v');
      let early = false;
      await l.batch.whenSealed().then(() => (early = true));
      expect(early, 'APPENDING: nothing to wait for').to.equal(true);
      l.batch.beginSeal();
      let sealed = false;
      const pending = l.batch.whenSealed().then(() => (sealed = true));
      await tick();
      expect(sealed).to.equal(false);
      const size = sealBatch(l.batch.bytes, l.batch.view, l.batch.byteOffset, { ...l.batch.sealSpec(), codec: null });
      l.batch.completeSeal(size);
      await pending;
      expect(sealed).to.equal(true);
      l.batch.done(-1, -1, new AbortedError('test over'));
      expectBalanced(l);
    });

    it('writes the producer fields assigned while a worker sealed with the old ones, with a valid CRC', () => {
      const l = makeLoneBatch();
      for (let i = 0; i < 3; i++) appendRecord(l.batch, 1, null, `v${i}`);
      l.batch.beginSeal();
      const spec = l.batch.sealSpec(); // what the worker got: no producer id yet
      expect([spec.producerId, spec.baseSequence]).to.deep.equal([-1, -1]);
      l.batch.setProducerState(42, 3, 100, false); // drain assigns the sequence meanwhile
      const size = sealBatch(l.batch.bytes, l.batch.view, l.batch.byteOffset, { ...spec, codec: null });
      l.batch.completeSeal(size);
      const [decoded] = readRecordBatches(l.batch.sealedBytes()); // verifies the CRC
      expect([decoded.producerId, decoded.producerEpoch, decoded.baseSequence]).to.deep.equal([42, 3, 100]);
      l.batch.setProducerState(42, 4, 0, false); // epoch bump after sealing: rewritten in place
      const [again] = readRecordBatches(l.batch.sealedBytes());
      expect([again.producerId, again.producerEpoch, again.baseSequence]).to.deep.equal([42, 4, 0]);
      expect(again.records.map((r) => Buffer.from(r.value!).toString())).to.deep.equal(['v0', 'v1', 'v2']);
      l.batch.done(-1, -1, new AbortedError('test over'));
      expectBalanced(l);
    });

    it('failSeal() fails every record with a SealError (wrapping another error) and returns the slot', async () => {
      const l = makeLoneBatch();
      const p = appendWithPromise(l.batch, 1, null, 'v');
      l.batch.beginSeal();
      const cause = new RangeError('zstd exploded');
      l.batch.failSeal(cause);
      const error = await rejectionOf(p);
      expect(error).to.be.instanceOf(SealError);
      expect(error.message).to.equal('zstd exploded');
      expect((error as SealError).cause).to.equal(cause);
      expect(l.batch.state).to.equal(BatchState.FAILED);
      const sealError = new SealError('already a SealError');
      const m = makeLoneBatch({ pool: l.pool });
      const pm = appendWithPromise(m.batch, 1, null, 'v');
      m.batch.beginSeal();
      m.batch.failSeal(sealError);
      expect(await rejectionOf(pm)).to.equal(sealError);
      expect(l.sealed).to.deep.equal([l.batch], 'onSealed is told about a failed seal too');
      expectBalanced(l);
    });

    it('throws on completeSeal() of a batch that is not being sealed', () => {
      const l = makeLoneBatch();
      appendRecord(l.batch, 1, null, 'v');
      expect(() => l.batch.completeSeal(80)).to.throw(IllegalStateError, /completeSeal .* in state APPENDING/);
      expect(l.batch.state).to.equal(BatchState.APPENDING);
      expect(() => l.batch.markInFlight(1)).to.throw(IllegalStateError, /APPENDING -> IN_FLIGHT/);
      l.batch.done(-1, -1, new AbortedError('test over'));
      expectBalanced(l);
    });
  });

  describe('retry bookkeeping', () => {
    it('counts attempts, and backs off until retryAtMs only after a send', () => {
      const l = makeLoneBatch({ nowMs: 1_000 });
      appendRecord(l.batch, 1, null, 'v');
      expect([l.batch.createdMs, l.batch.lastAttemptMs, l.batch.attempts]).to.deep.equal([1_000, 1_000, 0]);
      l.batch.retryAtMs = 5_000;
      expect(l.batch.isBackingOff(1_500), 'never sent: no backoff').to.equal(false);
      sealInline(l.batch);
      l.batch.markInFlight(1_200);
      l.batch.releaseNetworkHold();
      l.batch.prepareRetry(1_300, 1_400);
      expect(l.batch.state).to.equal(BatchState.SEALED);
      expect([l.batch.attempts, l.batch.lastAttemptMs, l.batch.retryAtMs]).to.deep.equal([1, 1_300, 1_400]);
      expect(l.batch.isBackingOff(1_399)).to.equal(true);
      expect(l.batch.isBackingOff(1_400)).to.equal(false);
      l.batch.done(-1, -1, new AbortedError('test over'));
      expectBalanced(l);
    });
  });

  describe('retireAsSplit()', () => {
    /** A parent of 5 records (completions on 0, 1, 3, 4) split into children of 2 and 3 records. */
    function splitFixture(): {
      parent: LoneBatch;
      children: ProducerBatch[];
      cb: CallbackRecorder;
      promises: Promise<RecordMetadata>[];
    } {
      const pool = smallPool();
      const parent = makeLoneBatch({ pool, topic: 's', partition: 1, nowMs: 50 });
      const cb = new CallbackRecorder();
      const promises: Promise<RecordMetadata>[] = [];
      appendWithCallback(parent.batch, 100, 'k0', 'v0', cb.callback);
      promises.push(appendWithPromise(parent.batch, 101, null, 'value1'));
      appendRecord(parent.batch, 102, null, 'v2');
      appendWithCallback(parent.batch, 103, 'key3', 'v3', cb.callback);
      promises.push(appendWithPromise(parent.batch, 104, null, 'v4'));
      sealInline(parent.batch);
      parent.batch.markInFlight(200);
      parent.batch.releaseNetworkHold();
      const children = [2, 3].map((n, c) => {
        const child = makeLoneBatch({ pool, topic: 's', partition: 1, nowMs: 50 }).batch;
        for (let i = 0; i < n; i++) appendRecord(child, 100 + c * 2 + i, null, `copy${i}`);
        return child;
      });
      return { parent, children, cb, promises };
    }

    it('moves each record\'s completion to the child now holding it, renumbered within that child', async () => {
      const { parent, children, cb, promises } = splitFixture();
      parent.batch.retireAsSplit(children);
      expect(parent.batch.state).to.equal(BatchState.FAILED);
      expect(parent.batch.isDone).to.equal(true);
      expect(parent.batch.finalError).to.equal(null);
      expect(parent.batch.splitInto).to.deep.equal(children);
      expect(parent.listened, 'its records are not done: no listener call').to.have.length(0);
      expect(cb.calls).to.have.length(0);
      expect(parent.releases, 'no request holds it: its slot is back').to.have.length(1);
      succeed(children[1], 200);
      expect(cb.calls.map((c) => c.metadata)).to.deep.equal([
        { topic: 's', partition: 1, offset: 201, timestamp: 103, serializedKeySize: 4, serializedValueSize: 2 },
      ]);
      succeed(children[0], 100);
      expect(cb.calls.map((c) => c.metadata!.offset)).to.deep.equal([201, 100]);
      expect(cb.calls[1].metadata).to.deep.equal({ topic: 's', partition: 1, offset: 100, timestamp: 100, serializedKeySize: 2, serializedValueSize: 2 });
      const mds = await Promise.all(promises);
      expect(mds.map((m) => [m.offset, m.timestamp, m.serializedValueSize])).to.deep.equal([
        [101, 101, 6],
        [202, 104, 2],
      ]);
      expect(parent.batch.done(5, -1, null), 'a late answer to the split batch is ignored').to.equal(false);
      expectBalanced(parent);
    });

    it('fails each moved record with its child\'s error', async () => {
      const { parent, children, cb, promises } = splitFixture();
      parent.batch.retireAsSplit(children);
      const error = new TimeoutError('child expired');
      children[0].done(-1, -1, error);
      succeed(children[1], 7);
      expect(cb.calls).to.deep.equal([
        { error, metadata: null },
        { error: null, metadata: { topic: 's', partition: 1, offset: 8, timestamp: 103, serializedKeySize: 4, serializedValueSize: 2 } },
      ]);
      expect(await rejectionOf(promises[0])).to.equal(error);
      expect((await promises[1]).offset).to.equal(9);
      expectBalanced(parent);
    });

    it('resolves whenDone() of the split batch, also one asked for before the split, only when every child is done', async () => {
      const { parent, children } = splitFixture();
      let before = false;
      let after = false;
      void parent.batch.whenDone().then(() => (before = true));
      parent.batch.retireAsSplit(children);
      void parent.batch.whenDone().then(() => (after = true));
      succeed(children[0], 0);
      await tick();
      expect([before, after]).to.deep.equal([false, false]);
      succeed(children[1], 2);
      await tick();
      expect([before, after]).to.deep.equal([true, true]);
      expectBalanced(parent);
    });

    it('throws when the children do not hold exactly its records, or when it is already final', () => {
      const { parent, children } = splitFixture();
      expect(() => parent.batch.retireAsSplit([children[1]])).to.throw(IllegalStateError, /holding 3 records, expected 5/);
      expect(parent.batch.state, 'unchanged').to.equal(BatchState.IN_FLIGHT);
      parent.batch.retireAsSplit(children);
      expect(() => parent.batch.retireAsSplit(children)).to.throw(IllegalStateError, /already FAILED; cannot retire it as split/);
      for (const c of children) c.done(-1, -1, new AbortedError('test over'));
      expect(parent.releases).to.have.length(1);
      expectBalanced(parent);
    });
  });
});
