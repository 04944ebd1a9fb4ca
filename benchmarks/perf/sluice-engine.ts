/**
 * Sluice as a {@link PerfEngine}: the real `Producer` facade (accumulator + sender +
 * Kafka's default partitioner) on its no-promise path, `send(record, null)`, over an
 * embedded `InMemoryCluster` with `retainLog: false` — or, when the settings name
 * `bootstrap.servers`, over the producer's own Kafka wire transport to that broker (the
 * network the producer builds for itself, as an application's would) — with seal workers from
 * `@sluice/worker`'s `createSealer(config)` (inline when `seal.workers` is 0 or there is no
 * compression). Completions are observed per batch through the producer's `batchListener`.
 *
 * No allocation per record on this side: one mutable record object is reused for every
 * send (the producer reads it during the call and only keeps it when the send waits, and
 * the loop awaits that before the next record), and the partition the producer chose is
 * read back from `producer.lastPartition`.
 */
import { DefaultPartitioner, InMemoryCluster, Producer } from '@sluice/core';
import type { ProducerConfig, ProducerRecord } from '@sluice/core';
import { createSealer } from '@sluice/worker';
import type { LatencyTracker, PerfEngine } from './perf-run.js';
import type { Workload } from './workload.js';
import { mulberry32 } from './workload.js';

/** The record object reused for every send. */
interface MutableRecord {
  topic: string;
  key: Buffer | null;
  value: Buffer | null;
  timestamp: number;
}

/**
 * Builds the Sluice engine for a run.
 * @param config - the effective producer configuration (for the cluster and partitioner)
 * @param input - the settings as given (what the producer and the sealer are built from)
 */
export function createSluiceEngine(w: Workload, config: ProducerConfig, input: Record<string, unknown>, tracker: LatencyTracker): PerfEngine {
  const wire = config.bootstrapServers.length > 0;
  const network = wire
    ? null
    : new InMemoryCluster({
        brokers: w.brokers,
        topics: { [w.topic]: w.partitions },
        retainLog: false,
        maxInFlightRequestsPerConnection: config.maxInFlightRequestsPerConnection,
      });
  const seededUniform = mulberry32(w.seed ^ 0x9a71);
  const random = (): number => seededUniform() / 4294967296;
  const partitioner = new DefaultPartitioner({ batchSizeBytes: config.batchSize, random });
  const sealer = createSealer(input);
  const onBatchDone = tracker.onBatchDone;
  const producer = new Producer({
    config: input,
    ...(network === null ? {} : { network }),
    sealer,
    partitioner,
    random,
    batchListener: (batch, error) => onBatchDone(batch.partition, batch.recordCount, error),
  });
  const values = w.values;
  const keys = w.keys;
  const record: MutableRecord = { topic: w.topic, key: null, value: null, timestamp: 0 };
  const rec = record as ProducerRecord;
  return {
    name: 'sluice',
    append(poolIndex: number, timestampMs: number): number | Promise<number> {
      record.key = keys === null ? null : keys[poolIndex];
      record.value = values[poolIndex];
      record.timestamp = timestampMs;
      const wait = producer.send(rec, null);
      if (wait === undefined) return producer.lastPartition;
      // The wait resolves with the error that ended it (buffer exhausted, closed): rethrow so
      // the run counts the record as failed instead of losing it.
      return wait.then((err) => {
        if (err !== null) throw err;
        return producer.lastPartition;
      });
    },
    flush(): void {
      void producer.flush();
    },
    async finish(): Promise<void> {
      await producer.flush();
      await producer.close();
      await network?.close();
      const pool = producer.accumulator.pool;
      if (pool.availableMemory() !== pool.totalMemory) {
        throw new Error(`pool memory not returned after close: ${pool.availableMemory()} of ${pool.totalMemory} bytes available`);
      }
    },
    async abort(): Promise<void> {
      await producer.close({ timeoutMs: 0 });
    },
    metrics(): Record<string, unknown> {
      const stats = (sealer as { stats?: unknown }).stats;
      return { ...producer.metrics(), ...(network === null ? {} : { cluster: network.stats() }), sealer: sealer.constructor.name, ...(stats === undefined ? {} : { sealerStats: stats }) };
    },
  };
}
