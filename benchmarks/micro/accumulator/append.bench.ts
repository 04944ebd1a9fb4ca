/**
 * `RecordAccumulator.append` per record size: 10 B, 100 B, 1 KiB and 10 KiB values with
 * 16 B keys into 16 KiB batches, one partition, no compression, on one thread. Each timed
 * iteration appends a fixed number of records; a batch that fills is drained (sealed
 * inline) and completed at once, so the figure is the steady-state cost of the append path
 * including its share of sealing and returning memory — what a producer thread pays per
 * record before the network.
 *
 * Beside the chosen path (bytes in, no completion), the alternatives a caller may pick:
 * string values (UTF-8 encoded straight into the slot) and a per-record callback.
 */
import { Cluster, RecordAccumulator } from '@sluice/core';
import type { RecordCompletionRequest } from '@sluice/core';
import { MB } from '../../perf/report.js';
import type { BenchSuite, SuiteOptions, SuiteResult, TaskSpec } from '../bench-kit.js';
import { isMain, measure, runStandalone, seededBytes, UPPERCASE } from '../bench-kit.js';

const KEY_BYTES = 16;
const POOL = 256;
const NOW_MS = 1_700_000_000_000;

interface Variant {
  name: string;
  valueBytes: number;
  strings: boolean;
  completion: RecordCompletionRequest;
}

function makeTask(v: Variant, bytesPerIteration: number): TaskSpec & { bytesPerRecord: number } {
  const acc = new RecordAccumulator({ config: { batchSize: 16384, lingerMs: 60_000, deliveryTimeoutMs: 600_000, bufferMemory: 16 * 1024 * 1024 } });
  const cluster = new Cluster({ t: [0] });
  const tp = { topic: 't', partition: 0 };
  const nodes = [0];
  const keys: Buffer[] = [];
  const values: (Buffer | string)[] = [];
  for (let i = 0; i < POOL; i++) {
    keys.push(seededBytes(KEY_BYTES, 100 + i, UPPERCASE));
    const value = seededBytes(v.valueBytes, 900 + i, UPPERCASE);
    values.push(v.strings ? value.toString('latin1') : value);
  }
  const records = Math.max(4, Math.round(bytesPerIteration / (v.valueBytes + KEY_BYTES)));
  const completion = v.completion;
  let cursor = 0;
  const fn = (): void => {
    const end = cursor + records;
    for (let i = cursor; i < end; i++) {
      const r = acc.append(tp, NOW_MS, keys[i & (POOL - 1)], values[i & (POOL - 1)], null, completion);
      if ((r as { batchIsFull: boolean }).batchIsFull) {
        for (const list of acc.drain(cluster, nodes, 1 << 30, NOW_MS).values()) {
          for (const b of list) {
            b.markInFlight(NOW_MS);
            b.done(0, -1, null);
            b.releaseNetworkHold();
          }
        }
      }
    }
    cursor = end;
  };
  return { name: v.name, fn, itemsPerIteration: records, bytesPerRecord: v.valueBytes + KEY_BYTES };
}

export const benchmark: BenchSuite = {
  area: 'accumulator/append',
  title: 'append per record size (16 B keys, 16 KiB batches, one partition, drained + sealed + completed when full)',
  async run(options: SuiteOptions): Promise<SuiteResult> {
    const sizes = options.quick ? [10, 100, 1000] : [10, 100, 1000, 10_000];
    const noop = (): void => {};
    const variants: Variant[] = [];
    for (const s of sizes) variants.push({ name: `append/${s}B`, valueBytes: s, strings: false, completion: null });
    variants.push({ name: 'append/100B string value', valueBytes: 100, strings: true, completion: null });
    variants.push({ name: 'append/100B +callback', valueBytes: 100, strings: false, completion: noop });
    const tasks = variants.map((v) => makeTask(v, options.quick ? 64 * 1024 : 256 * 1024));
    const stats = await measure(tasks, options);
    const table: (string | number)[][] = [['task', 'records/s', 'MB/s (key+value)', 'ns/record', '± %']];
    const json: Record<string, unknown>[] = [];
    stats.forEach((s, i) => {
      const mbps = (s.itemsPerSec * tasks[i].bytesPerRecord) / MB;
      table.push([s.name, Math.round(s.itemsPerSec), mbps, 1e9 / s.itemsPerSec, s.rmePercent]);
      json.push({ task: s.name, recordsPerSec: Math.round(s.itemsPerSec), mbPerSec: mbps, nsPerRecord: 1e9 / s.itemsPerSec, rmePercent: s.rmePercent });
    });
    return {
      area: this.area,
      title: this.title,
      table,
      notes: [
        'ns/record includes the record\'s share of the per-batch work (new batch and slot, drain, seal, completion, slot freed): ' +
          '~600 records share it at 10 B, ~130 at 100 B, ~16 at 1 KiB, 1 at 10 KiB.',
      ],
      json,
    };
  },
};

if (isMain(import.meta.url)) await runStandalone(benchmark);
