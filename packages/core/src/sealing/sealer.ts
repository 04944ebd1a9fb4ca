/**
 * The seam between the accumulator and whoever seals batches. The accumulator hands a
 * closed batch over as a {@link SealJob}; the sealer runs {@link sealBatch} on it — on the
 * caller's thread ({@link InlineSealer}) or on a worker thread (`@sluice/worker`) — and
 * reports back with `completeSeal` or `failSeal`, exactly once.
 *
 * Sealing never imports the accumulator: a job is memory plus small numbers.
 */
import type { CompressionId } from '../format/compression-type.js';

/** The numbers a seal needs (what a worker message carries). */
export interface SealSpec {
  recordsLength: number;
  recordCount: number;
  baseTimestamp: number;
  maxTimestamp: number;
  codecId: CompressionId;
  /** Codec level, always concrete (gzip -1 is zlib's own default level). */
  level: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  transactional: boolean;
}

/** One batch to seal: where its bytes are and what to write. */
export interface SealJob {
  /** The SharedArrayBuffer holding the batch (shared with workers, never copied). */
  readonly memory: SharedArrayBuffer;
  /** A Buffer over all of `memory`. */
  readonly bytes: Buffer;
  /** A DataView over all of `memory`. */
  readonly view: DataView;
  /** Offset of the batch's first byte in `memory`. */
  readonly byteOffset: number;
  /** Bytes available to the batch from `byteOffset`. */
  readonly capacityBytes: number;
  /** The seal parameters, read when the seal starts. */
  sealSpec(): SealSpec;
  /** Called once when the batch is sealed in place; `sizeBytes` is the batch's total size. */
  completeSeal(sizeBytes: number): void;
  /** Called once when sealing failed for good (after any retry). */
  failSeal(error: Error): void;
}

/** Seals batches. */
export interface Sealer {
  /**
   * True when sealing should start as soon as a batch is full (the work runs elsewhere,
   * in parallel with appends); false when it should wait until the batch is drained
   * (inline sealing: sealing after drain lets the producer fields be written once).
   */
  readonly eager: boolean;
  /** Starts sealing `job`; calls `job.completeSeal` or `job.failSeal` exactly once, now or later. */
  seal(job: SealJob): void;
  /** Waits for seals in progress, then releases resources. Idempotent. */
  close(): Promise<void>;
}
