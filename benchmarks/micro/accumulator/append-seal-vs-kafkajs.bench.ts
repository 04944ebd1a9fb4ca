/**
 * The core issue's table: single-thread append + seal of 100-byte values with 16-byte keys
 * into 16 KiB batches (no compression, no per-record callback), in records/s and MB/s,
 * beside kafkajs's RecordBatch encoder building the same batches from the same records in
 * the same run, and the ratio. Target: >= 4 M records/s and >= 15x kafkajs.
 *
 * What each side does per 16 KiB batch:
 * - sluice/append+seal: `RecordAccumulator.append` for every record (the record is encoded
 *   straight into the pool slot), and when the batch is full `drain` (seals it inline:
 *   header + CRC32C) and completion (`done`, which returns the slot to the pool). This is
 *   the whole accumulator path, not just the writer.
 * - kafkajs/RecordBatch: kafkajs's producer path for one partition (`partitionsEncoder`:
 *   `Record` per message, then `RecordBatch`), from message objects built before timing —
 *   kafkajs takes `{ key, value, timestamp }` objects, and not charging it for building
 *   them makes the ratio conservative.
 * Beside them, the opt-in costs Sluice promises are zero when unused: the same append with
 * a per-record callback, and with a per-record promise.
 *
 * Before timing, one batch from each side is decoded and their records sections compared
 * byte for byte: both build the same batches.
 */
import { Cluster, RecordAccumulator } from '@sluice/core';
import type { ProducerBatch } from '@sluice/core';
import { RECORD_BATCH_OVERHEAD } from '@sluice/core/internal';
import { encodeKafkajsBatch, KAFKAJS_INSTALL_HINT, loadKafkajs } from '../../perf/peers/kafkajs-encoder.js';
import type { KafkajsMessage } from '../../perf/peers/kafkajs-encoder.js';
import { MB } from '../../perf/report.js';
import type { BenchSuite, SuiteOptions, SuiteResult } from '../bench-kit.js';
import { isMain, measure, runStandalone, seededBytes, UPPERCASE } from '../bench-kit.js';

const VALUE_BYTES = 100;
const KEY_BYTES = 16;
const BATCH_BYTES = 16 * 1024;
const POOL = 1024;
const TIMESTAMP_MS = 1_700_000_000_000;

/** Records, as both sides see them: a pool of distinct keys and values. */
function recordPool(): { keys: Buffer[]; values: Buffer[] } {
  const keys: Buffer[] = [];
  const values: Buffer[] = [];
  for (let i = 0; i < POOL; i++) {
    keys.push(seededBytes(KEY_BYTES, 1000 + i, UPPERCASE));
    values.push(seededBytes(VALUE_BYTES, 5000 + i, UPPERCASE));
  }
  return { keys, values };
}

/** A Sluice accumulator on one partition that seals inline and completes drained batches at once. */
class SluiceAppendSeal {
  readonly acc = new RecordAccumulator({ config: { batchSize: BATCH_BYTES, lingerMs: 60_000, deliveryTimeoutMs: 600_000, bufferMemory: 8 * 1024 * 1024 } });
  readonly cluster = new Cluster({ t: [0] });
  readonly tp = { topic: 't', partition: 0 };
  readonly nodes = [0];
  batches = 0;
  lastSealed: Buffer | null = null;
  keepLast = false;

  drainAndComplete(): void {
    const drained = this.acc.drain(this.cluster, this.nodes, 1 << 30, TIMESTAMP_MS);
    for (const list of drained.values()) {
      for (let i = 0; i < list.length; i++) this.#complete(list[i]);
    }
  }

  #complete(b: ProducerBatch): void {
    if (this.keepLast) this.lastSealed = Buffer.from(b.sealedBytes());
    b.markInFlight(TIMESTAMP_MS);
    b.done(0, -1, null);
    b.releaseNetworkHold();
    this.batches++;
  }
}

/** Records of one full 16 KiB batch on Sluice's side (the kafkajs side uses the same count). */
function recordsPerBatch(keys: Buffer[], values: Buffer[]): number {
  const s = new SluiceAppendSeal();
  let n = 0;
  for (;;) {
    const r = s.acc.append(s.tp, TIMESTAMP_MS, keys[n % POOL], values[n % POOL]);
    if (r instanceof Promise) throw new Error('unexpected memory wait');
    if (r.batchIsFull) return r.newBatchCreated ? n : n + 1;
    n++;
  }
}

/** Checks that both sides build the same records section for the same records. */
async function checkSameBatches(keys: Buffer[], values: Buffer[], perBatch: number): Promise<string> {
  const k = loadKafkajs();
  if (k === null) return 'kafkajs not installed';
  const s = new SluiceAppendSeal();
  s.keepLast = true;
  for (let i = 0; i < perBatch; i++) s.acc.append(s.tp, TIMESTAMP_MS, keys[i], values[i]);
  s.acc.beginFlush();
  s.drainAndComplete();
  const ours = s.lastSealed!;
  const msgs: KafkajsMessage[] = [];
  for (let i = 0; i < perBatch; i++) msgs.push({ key: keys[i], value: values[i], timestamp: TIMESTAMP_MS });
  const theirs = await encodeKafkajsBatch(k, msgs, 0);
  const a = ours.subarray(RECORD_BATCH_OVERHEAD);
  const b = theirs.subarray(RECORD_BATCH_OVERHEAD);
  if (!a.equals(b)) throw new Error(`sluice and kafkajs records sections differ (${a.length} vs ${b.length} bytes)`);
  return `records sections identical (${perBatch} records, ${ours.length} vs ${theirs.length} bytes per batch)`;
}

