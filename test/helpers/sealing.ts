/**
 * Sealing test helpers: drain everything, verify batches with kafkajs, complete them, and
 * sealers that hold or record jobs.
 */
import { expect } from 'chai';
import type { ProducerBatch } from '../../packages/core/src/accumulator/producer-batch.js';
import type { SealJob, Sealer } from '../../packages/core/src/sealing/sealer.js';
import { OffsetAssigner } from './accumulator-factory.js';
import type { TestAccumulator } from './accumulator-factory.js';
import { decodeWithKafkajs } from './kafka-oracle.js';
import type { OracleBatch } from './kafka-oracle.js';

/** Makes every batch sendable and drains until nothing is queued. */
export function drainEverything(t: TestAccumulator): ProducerBatch[] {
  t.acc.beginFlush();
  const out: ProducerBatch[] = [];
  while (t.acc.hasUndrained()) {
    const { readyNodes } = t.acc.ready(t.cluster, t.clock.nowMs());
    for (const list of t.acc.drain(t.cluster, readyNodes, 1 << 30, t.clock.nowMs()).values()) out.push(...list);
  }
  return out;
}

/** Awaits each batch's seal, checks it with kafkajs (CRC, count, offsets) and returns the decodes. */
export async function sealedAndDecoded(batches: readonly ProducerBatch[]): Promise<OracleBatch[]> {
  const out: OracleBatch[] = [];
  for (const b of batches) {
    await b.whenSealed();
    expect(b.isSealed, `batch ${b.topic}-${b.partition} sealed (error: ${b.finalError?.message})`).to.equal(true);
    const d = await decodeWithKafkajs(b.sealedBytes());
    expect(d.crcOk, 'CRC32C').to.equal(true);
    expect(d.records).to.have.length(b.recordCount);
    out.push(d);
  }
  return out;
}

/** Completes every sealed, not yet final batch successfully (as a sender would). */
export function completeSealed(batches: readonly ProducerBatch[], t: TestAccumulator, offsets = new OffsetAssigner()): void {
  for (const b of batches) if (!b.isDone && b.isSealed) offsets.succeed(b, t.clock.nowMs());
}

/** Wraps a sealer to record the order in which seals start and complete. */
export class RecordingSealer implements Sealer {
  readonly started: SealJob[] = [];
  readonly completed: SealJob[] = [];
  readonly #inner: Sealer;
  constructor(inner: Sealer) {
    this.#inner = inner;
  }
  get eager(): boolean {
    return this.#inner.eager;
  }
  seal(job: SealJob): void {
    this.started.push(job);
    this.#inner.seal({
      memory: job.memory,
      bytes: job.bytes,
      view: job.view,
      byteOffset: job.byteOffset,
      capacityBytes: job.capacityBytes,
      sealSpec: () => job.sealSpec(),
      completeSeal: (size) => {
        this.completed.push(job);
        job.completeSeal(size);
      },
      failSeal: (error) => {
        this.completed.push(job);
        job.failSeal(error);
      },
    });
  }
  close(): Promise<void> {
    return this.#inner.close();
  }
}

/** A sealer that only collects jobs (the test seals them itself). */
export class HoldingSealer implements Sealer {
  readonly eager = false;
  readonly jobs: SealJob[] = [];
  seal(job: SealJob): void {
    this.jobs.push(job);
  }
  async close(): Promise<void> {}
}
