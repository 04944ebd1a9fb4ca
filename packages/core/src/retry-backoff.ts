/**
 * Exponential retry backoff with jitter (KIP-580), exactly as Kafka's
 * `org.apache.kafka.common.utils.ExponentialBackoff` computes it for the producer
 * (`retry.backoff.ms` → `retry.backoff.max.ms`, multiplier 2, jitter ±20 %):
 *
 * ```
 *   expMax  = max > initial ? log(max / max(initial, 1)) / log(multiplier) : 0
 *   backoff(attempts) = expMax == 0 ? initial
 *                     : min(max, floor(initial · multiplier^min(attempts, expMax) · U(1 − jitter, 1 + jitter)))
 * ```
 *
 * `attempts` counts failures so far minus one: the first retry waits about `initial`, the
 * second about `2 · initial`, … until the cap. The cap is applied after the jitter, so the
 * cap is a hard upper bound (Kafka does the same), and when `max == initial` there is no
 * jitter at all (KIP-580: "retry.backoff.max.ms = retry.backoff.ms disables the exponential
 * behaviour").
 *
 * The random source is injected so that a simulation seeded once replays exactly.
 */

/** Kafka's defaults for the producer's retry backoff (KIP-580). */
export const RETRY_BACKOFF_MULTIPLIER = 2;
/** ±20 % (Kafka `CommonClientConfigs.RETRY_BACKOFF_JITTER`). */
export const RETRY_BACKOFF_JITTER = 0.2;

/** Exponential backoff with jitter, capped; one instance per producer. */
export class RetryBackoff {
  /** First backoff, before jitter (`retry.backoff.ms`). */
  readonly initialMs: number;
  /** Cap (`retry.backoff.max.ms`). */
  readonly maxMs: number;
  readonly #multiplier: number;
  readonly #jitter: number;
  readonly #expMax: number;
  readonly #random: () => number;

  /**
   * @param initialMs - `retry.backoff.ms` (>= 0)
   * @param maxMs - `retry.backoff.max.ms` (>= initialMs; config validation guarantees it)
   * @param random - uniform [0, 1) source; default `Math.random`
   * @param multiplier - growth per attempt (default 2)
   * @param jitter - relative jitter (default 0.2 = ±20 %)
   * @throws RangeError when the numbers are negative or `maxMs < initialMs`
   */
  constructor(
    initialMs: number,
    maxMs: number,
    random: () => number = Math.random,
    multiplier: number = RETRY_BACKOFF_MULTIPLIER,
    jitter: number = RETRY_BACKOFF_JITTER,
  ) {
    if (!(initialMs >= 0) || !(maxMs >= initialMs) || !(multiplier > 1) || !(jitter >= 0 && jitter < 1)) {
      throw new RangeError(
        `RetryBackoff: need 0 <= initialMs <= maxMs, multiplier > 1, 0 <= jitter < 1; got initialMs=${initialMs}, maxMs=${maxMs}, multiplier=${multiplier}, jitter=${jitter}`,
      );
    }
    this.initialMs = initialMs;
    this.maxMs = maxMs;
    this.#multiplier = multiplier;
    this.#jitter = jitter;
    this.#random = random;
    this.#expMax = maxMs > initialMs ? Math.log(maxMs / Math.max(initialMs, 1)) / Math.log(multiplier) : 0;
  }

  /**
   * The backoff before the next try.
   * @param attempts - failed attempts before this one, minus one (0 for the first retry)
   * @returns milliseconds to wait, in [0, maxMs]
   */
  backoffMs(attempts: number): number {
    if (this.#expMax === 0) return this.initialMs;
    const exp = Math.min(Math.max(attempts, 0), this.#expMax);
    const term = this.initialMs * Math.pow(this.#multiplier, exp);
    const factor = this.#jitter === 0 ? 1 : 1 - this.#jitter + this.#random() * 2 * this.#jitter;
    const value = Math.floor(term * factor);
    return value > this.maxMs ? this.maxMs : value;
  }
}
