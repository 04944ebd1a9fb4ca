/**
 * One producer shared by four appender threads and its own thread, against the embedded
 * cluster with retriable faults injected all along (partition errors, lost requests, lost
 * answers), and a pool small enough that sends wait for memory: every record completes
 * exactly once on the thread that sent it; the broker's log holds every record once, each
 * thread's records of a partition in that thread's order; every slot is back in the pool;
 * close does not hang.
 *
 * CI size: 4 × 25 000 records (+ 10 000 from the owner's thread). The size by hand:
 *   SLUICE_SHARED_STRESS_RECORDS=250000 npx mocha test/core/shared/shared-producer.stress.test.ts
 */
import { expect } from 'chai';
import { InMemoryCluster } from '../../../packages/core/src/embedded/in-memory-cluster.js';
import { Producer } from '../../../packages/core/src/producer.js';
import { KafkaErrors } from '../../../packages/core/src/protocol/kafka-errors.js';
import { keyOf, valueOf } from './fixtures/appender-thread.js';
import type { AppenderRound } from './fixtures/appender-thread.js';
import type { AppenderThread } from './fixtures/appender-threads.js';
import { startAppenderThreads } from './fixtures/appender-threads.js';
import { checkLog } from './shared-log-check.js';
import type { LoggedRecord } from './shared-log-check.js';

const RECORDS = Number(process.env.SLUICE_SHARED_STRESS_RECORDS ?? 25_000);
const OWNER_RECORDS = Math.ceil(RECORDS / 2.5);
const THREADS = 4;
const PARTITIONS = 64;
const VALUE_BYTES = 60;
const RETRIABLE = [
  KafkaErrors.NOT_LEADER_OR_FOLLOWER.code,
  KafkaErrors.REQUEST_TIMED_OUT.code,
  KafkaErrors.NOT_ENOUGH_REPLICAS.code,
  KafkaErrors.LEADER_NOT_AVAILABLE.code,
];

/** The owner's thread sends too, through the same shared path (thread number THREADS). */
async function ownerSends(producer: Producer, topic: string, failures: string[]): Promise<{ acked: number; notOnce: number }> {
  const completions = new Uint8Array(OWNER_RECORDS);
  let acked = 0;
  for (let i = 0; i < OWNER_RECORDS; i++) {
    const wait = producer.send({ topic, key: keyOf(THREADS, i, 'mixed'), value: valueOf(THREADS, i, VALUE_BYTES) }, (err) => {
      completions[i]++;
      if (err === null) acked++;
      else failures.push(err.message);
    });
    if (wait !== undefined) await wait;
    if (i % 512 === 511) await new Promise<void>((resolve) => setImmediate(resolve));
  }
  await producer.flush();
  let notOnce = 0;
  for (const c of completions) if (c !== 1) notOnce++;
  return { acked, notOnce };
}

describe('shared producer: 4 appender threads and the owner, with injected faults (stress)', function () {
  this.timeout(RECORDS > 100_000 ? 600_000 : 60_000);
  let threads: AppenderThread[];

  before(async function () {
    this.timeout(60_000);
    threads = await startAppenderThreads(THREADS);
  });
  after(async () => {
    await Promise.all(threads.map((t) => t.terminate()));
  });

  for (const codec of ['none', 'lz4'] as const) {
    it(`${codec}: every record completed once on its own thread, in the log once and in each thread's order per partition; memory back`, async () => {
      const topic = `stress-${codec}`;
      const network = new InMemoryCluster({ brokers: 3, topics: { [topic]: PARTITIONS }, latencyMs: (node) => node });
      const producer = new Producer({
        network,
        config: {
          compressionType: codec,
          batchSize: 8192,
          lingerMs: 2,
          bufferMemory: 2 * 1024 * 1024,
          requestTimeoutMs: 150,
          deliveryTimeoutMs: 120_000,
          retryBackoffMs: 5,
          retryBackoffMaxMs: 40,
          maxBlockMs: 60_000,
          sealWorkers: 0,
        },
      });
      const handle = producer.shareable();
      for (const t of threads) producer.watch(t.worker);
      // Faults all along: a partition answers with retriable errors, a request is lost on the
      // way or its answer is lost after the broker appended it.
      let faults = 0;
      const faulting = setInterval(() => {
        const partition = Math.floor(Math.random() * PARTITIONS);
        network.injectErrors(topic, partition, [RETRIABLE[faults % RETRIABLE.length]]);
        if (faults % 60 === 0) network.injectRequestTimeout(faults % 3, 1, { appended: faults % 2 === 0 });
        faults++;
      }, 3);
      const rounds = threads.map((t, thread) => {
        const round: AppenderRound = { handle, thread, records: RECORDS, topic, keys: 'mixed', valueBytes: VALUE_BYTES, promiseEvery: 9, yieldEvery: 1000 };
        return t.run(round);
      });
      const ownerFailures: string[] = [];
      const [reports, own] = await Promise.all([Promise.all(rounds), ownerSends(producer, topic, ownerFailures)]);
      clearInterval(faulting);
      await producer.close();

      for (const r of reports) {
        expect(r.firstError, `thread ${r.thread}`).to.equal(null);
        expect(r.notOnce, `thread ${r.thread}: records completed other than once`).to.equal(0);
        expect(r.acked, `thread ${r.thread}`).to.equal(RECORDS);
      }
      expect(ownerFailures).to.deep.equal([]);
      expect(own).to.deep.equal({ acked: OWNER_RECORDS, notOnce: 0 });
      const log: LoggedRecord[] = [];
      for (let p = 0; p < PARTITIONS; p++) for (const r of network.readRecords(topic, p)) log.push({ partition: p, value: Buffer.from(r.value!).toString() });
      const complete = new Map(reports.map((r) => [r.thread, RECORDS]));
      complete.set(THREADS, OWNER_RECORDS);
      checkLog(log, complete, VALUE_BYTES);
      expect(log.length).to.equal(THREADS * RECORDS + OWNER_RECORDS);
      expect(faults, 'faults were injected').to.be.greaterThan(10);
      expect(producer.metrics()['record-retry-total'], 'the sender retried').to.be.greaterThan(0);
      expect(reports.reduce((n, r) => n + r.waits, 0) + 0, 'sends waited (memory or metadata)').to.be.greaterThan(0);
      const pool = producer.accumulator.pool;
      expect(pool.availableMemory(), 'every slot back').to.equal(pool.totalMemory);
      expect(pool.queuedWaiters()).to.equal(0);
    });
  }
});
