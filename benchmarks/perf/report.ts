/**
 * What sluice-perf prints: Kafka `ProducerPerformance`'s two line formats (the 5-second
 * window line and the final line), the `--json` object, the peer comparison table and the
 * sweep table. Pure functions of numbers, so the formats are unit-tested.
 *
 * Kafka's lines (org.apache.kafka.tools.ProducerPerformance.Stats, Kafka 4.4):
 *   window: "%d records sent, %.1f records/sec (%.2f MB/sec), %.1f ms avg latency, %.1f ms max latency."
 *   final:  "%d%s records sent, %f records/sec (%.2f MB/sec), %.2f ms avg latency, %.2f ms max latency,
 *            %d ms 50th, %d ms 95th, %d ms 99th, %d ms 99.9th."   (%s: "" or " steady state")
 *   with --warmup-records, first "Warmup first %d records. Steady state results will print after
 *   the complete test summary.", "In steady state." before the first steady-state window, and
 *   the final line twice: the whole run, then " steady state".
 * MB is 1024 * 1024 bytes, as there. The percentiles are whole milliseconds, as Kafka prints
 * them, so that scripts that parse Kafka's output read these lines too; Kafka's latencies are
 * differences of millisecond clock readings, so a percentile here is rounded to the nearest
 * millisecond (the `--json` object has them exact). avg and max keep their decimals (%.2f).
 * Failures are not in the line (Kafka prints a stack trace per failed record instead): the
 * tool reports them on stderr.
 */
import os from 'node:os';
import type { LatencySummary } from './latency-histogram.js';

/** Bytes in Kafka's "MB" (ProducerPerformance divides by 1024 * 1024). */
export const MB = 1024 * 1024;

/** One reporting window's figures (records completed in the window). */
export interface WindowStats {
  records: number;
  bytes: number;
  elapsedMs: number;
  latencySumMs: number;
  latencyMaxMs: number;
}

/** A whole run's figures. */
export interface RunTotals {
  /** Records acknowledged successfully. */
  records: number;
  /** Records that failed. */
  errors: number;
  /** Key + value bytes of the acknowledged records. */
  bytes: number;
  /** From the first append to the last acknowledgement. */
  elapsedMs: number;
  latencyMs: LatencySummary;
}

/** One peer's result in a comparison. */
export interface PeerResult {
  name: string;
  recordsPerSec: number;
  mbPerSec: number;
  /** Sluice's records/s divided by the peer's, in this run. */
  ratio: number;
  /** What the peer did, in words (which encoder, which codec, which target). */
  description?: string;
  latencyMs?: LatencySummary;
  errors?: number;
  /** The `per-thread` peer: its threads. */
  threads?: ThreadsInfo;
}

/** A peer that could not run, and why (how to install it, or when it will exist). */
export interface SkippedPeer {
  name: string;
  reason: string;
}

/** The machine the numbers were measured on. */
export interface MachineInfo {
  cpuModel: string;
  logicalCpus: number;
  totalMemoryBytes: number;
  os: string;
  arch: string;
  node: string;
  v8: string;
  loadAverage1m: number;
}

/** Describes this machine (for `--json` and RESULTS.md). */
export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    logicalCpus: cpus.length,
    totalMemoryBytes: os.totalmem(),
    os: `${os.type()} ${os.release()}`,
    arch: process.arch,
    node: process.version,
    v8: process.versions.v8,
    loadAverage1m: Math.round(os.loadavg()[0] * 100) / 100,
  };
}

/** Records per second (0 for an empty interval). */
export function ratePerSec(count: number, elapsedMs: number): number {
  return elapsedMs > 0 ? (count * 1000) / elapsedMs : 0;
}

/** Kafka's window line. */
export function formatWindowLine(w: WindowStats): string {
  const recsPerSec = ratePerSec(w.records, w.elapsedMs);
  const mbPerSec = ratePerSec(w.bytes, w.elapsedMs) / MB;
  const avg = w.records > 0 ? w.latencySumMs / w.records : 0;
  return (
    `${w.records} records sent, ${recsPerSec.toFixed(1)} records/sec (${mbPerSec.toFixed(2)} MB/sec), ` +
    `${avg.toFixed(1)} ms avg latency, ${w.latencyMaxMs.toFixed(1)} ms max latency.`
  );
}

