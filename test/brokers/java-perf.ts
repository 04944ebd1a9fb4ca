/**
 * Kafka's own producer benchmark, `org.apache.kafka.tools.ProducerPerformance` (what
 * bin/kafka-producer-perf-test.sh runs), as a peer in Sluice's benchmarks and tests: the Java
 * producer against the same broker, run to completion with the JVM flags Kafka's scripts use,
 * its final summary line parsed into numbers (the flags and the parser live with sluice-perf's
 * Java peer, benchmarks/perf/peers/producer-performance.ts).
 */
import { parseProducerPerformanceLine, PRODUCER_PERFORMANCE_JVM_OPTIONS } from '../../benchmarks/perf/peers/producer-performance.js';
import type { ProducerPerformanceSummary } from '../../benchmarks/perf/peers/producer-performance.js';
import { ensureKafkaJars, kafkaClasspath } from './kafka-broker.js';
import { runCommand } from './tracked-process.js';

export { parseProducerPerformanceLine, PRODUCER_PERFORMANCE_JVM_OPTIONS } from '../../benchmarks/perf/peers/producer-performance.js';
export type { ProducerPerformanceSummary } from '../../benchmarks/perf/peers/producer-performance.js';

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
