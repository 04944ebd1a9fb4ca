import { expect } from 'chai';
import type { ProducerBatch } from '../../packages/core/src/accumulator/producer-batch.js';
import type { RecordMetadata } from '../../packages/core/src/accumulator/record-metadata.js';
import { InMemoryCluster } from '../../packages/core/src/embedded/in-memory-cluster.js';
import { BufferExhaustedError, ClosedError, ConfigError, InvalidRecordError, RecordTooLargeError, TimeoutError } from '../../packages/core/src/errors.js';
import { murmur2, toPositive } from '../../packages/core/src/partitioner/murmur2.js';
import { Producer } from '../../packages/core/src/producer.js';
import { DefaultPartitioner } from '../../packages/core/src/partitioner/default-partitioner.js';
import type { ClusterView } from '../../packages/core/src/cluster/cluster.js';
import { idValue, logIds, makeSim, paddedValue, track } from './sender/sender-harness.js';
import { userHookErrorCounts } from '../../packages/core/src/user-hook-error.js';
import { captureWarnings } from '../helpers/warnings.js';

function activeTimers(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout' || r === 'Immediate').length;
}

describe('Producer', () => {
  describe('constructor', () => {
    it('rejects bad settings with ConfigError', () => {
      expect(() => new Producer({ config: { lingerMs: -1 } })).to.throw(ConfigError, /linger/);
      expect(() => new Producer({ config: { deliveryTimeoutMs: 10, requestTimeoutMs: 30000 } })).to.throw(ConfigError, /delivery\.timeout\.ms/);
    });

    it('rejects an explicit enableIdempotence with conflicting settings, and turns implicit idempotence off (KIP-679)', () => {
      expect(() => new Producer({ config: { enableIdempotence: true, acks: 1 } })).to.throw(ConfigError, /acks must be all/);
      expect(() => new Producer({ config: { 'enable.idempotence': 'true', maxInFlightRequestsPerConnection: 6 } })).to.throw(ConfigError, /<= 5, got 6/);
      expect(() => new Producer({ config: { enableIdempotence: true, retries: 0 } })).to.throw(ConfigError, /retries/);
      const sim = makeSim({ config: { maxInFlightRequestsPerConnection: 10 } });
      expect(sim.producer.idempotent).to.equal(false);
      expect(makeSim().producer.idempotent).to.equal(true);
    });
  });

  describe('send(record)', () => {
    it('resolves with the record metadata', async () => {
      const sim = makeSim();
      const r = track(sim.producer.send({ topic: 't', partition: 1, key: 'k', value: 'hello', timestamp: 1234, headers: [{ key: 'h', value: 'x' }] }));
      await sim.runUntil(() => r.settled);
      expect(r.value).to.deep.equal({ topic: 't', partition: 1, offset: 0, timestamp: 1234, serializedKeySize: 1, serializedValueSize: 5 });
      const [rec] = sim.cluster.readRecords('t', 1);
      expect(rec.headers.map((h) => [h.key, Buffer.from(h.value!).toString()])).to.deep.equal([['h', 'x']]);
    });

    it('partitions keyed records by Java-compatible murmur2 of the key', async () => {
      const sim = makeSim({ cluster: { topics: { k: 7 } } });
      const keys = Array.from({ length: 40 }, (_, i) => `user-${i}`);
      const rs = keys.map((key) => track(sim.producer.send({ topic: 'k', key, value: 'v' })));
      await sim.runUntil(() => rs.every((r) => r.settled));
      keys.forEach((key, i) => expect(rs[i].value!.partition).to.equal(toPositive(murmur2(Buffer.from(key))) % 7));
    });

    it('sends unkeyed records to one sticky partition for about batch.size bytes, then moves on (KIP-794)', async () => {
      const sim = makeSim({ config: { batchSize: 1024, lingerMs: 1000, bufferMemory: 1 << 20 }, cluster: { topics: { s: 4 } } });
      const rs = Array.from({ length: 60 }, (_, i) => track(sim.producer.send({ topic: 's', value: paddedValue(i, 100) })));
      await sim.runUntil(() => rs.every((r) => r.settled));
      const parts = rs.map((r) => r.value!.partition);
      let runs = 1;
      for (let i = 1; i < parts.length; i++) if (parts[i] !== parts[i - 1]) runs++;
      expect(runs, `partitions ${parts.join(',')}`).to.be.within(2, 12);
      // Only the last partition's last batch may be partly filled: the switch waits for a full batch.
      expect(sim.network.sent.filter((s) => s.sizeBytes < 900).length, 'batches fill before the partition changes').to.be.at.most(1);
    });

    it('completes a deferred sticky switch once the batch is drained: no fractional batches under linger (Kafka testBuiltInPartitionerFractionalBatches)', async () => {
      // Kafka's numbers: batch.size 512 (also the sticky limit), linger 10, 32-byte values,
      // ten rounds of 512 * 2 / 3 / 32 = 10 keyless records, the batch drained after each.
      const sim = makeSim({ config: { batchSize: 512, lingerMs: 10, bufferMemory: 1 << 20 }, cluster: { brokers: 1, topics: { s: 4 } } });
      await sim.runUntil(() => sim.producer.sender.producerIdAndEpoch !== null, 100);
      const value = Buffer.alloc(32);
      for (let round = 0; round < 10; round++) {
        const before = sim.network.sent.length;
        const rs = Array.from({ length: (512 * 2) / 3 / 32 } as { length: number }, () => track(sim.producer.send({ topic: 's', value })));
        expect(rs).to.have.length(10);
        await sim.runUntil(() => rs.every((r) => r.settled), 1000);
        const sent = sim.network.sent.slice(before);
        expect(sent, `round ${round}: one batch`).to.have.length(1);
        expect(sent[0].recordCount).to.equal(10);
        expect(sent[0].sizeBytes, `round ${round}: batch size`).to.be.greaterThan(512 / 2).and.lessThan(512);
      }
    });

    it('sees metadata changes at once although it caches per-topic lookups (leader lost, partition count changed)', async () => {
      const sim = makeSim({ config: { batchSize: 1024, lingerMs: 0, bufferMemory: 1 << 20 }, cluster: { topics: { s: 3 } } });
      const first = track(sim.producer.send({ topic: 's', value: 'a' }));
      await sim.runUntil(() => first.settled);
      const p = first.value!.partition;
      // The sticky partition loses its leader: the next unkeyed record must go elsewhere.
      sim.producer.metadata.cluster.setLeader('s', p, -1);
      const second = track(sim.producer.send({ topic: 's', value: 'b' }));
      const q = sim.producer.accumulator.partitionsWithBatches().map((tp) => tp.partition);
      expect(q).to.have.length(1);
      expect(q[0]).to.not.equal(p);
      await sim.runUntil(() => second.settled);
      expect(second.error).to.equal(undefined);
      expect(second.value!.partition).to.equal(q[0]);
      // The partition count the producer checks explicit partitions against follows the view.
      expect(() => sim.producer.send({ topic: 's', partition: 3, value: 'c' }, null)).to.throw(InvalidRecordError, /3 partition/);
      sim.producer.metadata.cluster.setTopic('s', [0, 1]);
      expect(() => sim.producer.send({ topic: 's', partition: 2, value: 'c' }, null)).to.throw(InvalidRecordError, /2 partition/);
    });

    it('asks a DefaultPartitioner subclass that overrides partition() for every unkeyed record, and reports lastPartition', async () => {
      class EveryOther extends DefaultPartitioner {
        calls = 0;
        override partition(topic: string, key: Uint8Array | string | null, size: number, cluster: ClusterView): number {
          this.calls++;
          return key === null ? this.calls % 2 : super.partition(topic, key, size, cluster);
        }
      }
      const partitioner = new EveryOther();
      const sim = makeSim({ producer: { partitioner }, config: { lingerMs: 1000, bufferMemory: 1 << 20 } });
      expect(sim.producer.lastPartition).to.equal(-1);
      const seen: number[] = [];
      for (let i = 0; i < 6; i++) {
        sim.producer.send({ topic: 't', value: 'v' }, null);
        seen.push(sim.producer.lastPartition);
      }
      expect(partitioner.calls).to.equal(6);
      expect(seen).to.deep.equal([1, 0, 1, 0, 1, 0]);
      sim.producer.send({ topic: 't', partition: 2, value: 'v' }, null);
      expect(sim.producer.lastPartition).to.equal(2);
      await sim.settle(sim.producer.flush());
    });

    it('takes headers as an object too', async () => {
      const sim = makeSim();
      const r = track(sim.producer.send({ topic: 't', partition: 0, value: 'v', headers: { a: '1', b: null } }));
      await sim.runUntil(() => r.settled);
      const [rec] = sim.cluster.readRecords('t', 0);
      expect(rec.headers.map((h) => [h.key, h.value === null ? null : Buffer.from(h.value).toString()])).to.deep.equal([['a', '1'], ['b', null]]);
    });

    it('rejects an invalid record, naming the field', async () => {
      const sim = makeSim();
      const results = [
        track(sim.producer.send({ topic: '', value: 'v' })),
        track(sim.producer.send({ topic: 't', partition: 9, value: 'v' })),
        track(sim.producer.send({ topic: 't', partition: 0, value: 42 as unknown as string })),
        track(sim.producer.send({ topic: 't', partition: 0, value: 'v', timestamp: -5 })),
      ];
      await sim.scheduler.runFor(0);
      expect(results.map((r) => (r.error as InvalidRecordError).field)).to.deep.equal(['topic', 'partition', 'value', 'timestamp']);
      expect(results[1].error!.message).to.contain('has 3 partition(s)');
    });

    it('rejects a record larger than maxRequestSize with RecordTooLargeError', async () => {
      const sim = makeSim({ config: { maxRequestSize: 1000 } });
      const r = track(sim.producer.send({ topic: 't', partition: 0, value: 'x'.repeat(2000) }));
      await sim.scheduler.runFor(0);
      expect(r.error).to.be.instanceOf(RecordTooLargeError);
    });

    it('waits for metadata of an unknown topic (auto-created) and fails after maxBlockMs when it never comes', async () => {
      const sim = makeSim({ config: { maxBlockMs: 500 }, cluster: { autoCreateTopics: true } });
      const r = track(sim.producer.send({ topic: 'fresh', key: 'k', value: 'v' }));
      await sim.runUntil(() => r.settled);
      expect(r.value!.topic).to.equal('fresh');
      const strict = makeSim({ config: { maxBlockMs: 500 } });
      const t0 = strict.scheduler.nowMs();
      const never = track(strict.producer.send({ topic: 'missing', value: 'v' }));
      await strict.runUntil(() => never.settled);
      expect(never.error).to.be.instanceOf(TimeoutError);
      expect(never.error!.message).to.match(/topic missing not present in metadata after \d+ ms \(max\.block\.ms=500\)/);
      expect(strict.scheduler.nowMs() - t0).to.be.at.least(500);
    });
  });

  describe('send(record, callback)', () => {
    it('returns undefined when the record is in a batch and calls back exactly once', async () => {
      const sim = makeSim();
      const seen: (RecordMetadata | null)[] = [];
      const ret = sim.producer.send({ topic: 't', partition: 2, value: 'v' }, (e, md) => {
        expect(e).to.equal(null);
        seen.push(md);
      });
      expect(ret).to.equal(undefined);
      await sim.runUntil(() => seen.length > 0);
      await sim.scheduler.runFor(100);
      expect(seen).to.have.length(1);
      expect(seen[0]!.offset).to.equal(0);
    });

    it('accepts a null callback: no per-record completion, batches reported to batchListener', async () => {
      const batches: { n: number; err: Error | null }[] = [];
      const sim = makeSim({ producer: { batchListener: (b: ProducerBatch, err) => batches.push({ n: b.recordCount, err }) } });
      for (let i = 0; i < 10; i++) expect(sim.producer.send({ topic: 't', partition: i % 3, value: idValue(i) }, null)).to.equal(undefined);
      await sim.settle(sim.producer.flush());
      expect(batches.reduce((a, b) => a + b.n, 0)).to.equal(10);
      expect(batches.every((b) => b.err === null)).to.equal(true);
    });

    it('returns a promise while it waits for memory (backpressure), resolving once the record is in a batch', async () => {
      const sim = makeSim({ config: { bufferMemory: 2048, lingerMs: 0 }, cluster: { latencyMs: 50 } });
      const waits: Promise<Error | null>[] = [];
      const results: (Error | null)[] = [];
      for (let i = 0; i < 12; i++) {
        const w = sim.producer.send({ topic: 't', partition: 0, value: paddedValue(i, 300) }, (e) => results.push(e));
        if (w !== undefined) waits.push(w);
      }
      expect(waits.length).to.be.greaterThan(0);
      await sim.runUntil(() => results.length === 12);
      expect(results.every((e) => e === null)).to.equal(true);
      expect(logIds(sim.cluster, 't', 0)).to.deep.equal(Array.from({ length: 12 }, (_, i) => i));
      expect(sim.producer.metrics()['bufferpool-wait-ratio']).to.be.greaterThan(0);
      expect(await Promise.all(waits)).to.deep.equal(new Array(waits.length).fill(null));
    });

    it('fails fast with BufferExhaustedError, thrown at once, when maxBlockMs is 0', async () => {
      const sim = makeSim({ config: { bufferMemory: 2048, maxBlockMs: 0, lingerMs: 1000 } });
      let thrown: unknown = null;
      let accepted = 0;
      for (let i = 0; i < 20 && thrown === null; i++) {
        try {
          sim.producer.send({ topic: 't', partition: i % 3, value: paddedValue(i, 300) }, null);
          accepted++;
        } catch (e) {
          thrown = e;
        }
      }
      expect(thrown).to.be.instanceOf(BufferExhaustedError);
      expect((thrown as Error).message).to.match(/could not allocate 1024 bytes within maxBlockMs=0; total 2048, available 0/);
      expect(accepted).to.be.greaterThan(0);
      const viaPromise = track(sim.producer.send({ topic: 't', partition: 2, value: paddedValue(99, 300) }));
      await sim.scheduler.runFor(0);
      expect(viaPromise.error).to.be.instanceOf(BufferExhaustedError);
    });

    it('throws ClosedError after close', async () => {
      const sim = makeSim();
      await sim.settle(sim.producer.close());
      expect(() => sim.producer.send({ topic: 't', value: 'v' }, null)).to.throw(ClosedError);
    });
  });

  describe('every record completes, on time', () => {
    it('completes every batch of an answer when the batchListener throws, warns once, returns memory and closes', async () => {
      let calls = 0;
      const batchListener = (): void => {
        calls++;
        throw new Error('listener bug');
      };
      // 6 partitions on 3 brokers: every produce request carries two batches.
      const sim = makeSim({ producer: { batchListener }, cluster: { topics: { t: 6 } } });
      const before = userHookErrorCounts().batchListener;
      const warnings = captureWarnings('SluiceUserHookWarning');
      try {
        const rs = Array.from({ length: 60 }, (_, i) => track(sim.producer.send({ topic: 't', partition: i % 6, value: idValue(i) })));
        await sim.runUntil(() => rs.every((r) => r.settled), 10_000);
        expect(rs.filter((r) => r.settled).length, 'records completed').to.equal(60);
        expect(rs.every((r) => r.error === undefined)).to.equal(true);
        expect(calls).to.equal(userHookErrorCounts().batchListener - before);
        expect(calls).to.be.at.least(6);
        await sim.settle(sim.producer.close());
        const pool = sim.producer.accumulator.pool;
        expect(pool.availableMemory()).to.equal(pool.totalMemory);
        expect(warnings.length, 'one warning per kind of hook, not one per throw').to.be.at.most(1);
      } finally {
        warnings.stop();
      }
    });

    it('rejects a negative partition with InvalidRecordError at once, without asking for metadata', async () => {
      const sim = makeSim();
      const updates = sim.producer.metadata.updates;
      expect(() => sim.producer.send({ topic: 't', partition: -1, value: 'v' }, null)).to.throw(InvalidRecordError, /partition must be an integer in \[0, 2147483647\]/);
      expect(() => sim.producer.send({ topic: 'unknown', partition: -1, value: 'v' }, () => undefined)).to.throw(InvalidRecordError);
      const r = track(sim.producer.send({ topic: 't', partition: -1, value: 'v' }));
      const fractional = track(sim.producer.send({ topic: 't', partition: 1.5, value: 'v' }));
      await sim.scheduler.runFor(1000);
      expect((r.error as InvalidRecordError).field).to.equal('partition');
      expect((fractional.error as InvalidRecordError).field).to.equal('partition');
      expect(sim.producer.metadata.updates, 'no metadata request').to.equal(updates);
      expect(sim.network.sent).to.have.length(0);
    });

    it('close() lets a send that waits for metadata finish: it fails after max.block.ms (promise and callback styles)', async () => {
      const sim = makeSim({ config: { maxBlockMs: 500 } });
      const viaPromise = track(sim.producer.send({ topic: 'missing', value: 'v' }));
      const called: (Error | null)[] = [];
      const wait = sim.producer.send({ topic: 'missing', value: 'w' }, (e) => called.push(e));
      expect(wait).to.be.instanceOf(Promise);
      const t0 = sim.scheduler.nowMs();
      const closed = track(sim.producer.close());
      await sim.runUntil(() => closed.settled, 10_000);
      expect(closed.settled).to.equal(true);
      expect(sim.scheduler.nowMs() - t0).to.be.within(500, 600);
      expect(viaPromise.error).to.be.instanceOf(TimeoutError);
      expect(called).to.have.length(1);
      expect(called[0]).to.be.instanceOf(TimeoutError);
      expect(await wait).to.equal(called[0]);
    });

    it('a forced close fails a send waiting for metadata at once with ClosedError', async () => {
      const sim = makeSim({ config: { maxBlockMs: 60_000 } });
      const r = track(sim.producer.send({ topic: 'missing', value: 'v' }));
      const called: (Error | null)[] = [];
      sim.producer.send({ topic: 'missing', value: 'w' }, (e) => called.push(e));
      await sim.scheduler.runFor(10);
      const closed = track(sim.producer.close({ timeoutMs: 0 }));
      await sim.scheduler.runFor(0);
      expect(closed.settled).to.equal(true);
      expect(r.error).to.be.instanceOf(ClosedError);
      expect(called[0]).to.be.instanceOf(ClosedError);
      expect(sim.scheduler.pendingTimers()).to.equal(0);
    });

    it("a new user's first program delivers: three sends to a new topic, flush, close", async () => {
      const sim = makeSim({ cluster: { autoCreateTopics: true } });
      const rs = ['a', 'b', 'c'].map((v) => track(sim.producer.send({ topic: 'brand-new', value: v })));
      const flushed = track(sim.producer.flush());
      await sim.runUntil(() => flushed.settled);
      expect(rs.every((r) => r.settled && r.error === undefined), 'flush covers sends still waiting for metadata').to.equal(true);
      await sim.settle(sim.producer.close());
      expect(sim.cluster.readRecords('brand-new', 0).map((r) => Buffer.from(r.value!).toString())).to.deep.equal(['a', 'b', 'c']);
    });

    it("a new user's first program delivers with close alone too (no flush)", async () => {
      const sim = makeSim({ cluster: { autoCreateTopics: true } });
      const called: (Error | null)[] = [];
      for (const v of ['a', 'b', 'c']) sim.producer.send({ topic: 'brand-new', value: v }, (e) => called.push(e));
      await sim.settle(sim.producer.close());
      expect(called).to.deep.equal([null, null, null]);
      expect(sim.cluster.highWatermark('brand-new', 0)).to.equal(3);
    });

    it('fails a partition beyond the count of an auto-created topic once metadata shows it, not after delivery.timeout.ms', async () => {
      const sim = makeSim({ cluster: { autoCreateTopics: true }, config: { maxBlockMs: 60_000 } });
      const t0 = sim.scheduler.nowMs();
      const r = track(sim.producer.send({ topic: 'one-partition', partition: 5, value: 'v' }));
      await sim.runUntil(() => r.settled, 120_000);
      expect(r.error).to.be.instanceOf(InvalidRecordError);
      expect(r.error!.message).to.match(/partition is 5, but topic one-partition has 1 partition\(s\)/);
      expect(sim.scheduler.nowMs() - t0).to.be.lessThan(100);
    });
  });

  describe('input checks', () => {
    it('takes a header whose value is undefined as null, and headers given as a Map', async () => {
      const sim = makeSim();
      const a = track(sim.producer.send({ topic: 't', partition: 0, value: 'v', headers: [{ key: 'u', value: undefined as unknown as null }] }));
      const b = track(sim.producer.send({ topic: 't', partition: 0, value: 'w', headers: new Map<string, string | null>([['m', '1'], ['n', null]]) }));
      await sim.runUntil(() => a.settled && b.settled);
      expect(a.error).to.equal(undefined);
      expect(b.error).to.equal(undefined);
      const recs = sim.cluster.readRecords('t', 0);
      const hs = recs.map((r) => r.headers.map((h) => [h.key, h.value === null ? null : Buffer.from(h.value).toString()]));
      expect(hs).to.deep.equal([[['u', null]], [['m', '1'], ['n', null]]]);
    });

    it('rejects unknown record fields, naming them, and says how to send several records for kafkajs-style messages', async () => {
      const sim = makeSim();
      expect(() => sim.producer.send({ topic: 't', messages: [{ value: 'v' }] } as never, null)).to.throw(InvalidRecordError, /unknown: "messages".*call send\(\) once per record/);
      try {
        sim.producer.send({ topic: 't', value: 'v', partiton: 1, timeStamp: 5 } as never, null);
        expect.fail('should throw');
      } catch (e) {
        expect(e).to.be.instanceOf(InvalidRecordError);
        expect((e as InvalidRecordError).field).to.equal('partiton');
        expect((e as Error).message).to.contain('"partiton", "timeStamp"');
      }
      await sim.scheduler.runFor(100);
      expect(sim.producer.accumulator.hasIncomplete(), 'nothing was appended').to.equal(false);
    });

    it('checks topic names as Kafka does, and throws a bad topic at once in callback style', async () => {
      const sim = makeSim();
      for (const topic of ['', '.', '..', 'a b', 'ümlaut', 'x'.repeat(250), 'a/b']) {
        expect(() => sim.producer.send({ topic, value: 'v' }, null), JSON.stringify(topic)).to.throw(InvalidRecordError);
      }
      expect(() => sim.producer.send({ topic: 42 as unknown as string, value: 'v' }, () => undefined)).to.throw(InvalidRecordError, /topic must be a string/);
      expect(() => sim.producer.send({ topic: 'a b', value: 'v' }, () => undefined)).to.throw(InvalidRecordError, /contains " "/);
      // Legal names are taken (these wait for metadata): letters, digits, '.', '_', '-', up to 249 characters.
      for (const topic of ['x'.repeat(249), 'Events.v2_raw-9', '...']) {
        expect(sim.producer.send({ topic, value: 'v' }, () => undefined), topic).to.be.instanceOf(Promise);
      }
      await sim.settle(sim.producer.close({ timeoutMs: 0 }));
    });

    it("checks append's options", () => {
      const sim = makeSim();
      const acc = sim.producer.accumulator;
      const tp = { topic: 't', partition: 0 };
      expect(() => acc.append(tp, null, null, 'v', null, null, { maxBlockMs: -1 })).to.throw(InvalidRecordError, /options\.maxBlockMs/);
      expect(() => acc.append(tp, null, null, 'v', null, null, { maxBlockMs: Number.NaN })).to.throw(InvalidRecordError, /options\.maxBlockMs/);
      expect(() => acc.append(tp, null, null, 'v', null, null, { nowMs: -3 })).to.throw(InvalidRecordError, /options\.nowMs/);
      expect(() => acc.append(tp, null, null, 'v', null, null, { nowMs: 'soon' as unknown as number })).to.throw(InvalidRecordError, /options\.nowMs/);
      expect(() => acc.append(tp, null, null, 'v', null, null, { abortOnNewBatch: 1 as unknown as boolean })).to.throw(InvalidRecordError, /options\.abortOnNewBatch/);
      expect(acc.hasIncomplete(), 'nothing appended').to.equal(false);
    });
  });

  describe('metrics()', () => {
    it('reads Kafka-named metrics as a plain object', async () => {
      const sim = makeSim();
      const rs = Array.from({ length: 10 }, (_, i) => track(sim.producer.send({ topic: 't', partition: 0, value: idValue(i) })));
      await sim.runUntil(() => rs.every((r) => r.settled));
      const m = sim.producer.metrics();
      for (const name of [
        'record-queue-time-avg',
        'record-queue-time-max',
        'batch-size-avg',
        'compression-rate-avg',
        'records-per-request-avg',
        'record-retry-rate',
        'record-error-rate',
        'buffer-available-bytes',
        'bufferpool-wait-ratio',
        'requests-in-flight',
      ]) {
        expect(m, name).to.have.property(name).that.is.a('number');
      }
      expect(m['record-send-total']).to.equal(10);
      expect(m['records-per-request-avg']).to.equal(10);
      expect(m['buffer-available-bytes']).to.equal(m['buffer-total-bytes']);
      expect(m['requests-in-flight']).to.equal(0);
      expect(JSON.parse(JSON.stringify(m))).to.be.an('object');
    });
  });

  describe('with the defaults (embedded cluster, system timers)', () => {
    it('sends to an auto-created topic, then closes leaving no timer behind', async () => {
      await new Promise((r) => setTimeout(r, 1)); // let mocha arm its own test timer first
      const before = activeTimers();
      const producer = new Producer({ config: { lingerMs: 1 } });
      const rs = await Promise.all(Array.from({ length: 100 }, (_, i) => producer.send({ topic: 'events', key: `k${i % 7}`, value: `v${i}` })));
      expect(rs.map((r) => r.offset).sort((a, b) => a - b)).to.deep.equal(Array.from({ length: 100 }, (_, i) => i));
      await producer.flush();
      await new Promise((r) => setTimeout(r, 5));
      expect(activeTimers(), 'idle: no timer of the producer').to.equal(before);
      await producer.close();
      expect(activeTimers()).to.equal(before);
      expect(producer.accumulator.pool.availableMemory()).to.equal(producer.accumulator.pool.totalMemory);
      expect((producer.network as InMemoryCluster).highWatermark('events', 0)).to.equal(100);
    });
  });
});
