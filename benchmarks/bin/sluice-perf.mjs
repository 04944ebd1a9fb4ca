#!/usr/bin/env node
// sluice-perf: starts the TypeScript CLI (benchmarks/perf/cli.ts) in a child Node process
// with tsx and the `source` export condition. A child process, not an in-process tsx
// register: seal workers are worker threads, and they inherit the child's execArgv
// (`--conditions=source --import tsx`), so they load the TypeScript sources too.
// Arguments, stdio and the exit code are passed through; Ctrl-C reaches the child
// directly (same process group) and is forwarded when sent to this process alone; this
// process ends with the child's status or signal.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const cli = join(here, '..', 'perf', 'cli.ts');
// tsx resolved from this file (the repository's node_modules), not from the caller's
// working directory, so the bin works from anywhere.
const tsx = import.meta.resolve('tsx');
const child = spawn(process.execPath, ['--conditions=source', '--import', tsx, cli, ...process.argv.slice(2)], { stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => child.kill(signal));
}
child.on('exit', (code, signal) => {
  if (signal !== null) {
    // Die of the same signal (our forwarding handler must not swallow it).
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
  }
  else process.exit(code ?? 1);
});
child.on('error', (err) => {
  process.stderr.write(`sluice-perf: cannot start node: ${err.message}\n`);
  process.exit(1);
});
