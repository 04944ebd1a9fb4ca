/**
 * Virtual time for deterministic simulation: a {@link Scheduler} whose clock moves only
 * when the test says so, and whose timers fire in a fixed order.
 *
 * Key insight: a simulation of the producer is deterministic when (1) every wait goes
 * through this scheduler (no real `setTimeout`/`setImmediate` in the code under test),
 * (2) timers fire in a total order — here `(atMs, insertion sequence)`, so two timers due
 * at the same virtual millisecond fire in the order they were set, like Node's timer
 * lists — and (3) the promise continuations a timer callback starts all run before the
 * next timer fires. (3) is what {@link VirtualScheduler.runFor} and friends add over
 * {@link ManualClock}: after each firing they wait one real macrotask turn
 * (`setImmediate`), which drains the whole microtask queue however deep the `await` chain
 * is. Rejected alternative: `await Promise.resolve()` a fixed number of times — settles
 * only chains shorter than that number, silently reordering deeper ones.
 *
 * Time only moves forward, to each timer's due time as it fires, so a callback sees
 * `nowMs() === its due time`. Unlike Node, a delay of 0 is not raised to 1 ms: a
 * `setTimeout(cb, 0)` fires at the current virtual time, after the timers already due at
 * that time.
 *
 * Use: `await scheduler.runFor(ms)` to simulate `ms` of time, `await runUntilIdle()` to run
 * every pending timer, `await runUntil(() => done)` to run until a condition holds.
 * `advance(ms)` / `set(t)` are the synchronous {@link ManualClock} methods, extended to fire
 * due timers — without letting promise continuations run between them; prefer the async
 * methods in simulations.
 */
import { ManualClock } from '../clock.js';
import type { Scheduler, TimerHandle } from '../clock.js';
import { IllegalStateError } from '../errors.js';

/** A pending virtual timer; the handle {@link VirtualScheduler.setTimeout} returns. */
class VirtualTimer implements TimerHandle {
  constructor(
    readonly atMs: number,
    readonly seq: number,
    readonly callback: () => void,
    /** Position in the heap; -1 once fired or cleared. */
    public index: number,
  ) {}

  /** No-op: virtual timers never keep the process alive. */
  unref(): this {
    return this;
  }
}

/** Lets every pending promise continuation run: one real macrotask turn. */
function settle(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}

/** A manual clock with timers: the scheduler of deterministic simulations. */
export class VirtualScheduler extends ManualClock implements Scheduler {
  /** Binary min-heap on (atMs, seq); each timer knows its index so clearTimeout is O(log n). */
  #heap: VirtualTimer[] = [];
  #seq = 0;
  #fired = 0;
  #running = false;

  /** @param startMs - initial virtual time (default: ManualClock's fixed epoch, 1_700_000_000_000) */
  constructor(startMs?: number) {
    super(startMs);
  }

  /**
   * Runs `callback` once virtual time reaches `now + delayMs`.
   * @param delayMs - milliseconds; negative or NaN counts as 0
   * @throws RangeError when `delayMs` is infinite
   */
  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    if (delayMs === Infinity || delayMs === -Infinity) {
      throw new RangeError(`VirtualScheduler.setTimeout: delayMs must be finite, got ${delayMs}`);
    }
    const delay = delayMs > 0 ? delayMs : 0;
    const timer = new VirtualTimer(this.nowMs() + delay, this.#seq++, callback, this.#heap.length);
    this.#heap.push(timer);
    this.#siftUp(timer.index);
    return timer;
  }

