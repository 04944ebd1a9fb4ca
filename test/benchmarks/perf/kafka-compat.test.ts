import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OPTIONS, UsageError, effectiveProducerConfig, helpText, parseArgs, producerInput, unknownOptionMessage } from '../../../benchmarks/perf/cli.js';
import { closestName, editDistance } from '../../../benchmarks/perf/closest-name.js';
import { classifySetting, redactValue, settingNotes } from '../../../benchmarks/perf/kafka-settings.js';
import { formatFinalLine, formatSummaryLines, formatWarmupLine, formatWindowLine, STEADY_STATE_LINE } from '../../../benchmarks/perf/report.js';
import type { RunTotals } from '../../../benchmarks/perf/report.js';
import { medianRun, sweepSchedule, sweepWarmupRecords } from '../../../benchmarks/perf/sweep.js';
import type { PerfJson } from '../../../benchmarks/perf/report.js';
import { javaPeerArgs, javaPeerUnavailable, javaProducerProps } from '../../../benchmarks/perf/peers/java-peer.js';
import { librdkafkaProps } from '../../../benchmarks/perf/peers/kcat-peer.js';
import { buildWorkload, recordSequence } from '../../../benchmarks/perf/workload.js';
import { parseProducerPerformanceLine } from '../../../benchmarks/perf/peers/producer-performance.js';

/**
 * What scripts that read Kafka's kafka-producer-perf-test output match (the shape of
 * test/brokers/java-perf.ts's parser and of Kafka's own system tests: integer percentiles).
 */
