/**
 * The piscina task: seals a group of batches in place, on a worker thread.
 *
 * Thin on purpose (STYLE 10): it attaches views to each SharedArrayBuffer once per thread,
 * then runs core's `sealBatch` — the same pure function the inline sealer runs — on each
 * batch, marking progress in the batch's header gap (see `seal-messages.ts`) so that the
 * main thread can tell, if this thread dies, which batches' raw records are still intact.
 */
import { codecFor } from '@sluice/core';
import type { Codec, CompressionId } from '@sluice/core';
import { MAGIC_OFFSET, sealBatch } from '@sluice/core/internal';
import {
  BASE_SEQUENCE,
  BASE_TIMESTAMP,
  BATCH_FIELDS,
  BUFFER_INDEX,
  BYTE_OFFSET,
  CODEC_ID,
  LEVEL,
  MAX_TIMESTAMP,
  PRODUCER_EPOCH,
  PRODUCER_ID,
  RECORDS_LENGTH,
  RECORD_COUNT,
  SEAL_FAILED_RECORDS_LOST,
  SEAL_FAILED_RETRYABLE,
  SEAL_MARK_COMPRESSING,
  SEAL_MARK_PENDING,
  SEAL_MARK_REPLACING,
  SealFault,
  TRANSACTIONAL,
} from './seal-messages.js';
import type { SealFaultValue, SealTaskMessage, SealTaskResult } from './seal-messages.js';

interface Views {
  bytes: Buffer;
  view: DataView;
}

/** Views per buffer id, least recently used first. Pool buffers stay hot; non-pooled ones age out. */
const views = new Map<number, Views>();
const MAX_CACHED_BUFFERS = 32;

function attach(buffer: SharedArrayBuffer, id: number): Views {
  let v = views.get(id);
  if (v !== undefined && v.bytes.buffer.byteLength === buffer.byteLength) {
    views.delete(id);
    views.set(id, v);
    return v;
  }
  v = { bytes: Buffer.from(buffer), view: new DataView(buffer) };
  views.set(id, v);
  if (views.size > MAX_CACHED_BUFFERS) views.delete(views.keys().next().value as number);
  return v;
}

/**
 * A codec wrapper that moves the batch's mark from COMPRESSING to REPLACING when the codec
 * returns, i.e. just before `sealBatch` may copy the compressed bytes over the raw records.
 * One per codec id per thread; `target*` point it at the batch being sealed.
 */
class MarkingCodec implements Codec {
  readonly id: CompressionId;
  readonly name: Codec['name'];
  readonly #inner: Codec;
  targetBytes: Buffer | null = null;
  targetBase = 0;
  fault: SealFaultValue = SealFault.NONE;

  constructor(inner: Codec) {
    this.#inner = inner;
    this.id = inner.id;
    this.name = inner.name;
  }

  compress(input: Uint8Array, level?: number): Uint8Array {
    if (this.fault === SealFault.THROW_IN_CODEC) throw new Error('injected fault: codec threw');
    if (this.fault === SealFault.EXIT_WHILE_COMPRESSING) process.exit(71);
    const out = this.#inner.compress(input, level);
    this.targetBytes![this.targetBase + MAGIC_OFFSET] = SEAL_MARK_REPLACING & 0xff;
    if (this.fault === SealFault.EXIT_WHILE_REPLACING) process.exit(72);
    return out;
  }

  decompress(input: Uint8Array): Uint8Array {
    return this.#inner.decompress(input);
  }
}

const markingCodecs: (MarkingCodec | null | undefined)[] = [];

function markingCodecFor(codecId: number): MarkingCodec | null {
  let codec = markingCodecs[codecId];
  if (codec === undefined) {
    const inner = codecFor(codecId);
    codec = inner === null ? null : new MarkingCodec(inner);
    markingCodecs[codecId] = codec;
  }
  return codec;
}

/**
 * Seals every batch of `message` in place.
 * @returns each batch's sealed size, or a failure code and message per batch (one batch's
 *   failure does not stop the others)
 */
export default function sealTask(message: SealTaskMessage): SealTaskResult {
  const startNs = process.hrtime.bigint();
  const { buffers, bufferIds, batches, fault, faultBatch } = message;
  if (fault === SealFault.THROW_TASK) throw new Error('injected fault: seal task threw');
  const count = batches.length / BATCH_FIELDS;
  const sizes = new Int32Array(count);
  let errors: string[] | null = null;
  for (let i = 0; i < count; i++) {
    const f = i * BATCH_FIELDS;
    const bufferIndex = batches[f + BUFFER_INDEX];
    const { bytes, view } = attach(buffers[bufferIndex], bufferIds[bufferIndex]);
    const base = batches[f + BYTE_OFFSET];
    const codecId = batches[f + CODEC_ID];
    const faultHere = i === faultBatch ? fault : SealFault.NONE;
    if (faultHere === SealFault.EXIT_BEFORE_BATCH) process.exit(70);
    const codec = codecId === 0 ? null : markingCodecFor(codecId);
    try {
      if (codecId !== 0 && codec === null) throw new Error(`no codec for compression id ${codecId}`);
      if (codec !== null) {
        codec.targetBytes = bytes;
        codec.targetBase = base;
        codec.fault = faultHere;
      }
      bytes[base + MAGIC_OFFSET] = SEAL_MARK_COMPRESSING & 0xff;
      sizes[i] = sealBatch(bytes, view, base, {
        recordsLength: batches[f + RECORDS_LENGTH],
        recordCount: batches[f + RECORD_COUNT],
        baseTimestamp: batches[f + BASE_TIMESTAMP],
        maxTimestamp: batches[f + MAX_TIMESTAMP],
        codec,
        level: batches[f + LEVEL],
        producerId: batches[f + PRODUCER_ID],
        producerEpoch: batches[f + PRODUCER_EPOCH],
        baseSequence: batches[f + BASE_SEQUENCE],
        transactional: batches[f + TRANSACTIONAL] !== 0,
      });
    } catch (err) {
      // Still PENDING or COMPRESSING: it failed before the copy; the raw records are intact.
      const mark = bytes[base + MAGIC_OFFSET];
      const intact = mark === SEAL_MARK_PENDING || mark === (SEAL_MARK_COMPRESSING & 0xff);
      if (intact) bytes[base + MAGIC_OFFSET] = SEAL_MARK_PENDING;
      sizes[i] = intact ? SEAL_FAILED_RETRYABLE : SEAL_FAILED_RECORDS_LOST;
      errors ??= new Array<string>(count).fill('');
      errors[i] = (err as Error)?.message ?? String(err);
    } finally {
      if (codec !== null) {
        codec.targetBytes = null;
        codec.fault = SealFault.NONE;
      }
    }
  }
  return { sizes, errors, busyNs: Number(process.hrtime.bigint() - startNs) };
}
