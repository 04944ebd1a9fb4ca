/**
 * `--sweep name=v1,v2 ...`: runs every combination of the given settings and prints one
 * table (and, with `--plot`, a chart).
 *
 * Each combination runs in a fresh child process (`sluice-perf ... --json`), one after the
 * other: no JIT warmth, heap or worker pool carries over from one combination to the next,
 * so the order of the sweep does not bias it, and a crash in one combination is reported in
 * its row instead of ending the sweep. Rejected: running the combinations in this process
 * (the first combination would pay for the cold JIT and later ones inherit a warm one, a
 * grown heap and the previous run's seal-worker threads). A child costs ~0.5 s to start.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { PerfOptions, SweepAxis } from './cli.js';
import { kafkaName } from './cli.js';
import type { PerfJson, SweepRow } from './report.js';
import { formatSweepTable, machineInfo } from './report.js';
import { writePlot } from './plot.js';

const CLI_PATH = fileURLToPath(new URL('./cli.ts', import.meta.url));

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

/** The command line of one combination: the original one without sweep/plot/json, plus the settings. */
export function childArgs(argv: readonly string[], settings: Record<string, string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const bare = a.replace(/=.*$/s, '');
    if (bare === '--sweep') {
      if (a.includes('=')) continue;
      while (i + 1 < argv.length && !argv[i + 1].startsWith('--')) i++;
      continue;
    }
    if (bare === '--plot') {
      if (!a.includes('=')) i++;
      continue;
    }
    if (a === '--json' || a === '--no-progress') continue;
    out.push(a);
  }
  for (const [name, value] of Object.entries(settings)) {
    switch (name) {
      case 'workers':
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

/** Runs the sweep described by `o` (parsed from `argv`); prints the table (or JSON). @returns exit code */
export async function runSweepCommand(o: PerfOptions, argv: readonly string[]): Promise<number> {
  const axes = o.sweep!;
  const names = axes.map((a) => (a.name === 'workers' ? 'workers' : kafkaName(a.name)));
  const combos = combinations(axes);
  const rows: SweepRow[] = [];
  const tty = o.progress !== 'never' && process.stderr.isTTY === true;
  let failed = 0;
  for (let i = 0; i < combos.length; i++) {
    const settings = combos[i];
    const label = Object.entries(settings)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    if (!o.json) process.stderr.write(`${tty ? '\r\x1b[K' : ''}sweep ${i + 1}/${combos.length}: ${label}${tty ? '' : '\n'}`);
    const { json, failure } = await runChild(childArgs(argv, settings));
    const display: Record<string, string> = {};
    axes.forEach((a, k) => (display[names[k]] = settings[a.name]));
    if (json === null) {
      failed++;
      rows.push({ settings: display, recordsPerSec: NaN, mbPerSec: NaN, latencyMs: { avg: NaN, max: NaN, p50: NaN, p95: NaN, p99: NaN, p999: NaN }, errors: NaN, failure: failure ?? 'failed' });
      continue;
    }
    if (failure !== null) failed++;
    rows.push({
      settings: display,
      recordsPerSec: json.recordsPerSec,
      mbPerSec: json.mbPerSec,
      latencyMs: json.latencyMs,
      errors: json.errors,
      ...(json.peers === undefined ? {} : { peers: json.peers }),
    });
  }
  if (tty && !o.json) process.stderr.write('\r\x1b[K');
  const table = formatSweepTable(names, rows);
  const machine = machineInfo();
  if (o.json) {
    process.stdout.write(`${JSON.stringify({ tool: 'sluice-perf', sweep: axes, rows, machine })}\n`);
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
          `sluice-perf sweep: ${(o.numRecords - o.warmupRecords).toLocaleString('en-US')} records` +
          `${o.warmupRecords > 0 ? ` (+${o.warmupRecords.toLocaleString('en-US')} warm-up)` : ''}, ${what}${o.keySize > 0 ? `, ${o.keySize} B keys` : ''}, embedded cluster`,
        subtitle: `${machine.cpuModel} x${machine.logicalCpus}, Node ${machine.node}, ${new Date().toISOString().slice(0, 10)}`,
      },
      table,
    );
    if (!o.json) process.stdout.write(`chart written to ${o.plot}\n`);
  }
  return failed > 0 ? 1 : 0;
}
