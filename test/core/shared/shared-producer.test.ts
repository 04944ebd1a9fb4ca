/**
 * A shared producer on its owner's thread alone: `shareable()`, and the owner's own sends
 * through the shared path (the appender with id 0) — same results, errors and
 * back-pressure as a plain `Producer`; linger, flush and close; records bigger than
 * batch.size; compressed batches sealed by the appender; memory back at the end. The
 * multi-thread behaviour is in shared-producer.stress.test.ts and
 * shared-producer.thread-death.property.test.ts.
 */
import { expect } from 'chai';
import type { RecordMetadata } from '../../../packages/core/src/accumulator/record-metadata.js';
import { InMemoryCluster } from '../../../packages/core/src/embedded/in-memory-cluster.js';
import { BrokerError, BufferExhaustedError, ClosedError, ConfigError, IllegalStateError, InvalidRecordError, RecordTooLargeError } from '../../../packages/core/src/errors.js';
import type { SluiceError } from '../../../packages/core/src/errors.js';
import { murmur2, toPositive } from '../../../packages/core/src/partitioner/murmur2.js';
import type { ProducerOptions } from '../../../packages/core/src/producer.js';
import { Producer } from '../../../packages/core/src/producer.js';
import { KafkaErrors } from '../../../packages/core/src/protocol/kafka-errors.js';

function sharedProducer(config: ProducerOptions['config'] = {}, topics: Record<string, number> = { t: 4 }, options: { autoCreateTopics?: boolean } = {}): { producer: Producer; network: InMemoryCluster } {
  const network = new InMemoryCluster({ brokers: 3, topics, autoCreateTopics: options.autoCreateTopics });
  const producer = new Producer({ network, config: { lingerMs: 5, batchSize: 1024, bufferMemory: 64 * 1024, ...config } });
  producer.shareable();
  return { producer, network };
}

function values(network: InMemoryCluster, topic: string, partition: number): string[] {
  return network.readRecords(topic, partition).map((r) => Buffer.from(r.value!).toString());
}

async function closeAndCheckMemory(producer: Producer): Promise<void> {
  await producer.close();
  const pool = producer.accumulator.pool;
  expect(pool.availableMemory(), 'every slot back in the pool').to.equal(pool.totalMemory);
}

