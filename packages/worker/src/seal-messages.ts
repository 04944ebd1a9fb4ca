/**
 * The messages between the {@link WorkerSealer} (event-loop thread) and the seal task
 * (piscina worker): numbers, plus references to the SharedArrayBuffers the batches live in.
 * No record bytes ever travel in a message — the worker reads and writes them in place.
 *
 * ## Task: {@link SealTaskMessage}
 * `batches` is a Float64Array of {@link BATCH_FIELDS} numbers per batch (every field is an
 * integer within ±2^53, so float64 holds it exactly; one typed array clones as one memcpy):
 *
 * ```
 * field               index  meaning
 * ------------------  -----  ------------------------------------------------------------
 * BUFFER_INDEX            0  index into `buffers` (and `bufferIds`) of the batch's memory
 * BYTE_OFFSET             1  offset of the batch's first byte in that buffer
 * CAPACITY_BYTES          2  bytes the batch may use from BYTE_OFFSET
 * RECORDS_LENGTH          3  bytes of raw records after the 61-byte header gap
 * RECORD_COUNT            4  records in the batch
 * BASE_TIMESTAMP          5  first record's timestamp (ms)
 * MAX_TIMESTAMP           6  largest record timestamp (ms)
 * CODEC_ID                7  Kafka codec id (1 gzip, 2 snappy, 3 lz4, 4 zstd)
 * LEVEL                   8  codec level (concrete; see SealSpec.level)
 * PRODUCER_ID             9  producer id, or -1
 * PRODUCER_EPOCH         10  producer epoch, or -1
 * BASE_SEQUENCE          11  base sequence, or -1
 * TRANSACTIONAL          12  1 if transactional, else 0
 * ```
 * `bufferIds[i]` names `buffers[i]` stably across messages: a SharedArrayBuffer arrives in
 * a worker as a NEW object on every message (checked: `m1.sab !== m2.sab` for the same
 * memory), so the worker's per-thread view cache is keyed by this id, not by identity.
 *
 * ## Result: {@link SealTaskResult}
 * `sizes[i]` > 0 is batch i's sealed size; {@link SEAL_FAILED_RETRYABLE} means its raw
 * records are intact (seal it again elsewhere); {@link SEAL_FAILED_RECORDS_LOST} means they
 * may have been overwritten (fail the batch). `errors[i]` says why.
 *
 * ## Progress marks in the batch's own memory
 * A seal in progress is visible in the MAGIC byte of the batch's header gap (the header is
 * written last, so the gap is free until then). This is what makes a worker that DIES
 * mid-group recoverable: the main thread reads each batch's mark and knows whether its raw
 * records are intact.
 *
 * ```
 * mark                       written by   when                            raw records
 * -------------------------  -----------  ------------------------------  -----------------
 * SEAL_MARK_PENDING     (0)  main thread  before posting the task         intact
 * SEAL_MARK_COMPRESSING(-1)  worker       before the codec runs           intact
 * SEAL_MARK_REPLACING  (-2)  worker       when the codec returns, just    may be replaced
 *                                         before sealBatch copies it in   (unknown)
 * MAGIC_V2              (2)  sealBatch    header written; sealed once     final (compressed
 *                                         the CRC matches                 or raw)
 * ```
 * The slot's previous batch left a valid header (magic 2, valid CRC) in the gap; the
 * PENDING store before posting erases it, so a 2 always belongs to this seal.
 */
import type { SealJob, SealSpec } from '@sluice/core';

/** Numbers per batch in {@link SealTaskMessage.batches}. */
export const BATCH_FIELDS = 13;
export const BUFFER_INDEX = 0;
export const BYTE_OFFSET = 1;
export const CAPACITY_BYTES = 2;
export const RECORDS_LENGTH = 3;
export const RECORD_COUNT = 4;
export const BASE_TIMESTAMP = 5;
export const MAX_TIMESTAMP = 6;
export const CODEC_ID = 7;
export const LEVEL = 8;
export const PRODUCER_ID = 9;
export const PRODUCER_EPOCH = 10;
export const BASE_SEQUENCE = 11;
export const TRANSACTIONAL = 12;

