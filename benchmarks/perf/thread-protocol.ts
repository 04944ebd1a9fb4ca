/**
 * The messages between the main thread of a `--threads N` run (threaded-run.ts) and its
 * sending threads (perf-thread.ts): plain data, posted with `postMessage`.
 *
 * A thread's life: `setup` (it builds its sender: an appender of the shared producer, or a
 * producer of its own) → `ready`; then one `phase` per part of the run (the warm-up, the
 * measured records), each started by a gate the main thread opens for every thread at once
 * → `report` after the thread's flush; finally `close` → `closed`. Anything thrown on the
 * thread → `failed`.
 */
import type { SharedProducerHandle } from '@sluice/core';
import type { LatencyHistogramState } from './latency-histogram.js';

/**
 * How the threads produce: `shared` — N appender threads of one producer on the main thread
 * (`Producer.attach`); `per-thread` — N producers, one per thread, over one buffer pool.
 */
export type ThreadModel = 'shared' | 'per-thread';

/** A pool of payloads in one block (entry i is `bytes[offsets[i], offsets[i + 1])`), cheap to post. */
export interface PackedPool {
  readonly bytes: Uint8Array;
  readonly offsets: Int32Array;
}

/** Packs payloads for {@link unpackPool} on another thread. */
export function packPool(buffers: readonly Uint8Array[]): PackedPool {
  const offsets = new Int32Array(buffers.length + 1);
  for (let i = 0; i < buffers.length; i++) offsets[i + 1] = offsets[i] + buffers[i].length;
  const bytes = new Uint8Array(offsets[buffers.length]);
  for (let i = 0; i < buffers.length; i++) bytes.set(buffers[i], offsets[i]);
  return { bytes, offsets };
}

/** The payloads of a {@link PackedPool}, as Buffers over its block (no copy). */
export function unpackPool(pool: PackedPool): Buffer[] {
  const whole = Buffer.from(pool.bytes.buffer, pool.bytes.byteOffset, pool.bytes.length);
  const out: Buffer[] = [];
  for (let i = 0; i + 1 < pool.offsets.length; i++) out.push(whole.subarray(pool.offsets[i], pool.offsets[i + 1]));
  return out;
}

/** What a thread sends and how (the first message). */
export interface ThreadSetup {
  readonly kind: 'setup';
  readonly model: ThreadModel;
  /** This thread's index (its row in the stats). */
  readonly thread: number;
  /** A `ThreadStats` buffer. */
  readonly stats: SharedArrayBuffer;
  /** `shared`: the owner's `producer.shareable()`. */
  readonly handle: SharedProducerHandle | null;
  /** `per-thread`: the buffer pool all the threads' producers share (`BufferPool.sharedBuffer`). */
  readonly pool: SharedArrayBuffer | null;
  /** `per-thread`: the producer settings (as the command line gave them). */
  readonly config: Readonly<Record<string, unknown>>;
  /** `per-thread` on the embedded target: the cluster each thread's producer gets; null against a broker. */
  readonly embedded: { readonly brokers: number; readonly partitions: number } | null;
  readonly topic: string;
  readonly values: PackedPool;
  /** Paired with `values` by index; null: null keys. */
  readonly keys: PackedPool | null;
  /** Values are the record's index in the run, in decimal (`--payload-monotonic`). */
  readonly monotonic: boolean;
  /** Seeds this thread's choice of pool entries. */
  readonly seed: number;
  /** Every n-th record of the thread carries a callback that samples its latency. */
  readonly latencyEvery: number;
}

/** One part of the run for one thread. */
export interface ThreadPhase {
  readonly kind: 'phase';
  /** Int32 word 0 turns non-zero when every thread may start. */
  readonly gate: SharedArrayBuffer;
  /** Records this thread sends in this phase. */
  readonly records: number;
  /** The run-wide index of its first record (`--payload-monotonic` values). */
  readonly firstIndex: number;
  /** This thread's cap in records/s; -1: none. */
  readonly throughput: number;
}

/** What a thread measured in a phase. */
export interface ThreadPhaseReport {
  readonly kind: 'report';
  /** Records handed to `send`. */
  readonly appended: number;
  /** Records `send` refused (thrown, or its wait ended in an error): not in any batch. */
  readonly refused: number;
  readonly firstError: string | null;
  /** The sampled latencies (send → acknowledgement, ms). */
  readonly latency: LatencyHistogramState;
  /** Stopped early (Ctrl-C). */
  readonly stopped: boolean;
}

/** Ends a thread: close its sender. */
export interface ThreadClose {
  readonly kind: 'close';
}

/** Main thread → a sending thread. */
export type ToThread = ThreadSetup | ThreadPhase | ThreadClose;

/** A sending thread → the main thread. */
export type FromThread = { readonly kind: 'ready' } | ThreadPhaseReport | { readonly kind: 'closed' } | { readonly kind: 'failed'; readonly error: string };
