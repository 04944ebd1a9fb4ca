/**
 * A {@link PerfEngine} for Node Kafka clients whose producer takes arrays of messages and has
 * no accumulator of its own — kafkajs (`producer.send({ topic, messages })`) and
 * @platformatic/kafka (`producer.send({ messages })`) against a real broker. The engine gives
 * them the batching a user of those clients writes, favourably to them:
 *
 * - records are collected into a chunk of message objects `{ key, value, partition }` and
 *   the chunk is handed to the client's `send` when it holds about `batch.size` bytes per
 *   partition (capped at `max.request.size`) or `linger.ms` after its first record — one
 *   request per broker per chunk, as a Kafka producer drains its batches;
 * - the partition is given in each message: keyed records go where Kafka's default
 *   partitioner sends the key (murmur2, precomputed per pool entry; both clients would compute
 *   the same), unkeyed ones stick to one partition until it has a `batch.size` of records
 *   in the chunk (KIP-794's effect). Neither client then hashes a key per record;
 * - no timestamp is given (the clients stamp the record as their users' code does);
 * - up to `max.in.flight.requests.per.connection` sends are in flight (fewer where a client
 *   cannot take concurrent sends: see platformatic-peer.ts); when that many are in
 *   flight and a closed chunk already waits, `append` waits for a send to finish (the memory
 *   bound a user needs; the clients themselves would keep allocating).
 *
 * Completions: when a send settles, every partition's records in its chunk complete (the
 * tracker pops them in append order). Two sends in flight that both touch a partition
 * complete in order on one connection (Kafka answers a connection's requests in order).
 */
import type { ProducerConfig } from '@sluice/core';
import type { LatencyTracker, PerfEngine } from '../perf-run.js';
import type { Workload } from '../workload.js';
import { mulberry32 } from '../workload.js';

/** A message as both clients take it (kafkajs ignores `topic`, platformatic needs it). */
export interface ArrayMessage {
  topic: string;
  key: Buffer | undefined;
  value: Buffer;
  partition: number;
}

/** The client under test: sends one chunk, resolves when the broker acknowledged all of it. */
export interface MessageArrayClient {
  readonly name: string;
  send(messages: ArrayMessage[]): Promise<void>;
  close(): Promise<void>;
}

/** Per-record framing Kafka's RecordBatch v2 adds to key + value, roughly (for chunk sizing). */
const RECORD_OVERHEAD_BYTES = 10;

interface Chunk {
  messages: ArrayMessage[];
  counts: Int32Array;
  bytes: number;
}

/** Builds the engine around a connected client. */
export function createMessageArrayEngine(
  w: Workload,
  config: ProducerConfig,
  tracker: LatencyTracker,
  client: MessageArrayClient,
  maxConcurrentSends = config.maxInFlightRequestsPerConnection,
): PerfEngine {
  const partitions = w.partitions;
  const chunkLimit = Math.min(config.maxRequestSize, config.batchSize * partitions);
  const maxInFlight = maxConcurrentSends;
  const next = mulberry32(w.seed ^ 0x6b6b);
  const onBatchDone = tracker.onBatchDone;
  const values = w.values;
  const keys = w.keys;
  const keyPartitions = w.keyPartitions;
  const topic = w.topic;
  const newChunk = (): Chunk => ({ messages: [], counts: new Int32Array(partitions), bytes: 0 });
  let open = newChunk();
  let sticky = next() % partitions;
  let stickyBytes = 0;
  let lingerTimer: NodeJS.Timeout | null = null;
  const waiting: Chunk[] = [];
  let inFlight = 0;
  let firstFailure: Error | null = null;
  let memoryWaiter: (() => void) | null = null;
  let idleWaiter: (() => void) | null = null;

  const wake = (): void => {
    if (memoryWaiter !== null && waiting.length === 0) {
      const f = memoryWaiter;
      memoryWaiter = null;
      f();
    }
    if (idleWaiter !== null && inFlight === 0 && waiting.length === 0) {
      const f = idleWaiter;
      idleWaiter = null;
      f();
    }
  };

  const dispatch = (): void => {
    while (inFlight < maxInFlight && waiting.length > 0) {
      const chunk = waiting.shift()!;
      inFlight++;
      client.send(chunk.messages).then(
        () => settle(chunk, null),
        (err: unknown) => settle(chunk, err instanceof Error ? err : new Error(String(err))),
      );
    }
  };

  const settle = (chunk: Chunk, error: Error | null): void => {
    inFlight--;
    if (error !== null) firstFailure ??= error;
    const counts = chunk.counts;
    for (let p = 0; p < partitions; p++) if (counts[p] > 0) onBatchDone(p, counts[p], error);
    dispatch();
    wake();
  };

  const close = (): void => {
    if (lingerTimer !== null) {
      clearTimeout(lingerTimer);
      lingerTimer = null;
    }
    if (open.messages.length === 0) return;
    waiting.push(open);
    open = newChunk();
    dispatch();
  };

  return {
    name: client.name,
    append(poolIndex: number): number | Promise<number> {
      const value = values[poolIndex];
      const key = keys === null ? undefined : keys[poolIndex];
      const size = value.length + (key === undefined ? 0 : key.length) + RECORD_OVERHEAD_BYTES;
      let partition: number;
      if (keyPartitions !== null) {
        partition = keyPartitions[poolIndex];
      } else {
        if (stickyBytes + size > config.batchSize && stickyBytes > 0) {
          sticky = partitions === 1 ? 0 : (sticky + 1 + (next() % (partitions - 1))) % partitions;
          stickyBytes = 0;
        }
        stickyBytes += size;
        partition = sticky;
      }
      const chunk = open;
      chunk.messages.push({ topic, key, value, partition });
      chunk.counts[partition]++;
      chunk.bytes += size;
      if (chunk.messages.length === 1 && config.lingerMs > 0) lingerTimer = setTimeout(close, config.lingerMs);
      if (chunk.bytes >= chunkLimit || config.lingerMs === 0) close();
      if (waiting.length > 0 && inFlight >= maxInFlight) {
        return new Promise<number>((resolve) => {
          memoryWaiter = () => resolve(partition);
        });
      }
      return partition;
    },
    flush(): void {
      close();
    },
    async finish(): Promise<void> {
      close();
      if (inFlight > 0 || waiting.length > 0) await new Promise<void>((resolve) => (idleWaiter = resolve));
      await client.close();
    },
    async abort(): Promise<void> {
      if (lingerTimer !== null) clearTimeout(lingerTimer);
      const dropped = waiting.splice(0);
      const error = new Error(`${client.name}: aborted`);
      for (const chunk of dropped) for (let p = 0; p < partitions; p++) if (chunk.counts[p] > 0) onBatchDone(p, chunk.counts[p], error);
      wake();
      await client.close();
    },
    metrics(): Record<string, unknown> {
      return { firstFailure: firstFailure === null ? null : String(firstFailure) };
    },
  };
}