/** A percentile as Kafka prints it: whole milliseconds (see the file comment). */
export function wholeMs(ms: number): number {
  return Number.isFinite(ms) ? Math.round(ms) : 0;
}

/**
 * Kafka's final line; `steadyState` adds Kafka's " steady state" (the line for the records
 * after --warmup-records).
 */
export function formatFinalLine(t: RunTotals, steadyState = false): string {
  const recsPerSec = ratePerSec(t.records, t.elapsedMs);
  const mbPerSec = ratePerSec(t.bytes, t.elapsedMs) / MB;
  const l = t.latencyMs;
  return (
    `${t.records}${steadyState ? ' steady state' : ''} records sent, ${recsPerSec.toFixed(6)} records/sec (${mbPerSec.toFixed(2)} MB/sec), ` +
    `${l.avg.toFixed(2)} ms avg latency, ${l.max.toFixed(2)} ms max latency, ` +
    `${wholeMs(l.p50)} ms 50th, ${wholeMs(l.p95)} ms 95th, ${wholeMs(l.p99)} ms 99th, ${wholeMs(l.p999)} ms 99.9th.`
  );
}

/** Kafka's announcement of a warm-up, printed before the run. */
export function formatWarmupLine(warmupRecords: number): string {
  return `Warmup first ${warmupRecords} records. Steady state results will print after the complete test summary.`;
}

/** Kafka's line before the first steady-state window. */
export const STEADY_STATE_LINE = 'In steady state.';

/**
 * Kafka's final lines: the whole run, and with a warm-up the steady-state line after it
 * (`wholeRun` null: no warm-up, one line).
 */
export function formatSummaryLines(measured: RunTotals, wholeRun: RunTotals | null): string[] {
  return wholeRun === null ? [formatFinalLine(measured)] : [formatFinalLine(wholeRun), formatFinalLine(measured, true)];
}

/** How a `--threads N` run produced (the threads line, and `threads` in `--json`). */
export interface ThreadsInfo {
  /** `shared`: N appender threads of one producer; `per-thread`: N producers, one per thread. */
  model: 'shared' | 'per-thread';
  threads: number;
  /** One record in this many carried a latency-sampling callback. */
  latencySampleEvery: number;
  /** Latency samples behind the percentiles. */
  latencySamples: number;
  /** `shared`: the owner thread's drain/send cost in the measured part; else null. */
  owner: {
    /** Busy share of one core (event-loop utilization), the embedded broker half excluded. */
    coreShare: number;
    usPerBatch: number;
    batches: number;
    /** Time the embedded cluster's broker half took on the same thread (excluded), ms; 0 against a broker. */
    brokerMs: number;
  } | null;
}

/** The line after Kafka's final line(s) of a `--threads N` run. */
export function formatThreadsLine(t: ThreadsInfo): string {
  const sampled = `latency sampled: 1 record in ${t.latencySampleEvery} (${t.latencySamples} samples)`;
  if (t.model === 'per-thread') return `threads: ${t.threads} producers, one per thread, over one buffer pool; ${sampled}.`;
  const o = t.owner;
  const cost =
    o === null
      ? ''
      : `; owner thread drain/send: ${(o.coreShare * 100).toFixed(1)}% of a core, ${o.usPerBatch.toFixed(1)} us per batch (${o.batches} batches` +
        `${o.brokerMs > 0 ? `, embedded broker half excluded: ${o.brokerMs.toFixed(0)} ms` : ''})`;
  return `threads: ${t.threads} appender threads sharing one producer${cost}; ${sampled}.`;
}

