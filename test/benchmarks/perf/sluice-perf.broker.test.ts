/**
 * sluice-perf --bootstrap-server against the run's shared Kafka 4.4 broker (test/brokers):
 * Sluice over the wire transport, the topic created with --partitions, every record read back
 * by kcat; `--threads 2` beside its per-thread baseline; then each broker peer once on a few
 * thousand records. Skipped, naming what is missing, only without java or kcat.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { consumeAll } from '../../brokers/kcat.js';
import type { KafkaCluster } from '../../brokers/kafka-broker.js';
import { sharedKafka } from '../../brokers/shared-kafka.js';
import { findMissingCommands } from '../../brokers/tracked-process.js';

const BIN = fileURLToPath(new URL('../../../benchmarks/bin/sluice-perf.mjs', import.meta.url));
const KAFKA_SUMMARY =
  /^\d+ (steady state )?records sent, [\d.]+ records\/sec \([\d.]+ MB\/sec\), [\d.]+ ms avg latency, [\d.]+ ms max latency, \d+ ms 50th, \d+ ms 95th, \d+ ms 99th, \d+ ms 99\.9th\.$/;

function runBin(args: string[], timeoutMs: number): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

describe('sluice-perf --bootstrap-server (against the shared Kafka)', function () {
  this.timeout(120_000);
  let kafka: KafkaCluster;

  before(async function () {
    const missing = findMissingCommands(['java', 'kcat']);
    if (missing.length > 0) {
      console.warn(`      SKIPPED sluice-perf against Kafka: ${missing.join(', ')} not installed`);
      this.skip();
    }
    kafka = await sharedKafka();
  });

  it('runs Sluice over the wire transport, creates the topic with --partitions, and every record reaches the broker', async () => {
    const topic = 'sluice-perf-smoke';
    const r = await runBin(
      ['--bootstrap-server', kafka.bootstrapServers, '--topic', topic, '--partitions', '4', '--num-records', '5000', '--record-size', '100', '--key-size', '16', '--throughput', '-1', '--no-progress'],
      60_000,
    );
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stderr).to.contain(`created topic ${topic} with 4 partitions`);
    const line = r.stdout.trim().split('\n').pop()!;
    expect(line).to.match(KAFKA_SUMMARY);
    expect(line).to.match(/^5000 records sent/);
    const md = await kafka.metadata([topic]);
    expect(md.topics[0].partitions).to.have.length(4);
    const records = await consumeAll({ bootstrap: kafka.bootstrapServers, topic, count: 5000, timeoutMs: 30_000 });
    expect(records).to.have.length(5000);
    for (const rec of records.slice(0, 50)) {
      expect(rec.key!.length).to.equal(16);
      expect(rec.value!.length).to.equal(100);
    }
    expect(new Set(records.map((x) => x.partition)).size).to.equal(4);
  });

  it('uses an existing topic as it is, and --json names the broker as the target', async () => {
    const topic = 'sluice-perf-smoke-existing';
    await kafka.createTopic(topic, 3);
    const r = await runBin(['--bootstrap-server', kafka.bootstrapServers, '--topic', topic, '--num-records', '3000', '--json'], 60_000);
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stderr).to.contain(`topic ${topic} has 3 partitions`);
    const j = JSON.parse(r.stdout.trim()) as { target: string; records: number; errors: number; config: { partitions: number } };
    expect(j).to.include({ target: `broker:${kafka.bootstrapServers}`, records: 3000, errors: 0 });
    expect(j.config.partitions).to.equal(3);
  });

  it('--threads 2 --compare per-thread: two appender threads of one producer over the wire, then two producers; every record of both reaches the topic it created', async () => {
    const topic = 'sluice-perf-smoke-threads';
    const r = await runBin(
      ['--bootstrap-server', kafka.bootstrapServers, '--topic', topic, '--partitions', '3', '--num-records', '4001', '--threads', '2', '--compare', 'per-thread', '--json'],
      60_000,
    );
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stderr).to.contain(`created topic ${topic} with 3 partitions`);
    const j = JSON.parse(r.stdout.trim()) as {
      target: string;
      records: number;
      errors: number;
      threads: { model: string; threads: number; owner: { batches: number; brokerMs: number } };
      peers: { name: string; recordsPerSec: number; ratio: number; errors: number }[];
    };
    expect(j).to.include({ target: `broker:${kafka.bootstrapServers}`, records: 4001, errors: 0 });
    expect(j.threads).to.include({ model: 'shared', threads: 2 });
    expect(j.threads.owner.batches).to.be.greaterThan(0);
    expect(j.threads.owner.brokerMs, 'no broker half on this thread against a real broker').to.equal(0);
    expect(j.peers.map((p) => p.name)).to.deep.equal(['per-thread']);
    expect(j.peers[0]).to.include({ errors: 0 });
    expect(j.peers[0].ratio).to.be.greaterThan(0);
    const consumed = await consumeAll({ bootstrap: kafka.bootstrapServers, topic, count: 8002, timeoutMs: 30_000 });
    expect(consumed).to.have.length(8002);
    for (const rec of consumed.slice(0, 20)) expect(rec.value!.length).to.equal(100);
  });

  it('compares with Kafka’s Java tool, librdkafka (kcat), kafkajs and @platformatic/kafka on the same records', async () => {
    const r = await runBin(
      [
        '--bootstrap-server',
        kafka.bootstrapServers,
        '--topic',
        'sluice-perf-smoke-peers',
        '--num-records',
        '3000',
        '--key-size',
        '16',
        '--producer-props',
        'linger.ms=5',
        'compression.type=lz4',
        '--compare',
        'java,librdkafka,kafkajs,platformatic',
        '--json',
      ],
      110_000,
    );
    expect(r.status, r.stderr).to.equal(0);
    const j = JSON.parse(r.stdout.trim()) as { records: number; peers: { name: string; recordsPerSec: number; ratio: number; errors: number }[]; skippedPeers: unknown[] };
    expect(j.records).to.equal(3000);
    expect(j.skippedPeers, JSON.stringify(j.skippedPeers)).to.deep.equal([]);
    expect(j.peers.map((p) => p.name)).to.deep.equal(['java', 'librdkafka', 'kafkajs', 'platformatic']);
    for (const p of j.peers) {
      expect(p.recordsPerSec, p.name).to.be.greaterThan(0);
      expect(p.ratio, p.name).to.be.greaterThan(0);
      expect(p.errors, p.name).to.equal(0);
    }
    const consumed = await consumeAll({ bootstrap: kafka.bootstrapServers, topic: 'sluice-perf-smoke-peers', count: 15_000, timeoutMs: 30_000 });
    expect(consumed).to.have.length(15_000);
  });
});
