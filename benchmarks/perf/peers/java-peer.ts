/**
 * Kafka's Java producer as a peer: Kafka's own `org.apache.kafka.tools.ProducerPerformance`
 * (what `kafka-producer-perf-test.sh` runs) from the kafka-tools 4.4 jar, with the JVM flags
 * Kafka's scripts give it (test/brokers/java-perf.ts), against the same broker and topic.
 *
 * Same records, as far as the tool can send them:
 * - values: the run's value pool written to a `--payload-file` (the tool picks a line at random
 *   per record, as sluice-perf picks a pool entry), or the user's `--payload-file`, or
 *   `--payload-monotonic`;
 * - keys: the tool only makes decimal integer keys (`--key-distribution range|random
 *   --record-key-range N`). Those are passed as they are; for `--key-size N` (random letters)
 *   the closest it has is `random` over [0, 2^31 - 1): keys of up to 10 bytes (9.5 on average),
 *   spread over the partitions like random letter keys. The description says so;
 * - settings: every producer setting given, under its Kafka name, as `--command-property`
 *   (Sluice-only settings such as `seal.workers` are left out), and `--warmup-records`,
 *   `--throughput`, `--random-seed` as given.
 * The measured figures are the tool's own steady-state line with a warm-up, else its whole-run
 * line (which starts after the JVM and the KafkaProducer are up). Its MB/s counts value bytes
 * only (Kafka's `Stats.record(latency, payload.length)`).
 *
 * Kafka's jars: `KAFKA_HOME/libs/*` when KAFKA_HOME names a Kafka installation (the classpath
 * Kafka's own bin/kafka-run-class.sh builds); else, when sluice-perf runs from its TypeScript
 * sources inside the Sluice repository, the test brokers' pinned jars (test/brokers/kafka/libs,
 * fetched by Maven on first use — loaded by path, so the published package has no such import);
 * else the peer says what to set.
 */
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PerfOptions } from '../cli.js';
import { kafkaName, UsageError } from '../cli.js';
import { KAFKA_PRODUCER_SETTINGS } from '../kafka-settings.js';
import type { Workload } from '../workload.js';
import type { ExternalPeerRun } from './external-process.js';
import { runChild } from './external-process.js';
import { parseProducerPerformanceLine, PRODUCER_PERFORMANCE_JVM_OPTIONS } from './producer-performance.js';
import type { ProducerPerformanceSummary } from './producer-performance.js';

/** Kafka's `--record-key-range` is an Integer: the widest key range the tool can draw from. */
const WIDEST_KEY_RANGE = 2147483647;

/** The test brokers' jar helper, present only beside the TypeScript sources in the repository. */
const REPOSITORY_KAFKA_HELPER = new URL('../../../test/brokers/kafka-broker.ts', import.meta.url);

/** How to give the Java peer Kafka's jars (for messages and `--help`). */
export const KAFKA_JARS_HINT = "set KAFKA_HOME to a Kafka installation (its libs/ go on the classpath, as Kafka's bin/ scripts put them)";

/** Where the Java peer's classpath comes from. */
type KafkaJarsSource = { kind: 'kafka-home'; libs: string } | { kind: 'repository' } | { kind: 'missing'; reason: string };

function kafkaJarsSource(env: NodeJS.ProcessEnv): KafkaJarsSource {
  const home = env.KAFKA_HOME;
  if (home !== undefined && home !== '') {
    const libs = join(home, 'libs');
    if (kafkaToolsVersion(libs) === null) {
      return { kind: 'missing', reason: `KAFKA_HOME=${home} has no libs/kafka-tools-*.jar (Kafka's ProducerPerformance); ${KAFKA_JARS_HINT}` };
    }
    return { kind: 'kafka-home', libs };
  }
  if (import.meta.url.endsWith('.ts') && existsSync(fileURLToPath(REPOSITORY_KAFKA_HELPER))) return { kind: 'repository' };
  return { kind: 'missing', reason: `Kafka's Java tool needs Kafka's jars: ${KAFKA_JARS_HINT}` };
}

/** The version in `libs`' kafka-tools jar name, or null when there is none. */
function kafkaToolsVersion(libs: string): string | null {
  let names: string[];
  try {
    names = readdirSync(libs);
  } catch {
    return null;
  }
  for (const name of names) {
    const m = /^kafka-tools-(\d[\w.-]*)\.jar$/.exec(name);
    if (m !== null) return m[1];
  }
  return null;
}

/**
 * Why the Java peer cannot run here (no jars), or null when it can (`java` on PATH is checked
 * apart).
 */
export function javaPeerUnavailable(env: NodeJS.ProcessEnv = process.env): string | null {
  const source = kafkaJarsSource(env);
  return source.kind === 'missing' ? source.reason : null;
}

/**
 * The classpath of Kafka's jars and the kafka-tools version in it.
 * @throws UsageError when there are none (the message says what to set)
 */