export const benchmark: BenchSuite = {
  area: 'accumulator/append-seal-vs-kafkajs',
  title: 'Core: append+seal vs kafkajs (100 B values, 16 B keys, 16 KiB batches, no compression, single thread)',
  async run(options: SuiteOptions): Promise<SuiteResult> {
    const { keys, values } = recordPool();
    const perBatch = recordsPerBatch(keys, values);
    const batchesPerIteration = options.quick ? 8 : 32;
    const recordsPerIteration = perBatch * batchesPerIteration;
    const check = await checkSameBatches(keys, values, perBatch);

    const plain = new SluiceAppendSeal();
    let cursor = 0;
    const sluiceTask = (): void => {
      const s = plain;
      const end = cursor + recordsPerIteration;
      for (let i = cursor; i < end; i++) {
        const r = s.acc.append(s.tp, TIMESTAMP_MS, keys[i & (POOL - 1)], values[i & (POOL - 1)]);
        if ((r as { batchIsFull: boolean }).batchIsFull) s.drainAndComplete();
      }
      cursor = end;
    };
    const withCallback = new SluiceAppendSeal();
    let completed = 0;
    const callback = (): void => {
      completed++;
    };
    let cursorCb = 0;
    const callbackTask = (): void => {
      const s = withCallback;
      const end = cursorCb + recordsPerIteration;
      for (let i = cursorCb; i < end; i++) {
        const r = s.acc.append(s.tp, TIMESTAMP_MS, keys[i & (POOL - 1)], values[i & (POOL - 1)], null, callback);
        if ((r as { batchIsFull: boolean }).batchIsFull) s.drainAndComplete();
      }
      cursorCb = end;
    };
    const withPromise = new SluiceAppendSeal();
    let cursorP = 0;
    const promiseTask = (): void => {
      const s = withPromise;
      const end = cursorP + recordsPerIteration;
      for (let i = cursorP; i < end; i++) {
        const r = s.acc.append(s.tp, TIMESTAMP_MS, keys[i & (POOL - 1)], values[i & (POOL - 1)], null, 'promise');
        if ((r as { batchIsFull: boolean }).batchIsFull) s.drainAndComplete();
      }
      cursorP = end;
    };

    const k = loadKafkajs();
    // kafkajs's input: message objects per batch, built once.
    const kafkajsBatches: KafkajsMessage[][] = [];
    for (let b = 0; b < batchesPerIteration; b++) {
      const msgs: KafkajsMessage[] = [];
      for (let i = 0; i < perBatch; i++) {
        const j = (b * perBatch + i) & (POOL - 1);
        msgs.push({ key: keys[j], value: values[j], timestamp: TIMESTAMP_MS });
      }
      kafkajsBatches.push(msgs);
    }
    let sink = 0;
    const kafkajsTask = async (): Promise<void> => {
      for (let b = 0; b < kafkajsBatches.length; b++) sink += (await encodeKafkajsBatch(k!, kafkajsBatches[b], 0)).length;
    };

    const tasks = [
      { name: 'sluice/append+seal', fn: sluiceTask, itemsPerIteration: recordsPerIteration },
      { name: 'sluice/append+seal+callback', fn: callbackTask, itemsPerIteration: recordsPerIteration },
      { name: "sluice/append+seal+'promise'", fn: promiseTask, itemsPerIteration: recordsPerIteration },
    ];
    if (k !== null) tasks.push({ name: 'kafkajs/RecordBatch', fn: kafkajsTask as unknown as () => void, itemsPerIteration: recordsPerIteration });
    const stats = await measure(tasks, options);
    if (sink < 0 || completed < 0) throw new Error('unreachable');

    const bytesPerRecord = KEY_BYTES + VALUE_BYTES;
    const kafkajsRate = stats.find((s) => s.name === 'kafkajs/RecordBatch')?.itemsPerSec ?? NaN;
    const table: (string | number)[][] = [['task', 'records/s', 'MB/s (key+value)', '± %', 'vs kafkajs']];
    const json: Record<string, unknown>[] = [];
    for (const s of stats) {
      const ratio = s.itemsPerSec / kafkajsRate;
      table.push([s.name, Math.round(s.itemsPerSec), (s.itemsPerSec * bytesPerRecord) / MB, s.rmePercent, Number.isFinite(ratio) ? `${ratio.toFixed(2)}x` : '-']);
      json.push({ task: s.name, recordsPerSec: Math.round(s.itemsPerSec), mbPerSec: (s.itemsPerSec * bytesPerRecord) / MB, rmePercent: s.rmePercent, ratioVsKafkajs: ratio });
    }
    const sluiceRate = stats[0].itemsPerSec;
    const notes = [
      `${perBatch} records per 16 KiB batch; ${recordsPerIteration} records per timed iteration; ${check}.`,
      k === null
        ? `kafkajs peer skipped: kafkajs is not installed (${KAFKAJS_INSTALL_HINT}).`
        : `kafkajs ${k.version}. Targets: >= 4,000,000 records/s (${sluiceRate >= 4e6 ? 'met' : 'NOT met'} here) and >= 15x kafkajs (${sluiceRate / kafkajsRate >= 15 ? 'met' : 'NOT met'} here: ${(sluiceRate / kafkajsRate).toFixed(1)}x).`,
    ];
    return { area: this.area, title: this.title, table, notes, json };
  },
};

if (isMain(import.meta.url)) await runStandalone(benchmark);
