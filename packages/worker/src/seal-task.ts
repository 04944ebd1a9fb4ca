/**
 * The seal thread's one piscina task: it runs a lane for as long as the thread lives.
 *
 * Thin on purpose (STYLE 10): take the next job from the lane's ring (`seal-ring.ts`), attach
 * views to its SharedArrayBuffer once per thread, run core's `sealBatch` — the same pure
 * function the inline sealer runs — store the result, bump the completion signal; park in
 * `Atomics.wait` when the ring is empty. The states it moves a job through (and why the copy
 * over the raw records waits for a CAS) are in `seal-ring-layout.ts`.
 */
import { receiveMessageOnPort, threadId } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import type { Codec, CompressionId } from '@sluice/core';
import { sealBatch } from '@sluice/core/internal';
import { sealCodecFor } from './seal-codecs.js';
import { RingReader } from './seal-ring.js';
import {
  E_BASE_SEQUENCE,
  E_BASE_TIMESTAMP,
  E_BUFFER_ID,
  E_BUSY_NS,
  E_BYTE_OFFSET,
  E_CODEC_ID,
  E_ERROR_LENGTH,
  E_ERROR_TEXT,
  E_FAULT,
  E_LEVEL,
  E_MAX_TIMESTAMP,
  E_PRODUCER_EPOCH,
  E_PRODUCER_ID,
  E_RECORDS_LENGTH,
  E_RECORD_COUNT,
  E_RESULT,
  E_TRANSACTIONAL,
  ERROR_TEXT_BYTES,
  IDLE_PARK_MS,
  JobState,
  LANE_THREAD_ID,
  SIGNAL_COUNT,
  SIGNAL_MAIN_WAITING,
  SealFault,
} from './seal-ring-layout.js';
import type { BufferRegistration, LaneStartMessage } from './seal-ring-layout.js';

interface Views {
  bytes: Buffer;
  view: DataView;
}

/** Views per buffer id, least recently used first. Pool buffers stay hot; non-pooled ones age out. */
const views = new Map<number, Views>();
const MAX_CACHED_BUFFERS = 32;
/** How long a job may wait for its buffer's registration message before it fails (ms). */
const REGISTRATION_WAIT_MS = 5000;

function remember(reg: BufferRegistration): void {
  views.set(reg.id, { bytes: Buffer.from(reg.buffer), view: new DataView(reg.buffer) });
  if (views.size > MAX_CACHED_BUFFERS) views.delete(views.keys().next().value as number);
}

/** The views of buffer `id`, reading registrations off the port until it has arrived. */
function viewsOf(id: number, port: MessagePort): Views {
  let v = views.get(id);
  if (v !== undefined) {
    views.delete(id);
    views.set(id, v);
    return v;
  }
  const deadline = Date.now() + REGISTRATION_WAIT_MS;
  const nap = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    const m = receiveMessageOnPort(port);
    if (m !== undefined) {
      remember(m.message as BufferRegistration);
      v = views.get(id);
      if (v !== undefined) return v;
      continue;
    }
    if (Date.now() > deadline) throw new Error(`buffer ${id} was never registered with this seal thread`);
    Atomics.wait(nap, 0, 0, 1);
  }
}

/** A codec wrapper that runs the test-only faults inside `compress`. */
function faultyCompress(codec: Codec, fault: number, input: Uint8Array, level: number): Uint8Array {
  if (fault === SealFault.THROW_IN_CODEC) throw new Error('injected fault: codec threw');
  if (fault === SealFault.EXIT_WHILE_COMPRESSING) process.exit(71);
  if (fault === SealFault.STALL_IN_CODEC) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60_000);
  return codec.compress(input, level);
}

const encoder = new TextEncoder();

/**
 * Runs the lane until main sets LANE_STOP.
 * @returns the number of jobs this thread finished
 */
