/**
 * Child processes for the test helpers: `spawnTracked` and friends (children killed when this
 * process exits or is interrupted; see benchmarks/perf/tracked-process.ts, where they live so
 * that sluice-perf's package has them too), and `runCommand`, a command run to completion
 * with a deadline.
 */
import { spawnTracked, tail } from '../../benchmarks/perf/tracked-process.js';

export { findMissingCommands, onProcessExit, spawnTracked, tail } from '../../benchmarks/perf/tracked-process.js';
export type { ExitInfo, SpawnTrackedOptions, TrackedProcess } from '../../benchmarks/perf/tracked-process.js';

/** What {@link runCommand} collected. */
export interface CommandResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: Buffer;
  readonly stderr: string;
  readonly elapsedMs: number;
}

/** Options of {@link runCommand}. */
export interface RunCommandOptions {
  /** Kill the command (SIGKILL) and reject after this long. */
  readonly timeoutMs: number;
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Written to the command's stdin, which is then closed. */
  readonly input?: string | Buffer;
  /** Reject unless the command exits 0 (default true). */
  readonly check?: boolean;
}

/**
 * Runs a command to completion with a deadline, collecting stdout (bytes) and stderr (text).
 * @throws on timeout, and (unless `check: false`) on a non-zero exit, quoting stderr's tail
 */
export async function runCommand(command: string, args: readonly string[], options: RunCommandOptions): Promise<CommandResult> {
  const startMs = performance.now();
  const proc = spawnTracked(command, args, {
    cwd: options.cwd,
    env: options.env,
    stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  const stdout: Buffer[] = [];
  let stderr = '';
  proc.child.stdout!.on('data', (chunk: Buffer) => stdout.push(chunk));
  proc.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  if (options.input !== undefined) proc.child.stdin!.end(options.input);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void proc.kill('SIGKILL');
  }, options.timeoutMs);
  const { code, signal } = await proc.exited;
  clearTimeout(timer);
  // 'exit' can precede the last 'data' events of the pipes; wait for them to close.
  await Promise.all([streamClosed(proc.child.stdout!), streamClosed(proc.child.stderr!)]);
  const elapsedMs = performance.now() - startMs;
  const shown = `${command} ${args.join(' ')}`;
  if (timedOut) {
    throw new Error(`${shown} timed out after ${options.timeoutMs} ms; stderr:\n${tail(stderr)}`);
  }
  if ((options.check ?? true) && code !== 0) {
    throw new Error(`${shown} exited with ${code ?? signal} after ${Math.round(elapsedMs)} ms; stderr:\n${tail(stderr)}`);
  }
  return { code, signal, stdout: Buffer.concat(stdout), stderr, elapsedMs };
}

function streamClosed(stream: NodeJS.ReadableStream & { closed?: boolean }): Promise<void> {
  if (stream.closed) return Promise.resolve();
  return new Promise((resolve) => stream.once('close', () => resolve()));
}
