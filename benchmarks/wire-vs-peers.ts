/**
 * Issue 10's benchmark: Sluice over its Kafka wire transport against Kafka's Java producer
 * (ProducerPerformance), librdkafka (kcat), kafkajs and @platformatic/kafka, on the same
 * records, settings and broker, alternated run by run.
 *
 * - Targets: a real Kafka 4.4 broker started here (test/brokers/kafka-broker.ts, one KRaft
 *   node, the test brokers' JVM flags) and librdkafka 2.0.2's mock cluster
 *   (test/brokers/mock-cluster.ts). Against the mock, the peers that cannot talk to it are
 *   reported as skipped with the reason (measured, see RESULTS.md).
 * - Every run is a fresh process (`sluice-perf --engine NAME ... --json`): the first run of a
 *   process is what is measured, warm-up records included in the command as each tool takes
 *   them (Sluice, Java: --warmup-records and their steady-state figures; kcat: the whole run,
 *   start-up included; kafkajs and platformatic: fewer records, they are ~10x slower).
 * - Rounds: every producer once per round, the order rotated each round, `--runs` rounds;
 *   each table gives the median, the range, and Sluice's ratio (median of the per-round
 *   ratios, each from the same round).
 * - The broker's own intake (benchmarks/broker-intake.ts) is measured on the same broker, per
 *   codec, with one and two connections.
 *
 * Usage:
 *   node --conditions=source --import tsx benchmarks/wire-vs-peers.ts [--runs 5] [--records 1500000]
 *     [--warmup 500000] [--slow-records 300000] [--slow-warmup 100000] [--targets kafka,mock]
 *     [--cells json:6:none,json:6:lz4,...] [--peers java,librdkafka,kafkajs,platformatic]
 *     [--json out.json]
 * A cell is `values:partitions:codec` with values `json` (JSON-like) or `letters` (random).
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { startKafkaCluster } from '../test/brokers/kafka-broker.js';
import type { KafkaCluster } from '../test/brokers/kafka-broker.js';
import { startMockCluster } from '../test/brokers/mock-cluster.js';
import type { MockCluster } from '../test/brokers/mock-cluster.js';
import { formatIntake, measureIntake } from './broker-intake.js';
import type { IntakeResult } from './broker-intake.js';
import { formatTable } from './perf/report.js';

const BIN = fileURLToPath(new URL('./bin/sluice-perf.mjs', import.meta.url));

const args = process.argv.slice(2);
function arg(name: string, def: string): string {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : def;
}

const RUNS = Number(arg('--runs', '5'));
const RECORDS = Number(arg('--records', '1500000'));
const WARMUP = Number(arg('--warmup', '500000'));
const SLOW_RECORDS = Number(arg('--slow-records', '300000'));
const SLOW_WARMUP = Number(arg('--slow-warmup', '100000'));
const TARGETS = arg('--targets', 'kafka,mock').split(',');
const PEERS = arg('--peers', 'java,librdkafka,kafkajs,platformatic').split(',');
const CELLS = arg('--cells', 'json:6:none,json:6:lz4,json:6:zstd,json:6:gzip,letters:6:none,letters:6:lz4,json:64:none,json:64:lz4').split(',');
const MOCK_CELLS = arg('--mock-cells', 'json:6:none,json:6:lz4').split(',');
const JSON_OUT = arg('--json', '');
const INTAKE_SECONDS = Number(arg('--intake-seconds', '5'));
/** Settings every producer gets (Kafka 4 defaults, written out). */
const COMMON_PROPS = ['linger.ms=5', 'batch.size=16384', 'acks=all', 'enable.idempotence=true'];
const KEY_SIZE = 16;
const RECORD_SIZE = 100;

/** Producers that cannot talk to librdkafka 2.0.2's mock, and why (measured). */
const MOCK_SKIPS: Record<string, string> = {
  java:
    "Kafka 4.4's Java producer gets no usable metadata from the mock (it serves Metadata v0-v2): every send ends in 'Topic … not present in metadata after max.block.ms'",
  platformatic: '@platformatic/kafka 1.35 sends ApiVersions v3 and has no fallback to v0: the mock answers UNSUPPORTED_VERSION and the client gives up',
  kafkajs: "kafkajs 2.2.4's idempotent producer fails against the mock before sending (KafkaJSBrokerNotFound: Broker 0 not found in the cached metadata); it runs there without idempotence only",
};

interface Cell {
  values: 'json' | 'letters';
  partitions: number;
  codec: string;
}

function parseCell(text: string): Cell {
  const [values, partitions, codec] = text.split(':');
  if ((values !== 'json' && values !== 'letters') || !(Number(partitions) > 0) || codec === undefined) throw new Error(`bad cell ${text} (values:partitions:codec)`);
  return { values, partitions: Number(partitions), codec };
}

