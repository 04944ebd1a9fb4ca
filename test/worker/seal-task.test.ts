/**
 * The seal thread's lane loop run in-process: jobs published into a ring are sealed in
 * place (pool buffer and a non-pooled buffer, registered over the lane's port), one job's
 * failure does not touch the others, and a stopped lane returns once the ring is empty.
 */
import { expect } from 'chai';
import { MessageChannel } from 'node:worker_threads';
import type { ProducerBatch } from '../../packages/core/src/accumulator/producer-batch.js';
import { MAGIC_OFFSET, MAGIC_V2 } from '../../packages/core/src/format/record-batch-layout.js';
import type { SealJob } from '../../packages/core/src/sealing/sealer.js';
import type { CompressionName } from '../../packages/core/src/format/compression-type.js';
import runLane from '../../packages/worker/src/seal-task.js';
import { RingWriter, writeJob } from '../../packages/worker/src/seal-ring.js';
import { E_CODEC_ID, E_ERROR_LENGTH, E_ERROR_TEXT, E_RESULT, JobState, SIGNAL_BYTES, SIGNAL_COUNT, SealFault } from '../../packages/worker/src/seal-ring-layout.js';
import { makeAccumulator } from '../helpers/accumulator-factory.js';
import { decodeWithKafkajs } from '../helpers/kafka-oracle.js';
import { jsonValue } from '../helpers/sample-values.js';
import { HoldingSealer, drainEverything } from '../helpers/sealing.js';

/** Batches filled by an accumulator whose sealer only collects them. */
function heldBatches(compressionType: CompressionName): SealJob[] {
  const sealer = new HoldingSealer();
  const t = makeAccumulator({ compressionType, bufferMemory: 256 * 1024 }, { sealer });
  for (let i = 0; i < 40; i++) t.acc.append({ topic: 't', partition: i % 2 }, t.clock.nowMs() + i, null, jsonValue(i, 120), null);
  const big = Buffer.concat(Array.from({ length: 30 }, (_, i) => jsonValue(i, 100)));
  t.acc.append({ topic: 'u', partition: 0 }, t.clock.nowMs(), null, big, null);
  drainEverything(t);
  return sealer.jobs;
}

let nextId = 2_000_000;

/** Publishes every job (fault per index), stops the lane, runs it to the end in this thread. */
function sealInProcess(jobs: SealJob[], faultOf: (i: number) => number = () => SealFault.NONE, tweak: (i: number, w: RingWriter, base: number) => void = () => {}) {
  const w = new RingWriter();
  const { port1, port2 } = new MessageChannel();
  const ids = new Map<SharedArrayBuffer, number>();
  const bases: number[] = [];
  jobs.forEach((job, i) => {
    let id = ids.get(job.memory);
    if (id === undefined) {
      id = nextId++;
      ids.set(job.memory, id);
      port1.postMessage({ id, buffer: job.memory });
    }
    const base = w.tryBeginPublish();
    writeJob(w, base, id, job, job.sealSpec(), faultOf(i));
    tweak(i, w, base);
    job.bytes[job.byteOffset + MAGIC_OFFSET] = 0;
    w.commitPublish(base);
    bases.push(base);
  });
  w.stop();
  const signal = new SharedArrayBuffer(SIGNAL_BYTES);
  const finished = runLane({ lane: w.buffer, signal, buffers: port2 });
  port1.close();
  const errorText = (base: number): string => Buffer.from(w.buffer, (base + E_ERROR_TEXT) * 4, w.i32[base + E_ERROR_LENGTH]).toString();
  return { w, bases, finished, signals: Atomics.load(new Int32Array(signal), SIGNAL_COUNT), errorText };
}

