/**
 * A compact latency histogram with bounded relative error (HdrHistogram's log-linear
 * bucketing), so that sluice-perf can record EVERY record's latency — millions per second —
 * and still report exact-enough percentiles.
 *
 * Key insight: a latency is counted, never stored. Values are recorded in nanoseconds;
 * below 256 ns every integer has its own bucket; above, each power-of-two range
 * [2^m, 2^(m+1)) is split into 128 equal sub-buckets, so a bucket is at most 1/128 of the
 * smallest value in it wide. A percentile reports the bucket's midpoint (clamped into the
 * observed [min, max]), so it is within 1/256 (0.39 %) of the true order statistic of the
 * recorded values. 6,016 Float64 counters (47 KiB) cover 0 ns .. 2^53 ns (104 days).
 *
 * Rejected alternatives:
 * - Keeping every latency in an array and sorting at the end (Kafka's ProducerPerformance
 *   keeps a sample of at most 500k latencies): 8 bytes a record (400 MB for 50M records)
 *   and an O(n log n) sort; sampling loses the tail the p99.9 is about.
 * - A fixed-width linear histogram (1 µs buckets): either huge or blind to long tails.
 *
 * Percentile definition (also used by the tests against a sorted array): the p-quantile is
 * the smallest recorded value v such that at least ceil(p * count) values are <= v, i.e.
 * `sorted[ceil(p * n) - 1]` — HdrHistogram's and the "nearest rank" definition.
 */

/** Sub-buckets per power of two above the exact range: relative bucket width <= 2^-SUB_BUCKET_BITS. */
const SUB_BUCKET_BITS = 7;
const SUB_BUCKET_HALF = 1 << SUB_BUCKET_BITS; // 128
/** Values below this (ns) are counted exactly, one bucket per nanosecond. */
const EXACT_LIMIT = SUB_BUCKET_HALF * 2; // 256
/** Largest power-of-two exponent covered: values up to 2^53 ns. */
const MAX_MAGNITUDE = 53;
const BUCKET_COUNT = EXACT_LIMIT + (MAX_MAGNITUDE - SUB_BUCKET_BITS) * SUB_BUCKET_HALF; // 6016
const MAX_VALUE_NS = 2 ** MAX_MAGNITUDE - 1;
const TWO_POW_32 = 4294967296;

/** Largest relative error of a reported percentile against the true order statistic. */
export const LATENCY_HISTOGRAM_MAX_RELATIVE_ERROR = 1 / (2 * SUB_BUCKET_HALF);

/** Bucket index of an integer value in nanoseconds (non-negative, <= MAX_VALUE_NS). */
function bucketIndex(ns: number): number {
  if (ns < EXACT_LIMIT) return ns;
  if (ns < TWO_POW_32) {
    // The common case (latencies under 4.29 s): integer bit operations only.
    const u = ns >>> 0;
    const shift = 31 - Math.clz32(u) - SUB_BUCKET_BITS; // >= 1
    return EXACT_LIMIT + (shift - 1) * SUB_BUCKET_HALF + ((u >>> shift) - SUB_BUCKET_HALF);
  }
  let msb = Math.floor(Math.log2(ns));
  // log2 of a double can round up across a power of two.
  if (2 ** msb > ns) msb--;
  const shift = msb - SUB_BUCKET_BITS;
  const sub = Math.floor(ns / 2 ** shift); // in [128, 256)
  return EXACT_LIMIT + (shift - 1) * SUB_BUCKET_HALF + (sub - SUB_BUCKET_HALF);
}

/** Lowest value (ns) counted in bucket `index`. */
function bucketLowNs(index: number): number {
  if (index < EXACT_LIMIT) return index;
  const k = index - EXACT_LIMIT;
  const shift = Math.floor(k / SUB_BUCKET_HALF) + 1;
  const sub = (k % SUB_BUCKET_HALF) + SUB_BUCKET_HALF;
  return sub * 2 ** shift;
}

/** Width (ns) of bucket `index`. */
function bucketWidthNs(index: number): number {
  if (index < EXACT_LIMIT) return 1;
  return 2 ** (Math.floor((index - EXACT_LIMIT) / SUB_BUCKET_HALF) + 1);
}

/** The percentiles sluice-perf prints, in milliseconds. */
export interface LatencySummary {
  avg: number;
  max: number;
  p50: number;
  p95: number;
  p99: number;
  p999: number;
}

/**
 * A histogram's contents as plain data: what a worker thread posts (structured clone) so that
 * the main thread can merge it ({@link LatencyHistogram.fromState}).
 */
export interface LatencyHistogramState {
  /** The bucket counters. */
  readonly counts: Float64Array;
  readonly count: number;
  readonly sumNs: number;
  readonly minNs: number;
  readonly maxNs: number;
}