async function kafkaJars(env: NodeJS.ProcessEnv): Promise<{ classpath: string; toolsVersion: string }> {
  const source = kafkaJarsSource(env);
  let libs: string;
  if (source.kind === 'missing') throw new UsageError(source.reason);
  if (source.kind === 'kafka-home') libs = source.libs;
  else {
    const helper = (await import(REPOSITORY_KAFKA_HELPER.href)) as { ensureKafkaJars(): Promise<string> };
    libs = await helper.ensureKafkaJars();
  }
  return { classpath: `${libs}/*`, toolsVersion: kafkaToolsVersion(libs) ?? 'unknown' };
}

/** The producer settings as Kafka's tool takes them (Kafka names; Sluice-only ones dropped). */
export function javaProducerProps(o: PerfOptions): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(o.producerProps)) {
    const name = kafkaName(k);
    if (KAFKA_PRODUCER_SETTINGS.has(name) && name !== 'bootstrap.servers') out[name] = v;
  }
  return out;
}

/** The tool's arguments (after the class name) for this run. */
export function javaPeerArgs(o: PerfOptions, w: Workload, bootstrap: string, payloadFile: string | null): string[] {
  const args = ['--bootstrap-server', bootstrap, '--topic', w.topic, '--num-records', String(w.numRecords), '--throughput', String(w.throughput)];
  if (o.payloadMonotonic) args.push('--payload-monotonic');
  else if (o.payloadFile !== null) args.push('--payload-file', o.payloadFile, '--payload-delimiter', o.payloadDelimiter === '\n' ? '\\n' : o.payloadDelimiter);
  else args.push('--payload-file', payloadFile!);
  if (o.keyDistribution === 'range' || o.keyDistribution === 'random') args.push('--key-distribution', o.keyDistribution, '--record-key-range', String(o.recordKeyRange));
  else if (o.keyDistribution === 'fixed') args.push('--key-distribution', 'random', '--record-key-range', String(WIDEST_KEY_RANGE));
  if (w.warmupRecords > 0) args.push('--warmup-records', String(w.warmupRecords));
  args.push('--random-seed', String(o.seed));
  const props = Object.entries(javaProducerProps(o)).map(([k, v]) => `${k}=${v}`);
  if (props.length > 0) args.push('--command-property', ...props);
  return args;
}

/** Writes the value pool as the tool's payload file (one value per line). */
export function writeJavaPayloadFile(w: Workload): string {
  for (const v of w.values) {
    if (v.includes(0x0a)) throw new Error('a value holds a newline: it cannot be one line of a --payload-file');
  }
  const path = join(tmpdir(), `sluice-perf-java-payloads-${process.pid}.txt`);
  writeFileSync(path, Buffer.concat(w.values.flatMap((v) => [v, Buffer.from('\n')])));
  return path;
}

function toRun(s: ProducerPerformanceSummary, description: string, wallMs: number): ExternalPeerRun {
  return {
    records: s.records,
    recordsPerSec: s.recordsPerSec,
    mbPerSec: s.mbPerSec,
    latencyMs: { avg: s.avgLatencyMs, max: s.maxLatencyMs, p50: s.p50LatencyMs, p95: s.p95LatencyMs, p99: s.p99LatencyMs, p999: s.p999LatencyMs },
    errors: 0,
    description,
    wallMs,
  };
}

/**
 * Runs Kafka's ProducerPerformance once.
 * @throws UsageError when the jars are missing; Error when java is, or the tool prints no summary
 */
export async function runJavaPeer(o: PerfOptions, w: Workload, bootstrap: string, stop: () => boolean): Promise<ExternalPeerRun> {
  const jars = await kafkaJars(process.env);
  const payloadFile = o.payloadFile === null && !o.payloadMonotonic ? writeJavaPayloadFile(w) : null;
  const args = [...PRODUCER_PERFORMANCE_JVM_OPTIONS, '-cp', jars.classpath, 'org.apache.kafka.tools.ProducerPerformance', ...javaPeerArgs(o, w, bootstrap, payloadFile)];
  const r = await runChild('java', args, { timeoutMs: 30 * 60_000, stop });
  let total: ProducerPerformanceSummary | null = null;
  let steady: ProducerPerformanceSummary | null = null;
  for (const line of r.stdout.split('\n')) {
    const parsed = parseProducerPerformanceLine(line);
    if (parsed === null) continue;
    if (parsed.steadyState) steady = parsed.summary;
    else total = parsed.summary;
  }
  if (total === null) {
    throw new Error(`ProducerPerformance ${r.stopped ? 'was stopped' : `exited ${r.code ?? r.signal}`} without a summary line; stderr: ${r.stderr.slice(-1500)}`);
  }
  const keys =
    o.keyDistribution === 'fixed'
      ? `, keys: decimal integers in [0, 2^31-1) (the tool has no ${o.keySize}-byte keys)`
      : o.keyDistribution === 'none'
        ? ''
        : `, keys: --key-distribution ${o.keyDistribution}`;
  const description = `Kafka's ProducerPerformance from kafka-tools ${jars.toolsVersion} (Java producer, JVM ${PRODUCER_PERFORMANCE_JVM_OPTIONS.join(' ')})${keys}; ${steady !== null ? 'steady-state line' : 'whole-run line'}; MB/s of values only`;
  return toRun(steady ?? total, description, r.elapsedMs);
}
