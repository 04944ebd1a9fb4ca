/**
 * Sluice as a user installs it: `npm pack` the packages (@sluice/core, @sluice/worker and
 * @sluice/perf), install the tarballs into a scratch app outside the workspace (with the
 * `allowScripts` entries the README documents, so the install is quiet and the native
 * speed-ups are built), then run a plain-ESM program and type-check a TypeScript program
 * written from the README's examples — the embedded cluster, worker sealing whose threads start
 * from dist/, typed settings and typed callback errors — and run `npx sluice-perf` from the app:
 * a kafka-producer-perf-test command line from Kafka's documentation, seal threads started from
 * the compiled packages, `--threads 2` (its sending threads started from the compiled CLI) and
 * the error for a peer that is not installed.
 *
 * Slow (the install compiles the optional native pieces): about a minute on 2 cores.
 */
import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseProducerPerformanceLine } from '../../benchmarks/perf/peers/producer-performance.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

const ESM_PROGRAM = `
import { Producer, crc32cBinding } from '@sluice/core';
import { liveSealThreads } from '@sluice/worker';

// README: a short example, on the embedded cluster (no bootstrap.servers).
const producer = new Producer({ config: { 'linger.ms': 5, 'compression.type': 'lz4' } });
const metadata = await producer.send({ topic: 'events', key: 'user-42', value: JSON.stringify({ clicked: true }) });
await producer.close();

// README: worker sealing from the facade — seal.workers starts the threads, from dist/.
const gzip = new Producer({ config: { 'compression.type': 'gzip', 'seal.workers': 2, 'linger.ms': 20 } });
const sends = [];
for (let i = 0; i < 20000; i++) sends.push(gzip.send({ topic: 'events', value: JSON.stringify({ id: i, path: '/p/' + (i % 97), event: 'click' }) }));
await Promise.all(sends);
const threads = liveSealThreads();
await gzip.close();
console.log(JSON.stringify({ partition: metadata.partition, offset: metadata.offset, crc32c: crc32cBinding, threads }));
`;

// README: one producer, many threads — the owner here, two appender threads from ingest-thread.mjs.
const SHARED_PROGRAM = `
import { Worker } from 'node:worker_threads';
import { Producer } from '@sluice/core';

const producer = new Producer({ config: { 'compression.type': 'lz4' } });
const handle = producer.shareable();
const results = await Promise.all([0, 1].map((thread) => new Promise((resolve, reject) => {
  const worker = new Worker(new URL('./ingest-thread.mjs', import.meta.url), { workerData: { handle, thread } });
  producer.watch(worker);
  worker.once('message', resolve);
  worker.once('error', reject);
})));
await producer.close();
console.log(JSON.stringify(results));
`;

const SHARED_THREAD = `
import { parentPort, workerData } from 'node:worker_threads';
import { Producer } from '@sluice/core';

const appender = Producer.attach(workerData.handle);
let acked = 0;
let failed = 0;
for (let i = 0; i < 5000; i++) {
  appender.send({ topic: 'events', key: 'user-' + (i % 50), value: JSON.stringify({ thread: workerData.thread, i }) }, (err) => {
    if (err) failed++;
    else acked++;
  });
}
await appender.flush();
await appender.close();
parentPort.postMessage({ acked, failed });
`;

const TS_PROGRAM = `
import { Producer, SluiceError } from '@sluice/core';
import type { ProducerConfigInput, RecordMetadata } from '@sluice/core';

const config: ProducerConfigInput = { 'linger.ms': 5, acks: 'all', 'compression.type': 'zstd' };
// @ts-expect-error a misspelled setting does not compile
const typo: ProducerConfigInput = { 'lingerr.ms': 5 };
void typo;

const producer = new Producer({ config });
producer.send({ topic: 'events', value: 'v' }, (err, md: RecordMetadata | null) => {
  if (err) console.error(err.code, err.message); // err is a SluiceError: err.code compiles
  else console.log(md!.offset);
});
const md: RecordMetadata = await producer.send({ topic: 'events', value: 'w' });
producer.on('batch.failed', (e) => console.error(e.error.code));
console.log(md.offset, SluiceError.name);
await producer.close();
`;

function run(cmd: string, args: string[], cwd: string, timeoutMs = 300_000): { status: number | null; out: string } {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, npm_config_yes: 'true' } });
  return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

