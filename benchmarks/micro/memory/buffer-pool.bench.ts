/**
 * BufferPool allocate/free: single thread, and contended — the main thread measured while
 * worker threads allocate and free on the same SharedArrayBuffer without pause.
 *
 * Patterns: `1` = allocate one 16 KiB slot and free it (the steady state of a producer);
 * `64` = allocate 64 slots, then free them (bursts: a linger expiring on many partitions).
 *
 * Beside it, the rejected alternative named in buffer-pool.ts: a free stack behind a spin
 * lock word in shared memory. It hands out bare indices (no handle object, no slot state
 * word, no generation check), so single-threaded it is the floor of what any design can do;
 * the contended rows show what the lock costs when another thread wants it at the same time.
 *
 * On a 2-core machine, 1 contender = both cores busy; 2 contenders oversubscribe (the OS
 * preempts threads, including a lock holder — the case that hurts a spin lock most).
 */
import { Worker } from 'node:worker_threads';
import { BufferPool } from '@sluice/core';
import type { PoolSlot } from '@sluice/core';
import type { BenchSuite, SuiteOptions, SuiteResult, TaskStats } from '../bench-kit.js';
import { formatNs, isMain, measure, runStandalone } from '../bench-kit.js';
import type { ContenderStart, PoolKind } from './pool-contender.js';
import { CONTROL_WORDS, MutexFreeListPool, mutexRound, OPS_INDEX, OPS_UNIT, READY_INDEX, sluiceRound, STOP_INDEX } from './pool-contender.js';

const SLOT_BYTES = 16 * 1024;
const SLOTS = 512;
const WORKER_URL = new URL('./pool-contender-worker.mjs', import.meta.url);

interface Contenders {
  control: Int32Array;
  workers: Worker[];
}

async function startContenders(n: number, kind: PoolKind, shared: SharedArrayBuffer, depth: number): Promise<Contenders> {
  const controlBuffer = new SharedArrayBuffer(CONTROL_WORDS * 4);
  const control = new Int32Array(controlBuffer);
  const workers: Worker[] = [];
  for (let i = 0; i < n; i++) {
    const w = new Worker(WORKER_URL);
    w.on('error', (err) => {
      process.stderr.write(`pool contender failed: ${err.stack ?? String(err)}\n`);
    });
    const msg: ContenderStart = { kind, shared, control: controlBuffer, depth };
    w.postMessage(msg);
    workers.push(w);
  }
  while (Atomics.load(control, READY_INDEX) < n) await new Promise((r) => setTimeout(r, 5));
  return { control, workers };
}

async function stopContenders(c: Contenders): Promise<void> {
  Atomics.store(c.control, STOP_INDEX, 1);
  await Promise.all(c.workers.map((w) => new Promise((r) => w.once('exit', r))));
}

interface Row {
  pool: string;
  pattern: number;
  contenders: number;
  main: TaskStats;
  /** Allocate+free pairs per second done by all contenders while the main thread was measured. */
  contenderOpsPerSec: number;
}

async function measureCell(kind: PoolKind, depth: number, contenders: number, options: SuiteOptions): Promise<Row> {
  const name = `${kind === 'sluice' ? 'BufferPool' : 'mutex free list (rejected)'}/${depth}/${contenders} contenders`;
  let fn: () => void;
  let shared: SharedArrayBuffer;
  if (kind === 'sluice') {
    const pool = new BufferPool({ totalMemoryBytes: SLOTS * SLOT_BYTES, poolableSizeBytes: SLOT_BYTES });
    shared = pool.sharedBuffer;
    const held: (PoolSlot | null)[] = new Array(depth).fill(null);
    const rounds = Math.max(1, Math.floor(OPS_UNIT / depth));
    fn = () => {
      for (let r = 0; r < rounds; r++) sluiceRound(pool, held, depth, SLOT_BYTES);
    };
  } else {
    const pool = MutexFreeListPool.create(SLOTS);
    shared = pool.shared;
    const held = new Int32Array(depth);
    const rounds = Math.max(1, Math.floor(OPS_UNIT / depth));
    fn = () => {
      for (let r = 0; r < rounds; r++) mutexRound(pool, held, depth);
    };
  }
  const opsPerIteration = Math.max(1, Math.floor(OPS_UNIT / depth)) * depth;
  const c = contenders > 0 ? await startContenders(contenders, kind, shared, depth) : null;
  const t0 = performance.now();
  const before = c === null ? 0 : Atomics.load(c.control, OPS_INDEX);
  const [stats] = await measure([{ name, fn, itemsPerIteration: opsPerIteration }], options);
  const after = c === null ? 0 : Atomics.load(c.control, OPS_INDEX);
  const elapsedS = (performance.now() - t0) / 1000;
  if (c !== null) await stopContenders(c);
  return { pool: kind, pattern: depth, contenders, main: stats, contenderOpsPerSec: ((after - before) * OPS_UNIT) / elapsedS };
}

export const benchmark: BenchSuite = {
  area: 'memory/buffer-pool',
  title: 'BufferPool allocate+free of 16 KiB slots: single thread and contended from worker threads',
  async run(options: SuiteOptions): Promise<SuiteResult> {
    const rows: Row[] = [];
    const contenderCounts = options.quick ? [0, 1] : [0, 1, 2];
    for (const depth of [1, 64]) {
      for (const contenders of contenderCounts) {
        for (const kind of ['sluice', 'mutex'] as const) rows.push(await measureCell(kind, depth, contenders, options));
      }
    }
    const table: (string | number)[][] = [
      ['pool', 'pattern', 'contending threads', 'main thread alloc+free/s', 'per alloc+free', 'contenders alloc+free/s', '± %'],
    ];
    const json: Record<string, unknown>[] = [];
    for (const r of rows) {
      table.push([
        r.pool === 'sluice' ? 'BufferPool (bitmap + CAS)' : 'mutex free list (rejected)',
        r.pattern === 1 ? 'alloc, free' : `alloc ${r.pattern}, free ${r.pattern}`,
        r.contenders,
        Math.round(r.main.itemsPerSec),
        formatNs(1e9 / r.main.itemsPerSec),
        r.contenders === 0 ? '-' : Math.round(r.contenderOpsPerSec).toLocaleString('en-US'),
        r.main.rmePercent,
      ]);
      json.push({
        pool: r.pool,
        pattern: r.pattern,
        contenders: r.contenders,
        mainOpsPerSec: Math.round(r.main.itemsPerSec),
        nsPerOp: 1e9 / r.main.itemsPerSec,
        contenderOpsPerSec: Math.round(r.contenderOpsPerSec),
        rmePercent: r.main.rmePercent,
      });
    }
    return {
      area: this.area,
      title: this.title,
      table,
      notes: [
        'An op is one allocate plus one free. BufferPool creates a PoolSlot handle per allocation and checks slot state and generation on every free; the rejected mutex pool does neither.',
      ],
      json,
    };
  },
};

if (isMain(import.meta.url)) await runStandalone(benchmark);