/**
 * Counts latencies (given in milliseconds) in log-linear buckets; reports count, exact
 * min/max/mean and percentiles within {@link LATENCY_HISTOGRAM_MAX_RELATIVE_ERROR}.
 * Recording costs one bucket computation and one increment; no allocation.
 */
export class LatencyHistogram {
  readonly #counts = new Float64Array(BUCKET_COUNT);
  #count = 0;
  #sumNs = 0;
  #minNs = Infinity;
  #maxNs = 0;

  /**
   * Records one latency.
   * @param latencyMs - milliseconds (fractions kept to the nanosecond); negative counts as 0
   */
  record(latencyMs: number): void {
    this.recordMany(latencyMs, 1);
  }

  /**
   * Records `count` equal latencies at the cost of one (the perf loop's records that share
   * an append-time reading and a batch).
   */
  recordMany(latencyMs: number, count: number): void {
    let ns = latencyMs * 1e6;
    if (!(ns > 0)) ns = 0;
    else if (ns > MAX_VALUE_NS) ns = MAX_VALUE_NS;
    else ns = Math.round(ns);
    this.#counts[bucketIndex(ns)] += count;
    this.#count += count;
    this.#sumNs += ns * count;
    if (ns < this.#minNs) this.#minNs = ns;
    if (ns > this.#maxNs) this.#maxNs = ns;
  }

  /** Number of latencies recorded. */
  get count(): number {
    return this.#count;
  }

  /** Mean latency in ms (0 when empty). Exact (to the nanosecond). */
  get meanMs(): number {
    return this.#count === 0 ? 0 : this.#sumNs / this.#count / 1e6;
  }

  /** Largest latency in ms (0 when empty). Exact. */
  get maxMs(): number {
    return this.#maxNs / 1e6;
  }

  /** Smallest latency in ms (0 when empty). Exact. */
  get minMs(): number {
    return this.#count === 0 ? 0 : this.#minNs / 1e6;
  }

  /**
   * The p-quantile in ms: the smallest recorded value with at least ceil(p * count) values
   * at or below it, within {@link LATENCY_HISTOGRAM_MAX_RELATIVE_ERROR} (exact below 256 ns).
   * @param p - in [0, 1]
   * @returns 0 when empty
   * @throws RangeError when p is outside [0, 1]
   */
  percentile(p: number): number {
    if (!(p >= 0 && p <= 1)) throw new RangeError(`percentile: p must be in [0, 1], got ${p}`);
    if (this.#count === 0) return 0;
    const rank = Math.max(1, Math.ceil(p * this.#count));
    let seen = 0;
    for (let i = 0; i < BUCKET_COUNT; i++) {
      seen += this.#counts[i];
      if (seen >= rank) {
        const mid = i < EXACT_LIMIT ? i : bucketLowNs(i) + (bucketWidthNs(i) - 1) / 2;
        return Math.min(this.#maxNs, Math.max(this.#minNs, mid)) / 1e6;
      }
    }
    return this.#maxNs / 1e6;
  }

  /** avg, max, p50, p95, p99, p99.9 in ms: what sluice-perf prints. */
  summary(): LatencySummary {
    return {
      avg: this.meanMs,
      max: this.maxMs,
      p50: this.percentile(0.5),
      p95: this.percentile(0.95),
      p99: this.percentile(0.99),
      p999: this.percentile(0.999),
    };
  }

  /** Adds another histogram's counts to this one. */
  add(other: LatencyHistogram): void {
    const src = other.#counts;
    for (let i = 0; i < BUCKET_COUNT; i++) this.#counts[i] += src[i];
    this.#count += other.#count;
    this.#sumNs += other.#sumNs;
    if (other.#count > 0) {
      this.#minNs = Math.min(this.#minNs, other.#minNs);
      this.#maxNs = Math.max(this.#maxNs, other.#maxNs);
    }
  }

  /** A copy of the contents as plain data (for postMessage). */
  toState(): LatencyHistogramState {
    return { counts: this.#counts.slice(), count: this.#count, sumNs: this.#sumNs, minNs: this.#minNs, maxNs: this.#maxNs };
  }

  /**
   * A histogram with the contents of `state` (from {@link toState}, possibly in another thread).
   * @throws RangeError when the state's bucket count is not this build's
   */
  static fromState(state: LatencyHistogramState): LatencyHistogram {
    if (state.counts.length !== BUCKET_COUNT) throw new RangeError(`LatencyHistogram.fromState: ${state.counts.length} buckets, expected ${BUCKET_COUNT}`);
    const h = new LatencyHistogram();
    h.#counts.set(state.counts);
    h.#count = state.count;
    h.#sumNs = state.sumNs;
    h.#minNs = state.minNs;
    h.#maxNs = state.maxNs;
    return h;
  }

  /** Forgets everything recorded. */
  reset(): void {
    this.#counts.fill(0);
    this.#count = 0;
    this.#sumNs = 0;
    this.#minNs = Infinity;
    this.#maxNs = 0;
  }
}
