/**
 * Sizing and encoding one v2 record into a buffer (`sizeOfRecordBody` + `writeRecord`),
 * with 16 B keys and 10 B / 100 B / 1 KiB values, as bytes and as strings (UTF-8 written
 * straight into the buffer), beside kafkajs's record encoder (`recordBatch/record/v0`: one
 * Encoder object per record, Long-based varlong sizing) on the same records.
 *
 * Each iteration writes a 16 KiB batch's worth of records into the same buffer (from the
 * 61-byte header gap on), so nothing is allocated on Sluice's side.
 */
import { RECORD_BATCH_OVERHEAD } from '@sluice/core/internal';
import { sizeOfRecord, sizeOfRecordBody, writeRecord } from '../../../packages/core/src/format/record-writer.js';
import { KAFKAJS_INSTALL_HINT, loadKafkajs } from '../../perf/peers/kafkajs-encoder.js';
import type { BenchSuite, SuiteOptions, SuiteResult, TaskSpec } from '../bench-kit.js';
import { isMain, measure, runStandalone, seededBytes, UPPERCASE } from '../bench-kit.js';

const KEY_BYTES = 16;
const BUFFER_BYTES = 16 * 1024;
const POOL = 64;

export const benchmark: BenchSuite = {
  area: 'format/record-writer',
  title: 'encode one record (size + write) vs kafkajs Record encoder, 16 B keys',
  async run(options: SuiteOptions): Promise<SuiteResult> {
    const k = loadKafkajs();
    const sizes = [10, 100, 1000];
    const tasks: (TaskSpec & { valueBytes: number; side: string; form: string })[] = [];
    const out = Buffer.alloc(BUFFER_BYTES);
    let sink = 0;
    for (const size of sizes) {
      const keys: Buffer[] = [];
      const values: Buffer[] = [];
      for (let i = 0; i < POOL; i++) {
        keys.push(seededBytes(KEY_BYTES, 40 + i, UPPERCASE));
        values.push(seededBytes(size, 800 + i, UPPERCASE));
      }
      const strings = values.map((v) => v.toString('latin1'));
      const perIteration = Math.floor((BUFFER_BYTES - RECORD_BATCH_OVERHEAD) / (size + KEY_BYTES + 8));
      const writeAll = (vals: (Buffer | string)[]): void => {
        let pos = RECORD_BATCH_OVERHEAD;
        for (let i = 0; i < perIteration; i++) {
          const key = keys[i & (POOL - 1)];
          const value = vals[i & (POOL - 1)];
          const valueLength = typeof value === 'string' ? Buffer.byteLength(value, 'utf8') : value.length;
          const body = sizeOfRecordBody(i, i, key.length, valueLength, 1);
          if (pos + sizeOfRecord(body) > BUFFER_BYTES) pos = RECORD_BATCH_OVERHEAD;
          pos = writeRecord(out, pos, body, i, i, key, key.length, value, valueLength, null);
        }
        sink += pos;
      };
      tasks.push({ name: `record-writer/${size}B bytes`, fn: () => writeAll(values), itemsPerIteration: perIteration, valueBytes: size, side: 'sluice', form: 'bytes' });
      tasks.push({ name: `record-writer/${size}B string`, fn: () => writeAll(strings), itemsPerIteration: perIteration, valueBytes: size, side: 'sluice', form: 'string' });
      if (k !== null) {
        tasks.push({
          name: `kafkajs Record/${size}B bytes`,
          fn: () => {
            for (let i = 0; i < perIteration; i++) {
              sink += k.Record({ offsetDelta: i, timestampDelta: i, key: keys[i & (POOL - 1)], value: values[i & (POOL - 1)] }).buffer.length;
            }
          },
          itemsPerIteration: perIteration,
          valueBytes: size,
          side: 'kafkajs',
          form: 'bytes',
        });
      }
    }
    const stats = await measure(tasks, options);
    if (sink < 0) throw new Error('unreachable');
    const table: (string | number)[][] = [['value size', 'sluice bytes: records/s', 'sluice string: records/s', 'kafkajs: records/s', 'sluice bytes vs kafkajs']];
    const json: Record<string, unknown>[] = [];
    for (const size of sizes) {
      const rate = (side: string, form: string): number => {
        const i = tasks.findIndex((t) => t.valueBytes === size && t.side === side && t.form === form);
        return i < 0 ? NaN : stats[i].itemsPerSec;
      };
      const bytes = rate('sluice', 'bytes');
      const str = rate('sluice', 'string');
      const kj = rate('kafkajs', 'bytes');
      table.push([`${size} B`, Math.round(bytes), Math.round(str), Number.isNaN(kj) ? NaN : Math.round(kj), Number.isNaN(kj) ? '-' : `${(bytes / kj).toFixed(1)}x`]);
      json.push({ valueBytes: size, sluiceBytesRecordsPerSec: bytes, sluiceStringRecordsPerSec: str, kafkajsRecordsPerSec: kj });
    }
    return {
      area: this.area,
      title: this.title,
      table,
      notes: [k === null ? `kafkajs column skipped: kafkajs is not installed (${KAFKAJS_INSTALL_HINT}).` : `kafkajs ${k.version}.`],
      json,
    };
  },
};

if (isMain(import.meta.url)) await runStandalone(benchmark);
