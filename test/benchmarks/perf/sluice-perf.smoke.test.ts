import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../../benchmarks/bin/sluice-perf.mjs', import.meta.url));

/** Kafka's final line, as scripts match it (integer-millisecond percentiles). */
const KAFKA_SUMMARY =
  /^\d+ (steady state )?records sent, [\d.]+ records\/sec \([\d.]+ MB\/sec\), [\d.]+ ms avg latency, [\d.]+ ms max latency, \d+ ms 50th, \d+ ms 95th, \d+ ms 99th, \d+ ms 99\.9th\.$/;

function runBin(args: string[], env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, ...env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('sluice-perf (end to end, through the bin)', function () {
  this.timeout(20_000);

  it('runs a small --json run against the embedded cluster, with the kafkajs peer', () => {
    const r = runBin(['--num-records', '20000', '--record-size', '100', '--partitions', '3', '--json', '--compare', 'kafkajs']);
    expect(r.status, r.stderr).to.equal(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines, 'exactly one line of JSON on stdout').to.have.length(1);
    const j = JSON.parse(lines[0]) as Record<string, unknown>;
    expect(j).to.include({ tool: 'sluice-perf', target: 'embedded', records: 20000, errors: 0 });
    expect(j.recordsPerSec).to.be.a('number').and.be.greaterThan(0);
    expect(j.mbPerSec).to.be.a('number').and.be.greaterThan(0);
    const latency = j.latencyMs as Record<string, number>;
    expect(latency).to.have.keys(['avg', 'max', 'p50', 'p95', 'p99', 'p999']);
    expect(latency.p50).to.be.at.most(latency.p99);
    expect(latency.p99).to.be.at.most(latency.max);
    const config = j.config as Record<string, unknown>;
    expect(config).to.include({ numRecords: 20000, recordSize: 100, partitions: 3, target: 'embedded' });
    expect(config.producer).to.include({ 'batch.size': 16384, 'linger.ms': 5, 'compression.type': 'none' });
    expect(j.machine).to.have.property('logicalCpus');
    const peers = j.peers as Record<string, unknown>[];
    expect(peers).to.have.length(1);
    expect(peers[0]).to.include({ name: 'kafkajs', errors: 0 });
    expect(peers[0].ratio).to.be.a('number').and.be.greaterThan(0);
    expect(peers[0].recordsPerSec).to.be.a('number').and.be.greaterThan(0);
  });

  it('prints Kafka’s final line without --json', () => {
    const r = runBin(['--num-records', '5000', '--no-progress']);
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout.trim()).to.match(KAFKA_SUMMARY);
    expect(r.stdout.trim()).to.match(/^5000 records sent/);
    expect(r.stderr).to.equal('');
  });

  it('accounts for every record in fail-fast mode (max.block.ms=0): records + errors = num-records, and it keeps making progress', () => {
    const r = runBin(['--num-records', '60000', '--producer-props', 'buffer.memory=65536', 'max.block.ms=0', '--json']);
    expect(r.status, `a run with failed records exits 1; stderr: ${r.stderr}`).to.equal(1);
    const j = JSON.parse(r.stdout.trim()) as { records: number; errors: number };
    expect(j.records + j.errors).to.equal(60000);
    // 64 KiB holds four 16 KiB batches (~600 records): more acknowledged means memory was reused.
    expect(j.records).to.be.greaterThan(1000);
    expect(j.errors).to.be.greaterThan(0);
  });

  it('runs the kafka-producer-perf-test command line of Kafka’s documentation unchanged, against the embedded cluster with SLUICE_PERF_TARGET=embedded', () => {
    // docs/ops.html: bin/kafka-producer-perf-test.sh --topic tieredTopic --num-records 1200 --record-size 1024 --throughput -1 --producer-props bootstrap.servers=localhost:9092
    const r = runBin('--topic tieredTopic --num-records 1200 --record-size 1024 --throughput -1 --producer-props bootstrap.servers=localhost:9092'.split(' '), {
      SLUICE_PERF_TARGET: 'embedded',
    });
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout.trim()).to.match(KAFKA_SUMMARY);
    expect(r.stdout.trim()).to.match(/^1200 records sent/);
    expect(r.stderr).to.match(/SLUICE_PERF_TARGET=embedded: running against the embedded cluster instead of localhost:9092/);
  });

  it('with --warmup-records: says so, then prints the whole-run line beside the steady-state one', () => {
    const r = runBin(['--num-records', '20000', '--warmup-records', '5000', '--no-progress']);
    expect(r.status, r.stderr).to.equal(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).to.equal('Warmup first 5000 records. Steady state results will print after the complete test summary.');
    expect(lines).to.include('In steady state.');
    const summaries = lines.filter((l) => KAFKA_SUMMARY.test(l));
    expect(summaries).to.have.length(2);
    expect(summaries[0]).to.match(/^20000 records sent/);
    expect(summaries[1]).to.match(/^15000 steady state records sent/);
  });

  it('Ctrl-C prints the summary of what was measured so far and exits 130', async function () {
    this.timeout(30_000);
    const child = spawn(process.execPath, [BIN, '--num-records', '500000000', '--throughput', '200000'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    await new Promise((resolve) => setTimeout(resolve, 3000));
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    expect(code, err).to.equal(130);
    expect(err).to.match(/interrupted: sending stopped/);
    const summary = out.trim().split('\n').pop()!;
    expect(summary).to.match(KAFKA_SUMMARY);
    expect(Number(/^(\d+)/.exec(summary)![1])).to.be.greaterThan(1000);
  });
});