/**
 * Writes batch `i`'s numbers into a task's `batches` array, following the table above: the
 * one encoder of this layout (the seal task is its one decoder).
 * @param bufferIndex - index of `job.memory` in the task's `buffers`
 */
export function writeSealFields(batches: Float64Array, i: number, bufferIndex: number, job: SealJob, spec: SealSpec): void {
  const f = i * BATCH_FIELDS;
  batches[f + BUFFER_INDEX] = bufferIndex;
  batches[f + BYTE_OFFSET] = job.byteOffset;
  batches[f + CAPACITY_BYTES] = job.capacityBytes;
  batches[f + RECORDS_LENGTH] = spec.recordsLength;
  batches[f + RECORD_COUNT] = spec.recordCount;
  batches[f + BASE_TIMESTAMP] = spec.baseTimestamp;
  batches[f + MAX_TIMESTAMP] = spec.maxTimestamp;
  batches[f + CODEC_ID] = spec.codecId;
  batches[f + LEVEL] = spec.level;
  batches[f + PRODUCER_ID] = spec.producerId;
  batches[f + PRODUCER_EPOCH] = spec.producerEpoch;
  batches[f + BASE_SEQUENCE] = spec.baseSequence;
  batches[f + TRANSACTIONAL] = spec.transactional ? 1 : 0;
}

/** Result code: the seal failed before the raw records were touched; retry it. */
export const SEAL_FAILED_RETRYABLE = -1;
/** Result code: the seal failed while the raw records were being replaced; they are lost. */
export const SEAL_FAILED_RECORDS_LOST = -2;

/** Header-gap MAGIC byte: posted, not started. */
export const SEAL_MARK_PENDING = 0;
/** Header-gap MAGIC byte (as int8): the codec is running; raw records intact. */
export const SEAL_MARK_COMPRESSING = -1;
/** Header-gap MAGIC byte (as int8): compressed bytes are being copied over the raw records. */
export const SEAL_MARK_REPLACING = -2;

/**
 * Test-only fault injection (honoured only when the WorkerSealer was built with its
 * internal fault option; production messages always carry {@link FAULT_NONE}).
 */
export const SealFault = {
  NONE: 0,
  /** The codec throws for batch `faultBatch` (raw records intact). */
  THROW_IN_CODEC: 1,
  /** The task throws before sealing anything. */
  THROW_TASK: 2,
  /** The worker thread exits before batch `faultBatch` (earlier batches are sealed). */
  EXIT_BEFORE_BATCH: 3,
  /** The worker thread exits inside the codec of batch `faultBatch`. */
  EXIT_WHILE_COMPRESSING: 4,
  /** The worker thread exits after the codec of batch `faultBatch` returned, before the copy. */
  EXIT_WHILE_REPLACING: 5,
} as const;
/** One of {@link SealFault}'s values. */
export type SealFaultValue = (typeof SealFault)[keyof typeof SealFault];
export const FAULT_NONE = SealFault.NONE;

/** One seal task: a group of batches. */
export interface SealTaskMessage {
  /** The memories the batches live in (the pool's buffer; non-pooled batches' own buffers). */
  buffers: SharedArrayBuffer[];
  /** Stable ids of `buffers`, same order (the worker's view-cache keys). */
  bufferIds: Int32Array;
  /** {@link BATCH_FIELDS} numbers per batch. */
  batches: Float64Array;
  /** Test-only fault ({@link SealFault}); 0 in production. */
  fault: SealFaultValue;
  /** Which batch of the group the fault hits. */
  faultBatch: number;
}

/** What a seal task returns. */
export interface SealTaskResult {
  /** Per batch: sealed size in bytes, or a negative SEAL_FAILED_* code. */
  sizes: Int32Array;
  /** Per batch: why it failed ('' when it did not); null when none failed. */
  errors: string[] | null;
  /** Nanoseconds the task spent sealing on the worker thread (for profiling). */
  busyNs: number;
}
