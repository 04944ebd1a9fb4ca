/**
 * The broker's own intake ceiling on this machine: how many records/s a Kafka broker (or
 * librdkafka's mock) takes when a client does nothing but send pre-built Produce requests as
 * fast as the broker answers them. No producer runs: every batch is encoded and sealed once,
 * before timing, with Sluice's own format code (writeRecord + sealBatch, the codecs) and
 * framed with its protocol code (request-header + produce.ts); the timed loop only copies a
 * ~60-byte framing chunk per request to set its correlation id and writes the same sealed
 * batches again. That is the fastest any producer could go against this broker, with the same
 * request shape Sluice sends (one batch of `--batch-size` bytes per partition per request, up
 * to `--in-flight` requests in flight on each of `--connections` connections).
 *
 * Batches are not idempotent (producer id -1), so the same bytes can be sent again and again
 * (an idempotent broker would reject a repeated sequence).
 *
 * It also says where a producer's time goes per request, measured apart:
 *   - encode: `encodeProduceRequest` for the request (framing only; batches are views);
 *   - seal: writing the records and sealing the batches of one request (per codec);
 *   - socket: this process's CPU per request while the loop runs (writev, reading answers);
 *   - broker: the broker JVM's CPU per request (from /proc/<pid>/stat of the broker whose
 *     server.properties is given with --broker-properties; Linux only).
 *
 * Usage:
 *   node --conditions=source --import tsx benchmarks/broker-intake.ts --bootstrap-server H:P \
 *     --topic intake --partitions 6 --codec none --seconds 5 [--connections 1] [--in-flight 5] \
 *     [--payload-kind letters|json] [--key-size 16] [--record-size 100] [--batch-size 16384] \
 *     [--acks -1] [--produce-version N] [--broker-properties PATH] [--json]
 */
