/**
 * Faults with idempotence on, over the wire transport, against brokers that really fail:
 * librdkafka's mock cluster (faults on command: leader moves, a broker down and up, Produce
 * errors, latency beyond request.timeout.ms) and a real 3-node Kafka 4.x with a broker killed
 * and restarted. Every record must appear in the log exactly once and in send order (read back
 * with kcat, check.crcs=true); records hit by non-retriable errors fail with clear typed errors
 * while the rest are delivered.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { startMockCluster, MockApiKey } from '../brokers/mock-cluster.js';
import type { MockCluster } from '../brokers/mock-cluster.js';
import { startKafkaCluster } from '../brokers/kafka-broker.js';
import type { KafkaCluster } from '../brokers/kafka-broker.js';
import { consumeAll } from '../brokers/kcat.js';
import type { ConsumedRecord } from '../brokers/kcat.js';
import { Producer } from '../../packages/core/src/producer.js';
import type { RecordMetadata } from '../../packages/core/src/accumulator/record-metadata.js';
import { BrokerError } from '../../packages/core/src/errors.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Sends `count` records `id-<i>` keyed over `keys` keys, in chunks, while faults happen around it. */
async function sendAll(producer: Producer, topic: string, count: number, keys: number, from = 0): Promise<RecordMetadata[]> {
  const all: Promise<RecordMetadata>[] = [];
  for (let i = from; i < from + count; i++) {
    all.push(producer.send({ topic, key: `k${i % keys}`, value: `id-${i}` }));
    if (i % 100 === 99) await sleep(5);
  }
  return Promise.all(all);
}

/** Checks the log holds every id once, and each key's ids in send order. */
function checkExactlyOnceInOrder(records: readonly ConsumedRecord[], count: number, keys: number): void {
  const seen = new Set<number>();
  const lastPerKey = new Map<number, number>();
  for (const r of records) {
    const id = Number(r.value!.toString('utf8').slice(3));
    expect(seen.has(id), `id ${id} written twice`).to.equal(false);
    seen.add(id);
    const key = id % keys;
    const last = lastPerKey.get(key) ?? -1;
    expect(id, `key k${key}: id ${id} after ${last} (send order)`).to.be.greaterThan(last);
    lastPerKey.set(key, id);
  }
  expect(seen.size).to.equal(count);
}