/** `npx sluice-perf ARGS` in the app, stdout and stderr apart. */
function sluicePerf(app: string, args: string, env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('npx', ['sluice-perf', ...args.split(' ')], { cwd: app, encoding: 'utf8', timeout: 120_000, env: { ...process.env, npm_config_yes: 'true', ...env } });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

describe('packed @sluice/core, @sluice/worker and @sluice/perf installed into a scratch app', function () {
  this.timeout(600_000);
  let dir: string;
  let perfTarball: string;
  let install: { status: number | null; out: string };

  before(async function () {
    this.timeout(600_000);
    dir = mkdtempSync(join(tmpdir(), 'sluice-pack-'));
    const tgz = join(dir, 'tgz');
    const app = join(dir, 'app');
    execFileSync('mkdir', ['-p', tgz]);
    execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' });
    execFileSync('npm', ['pack', '-w', '@sluice/core', '-w', '@sluice/worker', '-w', '@sluice/perf', '--pack-destination', tgz], { cwd: ROOT, stdio: 'ignore' });
    const files = readdirSync(tgz);
    const core = join(tgz, files.find((f) => f.startsWith('sluice-core-'))!);
    const worker = join(tgz, files.find((f) => f.startsWith('sluice-worker-'))!);
    perfTarball = join(tgz, files.find((f) => f.startsWith('sluice-perf-'))!);
    execFileSync('mkdir', ['-p', app]);
    writeFileSync(
      join(app, 'package.json'),
      JSON.stringify(
        {
          name: 'scratch-app',
          private: true,
          type: 'module',
          dependencies: { '@sluice/core': `file:${core}`, '@sluice/worker': `file:${worker}`, '@sluice/perf': `file:${perfTarball}` },
          // The README's one step. Name keys cover a registry install; a tarball is keyed by its path.
          allowScripts: { '@sluice/core': true, sse4_crc32: true, 'zstd-napi': true, lz4: true, [`file:${core}`]: true },
        },
        null,
        2,
      ),
    );
    install = run('npm', ['install', '--no-audit', '--no-fund'], app);
    writeFileSync(join(app, 'readme.mjs'), ESM_PROGRAM);
    writeFileSync(join(app, 'readme.ts'), TS_PROGRAM);
    writeFileSync(join(app, 'shared.mjs'), SHARED_PROGRAM);
    writeFileSync(join(app, 'ingest-thread.mjs'), SHARED_THREAD);
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: ['node'],
          typeRoots: [join(ROOT, 'node_modules', '@types')],
        },
        files: ['readme.ts'],
      }),
    );
  });

  after(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('installs quietly (no unreviewed install scripts) and builds Sluice’s own CRC32C', () => {
    expect(install.status, install.out).to.equal(0);
    expect(install.out).to.not.match(/not yet covered by allowScripts/);
  });

  it('runs the README examples as plain ESM from dist/: the embedded cluster, and gzip sealed on 2 worker threads', () => {
    const r = run(process.execPath, ['readme.mjs'], join(dir, 'app'), 120_000);
    expect(r.status, r.out).to.equal(0);
    const result = JSON.parse(r.out.trim().split('\n').at(-1)!) as { partition: number; offset: number; crc32c: string; threads: number };
    expect(result.offset).to.equal(0);
    expect(result.crc32c, 'the native CRC32C built at install').to.equal('sluice');
    expect(result.threads, 'seal.workers: 2 started two threads').to.equal(2);
  });

  it('runs the README shared-producer example from dist/: two appender threads send through one producer, every record acknowledged on its thread', () => {
    const r = run(process.execPath, ['shared.mjs'], join(dir, 'app'), 120_000);
    expect(r.status, r.out).to.equal(0);
    const results = JSON.parse(r.out.trim().split('\n').at(-1)!) as { acked: number; failed: number }[];
    expect(results).to.deep.equal([{ acked: 5000, failed: 0 }, { acked: 5000, failed: 0 }]);
  });

  it('type-checks a TypeScript program using the typed settings, callback errors and events', () => {
    const r = run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], join(dir, 'app'), 120_000);
    expect(r.status, r.out).to.equal(0);
  });

  it('resolves every export condition to a shipped file (node --conditions=source finds src/)', () => {
    const resolved = run(process.execPath, ['--input-type=module', '--conditions=source', '-e', "console.log(import.meta.resolve('@sluice/core'), import.meta.resolve('@sluice/worker'))"], join(dir, 'app'));
    expect(resolved.status, resolved.out).to.equal(0);
    for (const url of resolved.out.trim().split(/\s+/)) {
      const path = fileURLToPath(url);
      expect(() => execFileSync('test', ['-f', path]), path).to.not.throw();
    }
  });
  describe('npx sluice-perf (the compiled CLI of @sluice/perf)', () => {
    it('ships only the compiled CLI, its bin, README and LICENSE', () => {
      const entries = execFileSync('tar', ['-tzf', perfTarball], { encoding: 'utf8' }).trim().split('\n');
      for (const entry of entries) expect(entry).to.match(/^package\/(package\.json|README\.md|LICENSE|bin\/sluice-perf\.mjs|dist\/perf\/.+\.js)$/);
      expect(entries).to.include.members(['package/bin/sluice-perf.mjs', 'package/dist/perf/cli.js', 'package/README.md', 'package/LICENSE']);
      expect(existsSync(join(dir, 'app', 'node_modules', 'tsx')), 'no tsx in the app: the bin must run dist/ with plain node').to.equal(false);
    });

    it('runs a kafka-producer-perf-test command line from Kafka’s documentation, unchanged but for the name, against the embedded cluster (SLUICE_PERF_TARGET=embedded)', () => {
      const r = sluicePerf(join(dir, 'app'), '--topic test --num-records 50000 --record-size 100 --throughput -1 --producer-props bootstrap.servers=localhost:9092 acks=1', {
        SLUICE_PERF_TARGET: 'embedded',
      });
      expect(r.status, r.stdout + r.stderr).to.equal(0);
      expect(r.stderr).to.contain('SLUICE_PERF_TARGET=embedded: running against the embedded cluster instead of localhost:9092');
      // Kafka's final line (ProducerPerformance.Stats#printTotal), read with the parser that reads Kafka's own tool.
      const last = r.stdout.trim().split('\n').at(-1)!;
      const parsed = parseProducerPerformanceLine(last);
      expect(parsed, last).to.not.equal(null);
      expect(parsed!.steadyState).to.equal(false);
      expect(parsed!.summary.records).to.equal(50000);
      expect(parsed!.summary.recordsPerSec).to.be.greaterThan(0);
      expect(last).to.match(/^50000 records sent, \d+\.\d{6} records\/sec \(\d+\.\d{2} MB\/sec\), \d+\.\d{2} ms avg latency, \d+\.\d{2} ms max latency, \d+ ms 50th, \d+ ms 95th, \d+ ms 99th, \d+ ms 99\.9th\.$/);
    });

    it('starts seal threads from the installed packages’ dist/ (seal.workers=2 compression.type=gzip): batches sealed on them, none failed', () => {
      // A 2 s run (throughput cap), so the threads are up well before the records end.
      const r = sluicePerf(join(dir, 'app'), '--num-records 100000 --record-size 100 --throughput 50000 --producer-props seal.workers=2 compression.type=gzip --json --print-metrics');
      expect(r.status, r.stdout + r.stderr).to.equal(0);
      const j = JSON.parse(r.stdout.trim()) as { records: number; errors: number; metrics: { sealer: string; sealerStats: Record<string, number> } };
      expect(j).to.include({ records: 100000, errors: 0 });
      expect(j.metrics.sealer).to.equal('WorkerSealer');
      expect(j.metrics.sealerStats.lanesStarted, 'two seal threads').to.equal(2);
      expect(j.metrics.sealerStats.offloadedBatches, 'batches sealed on the threads').to.be.greaterThan(0);
      expect(j.metrics.sealerStats.failedBatches).to.equal(0);
    });

    it('--threads 2 --compare per-thread: the sending threads start from the installed dist/ (two appender threads of one producer, then two producers)', () => {
      const r = sluicePerf(join(dir, 'app'), '--num-records 40000 --record-size 100 --threads 2 --compare per-thread --no-progress');
      expect(r.status, r.stdout + r.stderr).to.equal(0);
      const lines = r.stdout.trim().split('\n');
      const finals = lines.map(parseProducerPerformanceLine).filter((p) => p !== null);
      expect(finals.map((p) => p!.summary.records), 'Kafka’s final line for each run').to.deep.equal([40000, 40000]);
      expect(lines.filter((l) => l.startsWith('threads: 2 appender threads sharing one producer; owner thread drain/send: '))).to.have.length(1);
      expect(lines.filter((l) => l.startsWith('threads: 2 producers, one per thread, over one buffer pool;'))).to.have.length(1);
      expect(r.stdout).to.match(/\| per-thread +\| +[\d,]+ \|/);
    });

    it('--compare kafkajs without kafkajs installed: one line naming the install command, before anything runs', () => {
      const r = sluicePerf(join(dir, 'app'), '--num-records 1000 --compare kafkajs');
      expect(r.status).to.equal(2);
      expect(r.stdout).to.equal('');
      expect(r.stderr.split('\n')[0]).to.equal(
        'sluice-perf: --compare kafkajs: kafkajs is not installed; install it with `npm install kafkajs` (an optional peer dependency of @sluice/perf)',
      );
    });
  });
});