const KAFKA_SUMMARY =
  /^(\d+) (steady state )?records sent, ([\d.]+) records\/sec \(([\d.]+) MB\/sec\), ([\d.]+) ms avg latency, ([\d.]+) ms max latency, (\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th, (\d+) ms 99\.9th\.$/;
const KAFKA_WINDOW = /^(\d+) records sent, ([\d.]+) records\/sec \(([\d.]+) MB\/sec\), ([\d.]+) ms avg latency, ([\d.]+) ms max latency\.$/;

function usageError(argv: string[], env: Record<string, string> = {}): string {
  try {
    parseArgs(argv, env);
  } catch (err) {
    expect(err).to.be.instanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error(`expected a UsageError for ${argv.join(' ')}`);
}

const totals: RunTotals = {
  records: 1_200,
  errors: 0,
  bytes: 1_228_800,
  elapsedMs: 250,
  latencyMs: { avg: 4.4449, max: 17.5, p50: 3.49, p95: 9.51, p99: 16.2, p999: 17.5 },
};

describe('sluice-perf: the habits of Kafka’s kafka-producer-perf-test', () => {
  describe('command lines written for Kafka’s tool', () => {
    it('takes the command line of Kafka’s documentation unchanged (docs/ops.html, tiered storage)', () => {
      const o = parseArgs('--topic tieredTopic --num-records 1200 --record-size 1024 --throughput -1 --producer-props bootstrap.servers=localhost:9092'.split(' '));
      expect(o).to.include({ topic: 'tieredTopic', numRecords: 1200, recordSize: 1024, throughput: -1, bootstrapServer: 'localhost:9092' });
    });

    it('runs that command line against the embedded cluster with SLUICE_PERF_TARGET=embedded, and says so', () => {
      const o = parseArgs('--topic tieredTopic --num-records 1200 --record-size 1024 --throughput -1 --producer-props bootstrap.servers=localhost:9092'.split(' '), {
        SLUICE_PERF_TARGET: 'embedded',
      });
      expect(o.bootstrapServer).to.equal(null);
      expect(o.notes.join('\n')).to.match(/SLUICE_PERF_TARGET=embedded: running against the embedded cluster instead of localhost:9092/);
      expect(producerInput(o)).to.not.have.property('bootstrap.servers');
    });

    it('takes --producer-props with bootstrap.servers, client.id and acks, and --command-property (Kafka 4’s name)', () => {
      for (const flag of ['--producer-props', '--command-property']) {
        const o = parseArgs([flag, 'bootstrap.servers=k1:9092,k2:9092', 'client.id=perf', 'acks=1', '--topic', 't']);
        expect(o.bootstrapServer).to.equal('k1:9092,k2:9092');
        expect(producerInput(o)).to.deep.equal({ 'client.id': 'perf', acks: '1', 'bootstrap.servers': 'k1:9092,k2:9092' });
        expect(effectiveProducerConfig(o)).to.include({ clientId: 'perf', acks: 1 });
      }
    });

    it('reads a --producer.config / --command-config file, the flags winning over the file', () => {
      const dir = mkdtempSync(join(tmpdir(), 'sluice-perf-'));
      const file = join(dir, 'producer.properties');
      writeFileSync(file, 'bootstrap.servers=broker:9092\nacks=all\nlinger.ms=20\nkey.serializer=org.apache.kafka.common.serialization.ByteArraySerializer\n');
      for (const flag of ['--producer.config', '--command-config']) {
        const o = parseArgs([flag, file, '--producer-props', 'linger.ms=1']);
        expect(o.bootstrapServer).to.equal('broker:9092');
        expect(effectiveProducerConfig(o)).to.include({ lingerMs: 1, acks: -1 });
      }
    });

    it('accepts Java-only settings with one note that they do not apply, and other Kafka settings with one note that they are ignored', () => {
      const o = parseArgs([
        '--producer-props',
        'key.serializer=org.apache.kafka.common.serialization.StringSerializer',
        'value.serializer=org.apache.kafka.common.serialization.StringSerializer',
        'partitioner.class=x.Y',
        'send.buffer.bytes=131072',
      ]);
      expect(o.notes).to.have.length(2);
      expect(o.notes[0]).to.match(/^note: key\.serializer, value\.serializer, partitioner\.class do not apply to Sluice/);
      expect(o.notes[1]).to.match(/^note: send\.buffer\.bytes is a Kafka producer setting Sluice does not implement; ignored$/);
      expect(producerInput(o)).to.deep.equal({});
      expect(classifySetting('value.serializer')).to.equal('java-only');
      expect(classifySetting('batch.size')).to.equal('producer');
      expect(classifySetting('batchSize')).to.equal('producer');
    });

    it('takes --payload-monotonic, and exactly one payload option', () => {
      const o = parseArgs(['--payload-monotonic', '--num-records', '10']);
      expect(o).to.include({ payloadMonotonic: true, recordSize: null });
      const w = buildWorkload(o);
      expect(w.monotonic).to.equal(true);
      expect(usageError(['--payload-monotonic', '--record-size', '10'])).to.match(/exactly one of --record-size, --payload-file or --payload-monotonic/);
    });

    it('takes Kafka 4’s key options: --key-distribution range|random with --record-key-range', () => {
      const o = parseArgs(['--key-distribution', 'range', '--record-key-range', '10']);
      const w = buildWorkload(o);
      expect(w.keys!.slice(0, 12).map((k) => k.toString())).to.deep.equal(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '0', '1']);
      expect(usageError(['--key-distribution', 'random'])).to.match(/--record-key-range is required/);
      expect(usageError(['--record-key-range', '5'])).to.match(/--key-distribution must be 'range' or 'random'/);
      expect(parseArgs(['--random-seed', '7']).seed).to.equal(7);
    });

    it('refuses transactions clearly, however they are asked for', () => {
      expect(usageError(['--transactional-id', 'tx-1'])).to.match(/--transactional-id: transactions are not supported by Sluice/);
      expect(usageError(['--transaction-duration-ms', '100'])).to.match(/transactions are not supported/);
      expect(usageError(['--producer-props', 'transactional.id=tx-1'])).to.match(/transactional\.id: transactions are not supported by Sluice/);
    });

    it('suggests the closest option or setting for a typo', () => {
      expect(usageError(['--num-record', '5'])).to.equal('unknown option --num-record; did you mean --num-records?');
      expect(usageError(['--recod-size', '5'])).to.match(/did you mean --record-size\?/);
      expect(usageError(['--producer-prop', 'acks=1'])).to.match(/did you mean --producer-props\?/);
      expect(usageError(['--producer-props', 'linger.sm=5'])).to.match(/unknown producer property "linger\.sm"; did you mean linger\.ms\?/);
      expect(usageError(['--compare', 'kafkjs'])).to.match(/did you mean kafkajs\?/);
      expect(unknownOptionMessage('--zzzzzzzzzz')).to.equal('unknown option --zzzzzzzzzz');
      expect(editDistance('--nmu-records', '--num-records')).to.equal(1);
      expect(closestName('colour', ['workers', 'partitions'])).to.equal(null);
    });

    it('lists every option in --help', () => {
      const text = helpText();
      for (const option of OPTIONS) expect(text, option).to.contain(option);
    });
  });

  describe('security settings', () => {
    it('passes security.protocol, ssl.* and sasl.* (sasl.jaas.config with its "=" signs) to the producer', () => {
      const jaas = 'org.apache.kafka.common.security.plain.PlainLoginModule required username="alice" password="s3cr3t-pw";';
      const o = parseArgs([
        '--bootstrap-server',
        'k:9093',
        '--producer-props',
        'security.protocol=SASL_SSL',
        'sasl.mechanism=PLAIN',
        `sasl.jaas.config=${jaas}`,
        'ssl.ca.location=/etc/ca.pem',
        'ssl.endpoint.identification.algorithm=',
      ]);
      const input = producerInput(o);
      expect(input).to.include({ 'security.protocol': 'SASL_SSL', 'sasl.mechanism': 'PLAIN', 'sasl.jaas.config': jaas, 'ssl.ca.location': '/etc/ca.pem' });
      const config = effectiveProducerConfig(o);
      expect(config.securityProtocol).to.equal('SASL_SSL');
      expect(JSON.stringify(config)).to.not.contain('s3cr3t-pw');
    });

    it('never prints a secret in a usage error or a note', () => {
      expect(usageError(['--producer-props', 'sasl.password'])).to.not.contain('sasl.password"');
      expect(redactValue('sasl.password', 'pw')).to.equal('[hidden]');
      expect(redactValue('ssl.key.password', 'pw')).to.equal('[hidden]');
      expect(redactValue('sasl.jaas.config', 'x password="pw"')).to.equal('[hidden]');
      expect(redactValue('linger.ms', '5')).to.equal('5');
      expect(settingNotes(['ssl.truststore.password']).join(' ')).to.not.contain('=');
    });
  });

  describe('output lines', () => {
    it('are read by the regexes scripts use on Kafka’s output (integer-millisecond percentiles)', () => {
      const line = formatFinalLine(totals);
      expect(line).to.equal('1200 records sent, 4800.000000 records/sec (4.69 MB/sec), 4.44 ms avg latency, 17.50 ms max latency, 3 ms 50th, 10 ms 95th, 16 ms 99th, 18 ms 99.9th.');
      const m = KAFKA_SUMMARY.exec(line)!;
      expect(m, line).to.not.equal(null);
      expect(m.slice(7, 11).map(Number)).to.deep.equal([3, 10, 16, 18]);
      const parsed = parseProducerPerformanceLine(line);
      expect(parsed?.summary).to.include({ records: 1200, p50LatencyMs: 3, p999LatencyMs: 18 });
      expect(KAFKA_WINDOW.test(formatWindowLine({ records: 10, bytes: 1000, elapsedMs: 5000, latencySumMs: 30, latencyMaxMs: 5 }))).to.equal(true);
    });

    it('with a warm-up: Kafka’s announcement, "In steady state.", then the whole-run line and the steady-state line', () => {
      expect(formatWarmupLine(300)).to.equal('Warmup first 300 records. Steady state results will print after the complete test summary.');
      expect(STEADY_STATE_LINE).to.equal('In steady state.');
      const lines = formatSummaryLines({ ...totals, records: 900 }, totals);
      expect(lines).to.have.length(2);
      expect(KAFKA_SUMMARY.exec(lines[0])![2]).to.equal(undefined);
      expect(KAFKA_SUMMARY.exec(lines[1])![2]).to.equal('steady state ');
      expect(parseProducerPerformanceLine(lines[1])).to.include({ steadyState: true });
      expect(formatSummaryLines(totals, null)).to.have.length(1);
    });
  });

  describe('--sweep', () => {
    it('runs every cell once per round, in an order shuffled per round and reproducible from --seed', () => {
      const order = sweepSchedule(6, 3, 42);
      expect(order).to.have.length(18);
      for (let r = 0; r < 3; r++) expect([...order.slice(r * 6, r * 6 + 6)].sort()).to.deep.equal([0, 1, 2, 3, 4, 5]);
      expect(order).to.deep.equal(sweepSchedule(6, 3, 42));
      expect(order.slice(0, 6)).to.not.deep.equal(order.slice(6, 12));
    });

    it('warms every cell up (a quarter of the run unless --warmup-records says otherwise) and reports the median run', () => {
      expect(sweepWarmupRecords(parseArgs(['--num-records', '1000']))).to.equal(250);
      expect(sweepWarmupRecords(parseArgs(['--num-records', '1000', '--warmup-records', '100']))).to.equal(100);
      const run = (r: number) => ({ recordsPerSec: r }) as PerfJson;
      const m = medianRun([run(3), run(1), run(2)])!;
      expect(m.median.recordsPerSec).to.equal(2);
      expect(m.rates).to.deep.equal([3, 1, 2]);
      expect(medianRun([])).to.equal(null);
    });
  });

  describe('peers against a broker', () => {
    it('gives Kafka’s tool the same settings, payloads and warm-up', () => {
      const o = parseArgs(['--num-records', '1000', '--warmup-records', '100', '--key-size', '16', '--producer-props', 'lingerMs=7', 'compression.type=lz4', 'seal.workers=2']);
      expect(javaProducerProps(o)).to.deep.equal({ 'linger.ms': '7', 'compression.type': 'lz4' });
      const args = javaPeerArgs(o, buildWorkload(o), 'k:9092', '/tmp/p.txt');
      expect(args.join(' ')).to.equal(
        '--bootstrap-server k:9092 --topic sluice-perf-test --num-records 1000 --throughput -1 --payload-file /tmp/p.txt ' +
          '--key-distribution random --record-key-range 2147483647 --warmup-records 100 --random-seed 42 --command-property linger.ms=7 compression.type=lz4',
      );
    });

    it('finds Kafka’s jars under KAFKA_HOME/libs, else (from the sources in the repository) the test brokers’ jars, and says what is missing', () => {
      const home = mkdtempSync(join(tmpdir(), 'kafka-home-'));
      try {
        expect(javaPeerUnavailable({ KAFKA_HOME: home })).to.equal(
          `KAFKA_HOME=${home} has no libs/kafka-tools-*.jar (Kafka's ProducerPerformance); set KAFKA_HOME to a Kafka installation (its libs/ go on the classpath, as Kafka's bin/ scripts put them)`,
        );
        mkdirSync(join(home, 'libs'));
        writeFileSync(join(home, 'libs', 'kafka-tools-api-4.4.0.jar'), '');
        expect(javaPeerUnavailable({ KAFKA_HOME: home }), 'kafka-tools-api is not the tool').to.not.equal(null);
        writeFileSync(join(home, 'libs', 'kafka-tools-4.4.0.jar'), '');
        expect(javaPeerUnavailable({ KAFKA_HOME: home })).to.equal(null);
      } finally {
        rmSync(home, { recursive: true, force: true });
      }
      expect(javaPeerUnavailable({}), 'in the repository: test/brokers/kafka/libs').to.equal(null);
    });

    it('gives librdkafka the same settings under its own names', () => {
      const o = parseArgs(['--producer-props', 'linger.ms=10', 'batch.size=32768', 'acks=1', 'compression.type=zstd']);
      const props = librdkafkaProps(effectiveProducerConfig(o), new Set(Object.keys(o.producerProps)), 116);
      expect(props).to.include({
        'linger.ms': '10',
        'batch.size': '32768',
        'batch.num.messages': '283',
        acks: '1',
        'enable.idempotence': 'false',
        'compression.codec': 'zstd',
        'max.in.flight': '5',
        partitioner: 'murmur2_random',
      });
      expect(props).to.not.have.property('compression.level');
    });

    it('sends kcat the records the loop sends, in the same order', () => {
      const w = buildWorkload(parseArgs(['--num-records', '5000']));
      const seq = recordSequence(w);
      expect(seq).to.have.length(5000);
      expect(Math.max(...seq)).to.be.below(w.values.length);
      expect(recordSequence(w)).to.deep.equal(seq);
    });
  });
});