describe('wire transport under faults (idempotent)', function () {
  this.timeout(180_000);

  describe('librdkafka mock cluster', function () {
    let mock: MockCluster;
    beforeEach(async () => {
      mock = await startMockCluster({ brokers: 3, topics: [{ name: 'chaos', partitions: 6 }, { name: 'fatal', partitions: 3 }] });
      for (let p = 0; p < 6; p++) await mock.setPartitionLeader('chaos', p, (p % 3) + 1);
      for (let p = 0; p < 3; p++) await mock.setPartitionLeader('fatal', p, 1);
    });
    afterEach(async () => {
      await mock.stop();
    });

    // librdkafka 2.0.2's mock checks producer sequences only for TRANSACTIONAL producers
    // (rdkafka_mock.c, rd_kafka_mock_validate_records returns early without a
    // TransactionalId): for an idempotent producer it neither deduplicates a retried batch
    // nor refuses one out of sequence. So the mock can only show exactly-once-in-order for
    // faults where it never appends a request it does not answer, with one request in flight
    // per connection; lost answers (latency beyond request.timeout.ms) are shown on the real
    // Kafka cluster below, which does check sequences.
    it('leader moved, broker down then up, NOT_LEADER/REQUEST_TIMED_OUT/NOT_ENOUGH_REPLICAS: each record once, in order', async () => {
      const producer = new Producer({
        config: {
          'bootstrap.servers': mock.bootstrapServers,
          'linger.ms': 2,
          'batch.size': 2048,
          'request.timeout.ms': 5000,
          'delivery.timeout.ms': 60_000,
          'retry.backoff.ms': 50,
          'compression.type': 'lz4',
          'max.in.flight.requests.per.connection': 1,
        },
      });
      const faults = (async () => {
        await sleep(100);
        await mock.setPartitionLeader('chaos', 0, 2);
        await mock.pushRequestErrors(MockApiKey.PRODUCE, [6, 7, 19, 6, 19]);
        await sleep(100);
        await mock.setBrokerDown(3);
        await sleep(1000);
        await mock.setBrokerUp(3);
        await mock.setPartitionLeader('chaos', 4, 1);
        await mock.pushRequestErrors(MockApiKey.PRODUCE, [6, 6, 7]);
      })();
      const acks = await sendAll(producer, 'chaos', 4000, 60);
      await faults;
      expect(acks).to.have.length(4000);
      const m = producer.metrics();
      expect(m['record-retry-total'], 'the faults made the producer retry').to.be.greaterThan(0);
      await producer.close();
      expect(producer.accumulator.pool.availableMemory()).to.equal(producer.accumulator.pool.totalMemory);
      const back = await consumeAll({ bootstrap: mock.bootstrapServers, topic: 'chaos', count: 4000, timeoutMs: 60_000 });
      checkExactlyOnceInOrder(back, 4000, 60);
    });

    it('non-retriable errors fail the affected records with typed errors; MESSAGE_TOO_LARGE splits; the rest is delivered', async () => {
      const producer = new Producer({ config: { 'bootstrap.servers': mock.bootstrapServers, 'linger.ms': 0, 'max.block.ms': 10_000 } });
      await producer.send({ topic: 'fatal', partition: 0, value: 'id-0' }); // metadata and producer id in place
      await mock.pushRequestErrors(MockApiKey.PRODUCE, [29]);
      const denied = await producer.send({ topic: 'fatal', partition: 0, value: 'id-1' }).then(() => null, (e: unknown) => e);
      expect(denied).to.be.instanceOf(BrokerError);
      expect((denied as BrokerError).errorName).to.equal('TOPIC_AUTHORIZATION_FAILED');
      expect((denied as Error).message).to.match(/TOPIC_AUTHORIZATION_FAILED \(29\): produce to fatal-0 on node 1/);
      await mock.pushRequestErrors(MockApiKey.PRODUCE, [87]);
      const invalid = await producer.send({ topic: 'fatal', partition: 0, value: 'id-2' }).then(() => null, (e: unknown) => e);
      expect((invalid as BrokerError).errorName).to.equal('INVALID_RECORD');
      // A batch of 20 records rejected as too large is split and delivered.
      await mock.pushRequestErrors(MockApiKey.PRODUCE, [10]);
      const parts = Array.from({ length: 20 }, (_, i) => producer.send({ topic: 'fatal', partition: 1, value: `id-${100 + i}` }));
      const mds = await Promise.all(parts);
      expect(mds.map((m) => m.offset)).to.deep.equal(Array.from({ length: 20 }, (_, i) => i));
      expect(producer.metrics()['batch-split-total']).to.be.at.least(1);
      const after = await producer.send({ topic: 'fatal', partition: 0, value: 'id-3' });
      await producer.close();
      const p0 = await consumeAll({ bootstrap: mock.bootstrapServers, topic: 'fatal', partition: 0, count: 2, timeoutMs: 20_000 });
      expect(p0.map((r) => r.value!.toString())).to.deep.equal(['id-0', 'id-3']);
      expect(after.offset).to.equal(1);
      const p1 = await consumeAll({ bootstrap: mock.bootstrapServers, topic: 'fatal', partition: 1, count: 20, timeoutMs: 20_000 });
      expect(p1.map((r) => r.value!.toString())).to.deep.equal(Array.from({ length: 20 }, (_, i) => `id-${100 + i}`));
    });
  });

  describe('real Kafka 4.x, 3 nodes', function () {
    let kafka: KafkaCluster;
    before(async function () {
      this.timeout(180_000);
      kafka = await startKafkaCluster({ nodes: 3 });
      await kafka.createTopics([
        { name: 'failover', partitions: 6, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } },
        { name: 'latency', partitions: 6, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } },
      ]);
    });
    after(async () => {
      await kafka?.stop();
    });

    it('latency beyond request.timeout.ms (the leader paused with SIGSTOP, answers lost, requests retried): every record once, in order', async () => {
      const producer = new Producer({
        config: { 'bootstrap.servers': kafka.bootstrapServers, 'linger.ms': 2, 'batch.size': 4096, 'request.timeout.ms': 1000, 'delivery.timeout.ms': 120_000 },
      });
      const md = await kafka.metadata(['latency']);
      const leader = kafka.nodes.find((n) => n.id === md.topics[0].partitions[1].leaderId)!;
      const pid = Number(execFileSync('pgrep', ['-f', leader.propertiesFile]).toString().trim().split('\n')[0]);
      // Connected to every broker first (records acknowledged on every partition), so that the
      // records sent during the pause go into an open connection to a stopped broker and time
      // out — not into a connection set-up that simply waits (no record would be retried).
      const warm = await sendAll(producer, 'latency', 600, 60);
      process.kill(pid, 'SIGSTOP');
      const faults = (async () => {
        await sleep(2500); // longer than request.timeout.ms, shorter than the session timeout (no failover)
        process.kill(pid, 'SIGCONT');
      })();
      try {
        const acks = [...warm, ...(await sendAll(producer, 'latency', 4400, 60, 600))];
        await faults;
        expect(acks).to.have.length(5000);
        expect(producer.metrics()['record-retry-total'], 'requests timed out and were retried').to.be.greaterThan(0);
        await producer.close();
      } finally {
        await faults;
        await producer.close({ timeoutMs: 0 }); // a failed check leaves no producer keeping the run alive
      }
      const back = await consumeAll({ bootstrap: kafka.bootstrapServers, topic: 'latency', count: 5000, timeoutMs: 60_000 });
      checkExactlyOnceInOrder(back, 5000, 60);
    });

    it('a broker killed mid-run and restarted: every record once, in order', async () => {
      const producer = new Producer({
        config: { 'bootstrap.servers': kafka.bootstrapServers, 'linger.ms': 2, 'batch.size': 4096, 'request.timeout.ms': 5000, 'delivery.timeout.ms': 120_000, 'compression.type': 'zstd' },
      });
      const md = await kafka.metadata(['failover']);
      const victim = md.topics[0].partitions[0].leaderId;
      const faults = (async () => {
        await sleep(300);
        await kafka.stopNode(victim, 'SIGKILL');
        await sleep(3000);
        await kafka.startNode(victim);
      })();
      const acks = await sendAll(producer, 'failover', 6000, 60);
      await faults;
      expect(acks).to.have.length(6000);
      await producer.close();
      expect(producer.accumulator.pool.availableMemory()).to.equal(producer.accumulator.pool.totalMemory);
      const back = await consumeAll({ bootstrap: kafka.bootstrapServers, topic: 'failover', count: 6000, timeoutMs: 60_000 });
      checkExactlyOnceInOrder(back, 6000, 60);
    });
  });
});
