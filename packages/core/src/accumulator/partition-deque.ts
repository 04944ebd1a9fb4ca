import type { ProducerBatch } from './producer-batch.js';

/**
 * What {@link RecordAccumulator.partitionHandle} hands out: a partition to append to
 * without looking it up per record. Opaque apart from its topic and partition.
 */
export interface PartitionHandle {
  readonly topic: string;
  readonly partition: number;
}

/**
 * The batches of one topic-partition, oldest first (Kafka's `Deque<ProducerBatch>` in
 * `RecordAccumulator.batches`), plus the partition's bookkeeping for the ready set and
 * idempotence. Only the accumulator's thread touches it.
 */
export class PartitionDeque implements PartitionHandle {
  readonly topic: string;
  readonly partition: number;
  /** Batches, oldest first. The last one may be open for appends. */
  readonly batches: ProducerBatch[] = [];
  /** Muted while a batch of this partition is in flight and ordering needs it (max.in.flight = 1). */
  muted = false;
  /** Next sequence number to assign at drain (idempotence). */
  nextSequence = 0;
  /** Deadline registered in the ready set's timer heap for the head batch; -1 = none. */
  timerAtMs = -1;
  /** Bumped when the head's timer changes, so stale heap entries are skipped (lazy deletion). */
  timerGeneration = 0;
  /** Position in the accumulator's `#nonEmpty` set; -1 when not in it (see `IndexedSet`). */
  nonEmptyIndex = -1;
  /** Position in the accumulator's `#sendable` set; -1 when not in it. */
  sendableIndex = -1;

  /** The accumulator the queue belongs to (handles are checked against it). */
  readonly owner: object | null;

  constructor(topic: string, partition: number, owner: object | null = null) {
    this.topic = topic;
    this.partition = partition;
    this.owner = owner;
  }

  /** Oldest batch, or undefined. */
  peekFirst(): ProducerBatch | undefined {
    return this.batches[0];
  }

  /** Newest batch, or undefined. */
  peekLast(): ProducerBatch | undefined {
    return this.batches[this.batches.length - 1];
  }

  get size(): number {
    return this.batches.length;
  }

  /** Whether the partition is in the ready set's `sendable` set. */
  get sendable(): boolean {
    return this.sendableIndex >= 0;
  }

  /**
   * Whether the head batch may be sent without waiting for linger: another batch is queued
   * behind it, or it is closed for appends (full).
   */
  headIsFull(): boolean {
    const head = this.batches[0];
    return head !== undefined && (this.batches.length > 1 || head.isClosed);
  }
}
