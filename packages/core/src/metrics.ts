/**
 * Producer metrics under Kafka's names (`producer-metrics` group of the Java client:
 * `Sender.SenderMetrics`, `BufferPool`), readable as one plain object.
 *
 * Kafka's statistics are windowed: each sensor keeps `metrics.num.samples` = 2 samples of
 * `metrics.sample.window.ms` = 30 s; an average or maximum covers the live samples, a rate
 * divides their sum by the elapsed window (at least `(samples − 1) · window`, so a rate is
 * understated during the first 30 s, as in Kafka — `org.apache.kafka.common.metrics.stats`).
 * An average or maximum with no data is `NaN`, as in Kafka. `…-total` values are cumulative.
 *
 * Cost: recording is a few additions per batch or per request, never per record.
 */
import type { Clock } from './clock.js';
import { RECORD_BATCH_OVERHEAD } from './format/record-batch-layout.js';
import type { BufferPool } from './memory/buffer-pool.js';

/** Kafka's `metrics.sample.window.ms` default. */
export const METRICS_SAMPLE_WINDOW_MS = 30_000;
/** Kafka's `metrics.num.samples` default. */
export const METRICS_NUM_SAMPLES = 2;

/** The producer's metrics, Kafka names. Every value is a number (NaN: no data in the window). */
export interface ProducerMetricsSnapshot {
  /** Average ms a batch waited in the accumulator, from creation to drain (each attempt). */
  'record-queue-time-avg': number;
  /** Maximum of the same. */
  'record-queue-time-max': number;
  /** Average bytes of the batches sent (sealed size, header included). */
  'batch-size-avg': number;
  /** Maximum of the same. */
  'batch-size-max': number;
  /** Average ratio sealed size / uncompressed size of the batches sent (1 without compression). */
  'compression-rate-avg': number;
  /** Average records per produce request. */
  'records-per-request-avg': number;
  /** Records sent per second (each attempt counts). */
  'record-send-rate': number;
  'record-send-total': number;
  /** Records retried per second. */
  'record-retry-rate': number;
  'record-retry-total': number;
  /** Records that failed (error, expiry, abort) per second. */
  'record-error-rate': number;
  'record-error-total': number;
  /** Produce requests per second. */
  'request-rate': number;
  'request-total': number;
  /** Average ms from sending a produce request to its answer. */
  'request-latency-avg': number;
  'request-latency-max': number;
  /** Batches split after MESSAGE_TOO_LARGE, per second. */
  'batch-split-rate': number;
  'batch-split-total': number;
  /** Bytes of pool memory free now. */
  'buffer-available-bytes': number;
  /** Bytes of pool memory in all. */
  'buffer-total-bytes': number;
  /** Appends waiting for memory now (Kafka `waiting-threads`). */
  'waiting-threads': number;
  /** Fraction of time appenders spent waiting for memory, over the window. */
  'bufferpool-wait-ratio': number;
  /** Total ns appenders spent waiting for memory. */
  'bufferpool-wait-time-ns-total': number;
  /** Produce requests sent and not yet answered. */
  'requests-in-flight': number;
}

/** One sample of a windowed statistic. */
interface Sample {
  startMs: number;
  count: number;
  sum: number;
  max: number;
}

/**
 * A windowed statistic (Kafka `SampledStat`): `samples` samples of `windowMs` each; a
 * sample older than `samples · windowMs` is forgotten.
 */
export class WindowedStat {
  readonly #windowMs: number;
  readonly #samples: Sample[];
  #current = 0;

  /**
   * @param nowMs - creation time: the first window starts here
   * @param windowMs - length of one sample
   * @param samples - number of samples kept
   */
  constructor(nowMs: number, windowMs: number = METRICS_SAMPLE_WINDOW_MS, samples: number = METRICS_NUM_SAMPLES) {
    this.#windowMs = windowMs;
    this.#samples = [];
    for (let i = 0; i < samples; i++) this.#samples.push({ startMs: i === 0 ? nowMs : -Infinity, count: 0, sum: 0, max: -Infinity });
  }

  /** Adds one observation of `value` at `nowMs`. */
  record(value: number, nowMs: number): void {
    const s = this.#sampleAt(nowMs);
    s.count++;
    s.sum += value;
    if (value > s.max) s.max = value;
  }