function cellName(c: Cell): string {
  return `${c.values}-p${c.partitions}-${c.codec}`;
}

interface RunJson {
  engine: string;
  records: number;
  recordsPerSec: number;
  mbPerSec: number;
  latencyMs: { avg: number; p50: number; p99: number; max: number } | null;
  errors: number;
  description?: string;
}

function runCli(cliArgs: string[]): Promise<{ json: RunJson | null; error: string | null; command: string }> {
  const command = `sluice-perf ${cliArgs.join(' ')}`;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...cliArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 10 * 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      const last = out.trim().split('\n').pop() ?? '';
      try {
        const json = JSON.parse(last) as RunJson;
        resolve({ json, error: code === 0 ? null : `exit ${code}: ${err.trim().split('\n').slice(-2).join(' / ')}`, command });
      } catch {
        resolve({ json: null, error: `exit ${code}: ${err.trim().split('\n').slice(-3).join(' / ').slice(0, 400)}`, command });
      }
    });
  });
}

function cliArgsFor(engine: string, bootstrap: string, topic: string, c: Cell, extraProps: string[] = []): string[] {
  const slow = engine === 'kafkajs' || engine === 'platformatic';
  return [
    '--engine',
    engine,
    '--bootstrap-server',
    bootstrap,
    '--topic',
    topic,
    '--num-records',
    String(slow ? SLOW_RECORDS : RECORDS),
    '--warmup-records',
    String(slow ? SLOW_WARMUP : WARMUP),
    '--record-size',
    String(RECORD_SIZE),
    '--payload-kind',
    c.values,
    '--key-size',
    String(KEY_SIZE),
    '--throughput',
    '-1',
    '--producer-props',
    ...COMMON_PROPS,
    `compression.type=${c.codec}`,
    ...extraProps,
    '--json',
    '--no-progress',
  ];
}

