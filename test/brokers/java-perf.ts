/**
 * Kafka's own producer benchmark, `org.apache.kafka.tools.ProducerPerformance` (what
 * bin/kafka-producer-perf-test.sh runs), as a peer in Sluice's benchmarks: the Java producer
 * against the same broker, with its final summary line parsed into numbers.
 *
 * The JVM gets the flags Kafka's scripts give it (kafka-producer-perf-test.sh: -Xmx512M;
 * kafka-run-class.sh: G1 with MaxGCPauseMillis=20, InitiatingHeapOccupancyPercent=35,
 * ExplicitGCInvokesConcurrent), so the peer is measured as its users run it.
 *
 * Summary lines (ProducerPerformance.Stats#printTotal), the second only with --warmup-records:
 *
 *   10000 records sent, 6199.628022 records/sec (0.59 MB/sec), 251.01 ms avg latency, 889.00 ms max latency, 233 ms 50th, 359 ms 95th, 363 ms 99th, 366 ms 99.9th.
 *   200000 steady state records sent, 67091.580007 records/sec (6.40 MB/sec), 2042.78 ms avg latency, …
 */
import { ensureKafkaJars, kafkaClasspath } from './kafka-broker.js';
import { runCommand } from './tracked-process.js';

/** The flags Kafka's own scripts start ProducerPerformance with (see the file header). */
export const PRODUCER_PERFORMANCE_JVM_OPTIONS: readonly string[] = Object.freeze([
  '-Xmx512M',
  '-server',
  '-XX:+UseG1GC',
  '-XX:MaxGCPauseMillis=20',
  '-XX:InitiatingHeapOccupancyPercent=35',
  '-XX:+ExplicitGCInvokesConcurrent',
  '-Djava.awt.headless=true',
]);

/** One ProducerPerformance summary line as numbers. */
export interface ProducerPerformanceSummary {
  readonly records: number;
  readonly recordsPerSec: number;
  readonly mbPerSec: number;
  readonly avgLatencyMs: number;
  readonly maxLatencyMs: number;
  readonly p50LatencyMs: number;
  readonly p95LatencyMs: number;
  readonly p99LatencyMs: number;
  readonly p999LatencyMs: number;
}

/** Options of {@link runProducerPerformance}; exactly one of `recordSizeBytes`/`payloadFile`. */
export interface ProducerPerformanceOptions {
  readonly bootstrap: string;
  readonly topic: string;
  readonly numRecords: number;
  /** Random payloads of this size (`--record-size`). */
  readonly recordSizeBytes?: number;
  /** Payloads read from a file, split at `payloadDelimiter` (`--payload-file`). */
  readonly payloadFile?: string;
  readonly payloadDelimiter?: string;
  /** Records/s cap, -1 for none (default). */
  readonly throughput?: number;
  /** Records before the steady-state window (`--warmup-records`). */
  readonly warmupRecords?: number;
  /** Producer configs (`--command-property k=v …`), e.g. `{ acks: 'all', 'linger.ms': '5' }`. */
  readonly producerProps?: Readonly<Record<string, string>>;
  /** Replaces {@link PRODUCER_PERFORMANCE_JVM_OPTIONS}. */
  readonly jvmOptions?: readonly string[];
  /** Deadline (default 10 min). */
  readonly timeoutMs?: number;
}

/** What {@link runProducerPerformance} measured. */
export interface ProducerPerformanceResult {
  /** The whole run. */
  readonly total: ProducerPerformanceSummary;
  /** The records after `warmupRecords`; null without warm-up. */
  readonly steadyState: ProducerPerformanceSummary | null;
  /** Wall time of the JVM, start-up included. */
  readonly elapsedMs: number;
  /** Everything the tool printed on stdout. */
  readonly output: string;
}

const SUMMARY =
  /^(\d+) (steady state )?records sent, ([\d.]+) records\/sec \(([\d.]+) MB\/sec\), ([\d.]+) ms avg latency, ([\d.]+) ms max latency, (\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th, (\d+) ms 99\.9th\.$/;

/**
 * Parses one summary line (interval lines, which lack percentiles, give null).
 * @returns the numbers and whether it is the steady-state line, or null
 */
export function parseProducerPerformanceLine(line: string): { steadyState: boolean; summary: ProducerPerformanceSummary } | null {
  const m = SUMMARY.exec(line.trim());
  if (m === null) return null;
  return {
    steadyState: m[2] !== undefined,
    summary: {
      records: Number(m[1]),
      recordsPerSec: Number(m[3]),
      mbPerSec: Number(m[4]),
      avgLatencyMs: Number(m[5]),
      maxLatencyMs: Number(m[6]),
      p50LatencyMs: Number(m[7]),
      p95LatencyMs: Number(m[8]),
      p99LatencyMs: Number(m[9]),
      p999LatencyMs: Number(m[10]),
    },
  };
}

/**
 * Runs ProducerPerformance to completion and parses its summary.
 * @throws when the tool fails, times out, or prints no summary line (quoting its output)
 */
export async function runProducerPerformance(options: ProducerPerformanceOptions): Promise<ProducerPerformanceResult> {
  if ((options.recordSizeBytes === undefined) === (options.payloadFile === undefined)) {
    throw new Error('runProducerPerformance needs exactly one of recordSizeBytes and payloadFile');
  }
  const libs = await ensureKafkaJars();
  const props = Object.entries(options.producerProps ?? {}).map(([key, value]) => `${key}=${value}`);
  const args = [
    ...(options.jvmOptions ?? PRODUCER_PERFORMANCE_JVM_OPTIONS),
    '-cp',
    kafkaClasspath(libs),
    'org.apache.kafka.tools.ProducerPerformance',
    '--bootstrap-server',
    options.bootstrap,
    '--topic',
    options.topic,
    '--num-records',
    String(options.numRecords),
    '--throughput',
    String(options.throughput ?? -1),
    ...(options.recordSizeBytes === undefined ? [] : ['--record-size', String(options.recordSizeBytes)]),
    ...(options.payloadFile === undefined ? [] : ['--payload-file', options.payloadFile]),
    ...(options.payloadDelimiter === undefined ? [] : ['--payload-delimiter', options.payloadDelimiter]),
    ...(options.warmupRecords === undefined ? [] : ['--warmup-records', String(options.warmupRecords)]),
    ...(props.length === 0 ? [] : ['--command-property', ...props]),
  ];
  const result = await runCommand('java', args, { timeoutMs: options.timeoutMs ?? 600_000 });
  const output = result.stdout.toString('utf8');
  let total: ProducerPerformanceSummary | null = null;
  let steadyState: ProducerPerformanceSummary | null = null;
  for (const line of output.split('\n')) {
    const parsed = parseProducerPerformanceLine(line);
    if (parsed === null) continue;
    if (parsed.steadyState) steadyState = parsed.summary;
    else total = parsed.summary;
  }
  if (total === null) {
    throw new Error(`ProducerPerformance printed no summary line; stdout:\n${output.slice(-4000)}\nstderr:\n${result.stderr.slice(-4000)}`);
  }
  return { total, steadyState, elapsedMs: result.elapsedMs, output };
}
