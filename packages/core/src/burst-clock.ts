/**
 * Record timestamps without a clock read per record.
 *
 * A record sent without a timestamp gets the wall-clock time of its send (Kafka's
 * CreateTime). On the machines Sluice is measured on, `Date.now()` costs 60-70 ns — about a
 * sixth of a whole append — so reading it per record is the single largest fixed cost of the
 * append path. A `BurstClock` reads the clock at most once per {@link BURST_READS} calls
 * within one synchronous run of the caller: the value is forgotten at the first microtask
 * checkpoint after it was read (`queueMicrotask`), so a send after any `await`, callback or
 * timer reads the clock again, and a synchronous loop of sends re-reads it every
 * {@link BURST_READS} records.
 *
 * The bound this gives: a record's timestamp is never later than the true time of its send
 * and at most the time the caller took for the {@link BURST_READS} − 1 sends before it in the
 * same synchronous run (microseconds in a send loop). Timestamps stay non-decreasing in send
 * order. Only the wall clock is cached this way: linger, delivery timeouts and memory waits
 * read their clock themselves, and an injected test clock (`ManualClock`, virtual time) is
 * never wrapped, so tests that move time between two sends see it move.
 */

/** Calls served per clock read within one synchronous run. */
export const BURST_READS = 8;

/** A wall clock read at most once per {@link BURST_READS} calls within one synchronous run. */
export class BurstClock {
  readonly #read: () => number;
  #nowMs = 0;
  /** Calls the current reading may still serve (0: read again). */
  #left = 0;
  #expiryQueued = false;
  /** Clock reads so far (tests). */
  reads = 0;

  /** @param read - the clock to read (e.g. `Date.now`) */
  constructor(read: () => number) {
    this.#read = read;
  }

  /** The wall-clock time in ms, read now or at most {@link BURST_READS} − 1 calls ago in this synchronous run. */
  nowMs(): number {
    if (this.#left > 0) {
      this.#left--;
      return this.#nowMs;
    }
    this.#nowMs = this.#read();
    this.reads++;
    this.#left = BURST_READS - 1;
    if (!this.#expiryQueued) {
      this.#expiryQueued = true;
      queueMicrotask(this.#expire);
    }
    return this.#nowMs;
  }

  readonly #expire = (): void => {
    this.#expiryQueued = false;
    this.#left = 0;
  };
}