function median(xs: readonly number[]): number {
  const s = [...xs].filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

interface CellResult {
  target: string;
  cell: string;
  extraProps: string[];
  runs: Record<string, (RunJson | null)[]>;
  errors: Record<string, string[]>;
  skipped: Record<string, string>;
  commands: Record<string, string>;
}

async function runCell(target: string, bootstrap: string, topic: string, c: Cell, engines: string[], skipped: Record<string, string>, extraProps: string[] = []): Promise<CellResult> {
  const result: CellResult = { target, cell: cellName(c), extraProps, runs: {}, errors: {}, skipped, commands: {} };
  for (const e of engines) {
    result.runs[e] = [];
    result.errors[e] = [];
  }
  for (let round = 0; round < RUNS; round++) {
    const order = engines.map((_, i) => engines[(i + round) % engines.length]);
    for (const engine of order) {
      const r = await runCli(cliArgsFor(engine, bootstrap, topic, c, extraProps));
      result.commands[engine] = r.command.replace(bootstrap, 'BROKER');
      result.runs[engine].push(r.json);
      if (r.error !== null) result.errors[engine].push(r.error);
      process.stderr.write(
        `  ${target} ${cellName(c)}${extraProps.length > 0 ? ` ${extraProps.join(' ')}` : ''} round ${round + 1} ${engine}: ${r.json === null ? `FAILED ${r.error}` : `${Math.round(r.json.recordsPerSec).toLocaleString('en-US')} records/s`}\n`,
      );
    }
  }
  return result;
}

function fmtRate(x: number): string {
  return Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '-';
}

function cellTable(r: CellResult): string {
  const rows: (string | number)[][] = [['producer', 'records/s (median)', 'range', 'MB/s', 'p50 ms', 'p99 ms', 'Sluice ratio (same-round median)', 'ratio range', 'runs']];
  const sluice = r.runs.sluice ?? [];
  for (const [engine, runs] of Object.entries(r.runs)) {
    const rates = runs.map((x) => x?.recordsPerSec ?? NaN).filter((x) => Number.isFinite(x) && x > 0);
    const med = median(rates);
    const pick = runs.filter((x) => x !== null).sort((a, b) => a!.recordsPerSec - b!.recordsPerSec)[Math.floor((rates.length - 1) / 2)] ?? null;
    const ratios = engine === 'sluice' ? [] : runs.map((x, i) => (x === null || sluice[i] == null ? NaN : sluice[i]!.recordsPerSec / x.recordsPerSec)).filter(Number.isFinite);
    rows.push([
      engine,
      fmtRate(med),
      rates.length > 0 ? `${fmtRate(Math.min(...rates))}-${fmtRate(Math.max(...rates))}` : '-',
      pick === null ? '-' : pick.mbPerSec.toFixed(1),
      pick?.latencyMs == null ? '-' : pick.latencyMs.p50.toFixed(pick.latencyMs.p50 < 10 ? 2 : 0),
      pick?.latencyMs == null ? '-' : pick.latencyMs.p99.toFixed(pick.latencyMs.p99 < 10 ? 2 : 0),
      engine === 'sluice' ? '1.00x' : ratios.length === 0 ? '-' : `${median(ratios).toFixed(2)}x`,
      ratios.length === 0 ? '' : `${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)}`,
      `${rates.length}/${runs.length}`,
    ]);
  }
  for (const [engine, why] of Object.entries(r.skipped)) rows.push([engine, 'skipped', why, '', '', '', '', '', '']);
  return formatTable(rows);
}

async function main(): Promise<void> {
  const results: CellResult[] = [];
  const intake: IntakeResult[] = [];
  const started = new Date().toISOString();
  const load = os.loadavg()[0];
  if (TARGETS.includes('kafka')) {
    process.stderr.write('starting Kafka 4.4 (one KRaft node)\n');
    const kafka: KafkaCluster = await startKafkaCluster({
      nodes: 1,
      brokerConfig: { 'log.retention.check.interval.ms': '5000', 'file.delete.delay.ms': '1000', 'log.segment.bytes': String(16 * 1024 * 1024) },
    });
    try {
      for (const text of CELLS) {
        const c = parseCell(text);
        const topic = `wvp-${cellName(c)}`;
        await kafka.createTopic(topic, c.partitions, 1, { 'retention.bytes': String(64 * 1024 * 1024), 'segment.bytes': String(16 * 1024 * 1024) });
        const r = await runCell('kafka', kafka.bootstrapServers, topic, c, ['sluice', ...PEERS], {});
        results.push(r);
        process.stdout.write(`\n### Kafka 4.4, ${cellName(c)}\n\n${cellTable(r)}\n`);
      }
      const intakeCodecs = [...new Set(CELLS.map((t) => parseCell(t).codec))];
      for (const codec of intakeCodecs) {
        for (const connections of [1, 2]) {
          const r = await measureIntake({
            bootstrap: kafka.bootstrapServers,
            topic: 'wvp-intake-p6',
            partitions: 6,
            codec: codec as 'none',
            payloadKind: 'json',
            recordSize: RECORD_SIZE,
            keySize: KEY_SIZE,
            batchSize: 16384,
            acks: -1,
            connections,
            inFlight: 5,
            seconds: INTAKE_SECONDS,
            produceVersion: null,
            brokerProperties: kafka.nodes[0].propertiesFile,
          });
          intake.push(r);
          process.stdout.write(`intake: ${formatIntake(r)}\n`);
        }
      }
    } finally {
      await kafka.stop();
    }
  }
  if (TARGETS.includes('mock')) {
    process.stderr.write("starting librdkafka's mock cluster (one broker)\n");
    const mocks = MOCK_CELLS.map(parseCell);
    const mock: MockCluster = await startMockCluster({ brokers: 1, topics: mocks.map((c) => ({ name: `wvp-mock-${cellName(c)}`, partitions: c.partitions })) });
    try {
      for (const c of mocks) {
        const topic = `wvp-mock-${cellName(c)}`;
        const engines = ['sluice', ...PEERS.filter((p) => MOCK_SKIPS[p] === undefined)];
        const skipped = Object.fromEntries(PEERS.filter((p) => MOCK_SKIPS[p] !== undefined).map((p) => [p, MOCK_SKIPS[p]]));
        const r = await runCell('mock', mock.bootstrapServers, topic, c, engines, skipped);
        results.push(r);
        process.stdout.write(`\n### librdkafka mock, ${cellName(c)}\n\n${cellTable(r)}\n`);
        // kafkajs joins without idempotence (acks=1), with Sluice and librdkafka on the same settings.
        if (PEERS.includes('kafkajs')) {
          const r2 = await runCell('mock', mock.bootstrapServers, topic, c, ['sluice', ...PEERS.filter((p) => p === 'kafkajs' || p === 'librdkafka')], {}, ['enable.idempotence=false', 'acks=1']);
          results.push(r2);
          process.stdout.write(`\n### librdkafka mock, ${cellName(c)}, acks=1 without idempotence\n\n${cellTable(r2)}\n`);
        }
      }
    } finally {
      await mock.stop();
    }
  }
  process.stdout.write(`\nmachine: ${os.cpus()[0]?.model} x${os.cpus().length}, Node ${process.version}, load average at start ${load.toFixed(2)}, started ${started}\n`);
  process.stdout.write(`commands (BROKER = the broker's address):\n${[...new Set(results.flatMap((r) => Object.values(r.commands)))].slice(0, 8).join('\n')}\n`);
  if (JSON_OUT !== '') writeFileSync(JSON_OUT, JSON.stringify({ started, machine: os.cpus()[0]?.model, loadAverage: load, runs: RUNS, records: RECORDS, warmup: WARMUP, slowRecords: SLOW_RECORDS, slowWarmup: SLOW_WARMUP, results, intake }, null, 1));
}

await main();
