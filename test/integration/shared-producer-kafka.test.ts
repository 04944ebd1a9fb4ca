/**
 * One producer shared by four appender threads and its own thread, over the wire transport
 * to a real Kafka 4.4 broker (one connection, one producer id), read back by kcat (librdkafka,
 * CRC checks on): every record of every thread exactly once, each thread's records of a
 * partition in that thread's order, keyed and unkeyed records over 64 partitions, both
 * uncompressed and lz4 batches (compressed on the appending threads). Kafka validates every
 * batch — CRC, decompression, the idempotent sequence numbers assigned at drain — as it
 * appends it.
 *
 * CI size: 4 × 20 000 records (+ 8 000 from the owner); more with SLUICE_SHARED_KAFKA_RECORDS.
 */
import { expect } from 'chai';
import type { KafkaCluster } from '../brokers/kafka-broker.js';
import { sharedKafka } from '../brokers/shared-kafka.js';
import { consumeAll } from '../brokers/kcat.js';
import { Producer } from '../../packages/core/src/producer.js';
import { keyOf, valueOf } from '../core/shared/fixtures/appender-thread.js';
import type { AppenderThread } from '../core/shared/fixtures/appender-threads.js';
import { startAppenderThreads } from '../core/shared/fixtures/appender-threads.js';
import { checkLog } from '../core/shared/shared-log-check.js';

const RECORDS = Number(process.env.SLUICE_SHARED_KAFKA_RECORDS ?? 20_000);
const OWNER_RECORDS = Math.ceil(RECORDS / 2.5);
const THREADS = 4;
const PARTITIONS = 64;
const VALUE_BYTES = 50;

describe('shared producer against Kafka 4.x: 4 appender threads + the owner, read back with kcat', function () {
  this.timeout(180_000);
  let kafka: KafkaCluster;
  let threads: AppenderThread[];

  before(async function () {
    this.timeout(180_000);
    [kafka, threads] = await Promise.all([sharedKafka(), startAppenderThreads(THREADS)]);
    await kafka.createTopics(['none', 'lz4'].map((codec) => ({ name: `shared-producer-${codec}`, partitions: PARTITIONS, replicationFactor: 1 })));
  });
  after(async () => {
    await Promise.all((threads ?? []).map((t) => t.terminate()));
  });

  for (const codec of ['none', 'lz4'] as const) {
    it(`${codec}: kcat reads back every record exactly once, each thread's records in its order per partition`, async () => {
      const topic = `shared-producer-${codec}`;
      const producer = new Producer({
        config: { 'bootstrap.servers': kafka.bootstrapServers, 'compression.type': codec, 'linger.ms': 5, 'batch.size': 16384, 'seal.workers': 0 },
      });
      const handle = producer.shareable();
      for (const t of threads) producer.watch(t.worker);
      const ownerDone = (async () => {
        let failed = 0;
        for (let i = 0; i < OWNER_RECORDS; i++) {
          const wait = producer.send({ topic, key: keyOf(THREADS, i, 'mixed'), value: valueOf(THREADS, i, VALUE_BYTES) }, (err) => {
            if (err !== null) failed++;
          });
          if (wait !== undefined) await wait;
          if (i % 1000 === 999) await new Promise<void>((resolve) => setImmediate(resolve));
        }
        await producer.flush();
        return failed;
      })();
      const reports = await Promise.all(threads.map((t, thread) => t.run({ handle, thread, records: RECORDS, topic, keys: 'mixed', valueBytes: VALUE_BYTES, promiseEvery: 11, yieldEvery: 1000 })));
      expect(await ownerDone).to.equal(0);
      await producer.close();
      for (const r of reports) expect(r, `thread ${r.thread}`).to.include({ acked: RECORDS, failed: 0, notOnce: 0, firstError: null });
      const pool = producer.accumulator.pool;
      expect(pool.availableMemory(), 'every slot back').to.equal(pool.totalMemory);

      const total = THREADS * RECORDS + OWNER_RECORDS;
      const consumed = await consumeAll({ bootstrap: kafka.bootstrapServers, topic, count: total, exitAtEnd: true, timeoutMs: 120_000 });
      expect(consumed.length, 'kcat read every record, none twice').to.equal(total);
      const inLogOrder = [...consumed].sort((a, b) => a.partition - b.partition || a.offset - b.offset);
      const complete = new Map<number, number>(Array.from({ length: THREADS }, (_, t) => [t, RECORDS]));
      complete.set(THREADS, OWNER_RECORDS);
      checkLog(
        inLogOrder.map((c) => ({ partition: c.partition, value: c.value!.toString('utf8') })),
        complete,
        VALUE_BYTES,
      );
      expect(new Set(consumed.map((c) => c.partition)).size, 'records over every partition').to.equal(PARTITIONS);
    });
  }
});
