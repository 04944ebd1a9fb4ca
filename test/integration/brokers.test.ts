/**
 * Proves the broker infrastructure under test/brokers/ before anything relies on it: a real
 * Kafka 4.4 (shared single node, and a 3-node cluster with a node stopped and restarted), the
 * librdkafka mock cluster with its fault commands, kcat as producer and independent consumer,
 * and Kafka's ProducerPerformance as a benchmark peer.
 *
 * A block is skipped — loudly, naming the missing command — only when java, kcat or gcc is not
 * installed; any other failure (no jars and no Maven, no librdkafka-dev) fails the suite.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runProducerPerformance } from '../brokers/java-perf.js';
import { startKafkaCluster, type KafkaCluster } from '../brokers/kafka-broker.js';
import { consumeAll, parseKcatOutput, produceLines, type ConsumedRecord } from '../brokers/kcat.js';
import { MOCK_ERR_TRANSPORT, MockApiKey, startMockCluster, type MockCluster } from '../brokers/mock-cluster.js';
import { sharedKafka } from '../brokers/shared-kafka.js';
import { findMissingCommands, runCommand } from '../brokers/tracked-process.js';

/** Kafka's NOT_LEADER_OR_FOLLOWER: retriable, so a producer retries through it. */
const NOT_LEADER_OR_FOLLOWER = 6;

/** Skips the calling hook's suite with a visible reason when `commands` are missing. */
function skipUnlessInstalled(context: Mocha.Context, commands: readonly string[], what: string): void {
  const missing = findMissingCommands(commands);
  if (missing.length === 0) return;
  const message = `SKIPPED ${what}: ${missing.join(', ')} not installed (.ci/run installs kcat and librdkafka-dev; the CI image has java and gcc)`;
  console.warn(`      ${message}`);
  context.skip();
}

let scratchDir: string;
before(() => {
  scratchDir = mkdtempSync(join(tmpdir(), 'sluice-brokers-test-'));
});
after(() => rmSync(scratchDir, { recursive: true, force: true }));

/** Writes `lines` to a file for `kcat -P -l`. */
function linesFile(name: string, lines: readonly (string | Buffer)[]): string {
  const path = join(scratchDir, name);
  writeFileSync(path, Buffer.concat(lines.flatMap((line) => [Buffer.from(line), Buffer.from('\n')])));
  return path;
}

/** The error `promise` rejects with; fails the test when it resolves. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  expect.fail('expected a rejection');
}

function byPartitionThenOffset(a: ConsumedRecord, b: ConsumedRecord): number {
  return a.partition - b.partition || a.offset - b.offset;
}

/** `kcat -L -J` (metadata as JSON): partition → leader id. */
async function leadersByKcat(bootstrap: string, topic: string): Promise<Map<number, number>> {
  const { stdout } = await runCommand('kcat', ['-L', '-J', '-b', bootstrap, '-t', topic], { timeoutMs: 15_000 });
  const metadata = JSON.parse(stdout.toString('utf8')) as { topics: Array<{ topic: string; partitions: Array<{ partition: number; leader: number }> }> };
  const topicMetadata = metadata.topics.find((t) => t.topic === topic);
  expect(topicMetadata, `kcat -L lists ${topic}`).to.not.equal(undefined);
  return new Map(topicMetadata!.partitions.map((p) => [p.partition, p.leader]));
}

