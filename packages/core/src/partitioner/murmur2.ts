/**
 * Kafka's keyed partitioning hash: 32-bit MurmurHash2 with seed 0x9747b28c, computed with
 * Java `int` arithmetic, exactly as `org.apache.kafka.common.utils.Utils.murmur2`. This is a
 * cross-client contract: Java, librdkafka (`murmur2_random`), Sarama, franz-go and kafkajs
 * all map a key to the same partition, so records keyed by Sluice land where records keyed
 * by any other producer do.
 *
 * Java's wrapping `int` multiply is `Math.imul`; `>>>` on a JS int32 is Java's `>>>`. Checked
 * against Kafka `UtilsTest.testMurmur2` and against kafkajs's Long-based port on random keys
 * (`test/core/partitioner/murmur2.test.ts`).
 */

const SEED = 0x9747b28c | 0;
const M = 0x5bd1e995;
const R = 24;

/**
 * Kafka's `Utils.murmur2`.
 * @param data - the serialized key
 * @returns the hash as a signed 32-bit integer (what Java returns)
 */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = SEED ^ length;
  const length4 = length >> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i << 2;
    let k = data[i4] | (data[i4 + 1] << 8) | (data[i4 + 2] << 16) | (data[i4 + 3] << 24);
    k = Math.imul(k, M);
    k ^= k >>> R;
    k = Math.imul(k, M);
    h = Math.imul(h, M);
    h ^= k;
  }
  // Java's fall-through switch on length % 4, spelled out (cases 3 → 2 → 1).
  const tail = length & ~3;
  const rest = length & 3;
  if (rest === 3) h ^= data[tail + 2] << 16;
  if (rest >= 2) h ^= data[tail + 1] << 8;
  if (rest >= 1) {
    h ^= data[tail];
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/**
 * Kafka's `Utils.toPositive`: clears the sign bit (not `Math.abs`, which overflows on
 * `Integer.MIN_VALUE` in Java).
 */
export function toPositive(n: number): number {
  return n & 0x7fffffff;
}

/**
 * The partition Kafka's default partitioner gives a keyed record:
 * `toPositive(murmur2(keyBytes)) % numPartitions` (Kafka `BuiltInPartitioner.partitionForKey`).
 * All partitions count, available or not, so a key's partition never moves while the
 * partition count stays the same.
 * @throws RangeError when `numPartitions` is not a positive integer
 */
export function partitionForKey(keyBytes: Uint8Array, numPartitions: number): number {
  if (!(numPartitions > 0) || !Number.isInteger(numPartitions)) {
    throw new RangeError(`partitionForKey: numPartitions must be a positive integer, got ${numPartitions}`);
  }
  return toPositive(murmur2(keyBytes)) % numPartitions;
}
