/**
 * The uniform sticky partitioner for records without a key (KIP-794, Kafka 3.3+
 * `BuiltInPartitioner`): all unkeyed records of a topic go to one partition until about
 * `batch.size` bytes have been produced to it, then a new partition is drawn at random
 * among the partitions whose leader is known. Batches fill up (fewer, larger requests)
 * while, over time, every partition gets the same share.
 *
 * KIP-480's first sticky partitioner switched on `onNewBatch`, which made slow brokers
 * *more* loaded (a partition whose batches linger gets more records before a new batch
 * is created). KIP-794 counts bytes instead, so there is no `onNewBatch` here.
 *
 * Switching rule, as `BuiltInPartitioner.updatePartitionInfo`:
 * `producedBytes >= batchSize && enableSwitch || producedBytes >= 2 * batchSize`, where the
 * caller passes `enableSwitch = false` while the partition's last batch is not full
 * (Kafka `RecordAccumulator.allBatchesFull`) to avoid fractional batches under a long
 * `linger.ms`; the 2× cap bounds the stickiness.
 *
 * One deliberate difference: Kafka keeps a sticky partition whose leader became unknown
 * until it has produced enough bytes (only the adaptive partitioner's
 * `partitioner.availability.timeout.ms` steers around it). Here {@link currentPartition}
 * leaves a partition without a leader at once when another one has a leader: unkeyed
 * records have no reason to wait for one partition's election. Cost: one `leaderFor`
 * lookup per call.
 *
 * Not implemented: adaptive partitioning (`partitioner.adaptive.partitioning.enable`,
 * weighting by queue sizes).
 */
import type { ClusterView } from '../cluster/cluster.js';
import { NO_LEADER } from '../cluster/cluster.js';

/** Returned when a topic's partition count is unknown (no metadata yet): wait for metadata. */
export const UNKNOWN_PARTITION = -1;

/** Options of {@link StickyPartitioner}. */
export interface StickyPartitionerOptions {
  /** Bytes to produce to a partition before switching (Kafka: `batch.size`, default 16384). */
  batchSizeBytes?: number;
  /** Source of randomness for choosing the next partition (default `Math.random`); seed it for reproducible tests. */
  random?: () => number;
}

/**
 * A topic's sticky state, as {@link StickyPartitioner.stateOf} hands it to a hot path that
 * wants to skip the per-record lookup. Read-only outside the partitioner; `partition` turns
 * -1 when the state is dropped by {@link StickyPartitioner.reset}, so a holder can tell.
 */
export interface StickyState {
  readonly partition: number;
  readonly producedBytes: number;
}

interface StickyPartitionInfo {
  partition: number;
  producedBytes: number;
}

/** KIP-794 uniform sticky partitioning of unkeyed records, per topic. */
export class StickyPartitioner {
  readonly #batchSizeBytes: number;
  readonly #random: () => number;
  readonly #sticky = new Map<string, StickyPartitionInfo>();
  readonly #scratch: number[] = [];

  /**
   * @throws RangeError when `batchSizeBytes` is not a positive integer
   */
  constructor(options: StickyPartitionerOptions = {}) {
    const batchSizeBytes = options.batchSizeBytes ?? 16384;
    if (!Number.isInteger(batchSizeBytes) || batchSizeBytes <= 0) {
      throw new RangeError(`StickyPartitioner: batchSizeBytes must be a positive integer, got ${batchSizeBytes}`);
    }
    this.#batchSizeBytes = batchSizeBytes;
    this.#random = options.random ?? Math.random;
  }

  /** Bytes produced to a partition before it switches. */
  get batchSizeBytes(): number {
    return this.#batchSizeBytes;
  }

  /**
   * The partition the next unkeyed record of `topic` goes to (Kafka
   * `peekCurrentPartitionInfo`). Chooses one on first use, when the partition count shrank
   * under it, or when its leader is unknown and another partition has one.
   * @returns a partition, or {@link UNKNOWN_PARTITION} when the topic's partition count is unknown
   */
  currentPartition(topic: string, cluster: ClusterView): number {
    const numPartitions = cluster.partitionCount(topic);
    if (numPartitions <= 0) return UNKNOWN_PARTITION;
    const info = this.#sticky.get(topic);
    if (info !== undefined && info.partition < numPartitions) {
      if (cluster.leaderFor(topic, info.partition) !== NO_LEADER) return info.partition;
      const next = this.#nextPartition(topic, numPartitions, cluster);
      if (cluster.leaderFor(topic, next) === NO_LEADER) return info.partition; // none available: stay
      info.partition = next;
      info.producedBytes = 0;
      return next;
    }
    const partition = this.#nextPartition(topic, numPartitions, cluster);
    // Keep the state object (holders of stateOf see the change) unless there is none yet.
    if (info === undefined) this.#sticky.set(topic, { partition, producedBytes: 0 });
    else {
      info.partition = partition;
      info.producedBytes = 0;
    }
    return partition;
  }

