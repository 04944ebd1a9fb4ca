import { expect } from 'chai';
import type { Codec } from '../../../packages/core/src/compression/codec.js';
import { codecByName } from '../../../packages/core/src/compression/codecs.js';
import { InMemoryCluster } from '../../../packages/core/src/embedded/in-memory-cluster.js';
import type { InMemoryClusterOptions } from '../../../packages/core/src/embedded/in-memory-cluster.js';
import { VirtualScheduler } from '../../../packages/core/src/embedded/virtual-scheduler.js';
import { BrokerError, ClosedError, IllegalStateError, TimeoutError } from '../../../packages/core/src/errors.js';
import { readInt64 } from '../../../packages/core/src/format/batch-header-writer.js';
import { readRecordBatches } from '../../../packages/core/src/format/record-batch-reader.js';
import {
  ATTRIBUTES_OFFSET,
  BASE_OFFSET_OFFSET,
  COMPRESSION_CODEC_MASK,
  CRC_OFFSET,
  MAGIC_OFFSET,
  PARTITION_LEADER_EPOCH_OFFSET,
  RECORD_BATCH_OVERHEAD,
} from '../../../packages/core/src/format/record-batch-layout.js';
import { byteLengthOf } from '../../../packages/core/src/format/record-data.js';
import { sizeOfHeaders, sizeOfRecordBody, writeRecord } from '../../../packages/core/src/format/record-writer.js';
import { sealBatch } from '../../../packages/core/src/sealing/seal-batch.js';
import type { ProducePartitionResponse, ProduceRequest } from '../../../packages/core/src/network/network-client.js';

const T0 = 1_700_000_000_000;
const INT32_MAX = 2147483647;

interface BatchSpec {
  values: string[];
  codec?: Codec | null;
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
  baseTimestamp?: number;
}

/** A real sealed RecordBatch v2, written with the core's record writer and sealer, in a fresh Buffer. */
function makeBatch(spec: BatchSpec): Buffer {
  const buf = Buffer.alloc(RECORD_BATCH_OVERHEAD + spec.values.reduce((n, v) => n + v.length + 32, 0));
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const baseTimestamp = spec.baseTimestamp ?? T0;
  let pos = RECORD_BATCH_OVERHEAD;
  spec.values.forEach((value, i) => {
    const key = `k${i}`;
    const kl = byteLengthOf(key);
    const vl = byteLengthOf(value);
    const body = sizeOfRecordBody(i, i, kl, vl, sizeOfHeaders(null));
    pos = writeRecord(buf, pos, body, i, i, key, kl, value, vl, null);
  });
  const size = sealBatch(buf, view, 0, {
    recordsLength: pos - RECORD_BATCH_OVERHEAD,
    recordCount: spec.values.length,
    baseTimestamp,
    maxTimestamp: baseTimestamp + spec.values.length - 1,
    codec: spec.codec ?? null,
    producerId: spec.producerId ?? -1,
    producerEpoch: spec.producerEpoch ?? -1,
    baseSequence: spec.baseSequence ?? -1,
    transactional: false,
  });
  return buf.subarray(0, size);
}

function request(nodeId: number, parts: { topic?: string; partition?: number; records: Uint8Array }[], extra: Partial<ProduceRequest> = {}): ProduceRequest {
  return {
    nodeId,
    acks: -1,
    timeoutMs: 30000,
    transactionalId: null,
    partitions: parts.map((p) => ({ topic: p.topic ?? 't', partition: p.partition ?? 0, records: p.records })),
    ...extra,
  };
}

/** A cluster on virtual time: topic t with 3 partitions led by nodes 0, 1, 2. */
function virtualCluster(options: InMemoryClusterOptions = {}): { c: InMemoryCluster; s: VirtualScheduler } {
  const s = new VirtualScheduler(T0);
  const c = new InMemoryCluster({ topics: { t: 3 }, scheduler: s, ...options });
  return { c, s };
}

