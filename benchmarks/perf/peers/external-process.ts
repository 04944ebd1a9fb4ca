/**
 * Peers that are other programs (Kafka's Java tool, kcat): one run is one child process,
 * timed from spawn to exit, killed when the run is interrupted (Ctrl-C) or too slow.
 * Children go through `spawnTracked` (../tracked-process.ts), so none outlives sluice-perf.
 */
import { spawnTracked, tail } from '../tracked-process.js';
import type { LatencySummary } from '../latency-histogram.js';

/** What an external peer measured (its own figures, before any ratio). */
export interface ExternalPeerRun {
  records: number;
  recordsPerSec: number;
  mbPerSec: number;
  /** Null when the program reports no latency (kcat). */
  latencyMs: LatencySummary | null;
  errors: number;
  description: string;
  /** Wall time of the child, start-up included. */
  wallMs: number;
}

/** How a child ended. */
export interface ChildOutcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  elapsedMs: number;
  /** Killed because `stop` said so. */
  stopped: boolean;
}

/**
 * Runs a program to completion. `stop()` is polled every 100 ms; when it returns true the
 * child is killed (SIGTERM, then SIGKILL after 2 s).
 * @throws when the program cannot be started (the message names it)
 */
export async function runChild(
  command: string,
  args: readonly string[],
  options: { timeoutMs: number; stop?: () => boolean; env?: NodeJS.ProcessEnv },
): Promise<ChildOutcome> {
  const startMs = performance.now();
  const proc = spawnTracked(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: options.env });
  let stdout = '';
  let stderr = '';
  let spawnError: Error | null = null;
  proc.child.on('error', (err) => (spawnError = err));
  proc.child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  proc.child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr = tail(stderr + d, 64 * 1024)));
  let stopped = false;
  const poll = setInterval(() => {
    const late = performance.now() - startMs > options.timeoutMs;
    if (!stopped && (late || options.stop?.() === true)) {
      stopped = true;
      void proc.kill('SIGTERM', 2000);
    }
  }, 100);
  const closed = new Promise<void>((resolve) => proc.child.once('close', () => resolve()));
  const { code, signal } = await proc.exited;
  await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 1000))]);
  clearInterval(poll);
  if (spawnError !== null) throw new Error(`cannot run ${command}: ${(spawnError as Error).message}`);
  return { code, signal, stdout, stderr, elapsedMs: performance.now() - startMs, stopped };
}
