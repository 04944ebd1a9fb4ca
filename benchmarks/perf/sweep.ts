/**
 * `--sweep name=v1,v2 ...`: runs every combination of the given settings and prints one
 * table (and, with `--plot`, a chart).
 *
 * Each run of a combination (a cell) is a fresh child process (`sluice-perf ... --json`):
 * no JIT warmth, heap or worker pool carries over from one cell to the next, and a crash in
 * one cell is reported in its row instead of ending the sweep. Rejected: running the cells in
 * this process (the first cell would pay for the cold JIT and later ones inherit a warm one, a
 * grown heap and the previous run's seal-worker threads). A child costs ~0.5 s to start.
 *
 * So that the plot does not show the run order as a difference (the host's speed drifts
 * over minutes, see RESULTS.md), every cell is
 *   - warmed up: its child gets `--warmup-records` (the user's, else a quarter of
 *     `--num-records`) and the steady-state figures are used;
 *   - repeated `--sweep-repeats` times (default 3), in rounds: every cell once per round, in
 *     an order shuffled per round (seeded by `--seed`, so a sweep can be repeated exactly);
 *   - reported as the median run (by records/s) with the range of its runs.
 * Ctrl-C stops after the running child (which prints its own summary) and prints the table of
 * the runs so far.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { PerfOptions, SweepAxis } from './cli.js';
import { kafkaName } from './cli.js';
import type { PerfJson, SweepRow } from './report.js';
import { formatSweepTable, machineInfo } from './report.js';
import { writePlot } from './plot.js';
import { seededRandom } from '@sluice/core';

// The CLI beside this file: cli.ts when running from the sources (under tsx, whose loader the
// child inherits through execArgv), cli.js in the compiled package.
const CLI_PATH = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? './cli.ts' : './cli.js', import.meta.url));

/** Every combination of the axes' values, first axis slowest-changing. */
export function combinations(axes: readonly SweepAxis[]): Record<string, string>[] {
  let out: Record<string, string>[] = [{}];
  for (const axis of axes) {
    const next: Record<string, string>[] = [];
    for (const base of out) for (const v of axis.values) next.push({ ...base, [axis.name]: v });
    out = next;
  }
  return out;
}

/** Warm-up records a sweep cell gets when the command line gives none: a quarter of the run. */
export function sweepWarmupRecords(o: PerfOptions): number {
  return o.warmupRecords > 0 ? o.warmupRecords : Math.floor(o.numRecords / 4);
}

/**
 * The command line of one combination: the original one without sweep/plot/json, plus the
 * settings and the warm-up (and, against a broker with `partitions` swept, a topic per
 * partition count: an existing topic keeps its own count).
 */
export function childArgs(argv: readonly string[], settings: Record<string, string>, extra: { warmupRecords?: number; topic?: string | null } = {}): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const bare = a.replace(/=.*$/s, '');
    if (bare === '--sweep') {
      if (a.includes('=')) continue;
      while (i + 1 < argv.length && !argv[i + 1].startsWith('--')) i++;
      continue;
    }
    if (bare === '--plot' || bare === '--sweep-repeats' || (extra.warmupRecords !== undefined && bare === '--warmup-records') || (extra.topic != null && bare === '--topic')) {
      if (!a.includes('=')) i++;
      continue;
    }
    if (a === '--json' || a === '--no-progress') continue;
    out.push(a);
  }
  for (const [name, value] of Object.entries(settings)) {
    switch (name) {
      case 'workers':
      case 'threads':
      case 'record-size':
      case 'key-size':
      case 'partitions':
      case 'throughput':
      case 'brokers':
        out.push(`--${name}`, value);
        break;
      default:
        out.push('--producer-props', `${name}=${value}`);
    }
  }
  if (extra.warmupRecords !== undefined && extra.warmupRecords > 0) out.push('--warmup-records', String(extra.warmupRecords));
  if (extra.topic != null) out.push('--topic', extra.topic);
  out.push('--json', '--no-progress');
  return out;
}

interface ChildOutcome {
  json: PerfJson | null;
  failure: string | null;
}

function runChild(args: readonly string[]): Promise<ChildOutcome> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...process.execArgv, CLI_PATH, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('close', (code, signal) => {
      const line = out.trim().split('\n').pop() ?? '';
      let json: PerfJson | null = null;
      try {
        json = JSON.parse(line) as PerfJson;
      } catch {
        json = null;
      }
      if (json !== null && (code === 0 || code === 1)) resolve({ json, failure: code === 0 ? null : `exit ${code}` });
      else resolve({ json: null, failure: `exit ${code ?? signal}: ${err.trim().split('\n').slice(-3).join(' / ').slice(0, 300)}` });
    });
  });
}

/** Shuffles in place (Fisher-Yates) with `random` in [0, 1). */
export function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

/**
 * The order of a sweep's runs: `repeats` rounds, every cell once per round, each round
 * shuffled (seeded).
 * @returns cell indexes in run order
 */
export function sweepSchedule(cells: number, repeats: number, seed: number): number[] {
  const random = seededRandom(seed ^ 0x5e5e);
  const out: number[] = [];
  for (let r = 0; r < repeats; r++) out.push(...shuffle(Array.from({ length: cells }, (_, i) => i), random));
  return out;
}