describe('test brokers', function () {
  describe('parseKcatOutput()', function () {
    it('splits records by the printed lengths, so values may hold newlines and any byte', function () {
      const value = Buffer.from([0x0a, 0x00, 0xff, 0x52, 0x20, 0x0a]);
      const output = Buffer.concat([
        Buffer.from('R 0 7 1700000000000 -1 6 \n'),
        value,
        Buffer.from('\nR 2 0 -1 2 -1 a=1,b=NULL\nk1\n'),
        Buffer.from('R 1 0 5 0 0 \n\n'),
        Buffer.from('R 1 1 5 0 9 \npartial'),
      ]);
      const { records, consumedBytes } = parseKcatOutput(output);
      expect(records).to.have.length(3);
      expect(records[0]).to.deep.include({ partition: 0, offset: 7, timestampMs: 1_700_000_000_000, key: null, headers: [] });
      expect(records[0].value).to.deep.equal(value);
      expect(records[1]).to.deep.include({ partition: 2, offset: 0, timestampMs: -1, value: null, headers: [['a', '1'], ['b', null]] });
      expect(records[1].key).to.deep.equal(Buffer.from('k1'));
      expect(records[2].key).to.deep.equal(Buffer.alloc(0));
      expect(records[2].value).to.deep.equal(Buffer.alloc(0));
      expect(output.subarray(consumedBytes).toString()).to.equal('R 1 1 5 0 9 \npartial');
    });

    it('rejects output that does not follow the format, naming the byte offset', function () {
      expect(() => parseKcatOutput(Buffer.from('R 0 0 1 -1 1 \nxR 0 1 1 -1 1 \ny\n'))).to.throw(/not followed by a newline/);
      expect(() => parseKcatOutput(Buffer.from('hello\n'))).to.throw(/at byte 0/);
    });
  });

  describe('shared single-node Kafka 4.4', function () {
    let kafka: KafkaCluster;

    before(async function () {
      skipUnlessInstalled(this, ['java', 'kcat'], 'real-Kafka tests');
      this.timeout(180_000);
      kafka = await sharedKafka();
      console.log(`      (Kafka started in ${Math.round(kafka.startupMs)} ms at ${kafka.bootstrapServers})`);
    });

    it('reads back with kcat, in order, 100 lines produced with kcat -P', async function () {
      this.timeout(60_000);
      const startMs = performance.now();
      await kafka.createTopic('brokers-test-lines', 1, 1);
      console.log(`      (createTopic took ${Math.round(performance.now() - startMs)} ms)`);
      const lines = Array.from({ length: 100 }, (_, i) => `line-${i}-${'x'.repeat(i)}`);
      await produceLines({ bootstrap: kafka.bootstrapServers, topic: 'brokers-test-lines', file: linesFile('lines.txt', lines), extraProps: { acks: 'all' } });
      const records = await consumeAll({ bootstrap: kafka.bootstrapServers, topic: 'brokers-test-lines', count: 100 });
      expect(records.map((r) => r.offset)).to.deep.equal(lines.map((_, i) => i));
      expect(records.every((r) => r.key === null && r.partition === 0 && r.headers.length === 0)).to.equal(true);
      expect(records.map((r) => r.value!.toString())).to.deep.equal(lines);
      expect(records.every((r) => Math.abs(r.timestampMs - Date.now()) < 120_000)).to.equal(true);
    });

    it('keeps keys and non-UTF-8 bytes intact through kcat -P -K and the length-prefixed format', async function () {
      this.timeout(60_000);
      const binary = Buffer.from([0x00, 0xff, 0xfe, 0x0d, 0x80, 0x20]);
      const lines = [Buffer.concat([Buffer.from('key-a\t'), binary]), Buffer.from('key-b\tplain'), Buffer.from('\tempty-key')];
      await produceLines({ bootstrap: kafka.bootstrapServers, topic: 'brokers-test-binary', file: linesFile('binary.txt', lines), keyDelimiter: '\t', partition: 0 });
      const records = await consumeAll({ bootstrap: kafka.bootstrapServers, topic: 'brokers-test-binary', count: 3 });
      expect(records.map((r) => r.key?.toString())).to.deep.equal(['key-a', 'key-b', '']);
      expect(records[0].value).to.deep.equal(binary);
      expect(records[1].value!.toString()).to.equal('plain');
      expect(records[2].value!.toString()).to.equal('empty-key');
    });

    it('runs Kafka ProducerPerformance for 10,000 records and parses its summary', async function () {
      this.timeout(120_000);
      await kafka.createTopic('brokers-test-perf', 1, 1);
      const result = await runProducerPerformance({
        bootstrap: kafka.bootstrapServers,
        topic: 'brokers-test-perf',
        numRecords: 10_000,
        recordSizeBytes: 100,
        producerProps: { acks: 'all', 'linger.ms': '5' },
        timeoutMs: 90_000,
      });
      console.log(`      (ProducerPerformance: ${result.total.recordsPerSec.toFixed(0)} records/s, p99 ${result.total.p99LatencyMs} ms, JVM ${Math.round(result.elapsedMs)} ms)`);
      expect(result.total.records).to.equal(10_000);
      expect(result.total.recordsPerSec).to.be.greaterThan(0);
      expect(result.total.p50LatencyMs).to.be.at.most(result.total.p99LatencyMs);
      expect(result.total.p99LatencyMs).to.be.at.most(result.total.maxLatencyMs);
      expect(result.steadyState).to.equal(null);
      const records = await consumeAll({ bootstrap: kafka.bootstrapServers, topic: 'brokers-test-perf', count: 10_000 });
      expect(records.at(-1)!.offset).to.equal(9_999);
      expect(records.every((r) => r.value!.length === 100)).to.equal(true);
    });
  });

  describe('librdkafka mock cluster', function () {
    let mock: MockCluster;
    const topic = 'mock-topic';

    before(async function () {
      skipUnlessInstalled(this, ['gcc', 'kcat'], 'mock-cluster tests');
      this.timeout(120_000);
      const startMs = performance.now();
      mock = await startMockCluster({ brokers: 3, topics: [{ name: topic, partitions: 4 }] });
      console.log(`      (mock cluster built and started in ${Math.round(performance.now() - startMs)} ms at ${mock.bootstrapServers})`);
    });

    after(async function () {
      this.timeout(10_000);
      await mock?.stop();
    });

    it('moves leaders where the test says, as kcat -L sees them', async function () {
      this.timeout(30_000);
      const wanted = [2, 1, 1, 2];
      for (const [partition, leader] of wanted.entries()) await mock.setPartitionLeader(topic, partition, leader);
      const leaders = await leadersByKcat(mock.bootstrapServers, topic);
      expect([0, 1, 2, 3].map((p) => leaders.get(p))).to.deep.equal(wanted);
    });

    it('answers ERR for bad commands without losing the command stream', async function () {
      expect(String(await rejection(mock.setPartitionLeader(topic, 99, 1)))).to.match(/UNKNOWN_TOPIC_OR_PART/);
      expect(String(await rejection(mock.command('no-such-command')))).to.match(/unknown command 'no-such-command'/);
      expect(String(await rejection(mock.pushRequestErrors(MockApiKey.PRODUCE, [])))).to.match(/usage: errors/);
      await mock.ping();
    });

    it('delivers through a broker that is down (no leaders) and through pushed Produce errors', async function () {
      this.timeout(60_000);
      await mock.setPartitionLeader(topic, 0, 2);
      await mock.setPartitionLeader(topic, 1, 1);
      await mock.setBrokerDown(3);
      await mock.pushBrokerRequestErrors(2, MockApiKey.PRODUCE, [
        { code: NOT_LEADER_OR_FOLLOWER, rttMs: 50 },
        { code: 0, rttMs: 100 },
      ]);
      await mock.pushRequestErrors(MockApiKey.PRODUCE, [NOT_LEADER_OR_FOLLOWER, MOCK_ERR_TRANSPORT]);
      const lines = Array.from({ length: 40 }, (_, i) => `mock-${i}`);
      await produceLines({
        bootstrap: mock.bootstrapServers,
        topic,
        partition: 0,
        file: linesFile('mock.txt', lines),
        extraProps: { 'retry.backoff.ms': '50', 'enable.idempotence': 'true' },
      });
      expect(await mock.brokerErrorStackCount(2, MockApiKey.PRODUCE)).to.equal(0);
      await mock.setBrokerUp(3);
      await mock.setBrokerRtt(1, 20);
      await produceLines({ bootstrap: mock.bootstrapServers, topic, partition: 1, file: linesFile('mock-1.txt', ['on-partition-1']) });
      await mock.setBrokerRtt(1, 0);

      const records = (await consumeAll({ bootstrap: mock.bootstrapServers, topic, count: 41 })).sort(byPartitionThenOffset);
      expect(records.filter((r) => r.partition === 0).map((r) => r.value!.toString())).to.deep.equal(lines);
      expect(records.filter((r) => r.partition === 0).map((r) => r.offset)).to.deep.equal(lines.map((_, i) => i));
      expect(records.filter((r) => r.partition === 1).map((r) => r.value!.toString())).to.deep.equal(['on-partition-1']);
    });
  });

  describe('3-node Kafka 4.4 cluster', function () {
    let cluster: KafkaCluster | undefined;

    before(async function () {
      skipUnlessInstalled(this, ['java', 'kcat'], '3-node Kafka tests');
      this.timeout(180_000);
      cluster = await startKafkaCluster({ nodes: 3 });
      console.log(`      (3-node Kafka started in ${Math.round(cluster.startupMs)} ms)`);
    });

    after(async function () {
      this.timeout(30_000);
      await cluster?.stop();
    });

    it('keeps a replication-factor-3 topic readable and writable while a node is stopped and restarted', async function () {
      this.timeout(120_000);
      const kafka = cluster!;
      const topic = 'replicated';
      await kafka.createTopic(topic, 3, 3);
      const before = await kafka.metadata([topic]);
      expect(before.topics[0].partitions.map((p) => p.isr.length)).to.deep.equal([3, 3, 3]);
      const firstHalf = Array.from({ length: 30 }, (_, i) => `before-${i}`);
      await produceLines({ bootstrap: kafka.bootstrapServers, topic, partition: 0, file: linesFile('r1.txt', firstHalf), extraProps: { acks: 'all' } });

      const victim = before.topics[0].partitions[0].leaderId;
      const stopMs = performance.now();
      await kafka.stopNode(victim, 'SIGKILL');
      expect(kafka.nodes[victim - 1].running).to.equal(false);
      await kafka.waitForTopics([topic]);
      const after = await kafka.metadata([topic]);
      console.log(`      (leaders moved off killed node ${victim} in ${Math.round(performance.now() - stopMs)} ms)`);
      expect(after.topics[0].partitions.every((p) => p.leaderId !== victim)).to.equal(true);

      const secondHalf = Array.from({ length: 30 }, (_, i) => `after-${i}`);
      await produceLines({ bootstrap: kafka.bootstrapServers, topic, partition: 0, file: linesFile('r2.txt', secondHalf), extraProps: { acks: 'all' } });

      const restartMs = performance.now();
      await kafka.startNode(victim);
      console.log(`      (node ${victim} restarted in ${Math.round(performance.now() - restartMs)} ms)`);
      expect(kafka.nodes[victim - 1].running).to.equal(true);
      await kafka.waitForTopics([topic]);

      const records = await consumeAll({ bootstrap: kafka.bootstrapServers, topic, partition: 0, count: 60 });
      expect(records.map((r) => r.value!.toString())).to.deep.equal([...firstHalf, ...secondHalf]);
      expect(records.map((r) => r.offset)).to.deep.equal(records.map((_, i) => i));
    });
  });
});
