/**
 * `sealBatch` per codec on a full 16 KiB batch of 100 B JSON-like values with 16 B keys
 * (field names repeat, field values are random: what LZ-family codecs meet in practice;
 * random uppercase letters alone — Kafka's perf-test alphabet — give snappy and lz4 nothing
 * to match): compress the records section, fall back to raw if not smaller, write the
 * header, CRC32C. One thread, in place.
 *
 * Beside each codec, kafkajs building the same batch from the same records with its
 * RecordBatch encoder and that codec (its built-in gzip; lz4, snappy and zstd as plug-ins
 * over the same native library Sluice uses) — kafkajs's cost includes encoding the records,
 * which Sluice paid at append time (see `accumulator/append`).
 * And the rejected alternative for `none`: the pure-JS CRC32C (slicing-by-8) instead of the
 * native binding that `crc32c` picks when one loads (`crc32cBinding` names it).
 */
import { codecFor, CompressionType, crc32cBinding } from '@sluice/core';
import type { Codec, CompressionName } from '@sluice/core';
import { ATTRIBUTES_OFFSET, RECORD_BATCH_OVERHEAD, sealBatch } from '@sluice/core/internal';
import { crc32cPure } from '../../../packages/core/src/format/crc32c.js';
import { sizeOfRecord, sizeOfRecordBody, writeRecord } from '../../../packages/core/src/format/record-writer.js';
import { encodeKafkajsBatch, ensureKafkajsCodec, KAFKAJS_INSTALL_HINT, loadKafkajs } from '../../perf/peers/kafkajs-encoder.js';
import type { KafkajsMessage } from '../../perf/peers/kafkajs-encoder.js';
import { MB } from '../../perf/report.js';
import type { BenchSuite, SuiteOptions, SuiteResult, TaskSpec } from '../bench-kit.js';
import { formatNs, isMain, measure, runStandalone, seededBytes, UPPERCASE } from '../bench-kit.js';

const BATCH_BYTES = 16 * 1024;
const TIMESTAMP_MS = 1_700_000_000_000;
const CODECS: CompressionName[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];
const LIBRARIES: Record<CompressionName, string> = { none: '', gzip: 'node:zlib', snappy: 'snappy', lz4: 'lz4-napi', zstd: 'zstd' };

interface Batch {
  buf: Buffer;
  view: DataView;
  recordsLength: number;
  recordCount: number;
  pristine: Buffer;
  messages: KafkajsMessage[];
}

/** Encodes records (offsetDelta i, timestampDelta 0) until the next would not fit 16 KiB. */
function buildBatch(): Batch {
  const buf = Buffer.alloc(BATCH_BYTES);
  let pos = RECORD_BATCH_OVERHEAD;
  const messages: KafkajsMessage[] = [];
  for (let i = 0; ; i++) {
    const key = seededBytes(16, 10 + i, UPPERCASE);
    const value = jsonValue(i);
    const body = sizeOfRecordBody(i, 0, key.length, value.length, 1);
    if (pos + sizeOfRecord(body) > BATCH_BYTES) break;
    pos = writeRecord(buf, pos, body, i, 0, key, key.length, value, value.length, null);
    messages.push({ key, value, timestamp: TIMESTAMP_MS });
  }
  const recordsLength = pos - RECORD_BATCH_OVERHEAD;
  return {
    buf,
    view: new DataView(buf.buffer, buf.byteOffset, buf.byteLength),
    recordsLength,
    recordCount: messages.length,
    pristine: Buffer.from(buf.subarray(RECORD_BATCH_OVERHEAD, pos)),
    messages,
  };
}

/** A 100-byte JSON-like value: repeated field names, random field values. */
function jsonValue(i: number): Buffer {
  const user = seededBytes(8, 300 + i, UPPERCASE).toString('latin1');
  const note = seededBytes(64, 7000 + i, UPPERCASE).toString('latin1');
  const text = `{"id":${100000 + i},"user":"${user}","ts":${TIMESTAMP_MS + i},"note":"${note}"}`;
  return Buffer.from(text.padEnd(100, ' ').slice(0, 100), 'latin1');
}

function seal(b: Batch, codec: Codec | null, level: number | undefined): number {
  return sealBatch(b.buf, b.view, 0, {
    recordsLength: b.recordsLength,
    recordCount: b.recordCount,
    baseTimestamp: TIMESTAMP_MS,
    maxTimestamp: TIMESTAMP_MS,
    codec,
    level,
    producerId: -1,
    producerEpoch: -1,
    baseSequence: -1,
    transactional: false,
  });
}

