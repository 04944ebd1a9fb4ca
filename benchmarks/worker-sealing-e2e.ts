/**
 * Worker sealing end to end (issue 13): `sluice-perf` runs — a fresh process each, the real
 * Producer over the embedded cluster — sealing inline (`--workers 0`), with `seal.workers=auto`
 * (the default), and with 1 and 2 seal threads, for gzip and zstd (level 3 and 9) on ~200 B
 * JSON-like lines and on 1 KiB JSON-like values; modes alternated within each repetition.
 * Beside them, in the same run, the machine's own ceiling: 1 and N threads of the plain codec
 * (`zlib.gzipSync`, the zstd binding) compressing the same data in 16 KiB chunks, measured
 * once per repetition between the sluice-perf runs. Then latency at a fixed offered load of
 * `--load-share` (default 80 %) of the median inline maximum (`--throughput`).
 *
 *   node --conditions=source --import tsx benchmarks/worker-sealing-e2e.ts [--reps 5]
 *     [--records 600000] [--warmup 200000] [--codecs gzip,zstd:3,zstd:9] [--data json200,json1k]
 *     [--latency gzip,zstd:3] [--load-share 0.8] [--json out.json]
 *
 * Prints one table per part and the JSON of every run. Results: benchmarks/RESULTS.md,
 * 'Worker sealing end to end (issue 13)'.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { seededRandom } from '../packages/core/src/embedded/seeded-random.js';

const args = process.argv.slice(2);
const opt = (name: string, fallback: string): string => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const REPS = Number(opt('--reps', '5'));
const RECORDS = Number(opt('--records', '600000'));
const WARMUP = Number(opt('--warmup', '200000'));
const CODECS = opt('--codecs', 'gzip,zstd:3,zstd:9').split(',');
const DATA = opt('--data', 'json200,json1k').split(',');
const LATENCY = opt('--latency', 'gzip,zstd:3').split(',').filter((s) => s.length > 0);
const LOAD_SHARE = Number(opt('--load-share', '0.8'));
const JSON_OUT = args.includes('--json') ? opt('--json', '') : null;
const MODES = ['inline', 'auto', '1', '2'] as const;
type Mode = (typeof MODES)[number];

// ------------------------------------------------------------------ data

const WORDS = 'order customer product price quantity shipping payment status pending shipped delivered cancelled refund cart session user device browser mobile desktop region europe america asia click view purchase search filter category discount coupon the of and to in for'.split(' ');
const EVENTS = ['page_view', 'click', 'add_to_cart', 'purchase', 'search', 'login', 'logout', 'share'];

/** JSON-like event lines of about `size` bytes: repeated field names and enums, varying ids, tokens, words. */
function jsonLines(size: number, count: number, seed: number): string[] {
  const rnd = seededRandom(seed);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)];
  const hex = (n: number): string => Array.from({ length: n }, () => Math.floor(rnd() * 16).toString(16)).join('');
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const o: Record<string, unknown> = {
      id: Math.floor(rnd() * 1e9),
      ts: 1_700_000_000_000 + Math.floor(rnd() * 1e8),
      user: `u${Math.floor(rnd() * 50_000)}`,
      event: pick(EVENTS),
      path: `/p/${Math.floor(rnd() * 5000)}`,
      session: hex(16),
    };
    const words: string[] = [];
    let s = JSON.stringify(o);
    while (s.length + words.join(' ').length + 12 < size) words.push(rnd() < 0.1 ? String(Math.floor(rnd() * 100000)) : pick(WORDS));
    o.note = words.join(' ');
    s = JSON.stringify(o);
    out.push(s.length > size ? s.slice(0, size) : s);
  }
  return out;
}

const dir = mkdtempSync(join(tmpdir(), 'sluice-e2e-'));
const dataFiles: Record<string, { file: string; lines: string[] }> = {};
for (const d of DATA) {
  const size = d === 'json1k' ? 1024 : 200;
  const lines = jsonLines(size, 4096, size);
  const file = join(dir, `${d}.txt`);
  writeFileSync(file, lines.join('\n'));
  dataFiles[d] = { file, lines };
}

// ------------------------------------------------------------------ sluice-perf runs

interface PerfResult {
  recordsPerSec: number;
  p50: number;
  p99: number;
  sealer: string;
  handoffNsPerBatch: number | null;
  offloaded: number;
  inline: number;
  callerRuns: number;
  threads: number;
}

