/**
 * Worker sealing benchmark: append + seal throughput per codec, sealing inline (0 workers)
 * vs on 1..N piscina workers (offload forced), vs what `createSealer` picks by default, on
 * 100-byte and 1 KiB semi-compressible JSON-like values, in one run; gzip also beside
 * Node's own async zlib (the libuv thread pool) as the baseline, and every codec beside
 * the rejected alternative — one task per batch, no grouping (the kafkajs shape).
 *
 * Each run: a RecordAccumulator (batch.size 16 KiB, buffer.memory 4 MiB, linger long) on 8
 * partitions led by 8 nodes appends 16 MiB of values; whenever a batch fills it is drained
 * and completed as soon as its seal finishes (as a sender would), so memory comes back and
 * appends wait only when seals fall behind (buffer.memory is a quarter of a run, so most of
 * a run is in that back-pressured steady state). The clock stops when every batch is sealed
 * and every slot is back in the pool. Median of `--reps` interleaved runs after warm-ups.
 *
 * Also measured: the machine's parallel scaling at run time (the ceiling of any speed-up),
 * the price of one piscina task (wall and CPU, both piscina `atomics` modes), and where the
 * CPU goes per MiB — append, compression, hand-off, worker threads — read from
 * /proc/self/task (CPU time, which other processes on the machine do not inflate).
 *
 *   node --conditions=source --import tsx benchmarks/worker-sealing.ts [--quick] [--reps 3] [--max-workers 3]
 *     [--codecs none,gzip,snappy,lz4,zstd,zstd:9] [--sizes 100,1024] [--run-mib 16] [--memory-mib 4]
 *     [--no-peers] [--json out.json]
 *
 * Results: benchmarks/RESULTS.md, 'Worker sealing'.
 */
import { availableParallelism, cpus, loadavg } from 'node:os';
import { readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { gzip } from 'node:zlib';
import { RecordAccumulator } from '../packages/core/src/accumulator/record-accumulator.js';
import type { ProducerBatch } from '../packages/core/src/accumulator/producer-batch.js';
import { Cluster } from '../packages/core/src/cluster/cluster.js';
import { codecFor } from '../packages/core/src/compression/codecs.js';
import type { CompressionName } from '../packages/core/src/format/compression-type.js';
import { RECORD_BATCH_OVERHEAD } from '../packages/core/src/format/record-batch-layout.js';
import { sealBatch } from '../packages/core/src/sealing/seal-batch.js';
import { seededRandom } from '../packages/core/src/embedded/seeded-random.js';
import { InlineSealer } from '../packages/core/src/sealing/inline-sealer.js';
import type { Sealer, SealJob } from '../packages/core/src/sealing/sealer.js';
import { createSealer } from '../packages/worker/src/create-sealer.js';
import { OffloadPolicy } from '../packages/worker/src/offload-policy.js';
import { WorkerSealer } from '../packages/worker/src/worker-sealer.js';

// ------------------------------------------------------------------ arguments

const args = process.argv.slice(2);
const flag = (name: string): boolean => args.includes(name);
const option = (name: string, fallback: number): number => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const QUICK = flag('--quick');
const REPS = option('--reps', QUICK ? 1 : 3);
const MAX_WORKERS = option('--max-workers', Math.max(2, availableParallelism() + 1));
const JSON_OUT = args.includes('--json') ? args[args.indexOf('--json') + 1] : null;
const list = (name: string, fallback: string): string[] => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback).split(',');
/** Codecs as `name` or `name:level` (e.g. `zstd:9`). */
const CODECS = list('--codecs', 'none,gzip,snappy,lz4,zstd,zstd:9');
const VALUE_SIZES = list('--sizes', '100,1024').map(Number);
const PEERS = !flag('--no-peers');
const PARTITIONS = 8;
/** Raw value bytes per run: several times the buffer memory, so most of a run is steady state. */
const BYTES_PER_RUN = option('--run-mib', QUICK ? 4 : 16) * 1024 * 1024;
/** buffer.memory: small enough that appends wait for seals (back-pressure) for most of a run. */
const BUFFER_MEMORY = option('--memory-mib', QUICK ? 1 : 4) * 1024 * 1024;

