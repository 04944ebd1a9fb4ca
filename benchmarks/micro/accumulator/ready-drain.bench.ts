/**
 * `ready` + `drain` with 1k, 10k and 100k partitions and 10, 100 and 1,000 ready batches.
 * The claim under test (DESIGN.md §4, record-accumulator.ts "Key insight"): the cost grows
 * with the batches that are ready, not with the partitions that exist.
 *
 * Set-up per cell: one topic of P partitions led by 3 nodes; every partition has been
 * produced to once (its queue exists, as in a long-running producer) and is empty again;
 * then R partitions, spread evenly, each get one full batch. The timed call is one
 * `ready(cluster, now)` followed by one `drain(cluster, readyNodes, maxRequestSize, now)`
 * that takes all R batches. Between iterations (untimed) the drained batches are completed
 * and R new full batches are appended. Batches are sealed when they fill (untimed), so the
 * figure is the ready-set and drain bookkeeping; sealing is `sealing/seal-batch`.
 *
 * Beside it, the rejected alternative: Kafka's algorithm, which scans every partition's
 * queue on each `ready` (RecordAccumulator.ready → partitionReady for each entry of
 * `batches`) — reproduced here as a scan over P queue objects that finds the same R.
 */
import { Cluster, InlineSealer, RecordAccumulator } from '@sluice/core';
import type { ProducerBatch, Sealer, SealJob } from '@sluice/core';
import type { BenchSuite, SuiteOptions, SuiteResult, TaskSpec } from '../bench-kit.js';
import { formatNs, isMain, measure, runStandalone } from '../bench-kit.js';

const NODES = 3;
const NOW_MS = 1_700_000_000_000;
/**
 * Small batches: the ready/drain bookkeeping does not depend on the batch size, and the
 * untimed refill between iterations (copy + CRC32C of every full batch) is 16x cheaper
 * than with 16 KiB batches, so the suite runs in seconds, not minutes.
 */
const BATCH_BYTES = 1024;
// Fits a pooled 1 KiB slot (upper-bound estimate < 1024) and fills it: the batch closes as full.
const FULL_VALUE = Buffer.alloc(900, 0x61);
const TINY = Buffer.from('x');
/** Partitions touched per round while building a scenario. */
const TOUCH_CHUNK = 256;

/**
 * Seals as soon as a batch is full (in the untimed refill), so the timed drain measures the
 * ready-set and drain bookkeeping, not CRC32C over 16 KiB (that is `sealing/seal-batch`).
 */
class EagerInlineSealer implements Sealer {
  readonly eager = true;
  readonly #inline = new InlineSealer();
  seal(job: SealJob): void {
    this.#inline.seal(job);
  }
  async close(): Promise<void> {}
}

/** An accumulator with P known-but-empty partitions and R full batches on demand. */
class Scenario {
  readonly acc: RecordAccumulator;
  readonly cluster: Cluster;
  readonly topic = 't';
  readonly readyPartitions: number[];
  drained: ProducerBatch[] = [];

  private constructor(
    readonly partitions: number,
    readonly ready: number,
  ) {
    const leaders: number[] = [];
    for (let p = 0; p < partitions; p++) leaders.push(p % NODES);
    this.cluster = new Cluster({ [this.topic]: leaders });
    this.acc = new RecordAccumulator({
      config: { batchSize: BATCH_BYTES, lingerMs: 60_000, deliveryTimeoutMs: 600_000, bufferMemory: (ready * 2 + TOUCH_CHUNK + 64) * BATCH_BYTES },
      sealer: new EagerInlineSealer(),
    });
    this.readyPartitions = [];
    for (let i = 0; i < ready; i++) this.readyPartitions.push(Math.floor((i * partitions) / ready));
  }

  /** Builds the scenario: every partition touched once (in chunks, so memory stays bounded) and emptied again. */
  static async create(partitions: number, ready: number): Promise<Scenario> {
    const s = new Scenario(partitions, ready);
    const all = [0, 1, 2];
    for (let start = 0; start < partitions; start += TOUCH_CHUNK) {
      const end = Math.min(partitions, start + TOUCH_CHUNK);
      for (let p = start; p < end; p++) s.acc.append({ topic: s.topic, partition: p }, NOW_MS, null, TINY);
      s.acc.beginFlush();
      while (s.acc.hasUndrained()) {
        for (const list of s.acc.drain(s.cluster, all, 1 << 30, NOW_MS).values()) for (const b of list) s.#complete(b);
      }
      await s.acc.awaitFlushCompletion();
    }
    if (s.acc.flushInProgress() || s.acc.hasIncomplete()) throw new Error('scenario set-up left work behind');
    return s;
  }