import { readdirSync, readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { CompressionType, codecFor } from '@sluice/core';
import { sealBatch } from '../packages/core/src/sealing/seal-batch.js';
import { sizeOfRecord, sizeOfRecordBody, writeRecord } from '../packages/core/src/format/record-writer.js';
import { RECORD_BATCH_OVERHEAD } from '../packages/core/src/format/record-batch-layout.js';
import { encodeProduceRequest, decodeProduceResponse } from '../packages/core/src/protocol/messages/produce.js';
import { encodeApiVersionsRequest, decodeApiVersionsResponseWithFallback } from '../packages/core/src/protocol/messages/api-versions.js';
import { decodeResponseHeader, responseHeaderVersion } from '../packages/core/src/protocol/request-header.js';
import { ApiKey, SUPPORTED_VERSIONS } from '../packages/core/src/protocol/api-keys.js';
import { FrameDecoder } from '../packages/core/src/protocol/primitives/frame-decoder.js';
import { sendCreateTopics, fetchMetadata, parseAddress } from '../test/brokers/kafka-admin.js';
import { mulberry32 } from './perf/workload.js';
import { jsonLikeValues } from './perf/json-like-values.js';

/** Options of one intake measurement. */
export interface IntakeOptions {
  bootstrap: string;
  topic: string;
  partitions: number;
  codec: 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';
  payloadKind: 'letters' | 'json';
  recordSize: number;
  keySize: number;
  batchSize: number;
  acks: number;
  connections: number;
  inFlight: number;
  seconds: number;
  /** Produce version to send; null = the highest both sides speak. */
  produceVersion: number | null;
  /** server.properties of the broker node, to find its JVM for CPU accounting. */
  brokerProperties: string | null;
}

/** What one measurement found. */
export interface IntakeResult {
  options: IntakeOptions;
  produceVersion: number;
  recordsPerSec: number;
  /** Key + value bytes of the records the broker took, per second (MiB). */
  rawMbPerSec: number;
  /** Bytes on the wire (sealed batches + framing), per second (MiB). */
  wireMbPerSec: number;
  requestsPerSec: number;
  recordsPerRequest: number;
  requestBytes: number;
  requestLatencyMs: { avg: number; p50: number; p99: number };
  /** Microseconds per request, measured apart (see the file comment). */
  perRequestUs: { encode: number; seal: number; clientCpu: number; brokerCpu: number | null };
  errors: number;
  firstError: string | null;
}

const CLIENT_ID = 'sluice-broker-intake';

function randomLetters(n: number, next: () => number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = 65 + (next() % 26);
  return b;
}

/** One sealed batch per partition, `batchSize` bytes of raw records each (or up to it). */
function buildBatches(o: IntakeOptions): { batches: Buffer[]; records: number[]; rawBytes: number[]; sealUsPerBatch: number } {
  const next = mulberry32(42);
  const values = o.payloadKind === 'json' ? jsonLikeValues(o.recordSize, 1024, next) : Array.from({ length: 1024 }, () => randomLetters(o.recordSize, next));
  const keys = o.keySize > 0 ? Array.from({ length: 1024 }, () => randomLetters(o.keySize, next)) : null;
  const codecId = CompressionType[o.codec];
  const codec = codecFor(codecId);
  const batches: Buffer[] = [];
  const records: number[] = [];
  const rawBytes: number[] = [];
  const build = (p: number): { batch: Buffer; count: number; raw: number } => {
    const buf = Buffer.alloc(o.batchSize * 2 + RECORD_BATCH_OVERHEAD);
    let pos = RECORD_BATCH_OVERHEAD;
    let count = 0;
    let raw = 0;
    const ts = Date.now();
    for (let k = 0; ; k++) {
      const j = (p * 7919 + k * 31) & 1023;
      const key = keys === null ? null : keys[j];
      const value = values[j];
      const body = sizeOfRecordBody(count, 0, key === null ? -1 : key.length, value.length, 1);
      const size = sizeOfRecord(body);
      if (pos + size > o.batchSize && count > 0) break;
      pos = writeRecord(buf, pos, body, count, 0, key, key === null ? -1 : key.length, value, value.length, null);
      count++;
      raw += value.length + (key === null ? 0 : key.length);
    }
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const sealed = sealBatch(buf, view, 0, {
      recordsLength: pos - RECORD_BATCH_OVERHEAD,
      recordCount: count,
      baseTimestamp: ts,
      maxTimestamp: ts,
      codec,
      producerId: -1,
      producerEpoch: -1,
      baseSequence: -1,
      transactional: false,
    });
    return { batch: Buffer.from(buf.subarray(0, sealed)), count, raw };
  };
  for (let p = 0; p < o.partitions; p++) {
    const b = build(p);
    batches.push(b.batch);
    records.push(b.count);
    rawBytes.push(b.raw);
  }
  // Seal cost apart: rebuild batches for ~0.5 s.
  const start = performance.now();
  let n = 0;
  while (performance.now() - start < 500) build(n++ % o.partitions);
  const sealUsPerBatch = ((performance.now() - start) * 1000) / n;
  return { batches, records, rawBytes, sealUsPerBatch };
}

/** A connection that sends frames and hands answers to `onFrame` in order. */
function openConnection(address: string): Promise<{ socket: Socket; frames: FrameDecoder }> {
  const { host, port } = parseAddress(address);
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    socket.setNoDelay(true);
    const frames = new FrameDecoder();
    socket.once('error', reject);
    socket.once('connect', () => resolve({ socket, frames }));
  });
}

async function roundTrip(conn: { socket: Socket; frames: FrameDecoder }, frame: Uint8Array): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      conn.frames.push(chunk);
      const f = conn.frames.tryReadFrame();
      if (f !== null) {
        conn.socket.off('data', onData);
        resolve(f);
      }
    };
    conn.socket.on('data', onData);
    conn.socket.once('error', reject);
    conn.socket.write(frame);
  });
}

/** The highest Produce version both sides speak. */
async function negotiateProduceVersion(address: string): Promise<number> {
  const conn = await openConnection(address);
  try {
    for (let version = 3; version >= 0; version = version === 3 ? 0 : -1) {
      const frame = encodeApiVersionsRequest({ apiVersion: version, correlationId: 1, clientId: CLIENT_ID }, { clientSoftwareName: 'sluice', clientSoftwareVersion: '0' });
      const answer = await roundTrip(conn, frame);
      const header = decodeResponseHeader(answer, 0);
      const body = answer.subarray(header.bodyOffset);
      const r = decodeApiVersionsResponseWithFallback(body, version);
      const produce = r.apiKeys.find((k) => k.apiKey === ApiKey.PRODUCE);
      if (produce !== undefined) return Math.min(produce.maxVersion, SUPPORTED_VERSIONS[ApiKey.PRODUCE].max);
    }
    throw new Error(`${address} lists no Produce versions`);
  } finally {
    conn.socket.destroy();
  }
}

