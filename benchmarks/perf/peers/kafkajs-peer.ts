/**
 * kafkajs as a {@link PerfEngine} on the embedded target: kafkajs doing the producer's job
 * in-process on the same records — its message objects, its RecordBatch v2 encoder and its
 * codecs building the batches (see kafkajs-encoder.ts) — and the bytes pushed through the
 * same `InMemoryCluster` Sluice sends to, acknowledged the same way. The network and the
 * broker are the same for both; what differs is the producer.
 *
 * kafkajs has no accumulator (its `send` takes arrays of messages and encodes them at once),
 * so the peer gives it the batching a kafkajs user would write, kafkajs-favourably:
 * - per partition, message objects `{ key, value, timestamp }` are collected until their
 *   encoded size reaches `batch.size` (the same batches Sluice builds), then encoded with
 *   kafkajs's `partitionsEncoder` logic (Record per message + RecordBatch);
 * - unkeyed records stick to one partition until its batch is full, then move to another
 *   one at random (KIP-794's effect); keyed records go by murmur2 of the key (what kafkajs's
 *   DefaultPartitioner computes);
 * - encoded batches wait per leader node and go out as one produce request per node, up to
 *   `max.request.size` and `max.in.flight.requests.per.connection` requests in flight, as
 *   kafkajs groups a send's partitions per broker;
 * - `linger.ms` is not modelled (kafkajs has none): a partial batch waits until the end.
 * - With `enable.idempotence`, it gets a producer id from the cluster and numbers batches,
 *   as kafkajs's idempotent producer does.
 * When memory for in-flight batches exceeds `buffer.memory`, `append` waits for
 * acknowledgements (kafkajs itself would just keep allocating).
 */
import { codecFor, CompressionType, InMemoryCluster } from '@sluice/core';
import type { ProducePartitionData, ProducePartitionResponse, ProducerConfig } from '@sluice/core';
import { RECORD_BATCH_OVERHEAD, sizeOfRecord, sizeOfRecordBody } from '@sluice/core/internal';
import type { LatencyTracker, PerfEngine } from '../perf-run.js';
import type { Workload } from '../workload.js';
import { mulberry32 } from '../workload.js';
import type { KafkajsMessage, KafkajsModules } from './kafkajs-encoder.js';
import { encodeKafkajsBatch, ensureKafkajsCodec } from './kafkajs-encoder.js';

const LIBRARIES: Record<string, string> = { snappy: 'snappy', lz4: 'lz4-napi', zstd: 'zstd' };

interface OpenBatch {
  messages: KafkajsMessage[];
  sizeBytes: number;
}

interface ReadyBatch {
  partition: number;
  recordCount: number;
  bytes: Buffer;
}

/** What the kafkajs peer used, for the report. */
export function describeKafkajsPeer(k: KafkajsModules, config: ProducerConfig): string {
  return `kafkajs ${k.version}: RecordBatch encoder, codec ${ensureKafkajsCodec(k, CompressionType[config.compressionType], codecFor(CompressionType[config.compressionType]), LIBRARIES[config.compressionType] ?? config.compressionType)}, same in-memory cluster`;
}