/** Sends one batch to the partition's true leader and runs virtual time until answered. */
async function produce(c: InMemoryCluster, s: VirtualScheduler, records: Uint8Array, partition = 0, topic = 't'): Promise<ProducePartitionResponse> {
  const p = c.send(request(c.trueLeaderFor(topic, partition), [{ topic, partition, records }]));
  await s.runUntilIdle();
  const [r] = await p;
  return r;
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('InMemoryCluster', () => {
  describe('constructor / createTopic()', () => {
    it('has 3 brokers by default and assigns leaders round robin', () => {
      const c = new InMemoryCluster({ topics: { t: 4, u: 1 } });
      expect(c.brokerIds()).to.deep.equal([0, 1, 2]);
      expect([0, 1, 2, 3].map((p) => c.trueLeaderFor('t', p))).to.deep.equal([0, 1, 2, 0]);
      expect(c.topicPartitionCounts()).to.deep.equal({ t: 4, u: 1 });
    });

    it('takes explicit broker ids and leaders', () => {
      const c = new InMemoryCluster({ brokers: [5, 7] });
      c.createTopic('x', 3, [7, 7, 5]);
      expect(c.brokerIds()).to.deep.equal([5, 7]);
      expect([0, 1, 2].map((p) => c.trueLeaderFor('x', p))).to.deep.equal([7, 7, 5]);
      expect(() => c.createTopic('x', 1)).to.throw(RangeError, /already exists/);
      expect(() => c.createTopic('y', 1, [9])).to.throw(RangeError, /no broker with id 9/);
    });

    it('rejects invalid options', () => {
      expect(() => new InMemoryCluster({ brokers: 0 })).to.throw(RangeError);
      expect(() => new InMemoryCluster({ brokers: [1, 1] })).to.throw(RangeError, /duplicate broker id 1/);
      expect(() => new InMemoryCluster({ latencyMs: -1 })).to.throw(RangeError, /-1/);
      expect(() => new InMemoryCluster({ maxInFlightRequestsPerConnection: 0 })).to.throw(RangeError);
    });
  });

  describe('send()', () => {
    it('assigns offsets contiguously from the high watermark and stores decodable copies', async () => {
      const { c, s } = virtualCluster();
      const r1 = await produce(c, s, makeBatch({ values: ['a', 'b', 'c'] }));
      const r2 = await produce(c, s, makeBatch({ values: ['d', 'e'] }));
      expect(r1).to.include({ topic: 't', partition: 0, errorCode: 0, baseOffset: 0, logAppendTimeMs: -1 });
      expect(r2).to.include({ errorCode: 0, baseOffset: 3 });
      expect(c.highWatermark('t', 0)).to.equal(5);
      expect(c.highWatermark('t', 1)).to.equal(0);
      const log = c.log('t', 0);
      expect(log.map((b) => [b.baseOffset, b.recordCount])).to.deep.equal([[0, 3], [3, 2]]);
      expect(readInt64(new DataView(log[1].bytes.buffer, log[1].bytes.byteOffset), BASE_OFFSET_OFFSET)).to.equal(3);
      const records = c.readRecords('t', 0);
      expect(records.map((r) => [r.offset, Buffer.from(r.value!).toString()])).to.deep.equal([
        [0, 'a'],
        [1, 'b'],
        [2, 'c'],
        [3, 'd'],
        [4, 'e'],
      ]);
      expect(c.stats()).to.deep.include({ requests: 2, batches: 2, records: 5, bytes: log[0].bytes.length + log[1].bytes.length });
    });

    it('answers each partition of a multi-partition request', async () => {
      const { c, s } = virtualCluster({ topics: { t: 3, u: 1 } });
      c.createTopic('v', 1, [0]);
      const p = c.send(request(0, [{ partition: 0, records: makeBatch({ values: ['x'] }) }, { topic: 'v', records: makeBatch({ values: ['y', 'z'] }) }, { topic: 't', partition: 1, records: makeBatch({ values: ['w'] }) }]));
      await s.runUntilIdle();
      const rs = await p;
      expect(rs.map((r) => [r.topic, r.partition, r.errorCode])).to.deep.equal([
        ['t', 0, 0],
        ['v', 0, 0],
        ['t', 1, 6],
      ]);
    });

    it('reads back compressed batches with the core codecs', async () => {
      const { c, s } = virtualCluster();
      const values = Array.from({ length: 50 }, (_, i) => `compressible value ${i % 5}`);
      const gz = makeBatch({ values, codec: codecByName('gzip') });
      expect(gz.readInt16BE(ATTRIBUTES_OFFSET) & COMPRESSION_CODEC_MASK).to.equal(1); // really gzip
      expect((await produce(c, s, gz)).errorCode).to.equal(0);
      expect(c.readRecords('t', 0).map((r) => Buffer.from(r.value!).toString())).to.deep.equal(values);
    });

    it('keeps its copies intact when the request memory is reused after the ack', async () => {
      const { c, s } = virtualCluster();
      const pool = Buffer.alloc(4096);
      const batch = makeBatch({ values: ['original'] });
      batch.copy(pool);
      await produce(c, s, pool.subarray(0, batch.length));
      pool.fill(0xee);
      expect(Buffer.from(c.readRecords('t', 0)[0].value!).toString()).to.equal('original');
    });

    it('rejects a batch with a flipped byte with CORRUPT_MESSAGE and appends nothing', async () => {
      const { c, s } = virtualCluster();
      const batch = makeBatch({ values: ['hello', 'world'] });
      batch[batch.length - 3] ^= 0x01;
      const r = await produce(c, s, batch);
      expect(r).to.include({ errorCode: 2, baseOffset: -1 });
      expect(r.errorMessage).to.match(/crc mismatch/);
      const flippedCrc = makeBatch({ values: ['x'] });
      flippedCrc[CRC_OFFSET] ^= 0x80;
      expect((await produce(c, s, flippedCrc)).errorCode).to.equal(2);
      expect(c.highWatermark('t', 0)).to.equal(0);
      expect(c.stats().rejected).to.deep.equal({ CORRUPT_MESSAGE: 2 });
    });

    it('rejects a bad magic, a truncated batch and a length past the bytes with CORRUPT_MESSAGE', async () => {
      const { c, s } = virtualCluster();
      const badMagic = makeBatch({ values: ['x'] });
      badMagic[MAGIC_OFFSET] = 1;
      expect((await produce(c, s, badMagic)).errorCode).to.equal(2);
      expect((await produce(c, s, makeBatch({ values: ['x'] }).subarray(0, 40))).errorCode).to.equal(2);
      const whole = makeBatch({ values: ['xyz'] });
      expect((await produce(c, s, whole.subarray(0, whole.length - 1))).errorCode).to.equal(2);
    });

    it('rejects two batches in one partition entry and a non-zero baseOffset with INVALID_RECORD', async () => {
      const { c, s } = virtualCluster();
      const two = Buffer.concat([makeBatch({ values: ['a'] }), makeBatch({ values: ['b'] })]);
      expect((await produce(c, s, two)).errorCode).to.equal(87);
      const offset = makeBatch({ values: ['a'] });
      offset.writeInt32BE(5, BASE_OFFSET_OFFSET + 4);
      const r = await produce(c, s, offset);
      expect(r.errorCode).to.equal(87);
      expect(r.errorMessage).to.match(/should be 0, but it is 5/);
    });

    it('rejects a batch larger than messageMaxBytes with MESSAGE_TOO_LARGE', async () => {
      const { c, s } = virtualCluster({ messageMaxBytes: 200 });
      const big = makeBatch({ values: ['x'.repeat(300)] });
      const r = await produce(c, s, big);
      expect(r.errorCode).to.equal(10);
      expect(r.errorMessage).to.equal(`batch of ${big.length} bytes exceeds message.max.bytes=200`);
      expect((await produce(c, s, makeBatch({ values: ['small'] }))).errorCode).to.equal(0);
    });

    it('answers UNKNOWN_TOPIC_OR_PARTITION for an unknown topic or partition', async () => {
      const { c, s } = virtualCluster();
      const p = c.send(request(0, [{ topic: 'nope', records: makeBatch({ values: ['x'] }) }, { topic: 't', partition: 9, records: makeBatch({ values: ['x'] }) }]));
      await s.runUntilIdle();
      expect((await p).map((r) => r.errorCode)).to.deep.equal([3, 3]);
    });

    it('answers INVALID_REQUIRED_ACKS for acks outside 0, 1, -1', async () => {
      const { c, s } = virtualCluster();
      const p = c.send(request(0, [{ records: makeBatch({ values: ['x'] }) }], { acks: 2 as unknown as 1 }));
      await s.runUntilIdle();
      expect((await p)[0].errorCode).to.equal(21);
      expect(c.highWatermark('t', 0)).to.equal(0);
    });
  });

  describe('leaders and metadata', () => {
    it('answers NOT_LEADER_OR_FOLLOWER from the old leader after moveLeader, and the new leader and epoch in metadata', async () => {
      const { c, s } = virtualCluster();
      expect(c.trueLeaderFor('t', 0)).to.equal(0);
      c.moveLeader('t', 0, 2);
      expect(c.trueLeaderFor('t', 0)).to.equal(2);
      const p = c.send(request(0, [{ records: makeBatch({ values: ['x'] }) }]));
      await s.runUntilIdle();
      const [r] = await p;
      expect(r.errorCode).to.equal(6);
      expect(r.errorMessage).to.match(/node 0 does not lead t-0; node 2 does \(leader epoch 1\)/);
      const refreshed = c.fetchMetadata({ topics: ['t'], allowAutoTopicCreation: false });
      await s.runUntilIdle();
      const md = await refreshed;
      expect(md.topics[0].partitions[0]).to.deep.equal({ partition: 0, errorCode: 0, leader: 2, leaderEpoch: 1 });
      expect(md.brokers.map((b) => b.nodeId)).to.deep.equal([0, 1, 2]);
      const ok = c.send(request(2, [{ records: makeBatch({ values: ['x'] }) }]));
      await s.runUntilIdle();
      expect((await ok)[0]).to.include({ errorCode: 0, baseOffset: 0 });
      const stored = c.log('t', 0)[0].bytes;
      expect(stored.readInt32BE(PARTITION_LEADER_EPOCH_OFFSET)).to.equal(1);
    });

    it('creates topics on a metadata request with autoCreateTopics when the request allows it, else answers UNKNOWN_TOPIC_OR_PARTITION', async () => {
      const { c, s } = virtualCluster({ autoCreateTopics: true, defaultPartitions: 4 });
      const denied = c.fetchMetadata({ topics: ['fresh'], allowAutoTopicCreation: false });
      await s.runUntilIdle();
      expect((await denied).topics[0]).to.deep.equal({ topic: 'fresh', errorCode: 3, partitions: [] });
      const p = c.fetchMetadata({ topics: ['fresh'], allowAutoTopicCreation: true });
      await s.runUntilIdle();
      expect((await p).topics[0].partitions).to.have.length(4);
      expect(c.topicPartitionCounts().fresh).to.equal(4);
      const { c: c2, s: s2 } = virtualCluster();
      const p2 = c2.fetchMetadata({ topics: ['fresh'], allowAutoTopicCreation: true });
      await s2.runUntilIdle();
      expect((await p2).topics[0].errorCode).to.equal(3);
      expect(c2.topicPartitionCounts().fresh).to.equal(undefined);
    });

    it('allocates increasing producer ids with epoch 0', async () => {
      const { c, s } = virtualCluster({ latencyMs: 3 });
      const a = c.initProducerId();
      const b = c.initProducerId();
      await s.runUntilIdle();
      expect(await a).to.deep.equal({ errorCode: 0, producerId: 0, producerEpoch: 0 });
      expect(await b).to.deep.equal({ errorCode: 0, producerId: 1, producerEpoch: 0 });
      expect(s.nowMs()).to.equal(T0 + 6);
    });
  });

  describe('faults', () => {
    it('answers injected errors in order, then succeeds', async () => {
      const { c, s } = virtualCluster();
      c.injectErrors('t', 0, [19, 6, 56]);
      const codes: number[] = [];
      for (let i = 0; i < 4; i++) codes.push((await produce(c, s, makeBatch({ values: ['x'] }))).errorCode);
      expect(codes).to.deep.equal([19, 6, 56, 0]);
      expect(c.highWatermark('t', 0)).to.equal(1);
      expect(c.stats().rejected).to.deep.equal({ NOT_ENOUGH_REPLICAS: 1, NOT_LEADER_OR_FOLLOWER: 1, KAFKA_STORAGE_ERROR: 1 });
    });

    it('appends before answering an injected NOT_ENOUGH_REPLICAS_AFTER_APPEND, so an idempotent retry gets the original offset', async () => {
      const { c, s } = virtualCluster();
      c.injectErrors('t', 0, [20]);
      const batch = makeBatch({ values: ['a', 'b'], producerId: 7, producerEpoch: 0, baseSequence: 0 });
      expect((await produce(c, s, batch)).errorCode).to.equal(20);
      expect(c.highWatermark('t', 0)).to.equal(2);
      expect(await produce(c, s, batch)).to.include({ errorCode: 0, baseOffset: 0 });
      expect(c.highWatermark('t', 0)).to.equal(2);
    });

    it('rejects requests to a down broker with a retriable NETWORK_EXCEPTION, and its in-flight ones at once', async () => {
      const { c, s } = virtualCluster({ latencyMs: 10 });
      const inFlight = c.send(request(1, [{ partition: 1, records: makeBatch({ values: ['x'] }) }]));
      await s.runFor(5);
      expect(c.inFlightRequests(1)).to.equal(1);
      c.setBrokerDown(1, true);
      expect(c.isBrokerDown(1)).to.equal(true);
      const err = (await rejection(inFlight)) as BrokerError;
      expect(err).to.be.instanceOf(BrokerError);
      expect(err).to.include({ errorCode: 13, errorName: 'NETWORK_EXCEPTION', retriable: true });
      expect(c.inFlightRequests(1)).to.equal(0);
      expect(c.ready(1)).to.equal(true);
      const later = c.send(request(1, [{ partition: 1, records: makeBatch({ values: ['x'] }) }]));
      const caught = rejection(later);
      await s.runUntilIdle();
      expect(((await caught) as BrokerError).message).to.equal('NETWORK_EXCEPTION (13): node 1 is down');
      expect(c.highWatermark('t', 1)).to.equal(0);
      c.setBrokerDown(1, false);
      const ok = c.send(request(1, [{ partition: 1, records: makeBatch({ values: ['x'] }) }]));
      await s.runUntilIdle();
      expect((await ok)[0].errorCode).to.equal(0);
      expect(c.stats().failedRequests).to.equal(2);
    });

    it('keeps a batch the broker appended before going down (the answer is lost, not the write)', async () => {
      const { c, s } = virtualCluster({ latencyMs: 10 });
      const p = c.send(request(0, [{ records: makeBatch({ values: ['x'] }) }]));
      const caught = rejection(p);
      await s.runFor(15); // arrived at 10, answer due at 20
      expect(c.highWatermark('t', 0)).to.equal(1);
      c.setBrokerDown(0, true);
      expect(await caught).to.be.instanceOf(BrokerError);
    });

    it('fails metadata requests only when every broker is down', async () => {
      const { c, s } = virtualCluster();
      c.setBrokerDown(0, true);
      c.setBrokerDown(1, true);
      const ok = c.fetchMetadata({ topics: ['t'], allowAutoTopicCreation: false });
      await s.runUntilIdle();
      await ok;
      c.setBrokerDown(2, true);
      const failed = rejection(c.fetchMetadata({ topics: ['t'], allowAutoTopicCreation: false }));
      await s.runUntilIdle();
      expect(((await failed) as BrokerError).errorCode).to.equal(13);
    });

    it('loses an injected-timeout request: TimeoutError (retriable) after timeoutMs, nothing appended', async () => {
      const { c, s } = virtualCluster();
      c.injectRequestTimeout(0);
      const p = rejection(c.send(request(0, [{ records: makeBatch({ values: ['x'] }) }], { timeoutMs: 500 })));
      await s.runFor(499);
      expect(c.inFlightRequests(0)).to.equal(1);
      await s.runFor(1);
      const err = (await p) as TimeoutError;
      expect(err).to.be.instanceOf(TimeoutError);
      expect(err.retriable).to.equal(true);
      expect(err.message).to.match(/within request timeout 500 ms/);
      expect(c.highWatermark('t', 0)).to.equal(0);
      expect((await produce(c, s, makeBatch({ values: ['x'] }))).errorCode).to.equal(0);
    });

    it('appends an injected-timeout request with appended: true; the idempotent retry gets the original offset', async () => {
      const { c, s } = virtualCluster();
      c.injectRequestTimeout(0, 1, { appended: true });
      const batch = makeBatch({ values: ['x', 'y'], producerId: 3, producerEpoch: 0, baseSequence: 0 });
      const p = rejection(c.send(request(0, [{ records: batch }], { timeoutMs: 100 })));
      await s.runUntilIdle();
      expect(await p).to.be.instanceOf(TimeoutError);
      expect(s.nowMs()).to.equal(T0 + 100);
      expect(c.highWatermark('t', 0)).to.equal(2);
      expect(await produce(c, s, batch)).to.include({ errorCode: 0, baseOffset: 0 });
      expect(c.log('t', 0)).to.have.length(1);
    });

    it('times a request out when the round trip exceeds its timeoutMs', async () => {
      const { c, s } = virtualCluster({ latencyMs: 60 });
      const p = rejection(c.send(request(0, [{ records: makeBatch({ values: ['x'] }) }], { timeoutMs: 100 })));
      await s.runUntilIdle();
      expect(await p).to.be.instanceOf(TimeoutError);
      expect(c.highWatermark('t', 0)).to.equal(1); // it arrived at 60
      expect(s.pendingTimers()).to.equal(0);
    });
  });

  describe('latency and in-flight requests', () => {
    it('appends at one-way latency and answers at the round trip, on virtual time', async () => {
      const { c, s } = virtualCluster({ latencyMs: (node) => 10 * (node + 1) });
      const p = c.send(request(1, [{ partition: 1, records: makeBatch({ values: ['x'] }) }]));
      let answered = false;
      void p.then(() => (answered = true));
      await s.runFor(19);
      expect(c.highWatermark('t', 1)).to.equal(0);
      await s.runFor(1);
      expect(c.highWatermark('t', 1)).to.equal(1);
      await s.runFor(19);
      expect(answered).to.equal(false);
      await s.runFor(1);
      expect(answered).to.equal(true);
      c.setLatency(0);
      await produce(c, s, makeBatch({ values: ['y'] }), 1);
      expect(s.nowMs()).to.equal(T0 + 40);
    });

    it('counts in-flight requests per node and stops ready() at maxInFlightRequestsPerConnection', async () => {
      const { c, s } = virtualCluster({ latencyMs: 5, maxInFlightRequestsPerConnection: 2 });
      const a = c.send(request(0, [{ records: makeBatch({ values: ['a'] }) }]));
      expect(c.ready(0)).to.equal(true);
      const b = c.send(request(0, [{ records: makeBatch({ values: ['b'] }) }]));
      expect(c.inFlightRequests(0)).to.equal(2);
      expect(c.ready(0)).to.equal(false);
      expect(c.ready(1)).to.equal(true);
      expect(c.ready(42)).to.equal(false);
      await s.runUntilIdle();
      await Promise.all([a, b]);
      expect(c.inFlightRequests(0)).to.equal(0);
      expect(c.ready(0)).to.equal(true);
      expect(c.readRecords('t', 0).map((r) => Buffer.from(r.value!).toString())).to.deep.equal(['a', 'b']);
    });

    it('rejects a send that ready() refuses with IllegalStateError', async () => {
      const { c } = virtualCluster({ maxInFlightRequestsPerConnection: 1 });
      void c.send(request(0, [{ records: makeBatch({ values: ['a'] }) }]));
      const err = await rejection(c.send(request(0, [{ records: makeBatch({ values: ['b'] }) }])));
      expect(err).to.be.instanceOf(IllegalStateError);
      expect((err as Error).message).to.match(/1 requests in flight \(maxInFlightRequestsPerConnection=1\)/);
      expect(await rejection(c.send(request(9, [{ records: makeBatch({ values: ['b'] }) }])))).to.be.instanceOf(IllegalStateError);
    });

    it('keeps requests to a node in order when the latency drops between them', async () => {
      const { c, s } = virtualCluster({ latencyMs: 50 });
      const order: string[] = [];
      const slow = c.send(request(0, [{ records: makeBatch({ values: ['first'] }) }])).then(() => order.push('first'));
      c.setLatency(1);
      const fast = c.send(request(0, [{ records: makeBatch({ values: ['second'] }) }])).then(() => order.push('second'));
      await s.runFor(2);
      expect(c.highWatermark('t', 0)).to.equal(0); // the second waits behind the first
      await s.runUntilIdle();
      await Promise.all([slow, fast]);
      expect(order).to.deep.equal(['first', 'second']);
      expect(c.readRecords('t', 0).map((r) => Buffer.from(r.value!).toString())).to.deep.equal(['first', 'second']);
      expect(s.nowMs()).to.equal(T0 + 51); // answered together, in order, right after the first
    });

    it('answers on the next macrotask with latency 0 on the system scheduler, many requests at once', async () => {
      const c = new InMemoryCluster({ topics: { t: 3 }, retainLog: false, maxInFlightRequestsPerConnection: 1_000_000 });
      const batch = makeBatch({ values: ['a', 'b', 'c', 'd'] });
      const rs = await Promise.all(Array.from({ length: 3000 }, (_, i) => c.send(request(i % 3, [{ partition: i % 3, records: batch }]))));
      expect(rs.every(([r]) => r.errorCode === 0)).to.equal(true);
      expect(rs.filter(([r]) => r.partition === 2).map(([r]) => r.baseOffset).slice(0, 3)).to.deep.equal([0, 4, 8]);
      expect(c.highWatermark('t', 0)).to.equal(4000);
      expect(c.log('t', 0)).to.have.length(0);
      expect(() => c.readRecords('t', 0)).to.throw(IllegalStateError, /retainLog=false/);
      expect(c.stats()).to.deep.include({ requests: 3000, batches: 3000, records: 12000 });
    });
  });

  describe('acks=0', () => {
    it('resolves at once with baseOffset -1, and the broker still appends a copy after the latency', async () => {
      const { c, s } = virtualCluster({ latencyMs: 10 });
      const pool = Buffer.alloc(1024);
      const batch = makeBatch({ values: ['fire', 'forget'] });
      batch.copy(pool);
      const p = c.send(request(0, [{ records: pool.subarray(0, batch.length) }], { acks: 0 }));
      await s.runFor(0);
      const [r] = await p;
      expect(r).to.include({ errorCode: 0, baseOffset: -1, logAppendTimeMs: -1 });
      expect(c.inFlightRequests(0)).to.equal(0);
      pool.fill(0); // the sender frees the memory once resolved
      expect(c.highWatermark('t', 0)).to.equal(0);
      await s.runFor(10);
      expect(c.highWatermark('t', 0)).to.equal(2);
      expect(c.readRecords('t', 0).map((x) => Buffer.from(x.value!).toString())).to.deep.equal(['fire', 'forget']);
    });
  });

  describe('idempotence', () => {
    const pid = 42;
    const b = (seq: number, n = 2, epoch = 0): Buffer => makeBatch({ values: Array.from({ length: n }, (_, i) => `v${seq + i}`), producerId: pid, producerEpoch: epoch, baseSequence: seq });

    it('answers a duplicate of one of the last 5 batches with its original offset and appends nothing', async () => {
      const { c, s } = virtualCluster();
      const offsets: number[] = [];
      for (let i = 0; i < 6; i++) offsets.push((await produce(c, s, b(i * 2))).baseOffset);
      expect(offsets).to.deep.equal([0, 2, 4, 6, 8, 10]);
      for (let i = 1; i < 6; i++) expect(await produce(c, s, b(i * 2)), `batch ${i}`).to.include({ errorCode: 0, baseOffset: i * 2 });
      expect(c.highWatermark('t', 0)).to.equal(12);
      expect(c.stats().batches).to.equal(6);
      // The first batch fell out of the 5 kept: its retry is out of order.
      expect((await produce(c, s, b(0))).errorCode).to.equal(45);
    });

    it('rejects a sequence gap with OUT_OF_ORDER_SEQUENCE_NUMBER', async () => {
      const { c, s } = virtualCluster();
      await produce(c, s, b(0));
      const r = await produce(c, s, b(3));
      expect(r.errorCode).to.equal(45);
      expect(r.errorMessage).to.match(/3 \(incoming seq. number\), 1 \(current end sequence number\)/);
      expect((await produce(c, s, b(2))).errorCode).to.equal(0);
    });

    it('accepts any first sequence of an unknown producer (Kafka since KIP-360) unless strictSequenceStart', async () => {
      const { c, s } = virtualCluster();
      expect((await produce(c, s, b(17))).errorCode).to.equal(0);
      expect((await produce(c, s, b(19))).errorCode).to.equal(0);
      const strict = virtualCluster({ strictSequenceStart: true });
      expect((await produce(strict.c, strict.s, b(17))).errorCode).to.equal(45);
      expect((await produce(strict.c, strict.s, b(0))).errorCode).to.equal(0);
    });

    it('fences an older epoch with INVALID_PRODUCER_EPOCH and requires a new epoch to start at 0', async () => {
      const { c, s } = virtualCluster();
      await produce(c, s, b(0, 2, 1));
      expect((await produce(c, s, b(2, 2, 0))).errorCode).to.equal(47);
      expect((await produce(c, s, b(5, 2, 2))).errorCode).to.equal(45);
      expect(await produce(c, s, b(0, 2, 2))).to.include({ errorCode: 0, baseOffset: 2 });
      // the new epoch forgot the old batches: a retry of epoch 1 is fenced
      expect((await produce(c, s, b(0, 2, 1))).errorCode).to.equal(47);
    });

    it('wraps sequences from 2^31 - 1 to 0', async () => {
      const { c, s } = virtualCluster();
      expect((await produce(c, s, b(INT32_MAX - 1, 2))).errorCode).to.equal(0);
      expect((await produce(c, s, b(0, 2))).errorCode).to.equal(0);
      const across = virtualCluster();
      expect((await produce(across.c, across.s, b(INT32_MAX - 1, 4))).errorCode).to.equal(0); // covers MAX-1 .. 1
      expect((await produce(across.c, across.s, b(2, 1))).errorCode).to.equal(0);
    });

    it('keeps producer state per partition, across leader moves', async () => {
      const { c, s } = virtualCluster();
      await produce(c, s, b(0), 0);
      expect((await produce(c, s, b(0), 1)).errorCode).to.equal(0); // another partition: own sequence
      c.moveLeader('t', 0, 1);
      expect(await produce(c, s, b(0), 0)).to.include({ errorCode: 0, baseOffset: 0 }); // duplicate on the new leader
    });
  });

  describe('logAppendTime', () => {
    it('answers with the broker time and stores it in the batch with a valid CRC', async () => {
      const { c, s } = virtualCluster({ logAppendTime: true, latencyMs: 7 });
      const r = await produce(c, s, makeBatch({ values: ['a', 'b'], baseTimestamp: 5 }));
      expect(r.logAppendTimeMs).to.equal(T0 + 7);
      const [batch] = readRecordBatches(c.log('t', 0)[0].bytes, { verifyCrc: true });
      expect(batch.timestampType).to.equal('LogAppendTime');
      expect(batch.records.map((x) => x.timestamp)).to.deep.equal([T0 + 7, T0 + 7]);
    });
  });

  describe('close()', () => {
    it('rejects in-flight and later requests with ClosedError', async () => {
      const { c, s } = virtualCluster({ latencyMs: 5 });
      const p = rejection(c.send(request(0, [{ records: makeBatch({ values: ['x'] }) }])));
      await c.close();
      expect(await p).to.be.instanceOf(ClosedError);
      expect(c.ready(0)).to.equal(false);
      expect(await rejection(c.send(request(0, [{ records: makeBatch({ values: ['x'] }) }])))).to.be.instanceOf(ClosedError);
      expect(await rejection(c.fetchMetadata({ topics: [], allowAutoTopicCreation: false }))).to.be.instanceOf(ClosedError);
      await s.runUntilIdle();
      expect(c.highWatermark('t', 0)).to.equal(0);
    });
  });
});
