/**
 * Per-topic compression ratio estimates, so that a compressed batch can hold about
 * `batch.size` bytes AFTER compression instead of closing when its raw records reach it.
 *
 * The update rule is Kafka's `CompressionRatioEstimator` (org.apache.kafka.common.record):
 * estimates start at 1.0 (`CompressionType.rate`); a batch that compressed WORSE than the
 * estimate moves it up at once by at least `COMPRESSION_RATIO_DETERIORATE_STEP` (0.05) —
 * to the observed ratio if that is higher; one that compressed BETTER moves it down by only
 * `COMPRESSION_RATIO_IMPROVING_STEP` (0.005). Estimates are float32 as in Java.
 *
 * Two differences from Kafka, both because a batch here lives in a fixed slot of shared
 * memory and cannot grow as Kafka's `ByteBufferOutputStream` does:
 *   - the estimate sizes the batch's ALLOCATION ({@link compressedBatchAllocationBytes}):
 *     whole pool slots, at most {@link MAX_COMPRESSED_BATCH_SLOTS}; the batch then closes
 *     when its raw records fill that memory, so it can never overrun it;
 *   - estimates belong to one accumulator instance, not to a JVM-wide static map.
 * The observed ratio is compressed records bytes / raw records bytes (header excluded); a
 * batch that fell back to no compression observes 1.0.
 */
import type { CompressionId } from '../format/compression-type.js';
import { RECORD_BATCH_OVERHEAD } from '../format/record-batch-layout.js';

/** Kafka: the step an estimate goes down by when a batch compresses better than estimated. */
export const COMPRESSION_RATIO_IMPROVING_STEP = 0.005;
/** Kafka: the least step an estimate goes up by when a batch compresses worse than estimated. */
export const COMPRESSION_RATIO_DETERIORATE_STEP = 0.05;
/** Kafka `CompressionType.rate` for every codec in current releases. */
export const INITIAL_COMPRESSION_RATIO = 1.0;
/** Kafka `MemoryRecordsBuilder.COMPRESSION_RATE_ESTIMATION_FACTOR`: head-room over the estimate. */
export const COMPRESSION_RATE_ESTIMATION_FACTOR = 1.05;
/** Most pool slots one compressed batch is given (raw capacity 4 x batch.size). */
export const MAX_COMPRESSED_BATCH_SLOTS = 4;

const CODEC_COUNT = 5;

/** Estimated compression ratios by topic and codec. */
export class CompressionRatioEstimator {
  readonly #byTopic = new Map<string, Float32Array>();

  #ratios(topic: string): Float32Array {
    let ratios = this.#byTopic.get(topic);
    if (ratios === undefined) {
      ratios = new Float32Array(CODEC_COUNT).fill(INITIAL_COMPRESSION_RATIO);
      this.#byTopic.set(topic, ratios);
    }
    return ratios;
  }

  /** The current estimate for `topic` and `codecId` (1.0 until batches were observed). */
  estimation(topic: string, codecId: CompressionId): number {
    return this.#byTopic.get(topic)?.[codecId] ?? INITIAL_COMPRESSION_RATIO;
  }

  /**
   * Folds one observed ratio into the estimate (Kafka `updateEstimation`).
   * @param observedRatio - compressed size / uncompressed size of one batch
   * @returns the new estimate
   */
  updateEstimation(topic: string, codecId: CompressionId, observedRatio: number): number {
    const ratios = this.#ratios(topic);
    const current = ratios[codecId];
    // Java compares floats: round the observation to float32 first, so equal means equal.
    const observed = Math.fround(observedRatio);
    if (observed > current) ratios[codecId] = Math.max(current + COMPRESSION_RATIO_DETERIORATE_STEP, observed);
    else if (observed < current) ratios[codecId] = current - COMPRESSION_RATIO_IMPROVING_STEP;
    return ratios[codecId];
  }

  /** Sets an estimate (tests, and warm starts from a previous run). */
  setEstimation(topic: string, codecId: CompressionId, ratio: number): void {
    this.#ratios(topic)[codecId] = ratio;
  }

  /** Forgets a topic's estimates (they start again at 1.0). */
  removeEstimation(topic: string): void {
    this.#byTopic.delete(topic);
  }
}

/**
 * How many bytes to allocate for a new compressed batch so that its records, compressed at
 * `estimatedRatio` (with Kafka's 5 % head-room), come to about `batchSizeBytes`.
 * Rounded DOWN to whole slots of `batchSizeBytes` — a non-pooled buffer is charged whole
 * slots against `buffer.memory` anyway, and rounding down never aims above `batch.size` —
 * and kept within [1, `maxSlots`] slots.
 * @param batchSizeBytes - `batch.size` (the pool's slot size)
 * @param estimatedRatio - the topic's current estimate, in (0, 1]
 * @param maxSlots - the most slots one batch may take (memory and request-size caps)
 * @returns bytes to allocate: a multiple of `batchSizeBytes`
 */
export function compressedBatchAllocationBytes(batchSizeBytes: number, estimatedRatio: number, maxSlots: number): number {
  const recordsTarget = (batchSizeBytes - RECORD_BATCH_OVERHEAD) / (Math.max(estimatedRatio, 1e-3) * COMPRESSION_RATE_ESTIMATION_FACTOR);
  const slots = Math.floor((RECORD_BATCH_OVERHEAD + recordsTarget) / batchSizeBytes);
  return batchSizeBytes * Math.max(1, Math.min(slots, maxSlots));
}