export const benchmark: BenchSuite = {
  area: 'sealing/seal-batch',
  title: 'seal a full 16 KiB batch per codec (in place, one thread), beside kafkajs encoding the same batch',
  async run(options: SuiteOptions): Promise<SuiteResult> {
    const k = loadKafkajs();
    const tasks: TaskSpec[] = [];
    const info: { codec: CompressionName; sealedBytes: number; task: string; peerTask: string | null; peerCodec: string }[] = [];
    for (const name of CODECS) {
      const b = buildBatch();
      const codec = codecFor(CompressionType[name]);
      const sealedBytes = seal(b, codec, undefined);
      b.pristine.copy(b.buf, RECORD_BATCH_OVERHEAD);
      const restore = codec === null ? undefined : () => void b.pristine.copy(b.buf, RECORD_BATCH_OVERHEAD);
      const task = `seal/${name}`;
      tasks.push({ name: task, fn: () => seal(b, codec, undefined), ...(restore === undefined ? {} : { beforeEach: restore }) });
      let peerTask: string | null = null;
      let peerCodec = '';
      if (k !== null) {
        peerCodec = ensureKafkajsCodec(k, CompressionType[name], codec, LIBRARIES[name]);
        peerTask = `kafkajs RecordBatch/${name}`;
        let sink = 0;
        const id = CompressionType[name];
        tasks.push({ name: peerTask, fn: async () => void (sink += (await encodeKafkajsBatch(k, b.messages, id)).length) });
      }
      info.push({ codec: name, sealedBytes, task, peerTask, peerCodec });
    }
    // Rejected alternative: the pure-JS CRC32C over what `none` checksums.
    const crcBatch = buildBatch();
    seal(crcBatch, null, undefined);
    const crcEnd = RECORD_BATCH_OVERHEAD + crcBatch.recordsLength;
    let crcSink = 0;
    tasks.push({ name: 'seal/none, pure-JS CRC32C (rejected)', fn: () => (crcSink ^= crcPureOver(crcBatch.buf, crcEnd)) });

    const stats = await measure(tasks, options);
    const byName = new Map(stats.map((s) => [s.name, s]));
    const uncompressed = buildBatch().recordsLength + RECORD_BATCH_OVERHEAD;
    const table: (string | number)[][] = [
      ['codec', 'sluice per batch', 'sluice MB/s (in)', 'sealed size', 'kafkajs per batch', 'kafkajs codec', 'sluice speed-up'],
    ];
    const json: Record<string, unknown>[] = [];
    for (const i of info) {
      const s = byName.get(i.task)!;
      const p = i.peerTask === null ? undefined : byName.get(i.peerTask);
      const mbps = (uncompressed * 1e9) / s.meanNs / MB;
      table.push([
        i.codec,
        formatNs(s.meanNs),
        mbps,
        `${i.sealedBytes} B (${((100 * i.sealedBytes) / uncompressed).toFixed(0)} %)`,
        p === undefined ? '-' : formatNs(p.meanNs),
        p === undefined ? '-' : i.peerCodec,
        p === undefined ? '-' : `${(p.meanNs / s.meanNs).toFixed(1)}x`,
      ]);
      json.push({ codec: i.codec, sealNs: s.meanNs, mbPerSec: mbps, sealedBytes: i.sealedBytes, uncompressedBytes: uncompressed, kafkajsNs: p?.meanNs ?? null, rmePercent: s.rmePercent });
    }
    const pure = byName.get('seal/none, pure-JS CRC32C (rejected)')!;
    const none = byName.get('seal/none')!;
    json.push({ codec: 'none (pure-JS CRC32C, rejected)', sealNs: pure.meanNs, crcSink });
    return {
      area: this.area,
      title: this.title,
      table,
      notes: [
        `${buildBatch().recordCount} records per batch, ${uncompressed} B uncompressed. crc32c binding in use: ${crc32cBinding}.`,
        `Rejected: pure-JS CRC32C over the same ${crcEnd - ATTRIBUTES_OFFSET} B takes ${formatNs(pure.meanNs)} vs ${formatNs(none.meanNs)} for the whole seal with the native one.`,
        k === null ? `kafkajs columns skipped: kafkajs is not installed (${KAFKAJS_INSTALL_HINT}).` : `kafkajs ${k.version}: its time includes encoding the records (Record + RecordBatch), which Sluice did at append.`,
      ],
      json,
    };
  },
};

function crcPureOver(buf: Buffer, end: number): number {
  return crc32cPure(buf.subarray(ATTRIBUTES_OFFSET, end));
}

if (isMain(import.meta.url)) await runStandalone(benchmark);
