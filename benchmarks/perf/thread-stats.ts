/**
 * The running figures of a `--threads N` run, in one SharedArrayBuffer that the main thread
 * and the sending threads share: what the Kafka-style window lines and the progress bar read
 * while the threads send, without a message per window. The final line does not come from
 * here but from the threads' reports (exact histograms) and the acknowledgement counts.
 *
 * One row of Float64 cells per writer — each sending thread, plus a last row for the main
 * thread (the shared producer's owner counts acknowledgements there) — and each row has a
 * single writer, so no cell needs a lock: the reader may see a row a few records out of
 * date, which a progress line does not mind. Control words (Int32, Atomics): a stop flag
 * (Ctrl-C) and the window epoch.
 *
 * A window's largest latency without a reset from the reader: a writer keeps the maximum of
 * the samples it recorded in the current epoch; the reader takes the largest over the rows
 * that are in the current epoch, then advances the epoch, and the next sample of each row
 * starts a new maximum.
 */

const CONTROL_BYTES = 16;
const STOP = 0;
const EPOCH = 1;

const APPENDED = 0;
const BYTES = 1;
const ACKED = 2;
const FAILED = 3;
const LAT_SUM = 4;
const LAT_COUNT = 5;
const LAT_MAX = 6;
const LAT_EPOCH = 7;
const LAST_ACK = 8;
const ROW = 9;

/** Sums over every row. */
export interface ThreadTotals {
  /** Records handed to `send` (accepted or not). */
  appended: number;
  /** Key + value bytes of those records. */
  bytes: number;
  /** Records acknowledged. */
  acked: number;
  /** Records that failed (in a batch, or refused by `send`). */
  failed: number;
  /** Sum of the sampled latencies, ms. */
  latencySumMs: number;
  /** Latency samples. */
  latencySamples: number;
  /** Latest acknowledgement, `performance.timeOrigin + performance.now()` ms; 0 before any. */
  lastAckMs: number;
}

/** The shared running figures of a threaded run (see the file comment). */
export class ThreadStats {
  /** What to post to the threads. */
  readonly buffer: SharedArrayBuffer;
  /** Rows: the sending threads, then the main thread's. */
  readonly rows: number;
  readonly #control: Int32Array;
  readonly #cells: Float64Array;

  /**
   * Over an existing buffer (a thread's view of the main thread's stats).
   * @param buffer - from {@link ThreadStats.create}'s `buffer`
   */
  constructor(buffer: SharedArrayBuffer) {
    this.buffer = buffer;
    this.#control = new Int32Array(buffer, 0, CONTROL_BYTES / 4);
    this.#cells = new Float64Array(buffer, CONTROL_BYTES);
    this.rows = this.#cells.length / ROW;
  }

  /** Stats for `threads` sending threads (and the main thread's row after them). */
  static create(threads: number): ThreadStats {
    return new ThreadStats(new SharedArrayBuffer(CONTROL_BYTES + (threads + 1) * ROW * 8));
  }

  /** The main thread's row (after the threads'). */
  get ownerRow(): number {
    return this.rows - 1;
  }

  /** `records` of `bytes` key + value bytes in all were handed to `send` by row `row`. */
  addAppended(row: number, records: number, bytes: number): void {
    const c = this.#cells;
    c[row * ROW + APPENDED] += records;
    c[row * ROW + BYTES] += bytes;
  }

  /** Row `row` learnt that `records` were acknowledged (`error` null) or failed. */
  addCompleted(row: number, records: number, error: boolean): void {
    const c = this.#cells;
    if (error) {
      c[row * ROW + FAILED] += records;
      return;
    }
    c[row * ROW + ACKED] += records;
    c[row * ROW + LAST_ACK] = performance.timeOrigin + performance.now();
  }

  /** One latency sample of row `row`, ms. */
  addLatency(row: number, ms: number): void {
    const c = this.#cells;
    const r = row * ROW;
    c[r + LAT_SUM] += ms;
    c[r + LAT_COUNT] += 1;
    const epoch = Atomics.load(this.#control, EPOCH);
    if (c[r + LAT_EPOCH] !== epoch) {
      c[r + LAT_EPOCH] = epoch;
      c[r + LAT_MAX] = ms;
    } else if (ms > c[r + LAT_MAX]) {
      c[r + LAT_MAX] = ms;
    }
  }

  /** The sums over every row, now. */
  totals(): ThreadTotals {
    const c = this.#cells;
    const t: ThreadTotals = { appended: 0, bytes: 0, acked: 0, failed: 0, latencySumMs: 0, latencySamples: 0, lastAckMs: 0 };
    for (let r = 0; r < c.length; r += ROW) {
      t.appended += c[r + APPENDED];
      t.bytes += c[r + BYTES];
      t.acked += c[r + ACKED];
      t.failed += c[r + FAILED];
      t.latencySumMs += c[r + LAT_SUM];
      t.latencySamples += c[r + LAT_COUNT];
      if (c[r + LAST_ACK] > t.lastAckMs) t.lastAckMs = c[r + LAST_ACK];
    }
    return t;
  }

  /** The largest latency sampled since the last call (0 for none), and starts a new window. */
  takeWindowMax(): number {
    const c = this.#cells;
    const epoch = Atomics.load(this.#control, EPOCH);
    let max = 0;
    for (let r = 0; r < c.length; r += ROW) if (c[r + LAT_EPOCH] === epoch && c[r + LAT_MAX] > max) max = c[r + LAT_MAX];
    Atomics.add(this.#control, EPOCH, 1);
    return max;
  }

  /** Asks the threads to stop sending (Ctrl-C); they flush what they sent and report. */
  stop(): void {
    Atomics.store(this.#control, STOP, 1);
  }

  /** Whether {@link stop} was called. */
  get stopped(): boolean {
    return Atomics.load(this.#control, STOP) !== 0;
  }
}
