/**
 * Kafka's own producer benchmark, `org.apache.kafka.tools.ProducerPerformance` (what
 * bin/kafka-producer-perf-test.sh runs): the JVM flags Kafka's scripts start it with, and its
 * summary lines parsed into numbers. Used by sluice-perf's Java peer (java-peer.ts) and by the
 * test brokers' `runProducerPerformance` (test/brokers/java-perf.ts).
 *
 * The JVM gets the flags Kafka's scripts give it (kafka-producer-perf-test.sh: -Xmx512M;
 * kafka-run-class.sh: G1 with MaxGCPauseMillis=20, InitiatingHeapOccupancyPercent=35,
 * ExplicitGCInvokesConcurrent), so the peer is measured as its users run it.
 *
 * Summary lines (ProducerPerformance.Stats#printTotal), the second only with --warmup-records:
 *
 *   10000 records sent, 6199.628022 records/sec (0.59 MB/sec), 251.01 ms avg latency, 889.00 ms max latency, 233 ms 50th, 359 ms 95th, 363 ms 99th, 366 ms 99.9th.
 *   200000 steady state records sent, 67091.580007 records/sec (6.40 MB/sec), 2042.78 ms avg latency, …
 *
 * sluice-perf prints the same lines (report.ts), so this parser reads both tools' output.
 */

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