function codecProps(codec: string): string[] {
  const [name, level] = codec.split(':');
  const props = [`compression.type=${name}`];
  if (level !== undefined) props.push(`compression.${name}.level=${level}`);
  return props;
}

function perf(data: string, codec: string, mode: Mode, throughput = -1): PerfResult {
  const argv = [
    '--conditions=source', '--import', 'tsx', 'benchmarks/perf/cli.ts',
    '--num-records', String(RECORDS), '--warmup-records', String(WARMUP), '--payload-file', dataFiles[data].file,
    '--throughput', String(throughput), '--json', '--print-metrics', '--no-progress',
    '--producer-props', ...codecProps(codec),
  ];
  if (mode !== 'auto') argv.push('--workers', mode === 'inline' ? '0' : mode);
  const r = spawnSync(process.execPath, argv, { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`sluice-perf failed (${r.status}): ${r.stderr}`);
  const j = JSON.parse(r.stdout.slice(r.stdout.indexOf('{')));
  const m = j.metrics ?? {};
  const st = m.sealerStats ?? null;
  return {
    recordsPerSec: j.recordsPerSec,
    p50: j.latencyMs.p50,
    p99: j.latencyMs.p99,
    sealer: m.sealer ?? '?',
    handoffNsPerBatch: st !== null && st.offloadedBatches > 0 ? st.handoffNs / st.offloadedBatches : null,
    offloaded: st?.offloadedBatches ?? 0,
    inline: st?.inlineBatches ?? 0,
    callerRuns: st?.callerRunsBatches ?? 0,
    threads: st?.lanesStarted ?? 0,
  };
}

// ------------------------------------------------------------------ the machine's ceiling

const CEILING_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const zlib = require('node:zlib');
const { createRequire } = require('node:module');
const req = createRequire(workerData.root + '/packages/core/package.json');
let zstd = null;
try { const z = req('zstd-napi'); zstd = z.compress ? z : null; } catch {}
const chunks = workerData.chunks.map((s) => Buffer.from(s));
const [name, lvl] = workerData.codec.split(':');
const level = lvl === undefined ? undefined : Number(lvl);
let ctx = null;
if (name === 'zstd' && zstd && zstd.Compressor) { ctx = new zstd.Compressor(); ctx.setParameters({ compressionLevel: level ?? 3 }); }
const compress = name === 'gzip' ? (b) => zlib.gzipSync(b) : ctx ? (b) => ctx.compress(b) : (b) => zstd.compress(b, { compressionLevel: level ?? 3 });
const sab = new Int32Array(workerData.start);
Atomics.wait(sab, 0, 0);
const end = Date.now() + workerData.ms;
let bytes = 0;
for (let i = 0; Date.now() < end; i++) { const c = chunks[i % chunks.length]; compress(c); bytes += c.length; }
parentPort.postMessage(bytes);
`;

/** Raw bytes/s that `threads` threads of the plain codec compress together, on 16 KiB chunks of the data. */
async function ceiling(data: string, codec: string, threads: number, ms = 1200): Promise<number> {
  const text = dataFiles[data].lines.join('\n');
  const chunks: string[] = [];
  for (let i = 0; i + 16384 <= text.length && chunks.length < 64; i += 16384) chunks.push(text.slice(i, i + 16384));
  const start = new Int32Array(new SharedArrayBuffer(4));
  const root = process.cwd();
  const workers = Array.from({ length: threads }, () => new Worker(CEILING_WORKER, { eval: true, workerData: { chunks, codec, ms, start: start.buffer, root } }));
  await new Promise((r) => setTimeout(r, 300));
  Atomics.store(start, 0, 1);
  Atomics.notify(start, 0);
  const totals = await Promise.all(workers.map((w) => new Promise<number>((resolve, reject) => w.once('message', resolve).once('error', reject))));
  await Promise.all(workers.map((w) => w.terminate()));
  return totals.reduce((a, b) => a + b, 0) / (ms / 1000);
}

// ------------------------------------------------------------------ run

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const range = (xs: number[], digits = 0): string => `${Math.min(...xs).toFixed(digits)}-${Math.max(...xs).toFixed(digits)}`;
const fmt = (x: number, d = 2): string => x.toFixed(d);

async function main(): Promise<void> {
  const machine = { cores: availableParallelism(), node: process.version, loadBefore: loadavg(), uptime: execFileSync('uptime', { encoding: 'utf8' }).trim() };
  console.log(JSON.stringify(machine));
  const all: Record<string, unknown>[] = [];
  const cores = availableParallelism();
  for (const data of DATA) {
    for (const codec of CODECS) {
      const runs: Record<Mode, PerfResult[]> = { inline: [], auto: [], '1': [], '2': [] };
      const ceil: number[] = [];
      for (let rep = 0; rep < REPS; rep++) {
        // Alternate: rotate the order of the modes each repetition.
        const order = MODES.map((_, i) => MODES[(i + rep) % MODES.length]);
        for (const mode of order) {
          const r = perf(data, codec, mode);
          runs[mode].push(r);
          all.push({ part: 'throughput', data, codec, mode, rep, ...r });
          process.stderr.write(`${data} ${codec} ${mode} rep ${rep}: ${Math.round(r.recordsPerSec)} records/s p99 ${r.p99} ms ${r.sealer} handoff ${r.handoffNsPerBatch?.toFixed(0) ?? '-'} ns/batch\n`);
        }
        const one = await ceiling(data, codec, 1);
        const many = await ceiling(data, codec, cores);
        ceil.push(many / one);
        all.push({ part: 'ceiling', data, codec, rep, oneThreadBytesPerSec: one, threads: cores, manyThreadsBytesPerSec: many });
      }
      const inl = runs.inline.map((r) => r.recordsPerSec);
      console.log(`\n### ${data}, ${codec}: machine ceiling (${cores} threads of the plain codec / 1) median ${fmt(median(ceil))}x (${range(ceil.map((x) => x * 100)).replace(/(\d+)/g, (n) => (Number(n) / 100).toFixed(2))}x)`);
      console.log('| mode | records/s median | range | vs inline (median of per-rep ratios) | range | of ceiling | first run | p99 ms median | hand-off ns/batch | sealer |');
      console.log('|---|---:|---|---:|---|---:|---:|---:|---:|---|');
      for (const mode of MODES) {
        const rs = runs[mode].map((r) => r.recordsPerSec);
        const ratios = runs[mode].map((r, i) => r.recordsPerSec / inl[i]);
        const ofCeiling = median(ratios) / median(ceil);
        const h = runs[mode].map((r) => r.handoffNsPerBatch).filter((x): x is number => x !== null);
        console.log(
          `| ${mode} | ${Math.round(median(rs))} | ${range(rs)} | ${fmt(median(ratios))}x | ${fmt(Math.min(...ratios))}-${fmt(Math.max(...ratios))} | ${mode === 'inline' ? '—' : fmt(ofCeiling)} | ${Math.round(rs[0])} | ${fmt(median(runs[mode].map((r) => r.p99)))} | ${h.length ? Math.round(median(h)) : '—'} | ${runs[mode][0].sealer} |`,
        );
      }
    }
  }
  for (const codec of LATENCY) {
    const data = DATA[0];
    const maxInline = median(all.filter((r) => r.part === 'throughput' && r.data === data && r.codec === codec && r.mode === 'inline').map((r) => r.recordsPerSec as number));
    if (!(maxInline > 0)) continue;
    const offered = Math.round(maxInline * LOAD_SHARE);
    const lat: Record<string, PerfResult[]> = { inline: [], auto: [], '2': [] };
    for (let rep = 0; rep < REPS; rep++) {
      const order = (['inline', 'auto', '2'] as Mode[]).map((_, i, a) => a[(i + rep) % a.length]);
      for (const mode of order) {
        const r = perf(data, codec, mode, offered);
        lat[mode].push(r);
        all.push({ part: 'latency', data, codec, mode, rep, offered, ...r });
        process.stderr.write(`latency ${data} ${codec} ${mode} @${offered}: p50 ${r.p50} p99 ${r.p99}\n`);
      }
    }
    console.log(`\n### latency, ${data}, ${codec}, offered ${offered} records/s (${LOAD_SHARE * 100} % of the inline median ${Math.round(maxInline)})`);
    console.log('| mode | records/s | p50 ms median (range) | p99 ms median (range) |');
    console.log('|---|---:|---|---|');
    for (const mode of Object.keys(lat)) {
      const l = lat[mode];
      console.log(`| ${mode} | ${Math.round(median(l.map((r) => r.recordsPerSec)))} | ${fmt(median(l.map((r) => r.p50)))} (${range(l.map((r) => r.p50), 2)}) | ${fmt(median(l.map((r) => r.p99)))} (${range(l.map((r) => r.p99), 2)}) |`);
    }
  }
  console.log(`\nload after: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  if (JSON_OUT !== null) writeFileSync(JSON_OUT, JSON.stringify({ machine, runs: all }, null, 1));
}

await main();
