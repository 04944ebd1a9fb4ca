/**
 * The fixture of Apache Kafka's `RecordAccumulatorTest`
 * (clients/src/test/java/org/apache/kafka/clients/producer/internals), in Sluice terms, so
 * that ported cases keep Kafka's numbers: topic "test" with partitions 0 and 1 led by node
 * 0 and partition 2 led by node 1, key "key", value "value", `maxBlockTimeMs` 1000, and
 * `createTestRecordAccumulator(batchSize, totalSize, compression, lingerMs)` with Kafka's
 * delivery timeout 3200 ms, retry backoff 100 ms (max 1000 ms), on a manual clock.
 */
import { expect } from 'chai';
import { ManualClock } from '../../packages/core/src/clock.js';
import { Cluster } from '../../packages/core/src/cluster/cluster.js';
import type { TopicPartition } from '../../packages/core/src/cluster/topic-partition.js';
import type { ProducerBatch } from '../../packages/core/src/accumulator/producer-batch.js';
import type { RecordAppendResult } from '../../packages/core/src/accumulator/record-accumulator.js';
import { RecordAccumulator } from '../../packages/core/src/accumulator/record-accumulator.js';
import type { CompressionName } from '../../packages/core/src/format/compression-type.js';
import { sizeOfRecord, sizeOfRecordBody } from '../../packages/core/src/format/record-writer.js';
import type { TestAccumulator } from './accumulator-factory.js';

export const TOPIC = 'test';
/** Kafka's `node1` (id 0): leads partitions 0 and 1. */
export const NODE1 = 0;
/** Kafka's `node2` (id 1): leads partition 2. */
export const NODE2 = 1;
export const tp1: TopicPartition = { topic: TOPIC, partition: 0 };
export const tp2: TopicPartition = { topic: TOPIC, partition: 1 };
export const tp3: TopicPartition = { topic: TOPIC, partition: 2 };
export const KEY = Buffer.from('key');
export const VALUE = Buffer.from('value');
/** Kafka's `maxBlockTimeMs`. */
export const MAX_BLOCK_TIME_MS = 1000;
/** Java's Integer.MAX_VALUE. */
export const INT_MAX = 2147483647;

/** The test's metadata: node1 leads tp1 and tp2, node2 leads tp3. */
export function kafkaCluster(): Cluster {
  return new Cluster({ [TOPIC]: [NODE1, NODE1, NODE2] });
}

/**
 * Kafka's `createTestRecordAccumulator(deliveryTimeoutMs, batchSize, totalSize, compression, lingerMs)`.
 * `batchSize` is Kafka's batch.size, header included (Kafka's tests pass `n + RECORD_BATCH_OVERHEAD`).
 * Sluice differs: its config requires delivery.timeout.ms >= linger.ms + request.timeout.ms
 * (KafkaProducer checks the same; Kafka's accumulator tests bypass it). The accumulator never
 * reads request.timeout.ms, so it is 0 here; cases with a huge linger pass a delivery timeout to match.
 */
export function createTestRecordAccumulator(
  batchSize: number,
  totalSize: number,
  compression: CompressionName,
  lingerMs: number,
  overrides: Record<string, unknown> = {},
  startMs?: number,
): TestAccumulator {
  const clock = new ManualClock(startMs);
  const acc = new RecordAccumulator({
    config: {
      batchSize,
      bufferMemory: totalSize,
      compressionType: compression,
      lingerMs,
      deliveryTimeoutMs: 3200,
      requestTimeoutMs: 0,
      retryBackoffMs: 100,
      retryBackoffMaxMs: 1000,
      maxBlockMs: MAX_BLOCK_TIME_MS,
      // Kafka's test accumulators have no TransactionManager: no producer id, no sequences.
      enableIdempotence: false,
      ...overrides,
    },
    clock,
  });
  return { acc, clock, cluster: kafkaCluster() };
}

/** `append` that must not wait for memory. */
export function appendNow(
  t: TestAccumulator,
  tp: TopicPartition,
  key: Buffer | null = KEY,
  value: Buffer | null = VALUE,
  completion?: Parameters<RecordAccumulator['append']>[5],
  options?: Parameters<RecordAccumulator['append']>[6],
): RecordAppendResult {
  const r = t.acc.append(tp, 0, key, value, null, completion, options);
  if (r instanceof Promise) throw new Error('append unexpectedly waited for memory');
  return r;
}

/**
 * Kafka's `expectedNumAppends(batchSize)`: how many key/value records (offsetDelta 0, 1, …,
 * timestampDelta 0) fit in `batchSize` bytes of records, each sized as Kafka's
 * `DefaultRecord.sizeInBytes`.
 */
export function expectedNumAppends(batchSize: number, keyLength = KEY.length, valueLength = VALUE.length): number {
  let size = 0;
  for (let offsetDelta = 0; ; offsetDelta++) {
    const recordSize = sizeOfRecord(sizeOfRecordBody(offsetDelta, 0, keyLength, valueLength, 1));
    if (size + recordSize > batchSize) return offsetDelta;
    size += recordSize;
  }
}

/** Kafka's `expectedNumAppendsNoKey(batchSize)`. */
export function expectedNumAppendsNoKey(batchSize: number): number {
  return expectedNumAppends(batchSize, -1);
}

/** ready → node ids, as a sorted array. */
export function readyNodes(t: TestAccumulator, nowMs = t.clock.nowMs()): number[] {
  return [...t.acc.ready(t.cluster, nowMs).readyNodes].sort();
}

/** drain → the batches for `node` (none when the node got no entry). */
export function drainNode(t: TestAccumulator, nodes: Iterable<number>, node: number, maxSize = INT_MAX, nowMs = t.clock.nowMs()): ProducerBatch[] {
  return t.acc.drain(t.cluster, nodes, maxSize, nowMs).get(node) ?? [];
}

/** Every batch of a drain, flattened, in node order of the returned map. */
export function drainFlat(t: TestAccumulator, nodes: Iterable<number>, maxSize = INT_MAX, nowMs = t.clock.nowMs()): ProducerBatch[] {
  return [...t.acc.drain(t.cluster, nodes, maxSize, nowMs).values()].flat();
}

/** Sends a drained batch (SEALED → IN_FLIGHT) and lets the request go, as a sender does before a retry. */
export function sendAndRelease(batch: ProducerBatch, nowMs: number): void {
  batch.markInFlight(nowMs);
  batch.releaseNetworkHold();
}

/**
 * Ends a test: aborts whatever is still incomplete (releasing batches the test holds in
 * flight) and asserts that every byte went back to the pool.
 */
export function expectAllMemoryBack(t: TestAccumulator, heldInFlight: readonly ProducerBatch[] = []): void {
  t.acc.abortIncompleteBatches();
  for (const b of heldInFlight) b.releaseNetworkHold();
  expect(t.acc.hasIncomplete(), 'nothing incomplete').to.equal(false);
  expect(t.acc.pool.availableMemory(), 'pool balanced').to.equal(t.acc.pool.totalMemory);
}