/** The PID of the JVM started with `propertiesFile` (its command line names the file). */
function findBrokerPid(propertiesFile: string): number | null {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmdline.includes('kafka.Kafka') && cmdline.includes(propertiesFile)) return Number(entry);
    } catch {
      // Gone meanwhile.
    }
  }
  return null;
}

/** CPU time of a process in ms (utime + stime from /proc/<pid>/stat). */
function processCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  // Fields after the command: state is [0]; utime is field 14 overall → index 11 here.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

/** Ensures the topic exists with `partitions` partitions (creates it when missing). */
async function ensureTopic(address: string, topic: string, partitions: number): Promise<void> {
  const md = await fetchMetadata(address, [topic]);
  const t = md.topics.find((x) => x.name === topic);
  if (t !== undefined && t.errorCode === 0 && t.partitions.length > 0) {
    if (t.partitions.length !== partitions) throw new Error(`topic ${topic} has ${t.partitions.length} partitions, not ${partitions}`);
    return;
  }
  await sendCreateTopics(address, [{ name: topic, partitions, replicationFactor: -1 }]);
  for (let i = 0; i < 100; i++) {
    const m = await fetchMetadata(address, [topic]);
    const x = m.topics.find((y) => y.name === topic);
    if (x !== undefined && x.errorCode === 0 && x.partitions.length === partitions && x.partitions.every((p) => p.leaderId >= 0)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`topic ${topic} has no leaders after 10 s`);
}

/** Measures the broker's intake (see the file comment). */
export async function measureIntake(o: IntakeOptions): Promise<IntakeResult> {
  const address = o.bootstrap.split(',')[0];
  await ensureTopic(address, o.topic, o.partitions);
  const version = o.produceVersion ?? (await negotiateProduceVersion(address));
  const { batches, records, rawBytes, sealUsPerBatch } = buildBatches(o);
  const recordsPerRequest = records.reduce((a, b) => a + b, 0);
  const rawPerRequest = rawBytes.reduce((a, b) => a + b, 0);
  const partitions = batches.map((records, partition) => ({ topic: o.topic, partition, records }));
  const request = { acks: o.acks, timeoutMs: 30_000, transactionalId: null, partitions };
  const encodeOnce = (correlationId: number) => encodeProduceRequest({ apiVersion: version, correlationId, clientId: CLIENT_ID }, request);
  const template = encodeOnce(1);
  // Encode cost apart.
  let encodes = 0;
  const encStart = performance.now();
  while (performance.now() - encStart < 300) encodeOnce(encodes++);
  const encodeUs = ((performance.now() - encStart) * 1000) / encodes;
  const headerVersion = responseHeaderVersion(ApiKey.PRODUCE, version);

  const conns = await Promise.all(Array.from({ length: o.connections }, () => openConnection(address)));
  const brokerPid = o.brokerProperties === null ? null : findBrokerPid(o.brokerProperties);
  const latencies: number[] = [];
  let requests = 0;
  let errors = 0;
  let firstError: string | null = null;
  let stopAt = Infinity;
  let correlation = 100;
  const cpuStart = process.cpuUsage();
  const brokerCpuStart = brokerPid === null ? 0 : processCpuMs(brokerPid);
  const startMs = performance.now();
  stopAt = startMs + o.seconds * 1000;
  await Promise.all(
    conns.map(
      (conn) =>
        new Promise<void>((resolve, reject) => {
          const sentAt = new Map<number, number>();
          let inFlight = 0;
          const sendOne = (): void => {
            const id = correlation++;
            // The framing chunk holds the correlation id: a private copy per request (the
            // socket may still hold the previous one); the sealed batches are shared views.
            const first = Buffer.from(template.chunks[0]);
            first.writeInt32BE(id, 8);
            const chunks = [first, ...template.chunks.slice(1)];
            sentAt.set(id, performance.now());
            inFlight++;
            conn.socket.cork();
            for (const c of chunks) conn.socket.write(c);
            conn.socket.uncork();
          };
          conn.socket.on('data', (chunk: Buffer) => {
            conn.frames.push(chunk);
            for (let f = conn.frames.tryReadFrame(); f !== null; f = conn.frames.tryReadFrame()) {
              const header = decodeResponseHeader(f, headerVersion);
              const now = performance.now();
              latencies.push(now - (sentAt.get(header.correlationId) ?? now));
              sentAt.delete(header.correlationId);
              const body = f.subarray(header.bodyOffset);
              const r = decodeProduceResponse(body, version);
              for (const p of r.partitions) {
                if (p.errorCode !== 0) {
                  errors++;
                  firstError ??= `${p.topic}-${p.partition}: error ${p.errorCode} ${p.errorMessage ?? ''}`;
                }
              }
              inFlight--;
              requests++;
              if (now < stopAt) sendOne();
              else if (inFlight === 0) resolve();
            }
          });
          conn.socket.on('error', reject);
          for (let k = 0; k < o.inFlight; k++) sendOne();
        }),
    ),
  );
  const elapsedMs = performance.now() - startMs;
  const cpu = process.cpuUsage(cpuStart);
  const brokerCpuMs = brokerPid === null ? null : processCpuMs(brokerPid) - brokerCpuStart;
  for (const c of conns) c.socket.destroy();
  const sorted = Float64Array.from(latencies).sort();
  const rps = (requests * 1000) / elapsedMs;
  return {
    options: o,
    produceVersion: version,
    recordsPerSec: rps * recordsPerRequest,
    rawMbPerSec: (rps * rawPerRequest) / (1024 * 1024),
    wireMbPerSec: (rps * template.sizeBytes) / (1024 * 1024),
    requestsPerSec: rps,
    recordsPerRequest,
    requestBytes: template.sizeBytes,
    requestLatencyMs: { avg: latencies.reduce((a, b) => a + b, 0) / Math.max(1, latencies.length), p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99) },
    perRequestUs: {
      encode: encodeUs,
      seal: sealUsPerBatch * o.partitions,
      clientCpu: ((cpu.user + cpu.system) / Math.max(1, requests)),
      brokerCpu: brokerCpuMs === null ? null : (brokerCpuMs * 1000) / Math.max(1, requests),
    },
    errors,
    firstError,
  };
}