// ------------------------------------------------------------------ data

/** Deterministic PRNG (mulberry32, from core). */
const prng = seededRandom;

const WORDS = (
  'the of and to in is for on with as by at from that this be are was or an it not have has had more new first last ' +
  'order customer product price quantity shipping payment status pending shipped delivered cancelled refund cart ' +
  'session user device browser mobile desktop android ios chrome firefox safari region europe america asia click ' +
  'view purchase search filter category electronics books clothing garden toys sports music video discount coupon'
).split(' ');
const EVENTS = ['page_view', 'click', 'add_to_cart', 'purchase', 'search', 'login', 'logout', 'share'];
const PATHS = ['/', '/products', '/products/item', '/cart', '/checkout', '/account', '/search', '/help'];

/**
 * JSON-like event values of about `size` bytes: field names and enums repeat, ids,
 * timestamps, hex tokens and word sequences vary (compresses like real event data, not
 * like repeated bytes).
 */
function makeValues(size: number, count: number, seed: number): Buffer[] {
  const rnd = prng(seed);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)];
  const hex = (n: number): string => {
    let s = '';
    for (let i = 0; i < n; i++) s += Math.floor(rnd() * 16).toString(16);
    return s;
  };
  const out: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const o: Record<string, unknown> = {
      id: Math.floor(rnd() * 1e9),
      ts: 1_700_000_000_000 + Math.floor(rnd() * 1e8),
      user: `u${Math.floor(rnd() * 50_000)}`,
      event: pick(EVENTS),
      path: `${pick(PATHS)}/${Math.floor(rnd() * 5000)}`,
      session: hex(16),
    };
    let s = JSON.stringify(o);
    if (size > s.length + 20) {
      const words: string[] = [];
      let len = s.length + 12;
      while (len < size - 24) {
        const w = pick(WORDS);
        words.push(w);
        len += w.length + 1;
        if (rnd() < 0.08) {
          const n = String(Math.floor(rnd() * 100000));
          words.push(n);
          len += n.length + 1;
        }
      }
      o.note = words.join(' ');
      o.price = Math.floor(rnd() * 100000) / 100;
      s = JSON.stringify(o);
    }
    out.push(Buffer.from(s.length > size ? s.slice(0, size) : s.padEnd(size, ' ')));
  }
  return out;
}

// ------------------------------------------------------------------ peers

/**
 * Node's own answer, the baseline for gzip: `zlib.gzip` (callback API) compresses on the
 * libuv thread pool; the main thread then copies the result in, writes the header and CRC.
 * Eager like the WorkerSealer, so compression overlaps appends.
 */
class AsyncZlibGzipSealer implements Sealer {
  readonly eager = true;
  #inFlight = 0;
  #idle: (() => void)[] = [];

