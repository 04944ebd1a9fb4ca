/**
 * `sluice-perf --threads N` end to end, through the bin (the TypeScript sources, the sending
 * threads started from their tsx bootstrap), on the embedded cluster: Kafka's lines for all
 * the threads together, the threads line, the `per-thread` baseline beside it, `--json`, and
 * the usage errors. The compiled CLI runs `--threads` in test/packaging/packed-install.test.ts;
 * against a broker in sluice-perf.broker.test.ts.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../../benchmarks/bin/sluice-perf.mjs', import.meta.url));

/** Kafka's final line, as scripts match it (integer-millisecond percentiles). */
const KAFKA_SUMMARY =
  /^\d+ (steady state )?records sent, [\d.]+ records\/sec \([\d.]+ MB\/sec\), [\d.]+ ms avg latency, [\d.]+ ms max latency, \d+ ms 50th, \d+ ms 95th, \d+ ms 99th, \d+ ms 99\.9th\.$/;
const SHARED_LINE =
  /^threads: 2 appender threads sharing one producer; owner thread drain\/send: [\d.]+% of a core, [\d.]+ us per batch \(\d+ batches, embedded broker half excluded: \d+ ms\); latency sampled: 1 record in 16 \(\d+ samples\)\.$/;
const PER_THREAD_LINE = /^threads: 2 producers, one per thread, over one buffer pool; latency sampled: 1 record in 16 \(\d+ samples\)\.$/;

function runBin(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, '--no-progress', ...args], { encoding: 'utf8', timeout: 20_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('sluice-perf --threads (end to end, through the bin)', function () {
  this.timeout(20_000);

  it('--threads 2: every record of an odd count sent by two appender threads, Kafka’s final line, then the threads line', () => {
    const r = runBin(['--num-records', '30001', '--record-size', '100', '--threads', '2']);
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stderr).to.equal('');
    const lines = r.stdout.trim().split('\n');
    expect(lines).to.have.length(2);
    expect(lines[0]).to.match(KAFKA_SUMMARY);
    expect(lines[0]).to.match(/^30001 records sent, /);
    expect(lines[1]).to.match(SHARED_LINE);
  }).timeout(20_000);

  it('--threads 2 --compare per-thread: both runs, each with its lines, and the table with the ratio', () => {
    const r = runBin(['--num-records', '30000', '--threads', '2', '--compare', 'per-thread']);
    expect(r.status, r.stderr).to.equal(0);
    const lines = r.stdout.trim().split('\n');
    const summaries = lines.filter((l) => KAFKA_SUMMARY.test(l));
    expect(summaries).to.have.length(2);
    for (const s of summaries) expect(s).to.match(/^30000 records sent, /);
    expect(lines.filter((l) => SHARED_LINE.test(l))).to.have.length(1);
    expect(lines.filter((l) => PER_THREAD_LINE.test(l))).to.have.length(1);
    expect(lines).to.include('--- peer per-thread (2 Sluice producers, one per thread, over one buffer pool) ---');
    expect(r.stdout).to.match(/\| sluice \(2 threads, shared\) +\| +[\d,]+ \|.*\| 1\.00x +\|/);
    expect(r.stdout).to.match(/\| per-thread +\| +[\d,]+ \|.*\| \d+\.\d\dx +\|/);
  });

  it('--json with a warm-up, keys and lz4: the measured records, the whole run, the threads and the owner’s cost', () => {
    const r = runBin(['--num-records', '20000', '--warmup-records', '5000', '--threads', '3', '--key-size', '8', '--producer-props', 'compression.type=lz4', '--json']);
    expect(r.status, r.stderr).to.equal(0);
    const j = JSON.parse(r.stdout.trim()) as {
      records: number;
      errors: number;
      wholeRun: { records: number };
      config: { threads: number; workers: number };
      threads: { model: string; threads: number; latencySamples: number; owner: { coreShare: number; batches: number } };
    };
    expect(j).to.include({ records: 15000, errors: 0 });
    expect(j.wholeRun.records).to.equal(20000);
    expect(j.config).to.include({ threads: 3, workers: 0 });
    expect(j.threads).to.include({ model: 'shared', threads: 3 });
    expect(j.threads.latencySamples).to.be.greaterThan(15000 / 16 - 3);
    expect(j.threads.owner.coreShare).to.be.greaterThan(0);
    expect(j.threads.owner.batches).to.be.greaterThan(0);
  });

  it('--threads 0 and --threads x: a usage error naming the option and the value, exit code 2', () => {
    for (const [value, message] of [
      ['0', 'sluice-perf: --threads must be an integer in [1, 63], got 0'],
      ['x', 'sluice-perf: --threads must be an integer, got "x"'],
    ]) {
      const r = runBin(['--threads', value]);
      expect(r.status).to.equal(2);
      expect(r.stdout).to.equal('');
      expect(r.stderr.split('\n')[0]).to.equal(message);
    }
  });
});
