#!/usr/bin/env node
// sluice-perf: starts the CLI in a child Node process.
// - Inside the Sluice repository (perf/cli.ts beside this file, tsx installed): the TypeScript
//   sources, with tsx and the `source` export condition, so `npm run perf` needs no build.
//   A child process, not an in-process tsx register: seal workers are worker threads, and they
//   inherit the child's execArgv (`--conditions=source --import tsx`), so they load the
//   TypeScript sources too.
// - Installed (@sluice/perf from npm): the compiled dist/perf/cli.js with plain node; seal
//   workers start from @sluice/worker's compiled dist/.
// Arguments, stdio and the exit code are passed through; Ctrl-C reaches the child directly
// (same process group) and is forwarded when sent to this process alone; this process ends
// with the child's status or signal.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const sources = join(here, '..', 'perf', 'cli.ts');
const compiled = join(here, '..', 'dist', 'perf', 'cli.js');

/** tsx resolved from this file (the repository's node_modules), not from the caller's directory; null without it. */
function resolveTsx() {
  try {
    return import.meta.resolve('tsx');
  } catch {
    return null;
  }
}

const tsx = existsSync(sources) ? resolveTsx() : null;
let nodeArgs;
if (tsx !== null) nodeArgs = ['--conditions=source', '--import', tsx, sources];
else if (existsSync(compiled)) nodeArgs = [compiled];
else {
  process.stderr.write(
    existsSync(sources)
      ? `sluice-perf: cannot run ${sources}: tsx is not installed, and there is no build (${compiled}); run \`npm install\`, or \`npm run build\`\n`
      : `sluice-perf: ${compiled} is missing: this copy of @sluice/perf was not built (\`npm run build\` in its repository)\n`,
  );
  process.exit(1);
}

const child = spawn(process.execPath, [...nodeArgs, ...process.argv.slice(2)], { stdio: 'inherit' });
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
