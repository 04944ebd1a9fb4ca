/**
 * A lone `ProducerBatch` over a slot of a real `BufferPool`, built the way the accumulator
 * builds one but without an accumulator: for the ProducerBatch unit tests and the Kafka
 * `ProducerBatchTest` conformance tests. It records every slot release and every listener
 * call, so a test can assert that memory went back exactly once and the listener was told
 * exactly once.
 */
import type { BatchListener, ProducerBatch as ProducerBatchType } from '../../packages/core/src/accumulator/producer-batch.js';
import { ProducerBatch } from '../../packages/core/src/accumulator/producer-batch.js';
import type { RecordCallback } from '../../packages/core/src/accumulator/record-metadata.js';
import type { RecordMetadata } from '../../packages/core/src/accumulator/record-metadata.js';
import { codecFor } from '../../packages/core/src/compression/codecs.js';
import type { CompressionId } from '../../packages/core/src/format/compression-type.js';
import type { RecordData, RecordHeader } from '../../packages/core/src/format/record-data.js';
import { byteLengthOf } from '../../packages/core/src/format/record-data.js';
import { sizeOfHeaders } from '../../packages/core/src/format/record-writer.js';
import { BufferPool } from '../../packages/core/src/memory/buffer-pool.js';
import type { PoolSlot } from '../../packages/core/src/memory/pool-slot.js';
import { InlineSealer } from '../../packages/core/src/sealing/inline-sealer.js';

export interface LoneBatchOptions {
  /** The pool to take the slot from; default a fresh 4 × 1024-byte pool. */
  pool?: BufferPool;
  /** Bytes to allocate (more than the pool's slot size gives a non-pooled buffer); default one slot. */
  sizeBytes?: number;
  topic?: string;
  partition?: number;
  nowMs?: number;
  codecId?: CompressionId;
  level?: number;
  /** Called after the recording listener; may throw. */
  listener?: BatchListener;
}

export interface LoneBatch {
  batch: ProducerBatchType;
  pool: BufferPool;
  /** Every slot handed to `releaseSlot`, in order (a correct batch hands over its slot once). */
  releases: PoolSlot[];
  /** Every `(batch, error)` the listener was told. */
  listened: [ProducerBatchType, Error | null][];
  /** Every batch reported through `onSealed`. */
  sealed: ProducerBatchType[];
}

/** A 4 × 1024-byte pool. */
export function smallPool(): BufferPool {
  return new BufferPool({ totalMemoryBytes: 4 * 1024, poolableSizeBytes: 1024 });
}

/** Allocates a slot and wraps it in a `ProducerBatch` whose release returns the slot to the pool. */
export function makeLoneBatch(o: LoneBatchOptions = {}): LoneBatch {
  const pool = o.pool ?? smallPool();
  const slot = pool.tryAllocate(o.sizeBytes ?? pool.poolableSize);
  if (slot === null) throw new Error(`makeLoneBatch: the pool has no ${o.sizeBytes ?? pool.poolableSize} bytes free`);
  const releases: PoolSlot[] = [];
  const listened: [ProducerBatchType, Error | null][] = [];
  const sealed: ProducerBatchType[] = [];
  const batch = new ProducerBatch({
    topic: o.topic ?? 't',
    partition: o.partition ?? 0,
    slot,
    bytes: Buffer.from(slot.buffer),
    view: new DataView(slot.buffer),
    nowMs: o.nowMs ?? 1_000,
    codecId: o.codecId ?? 0,
    level: o.level ?? 0,
    releaseSlot: (s) => {
      releases.push(s);
      pool.deallocate(s);
    },
    onSealed: (b) => sealed.push(b),
    listener: (b, e) => {
      listened.push([b, e]);
      o.listener?.(b, e);
    },
  });
  return { batch, pool, releases, listened, sealed };
}

/**
 * Appends one record as the accumulator does (lengths measured, headers sized).
 * @returns the record's offsetDelta, or -1 when it did not fit or the batch is closed
 */
export function appendRecord(
  batch: ProducerBatchType,
  timestampMs: number,
  key: RecordData,
  value: RecordData,
  headers: readonly RecordHeader[] | null = null,
): number {
  return batch.tryAppend(timestampMs, key, byteLengthOf(key), value, byteLengthOf(value), headers, sizeOfHeaders(headers));
}

/** Appends a record and registers a callback for it, as `append(…, callback)` does. */
export function appendWithCallback(batch: ProducerBatchType, timestampMs: number, key: RecordData, value: RecordData, callback: RecordCallback): number {
  const d = appendRecord(batch, timestampMs, key, value);
  if (d < 0) throw new Error('appendWithCallback: the record did not fit');
  batch.addCallback(d, timestampMs, byteLengthOf(key), byteLengthOf(value), callback);
  return d;
}

/** Appends a record and returns its metadata promise, as `append(…, 'promise')` does. */
export function appendWithPromise(batch: ProducerBatchType, timestampMs: number, key: RecordData, value: RecordData): Promise<RecordMetadata> {
  const d = appendRecord(batch, timestampMs, key, value);
  if (d < 0) throw new Error('appendWithPromise: the record did not fit');
  return batch.addPromise(d, timestampMs, byteLengthOf(key), byteLengthOf(value));
}

/** Closes and seals the batch on this thread with the default codec registry (APPENDING → SEALED). */
export function sealInline(batch: ProducerBatchType): void {
  batch.beginSeal();
  new InlineSealer(codecFor).seal(batch);
}

/** Seals, sends and acknowledges the batch: the path a sender takes to SUCCEEDED. */
export function succeed(batch: ProducerBatchType, baseOffset: number, nowMs = 2_000, logAppendTimeMs = -1): boolean {
  if (!batch.isSealed) sealInline(batch);
  batch.markInFlight(nowMs);
  const completed = batch.done(baseOffset, logAppendTimeMs, null);
  batch.releaseNetworkHold();
  return completed;
}

/** Records what a callback is told. */
export class CallbackRecorder {
  readonly calls: { error: Error | null; metadata: RecordMetadata | null }[] = [];
  readonly callback: RecordCallback = (error, metadata) => {
    this.calls.push({ error, metadata });
  };
}

/** The rejection of a promise, or a test failure when it resolves. */
export async function rejectionOf(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the promise to reject');
}