export default function runLane(message: LaneStartMessage): number {
  const ring = new RingReader(message.lane);
  const { i32, f64 } = ring;
  const signal = new Int32Array(message.signal);
  const port = message.buffers;
  const bytesOfLane = Buffer.from(message.lane);
  Atomics.store(i32, LANE_THREAD_ID, threadId);
  // The codec sealBatch calls: it runs the real one, then wins COMPRESSING → REPLACING before
  // sealBatch may copy the result over the raw records (layout invariant 2).
  let current = -1;
  let currentFault = 0;
  let inner: Codec | null = null;
  let abandoned = false;
  let replacing = false;
  const beginReplace = (): void => {
    if (!ring.tryBeginReplace(current)) {
      abandoned = true;
      throw new Error('abandoned by the seal timeout');
    }
    replacing = true;
  };
  const gate: { -readonly [K in keyof Codec]: Codec[K] } = {
    id: 0 as CompressionId,
    name: 'none',
    compress(input: Uint8Array, level?: number): Uint8Array {
      const out = currentFault === SealFault.NONE ? inner!.compress(input, level) : faultyCompress(inner!, currentFault, input, level ?? 0);
      beginReplace();
      if (currentFault === SealFault.EXIT_WHILE_REPLACING) process.exit(72);
      return out;
    },
    decompress(input: Uint8Array): Uint8Array {
      return inner!.decompress(input);
    },
  };
  let finished = 0;
  for (;;) {
    const base = ring.tryTake(performance.timeOrigin + performance.now());
    if (base < 0) {
      if (ring.hasPublished()) continue; // a reclaimed entry was passed
      if (ring.stopping) return finished;
      ring.park(IDLE_PARK_MS);
      continue;
    }
    const t0 = process.hrtime.bigint();
    const fault = i32[base + E_FAULT];
    if (fault === SealFault.THROW_TASK) throw new Error('injected fault: seal task threw');
    if (fault === SealFault.EXIT_BEFORE_BATCH) process.exit(70);
    const codecId = i32[base + E_CODEC_ID];
    const recordsLength = i32[base + E_RECORDS_LENGTH];
    let error: unknown = null;
    current = base;
    currentFault = fault;
    abandoned = false;
    replacing = false;
    try {
      const { bytes, view } = viewsOf(i32[base + E_BUFFER_ID], port);
      const offset = i32[base + E_BYTE_OFFSET];
      inner = codecId === 0 ? null : sealCodecFor(codecId);
      if (codecId !== 0 && inner === null) throw new Error(`no codec for compression id ${codecId}`);
      // With no codec (or nothing to compress) sealBatch writes only the header: win the
      // CAS first. With a codec, the gate wins it when the codec returns.
      const compresses = inner !== null && recordsLength > 0;
      if (!compresses) beginReplace();
      gate.id = (inner?.id ?? 0) as CompressionId;
      const size = sealBatch(bytes, view, offset, {
        recordsLength,
        recordCount: i32[base + E_RECORD_COUNT],
        baseTimestamp: f64[(base + E_BASE_TIMESTAMP) >> 1],
        maxTimestamp: f64[(base + E_MAX_TIMESTAMP) >> 1],
        codec: compresses ? gate : null,
        level: i32[base + E_LEVEL],
        producerId: f64[(base + E_PRODUCER_ID) >> 1],
        producerEpoch: i32[base + E_PRODUCER_EPOCH],
        baseSequence: i32[base + E_BASE_SEQUENCE],
        transactional: i32[base + E_TRANSACTIONAL] !== 0,
      });
      if (fault === SealFault.EXIT_AFTER_HEADER) process.exit(73);
      i32[base + E_RESULT] = size;
    } catch (err) {
      error = err;
    } finally {
      current = -1;
      inner = null;
    }
    if (abandoned) continue; // main failed the batch already: write nothing more
    f64[(base + E_BUSY_NS) >> 1] = Number(process.hrtime.bigint() - t0);
    if (error !== null) {
      // The text first: main reads it once it sees the failed state.
      const text = encoder.encode((error as Error)?.message ?? String(error));
      const n = Math.min(text.length, ERROR_TEXT_BYTES);
      bytesOfLane.set(text.subarray(0, n), (base + E_ERROR_TEXT) * 4);
      i32[base + E_ERROR_LENGTH] = n;
      if (replacing) ring.finish(base, JobState.FAILED_LOST);
      else if (!ring.tryFailRetryable(base)) continue; // abandoned meanwhile
    } else {
      ring.finish(base, JobState.SEALED);
    }
    finished++;
    Atomics.add(signal, SIGNAL_COUNT, 1);
    if (Atomics.load(signal, SIGNAL_MAIN_WAITING) === 1) Atomics.notify(signal, SIGNAL_COUNT);
  }
}
