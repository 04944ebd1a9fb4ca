/**
 * Time is injected: components read the time from a {@link Clock}, and tests drive a
 * manual one. `nowMs` is wall-clock milliseconds (used for record timestamps and expiry);
 * `hiResNs` is a monotonic nanosecond counter used only for measuring durations (metrics).
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  nowMs(): number;
  /** Monotonic nanoseconds, for durations only. */
  hiResNs(): bigint;
}

/** The process clock: `Date.now()` and `process.hrtime.bigint()`. */
export const systemClock: Clock = {
  nowMs: () => Date.now(),
  hiResNs: () => process.hrtime.bigint(),
};

/** A clock that moves only when told to. For tests and deterministic simulation. */
export class ManualClock implements Clock {
  #nowMs: number;
  constructor(startMs = 1_700_000_000_000) {
    this.#nowMs = startMs;
  }
  nowMs(): number {
    return this.#nowMs;
  }
  hiResNs(): bigint {
    return BigInt(this.#nowMs) * 1_000_000n;
  }
  /** Moves time forward by `deltaMs` (never backwards). */
  advance(deltaMs: number): void {
    if (!(deltaMs >= 0)) throw new RangeError(`ManualClock.advance: deltaMs must be >= 0, got ${deltaMs}`);
    this.#nowMs += deltaMs;
  }
  /** Sets the time; must not go backwards. */
  set(nowMs: number): void {
    if (nowMs < this.#nowMs) throw new RangeError(`ManualClock.set: time cannot go backwards (${nowMs} < ${this.#nowMs})`);
    this.#nowMs = nowMs;
  }
}

/** A timer handle from a {@link Scheduler}. */
export interface TimerHandle {
  /** Lets the process exit while the timer is pending (no-op for virtual timers). */
  unref?(): unknown;
}

/**
 * A clock that can also run callbacks later. Components that wait (sender, linger timers,
 * the embedded cluster's latency) take one, so a deterministic simulation can run them on
 * virtual time (`embedded/virtual-scheduler.ts`).
 */
export interface Scheduler extends Clock {
  setTimeout(callback: () => void, delayMs: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** Real time: `Date.now()` and Node's timers. */
export const systemScheduler: Scheduler = {
  nowMs: () => Date.now(),
  hiResNs: () => process.hrtime.bigint(),
  setTimeout: (callback, delayMs) => setTimeout(callback, delayMs),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};
