/** What a successfully written record learns (Kafka `RecordMetadata`). */
export interface RecordMetadata {
  readonly topic: string;
  readonly partition: number;
  /** Offset in the partition: the batch's base offset + the record's offsetDelta; -1 with acks=0. */
  readonly offset: number;
  /** The record's timestamp, or the broker's log-append time when the topic uses it. */
  readonly timestamp: number;
  /** Serialized key size in bytes (-1 for a null key). */
  readonly serializedKeySize: number;
  /** Serialized value size in bytes (-1 for a null value). */
  readonly serializedValueSize: number;
}

import type { SluiceError } from '../errors.js';

/**
 * A per-record completion callback: exactly one of `error` / `metadata` is set. Every error
 * is a {@link SluiceError} (`err.code` is there: `SLUICE_ERR_TIMEOUT`, `SLUICE_ERR_BROKER` …).
 */
export type RecordCallback = (error: SluiceError | null, metadata: RecordMetadata | null) => void;