describe('Producer (shared)', () => {
  describe('shareable()', () => {
    it('returns two SharedArrayBuffers (postable as they are), the same handle each time', () => {
      const { producer } = sharedProducer();
      const handle = producer.shareable();
      expect(Object.keys(handle).sort()).to.deep.equal(['accumulator', 'pool']);
      expect(handle.pool).to.be.instanceOf(SharedArrayBuffer);
      expect(handle.accumulator).to.be.instanceOf(SharedArrayBuffer);
      expect(handle.pool).to.equal(producer.accumulator.pool.sharedBuffer);
      expect(producer.shareable()).to.equal(handle);
      const cloned = structuredClone(handle);
      expect(new Int32Array(cloned.accumulator)[0]).to.equal(new Int32Array(handle.accumulator)[0]);
      void producer.close();
    });

    it('refuses table sizes out of range, and sharing a closed producer', async () => {
      const network = new InMemoryCluster({ brokers: 1, topics: { t: 1 } });
      const producer = new Producer({ network });
      expect(() => producer.shareable({ maxAppenders: 100 })).to.throw(ConfigError, /maxAppenders/);
      await producer.close();
      expect(() => producer.shareable()).to.throw(ClosedError);
      expect(() => new Producer({ network }).watch(null as never)).to.throw(IllegalStateError, /shareable\(\) first/);
    });

    it('Producer.attach refuses what is not a handle, naming what it needs', () => {
      expect(() => Producer.attach({} as never)).to.throw(ConfigError, /two SharedArrayBuffers/);
      expect(() => Producer.attach({ pool: new SharedArrayBuffer(1024), accumulator: new SharedArrayBuffer(1024) })).to.throw(ConfigError, /layout version/);
    });
  });

  describe('send() through the shared path', () => {
    it('delivers with offsets, in order per partition, by promise and by callback; memory comes back', async () => {
      const { producer, network } = sharedProducer();
      const callbacks: (RecordMetadata | null)[] = [];
      for (let i = 0; i < 300; i++) {
        const wait = producer.send({ topic: 't', partition: i % 4, value: `v${i}` }, (err, md) => callbacks.push(err === null ? md : null));
        if (wait !== undefined) await wait;
      }
      const md = await producer.send({ topic: 't', partition: 2, key: 'k', value: 'last', timestamp: 1234 });
      expect(md).to.include({ topic: 't', partition: 2, offset: 75, timestamp: 1234, serializedKeySize: 1, serializedValueSize: 4 });
      await producer.flush();
      expect(callbacks.length).to.equal(300);
      expect(callbacks.every((c) => c !== null)).to.equal(true);
      for (let p = 0; p < 4; p++) {
        const expected = Array.from({ length: 75 }, (_, k) => `v${k * 4 + p}`);
        if (p === 2) expected.push('last');
        expect(values(network, 't', p)).to.deep.equal(expected);
      }
      const offsets = callbacks.filter((c) => c!.partition === 1).map((c) => c!.offset);
      expect(offsets).to.deep.equal(Array.from({ length: 75 }, (_, k) => k));
      await closeAndCheckMemory(producer);
    });

    it('partitions keyed records by murmur2 as a plain producer does, and unkeyed ones by a sticky partition', async () => {
      const { producer } = sharedProducer({}, { k: 7 });
      const keys = Array.from({ length: 50 }, (_, i) => `user-${i}`);
      const mds = await Promise.all(keys.map((key) => producer.send({ topic: 'k', key, value: 'v' })));
      keys.forEach((key, i) => expect(mds[i].partition).to.equal(toPositive(murmur2(Buffer.from(key))) % 7));
      const unkeyed = await Promise.all(Array.from({ length: 20 }, () => producer.send({ topic: 'k', value: 'x'.repeat(10) })));
      expect(new Set(unkeyed.map((m) => m.partition)).size, 'a few records stay on one sticky partition').to.equal(1);
      await closeAndCheckMemory(producer);
    });

    it('gives each appending thread its own sticky partition for unkeyed records by default (sticky lanes), one for all with sticky: shared', async () => {
      const partitionsOf = async (sticky: 'per-thread' | 'shared' | undefined): Promise<{ owner: Set<number>; other: Set<number> }> => {
        const network = new InMemoryCluster({ brokers: 3, topics: { k: 7 } });
        const producer = new Producer({ network, config: { lingerMs: 5, batchSize: 1024, bufferMemory: 64 * 1024 } });
        const handle = producer.shareable(sticky === undefined ? {} : { sticky });
        const other = Producer.attach(handle); // a second appender id (on this thread, for a deterministic test)
        const owner = new Set<number>();
        const others = new Set<number>();
        for (let i = 0; i < 10; i++) {
          owner.add((await producer.send({ topic: 'k', value: 'x'.repeat(10) })).partition);
          others.add((await other.send({ topic: 'k', value: 'y'.repeat(10) })).partition);
        }
        await other.close();
        await closeAndCheckMemory(producer);
        return { owner, other: others };
      };
      for (const sticky of [undefined, 'per-thread'] as const) {
        const { owner, other } = await partitionsOf(sticky);
        expect(owner.size, 'the owner stays on one partition').to.equal(1);
        expect(other.size, 'the other thread stays on one partition').to.equal(1);
        expect([...owner][0], 'lanes avoid each other while partitions are enough').to.not.equal([...other][0]);
      }
      const shared = await partitionsOf('shared');
      expect([...shared.owner, ...shared.other].every((p) => p === [...shared.owner][0]), 'one sticky partition for the producer, as in Kafka').to.equal(true);
      const network = new InMemoryCluster({ brokers: 1, topics: { k: 1 } });
      const producer = new Producer({ network, config: { batchSize: 1024, bufferMemory: 64 * 1024 } });
      expect(() => producer.shareable({ sticky: 'thread' as 'shared' })).to.throw(ConfigError, /sticky must be 'per-thread' or 'shared', got thread/);
      await producer.close();
    });

    it('refuses bad records with the same typed errors as a plain producer', async () => {
      const { producer } = sharedProducer();
      const plain = new Producer({ network: new InMemoryCluster({ brokers: 3, topics: { t: 4 } }), config: { batchSize: 1024, bufferMemory: 64 * 1024 } });
      await plain.send({ topic: 't', value: 'warm' });
      await producer.send({ topic: 't', value: 'warm' });
      const bad: unknown[] = [
        { topic: 't', messages: [] },
        { topic: 't', partition: 9, value: 'x' },
        { topic: 't', partition: -1, value: 'x' },
        { topic: 't', key: 42, value: 'x' },
        { topic: 't', value: { a: 1 } },
        { topic: 't', value: 'x', timestamp: -5 },
        { topic: 't', value: 'x', headers: [{ key: 1, value: 'a' }] },
        { topic: 'bad topic!', value: 'x' },
      ];
      for (const record of bad) {
        const caught = (p: Producer): SluiceError => {
          try {
            p.send(record as never, null);
          } catch (err) {
            return err as SluiceError;
          }
          throw new Error(`accepted ${JSON.stringify(record)}`);
        };
        const a = caught(plain);
        const b = caught(producer);
        expect(b).to.be.instanceOf(InvalidRecordError);
        expect(b.message, JSON.stringify(record)).to.equal(a.message);
      }
      expect(() => producer.send({ topic: 't', value: 'x'.repeat(2_000_000) }, null)).to.throw(RecordTooLargeError, /max\.request\.size=1048576/);
      await plain.close();
      await closeAndCheckMemory(producer);
    });

    it('a record bigger than batch.size goes to a batch of its own, in order between the records sent before and after it', async () => {
      const { producer, network } = sharedProducer({ lingerMs: 50 });
      const sends = [
        producer.send({ topic: 't', partition: 3, value: 'before' }),
        producer.send({ topic: 't', partition: 3, value: 'B'.repeat(3000) }),
        producer.send({ topic: 't', partition: 3, value: 'after' }),
      ];
      const mds = await Promise.all(sends);
      expect(mds.map((m) => m.offset)).to.deep.equal([0, 1, 2]);
      expect(values(network, 't', 3).map((v) => v.slice(0, 6))).to.deep.equal(['before', 'BBBBBB', 'after']);
      await closeAndCheckMemory(producer);
    });

    it('sends a lingering batch after linger.ms without a flush', async () => {
      const { producer, network } = sharedProducer({ lingerMs: 30 });
      const start = Date.now();
      const md = await producer.send({ topic: 't', partition: 0, value: 'alone' });
      expect(md.offset).to.equal(0);
      expect(Date.now() - start).to.be.at.least(25);
      expect(values(network, 't', 0)).to.deep.equal(['alone']);
      await closeAndCheckMemory(producer);
    });

    it('lz4: the appending thread compresses full batches into a second slot; the broker reads every record back', async () => {
      const { producer, network } = sharedProducer({ compressionType: 'lz4', batchSize: 4096, bufferMemory: 256 * 1024 });
      const sent: string[] = [];
      const all: Promise<RecordMetadata>[] = [];
      for (let i = 0; i < 2000; i++) {
        const v = `record-${i}-${'abc'.repeat(10)}`;
        sent.push(v);
        all.push(producer.send({ topic: 't', partition: 1, value: v }));
      }
      await Promise.all(all);
      expect(values(network, 't', 1)).to.deep.equal(sent);
      const compressed = network.log('t', 1).filter((b) => (b.bytes.readInt16BE(21) & 7) === 3);
      expect(compressed.length, 'lz4 batches in the log').to.be.greaterThan(5);
      await closeAndCheckMemory(producer);
    });

    it('waits for an unknown topic\'s metadata, and fails with the broker\'s error for a topic it refuses', async () => {
      const { producer, network } = sharedProducer({ maxBlockMs: 2000 }, { t: 1 }, { autoCreateTopics: true });
      const md = await producer.send({ topic: 'fresh', value: 'x' });
      expect(md.topic).to.equal('fresh');
      network.createTopic('denied', 1);
      network.setTopicError('denied', KafkaErrors.TOPIC_AUTHORIZATION_FAILED.code);
      const err = await producer.send({ topic: 'denied', value: 'x' }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(BrokerError);
      expect((err as BrokerError).errorName).to.equal('TOPIC_AUTHORIZATION_FAILED');
      await closeAndCheckMemory(producer);
    });

    it('back-pressure: when memory stays full, a send waits max.block.ms and ends with BufferExhaustedError', async () => {
      const network = new InMemoryCluster({ brokers: 1, topics: { t: 1 } });
      const producer = new Producer({ network, config: { lingerMs: 0, batchSize: 1024, bufferMemory: 4 * 1024, maxBlockMs: 150, deliveryTimeoutMs: 60_000, requestTimeoutMs: 30_000 } });
      producer.shareable();
      await producer.send({ topic: 't', value: 'warm' });
      network.setBrokerDown(0, true);
      let waited: Promise<SluiceError | null> | undefined;
      let seen: SluiceError | null = null;
      for (let i = 0; i < 200 && waited === undefined; i++) {
        waited = producer.send({ topic: 't', value: 'y'.repeat(400) }, (err) => (seen ??= err));
      }
      expect(waited, 'a send waited for memory').to.not.equal(undefined);
      const start = Date.now();
      const error = await waited;
      expect(Date.now() - start).to.be.at.least(100);
      expect(error).to.be.instanceOf(BufferExhaustedError);
      expect(error!.message).to.match(/within maxBlockMs=150; total 4096/);
      expect(seen).to.equal(error);
      network.setBrokerDown(0, false);
      await closeAndCheckMemory(producer);
    });

    it('close(): later sends throw ClosedError; everything sent before is delivered', async () => {
      const { producer, network } = sharedProducer({ lingerMs: 1000 });
      const pending = Array.from({ length: 20 }, (_, i) => producer.send({ topic: 't', partition: 0, value: `c${i}` }));
      const closing = producer.close();
      expect(() => producer.send({ topic: 't', value: 'late' }, null)).to.throw(ClosedError);
      await closing;
      expect((await Promise.all(pending)).map((m) => m.offset)).to.deep.equal(Array.from({ length: 20 }, (_, i) => i));
      expect(values(network, 't', 0).length).to.equal(20);
      const pool = producer.accumulator.pool;
      expect(pool.availableMemory()).to.equal(pool.totalMemory);
    });
  });
});
