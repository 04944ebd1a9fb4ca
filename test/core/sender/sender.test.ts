/**
 * Focused tests of the Sender's rules, each on virtual time against the real in-memory
 * cluster (see sender-harness.ts): linger and wake-ups, no busy loop, retries and backoff,
 * delivery timeout (accumulating vs in flight, memory held until the request lets go),
 * MESSAGE_TOO_LARGE splitting, muting with one request in flight, idempotent sequences
 * across retries and the broker's duplicate detection, epoch bumps, the concurrency shapes
 * peers got wrong, flush and close.
 */
import { expect } from 'chai';
import type { RecordMetadata } from '../../../packages/core/src/accumulator/record-metadata.js';
import {
  AbortedError,
  BrokerError,
  ClosedError,
  RecordTooLargeError,
  TimeoutError,
} from '../../../packages/core/src/errors.js';
import { KafkaErrors } from '../../../packages/core/src/protocol/kafka-errors.js';
import { seededRandom } from '../../../packages/core/src/embedded/seeded-random.js';
import { DelayedSealer, FlakyCodecSealer, idValue, logIds, makeSim, paddedValue, track } from './sender-harness.js';
import type { Codec } from '../../../packages/core/src/compression/codec.js';
import { codecFor } from '../../../packages/core/src/compression/codecs.js';
import { CompressionType } from '../../../packages/core/src/format/compression-type.js';

const NOT_LEADER = KafkaErrors.NOT_LEADER_OR_FOLLOWER.code;

let unhandled = 0;
const onUnhandled = (): void => {
  unhandled++;
};