  seal(job: SealJob): void {
    const s = job.sealSpec();
    const start = job.byteOffset + RECORD_BATCH_OVERHEAD;
    this.#inFlight++;
    gzip(job.bytes.subarray(start, start + s.recordsLength), { level: s.level }, (err, out) => {
      if (err !== null) job.failSeal(err);
      else {
        const size = sealBatch(job.bytes, job.view, job.byteOffset, {
          ...s,
          codec: { id: 1, name: 'gzip', compress: () => out, decompress: () => out },
        });
        job.completeSeal(size);
      }
      if (--this.#inFlight === 0) for (const r of this.#idle.splice(0)) r();
    });
  }

  async close(): Promise<void> {
    while (this.#inFlight > 0) await new Promise<void>((r) => this.#idle.push(r));
  }
}

// ------------------------------------------------------------------ calibration

/**
 * CPU time the MAIN thread has used, in ms, from /proc (Linux; 10 ms ticks, so only totals
 * over many tasks mean anything). Unlike wall time or event-loop utilization it does not grow
 * when other processes take the cores. Falls back to event-loop utilization elsewhere.
 */
function mainThreadCpuMs(): number {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After "pid (comm) ": state is field 3, utime field 14, stime field 15 (1-based, man 5 proc).
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return performance.eventLoopUtilization().active;
  }
}

/**
 * What this machine gives right now: gzipSync calls per second of 1 thread vs 2 threads at
 * once (threads of their own, nothing shared). On an idle 2-core machine the ratio is ~2;
 * when other processes hold the cores it drops toward 1, and so must any worker speed-up.
 */
async function parallelScaling(ms = 1000): Promise<number> {
  const code = `
    const { parentPort } = require('node:worker_threads');
    const zlib = require('node:zlib');
    const buf = Buffer.from(${JSON.stringify(makeValues(1024, 16, 7).map((b) => b.toString()).join(''))});
    const end = Date.now() + ${ms};
    let n = 0;
    while (Date.now() < end) { zlib.gzipSync(buf); n++; }
    parentPort.postMessage(n);`;
  const run = (threads: number): Promise<number> =>
    Promise.all(
      Array.from({ length: threads }, () => new Promise<number>((resolve, reject) => {
        const w = new Worker(code, { eval: true });
        w.once('message', (n: number) => resolve(n));
        w.once('error', reject);
      })),
    ).then((counts) => counts.reduce((a, b) => a + b, 0));
  const one = await run(1);
  const two = await run(2);
  return two / one;
}

/**
 * The price of one hand-off: a WorkerSealer (1 thread, offloading everything) seals groups
 * of `k` tiny batches (512 B, lz4: next to no work), one group at a time.
 * @returns the round trip (seal() to completeSeal) and the main thread's busy time per task
 */
async function handoffCost(
  k: number,
  tasks: number,
  atomics: 'sync' | 'disabled',
  inFlight: number,
): Promise<{ roundTripUs: number; mainUsPerTask: number; otherUsPerTask: number }> {
  const always = OffloadPolicy.always();
  // The ring has no groups and no piscina wait mode: `k` batches are handed off one by one.
  void atomics;
  const sealer = new WorkerSealer({ threads: 1, offloadPolicy: always });
  const stride = 4096;
  const memory = new SharedArrayBuffer(k * inFlight * stride);
  const bytes = Buffer.from(memory);
  const view = new DataView(memory);
  const record = makeValues(512, 1, 3)[0];
  const group = (g: number): Promise<void> =>
    new Promise<void>((resolve) => {
      let left = k;
      for (let i = 0; i < k; i++) {
        const base = (g * k + i) * stride;
        bytes.set(record, base + RECORD_BATCH_OVERHEAD);
        const job: SealJob = {
          memory,
          bytes,
          view,
          byteOffset: base,
          capacityBytes: stride,
          sealSpec: () => ({ recordsLength: record.length, recordCount: 1, baseTimestamp: 0, maxTimestamp: 0, codecId: 3, level: 9, producerId: -1, producerEpoch: -1, baseSequence: -1, transactional: false }),
          completeSeal: () => {
            if (--left === 0) resolve();
          },
          failSeal: (e) => {
            throw e;
          },
        };
        sealer.seal(job);
      }
    });
  // `inFlight` groups at once: each flushed as its own task (groups are sealed in separate turns).
  const round = async (): Promise<void> => {
    const all: Promise<void>[] = [];
    for (let g = 0; g < inFlight; g++) {
      all.push(group(g));
      await Promise.resolve();
    }
    await Promise.all(all);
  };
  for (let i = 0; i < 300 / inFlight; i++) await round();
  const cpu0 = mainThreadCpuMs();
  const process0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < tasks / inFlight; i++) await round();
  const wallMs = performance.now() - t0;
  const cpuMs = mainThreadCpuMs() - cpu0;
  const processCpu = process.cpuUsage(process0);
  await sealer.close();
  const otherMs = (processCpu.user + processCpu.system) / 1000 - cpuMs;
  return { roundTripUs: (wallMs * 1000) / tasks, mainUsPerTask: (cpuMs * 1000) / tasks, otherUsPerTask: (otherMs * 1000) / tasks };
}

/**
 * Waits until every thread of `sealer` has started and sealed something (thread start-up —
 * loading the TypeScript sources through tsx — must not be measured as sealing).
 */