describe('seal task (lane loop)', () => {
  it('seals jobs spanning the pool buffer and a non-pooled buffer in place; kafkajs decodes every batch', async () => {
    const jobs = heldBatches('zstd');
    expect(new Set(jobs.map((j) => j.memory)).size, 'two SharedArrayBuffers').to.equal(2);
    const { w, bases, finished, signals } = sealInProcess(jobs);
    expect(finished).to.equal(jobs.length);
    expect(signals).to.equal(jobs.length);
    for (let i = 0; i < jobs.length; i++) {
      const job = jobs[i];
      expect(w.stateOf(bases[i])).to.equal(JobState.SEALED);
      const size = w.i32[bases[i] + E_RESULT];
      expect(size).to.be.greaterThan(61);
      expect(job.view.getInt8(job.byteOffset + MAGIC_OFFSET)).to.equal(MAGIC_V2);
      job.completeSeal(size);
      const d = await decodeWithKafkajs((job as ProducerBatch).sealedBytes());
      expect(d.crcOk).to.equal(true);
      expect(d.records.length).to.equal(job.sealSpec().recordCount);
    }
  });

  it('fails only the job whose codec is unknown, as retryable, with the reason', () => {
    const jobs = heldBatches('gzip');
    const { w, bases, errorText } = sealInProcess(jobs, undefined, (i, wr, base) => {
      if (i === 1) wr.i32[base + E_CODEC_ID] = 6;
    });
    expect(w.stateOf(bases[1])).to.equal(JobState.FAILED_RETRYABLE);
    expect(errorText(bases[1])).to.match(/no codec for compression id 6/);
    for (let i = 0; i < jobs.length; i++) if (i !== 1) expect(w.stateOf(bases[i]), `job ${i}`).to.equal(JobState.SEALED);
    jobs.forEach((job, i) => (i === 1 ? job.failSeal(new Error('x')) : job.completeSeal(w.i32[bases[i] + E_RESULT])));
  });

  it('reports a codec that throws as retryable with the raw records intact', () => {
    const jobs = heldBatches('lz4');
    const raw = (j: SealJob): Buffer => Buffer.from(j.bytes.subarray(j.byteOffset + 61, j.byteOffset + 61 + j.sealSpec().recordsLength));
    const before = raw(jobs[0]);
    const { w, bases, errorText } = sealInProcess(jobs, (i) => (i === 0 ? SealFault.THROW_IN_CODEC : SealFault.NONE));
    expect(w.stateOf(bases[0])).to.equal(JobState.FAILED_RETRYABLE);
    expect(errorText(bases[0])).to.match(/injected fault: codec threw/);
    expect(raw(jobs[0]).equals(before)).to.equal(true);
    jobs.forEach((job, i) => (i === 0 ? job.failSeal(new Error('x')) : job.completeSeal(w.i32[bases[i] + E_RESULT])));
  });

  it('writes nothing into a job that main abandoned while its codec ran', () => {
    const jobs = heldBatches('gzip').slice(0, 1);
    const job = jobs[0];
    const before = Buffer.from(job.bytes.subarray(job.byteOffset, job.byteOffset + job.capacityBytes));
    // Abandon as the codec starts: the thread's CAS to REPLACING must fail.
    const w = new RingWriter();
    const { port1, port2 } = new MessageChannel();
    port1.postMessage({ id: nextId, buffer: job.memory });
    const base = w.tryBeginPublish();
    writeJob(w, base, nextId++, job, job.sealSpec());
    job.bytes[job.byteOffset + MAGIC_OFFSET] = 0;
    before[MAGIC_OFFSET] = 0;
    w.commitPublish(base);
    w.stop();
    // Main's timeout, at the worst moment: right after the thread's QUEUED → COMPRESSING CAS
    // (the test wraps Atomics.compareExchange to abandon there, as main's watchdog would).
    const i32 = w.i32;
    const originalCas = Atomics.compareExchange;
    (Atomics as { compareExchange: typeof Atomics.compareExchange }).compareExchange = ((a: Int32Array, idx: number, expected: number, value: number) => {
      const got = originalCas(a as never, idx, expected as never, value as never) as unknown as number;
      if (a.buffer === w.buffer && idx === base && value === JobState.COMPRESSING && got === JobState.QUEUED) originalCas(i32, base, JobState.COMPRESSING, JobState.ABANDONED);
      return got;
    }) as typeof Atomics.compareExchange;
    try {
      runLane({ lane: w.buffer, signal: new SharedArrayBuffer(SIGNAL_BYTES), buffers: port2 });
    } finally {
      (Atomics as { compareExchange: typeof Atomics.compareExchange }).compareExchange = originalCas;
      port1.close();
    }
    expect(w.stateOf(base)).to.equal(JobState.ABANDONED);
    expect(Buffer.from(job.bytes.subarray(job.byteOffset, job.byteOffset + job.capacityBytes)).equals(before), 'slot untouched').to.equal(true);
    job.failSeal(new Error('abandoned'));
  });
});