  /** Mean of the live observations, or NaN. */
  avg(nowMs: number): number {
    this.#purge(nowMs);
    let count = 0;
    let sum = 0;
    for (const s of this.#samples) {
      count += s.count;
      sum += s.sum;
    }
    return count === 0 ? NaN : sum / count;
  }

  /** Maximum of the live observations, or NaN. */
  max(nowMs: number): number {
    this.#purge(nowMs);
    let max = -Infinity;
    let count = 0;
    for (const s of this.#samples) {
      count += s.count;
      if (s.max > max) max = s.max;
    }
    return count === 0 ? NaN : max;
  }

  /** Sum of the live observations per second (Kafka `Rate` over `SampledTotal`). */
  ratePerSecond(nowMs: number): number {
    return this.sum(nowMs) / (this.elapsedMs(nowMs) / 1000);
  }

  /** Sum of the live observations. */
  sum(nowMs: number): number {
    this.#purge(nowMs);
    let sum = 0;
    for (const s of this.#samples) sum += s.sum;
    return sum;
  }

  /** The window a rate divides by: from the oldest live sample to now, at least `(samples − 1) · windowMs` (Kafka `Rate.windowSize`). */
  elapsedMs(nowMs: number): number {
    this.#purge(nowMs);
    let oldest = nowMs;
    for (const s of this.#samples) if (s.startMs !== -Infinity && s.startMs < oldest) oldest = s.startMs;
    const min = (this.#samples.length - 1) * this.#windowMs;
    return Math.max(nowMs - oldest, min, 1);
  }

  #sampleAt(nowMs: number): Sample {
    let s = this.#samples[this.#current];
    if (nowMs - s.startMs >= this.#windowMs) {
      this.#current = (this.#current + 1) % this.#samples.length;
      s = this.#samples[this.#current];
      s.startMs = nowMs;
      s.count = 0;
      s.sum = 0;
      s.max = -Infinity;
    }
    return s;
  }

  #purge(nowMs: number): void {
    const expireBefore = nowMs - this.#samples.length * this.#windowMs;
    for (const s of this.#samples) {
      if (s.startMs !== -Infinity && s.startMs < expireBefore) {
        s.startMs = -Infinity;
        s.count = 0;
        s.sum = 0;
        s.max = -Infinity;
      }
    }
    // Keep a current sample: the next record starts one.
    const cur = this.#samples[this.#current];
    if (cur.startMs === -Infinity) cur.startMs = nowMs;
  }
}

/** What the metrics read live when a snapshot is taken. */
export interface ProducerMetricsSources {
  readonly pool: BufferPool;
  /** Produce requests in flight now. */
  readonly requestsInFlight: () => number;
}

/**
 * The producer's sensors. The sender records into it; {@link ProducerMetrics.snapshot}
 * reads everything as a plain object.
 */
export class ProducerMetrics {
  readonly #clock: Clock;
  readonly #queueTime: WindowedStat;
  readonly #batchSize: WindowedStat;
  readonly #compressionRate: WindowedStat;
  readonly #recordsPerRequest: WindowedStat;
  readonly #recordSend: WindowedStat;
  readonly #recordRetry: WindowedStat;
  readonly #recordError: WindowedStat;
  readonly #request: WindowedStat;
  readonly #requestLatency: WindowedStat;
  readonly #split: WindowedStat;
  readonly #poolWaitNs: WindowedStat;
  #lastPoolWaitNs = 0;
  #recordSendTotal = 0;
  #recordRetryTotal = 0;
  #recordErrorTotal = 0;
  #requestTotal = 0;
  #splitTotal = 0;
  #sources: ProducerMetricsSources | null = null;

  /** @param clock - the time source (virtual in simulations) */
  constructor(clock: Clock) {
    this.#clock = clock;
    const now = clock.nowMs();
    this.#queueTime = new WindowedStat(now);
    this.#batchSize = new WindowedStat(now);
    this.#compressionRate = new WindowedStat(now);
    this.#recordsPerRequest = new WindowedStat(now);
    this.#recordSend = new WindowedStat(now);
    this.#recordRetry = new WindowedStat(now);
    this.#recordError = new WindowedStat(now);
    this.#request = new WindowedStat(now);
    this.#requestLatency = new WindowedStat(now);
    this.#split = new WindowedStat(now);
    this.#poolWaitNs = new WindowedStat(now);
  }