async function warmThreads(sealer: WorkerSealer): Promise<void> {
  const stride = 4096;
  const count = sealer.threads * 4;
  const memory = new SharedArrayBuffer(count * stride);
  const bytes = Buffer.from(memory);
  const view = new DataView(memory);
  const record = makeValues(1024, 3, 5);
  await new Promise<void>((resolve, reject) => {
    let left = count;
    for (let i = 0; i < count; i++) {
      const base = i * stride;
      let at = base + RECORD_BATCH_OVERHEAD;
      for (const r of record) {
        bytes.set(r, at);
        at += r.length;
      }
      sealer.seal({
        memory,
        bytes,
        view,
        byteOffset: base,
        capacityBytes: stride,
        sealSpec: () => ({ recordsLength: 3072, recordCount: 1, baseTimestamp: 0, maxTimestamp: 0, codecId: 1, level: 1, producerId: -1, producerEpoch: -1, baseSequence: -1, transactional: false }),
        completeSeal: () => {
          if (--left === 0) resolve();
        },
        failSeal: reject,
      });
    }
  });
}

// ------------------------------------------------------------------ one run

interface RunResult {
  elapsedMs: number;
  records: number;
  rawBytes: number;
  sealedRecordsBytes: number;
  batches: number;
  handoffMs: number;
  workerBusyNs: number;
  offloadedBatches: number;
  tasks: number;
  /** CPU time of the whole process (every thread) during the run. */
  cpuMs: number;
  /** CPU time of the main thread (see mainThreadCpuMs). */
  mainBusyMs: number;
}

const cluster = new Cluster({ bench: Array.from({ length: PARTITIONS }, (_, p) => p) });
const tps = Array.from({ length: PARTITIONS }, (_, partition) => ({ topic: 'bench', partition }));

/** The producer settings of a run for codec spec `codec` (`name` or `name:level`). */
function configFor(codec: string): Record<string, unknown> {
  const [name, level] = codec.split(':');
  const config: Record<string, unknown> = {
    compressionType: name as CompressionName,
    batchSize: 16384,
    bufferMemory: BUFFER_MEMORY,
    lingerMs: 600_000,
    deliveryTimeoutMs: 3_600_000,
    maxBlockMs: 600_000,
    enableIdempotence: false,
  };
  if (level !== undefined) config[`compression${name[0].toUpperCase()}${name.slice(1)}Level`] = Number(level);
  return config;
}

async function runOnce(codec: string, values: Buffer[], records: number, sealer: Sealer): Promise<RunResult> {
  const acc = new RecordAccumulator({ config: configFor(codec), sealer });
  const before = sealer instanceof WorkerSealer ? sealer.stats : null;
  let rawBytes = 0;
  let sealedRecordsBytes = 0;
  let batches = 0;
  let pending = 0;
  let allSealed: (() => void) | null = null;
  const complete = (b: ProducerBatch): void => {
    rawBytes += b.recordsLength;
    sealedRecordsBytes += b.sizeBytes - RECORD_BATCH_OVERHEAD;
    batches++;
    b.markInFlight(0);
    b.done(0, -1, null);
    b.releaseNetworkHold();
  };
  const onSealed = (b: ProducerBatch): void => {
    complete(b);
    if (--pending === 0 && allSealed !== null) allSealed();
  };
  const drainReady = (): void => {
    const { readyNodes } = acc.ready(cluster, 0);
    if (readyNodes.size === 0) return;
    for (const list of acc.drain(cluster, readyNodes, 1 << 30, 0).values()) {
      for (const b of list) {
        if (b.isSealed) complete(b);
        else {
          pending++;
          void b.whenSealed().then(() => onSealed(b));
        }
      }
    }
  };
  const cpu0 = process.cpuUsage();
  const main0 = mainThreadCpuMs();
  const t0 = performance.now();
  const n = values.length;
  for (let i = 0; i < records; i++) {
    const r = acc.append(tps[i % PARTITIONS], 1_700_000_000_000 + i, null, values[i % n]);
    // Waiting for memory: seals in flight will free it. (Draining now would take the
    // partitions' open batches too — Kafka's "memory exhausted" rule — and measure tiny
    // batches instead of sealing.)
    if (r instanceof Promise) {
      await r;
    } else if (r.batchIsFull) {
      drainReady();
    }
  }
  acc.beginFlush();
  while (acc.hasUndrained()) drainReady();
  if (pending > 0) await new Promise<void>((r) => (allSealed = r));
  const elapsedMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const mainMs = mainThreadCpuMs() - main0;
  if (acc.pool.availableMemory() !== acc.pool.totalMemory) throw new Error('benchmark bug: pool memory not returned');
  acc.close();
  const after = sealer instanceof WorkerSealer ? sealer.stats : null;
  return {
    elapsedMs,
    records,
    rawBytes,
    sealedRecordsBytes,
    batches,
    handoffMs: after !== null && before !== null ? (after.handoffNs - before.handoffNs) / 1e6 : 0,
    workerBusyNs: after !== null && before !== null ? after.workerBusyNs - before.workerBusyNs : 0,
    offloadedBatches: after !== null && before !== null ? after.offloadedBatches - before.offloadedBatches : 0,
    tasks: after !== null && before !== null ? after.offloadedBatches - before.offloadedBatches : 0,
    cpuMs: (cpu.user + cpu.system) / 1000,
    mainBusyMs: mainMs,
  };
}

