/**
 * Issue 15's benchmark: what TLS costs each producer against the same Kafka 4.4 broker — Sluice
 * (`sluice-perf --bootstrap-server`), Kafka's Java producer (`ProducerPerformance`) and
 * librdkafka (`kcat -P`) — each over a PLAINTEXT and an SSL listener of one broker, with the
 * same settings (acks=all, idempotence on, linger.ms 5, batch.size 16384, 100-byte values,
 * null keys, no compression).
 *
 * - Every run is a fresh process, and every run counts (the first of each process included):
 *   a producer's TLS cost includes its handshake and its cold start with TLS.
 * - Rounds: every (producer, protocol) pair once per round; the producers' order rotates
 *   each round and PLAINTEXT/SSL alternate which goes first, so neither protocol always runs
 *   on a warmer broker. `--runs` rounds; each cell reports the median and the range, and the
 *   TLS cost is the median of the per-round ratios SSL/PLAINTEXT (one producer, one round).
 * - Throughput by each tool's own clock (sluice-perf and ProducerPerformance: first send to
 *   last acknowledgement, as Kafka's tool prints it) and by the wall clock of the process
 *   (start-up, connection, TLS handshake and final flush included: kcat's only figure).
 * - The broker runs with the full JIT (C2). The test brokers' C1-only flags
 *   (DEFAULT_BROKER_JVM_OPTIONS) leave the broker's AES-GCM without C2's intrinsics, and then
 *   the broker's decryption is what every client measures (`--broker-jit c1` to see it).
 * - librdkafka gets `socket.nagle.disable=true` on both listeners (Sluice and the Java client
 *   set TCP_NODELAY themselves): with librdkafka 2.0.2's default (Nagle on), its idempotent
 *   producer over TLS stalls on delayed ACKs — 50,000 records took 11 s instead of 0.3 s.
 *
 * Usage:
 *   node --conditions=source --import tsx benchmarks/tls-cost.ts [--runs 5] [--records 500000]
 *     [--partitions 6] [--engines sluice,java,kcat] [--broker-jit c2|c1] [--json out.json]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runProducerPerformance, parseProducerPerformanceLine } from '../test/brokers/java-perf.js';
import { DEFAULT_BROKER_JVM_OPTIONS, startKafkaCluster, type KafkaCluster } from '../test/brokers/kafka-broker.js';
import { produceLines } from '../test/brokers/kcat.js';
import { createCertificateAuthority, issueCertificate } from '../test/brokers/secured/certificate-factory.js';
import { runCommand } from '../test/brokers/tracked-process.js';

const SLUICE_PERF = fileURLToPath(new URL('./bin/sluice-perf.mjs', import.meta.url));

const args = process.argv.slice(2);
function arg(name: string, def: string): string {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : def;
}

const RUNS = Number(arg('--runs', '5'));
const RECORDS = Number(arg('--records', '500000'));
const PARTITIONS = Number(arg('--partitions', '6'));
const ENGINES = arg('--engines', 'sluice,java,kcat').split(',') as Engine[];
const BROKER_JIT = arg('--broker-jit', 'c2');
const JSON_OUT = arg('--json', '');
const RECORD_SIZE = 100;
const TOPIC = 'tls-cost';
/** The settings every producer gets, by Kafka's names (librdkafka takes the same four). */
const COMMON: Readonly<Record<string, string>> = { acks: 'all', 'enable.idempotence': 'true', 'linger.ms': '5', 'batch.size': '16384' };
/** The broker: the test brokers' flags with the full JIT, and a larger heap for TLS buffers. */
const C2_BROKER_JVM = ['-Xms512m', '-Xmx1g', '-XX:+UseSerialGC', '-XX:-UsePerfData', '-XX:+ExitOnOutOfMemoryError', '-Djava.awt.headless=true'];

type Engine = 'sluice' | 'java' | 'kcat';
type Protocol = 'PLAINTEXT' | 'SSL';