  /** Connects the live sources (pool, in-flight counter) read by {@link snapshot}. */
  bind(sources: ProducerMetricsSources): void {
    this.#sources = sources;
    this.#lastPoolWaitNs = sources.pool.metrics()['bufferpool-wait-time-ns-total'];
  }

  /** A batch left the accumulator for a request after `queueTimeMs` (creation or last retry → drain). */
  recordQueueTime(queueTimeMs: number, nowMs: number): void {
    this.#queueTime.record(queueTimeMs, nowMs);
  }

  /**
   * A produce request goes out with these batches.
   * @param batches - each batch's sealed size (header included), uncompressed records size and record count
   */
  recordRequest(batches: readonly { readonly sizeBytes: number; readonly recordsLength: number; readonly recordCount: number }[], nowMs: number): void {
    let records = 0;
    for (const b of batches) {
      this.#batchSize.record(b.sizeBytes, nowMs);
      this.#compressionRate.record(b.sizeBytes / (b.recordsLength + RECORD_BATCH_OVERHEAD), nowMs);
      records += b.recordCount;
    }
    this.#recordsPerRequest.record(records, nowMs);
    this.#recordSend.record(records, nowMs);
    this.#recordSendTotal += records;
    this.#request.record(1, nowMs);
    this.#requestTotal++;
  }

  /** A request was answered (or failed) after `latencyMs`. */
  recordRequestLatency(latencyMs: number, nowMs: number): void {
    this.#requestLatency.record(latencyMs, nowMs);
  }

  /** `records` records are going to be retried. */
  recordRetries(records: number, nowMs: number): void {
    this.#recordRetry.record(records, nowMs);
    this.#recordRetryTotal += records;
  }

  /** `records` records failed for good. */
  recordErrors(records: number, nowMs: number): void {
    this.#recordError.record(records, nowMs);
    this.#recordErrorTotal += records;
  }

  /** A batch was split after MESSAGE_TOO_LARGE. */
  recordSplit(nowMs: number): void {
    this.#split.record(1, nowMs);
    this.#splitTotal++;
  }

  /** Every metric, Kafka names, as a plain object (a new object each call). */
  snapshot(): ProducerMetricsSnapshot {
    const now = this.#clock.nowMs();
    const pool = this.#sources?.pool.metrics();
    if (pool !== undefined) {
      const waitNs = pool['bufferpool-wait-time-ns-total'];
      if (waitNs > this.#lastPoolWaitNs) this.#poolWaitNs.record(waitNs - this.#lastPoolWaitNs, now);
      this.#lastPoolWaitNs = waitNs;
    }
    return {
      'record-queue-time-avg': this.#queueTime.avg(now),
      'record-queue-time-max': this.#queueTime.max(now),
      'batch-size-avg': this.#batchSize.avg(now),
      'batch-size-max': this.#batchSize.max(now),
      'compression-rate-avg': this.#compressionRate.avg(now),
      'records-per-request-avg': this.#recordsPerRequest.avg(now),
      'record-send-rate': this.#recordSend.ratePerSecond(now),
      'record-send-total': this.#recordSendTotal,
      'record-retry-rate': this.#recordRetry.ratePerSecond(now),
      'record-retry-total': this.#recordRetryTotal,
      'record-error-rate': this.#recordError.ratePerSecond(now),
      'record-error-total': this.#recordErrorTotal,
      'request-rate': this.#request.ratePerSecond(now),
      'request-total': this.#requestTotal,
      'request-latency-avg': this.#requestLatency.avg(now),
      'request-latency-max': this.#requestLatency.max(now),
      'batch-split-rate': this.#split.ratePerSecond(now),
      'batch-split-total': this.#splitTotal,
      'buffer-available-bytes': pool?.['buffer-available-bytes'] ?? NaN,
      'buffer-total-bytes': pool?.['buffer-total-bytes'] ?? NaN,
      'waiting-threads': pool?.['waiting-threads'] ?? NaN,
      'bufferpool-wait-ratio': pool === undefined ? NaN : this.#poolWaitNs.sum(now) / (this.#poolWaitNs.elapsedMs(now) * 1e6),
      'bufferpool-wait-time-ns-total': pool?.['bufferpool-wait-time-ns-total'] ?? NaN,
      'requests-in-flight': this.#sources?.requestsInFlight() ?? 0,
    };
  }
}