function parseCli(argv: string[]): IntakeOptions & { json: boolean } {
  const get = (name: string, def: string): string => {
    const i = argv.indexOf(name);
    return i >= 0 && i + 1 < argv.length ? argv[i + 1] : def;
  };
  const bootstrap = get('--bootstrap-server', '');
  if (bootstrap === '') throw new Error('--bootstrap-server host:port is required');
  const pv = get('--produce-version', '');
  return {
    bootstrap,
    topic: get('--topic', 'sluice-intake'),
    partitions: Number(get('--partitions', '6')),
    codec: get('--codec', 'none') as IntakeOptions['codec'],
    payloadKind: get('--payload-kind', 'letters') as IntakeOptions['payloadKind'],
    recordSize: Number(get('--record-size', '100')),
    keySize: Number(get('--key-size', '16')),
    batchSize: Number(get('--batch-size', '16384')),
    acks: Number(get('--acks', '-1')),
    connections: Number(get('--connections', '1')),
    inFlight: Number(get('--in-flight', '5')),
    seconds: Number(get('--seconds', '5')),
    produceVersion: pv === '' ? null : Number(pv),
    brokerProperties: get('--broker-properties', '') || null,
    json: argv.includes('--json'),
  };
}

/** One line describing a result. */
export function formatIntake(r: IntakeResult): string {
  const u = r.perRequestUs;
  return (
    `${r.options.codec} ${r.options.payloadKind} p=${r.options.partitions} conns=${r.options.connections} inflight=${r.options.inFlight}: ` +
    `${Math.round(r.recordsPerSec).toLocaleString('en-US')} records/s, ${r.rawMbPerSec.toFixed(1)} MB/s raw, ${r.wireMbPerSec.toFixed(1)} MB/s wire, ` +
    `${r.requestsPerSec.toFixed(0)} req/s of ${r.recordsPerRequest} records (${r.requestBytes} B), latency avg ${r.requestLatencyMs.avg.toFixed(2)} ms p99 ${r.requestLatencyMs.p99.toFixed(2)} ms; ` +
    `per request: encode ${u.encode.toFixed(1)} us, seal ${u.seal.toFixed(0)} us, client CPU ${u.clientCpu.toFixed(0)} us, broker CPU ${u.brokerCpu === null ? '?' : u.brokerCpu.toFixed(0)} us; errors ${r.errors}${r.firstError === null ? '' : ` (first: ${r.firstError})`}`
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const o = parseCli(process.argv.slice(2));
  const r = await measureIntake(o);
  process.stdout.write(o.json ? `${JSON.stringify(r)}\n` : `${formatIntake(r)}\n`);
}
