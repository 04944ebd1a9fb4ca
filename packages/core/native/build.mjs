/**
 * Install step of @sluice/core: compiles the optional native CRC32C (`native/crc32c.c`, see
 * its header) with node-gyp — the copy npm runs install scripts with, else one on the PATH.
 * Never fails the install: without a compiler (or off x86-64) Sluice uses the next CRC32C
 * binding (`sse4_crc32`, `@node-rs/crc32`, pure TypeScript), and says so in one line.
 * `SLUICE_SKIP_NATIVE=1` skips the build.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const note = (msg) => console.log(`@sluice/core: ${msg}`);

if (process.env.SLUICE_SKIP_NATIVE === '1') {
  note('native CRC32C skipped (SLUICE_SKIP_NATIVE=1)');
  process.exit(0);
}
const candidates = [process.env.npm_config_node_gyp, join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js')];
const gyp = candidates.find((p) => p !== undefined && p !== '' && existsSync(p));
const [cmd, args] = gyp !== undefined ? [process.execPath, [gyp, 'rebuild']] : ['node-gyp', ['rebuild']];
const r = spawnSync(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
if (r.status === 0) {
  note('native CRC32C built (build/Release/sluice_crc32c.node)');
} else {
  const why = r.error !== undefined ? r.error.message : (r.stderr || r.stdout || '').split('\n').filter((l) => /error|ERR!/i.test(l)).slice(0, 3).join(' | ');
  note(`native CRC32C not built, using the next CRC32C binding instead (${why || `node-gyp exited with ${r.status}`})`);
}