/** The `--json` object: one line, for scripts. */
export interface PerfJson {
  tool: 'sluice-perf';
  target: string;
  records: number;
  recordsPerSec: number;
  mbPerSec: number;
  latencyMs: LatencySummary;
  errors: number;
  elapsedMs: number;
  /** With --warmup-records: every record, warm-up included (Kafka's first summary line). */
  wholeRun?: { records: number; recordsPerSec: number; mbPerSec: number; latencyMs: LatencySummary; errors: number; elapsedMs: number };
  /** Set when Ctrl-C stopped the run: the figures cover what was acknowledged until then. */
  interrupted?: boolean;
  /** Every effective setting: the harness's and the producer's (camelCase and Kafka names). */
  config: Record<string, unknown>;
  machine: MachineInfo;
  peers?: PeerResult[];
  skippedPeers?: SkippedPeer[];
  /** With `--threads N` (N ≥ 2): how the threads produced. */
  threads?: ThreadsInfo;
}

/** Builds the `--json` object. Peers appear only when `--compare` was given. */
export function buildJson(
  totals: RunTotals,
  target: string,
  config: Record<string, unknown>,
  machine: MachineInfo,
  peers?: { results: PeerResult[]; skipped: SkippedPeer[] },
  wholeRun?: RunTotals | null,
): PerfJson {
  const out: PerfJson = {
    tool: 'sluice-perf',
    target,
    records: totals.records,
    recordsPerSec: round(ratePerSec(totals.records, totals.elapsedMs), 1),
    mbPerSec: round(ratePerSec(totals.bytes, totals.elapsedMs) / MB, 3),
    latencyMs: roundSummary(totals.latencyMs),
    errors: totals.errors,
    elapsedMs: round(totals.elapsedMs, 1),
    config,
    machine,
  };
  if (wholeRun !== undefined && wholeRun !== null) {
    out.wholeRun = {
      records: wholeRun.records,
      recordsPerSec: round(ratePerSec(wholeRun.records, wholeRun.elapsedMs), 1),
      mbPerSec: round(ratePerSec(wholeRun.bytes, wholeRun.elapsedMs) / MB, 3),
      latencyMs: roundSummary(wholeRun.latencyMs),
      errors: wholeRun.errors,
      elapsedMs: round(wholeRun.elapsedMs, 1),
    };
  }
  if (peers !== undefined) {
    out.peers = peers.results.map((p) => ({
      ...p,
      recordsPerSec: round(p.recordsPerSec, 1),
      mbPerSec: round(p.mbPerSec, 3),
      ratio: round(p.ratio, 2),
      ...(p.latencyMs === undefined ? {} : { latencyMs: roundSummary(p.latencyMs) }),
    }));
    out.skippedPeers = peers.skipped;
  }
  return out;
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function roundSummary(l: LatencySummary): LatencySummary {
  return { avg: round(l.avg, 4), max: round(l.max, 4), p50: round(l.p50, 4), p95: round(l.p95, 4), p99: round(l.p99, 4), p999: round(l.p999, 4) };
}

/** Formats an integer-ish rate with thousands separators ("3,412,877"). */
export function formatCount(x: number): string {
  return Math.round(x).toLocaleString('en-US');
}

/**
 * A plain-text table: first row is the header; numbers right-aligned, text left-aligned.
 * Rendered as GitHub Markdown so it pastes into RESULTS.md as is.
 */
export function formatTable(rows: readonly (readonly (string | number)[])[]): string {
  if (rows.length === 0) return '';
  const cells = rows.map((r) => r.map((c) => (typeof c === 'number' ? formatNumberCell(c) : c)));
  const numeric = rows[rows.length > 1 ? 1 : 0].map((c) => typeof c === 'number');
  const widths = cells[0].map((_, i) => Math.max(3, ...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]): string =>
    `| ${r.map((c, i) => (numeric[i] ? (c ?? '').padStart(widths[i]) : (c ?? '').padEnd(widths[i]))).join(' | ')} |`;
  const sep = `|${widths.map((w, i) => (numeric[i] ? `${'-'.repeat(w + 1)}:` : `${'-'.repeat(w + 2)}`)).join('|')}|`;
  return [line(cells[0]), sep, ...cells.slice(1).map(line)].join('\n');
}

function formatNumberCell(x: number): string {
  if (Number.isNaN(x)) return '-';
  if (!Number.isFinite(x)) return String(x);
  if (Number.isInteger(x) || Math.abs(x) >= 1000) return formatCount(x);
  if (Math.abs(x) >= 100) return x.toFixed(1);
  return x.toFixed(2);
}

/** A ratio as "12.34x"; "-" when it is not a finite number (a peer that acknowledged nothing; JSON turns Infinity into null). */
export function formatRatio(ratio: number | null | undefined): string {
  return typeof ratio === 'number' && Number.isFinite(ratio) ? `${ratio.toFixed(2)}x` : '-';
}

/**
 * The `--compare` table: Sluice first, then each peer with Sluice's ratio over it.
 * @param name - Sluice's row (`sluice`; with `--threads N`, which model)
 */
export function formatCompareTable(sluice: { recordsPerSec: number; mbPerSec: number; latencyMs: LatencySummary }, peers: readonly PeerResult[], name = 'sluice'): string {
  const rows: (string | number)[][] = [['producer', 'records/s', 'MB/s', 'p50 ms', 'p99 ms', 'Sluice ratio']];
  rows.push([name, Math.round(sluice.recordsPerSec), sluice.mbPerSec, sluice.latencyMs.p50, sluice.latencyMs.p99, '1.00x']);
  for (const p of peers) {
    rows.push([
      p.name,
      Math.round(p.recordsPerSec),
      p.mbPerSec,
      p.latencyMs?.p50 ?? NaN,
      p.latencyMs?.p99 ?? NaN,
      formatRatio(p.ratio),
    ]);
  }
  return formatTable(rows);
}

/** One row of a sweep: the combination's settings and what it measured (medians of its runs). */
export interface SweepRow {
  settings: Record<string, string>;
  /** Median of the runs' records/s. */
  recordsPerSec: number;
  mbPerSec: number;
  latencyMs: LatencySummary;
  errors: number;
  /** Records/s of every run of the cell, in run order (empty for a cell that never ran). */
  runs?: number[];
  peers?: PeerResult[];
  /** Why the combination failed to run, if it did. */
  failure?: string;
}

/** `low-high` of a cell's runs ("2.41M-2.60M"), or '' for fewer than two. */
export function formatRange(runs: readonly number[] | undefined): string {
  if (runs === undefined || runs.length < 2) return '';
  const short = (x: number): string => (x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : x >= 1e3 ? `${(x / 1e3).toFixed(0)}k` : x.toFixed(0));
  return `${short(Math.min(...runs))}-${short(Math.max(...runs))}`;
}

/** The `--sweep` table: one row per combination (medians, with the range of its runs). */
export function formatSweepTable(axes: readonly string[], rows: readonly SweepRow[]): string {
  const peerNames = [...new Set(rows.flatMap((r) => (r.peers ?? []).map((p) => p.name)))];
  const withRuns = rows.some((r) => (r.runs?.length ?? 0) > 1);
  const header: string[] = [...axes, 'records/s', ...(withRuns ? ['range', 'runs'] : []), 'MB/s', 'avg ms', 'p99 ms', 'errors'];
  for (const n of peerNames) header.push(`${n} records/s`, `vs ${n}`);
  const out: (string | number)[][] = [header];
  for (const r of rows) {
    const row: (string | number)[] = axes.map((a) => r.settings[a] ?? '');
    if (r.failure !== undefined && !(r.recordsPerSec > 0)) {
      row.push(NaN, ...(withRuns ? ['', r.runs?.length ?? 0] : []), NaN, NaN, NaN, r.failure);
    } else {
      row.push(Math.round(r.recordsPerSec), ...(withRuns ? [formatRange(r.runs), r.runs?.length ?? 0] : []), r.mbPerSec, r.latencyMs.avg, r.latencyMs.p99, r.failure ?? r.errors);
    }
    for (const n of peerNames) {
      const p = r.peers?.find((x) => x.name === n);
      row.push(p === undefined ? NaN : Math.round(p.recordsPerSec), p === undefined ? '' : formatRatio(p.ratio));
    }
    out.push(row);
  }
  return formatTable(out);
}