/** The median run of a cell (by records/s) and every run's rate; null when none succeeded. */
export function medianRun(runs: readonly PerfJson[]): { median: PerfJson; rates: number[] } | null {
  if (runs.length === 0) return null;
  const sorted = [...runs].sort((a, b) => a.recordsPerSec - b.recordsPerSec);
  return { median: sorted[Math.floor((sorted.length - 1) / 2)], rates: runs.map((r) => r.recordsPerSec) };
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Runs the sweep described by `o` (parsed from `argv`); prints the table (or JSON). @returns exit code */
export async function runSweepCommand(o: PerfOptions, argv: readonly string[]): Promise<number> {
  const axes = o.sweep!;
  const names = axes.map((a) => (a.name === 'workers' ? 'workers' : kafkaName(a.name)));
  const combos = combinations(axes);
  const warmup = sweepWarmupRecords(o);
  const schedule = sweepSchedule(combos.length, o.sweepRepeats, o.seed);
  const tty = o.progress !== 'never' && process.stderr.isTTY === true;
  const runs: PerfJson[][] = combos.map(() => []);
  const failures: string[][] = combos.map(() => []);
  let stopped = false;
  const onSigint = (): void => {
    stopped = true;
  };
  process.on('SIGINT', onSigint);
  if (!o.json) {
    process.stderr.write(
      `sweep: ${combos.length} cells x ${o.sweepRepeats} runs, each a fresh process warmed up on ${warmup.toLocaleString('en-US')} of ${o.numRecords.toLocaleString('en-US')} records, order shuffled every round (--seed ${o.seed})\n`,
    );
  }
  try {
    for (let k = 0; k < schedule.length && !stopped; k++) {
      const cell = schedule[k];
      const settings = combos[cell];
      const label = Object.entries(settings)
        .map(([name, v]) => `${name}=${v}`)
        .join(' ');
      if (!o.json) process.stderr.write(`${tty ? '\r\x1b[K' : ''}sweep ${k + 1}/${schedule.length}: ${label}${tty ? '' : '\n'}`);
      const topic = o.bootstrapServer !== null && 'partitions' in settings ? `${o.topic}-${settings.partitions}p` : null;
      const { json, failure } = await runChild(childArgs(argv, settings, { warmupRecords: warmup, topic }));
      if (json !== null && json.interrupted !== true) runs[cell].push(json);
      if (failure !== null && !stopped) failures[cell].push(failure);
    }
  } finally {
    process.off('SIGINT', onSigint);
  }
  if (tty && !o.json) process.stderr.write('\r\x1b[K');
  const rows: SweepRow[] = [];
  let failed = 0;
  for (let c = 0; c < combos.length; c++) {
    const display: Record<string, string> = {};
    axes.forEach((a, k) => (display[names[k]] = combos[c][a.name]));
    const m = medianRun(runs[c]);
    failed += failures[c].length;
    if (m === null) {
      rows.push({
        settings: display,
        recordsPerSec: NaN,
        mbPerSec: NaN,
        latencyMs: { avg: NaN, max: NaN, p50: NaN, p95: NaN, p99: NaN, p999: NaN },
        errors: NaN,
        runs: [],
        failure: failures[c][0] ?? (stopped ? 'not run (interrupted)' : 'failed'),
      });
      continue;
    }
    const peerNames = [...new Set(runs[c].flatMap((r) => (r.peers ?? []).map((p) => p.name)))];
    const peers = peerNames.map((name) => {
      const of = runs[c].map((r) => r.peers?.find((p) => p.name === name)).filter((p) => p !== undefined);
      return { name, recordsPerSec: median(of.map((p) => p.recordsPerSec)), mbPerSec: median(of.map((p) => p.mbPerSec)), ratio: median(of.map((p) => p.ratio ?? NaN)) };
    });
    rows.push({
      settings: display,
      recordsPerSec: m.median.recordsPerSec,
      mbPerSec: m.median.mbPerSec,
      latencyMs: m.median.latencyMs,
      errors: m.median.errors,
      runs: m.rates,
      ...(peers.length === 0 ? {} : { peers }),
      ...(failures[c].length === 0 ? {} : { failure: `${failures[c].length} run(s) failed: ${failures[c][0]}` }),
    });
  }
  const table = formatSweepTable(names, rows);
  const machine = machineInfo();
  if (o.json) {
    process.stdout.write(`${JSON.stringify({ tool: 'sluice-perf', sweep: axes, repeats: o.sweepRepeats, warmupRecords: warmup, order: schedule, rows, machine, ...(stopped ? { interrupted: true } : {}) })}\n`);
  } else {
    process.stdout.write(`${table}\n`);
  }
  if (o.plot !== null) {
    const what = o.payloadFile !== null ? `payloads from ${o.payloadFile}` : `${o.recordSize} B values`;
    writePlot(
      o.plot,
      names,
      rows,
      {
        title:
          `sluice-perf sweep: ${(o.numRecords - warmup).toLocaleString('en-US')} records measured after ${warmup.toLocaleString('en-US')} warm-up, ` +
          `median of ${o.sweepRepeats}, ${what}${o.keySize > 0 ? `, ${o.keySize} B keys` : ''}, ${o.bootstrapServer === null ? 'embedded cluster' : o.bootstrapServer}`,
        subtitle: `${machine.cpuModel} x${machine.logicalCpus}, Node ${machine.node}, ${new Date().toISOString().slice(0, 10)}`,
      },
      table,
    );
    if (!o.json) process.stdout.write(`chart written to ${o.plot}\n`);
  }
  if (stopped) return 130;
  return failed > 0 ? 1 : 0;
}