  #complete(b: ProducerBatch): void {
    b.markInFlight(NOW_MS);
    b.done(0, -1, null);
    b.releaseNetworkHold();
  }

  /** Untimed: completes what the last iteration drained and makes R new full batches. */
  refill(): void {
    for (const b of this.drained) this.#complete(b);
    this.drained = [];
    for (const p of this.readyPartitions) this.acc.append({ topic: this.topic, partition: p }, NOW_MS, null, FULL_VALUE);
  }

  /** Timed: one ready + one drain. */
  readyAndDrain(): void {
    const r = this.acc.ready(this.cluster, NOW_MS);
    const out = this.acc.drain(this.cluster, r.readyNodes, 1 << 30, NOW_MS);
    for (const list of out.values()) for (let i = 0; i < list.length; i++) this.drained.push(list[i]);
  }

  check(): void {
    this.refill();
    this.readyAndDrain();
    if (this.drained.length !== this.ready) throw new Error(`expected ${this.ready} drained batches, got ${this.drained.length}`);
  }
}

/** Kafka's shape: a queue per partition, every one visited on each ready. */
class KafkaStyleScan {
  readonly queues: { partition: number; leader: number; batches: { full: boolean }[] }[] = [];
  constructor(partitions: number, ready: number) {
    for (let p = 0; p < partitions; p++) this.queues.push({ partition: p, leader: p % NODES, batches: [] });
    for (let i = 0; i < ready; i++) this.queues[Math.floor((i * partitions) / ready)].batches.push({ full: true });
  }
  /** Kafka `ready`: every partition's head is checked. */
  ready(): Set<number> {
    const nodes = new Set<number>();
    const qs = this.queues;
    for (let i = 0; i < qs.length; i++) {
      const q = qs[i];
      const head = q.batches[0];
      if (head !== undefined && head.full) nodes.add(q.leader);
    }
    return nodes;
  }
}

export const benchmark: BenchSuite = {
  area: 'accumulator/ready-drain',
  title: 'ready + drain: cost vs partitions and ready batches (3 nodes, one full 1 KiB batch per ready partition)',
  async run(options: SuiteOptions): Promise<SuiteResult> {
    const partitionCounts = options.quick ? [1_000, 100_000] : [1_000, 10_000, 100_000];
    const readyCounts = options.quick ? [10, 1_000] : [10, 100, 1_000];
    const cells: { p: number; r: number; scenario: Scenario; scan: KafkaStyleScan }[] = [];
    for (const p of partitionCounts) {
      for (const r of readyCounts) {
        const scenario = await Scenario.create(p, r);
        scenario.check();
        cells.push({ p, r, scenario, scan: new KafkaStyleScan(p, r) });
      }
    }
    const tasks: TaskSpec[] = [];
    for (const c of cells) {
      tasks.push({
        name: `ready+drain/${c.p} partitions/${c.r} ready`,
        fn: () => c.scenario.readyAndDrain(),
        beforeEach: () => c.scenario.refill(),
      });
    }
    for (const c of cells) {
      let sink = 0;
      tasks.push({ name: `kafka-style ready scan/${c.p} partitions/${c.r} ready`, fn: () => (sink += c.scan.ready().size) });
    }
    // Every timed call needs an untimed refill several times its cost: a shorter budget
    // keeps the suite near a minute while each task still gets thousands of samples.
    const stats = await measure(tasks, options.quick ? options : { ...options, time: 400, warmupTime: 100 });
    const table: (string | number)[][] = [
      ['partitions', 'ready batches', 'sluice ready+drain', 'per ready batch', 'kafka-style ready scan alone', 'scan / sluice'],
    ];
    const json: Record<string, unknown>[] = [];
    cells.forEach((c, i) => {
      const ours = stats[i];
      const scan = stats[cells.length + i];
      table.push([c.p, c.r, formatNs(ours.meanNs), formatNs(ours.meanNs / c.r), formatNs(scan.meanNs), `${(scan.meanNs / ours.meanNs).toFixed(1)}x`]);
      json.push({ partitions: c.p, readyBatches: c.r, readyDrainNs: ours.meanNs, nsPerReadyBatch: ours.meanNs / c.r, kafkaStyleScanNs: scan.meanNs, rmePercent: ours.rmePercent });
    });
    // The claim, as numbers: for a fixed R, 100k partitions vs 1k partitions.
    const growth = readyCounts.map((r) => {
      const small = json.find((j) => j.partitions === 1_000 && j.readyBatches === r)!;
      const large = json.find((j) => j.partitions === 100_000 && j.readyBatches === r)!;
      return `${r} ready: 100k/1k partitions = ${((large.readyDrainNs as number) / (small.readyDrainNs as number)).toFixed(2)}x`;
    });
    return {
      area: this.area,
      title: this.title,
      table,
      notes: [
        `Cost vs partitions at a fixed number of ready batches (1.00x = independent of partitions): ${growth.join('; ')}.`,
        'The kafka-style column is only the scan Kafka does in ready() (no drain work), and it grows with the partitions.',
        'Ready partitions are spread evenly over all P. Where 100k costs more than 1k at 1,000 ready, it is memory locality, ' +
          'not work per partition: with the 1,000 ready partitions contiguous (0..999) a check run measured 430 µs at 100k ' +
          'partitions and 432 µs at 1k (spread: 673 µs vs 385 µs).',
      ],
      json,
    };
  },
};

if (isMain(import.meta.url)) await runStandalone(benchmark);