  /**
   * The sticky state of `topic` once {@link currentPartition} chose a partition for it, for
   * {@link recordAppendedTo}; undefined before. The object stays the topic's state until
   * {@link reset}.
   */
  stateOf(topic: string): StickyState | undefined {
    return this.#sticky.get(topic);
  }

  /**
   * Accounts `appendedBytes` appended to `partition` of `topic` by an unkeyed record and
   * switches to a new partition when enough was produced (Kafka `updatePartitionInfo`).
   * Ignored when `partition` is no longer the topic's sticky partition (it switched between
   * {@link currentPartition} and the append, e.g. while the append waited for memory).
   * @param enableSwitch - false while the partition's last batch is not full, to switch on a
   *   batch boundary (forced anyway at 2 × batchSizeBytes)
   */
  recordAppended(topic: string, partition: number, appendedBytes: number, cluster: ClusterView, enableSwitch = true): void {
    const info = this.#sticky.get(topic);
    if (info !== undefined) this.recordAppendedTo(info, topic, partition, appendedBytes, cluster, enableSwitch);
  }

  /**
   * {@link recordAppended} on a state from {@link stateOf}, without the lookup.
   * @param state - the state of `topic` (a dropped one is ignored)
   */
  recordAppendedTo(state: StickyState, topic: string, partition: number, appendedBytes: number, cluster: ClusterView, enableSwitch = true): void {
    const info = state as StickyPartitionInfo;
    if (info.partition !== partition) return;
    info.producedBytes += appendedBytes;
    if ((info.producedBytes >= this.#batchSizeBytes && enableSwitch) || info.producedBytes >= 2 * this.#batchSizeBytes) {
      const numPartitions = cluster.partitionCount(topic);
      if (numPartitions <= 0) return;
      info.partition = this.#nextPartition(topic, numPartitions, cluster);
      info.producedBytes = 0;
    }
  }

  /**
   * Whether a switch of `state`'s topic was deferred: enough bytes were produced to its
   * partition, but its last batch was not full then ({@link recordAppendedTo} with
   * `enableSwitch` false).
   */
  switchDeferred(state: StickyState): boolean {
    return state.partition >= 0 && state.producedBytes >= this.#batchSizeBytes;
  }

  /**
   * Completes a deferred switch once the partition's batches are full — drained, or closed —
   * so that the next unkeyed record starts the new partition on a batch boundary (Kafka
   * `RecordAccumulator.partitionChanged`, "complete previously disabled partition switch").
   * Without it the only switch left would be the forced one at 2 × batchSizeBytes, and
   * keyless traffic under a long linger would leave small leftover batches behind.
   * @param state - the topic's state from {@link stateOf}
   * @returns the topic's sticky partition afterwards
   */
  completeDeferredSwitch(state: StickyState, topic: string, cluster: ClusterView): number {
    const info = state as StickyPartitionInfo;
    if (info.partition >= 0 && info.producedBytes >= this.#batchSizeBytes) {
      const numPartitions = cluster.partitionCount(topic);
      if (numPartitions > 0) {
        info.partition = this.#nextPartition(topic, numPartitions, cluster);
        info.producedBytes = 0;
      }
    }
    return info.partition;
  }

  /** Forgets the sticky state of `topic` (or of every topic), e.g. after its partition count changed. */
  reset(topic?: string): void {
    for (const [t, info] of this.#sticky) {
      if (topic === undefined || t === topic) info.partition = -1;
    }
    if (topic === undefined) this.#sticky.clear();
    else this.#sticky.delete(topic);
  }

  /**
   * A random partition among those with a known leader, or among all when none has one
   * (Kafka `BuiltInPartitioner.nextPartition` without load stats). May return the current
   * partition again: the draw is uniform.
   */
  #nextPartition(topic: string, numPartitions: number, cluster: ClusterView): number {
    const available = this.#scratch;
    available.length = 0;
    for (let p = 0; p < numPartitions; p++) if (cluster.leaderFor(topic, p) !== NO_LEADER) available.push(p);
    const r = this.#random();
    if (available.length > 0) return available[Math.floor(r * available.length)];
    return Math.floor(r * numPartitions);
  }
}
