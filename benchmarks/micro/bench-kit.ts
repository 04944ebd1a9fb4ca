/**
 * The little that every micro benchmark shares: run tinybench tasks, turn their samples
 * into "items per second" (records/s, batches/s, ops/s), and print one table per area plus
 * a JSON line. Each `*.bench.ts` file exports a {@link BenchSuite} and runs itself when
 * started directly (`node --conditions=source --import tsx benchmarks/micro/<path>.bench.ts`);
 * `benchmarks/run.ts` runs them all.
 *
 * Rates are computed from tinybench's mean latency (`items / mean seconds`), not from its
 * `throughput.mean`, which averages per-sample rates and so over-weights the fastest samples.
 */
import { Bench } from 'tinybench';
import type { Task } from 'tinybench';
import { pathToFileURL } from 'node:url';
import { formatTable, machineInfo } from '../perf/report.js';

/** Options every suite takes. */
export interface SuiteOptions {
  /** Shorter runs (CI, smoke tests): less time per task, smaller sizes. */
  quick: boolean;
}

/** One table of results. */
export interface SuiteResult {
  /** Area name, e.g. `accumulator/append`. */
  area: string;
  title: string;
  /** First row: column names. */
  table: (string | number)[][];
  /** Lines printed under the table (what to read from it, the reproduction command …). */
  notes: string[];
  /** Machine-readable rows for the JSON output. */
  json: Record<string, unknown>[];
}

/** A micro benchmark file's export. */
export interface BenchSuite {
  area: string;
  title: string;
  run(options: SuiteOptions): Promise<SuiteResult | SuiteResult[]>;
}

/** One measured task. */
export interface TaskStats {
  name: string;
  /** Mean time of one iteration in ns. */
  meanNs: number;
  /** Median time of one iteration in ns. */
  p50Ns: number;
  /** Relative margin of error of the mean, in percent. */
  rmePercent: number;
  samples: number;
  /** Items per second: `itemsPerIteration` / mean. */
  itemsPerSec: number;
}

/** A task to measure: `fn` processes `itemsPerIteration` items per call. */
export interface TaskSpec {
  name: string;
  fn: () => unknown;
  itemsPerIteration?: number;
  beforeEach?: () => void;
  beforeAll?: () => void | Promise<void>;
  afterAll?: () => void | Promise<void>;
}

/** Default time budgets (ms): full runs and `--quick` runs. */
export function budgets(quick: boolean): { time: number; warmupTime: number } {
  return quick ? { time: 150, warmupTime: 50 } : { time: 1000, warmupTime: 300 };
}

/** Runs tasks one after the other with tinybench and returns their statistics, in order. */
export async function measure(tasks: readonly TaskSpec[], options: SuiteOptions & { time?: number; warmupTime?: number }): Promise<TaskStats[]> {
  const b = budgets(options.quick);
  const bench = new Bench({ time: options.time ?? b.time, warmupTime: options.warmupTime ?? b.warmupTime, throws: true, iterations: 8, warmupIterations: 4 });
  const items = new Map<string, number>();
  for (const t of tasks) {
    items.set(t.name, t.itemsPerIteration ?? 1);
    bench.add(t.name, t.fn, {
      ...(t.beforeEach === undefined ? {} : { beforeEach: t.beforeEach }),
      ...(t.beforeAll === undefined ? {} : { beforeAll: t.beforeAll }),
      ...(t.afterAll === undefined ? {} : { afterAll: t.afterAll }),
    });
  }
  await bench.run();
  return bench.tasks.map((task: Task) => statsOf(task, items.get(task.name) ?? 1));
}

function statsOf(task: Task, itemsPerIteration: number): TaskStats {
  const r = task.result;
  if (r.state !== 'completed') {
    const why = r.state === 'errored' ? String((r as { error?: unknown }).error) : r.state;
    throw new Error(`benchmark task ${task.name} did not complete: ${why}`);
  }
  const meanMs = r.latency.mean;
  return {
    name: task.name,
    meanNs: meanMs * 1e6,
    p50Ns: r.latency.p50 * 1e6,
    rmePercent: r.latency.rme,
    samples: r.latency.samplesCount,
    itemsPerSec: meanMs > 0 ? (itemsPerIteration * 1000) / meanMs : 0,
  };
}

/** Prints a suite result: title, table, notes. */
export function printResult(r: SuiteResult, out: { write(s: string): unknown } = process.stdout): void {
  out.write(`\n## ${r.title}  (${r.area})\n\n${formatTable(r.table)}\n`);
  for (const n of r.notes) out.write(`${n}\n`);
}

/** Formats ns as a short duration. */
export function formatNs(ns: number): string {
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`;
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(2)} µs`;
  return `${ns.toFixed(1)} ns`;
}

/** Whether the calling module was started directly (not imported). */
export function isMain(importMetaUrl: string): boolean {
  return process.argv[1] !== undefined && importMetaUrl === pathToFileURL(process.argv[1]).href;
}

/** Runs one suite as a script: prints its tables, then one JSON line. */
export async function runStandalone(suite: BenchSuite): Promise<void> {
  const quick = process.argv.includes('--quick');
  const results = [await suite.run({ quick })].flat();
  for (const r of results) printResult(r);
  process.stdout.write(`\n${JSON.stringify({ machine: machineInfo(), results: results.map((r) => ({ area: r.area, rows: r.json })) })}\n`);
}

/** Deterministic pseudo-random bytes (mulberry32), so every run measures the same data. */
export function seededBytes(length: number, seed: number, alphabet?: string): Buffer {
  let s = seed >>> 0;
  const next = (): number => {
    s = (s + 0x6d2b79f5) | 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  const out = Buffer.allocUnsafe(length);
  if (alphabet === undefined) {
    for (let i = 0; i < length; i++) out[i] = next() & 0xff;
  } else {
    for (let i = 0; i < length; i++) out[i] = alphabet.charCodeAt(next() % alphabet.length);
  }
  return out;
}

/** Kafka's perf-test payload alphabet (ProducerPerformance fills payloads with 'A'..'Z'). */
export const UPPERCASE = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
