/**
 * What sluice-perf prints: Kafka `ProducerPerformance`'s two line formats (the 5-second
 * window line and the final line), the `--json` object, the peer comparison table and the
 * sweep table. Pure functions of numbers, so the formats are unit-tested.
 *
 * Kafka's lines (org.apache.kafka.tools.ProducerPerformance.Stats):
 *   "%d records sent, %.1f records/sec (%.2f MB/sec), %.1f ms avg latency, %.1f ms max latency."
 *   "%d records sent, %f records/sec (%.2f MB/sec), %.2f ms avg latency, %.2f ms max latency,
 *    %d ms 50th, %d ms 95th, %d ms 99th, %d ms 99.9th."
 * MB is 1024 * 1024 bytes, as there. One deliberate difference: Kafka prints percentiles as
 * whole milliseconds, which would print "0 ms" for everything an in-memory cluster does;
 * they are printed with two decimals here ("0.42 ms 50th").
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

/** Kafka's final line (percentiles with two decimals, see the file comment). */
export function formatFinalLine(t: RunTotals): string {
  const recsPerSec = ratePerSec(t.records, t.elapsedMs);
  const mbPerSec = ratePerSec(t.bytes, t.elapsedMs) / MB;
  const l = t.latencyMs;
  const errors = t.errors > 0 ? ` ${t.errors} records failed.` : '';
  return (
    `${t.records} records sent, ${recsPerSec.toFixed(6)} records/sec (${mbPerSec.toFixed(2)} MB/sec), ` +
    `${l.avg.toFixed(2)} ms avg latency, ${l.max.toFixed(2)} ms max latency, ` +
    `${l.p50.toFixed(2)} ms 50th, ${l.p95.toFixed(2)} ms 95th, ${l.p99.toFixed(2)} ms 99th, ${l.p999.toFixed(2)} ms 99.9th.` +
    errors
  );
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
  /** Every effective setting: the harness's and the producer's (camelCase and Kafka names). */
  config: Record<string, unknown>;
  machine: MachineInfo;
  peers?: PeerResult[];
  skippedPeers?: SkippedPeer[];
}

/** Builds the `--json` object. Peers appear only when `--compare` was given. */
export function buildJson(
  totals: RunTotals,
  target: string,
  config: Record<string, unknown>,
  machine: MachineInfo,
  peers?: { results: PeerResult[]; skipped: SkippedPeer[] },
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

/** The `--compare` table: Sluice first, then each peer with Sluice's ratio over it. */
export function formatCompareTable(sluice: { recordsPerSec: number; mbPerSec: number; latencyMs: LatencySummary }, peers: readonly PeerResult[]): string {
  const rows: (string | number)[][] = [['producer', 'records/s', 'MB/s', 'p50 ms', 'p99 ms', 'Sluice ratio']];
  rows.push(['sluice', Math.round(sluice.recordsPerSec), sluice.mbPerSec, sluice.latencyMs.p50, sluice.latencyMs.p99, '1.00x']);
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

/** One row of a sweep: the combination's settings and what it measured. */
export interface SweepRow {
  settings: Record<string, string>;
  recordsPerSec: number;
  mbPerSec: number;
  latencyMs: LatencySummary;
  errors: number;
  peers?: PeerResult[];
  /** Why the combination failed to run, if it did. */
  failure?: string;
}

/** The `--sweep` table: one row per combination. */
export function formatSweepTable(axes: readonly string[], rows: readonly SweepRow[]): string {
  const peerNames = [...new Set(rows.flatMap((r) => (r.peers ?? []).map((p) => p.name)))];
  const header: string[] = [...axes, 'records/s', 'MB/s', 'avg ms', 'p99 ms', 'errors'];
  for (const n of peerNames) header.push(`${n} records/s`, `vs ${n}`);
  const out: (string | number)[][] = [header];
  for (const r of rows) {
    const row: (string | number)[] = axes.map((a) => r.settings[a] ?? '');
    if (r.failure !== undefined) {
      row.push(NaN, NaN, NaN, NaN, r.failure);
    } else {
      row.push(Math.round(r.recordsPerSec), r.mbPerSec, r.latencyMs.avg, r.latencyMs.p99, r.errors);
    }
    for (const n of peerNames) {
      const p = r.peers?.find((x) => x.name === n);
      row.push(p === undefined ? NaN : Math.round(p.recordsPerSec), p === undefined ? '' : formatRatio(p.ratio));
    }
    out.push(row);
  }
  return formatTable(out);
}