  /** Cancels a pending timer; a fired, cleared or foreign handle is ignored. */
  clearTimeout(handle: TimerHandle): void {
    if (!(handle instanceof VirtualTimer) || handle.index < 0 || this.#heap[handle.index] !== handle) return;
    this.#removeAt(handle.index);
  }

  /** Number of timers set and neither fired nor cleared. */
  pendingTimers(): number {
    return this.#heap.length;
  }

  /** Due time of the next timer, or null when none is pending. */
  nextTimerAtMs(): number | null {
    return this.#heap.length > 0 ? this.#heap[0].atMs : null;
  }

  /** Timers fired since creation. */
  get firedTimers(): number {
    return this.#fired;
  }

  /**
   * Moves time forward by `deltaMs`, synchronously firing every timer due on the way, in
   * order (including timers those callbacks set, when due within the window). Promise
   * continuations run only after the caller yields: use {@link runFor} in simulations.
   * @throws RangeError when `deltaMs` is negative; IllegalStateError when called from a timer callback
   */
  override advance(deltaMs: number): void {
    if (!(deltaMs >= 0)) throw new RangeError(`VirtualScheduler.advance: deltaMs must be >= 0, got ${deltaMs}`);
    this.#fireSyncUntil(this.nowMs() + deltaMs);
  }

  /**
   * Sets the time (forward only), synchronously firing the timers due by then, as {@link advance}.
   * @throws RangeError when `nowMs` is in the past
   */
  override set(nowMs: number): void {
    if (nowMs < this.nowMs()) throw new RangeError(`VirtualScheduler.set: time cannot go backwards (${nowMs} < ${this.nowMs()})`);
    this.#fireSyncUntil(nowMs);
  }

  /**
   * Simulates `ms` of virtual time: fires each timer due by `now + ms` in order, letting
   * promise continuations settle before the first and after each firing, then leaves the
   * clock at `now + ms`.
   * @returns the number of timers fired
   * @throws whatever a timer callback throws (the run stops there); IllegalStateError when
   *   another run is in progress
   */
  async runFor(ms: number): Promise<number> {
    if (!(ms >= 0)) throw new RangeError(`VirtualScheduler.runFor: ms must be >= 0, got ${ms}`);
    const targetMs = this.nowMs() + ms;
    this.#enter('runFor');
    try {
      let fired = 0;
      await settle();
      while (this.#heap.length > 0 && this.#heap[0].atMs <= targetMs) {
        this.#fireNext();
        fired++;
        await settle();
      }
      super.set(targetMs);
      return fired;
    } finally {
      this.#running = false;
    }
  }

  /**
   * Fires timers, in order and settling between them, until none is pending, or until the
   * next one is due more than `maxMs` from now (then the clock is left at `now + maxMs`).
   * When idle, the clock stays at the last fired timer's time.
   * @param maxMs - virtual time budget (default unlimited)
   * @param maxTimers - firing budget that catches livelocks, e.g. a timer that re-arms
   *   itself with delay 0 so that time never moves (default 1,000,000)
   * @returns the number of timers fired
   * @throws IllegalStateError when more than `maxTimers` timers would fire
   */
  async runUntilIdle(maxMs = Infinity, maxTimers = 1_000_000): Promise<number> {
    const fired = await this.#runWhile(() => true, maxMs, maxTimers, 'runUntilIdle');
    return fired.count;
  }

  /**
   * Fires timers, in order and settling between them, until `condition()` holds (checked
   * before the first firing and after each settle), no timer is pending, or `maxMs` of
   * virtual time has passed.
   * @returns whether `condition()` held when the run stopped
   * @throws IllegalStateError when more than `maxTimers` timers would fire
   */
  async runUntil(condition: () => boolean, maxMs = Infinity, maxTimers = 1_000_000): Promise<boolean> {
    const r = await this.#runWhile(() => !condition(), maxMs, maxTimers, 'runUntil');
    return !r.stoppedByPredicate ? condition() : true;
  }

  /**
   * Lets pending promise continuations run without moving time or firing timers
   * (one real macrotask turn).
   */
  settle(): Promise<void> {
    return settle();
  }

  async #runWhile(
    keepGoing: () => boolean,
    maxMs: number,
    maxTimers: number,
    what: string,
  ): Promise<{ count: number; stoppedByPredicate: boolean }> {
    if (!(maxMs >= 0)) throw new RangeError(`VirtualScheduler.${what}: maxMs must be >= 0, got ${maxMs}`);
    const deadlineMs = this.nowMs() + maxMs;
    this.#enter(what);
    try {
      let count = 0;
      await settle();
      for (;;) {
        if (!keepGoing()) return { count, stoppedByPredicate: true };
        if (this.#heap.length === 0) return { count, stoppedByPredicate: false };
        if (this.#heap[0].atMs > deadlineMs) {
          super.set(deadlineMs);
          return { count, stoppedByPredicate: false };
        }
        if (count >= maxTimers) {
          throw new IllegalStateError(
            `VirtualScheduler.${what}: fired ${count} timers (maxTimers=${maxTimers}) and ${this.#heap.length} are still pending at virtual time ${this.nowMs()}; a timer re-arming itself?`,
          );
        }
        this.#fireNext();
        count++;
        await settle();
      }
    } finally {
      this.#running = false;
    }
  }

  #enter(what: string): void {
    if (this.#running) {
      throw new IllegalStateError(`VirtualScheduler.${what}: another run is in progress (runs do not nest; await the first)`);
    }
    this.#running = true;
  }

  #fireSyncUntil(targetMs: number): void {
    this.#enter('advance');
    try {
      while (this.#heap.length > 0 && this.#heap[0].atMs <= targetMs) this.#fireNext();
      super.set(targetMs);
    } finally {
      this.#running = false;
    }
  }

  /** Pops the earliest timer, moves the clock to its due time and runs it. */
  #fireNext(): void {
    const timer = this.#heap[0];
    this.#removeAt(0);
    if (timer.atMs > this.nowMs()) super.set(timer.atMs);
    this.#fired++;
    timer.callback();
  }

  #less(a: VirtualTimer, b: VirtualTimer): boolean {
    return a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq);
  }

  #removeAt(i: number): void {
    const heap = this.#heap;
    const removed = heap[i];
    const last = heap.pop()!;
    removed.index = -1;
    if (last === removed) return;
    heap[i] = last;
    last.index = i;
    this.#siftDown(i);
    this.#siftUp(last.index);
  }

  #siftUp(i: number): void {
    const heap = this.#heap;
    const t = heap[i];
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(t, heap[parent])) break;
      heap[i] = heap[parent];
      heap[i].index = i;
      i = parent;
    }
    heap[i] = t;
    t.index = i;
  }

  #siftDown(i: number): void {
    const heap = this.#heap;
    const n = heap.length;
    const t = heap[i];
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && this.#less(heap[c + 1], heap[c])) c++;
      if (!this.#less(heap[c], t)) break;
      heap[i] = heap[c];
      heap[i].index = i;
      i = c;
    }
    heap[i] = t;
    t.index = i;
  }
}
