/**
 * Test factories: an accumulator on a manual clock with small, explicit defaults, a cluster,
 * and a "broker" that completes drained batches the way the sender will (in flight → done →
 * release), assigning offsets per partition in the order batches arrive.
 */
import { ManualClock } from '../../packages/core/src/clock.js';
import { Cluster } from '../../packages/core/src/cluster/cluster.js';
import type { RecordAccumulatorOptions } from '../../packages/core/src/accumulator/record-accumulator.js';
import { RecordAccumulator } from '../../packages/core/src/accumulator/record-accumulator.js';
import type { ProducerBatch } from '../../packages/core/src/accumulator/producer-batch.js';
import type { ProducerConfigInput } from '../../packages/core/src/config.js';

export interface TestAccumulator {
  acc: RecordAccumulator;
  clock: ManualClock;
  cluster: Cluster;
}

/** An accumulator with 1 KiB batches, 64 KiB of memory, linger 10 ms, on a manual clock. */
export function makeAccumulator(config: ProducerConfigInput = {}, options: Omit<RecordAccumulatorOptions, 'config' | 'clock'> = {}): TestAccumulator {
  const clock = new ManualClock();
  const acc = new RecordAccumulator({
    config: { batchSize: 1024, bufferMemory: 64 * 1024, lingerMs: 10, maxBlockMs: 0, ...config },
    clock,
    ...options,
  });
  const cluster = new Cluster({ t: [0, 1, 2, 0], u: [1, 1] });
  return { acc, clock, cluster };
}

/** A deterministic value of `size` bytes derived from `seed`. */
export function bytesOf(size: number, seed = 1): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (seed * 31 + i * 7) & 0xff;
  return b;
}

/** Per-partition offsets a fake broker hands out. */
export class OffsetAssigner {
  #next = new Map<string, number>();
  /** Completes `batch` successfully like a sender would, with the next offsets of its partition. */
  succeed(batch: ProducerBatch, nowMs: number): number {
    const key = `${batch.topic}-${batch.partition}`;
    const base = this.#next.get(key) ?? 0;
    this.#next.set(key, base + batch.recordCount);
    batch.markInFlight(nowMs);
    batch.done(base, -1, null);
    batch.releaseNetworkHold();
    return base;
  }
  /** Fails `batch` after sending it. */
  fail(batch: ProducerBatch, nowMs: number, error: Error): void {
    batch.markInFlight(nowMs);
    batch.done(-1, -1, error);
    batch.releaseNetworkHold();
  }
}

/** Drains everything sendable now from every node of `cluster`. */
export function drainAll(t: TestAccumulator, maxRequestSize = 1 << 20): ProducerBatch[] {
  const { readyNodes } = t.acc.ready(t.cluster, t.clock.nowMs());
  const out: ProducerBatch[] = [];
  for (const list of t.acc.drain(t.cluster, readyNodes, maxRequestSize, t.clock.nowMs()).values()) out.push(...list);
  return out;
}
