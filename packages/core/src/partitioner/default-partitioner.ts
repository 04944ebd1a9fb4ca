/**
 * Kafka's default partitioning (Kafka 3.3+, `KafkaProducer.partition` +
 * `BuiltInPartitioner`): a record with a key goes to
 * `toPositive(murmur2(keyBytes)) % numPartitions`; a record without one (or every record,
 * with `ignoreKeys` — Kafka `partitioner.ignore.keys`) goes to the uniform sticky partition
 * (KIP-794, {@link StickyPartitioner}). A record with an explicit partition never reaches
 * the partitioner: the producer uses that partition.
 */
import type { ClusterView } from '../cluster/cluster.js';
import { murmur2, toPositive } from './murmur2.js';
import { StickyPartitioner, UNKNOWN_PARTITION } from './sticky-partitioner.js';

/** What the producer asks a partitioner. */
export interface Partitioner {
  /**
   * The partition of a record of `topic`.
   * @param key - the serialized key (a string is hashed as its UTF-8 bytes), or null
   * @param recordSizeBytes - the record's serialized size, counted towards the sticky
   *   partition's switch threshold when the record is unkeyed; pass 0 when the caller
   *   reports appends itself (two-phase use, see {@link DefaultPartitioner.sticky})
   * @returns a partition in [0, partitionCount), or {@link UNKNOWN_PARTITION} (-1) when the
   *   topic's partition count is not known yet (wait for metadata and ask again)
   */
  partition(topic: string, key: Uint8Array | string | null, recordSizeBytes: number, cluster: ClusterView): number;
}

/** Options of {@link DefaultPartitioner}. */
export interface DefaultPartitionerOptions {
  /** Sticky switch threshold (Kafka: `batch.size`, default 16384). */
  batchSizeBytes?: number;
  /** Randomness for sticky choices (default `Math.random`). */
  random?: () => number;
  /** Partition keyed records as unkeyed ones (Kafka `partitioner.ignore.keys`, default false). */
  ignoreKeys?: boolean;
}

/** Keyed records by murmur2, unkeyed ones by the uniform sticky partitioner. */
export class DefaultPartitioner implements Partitioner {
  /**
   * The sticky partitioner used for unkeyed records. For Kafka's exact switching on batch
   * boundaries, call {@link DefaultPartitioner.partition} with `recordSizeBytes = 0` and
   * report each unkeyed append with `sticky.recordAppended(topic, partition, bytes, cluster,
   * lastBatchFull)`.
   */
  readonly sticky: StickyPartitioner;
  readonly #ignoreKeys: boolean;
  #scratch = Buffer.allocUnsafe(256);

  constructor(options: DefaultPartitionerOptions = {}) {
    this.sticky = new StickyPartitioner({ batchSizeBytes: options.batchSizeBytes, random: options.random });
    this.#ignoreKeys = options.ignoreKeys ?? false;
  }

  partition(topic: string, key: Uint8Array | string | null, recordSizeBytes: number, cluster: ClusterView): number {
    if (key !== null && !this.#ignoreKeys) {
      const numPartitions = cluster.partitionCount(topic);
      if (numPartitions <= 0) return UNKNOWN_PARTITION;
      return toPositive(murmur2(typeof key === 'string' ? this.#utf8(key) : key)) % numPartitions;
    }
    const partition = this.sticky.currentPartition(topic, cluster);
    if (partition !== UNKNOWN_PARTITION && recordSizeBytes > 0) {
      this.sticky.recordAppended(topic, partition, recordSizeBytes, cluster, true);
    }
    return partition;
  }

  /** UTF-8 bytes of `s` in a reused scratch buffer (valid until the next call). */
  #utf8(s: string): Uint8Array {
    // A UTF-16 code unit takes at most 3 UTF-8 bytes (a surrogate pair: 4 bytes for 2 units).
    if (s.length * 3 > this.#scratch.length) this.#scratch = Buffer.allocUnsafe(Math.max(s.length * 3, this.#scratch.length * 2));
    const n = this.#scratch.write(s, 0, 'utf8');
    return this.#scratch.subarray(0, n);
  }
}
