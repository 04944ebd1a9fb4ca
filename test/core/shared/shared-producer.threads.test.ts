/**
 * A shared producer seen from worker threads: the same partitions for the same keys on any
 * thread; topic metadata asked for from a worker; records bigger than batch.size from a
 * worker, in that thread's order; a broker's refusal reaching the worker as the same typed
 * error; a blocking appender's `max.block.ms`.
 */
import { expect } from 'chai';
import { InMemoryCluster } from '../../../packages/core/src/embedded/in-memory-cluster.js';
import { murmur2, toPositive } from '../../../packages/core/src/partitioner/murmur2.js';
import { Producer } from '../../../packages/core/src/producer.js';
import { KafkaErrors } from '../../../packages/core/src/protocol/kafka-errors.js';
import { keyOf, valueBytesOf } from './fixtures/appender-thread.js';
import type { AppenderThread } from './fixtures/appender-threads.js';
import { startAppenderThreads } from './fixtures/appender-threads.js';
import { checkLog } from './shared-log-check.js';
import type { LoggedRecord } from './shared-log-check.js';

function logOf(network: InMemoryCluster, topic: string, partitions: number): LoggedRecord[] {
  const log: LoggedRecord[] = [];
  for (let p = 0; p < partitions; p++) for (const r of network.readRecords(topic, p)) log.push({ partition: p, value: Buffer.from(r.value!).toString() });
  return log;
}

describe('shared producer from worker threads', function () {
  this.timeout(60_000);
  let threads: AppenderThread[];

  before(async function () {
    this.timeout(60_000);
    threads = await startAppenderThreads(2);
  });
  after(async () => {
    await Promise.all(threads.map((t) => t.terminate()));
  });

  it('partitioner parity: the same keyed records get the same partitions on every thread, the owner\'s and Kafka\'s murmur2', async () => {
    const network = new InMemoryCluster({ brokers: 3, topics: { parity: 24 } });
    const producer = new Producer({ network, config: { batchSize: 4096, lingerMs: 2 } });
    const handle = producer.shareable();
    const records = 3000;
    // Both threads send thread 0's keys (same `thread` number for the keys, told apart by the log check).
    const reports = await Promise.all(threads.map((t) => t.run({ handle, thread: 0, records, topic: 'parity', keys: 'keyed', valueBytes: 20, reportPartitions: true })));
    const owner: number[] = [];
    for (let i = 0; i < records; i++) {
      producer.send({ topic: 'parity', key: keyOf(0, i, 'keyed'), value: 'o' }, null);
      owner.push(producer.lastPartition);
    }
    await producer.flush();
    for (let i = 0; i < records; i++) {
      const expected = toPositive(murmur2(Buffer.from(keyOf(0, i, 'keyed')!))) % 24;
      expect([reports[0].partitions![i], reports[1].partitions![i], owner[i]], `record ${i}`).to.deep.equal([expected, expected, expected]);
    }
    await producer.close();
  });

  it('asks the owner for a topic it has never seen; records bigger than batch.size stay in the thread\'s order', async () => {
    const network = new InMemoryCluster({ brokers: 3, topics: {}, autoCreateTopics: true, defaultPartitions: 4 });
    const producer = new Producer({ network, config: { batchSize: 2048, lingerMs: 2, bufferMemory: 256 * 1024 } });
    const handle = producer.shareable();
    for (const t of threads) producer.watch(t.worker);
    const records = 2000;
    const reports = await Promise.all(
      threads.map((t, thread) => t.run({ handle, thread, records, topic: 'fresh-topic', keys: 'mixed', valueBytes: 30, bigEvery: 97, bigBytes: 5000 })),
    );
    for (const r of reports) expect(r).to.include({ acked: records, failed: 0, notOnce: 0 });
    await producer.close();
    checkLog(logOf(network, 'fresh-topic', 4), new Map([[0, records], [1, records]]), (_thread, i) => valueBytesOf(i, 30, 97, 5000));
    const pool = producer.accumulator.pool;
    expect(pool.availableMemory()).to.equal(pool.totalMemory);
  });

  it('a broker\'s refusal of a batch reaches each worker that wrote into it as the same typed error', async () => {
    const network = new InMemoryCluster({ brokers: 1, topics: { refused: 1 } });
    const producer = new Producer({ network, config: { batchSize: 16384, lingerMs: 20 } });
    const handle = producer.shareable();
    await producer.send({ topic: 'refused', value: 'warm' });
    network.injectErrors('refused', 0, [KafkaErrors.INVALID_RECORD.code]);
    const reports = await Promise.all(threads.map((t, thread) => t.run({ handle, thread, records: 20, topic: 'refused', keys: 'null', valueBytes: 10, promiseEvery: 2 })));
    const failed = reports.reduce((n, r) => n + r.failed, 0);
    expect(failed, 'the refused batch failed records on the threads').to.be.greaterThan(0);
    for (const r of reports) {
      expect(r.notOnce).to.equal(0);
      if (r.failed > 0) expect(r.firstError).to.match(/^BrokerError: .*INVALID_RECORD/);
    }
    await producer.close();
  });

  it('a blocking appender waits with Atomics.wait, then throws BufferExhaustedError after max.block.ms', async () => {
    const network = new InMemoryCluster({ brokers: 1, topics: { full: 1 } });
    const producer = new Producer({ network, config: { batchSize: 1024, bufferMemory: 4 * 1024, lingerMs: 0, maxBlockMs: 200 } });
    const handle = producer.shareable();
    producer.watch(threads[0].worker);
    await producer.send({ topic: 'full', value: 'warm' });
    network.setBrokerDown(0, true);
    const start = Date.now();
    const error = await threads[0].run({ handle, thread: 0, records: 200, topic: 'full', keys: 'null', valueBytes: 400, blocking: true }).then(
      () => null,
      (e: Error) => e,
    );
    expect(error?.message).to.match(/BufferExhaustedError: could not allocate 1024 bytes within maxBlockMs=200/);
    expect(Date.now() - start).to.be.at.least(190);
    network.setBrokerDown(0, false);
    await producer.close({ timeoutMs: 5_000 });
    // The thread's appender was left attached (its round threw): its id comes back when the thread exits (watch).
  });
});
