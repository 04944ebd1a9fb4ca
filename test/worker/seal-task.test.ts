/**
 * The piscina task run in-process: it seals a group in place, marks progress in the header
 * gap, and isolates one batch's failure from the others.
 */
import { expect } from 'chai';
import type { ProducerBatch } from '../../packages/core/src/accumulator/producer-batch.js';
import { MAGIC_OFFSET, MAGIC_V2 } from '../../packages/core/src/format/record-batch-layout.js';
import type { SealJob } from '../../packages/core/src/sealing/sealer.js';
import sealTask from '../../packages/worker/src/seal-task.js';
import {
  BATCH_FIELDS,
  CODEC_ID,
  SEAL_FAILED_RETRYABLE,
  SEAL_MARK_PENDING,
  SealFault,
  writeSealFields,
} from '../../packages/worker/src/seal-messages.js';
import type { SealTaskMessage } from '../../packages/worker/src/seal-messages.js';
import { makeAccumulator } from '../helpers/accumulator-factory.js';
import { decodeWithKafkajs } from '../helpers/kafka-oracle.js';
import { jsonValue } from '../helpers/sample-values.js';
import { HoldingSealer, drainEverything } from '../helpers/sealing.js';

/** Batches filled by an accumulator whose sealer only collects them. */
function heldBatches(compressionType: string): { jobs: SealJob[]; batches: ProducerBatch[] } {
  const sealer = new HoldingSealer();
  const t = makeAccumulator({ compressionType, bufferMemory: 256 * 1024 }, { sealer });
  for (let i = 0; i < 40; i++) t.acc.append({ topic: 't', partition: i % 2 }, t.clock.nowMs() + i, null, jsonValue(i, 120), null);
  const big = Buffer.concat(Array.from({ length: 30 }, (_, i) => jsonValue(i, 100)));
  t.acc.append({ topic: 'u', partition: 0 }, t.clock.nowMs(), null, big, null);
  const batches = drainEverything(t);
  return { jobs: sealer.jobs, batches };
}

/** View-cache ids: unique per buffer, as the WorkerSealer's are. */
let nextId = 1_000_000;

function message(jobs: SealJob[], overrides: (i: number, f: Float64Array, at: number) => void = () => {}): SealTaskMessage {
  const buffers: SharedArrayBuffer[] = [];
  const fields = new Float64Array(jobs.length * BATCH_FIELDS);
  jobs.forEach((job, i) => {
    let bi = buffers.indexOf(job.memory);
    if (bi < 0) bi = buffers.push(job.memory) - 1;
    writeSealFields(fields, i, bi, job, job.sealSpec());
    const f = i * BATCH_FIELDS;
    job.bytes[job.byteOffset + MAGIC_OFFSET] = SEAL_MARK_PENDING;
    overrides(i, fields, f);
  });
  return { buffers, bufferIds: Int32Array.from(buffers.map(() => nextId++)), batches: fields, fault: SealFault.NONE, faultBatch: 0 };
}

describe('sealTask', () => {
  it('seals a group spanning the pool buffer and a non-pooled buffer in place; kafkajs decodes every batch', async () => {
    const { jobs } = heldBatches('zstd');
    expect(new Set(jobs.map((j) => j.memory)).size, 'two SharedArrayBuffers').to.equal(2);
    const result = sealTask(message(jobs));
    expect(result.errors).to.equal(null);
    expect(result.busyNs).to.be.greaterThan(0);
    for (let i = 0; i < jobs.length; i++) {
      const job = jobs[i];
      expect(result.sizes[i]).to.be.greaterThan(61);
      expect(job.view.getInt8(job.byteOffset + MAGIC_OFFSET)).to.equal(MAGIC_V2);
      job.completeSeal(result.sizes[i]);
      const d = await decodeWithKafkajs((job as ProducerBatch).sealedBytes());
      expect(d.crcOk).to.equal(true);
      expect(d.records.length).to.equal(job.sealSpec().recordCount);
    }
  });

  it("fails only the batch whose codec is unknown, as retryable, and resets its mark", () => {
    const { jobs } = heldBatches('gzip');
    const result = sealTask(message(jobs, (i, f, at) => i === 1 && (f[at + CODEC_ID] = 6)));
    expect(result.sizes[1]).to.equal(SEAL_FAILED_RETRYABLE);
    expect(result.errors![1]).to.match(/no codec for compression id 6/);
    expect(jobs[1].view.getInt8(jobs[1].byteOffset + MAGIC_OFFSET)).to.equal(SEAL_MARK_PENDING);
    for (let i = 0; i < jobs.length; i++) if (i !== 1) expect(result.sizes[i], `batch ${i}`).to.be.greaterThan(61);
    jobs.forEach((job, i) => (i === 1 ? job.failSeal(new Error(result.errors![1])) : job.completeSeal(result.sizes[i])));
  });

  it('reports a codec that throws as retryable with the raw records intact', () => {
    const { jobs } = heldBatches('lz4');
    const before = Buffer.from(jobs[0].bytes.subarray(jobs[0].byteOffset + 61, jobs[0].byteOffset + 61 + jobs[0].sealSpec().recordsLength));
    const msg = message(jobs);
    msg.fault = SealFault.THROW_IN_CODEC;
    const result = sealTask(msg);
    expect(result.sizes[0]).to.equal(SEAL_FAILED_RETRYABLE);
    expect(result.errors![0]).to.match(/injected fault: codec threw/);
    const after = jobs[0].bytes.subarray(jobs[0].byteOffset + 61, jobs[0].byteOffset + 61 + jobs[0].sealSpec().recordsLength);
    expect(Buffer.from(after).equals(before)).to.equal(true);
    jobs.forEach((job, i) => (i === 0 ? job.failSeal(new Error('x')) : job.completeSeal(result.sizes[i])));
  });
});