describe('Sender', () => {
  before(() => process.on('unhandledRejection', onUnhandled));
  after(() => {
    process.off('unhandledRejection', onUnhandled);
    expect(unhandled, 'unhandled rejections during the sender tests').to.equal(0);
  });

  describe('wake-ups', () => {
    it('sends a batch once it has lingered lingerMs, not before', async () => {
      const sim = makeSim({ config: { lingerMs: 50 } });
      const t0 = sim.scheduler.nowMs();
      const r = track(sim.producer.send({ topic: 't', partition: 0, value: 'v' }));
      await sim.scheduler.runFor(49);
      expect(sim.network.sent).to.have.length(0);
      await sim.runUntil(() => r.settled);
      expect(sim.network.sent).to.have.length(1);
      expect(sim.network.sent[0].atMs - t0).to.equal(50);
      expect(r.value!.offset).to.equal(0);
    });

    it('sends a full batch at once, without waiting for linger', async () => {
      const sim = makeSim({ config: { lingerMs: 100_000, deliveryTimeoutMs: 200_000 } });
      const t0 = sim.scheduler.nowMs();
      for (let i = 0; i < 6; i++) track(sim.producer.send({ topic: 't', partition: 0, value: paddedValue(i, 200) }));
      await sim.scheduler.runFor(0);
      expect(sim.network.sent).to.have.length(1);
      expect(sim.network.sent[0].atMs).to.equal(t0);
      expect(sim.network.sent[0].recordCount).to.be.greaterThan(1);
    });

    it('leaves no timer when nothing is pending: no busy loop while idle', async () => {
      const sim = makeSim();
      const r = track(sim.producer.send({ topic: 't', partition: 1, value: 'v' }));
      await sim.runUntil(() => r.settled);
      await sim.scheduler.runFor(0);
      expect(sim.scheduler.pendingTimers()).to.equal(0);
      const fired = sim.scheduler.firedTimers;
      await sim.scheduler.runFor(60_000);
      expect(sim.scheduler.firedTimers - fired).to.equal(0);
    });

    it('does not spin while a node is at its in-flight limit: a few timer firings per request', async () => {
      const sim = makeSim({ config: { maxInFlightRequestsPerConnection: 1, lingerMs: 0, bufferMemory: 1 << 20 }, cluster: { latencyMs: 100 } });
      const all: ReturnType<typeof track<RecordMetadata>>[] = [];
      for (let i = 0; i < 60; i++) all.push(track(sim.producer.send({ topic: 't', partition: 0, value: paddedValue(i, 300) })));
      const fired = sim.scheduler.firedTimers;
      await sim.runUntil(() => all.every((r) => r.settled));
      const requests = sim.network.sent.length;
      expect(requests).to.be.greaterThan(10);
      // Per request: arrival and answer in the cluster, one sender wake-up; nothing while waiting.
      expect(sim.scheduler.firedTimers - fired).to.be.at.most(requests * 4 + 10);
      expect(all.every((r) => r.error === undefined)).to.equal(true);
    });
  });

  describe('retries', () => {
    it('retries a retriable error with exponential backoff and ±20% jitter, capped at retryBackoffMaxMs (KIP-580)', async () => {
      const sim = makeSim({ config: { retryBackoffMs: 100, retryBackoffMaxMs: 1000, deliveryTimeoutMs: 60_000, lingerMs: 0 } });
      sim.cluster.injectErrors('t', 0, [NOT_LEADER, NOT_LEADER, NOT_LEADER, NOT_LEADER, NOT_LEADER, NOT_LEADER]);
      const r = track(sim.producer.send({ topic: 't', partition: 0, value: 'v' }));
      await sim.runUntil(() => r.settled);
      expect(r.error).to.equal(undefined);
      const times = sim.network.sent.map((s) => s.atMs);
      expect(times).to.have.length(7);
      const gaps = times.slice(1).map((t, i) => t - times[i]);
      const base = [100, 200, 400, 800, 1000, 1000];
      gaps.forEach((g, i) => {
        expect(g, `gap ${i}`).to.be.at.least(Math.floor(base[i] * 0.8));
        expect(g, `gap ${i}`).to.be.at.most(Math.min(Math.ceil(base[i] * 1.2), 1000));
      });
      expect(new Set(gaps.slice(0, 4).map((g, i) => g / base[i])).size, 'jitter varies').to.be.greaterThan(1);
      expect(sim.producer.metrics()['record-retry-total']).to.equal(6);
    });

    it('fails with the broker error once retries are used up', async () => {
      const sim = makeSim({ config: { retries: 2, enableIdempotence: false } });
      sim.cluster.injectErrors('t', 0, [NOT_LEADER, NOT_LEADER, NOT_LEADER, NOT_LEADER]);
      const r = track(sim.producer.send({ topic: 't', partition: 0, value: 'v' }));
      await sim.runUntil(() => r.settled);
      expect(r.error).to.be.instanceOf(BrokerError);
      expect((r.error as BrokerError).errorName).to.equal('NOT_LEADER_OR_FOLLOWER');
      expect(r.error!.message).to.contain('attempt 3');
      expect(sim.network.sent).to.have.length(3);
    });

    it('fails at once on a non-retriable error', async () => {
      const sim = makeSim();
      sim.cluster.injectErrors('t', 0, [KafkaErrors.INVALID_RECORD.code]);
      const r = track(sim.producer.send({ topic: 't', partition: 0, value: 'v' }));
      await sim.runUntil(() => r.settled);
      expect((r.error as BrokerError).errorCode).to.equal(87);
      expect(sim.network.sent).to.have.length(1);
      expect(sim.producer.metrics()['record-error-total']).to.equal(1);
    });

    it('retries every batch of a request that failed as a whole (broker down), then succeeds', async () => {
      const sim = makeSim({ cluster: { latencyMs: 2 } });
      const leader = sim.cluster.trueLeaderFor('t', 0);
      await sim.runUntil(() => sim.producer.sender.producerIdAndEpoch !== null, 100);
      sim.cluster.setBrokerDown(leader, true);
      const r = track(sim.producer.send({ topic: 't', partition: 0, value: 'v' }));
      await sim.scheduler.runFor(300);
      expect(r.settled).to.equal(false);
      sim.cluster.setBrokerDown(leader, false);
      await sim.runUntil(() => r.settled);
      expect(r.value!.offset).to.equal(0);
      expect(sim.network.sent.length).to.be.greaterThan(1);
    });
  });

  describe('delivery timeout', () => {
    it('expires a batch that cannot leave the accumulator, saying it was accumulating and for how long', async () => {
      // Every broker is down before the idempotent producer has its id: nothing can be drained.
      const sim = makeSim({ config: { deliveryTimeoutMs: 2000 } });
      for (const id of sim.cluster.brokerIds()) sim.cluster.setBrokerDown(id, true);
      const t0 = sim.scheduler.nowMs();
      const r = track(sim.producer.send({ topic: 't', partition: 0, value: 'v' }));
      await sim.runUntil(() => r.settled);
      expect(sim.scheduler.nowMs() - t0).to.equal(2000);
      expect(r.error).to.be.instanceOf(TimeoutError);
      expect(r.error!.message).to.match(/Expiring 1 record\(s\) for t-0: 2000 ms has passed since batch creation \(delivery\.timeout\.ms=2000\); the batch was accumulating \(never sent\)/);
      expect(sim.producer.accumulator.pool.availableMemory()).to.equal(sim.producer.accumulator.pool.totalMemory);
    });

    it('expires a batch in flight at its deadline but keeps its memory until the request lets go (KAFKA-17862)', async () => {
      const sim = makeSim({ config: { requestTimeoutMs: 1000, deliveryTimeoutMs: 1500, lingerMs: 0, retryBackoffMs: 10, retryBackoffMaxMs: 10 } });
      const pool = sim.producer.accumulator.pool;
      await sim.runUntil(() => sim.producer.sender.producerIdAndEpoch !== null, 100);
      sim.cluster.injectRequestTimeout(sim.cluster.trueLeaderFor('t', 0), 2);
      const t0 = sim.scheduler.nowMs();
      const r = track(sim.producer.send({ topic: 't', partition: 0, value: 'v' }));
      await sim.runUntil(() => r.settled);
      expect(sim.scheduler.nowMs() - t0).to.equal(1500);
      expect(r.error).to.be.instanceOf(TimeoutError);
      expect(r.error!.message).to.contain('1500 ms has passed since batch creation');
      expect(r.error!.message).to.contain('the batch was in flight (attempt 2');
      expect(pool.availableMemory(), 'the request still holds the bytes').to.be.lessThan(pool.totalMemory);
      await sim.runUntil(() => pool.availableMemory() === pool.totalMemory);
      expect(sim.scheduler.nowMs() - t0).to.equal(2010);
    });

    it('expires a batch waiting to retry, saying so', async () => {
      const sim = makeSim({ config: { deliveryTimeoutMs: 1100, retryBackoffMs: 1000, retryBackoffMaxMs: 1000, lingerMs: 0 } });
      sim.cluster.injectErrors('t', 0, [NOT_LEADER, NOT_LEADER]);
      const r = track(sim.producer.send({ topic: 't', partition: 0, value: 'v' }));
      await sim.runUntil(() => r.settled);
      expect(r.error!.message).to.contain('queued for retry after 2 attempt(s)');
    });

    it('never sends a batch after its delivery timeout', async () => {
      const sim = makeSim({ config: { deliveryTimeoutMs: 1100, requestTimeoutMs: 1000, lingerMs: 0 }, cluster: { latencyMs: 30 } });
      sim.cluster.injectErrors('t', 0, Array.from({ length: 50 }, () => NOT_LEADER));
      const r = track(sim.producer.send({ topic: 't', partition: 0, value: 'v' }));
      await sim.runUntil(() => r.settled);
      await sim.scheduler.runFor(5000);
      expect(r.error).to.be.instanceOf(TimeoutError);
      const created = sim.network.sent[0].baseTimestamp;
      for (const s of sim.network.sent) expect(s.atMs - created).to.be.lessThan(1100);
    });
  });

  describe('MESSAGE_TOO_LARGE', () => {
    it('splits a multi-record batch into smaller ones, in order, until they fit', async () => {
      const sim = makeSim({ config: { lingerMs: 1000 }, cluster: { messageMaxBytes: 500 } });
      const rs = Array.from({ length: 8 }, (_, i) => track(sim.producer.send({ topic: 't', partition: 0, value: paddedValue(i, 100) })));
      await sim.runUntil(() => rs.every((r) => r.settled));
      expect(rs.map((r) => r.value?.offset)).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7]);
      expect(logIds(sim.cluster, 't', 0)).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7]);
      expect(sim.producer.metrics()['batch-split-total']).to.be.at.least(1);
      expect(sim.network.sent.length).to.be.at.least(3);
      for (const s of sim.network.sent.slice(1)) expect(s.sizeBytes).to.be.at.most(500);
      const log = sim.cluster.log('t', 0);
      for (let i = 1; i < log.length; i++) expect(log[i].baseSequence).to.equal(log[i - 1].baseSequence + log[i - 1].recordCount);
      const pool = sim.producer.accumulator.pool;
      expect(pool.availableMemory()).to.equal(pool.totalMemory);
    });

    it('splits a compressed batch (decompressing it first)', async () => {
      const sim = makeSim({ config: { lingerMs: 1000, compressionType: 'gzip' }, cluster: { messageMaxBytes: 450 } });
      const random = seededRandom(7);
      const noisy = (id: number): string => {
        let s = `id-${id}:`;
        for (let i = 0; i < 150; i++) s += Math.floor(random() * 16).toString(16);
        return s;
      };
      const rs = Array.from({ length: 8 }, (_, i) => track(sim.producer.send({ topic: 't', partition: 1, value: noisy(i) })));
      await sim.runUntil(() => rs.every((r) => r.settled));
      expect(rs.map((r) => r.error?.message)).to.deep.equal(new Array(8).fill(undefined));
      expect(logIds(sim.cluster, 't', 1)).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7]);
      expect(sim.producer.metrics()['batch-split-total']).to.be.at.least(1);
      expect(sim.network.sent[0].sizeBytes, 'the first batch was compressed').to.be.lessThan(8 * 150);
    });

    it('fails a single record that is too large with RecordTooLargeError', async () => {
      const sim = makeSim({ cluster: { messageMaxBytes: 300 } });
      const r = track(sim.producer.send({ topic: 't', partition: 0, value: paddedValue(1, 400) }));
      await sim.runUntil(() => r.settled);
      expect(r.error).to.be.instanceOf(RecordTooLargeError);
      expect(r.error!.message).to.match(/rejected by the broker as too large: its batch of 1 record is \d+ bytes/);
    });
  });

  describe('ordering', () => {
    it('mutes a partition while its batch is in flight with maxInFlightRequestsPerConnection=1, keeping order across retries', async () => {
      const sim = makeSim({
        config: { maxInFlightRequestsPerConnection: 1, enableIdempotence: false, lingerMs: 0, bufferMemory: 1 << 20 },
        cluster: { latencyMs: 20 },
      });
      sim.cluster.injectErrors('t', 0, [NOT_LEADER, NOT_LEADER]);
      const rs = Array.from({ length: 30 }, (_, i) => track(sim.producer.send({ topic: 't', partition: 0, value: paddedValue(i, 300) })));
      await sim.runUntil(() => rs.every((r) => r.settled));
      const sends = sim.network.sent.filter((s) => s.partition === 0);
      for (let i = 1; i < sends.length; i++) expect(sends[i].atMs - sends[i - 1].atMs, `send ${i}`).to.be.at.least(40);
      expect(logIds(sim.cluster, 't', 0)).to.deep.equal(Array.from({ length: 30 }, (_, i) => i));
      expect(rs.map((r) => r.value!.offset)).to.deep.equal(Array.from({ length: 30 }, (_, i) => i));
    });

    it('keeps sequence numbers on retry and order across retries with several requests in flight (idempotence)', async () => {
      const sim = makeSim({ config: { lingerMs: 0, bufferMemory: 1 << 20 }, cluster: { latencyMs: 5 } });
      const first = track(sim.producer.send({ topic: 't', partition: 0, value: paddedValue(0, 300) }));
      await sim.runUntil(() => first.settled);
      sim.cluster.injectErrors('t', 0, [NOT_LEADER]);
      const rs = Array.from({ length: 9 }, (_, i) => track(sim.producer.send({ topic: 't', partition: 0, value: paddedValue(i + 1, 300) })));
      await sim.runUntil(() => rs.every((r) => r.settled));
      expect(rs.every((r) => r.error === undefined)).to.equal(true);
      const sends = sim.network.sent.filter((s) => s.partition === 0).slice(1);
      const seqs = sends.map((s) => s.baseSequence);
      // B, C, D pipelined; B refused, C and D refused as out of order; then B, C, D again with the same sequences.
      expect(sim.network.maxInFlight.get(sim.cluster.trueLeaderFor('t', 0))).to.be.greaterThan(1);
      const firstTry = seqs.slice(0, seqs.length / 2);
      expect(seqs.slice(seqs.length / 2)).to.deep.equal(firstTry);
      expect(new Set(sends.map((s) => s.producerEpoch))).to.deep.equal(new Set([0]));
      expect(sim.producer.sender.epochBumps).to.equal(0);
      expect(logIds(sim.cluster, 't', 0)).to.deep.equal(Array.from({ length: 10 }, (_, i) => i));
      const log = sim.cluster.log('t', 0);
      for (let i = 1; i < log.length; i++) expect(log[i].baseSequence).to.equal(log[i - 1].baseSequence + log[i - 1].recordCount);
    });

    it('is answered by the broker\'s duplicate detection when an acknowledged write is retried (no duplicate)', async () => {
      const sim = makeSim({ config: { requestTimeoutMs: 500, deliveryTimeoutMs: 5000 } });
      await sim.runUntil(() => sim.producer.sender.producerIdAndEpoch !== null, 100);
      sim.cluster.injectRequestTimeout(sim.cluster.trueLeaderFor('t', 0), 1, { appended: true });
      const r = track(sim.producer.send({ topic: 't', partition: 0, value: idValue(7) }));
      await sim.runUntil(() => r.settled);
      expect(r.value!.offset).to.equal(0);
      expect(sim.network.sent).to.have.length(2);
      expect(logIds(sim.cluster, 't', 0)).to.deep.equal([7]);
    });

    it('writes a duplicate in the same situation without idempotence (why it is on by default)', async () => {
      const sim = makeSim({ config: { requestTimeoutMs: 500, enableIdempotence: false } });
      sim.cluster.injectRequestTimeout(sim.cluster.trueLeaderFor('t', 0), 1, { appended: true });
      const r = track(sim.producer.send({ topic: 't', partition: 0, value: idValue(7) }));
      await sim.runUntil(() => r.settled);
      expect(logIds(sim.cluster, 't', 0)).to.deep.equal([7, 7]);
    });

    it('bumps the epoch and restarts sequences after a sent batch failed for good', async () => {
      const sim = makeSim({ config: { lingerMs: 0 } });
      const a = track(sim.producer.send({ topic: 't', partition: 0, value: idValue(0) }));
      await sim.runUntil(() => a.settled);
      sim.cluster.injectErrors('t', 0, [KafkaErrors.INVALID_RECORD.code]);
      const b = track(sim.producer.send({ topic: 't', partition: 0, value: idValue(1) }));
      await sim.runUntil(() => b.settled);
      expect((b.error as BrokerError).errorCode).to.equal(87);
      const c = track(sim.producer.send({ topic: 't', partition: 0, value: idValue(2) }));
      await sim.runUntil(() => c.settled);
      expect(c.error).to.equal(undefined);
      expect(sim.producer.sender.epochBumps).to.equal(1);
      const last = sim.network.sent[sim.network.sent.length - 1];
      expect([last.producerEpoch, last.baseSequence]).to.deep.equal([1, 0]);
      expect(logIds(sim.cluster, 't', 0)).to.deep.equal([0, 2]);
    });

    it('holds a second batch of a new sequence space until the first is acknowledged (a fresh broker accepts any first sequence)', async () => {
      const sim = makeSim({ config: { lingerMs: 0, bufferMemory: 1 << 20 }, cluster: { latencyMs: 10 } });
      sim.cluster.injectErrors('t', 0, [NOT_LEADER]);
      const rs = Array.from({ length: 9 }, (_, i) => track(sim.producer.send({ topic: 't', partition: 0, value: paddedValue(i, 300) })));
      await sim.runUntil(() => rs.every((r) => r.settled));
      expect(sim.network.sent[0].baseSequence).to.equal(0);
      expect(sim.network.sent[1].baseSequence, 'the refused first batch goes again before anything else').to.equal(0);
      expect(logIds(sim.cluster, 't', 0)).to.deep.equal(Array.from({ length: 9 }, (_, i) => i));
    });
  });

  describe('concurrent single-record sends to one partition (kafkajs#598, @platformatic/kafka#326)', () => {
    for (const faults of [false, true]) {
      it(`acks 5000 concurrent idempotent sends with distinct offsets in send order, none lost or duplicated${faults ? ', under faults' : ''}`, async () => {
        const sim = makeSim({
          seed: 598,
          config: { lingerMs: 1, bufferMemory: 1 << 20, requestTimeoutMs: 200, deliveryTimeoutMs: 120_000 },
          cluster: { latencyMs: (node) => 1 + node },
        });
        const leader = sim.cluster.trueLeaderFor('t', 0);
        if (faults) {
          for (let k = 0; k < 20; k++) {
            sim.scheduler.setTimeout(() => {
              if (k % 3 === 0) sim.cluster.injectErrors('t', 0, [NOT_LEADER, KafkaErrors.REQUEST_TIMED_OUT.code]);
              else if (k % 3 === 1) sim.cluster.injectRequestTimeout(leader, 1, { appended: k % 2 === 0 });
              else sim.cluster.injectErrors('t', 0, [KafkaErrors.NOT_ENOUGH_REPLICAS_AFTER_APPEND.code]);
            }, 3 * k);
          }
        }
        const n = 5000;
        const rs = Array.from({ length: n }, (_, i) => track(sim.producer.send({ topic: 't', partition: 0, value: idValue(i) })));
        await sim.runUntil(() => rs.every((r) => r.settled));
        expect(rs.filter((r) => r.error !== undefined).map((r) => r.error!.message)).to.deep.equal([]);
        expect(rs.map((r) => r.value!.offset)).to.deep.equal(Array.from({ length: n }, (_, i) => i));
        expect(logIds(sim.cluster, 't', 0)).to.deep.equal(Array.from({ length: n }, (_, i) => i));
        expect(sim.cluster.stats().rejected.OUT_OF_ORDER_SEQUENCE_NUMBER ?? 0, 'no out-of-order refusal without a fault').to.satisfy(
          (x: number) => faults || x === 0,
        );
      });
    }
  });

  describe('flush()', () => {
    it('resolves once every record appended before it is complete, not waiting for linger or for later records', async () => {
      const sim = makeSim({ config: { lingerMs: 100_000, deliveryTimeoutMs: 200_000 }, cluster: { latencyMs: 5 } });
      await sim.runUntil(() => sim.producer.sender.producerIdAndEpoch !== null, 100);
      const before = Array.from({ length: 10 }, (_, i) => track(sim.producer.send({ topic: 't', partition: i % 2, value: idValue(i) })));
      const flush = track(sim.producer.flush());
      await sim.scheduler.runFor(1); // the batches are drained and in flight
      // Records sent during the flush are sent too (everything is sendable while it runs),
      // but the flush does not wait for them: make them unable to finish.
      const down = sim.cluster.trueLeaderFor('t', 2);
      sim.cluster.setBrokerDown(down, true);
      const after = Array.from({ length: 5 }, (_, i) => track(sim.producer.send({ topic: 't', partition: 2, value: idValue(10 + i) })));
      await sim.runUntil(() => flush.settled);
      expect(sim.scheduler.nowMs() - sim.network.sent[0].atMs).to.be.lessThan(100);
      expect(before.every((r) => r.settled && r.error === undefined)).to.equal(true);
      expect(after.some((r) => r.settled)).to.equal(false);
      sim.cluster.setBrokerDown(down, false);
      const second = track(sim.producer.flush());
      await sim.runUntil(() => second.settled);
      expect(after.every((r) => r.settled && r.error === undefined)).to.equal(true);
    });

    it('covers records appended to a batch while it flushes, and records of a batch that was split meanwhile', async () => {
      const sim = makeSim({ config: { lingerMs: 100_000, deliveryTimeoutMs: 200_000 }, cluster: { messageMaxBytes: 400 } });
      const rs = Array.from({ length: 6 }, (_, i) => track(sim.producer.send({ topic: 't', partition: 0, value: paddedValue(i, 100) })));
      const flush = track(sim.producer.flush());
      await sim.runUntil(() => flush.settled);
      expect(rs.every((r) => r.settled && r.error === undefined)).to.equal(true);
      expect(sim.producer.metrics()['batch-split-total']).to.be.at.least(1);
    });
  });

  describe('close()', () => {
    it('drains gracefully: pending records complete, later sends fail with ClosedError, no timer is left', async () => {
      const sim = makeSim({ config: { lingerMs: 50 }, cluster: { latencyMs: 10 } });
      const rs = Array.from({ length: 20 }, (_, i) => track(sim.producer.send({ topic: 't', value: idValue(i), key: `k${i}` })));
      const closing = sim.producer.close();
      await sim.settle(closing);
      expect(rs.every((r) => r.settled && r.error === undefined)).to.equal(true);
      expect(sim.scheduler.pendingTimers()).to.equal(0);
      expect(() => sim.producer.send({ topic: 't', value: 'late' }, null)).to.throw(ClosedError);
      const late = track(sim.producer.send({ topic: 't', value: 'late' }));
      await sim.scheduler.runFor(0);
      expect(late.error).to.be.instanceOf(ClosedError);
      const pool = sim.producer.accumulator.pool;
      expect(pool.availableMemory()).to.equal(pool.totalMemory);
    });

    it('fails what is left after timeoutMs with an AbortedError that says so', async () => {
      const sim = makeSim();
      await sim.runUntil(() => sim.producer.sender.producerIdAndEpoch !== null, 100);
      sim.cluster.setBrokerDown(sim.cluster.trueLeaderFor('t', 0), true);
      const r = track(sim.producer.send({ topic: 't', partition: 0, value: 'v' }));
      const t0 = sim.scheduler.nowMs();
      await sim.settle(sim.producer.close({ timeoutMs: 300 }));
      expect(sim.scheduler.nowMs() - t0).to.be.at.least(300);
      expect(r.error).to.be.instanceOf(AbortedError);
      expect(r.error!.message).to.contain('timeoutMs=300');
      const pool = sim.producer.accumulator.pool;
      expect(pool.availableMemory()).to.equal(pool.totalMemory);
    });

    it('forced close returns at once, aborts everything, fails sends waiting for memory, and memory returns once requests let go', async () => {
      const sim = makeSim({ config: { bufferMemory: 2048, batchSize: 1024, lingerMs: 0, requestTimeoutMs: 5000, deliveryTimeoutMs: 10_000 }, cluster: { latencyMs: 1000 } });
      await sim.runUntil(() => sim.producer.sender.producerIdAndEpoch !== null);
      const inFlight = Array.from({ length: 6 }, (_, i) => track(sim.producer.send({ topic: 't', partition: i % 2, value: paddedValue(i, 300) })));
      await sim.scheduler.runFor(10);
      const waiting: (Error | null)[] = [];
      const waits: Promise<Error | null>[] = [];
      for (let i = 0; i < 3; i++) {
        const w = sim.producer.send({ topic: 't', partition: 2, value: paddedValue(100 + i, 300) }, (e) => waiting.push(e));
        expect(w, 'the send waits for memory').to.be.instanceOf(Promise);
        waits.push(w!);
      }
      expect(sim.producer.accumulator.pool.queuedWaiters()).to.be.greaterThan(0);
      const closed = track(sim.producer.close({ timeoutMs: 0 }));
      await sim.scheduler.runFor(0);
      expect(waiting).to.have.length(3);
      for (const e of waiting) expect(e).to.be.instanceOf(ClosedError);
      expect(inFlight.every((r) => r.error instanceof AbortedError)).to.equal(true);
      // The network is the test's, not the producer's: a forced close does not wait up to
      // request.timeout.ms for it to let go of the requests' bytes.
      expect(closed.settled, 'a forced close returns without waiting for requests in flight').to.equal(true);
      const pool = sim.producer.accumulator.pool;
      expect(pool.availableMemory(), 'the requests still hold their batches').to.be.lessThan(pool.totalMemory);
      await sim.scheduler.runUntilIdle();
      expect(pool.availableMemory()).to.equal(pool.totalMemory);
      expect(pool.queuedWaiters()).to.equal(0);
      expect(sim.scheduler.pendingTimers()).to.equal(0);
      expect(await Promise.all(waits), 'each wait resolves with the error that ended it').to.satisfy((es: (Error | null)[]) => es.every((e) => e instanceof ClosedError));
    });

    it('a forced close returns promptly while requests of its own (InitProducerId, metadata) are slow to answer', async () => {
      const sim = makeSim({ cluster: { latencyMs: 3000, autoCreateTopics: true } });
      const r = track(sim.producer.send({ topic: 't', partition: 0, value: 'v' }));
      const fresh = track(sim.producer.send({ topic: 'fresh', value: 'v' }));
      await sim.scheduler.runFor(100);
      const closed = track(sim.producer.close({ timeoutMs: 0 }));
      await sim.scheduler.runFor(0);
      expect(closed.settled, 'forced close settled at once').to.equal(true);
      expect(r.error).to.be.instanceOf(AbortedError);
      expect(fresh.error).to.be.instanceOf(ClosedError);
      await sim.scheduler.runUntilIdle();
      const pool = sim.producer.accumulator.pool;
      expect(pool.availableMemory()).to.equal(pool.totalMemory);
    });

    it('a forced close cuts a graceful close short', async () => {
      const sim = makeSim();
      await sim.runUntil(() => sim.producer.sender.producerIdAndEpoch !== null, 100);
      sim.cluster.setBrokerDown(sim.cluster.trueLeaderFor('t', 0), true);
      const r = track(sim.producer.send({ topic: 't', partition: 0, value: 'v' }));
      const graceful = track(sim.producer.close());
      await sim.scheduler.runFor(100);
      expect(graceful.settled).to.equal(false);
      const forced = sim.producer.close({ timeoutMs: 0 });
      await sim.settle(forced);
      expect(graceful.settled).to.equal(true);
      expect(r.error).to.be.instanceOf(AbortedError);
    });
  });

  describe('asynchronous (worker-style) sealing', () => {
    it('waits for eager seals before sending, keeping order and sequences', async () => {
      const sim = makeSim({ config: { lingerMs: 0, bufferMemory: 1 << 20 }, sealer: (s) => new DelayedSealer(s, 3), cluster: { latencyMs: 2 } });
      const rs = Array.from({ length: 40 }, (_, i) => track(sim.producer.send({ topic: 't', partition: 0, value: paddedValue(i, 200) })));
      await sim.runUntil(() => rs.every((r) => r.settled));
      expect(rs.map((r) => r.value!.offset)).to.deep.equal(Array.from({ length: 40 }, (_, i) => i));
      const log = sim.cluster.log('t', 0);
      for (let i = 1; i < log.length; i++) expect(log[i].baseSequence).to.equal(log[i - 1].baseSequence + log[i - 1].recordCount);
    });

    it('sends the requests to a node in drain order when their seals finish out of order (idempotent, 5 in flight: no OUT_OF_ORDER_SEQUENCE_NUMBER, no retry)', async () => {
      // Every seventh seal takes 30 ms, the others 1 ms: a request drained later is sealed
      // first. Sent at once, it overtook the earlier request of the same partition, and the
      // broker refused it (then everything behind it retried after a backoff).
      const sim = makeSim({
        config: { lingerMs: 0, enableIdempotence: true, maxInFlightRequestsPerConnection: 5, bufferMemory: 1 << 20 },
        sealer: (s) => new DelayedSealer(s, (n) => (n % 7 === 0 ? 30 : 1)),
        cluster: { brokers: 1, latencyMs: 4 },
      });
      const rs = Array.from({ length: 300 }, (_, i) => track(sim.producer.send({ topic: 't', partition: i % 3, value: paddedValue(i, 200) })));
      await sim.runUntil(() => rs.every((r) => r.settled));
      expect(rs.filter((r) => r.error !== undefined).map((r) => r.error!.message)).to.deep.equal([]);
      expect(sim.network.maxInFlight.get(0), 'several requests in flight at once').to.be.greaterThan(1);
      for (let p = 0; p < 3; p++) {
        const log = sim.cluster.log('t', p);
        expect(log.reduce((n, b) => n + b.recordCount, 0)).to.equal(100);
        for (let i = 1; i < log.length; i++) expect(log[i].baseSequence).to.equal(log[i - 1].baseSequence + log[i - 1].recordCount);
        // Each batch went out once, in sequence order: nothing was refused and sent again.
        const sentSequences = sim.network.sent.filter((b) => b.partition === p).map((b) => b.baseSequence);
        expect(sentSequences).to.deep.equal(log.map((b) => b.baseSequence));
      }
    });

    it('expires a drained batch still waiting for its seal, and frees it only when the seal is over', async () => {
      const sim = makeSim({ config: { deliveryTimeoutMs: 2000, lingerMs: 0 }, sealer: (s) => new DelayedSealer(s, 3000) });
      const pool = sim.producer.accumulator.pool;
      const t0 = sim.scheduler.nowMs();
      const r = track(sim.producer.send({ topic: 't', partition: 0, value: 'v' }));
      await sim.runUntil(() => r.settled);
      expect(sim.scheduler.nowMs() - t0).to.equal(2000);
      expect(r.error!.message).to.contain('the batch was drained and waiting to be sent (sealing)');
      expect(pool.availableMemory(), 'a seal is still writing the slot').to.be.lessThan(pool.totalMemory);
      await sim.runUntil(() => pool.availableMemory() === pool.totalMemory);
      expect(sim.scheduler.nowMs() - t0).to.equal(3000);
      expect(sim.network.sent).to.have.length(0);
    });

    it('fails the records of a batch whose seal failed, and goes on', async () => {
      const sim = makeSim({ config: { lingerMs: 0, enableIdempotence: false }, sealer: (s) => new DelayedSealer(s, 1, 1) });
      const r = track(sim.producer.send({ topic: 't', partition: 0, value: 'v' }));
      await sim.runUntil(() => r.settled);
      expect(r.error!.name).to.equal('SealError');
      expect(sim.producer.sender.lastInternalError).to.equal(null);
    });

    for (const mode of ['inline (sealed at drain)', 'worker-style (sealed eagerly)'] as const) {
      it(`with idempotence, a batch whose seal fails does not hold back the healthy batches behind it: ${mode}`, async () => {
        let compressions = 0;
        const gzip = codecFor(CompressionType.gzip)!;
        // The second batch's compression fails; every other one works.
        const flaky: Codec = {
          ...gzip,
          compress: (data: Uint8Array, level: number) => {
            if (++compressions === 2) throw new Error('codec failed on purpose');
            return gzip.compress(data, level);
          },
        };
        const sim = makeSim({
          config: { lingerMs: 0, compressionType: 'gzip', deliveryTimeoutMs: 8000, bufferMemory: 1 << 20 },
          producer: { resolveCodec: (id) => (id === CompressionType.gzip ? flaky : codecFor(id)) },
          sealer: mode === 'inline (sealed at drain)' ? undefined : (sc) => new FlakyCodecSealer(sc, flaky),
        });
        const t0 = sim.scheduler.nowMs();
        const rs: ReturnType<typeof track<RecordMetadata>>[] = [];
        for (let round = 0; round < 6; round++) {
          for (let i = 0; i < 5; i++) rs.push(track(sim.producer.send({ topic: 't', partition: 0, value: paddedValue(round * 5 + i, 100) })));
          await sim.scheduler.runFor(1);
        }
        await sim.runUntil(() => rs.every((r) => r.settled), 20_000);
        const failed = rs.filter((r) => r.error !== undefined);
        expect(failed.length, 'only the records of the batch whose seal failed').to.be.within(1, 10);
        expect(failed.every((r) => r.error!.name === 'SealError')).to.equal(true);
        expect(sim.scheduler.nowMs() - t0, 'healthy records are not held until they expire').to.be.lessThan(1000);
        const ok = rs.filter((r) => r.error === undefined).map((r) => r.value!.offset);
        expect(ok).to.deep.equal(Array.from({ length: ok.length }, (_, i) => i));
        expect(ok.length).to.equal(30 - failed.length);
        expect(sim.producer.sender.lastInternalError).to.equal(null);
      });
    }
  });

  describe('acks', () => {
    it('acks=0 completes records with offset -1 and writes them (idempotence off, KIP-679)', async () => {
      const sim = makeSim({ config: { acks: 0 } });
      expect(sim.producer.idempotent).to.equal(false);
      const rs = Array.from({ length: 3 }, (_, i) => track(sim.producer.send({ topic: 't', partition: 0, value: idValue(i) })));
      await sim.runUntil(() => rs.every((r) => r.settled));
      expect(rs.map((r) => r.value!.offset)).to.deep.equal([-1, -1, -1]);
      await sim.scheduler.runFor(10);
      expect(logIds(sim.cluster, 't', 0)).to.deep.equal([0, 1, 2]);
    });

    it('acks=1 completes with offsets', async () => {
      const sim = makeSim({ config: { acks: 1 } });
      const r = track(sim.producer.send({ topic: 't', partition: 2, value: 'v' }));
      await sim.runUntil(() => r.settled);
      expect(r.value!.offset).to.equal(0);
    });
  });
});
