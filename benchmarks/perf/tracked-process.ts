/**
 * Child processes that cannot outlive the process that started them: sluice-perf's external
 * peers (Kafka's Java tool, kcat) and every broker JVM, mock cluster and kcat the test helpers
 * under test/brokers start go through `spawnTracked`, which
 *
 * 1. records the child, and kills every recorded child with SIGKILL from a synchronous
 *    `process.on('exit')` handler and from SIGINT/SIGTERM/SIGHUP handlers — so a failing test,
 *    a thrown `before()` or Ctrl-C never leaves a JVM behind;
 * 2. optionally pairs it with a watchdog (`sh -c 'read _; kill -9 PID'` reading a pipe from
 *    this process): when Node itself dies by SIGKILL or OOM no handler runs, but the kernel
 *    closes the pipe, `read` returns and the watchdog kills the child. On every orderly path the
 *    watchdog is killed first, so it never signals a PID that has been reused.
 *
 * It lives in the perf package (which ships without test/); test/brokers/tracked-process.ts
 * re-exports it beside the test-only `runCommand`.
 *
 * Rejected: `detached` process groups (a group kill still needs a surviving parent), and a
 * wrapper shell as the child's parent (the PID the tests hold would be the shell's, not the
 * JVM's, and kill -9 on the shell leaves the JVM running).
 */
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';

/** How a tracked child ended. */
export interface ExitInfo {
  /** Exit code, or null when a signal ended it. */
  readonly code: number | null;
  /** The ending signal, or null on a normal exit. */
  readonly signal: NodeJS.Signals | null;
}

/** A child started by {@link spawnTracked}. */
export interface TrackedProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Resolves once the child has exited (never rejects). */
  readonly exited: Promise<ExitInfo>;
  /** True until the child's `exit` event. */
  readonly running: boolean;
  /**
   * Sends `signal`, and SIGKILL if the child is still alive `graceMs` later.
   * @returns how the child ended (at once when it already had)
   */
  kill(signal?: NodeJS.Signals, graceMs?: number): Promise<ExitInfo>;
}

/** Options of {@link spawnTracked} on top of Node's `SpawnOptions`. */
export interface SpawnTrackedOptions extends SpawnOptions {
  /** Start the pipe watchdog described in the file header (use for long-lived children). */
  readonly watchdog?: boolean;
}

interface Entry {
  readonly child: ChildProcess;
  watchdog: ChildProcess | null;
}

const live = new Set<Entry>();
const exitCallbacks = new Set<() => void>();
let handlersInstalled = false;

function killSync(child: ChildProcess | null): void {
  if (child === null || child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  try {
    process.kill(child.pid, 'SIGKILL');
  } catch {
    // Already gone between the check and the kill.
  }
}

function cleanupNow(): void {
  for (const entry of live) {
    killSync(entry.watchdog);
    killSync(entry.child);
  }
  live.clear();
  for (const callback of exitCallbacks) {
    try {
      callback();
    } catch {
      // One failing cleanup must not stop the others; the process is exiting anyway.
    }
  }
  exitCallbacks.clear();
}

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', cleanupNow);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      cleanupNow();
      process.off(signal, onSignal);
      // Re-raise only when nobody else (mocha) handles the signal, to keep Node's default exit.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

/**
 * Runs `callback` synchronously when the process exits or is interrupted (temp-dir removal).
 * @returns a function that unregisters it
 */
export function onProcessExit(callback: () => void): () => void {
  installHandlers();
  exitCallbacks.add(callback);
  return () => {
    exitCallbacks.delete(callback);
  };
}

/**
 * `child_process.spawn` whose child is killed when this process exits (see the file header).
 * @throws when the command cannot be started (ENOENT and the like), with the command named
 */
export function spawnTracked(command: string, args: readonly string[], options: SpawnTrackedOptions = {}): TrackedProcess {
  installHandlers();
  const { watchdog: wantWatchdog = false, ...spawnOptions } = options;
  const child = spawn(command, args, spawnOptions);
  if (child.pid === undefined) {
    // spawn reports ENOENT asynchronously; a missing pid means it failed. Swallow the event.
    child.on('error', () => {});
    throw new Error(`could not start ${command}: not found or not executable`);
  }
  const entry: Entry = { child, watchdog: null };
  live.add(entry);
  if (wantWatchdog) {
    const watchdog = spawn('sh', ['-c', 'read _ ; kill -9 "$1" 2>/dev/null', 'sluice-watchdog', String(child.pid)], {
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    watchdog.on('error', () => {});
    watchdog.unref();
    (watchdog.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    entry.watchdog = watchdog;
  }
  let running = true;
  const exited = new Promise<ExitInfo>((resolve) => {
    child.on('exit', (code, signal) => {
      running = false;
      killSync(entry.watchdog);
      live.delete(entry);
      resolve({ code, signal });
    });
  });
  const pid = child.pid;
  return {
    child,
    pid,
    exited,
    get running() {
      return running;
    },
    async kill(signal: NodeJS.Signals = 'SIGKILL', graceMs = 10_000): Promise<ExitInfo> {
      if (!running) return exited;
      try {
        process.kill(pid, signal);
      } catch {
        return exited;
      }
      if (signal === 'SIGKILL') return exited;
      const timer = setTimeout(() => killSync(child), graceMs);
      const info = await exited;
      clearTimeout(timer);
      return info;
    },
  };
}

/** Last `maxChars` characters of `text`, marked when cut. */
export function tail(text: string, maxChars = 4000): string {
  return text.length <= maxChars ? text : `…${text.slice(text.length - maxChars)}`;
}

/**
 * The commands among `names` that are not on PATH (so a suite can say which tool it skips for).
 * @returns the missing names, in the order given
 */
export function findMissingCommands(names: readonly string[]): string[] {
  return names.filter((name) => spawnSync('sh', ['-c', 'command -v "$1" >/dev/null 2>&1', 'sh', name]).status !== 0);
}