interface Run {
  readonly round: number;
  readonly engine: Engine;
  readonly protocol: Protocol;
  /** By the tool's own clock; null for kcat, which reports none. */
  readonly recordsPerSec: number | null;
  /** Records over the process's wall time. */
  readonly wallRecordsPerSec: number;
  readonly wallMs: number;
  readonly p50LatencyMs: number | null;
  readonly load1: number;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const pct = (r: number): string => `${r >= 1 ? '+' : ''}${((r - 1) * 100).toFixed(1)} %`;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(os.tmpdir(), 'sluice-tls-cost-'));
  const ca = await createCertificateAuthority(dir, 'tls-cost-ca');
  const brokerCert = await issueCertificate(ca, { name: 'broker', altNames: ['IP:127.0.0.1', 'DNS:localhost'], usage: 'server' });
  const linesFile = join(dir, 'values.txt');
  // kcat's records: RECORDS lines of 100 random upper-case letters (what the other two send).
  const letters = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
  const pool = Array.from({ length: 1024 }, () => Array.from({ length: RECORD_SIZE }, () => letters[Math.floor(Math.random() * 26)]).join(''));
  writeFileSync(linesFile, Array.from({ length: RECORDS }, (_, i) => pool[i % pool.length]).join('\n') + '\n');

  const cluster: KafkaCluster = await startKafkaCluster({
    listeners: [{ name: 'SSL', securityProtocol: 'SSL' }],
    jvmOptions: BROKER_JIT === 'c1' ? DEFAULT_BROKER_JVM_OPTIONS : C2_BROKER_JVM,
    brokerConfig: {
      'ssl.keystore.type': 'PEM',
      'ssl.keystore.location': brokerCert.keystoreFile,
      // Keep the disk bounded over many runs: small segments, deleted soon.
      'log.retention.check.interval.ms': '15000',
    },
  });
  const runs: Run[] = [];
  try {
    await cluster.createTopic(TOPIC, PARTITIONS, 1, { 'retention.bytes': String(64 << 20), 'segment.bytes': String(16 << 20) });
    const bootstrap: Record<Protocol, string> = { PLAINTEXT: cluster.bootstrapFor('PLAINTEXT'), SSL: cluster.bootstrapFor('SSL') };
    const header = `machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}; load before: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`;
    console.log(header);
    console.log(`broker: Kafka 4.4, one node, JIT ${BROKER_JIT}; ${RECORDS} records of ${RECORD_SIZE} bytes per run, ${PARTITIONS} partitions, ${RUNS} rounds`);

    for (let round = 1; round <= RUNS; round++) {
      const order = ENGINES.map((_, i) => ENGINES[(i + round - 1) % ENGINES.length]);
      const protocols: Protocol[] = round % 2 === 1 ? ['PLAINTEXT', 'SSL'] : ['SSL', 'PLAINTEXT'];
      for (const engine of order) {
        for (const protocol of protocols) {
          const load1 = os.loadavg()[0];
          const run = await runOnce(engine, protocol, bootstrap[protocol], ca.certFile, linesFile);
          runs.push({ round, engine, protocol, load1, ...run });
          console.log(
            `round ${round} ${engine.padEnd(6)} ${protocol.padEnd(9)} ${run.recordsPerSec === null ? '' : `${fmt(run.recordsPerSec)} rec/s (own), `}${fmt(run.wallRecordsPerSec)} rec/s (wall ${Math.round(run.wallMs)} ms), load ${load1.toFixed(2)}`,
          );
        }
      }
    }
    console.log(`load after: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    console.log('');
    console.log(report(runs));
    if (JSON_OUT !== '') writeFileSync(JSON_OUT, JSON.stringify({ header, records: RECORDS, partitions: PARTITIONS, brokerJit: BROKER_JIT, runs }, null, 2));
  } finally {
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function runOnce(
  engine: Engine,
  protocol: Protocol,
  bootstrap: string,
  caFile: string,
  linesFile: string,
): Promise<{ recordsPerSec: number | null; wallRecordsPerSec: number; wallMs: number; p50LatencyMs: number | null }> {
  const ssl = protocol === 'SSL';
  if (engine === 'sluice') {
    const props = Object.entries({ ...COMMON, ...(ssl ? { 'security.protocol': 'SSL', 'ssl.ca.location': caFile } : {}) }).map(([k, v]) => `${k}=${v}`);
    const result = await runCommand(
      process.execPath,
      [SLUICE_PERF, '--bootstrap-server', bootstrap, '--topic', TOPIC, '--num-records', String(RECORDS), '--record-size', String(RECORD_SIZE), '--producer-props', ...props],
      { timeoutMs: 600_000 },
    );
    const line = result.stdout
      .toString('utf8')
      .split('\n')
      .map((l) => parseProducerPerformanceLine(l))
      .find((p) => p !== null && !p.steadyState);
    if (line === undefined || line === null) throw new Error(`sluice-perf printed no summary:\n${result.stdout.toString('utf8')}\n${result.stderr}`);
    return { recordsPerSec: line.summary.recordsPerSec, wallRecordsPerSec: (RECORDS * 1000) / result.elapsedMs, wallMs: result.elapsedMs, p50LatencyMs: line.summary.p50LatencyMs };
  }
  if (engine === 'java') {
    const result = await runProducerPerformance({
      bootstrap,
      topic: TOPIC,
      numRecords: RECORDS,
      recordSizeBytes: RECORD_SIZE,
      producerProps: { ...COMMON, ...(ssl ? { 'security.protocol': 'SSL', 'ssl.truststore.type': 'PEM', 'ssl.truststore.location': caFile } : {}) },
    });
    return { recordsPerSec: result.total.recordsPerSec, wallRecordsPerSec: (RECORDS * 1000) / result.elapsedMs, wallMs: result.elapsedMs, p50LatencyMs: result.total.p50LatencyMs };
  }
  const result = await produceLines({
    bootstrap,
    topic: TOPIC,
    file: linesFile,
    extraProps: { ...COMMON, 'socket.nagle.disable': 'true' },
    securityArgs: ssl ? ['-X', 'security.protocol=SSL', '-X', `ssl.ca.location=${caFile}`] : [],
    timeoutMs: 600_000,
  });
  return { recordsPerSec: null, wallRecordsPerSec: (RECORDS * 1000) / result.elapsedMs, wallMs: result.elapsedMs, p50LatencyMs: null };
}

/** The markdown table: per producer and protocol the median and range, and the per-round TLS cost. */
function report(runs: readonly Run[]): string {
  const lines = [
    '| producer | clock | PLAINTEXT records/s: median (range) | SSL records/s: median (range) | SSL / PLAINTEXT (median of rounds) |',
    '|---|---|---:|---:|---:|',
  ];
  for (const engine of ENGINES) {
    for (const clock of ['own', 'wall'] as const) {
      if (clock === 'own' && engine === 'kcat') continue;
      const value = (r: Run): number => (clock === 'own' ? r.recordsPerSec! : r.wallRecordsPerSec);
      const of = (protocol: Protocol): number[] => runs.filter((r) => r.engine === engine && r.protocol === protocol).map(value);
      const cell = (xs: number[]): string => (xs.length === 0 ? '—' : `${fmt(median(xs))} (${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))})`);
      const ratios: number[] = [];
      for (const round of new Set(runs.map((r) => r.round))) {
        const p = runs.find((r) => r.round === round && r.engine === engine && r.protocol === 'PLAINTEXT');
        const s = runs.find((r) => r.round === round && r.engine === engine && r.protocol === 'SSL');
        if (p !== undefined && s !== undefined) ratios.push(value(s) / value(p));
      }
      const ratio = ratios.length === 0 ? '—' : `${median(ratios).toFixed(3)} (${pct(median(ratios))}; ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})`;
      lines.push(`| ${engine} | ${clock} | ${cell(of('PLAINTEXT'))} | ${cell(of('SSL'))} | ${ratio} |`);
    }
  }
  return lines.join('\n');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