/** The run of median elapsed time. */
function median(runs: RunResult[]): RunResult {
  const sorted = [...runs].sort((a, b) => a.elapsedMs - b.elapsedMs);
  return sorted[Math.floor(sorted.length / 2)];
}

// ------------------------------------------------------------------ main

interface Row {
  codec: string;
  valueBytes: number;
  sealer: string;
  workers: number;
  recordsPerSec: number;
  rawMBPerSec: number;
  ratio: number;
  speedup: number;
  rawKiBPerBatch: number;
  batchesPerTask: number;
  /** Process CPU (all threads) per MiB of raw records, ms. */
  cpuMsPerMiB: number;
  /** Process CPU time / wall time: cores kept busy on average. */
  coresUsed: number;
  handoffUsPerBatch: number;
  workerUsPerBatch: number;
  mainBusyMsPerMiB: number;
  handoffMsPerMiB: number;
  workerMsPerMiB: number;
  offloadedShare: number;
}

function table(rows: readonly (readonly (string | number)[])[]): string {
  const cells = rows.map((r) => r.map((c) => (typeof c === 'number' ? (Number.isInteger(c) ? String(c) : c.toFixed(c >= 100 ? 0 : c >= 10 ? 1 : 2)) : c)));
  const widths = cells[0].map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  const line = (r: readonly string[]): string => `| ${r.map((c, i) => (i < 3 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
  return [line(cells[0]), `|${widths.map((w, i) => (i < 3 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`, ...cells.slice(1).map(line)].join('\n');
}

async function main(): Promise<void> {
  const started = Date.now();
  const handoff: (string | number)[][] = [
    ['piscina atomics', 'tasks in flight', 'batches per task', 'wall µs per task', 'main-thread CPU µs per task', 'per batch', 'worker-side CPU µs per task'],
  ];
  for (const atomics of ['sync', 'disabled'] as const) {
    for (const [inFlight, k] of [[1, 1], [1, 16], [4, 1], [4, 16]]) {
      const h = await handoffCost(k, QUICK ? 400 : 2400, atomics, inFlight);
      handoff.push([atomics, inFlight, k, h.roundTripUs, h.mainUsPerTask, h.mainUsPerTask / k, h.otherUsPerTask]);
    }
  }
  const inline = new InlineSealer(codecFor);
  const workerSealers = new Map<number, WorkerSealer>();
  // Forced offload (every compressed group goes to a worker): the evidence behind the policy.
  for (let w = 1; w <= MAX_WORKERS; w++) workerSealers.set(w, new WorkerSealer({ threads: w, offloadPolicy: OffloadPolicy.always() }));
  const ungroupedThreads = Math.min(2, MAX_WORKERS);
  // The rejected one-piscina-task-per-batch shape no longer exists in the code; its figures stay in RESULTS.md.
  void ungroupedThreads;
  const ungrouped: WorkerSealer | null = null;
  const asyncZlib = new AsyncZlibGzipSealer();
  for (const ws of [...workerSealers.values(), ...(ungrouped === null ? [] : [ungrouped])]) await warmThreads(ws);
  const scalingBefore = await parallelScaling();
  const rows: Row[] = [];
  // Warm the JIT on the whole append/drain/seal path before anything is measured: a short
  // warm-up leaves the first configurations measured on unoptimized code (measured: up to
  // 10x slower for the very first one).
  for (const valueBytes of VALUE_SIZES) {
    for (const codec of CODECS) await runOnce(codec, makeValues(valueBytes, 1024, 1), Math.ceil(BYTES_PER_RUN / valueBytes / 2), inline);
  }
  const breakdown: (string | number)[][] = [
    [
      'codec',
      'value B',
      'inline CPU ms/MiB',
      'of which append',
      'of which compress',
      '2 workers: main CPU ms/MiB',
      'of which hand-off',
      'worker threads CPU ms/MiB',
      'total CPU ms/MiB',
      'hand-off µs/batch',
      'modelled speed-up, 2 idle cores',
    ],
  ];

  for (const valueBytes of VALUE_SIZES) {
    const values = makeValues(valueBytes, 4096, valueBytes);
    const records = Math.ceil(BYTES_PER_RUN / valueBytes);
    let noneUsPerRawKiB = 0;
    for (const codec of CODECS) {
      const variants: { name: string; workers: number; sealer: Sealer }[] = [{ name: 'inline', workers: 0, sealer: inline }];
      for (const [w, s] of workerSealers) variants.push({ name: 'workers', workers: w, sealer: s });
      // What a producer gets by default: createSealer's choice, then the policy per group.
      const chosen = createSealer(configFor(codec));
      if (chosen instanceof WorkerSealer) await warmThreads(chosen);
      variants.push({ name: chosen instanceof WorkerSealer ? 'createSealer: workers' : 'createSealer: inline', workers: chosen instanceof WorkerSealer ? chosen.threads : 0, sealer: chosen });
      if (codec !== 'none' && ungrouped !== null) variants.push({ name: 'workers, 1 task/batch', workers: ungroupedThreads, sealer: ungrouped });
      if (codec === 'gzip' && PEERS) variants.push({ name: 'node async zlib', workers: 0, sealer: asyncZlib });
      // Interleaved repetitions (A B C A B C …): a change in machine load hits every variant.
      for (const v of variants) await runOnce(codec, values, Math.ceil(records / 2), v.sealer); // warm-up, workers' JIT included
      const runs = variants.map((): RunResult[] => []);
      for (let rep = 0; rep < REPS; rep++) {
        for (let k = 0; k < variants.length; k++) runs[k].push(await runOnce(codec, values, records, variants[k].sealer));
      }
      const inlineRun = median(runs[0]);
      const inlineRate = (inlineRun.records * 1000) / inlineRun.elapsedMs;
      // CPU, not wall time: other processes on the machine change wall time, not CPU time.
      const inlineUsPerRawKiB = (inlineRun.mainBusyMs * 1000) / (inlineRun.rawBytes / 1024);
      if (codec === 'none') noneUsPerRawKiB = inlineUsPerRawKiB;
      await chosen.close();
      variants.forEach((v, k) => {
        const r = median(runs[k]);
        const rate = (r.records * 1000) / r.elapsedMs;
        const row: Row = {
          codec,
          valueBytes,
          sealer: v.name,
          workers: v.workers,
          recordsPerSec: rate,
          rawMBPerSec: r.rawBytes / 1048576 / (r.elapsedMs / 1000),
          ratio: r.sealedRecordsBytes / r.rawBytes,
          speedup: rate / inlineRate,
          rawKiBPerBatch: r.rawBytes / 1024 / r.batches,
          batchesPerTask: r.tasks > 0 ? r.offloadedBatches / r.tasks : 0,
          cpuMsPerMiB: r.cpuMs / (r.rawBytes / 1048576),
          coresUsed: r.cpuMs / r.elapsedMs,
          handoffUsPerBatch: r.offloadedBatches > 0 ? (r.handoffMs * 1000) / r.offloadedBatches : 0,
          workerUsPerBatch: r.offloadedBatches > 0 ? r.workerBusyNs / 1000 / r.offloadedBatches : 0,
          mainBusyMsPerMiB: r.mainBusyMs / (r.rawBytes / 1048576),
          handoffMsPerMiB: r.handoffMs / (r.rawBytes / 1048576),
          workerMsPerMiB: r.workerBusyNs / 1e6 / (r.rawBytes / 1048576),
          offloadedShare: r.batches > 0 ? r.offloadedBatches / r.batches : 0,
        };
        rows.push(row);
        process.stderr.write(`${codec} ${valueBytes}B ${v.name} ${v.workers}: ${Math.round(rate)} rec/s x${row.speedup.toFixed(2)}\n`);
        if (v.name === 'workers' && v.workers === 2 && codec !== 'none') {
          const mib = r.rawBytes / 1048576;
          const inlineCpu = inlineUsPerRawKiB * 1.024;
          const appendCpu = Math.min(inlineCpu, noneUsPerRawKiB * 1.024);
          const mainCpu = r.mainBusyMs / mib;
          const totalCpu = r.cpuMs / mib;
          // Two cores: the run takes at least total/2, and at least the main thread's share.
          const modelled = inlineCpu / Math.max(totalCpu / 2, mainCpu);
          breakdown.push([
            codec,
            valueBytes,
            inlineCpu,
            appendCpu,
            inlineCpu - appendCpu,
            mainCpu,
            r.handoffMs / mib,
            totalCpu - mainCpu,
            totalCpu,
            row.handoffUsPerBatch,
            `${modelled.toFixed(2)}x`,
          ]);
        }
      });
    }
  }
  await Promise.all([...workerSealers.values(), ...(ungrouped === null ? [] : [ungrouped])].map((s) => s.close()));
  await asyncZlib.close();
  const scalingAfter = await parallelScaling();

  const head = ['codec', 'value B', 'sealer', 'workers', 'records/s', 'raw MB/s', 'ratio', 'vs inline', 'raw KiB/batch', 'offloaded', 'batches/task', 'CPU ms/MiB', 'cores used'];
  const out = [
    `machine: ${cpus()[0]?.model.trim()} x${cpus().length} (availableParallelism ${availableParallelism()}), node ${process.version}, load ${loadavg()[0].toFixed(2)} at start`,
    `parallel scaling of this machine (2 threads of gzipSync vs 1): ${scalingBefore.toFixed(2)}x before, ${scalingAfter.toFixed(2)}x after — the ceiling for any worker speed-up`,
    `run: ${BYTES_PER_RUN / 1048576} MiB of values per run, buffer.memory ${BUFFER_MEMORY / 1048576} MiB, ${PARTITIONS} partitions, batch.size 16384, median of ${REPS} after a warm-up, ${((Date.now() - started) / 1000).toFixed(0)} s`,
    '',
    table([
      head,
      ...rows.map((r) => [r.codec, r.valueBytes, r.sealer, r.workers, Math.round(r.recordsPerSec), r.rawMBPerSec, r.ratio, `${r.speedup.toFixed(2)}x`, r.rawKiBPerBatch, `${Math.round(r.offloadedShare * 100)}%`, r.batchesPerTask, r.cpuMsPerMiB, r.coresUsed]),
    ]),
    '',
    'Hand-off cost (1 worker; groups of tiny lz4 batches: next to no work, so this is the price of a task):',
    '',
    table(handoff),
    '',
    'Where the time goes, CPU per MiB of raw records (append = the same run without compression; hand-off = building/posting tasks and applying results, inside the main-thread figure; modelled = inline CPU / max(total CPU / 2, main CPU): what two idle cores would give):',
    '',
    table(breakdown),
  ].join('\n');
  console.log(out);
  if (JSON_OUT !== null) writeFileSync(JSON_OUT, JSON.stringify({ machine: cpus()[0]?.model, scalingBefore, scalingAfter, handoff, rows, breakdown }, null, 2));
}

await main();