/** Builds the kafkajs peer engine for a run. */
export async function createKafkajsEngine(k: KafkajsModules, w: Workload, config: ProducerConfig, tracker: LatencyTracker): Promise<PerfEngine> {
  const codecId = CompressionType[config.compressionType];
  ensureKafkajsCodec(k, codecId, codecFor(codecId), LIBRARIES[config.compressionType] ?? config.compressionType);
  const network = new InMemoryCluster({
    brokers: w.brokers,
    topics: { [w.topic]: w.partitions },
    retainLog: false,
    maxInFlightRequestsPerConnection: config.maxInFlightRequestsPerConnection,
  });
  const cluster = network.brokers;
  const idempotent = config.enableIdempotence;
  const answer = idempotent ? await network.initProducerId() : null;
  const pid = answer !== null ? { producerId: answer.producerId, epoch: answer.producerEpoch } : { producerId: -1, epoch: 0 };
  const sequences = new Int32Array(w.partitions);
  const open: OpenBatch[] = [];
  for (let p = 0; p < w.partitions; p++) open.push({ messages: [], sizeBytes: RECORD_BATCH_OVERHEAD });
  const queues = new Map<number, ReadyBatch[]>();
  const capacity = config.batchSize;
  const next = mulberry32(w.seed ^ 0x6b6a);
  let sticky = next() % w.partitions;
  let bufferedBytes = 0;
  let encoding = 0;
  let memoryWaiter: (() => void) | null = null;
  let idleWaiter: (() => void) | null = null;
  let firstFailure: Error | null = null;
  const onBatchDone = tracker.onBatchDone;

  const maybeWake = (): void => {
    if (memoryWaiter !== null && bufferedBytes < config.bufferMemory) {
      const w2 = memoryWaiter;
      memoryWaiter = null;
      w2();
    }
    if (idleWaiter !== null && bufferedBytes === 0 && encoding === 0) {
      const w2 = idleWaiter;
      idleWaiter = null;
      w2();
    }
  };

  const trySend = (node: number): void => {
    const q = queues.get(node);
    while (q !== undefined && q.length > 0 && network.ready(node)) {
      const parts: ProducePartitionData[] = [];
      const sent: ReadyBatch[] = [];
      let size = 0;
      // One batch per partition per request (a produce request's shape): take the oldest
      // batch of each partition waiting for this node, up to max.request.size.
      for (let i = 0; i < q.length; ) {
        const b = q[i];
        if (sent.length > 0 && (size + b.bytes.length > config.maxRequestSize || sent.some((x) => x.partition === b.partition))) {
          if (size + b.bytes.length > config.maxRequestSize) break;
          i++;
          continue;
        }
        q.splice(i, 1);
        size += b.bytes.length;
        sent.push(b);
        parts.push({ topic: w.topic, partition: b.partition, records: b.bytes });
      }
      network.send({ nodeId: node, acks: config.acks, timeoutMs: config.requestTimeoutMs, transactionalId: null, partitions: parts }).then(
        (responses: ProducePartitionResponse[]) => {
          for (const r of responses) {
            const b = sent.find((x) => x.partition === r.partition)!;
            const error = r.errorCode === 0 ? null : new Error(`kafkajs peer: broker error ${r.errorCode} on ${w.topic}-${r.partition}: ${r.errorMessage ?? ''}`);
            if (error !== null) firstFailure ??= error;
            onBatchDone(b.partition, b.recordCount, error);
          }
          for (const b of sent) bufferedBytes -= b.bytes.length;
          trySend(node);
          maybeWake();
        },
        (err: Error) => {
          firstFailure ??= err;
          for (const b of sent) {
            onBatchDone(b.partition, b.recordCount, err);
            bufferedBytes -= b.bytes.length;
          }
          trySend(node);
          maybeWake();
        },
      );
    }
  };

  // Encodes can finish out of order (kafkajs's gzip runs on libuv's thread pool); batches
  // are handed to the network in the order they were closed, as kafkajs sends a request
  // only once all of its batches are encoded — otherwise a partition's batches would reach
  // the broker out of sequence.
  let nextCloseSeq = 0;
  let nextReleaseSeq = 0;
  const encoded = new Map<number, { partition: number; recordCount: number; result: Buffer | Error }>();
  const releaseEncoded = (): void => {
    for (let e = encoded.get(nextReleaseSeq); e !== undefined; e = encoded.get(nextReleaseSeq)) {
      encoded.delete(nextReleaseSeq);
      nextReleaseSeq++;
      if (e.result instanceof Error) {
        onBatchDone(e.partition, e.recordCount, e.result);
        continue;
      }
      const node = cluster.trueLeaderFor(w.topic, e.partition);
      let q = queues.get(node);
      if (q === undefined) queues.set(node, (q = []));
      q.push({ partition: e.partition, recordCount: e.recordCount, bytes: e.result });
      trySend(node);
    }
    maybeWake();
  };

  const close = (partition: number): void => {
    const batch = open[partition];
    if (batch.messages.length === 0) return;
    open[partition] = { messages: [], sizeBytes: RECORD_BATCH_OVERHEAD };
    const recordCount = batch.messages.length;
    const firstSequence = idempotent ? sequences[partition] : 0;
    if (idempotent) sequences[partition] = (firstSequence + recordCount) | 0;
    encoding++;
    bufferedBytes += batch.sizeBytes;
    const seq = nextCloseSeq++;
    encodeKafkajsBatch(k, batch.messages, codecId, { producerId: pid.producerId, producerEpoch: idempotent ? pid.epoch : 0, firstSequence }).then(
      (bytes) => {
        encoding--;
        bufferedBytes += bytes.length - batch.sizeBytes;
        encoded.set(seq, { partition, recordCount, result: bytes });
        releaseEncoded();
      },
      (err: Error) => {
        encoding--;
        bufferedBytes -= batch.sizeBytes;
        firstFailure ??= err;
        encoded.set(seq, { partition, recordCount, result: err });
        releaseEncoded();
      },
    );
  };

  const values = w.values;
  const keys = w.keys;
  const keyPartitions = w.keyPartitions;
  const engine: PerfEngine = {
    name: 'kafkajs',
    append(poolIndex: number, timestampMs: number): number | Promise<number> {
      const key = keys === null ? null : keys[poolIndex];
      const value = values[poolIndex];
      const partition = keyPartitions === null ? sticky : keyPartitions[poolIndex];
      const batch = open[partition];
      const size = sizeOfRecord(sizeOfRecordBody(batch.messages.length, 0, key === null ? -1 : key.length, value.length, 1));
      if (batch.sizeBytes + size > capacity && batch.messages.length > 0) {
        close(partition);
        if (keyPartitions === null) {
          sticky = w.partitions === 1 ? 0 : (sticky + 1 + (next() % (w.partitions - 1))) % w.partitions;
          return engine.append(poolIndex, timestampMs);
        }
      }
      const b = open[partition];
      b.messages.push({ key, value, timestamp: timestampMs });
      b.sizeBytes += size;
      if (bufferedBytes + b.sizeBytes > config.bufferMemory) {
        return new Promise<number>((resolve) => {
          memoryWaiter = () => resolve(partition);
        });
      }
      return partition;
    },
    flush(): void {
      for (let p = 0; p < w.partitions; p++) close(p);
    },
    async finish(): Promise<void> {
      for (let p = 0; p < w.partitions; p++) close(p);
      if (bufferedBytes > 0 || encoding > 0) await new Promise<void>((resolve) => (idleWaiter = resolve));
      await network.close();
    },
    metrics(): Record<string, unknown> {
      return { cluster: network.stats(), firstFailure: firstFailure === null ? null : String(firstFailure) };
    },
  };
  return engine;
}
