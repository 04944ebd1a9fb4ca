/**
 * Multi-core producers: N threads, each with its own `Producer` (accumulator, sender,
 * partitioner) and its own embedded cluster, over ONE buffer pool in one SharedArrayBuffer
 * (one memory bound for the process). Measures the aggregate records/s, append → broker
 * acknowledgement, for N = 1..max, beside what the machine itself gives (its parallel
 * scaling on a CPU-bound loop, measured in the same run): the ceiling of any speed-up.
 *
 *   node --conditions=source --import tsx benchmarks/multi-thread-producers.ts
 *     [--threads 1,2,3] [--records 2000000] [--record-size 100] [--partitions 6] [--reps 3]
 *
 * The threads live across rounds (warm JIT: fresh threads measured their compilers competing
 * for the cores). Each round every thread builds a producer, waits at a gate, and all start
 * together; the clock runs from the gate to the last thread's flush. Two warm-up rounds. `--records` is
 * the total, split evenly. Median of `--reps`. Results: benchmarks/RESULTS.md.
 */
import { availableParallelism, cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { BufferPool } from '@sluice/core';
import type { ProducerThreadInput, ProducerThreadOutput } from './multi-thread/producer-thread.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: string): string => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback;
};
const THREADS = option('--threads', `1,2,${availableParallelism() + 1}`).split(',').map(Number);
const RECORDS = Number(option('--records', '2000000'));
const RECORD_SIZE = Number(option('--record-size', '100'));
const PARTITIONS = Number(option('--partitions', '6'));
const REPS = Number(option('--reps', '3'));
const BUFFER_MEMORY = 32 * 1024 * 1024;
const BATCH_SIZE = 16384;
const THREAD_URL = new URL('./multi-thread/producer-thread.mjs', import.meta.url);

/** A producer thread kept alive across rounds (warm JIT). */
class ProducerThread {
  readonly worker = new Worker(THREAD_URL);
  #next: ((m: { ready?: boolean } & ProducerThreadOutput) => void)[] = [];

  constructor() {
    this.worker.on('message', (m: { ready?: boolean } & ProducerThreadOutput) => this.#next.shift()?.(m));
  }

  /** Starts a round; resolves `ready` when the thread waits at the gate, `done` when it flushed. */
  round(input: ProducerThreadInput): { ready: Promise<void>; done: Promise<ProducerThreadOutput> } {
    const ready = new Promise<void>((resolve) => this.#next.push(() => resolve()));
    const done = new Promise<ProducerThreadOutput>((resolve) => this.#next.push(resolve));
    this.worker.postMessage(input);
    return { ready, done };
  }
}

async function runOnce(threads: ProducerThread[]): Promise<number> {
  const pool = new BufferPool({ totalMemoryBytes: BUFFER_MEMORY, poolableSizeBytes: BATCH_SIZE });
  const gate = new SharedArrayBuffer(4);
  const per = Math.floor(RECORDS / threads.length);
  const rounds = threads.map((t, i) =>
    t.round({ shared: pool.sharedBuffer, gate, records: per, recordSize: RECORD_SIZE, partitions: PARTITIONS, thread: i }),
  );
  await Promise.all(rounds.map((r) => r.ready));
  const start = performance.now();
  Atomics.store(new Int32Array(gate), 0, 1);
  Atomics.notify(new Int32Array(gate), 0);
  const outputs = await Promise.all(rounds.map((r) => r.done));
  const elapsedMs = performance.now() - start;
  for (const o of outputs) {
    if (o.errors !== 0) throw new Error(`a producer thread failed: ${o.errors} errors, first: ${o.firstError}`);
  }
  if (pool.availableMemory() !== pool.totalMemory) throw new Error('pool memory not returned');
  pool.close();
  return (per * threads.length * 1000) / elapsedMs;
}

/** Loops per ms of a CPU-bound integer loop on `threads` threads at once (the machine's own scaling). */
async function machineScaling(threads: number): Promise<number> {
  const code = `
    const { parentPort } = require('node:worker_threads');
    let x = 1, n = 0; const end = Date.now() + 400;
    while (Date.now() < end) { for (let i = 0; i < 100000; i++) x = (x * 1103515245 + 12345) | 0; n++; }
    parentPort.postMessage(n + (x & 0));`;
  const counts = await Promise.all(
    Array.from({ length: threads }, () => new Promise<number>((resolve) => new Worker(code, { eval: true }).once('message', resolve))),
  );
  return counts.reduce((a, b) => a + b, 0);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

async function main(): Promise<void> {
  console.log(`machine: ${cpus()[0]?.model ?? '?'} x${availableParallelism()}, node ${process.version}, load ${loadavg()[0].toFixed(2)} at start`);
  console.log(`workload: ${fmt(RECORDS)} records of ${RECORD_SIZE} B in all, ${PARTITIONS} partitions per thread's topic, batch.size ${BATCH_SIZE}, one shared pool of ${BUFFER_MEMORY >> 20} MiB; median of ${REPS}`);
  const base1 = await machineScaling(1);
  const rows: { threads: number; rate: number; machine: number }[] = [];
  for (const threads of THREADS) {
    const pool = Array.from({ length: threads }, () => new ProducerThread());
    await runOnce(pool); // warm-up: thread start-up and JIT
    await runOnce(pool);
    const rates: number[] = [];
    for (let r = 0; r < REPS; r++) rates.push(await runOnce(pool));
    await Promise.all(pool.map((t) => t.worker.terminate()));
    rows.push({ threads, rate: median(rates), machine: (await machineScaling(threads)) / base1 });
  }
  const one = rows.find((r) => r.threads === 1)?.rate ?? rows[0].rate;
  console.log('');
  console.log('| producer threads | records/s (all threads) | per thread | vs 1 thread | machine: CPU loop on as many threads |');
  console.log('|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(`| ${r.threads} | ${fmt(r.rate)} | ${fmt(r.rate / r.threads)} | ${(r.rate / one).toFixed(2)}x | ${r.machine.toFixed(2)}x |`);
  }
}

await main();
