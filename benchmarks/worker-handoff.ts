/**
 * The price of handing one batch to a seal thread through the job ring, on the main thread:
 * CPU time of the main thread (from /proc/self/task/<pid>/stat, which other processes do not
 * inflate) per batch, for batches with next to no work (512 B of lz4 at level 1), so that
 * what is measured is the hand-off: lane choice, the ring entry, the atomic publish, the
 * wake-up (`Atomics.waitAsync` promise) and the drain — `completeSeal` itself is a counter.
 * Two shapes: one batch at a time (every batch needs its own wake-up: the worst case) and
 * `--in-flight` batches at a time (a producer under load: wake-ups shared).
 * Beside it, the rejected alternative's figure from RESULTS.md ('Hand-off cost': a piscina
 * task, 45-75 µs of main CPU per task).
 *
 *   node --conditions=source --import tsx benchmarks/worker-handoff.ts [--batches 40000] [--in-flight 16] [--reps 3]
 */
import { readFileSync } from 'node:fs';
import { RECORD_BATCH_OVERHEAD } from '../packages/core/src/format/record-batch-layout.js';
import type { SealJob } from '../packages/core/src/sealing/sealer.js';
import { OffloadPolicy } from '../packages/worker/src/offload-policy.js';
import { WorkerSealer } from '../packages/worker/src/worker-sealer.js';

const args = process.argv.slice(2);
const opt = (name: string, fallback: number): number => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : fallback);
const BATCHES = opt('--batches', 40_000);
const IN_FLIGHT = opt('--in-flight', 16);
const REPS = opt('--reps', 3);

function mainThreadCpuMs(): number {
  const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime, fields 14 and 15 (man 5 proc), in clock ticks of 10 ms.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

async function measure(sealer: WorkerSealer, inFlight: number, batches: number): Promise<{ mainUsPerBatch: number; wallUsPerBatch: number; handoffNsPerBatch: number; wakeupsPerBatch: number }> {
  const stride = 4096;
  const memory = new SharedArrayBuffer(inFlight * stride);
  const bytes = Buffer.from(memory);
  const view = new DataView(memory);
  const record = Buffer.alloc(512, 'abcdefgh');
  const spec = { recordsLength: record.length, recordCount: 1, baseTimestamp: 0, maxTimestamp: 0, codecId: 3 as const, level: 1, producerId: -1, producerEpoch: -1, baseSequence: -1, transactional: false };
  let done = 0;
  let wake: (() => void) | null = null;
  const jobs: SealJob[] = [];
  for (let i = 0; i < inFlight; i++) {
    jobs.push({
      memory,
      bytes,
      view,
      byteOffset: i * stride,
      capacityBytes: stride,
      sealSpec: () => spec,
      completeSeal: () => {
        done++;
        wake?.();
      },
      failSeal: (e) => {
        throw e;
      },
    });
  }
  const round = (): Promise<void> =>
    new Promise<void>((resolve) => {
      const target = done + inFlight;
      wake = () => {
        if (done >= target) resolve();
      };
      for (const job of jobs) {
        bytes.set(record, job.byteOffset + RECORD_BATCH_OVERHEAD);
        sealer.seal(job);
      }
    });
  const s0 = sealer.stats;
  const cpu0 = mainThreadCpuMs();
  const t0 = performance.now();
  for (let n = 0; n < batches; n += inFlight) await round();
  const wallMs = performance.now() - t0;
  const cpuMs = mainThreadCpuMs() - cpu0;
  const s1 = sealer.stats;
  const offloaded = s1.offloadedBatches - s0.offloadedBatches;
  if (offloaded < batches * 0.99) throw new Error(`only ${offloaded} of ${batches} batches were offloaded`);
  return {
    mainUsPerBatch: (cpuMs * 1000) / offloaded,
    wallUsPerBatch: (wallMs * 1000) / offloaded,
    handoffNsPerBatch: (s1.handoffNs - s0.handoffNs) / offloaded,
    wakeupsPerBatch: (s1.wakeups - s0.wakeups) / offloaded,
  };
}

const sealer = new WorkerSealer({ threads: 1, offloadPolicy: OffloadPolicy.always() });
while (sealer.stats.threads < 1) await new Promise((r) => setTimeout(r, 20));
await measure(sealer, IN_FLIGHT, 20_000); // warm-up (JIT, both shapes)
await measure(sealer, 1, 5_000);
console.log('| batches in flight | main-thread CPU µs/batch | wall µs/batch | in-sealer hand-off ns/batch (timed) | wake-ups/batch |');
console.log('|---:|---:|---:|---:|---:|');
const rows: Record<string, number[][]> = {};
for (let rep = 0; rep < REPS; rep++) {
  for (const inFlight of [1, IN_FLIGHT]) {
    const r = await measure(sealer, inFlight, inFlight === 1 ? BATCHES / 4 : BATCHES);
    (rows[inFlight] ??= []).push([r.mainUsPerBatch, r.wallUsPerBatch, r.handoffNsPerBatch, r.wakeupsPerBatch]);
  }
}
for (const [inFlight, rs] of Object.entries(rows)) {
  const med = (i: number): number => rs.map((r) => r[i]).sort((a, b) => a - b)[Math.floor(rs.length / 2)];
  const rng = (i: number, d: number): string => `${Math.min(...rs.map((r) => r[i])).toFixed(d)}-${Math.max(...rs.map((r) => r[i])).toFixed(d)}`;
  console.log(`| ${inFlight} | ${med(0).toFixed(2)} (${rng(0, 2)}) | ${med(1).toFixed(1)} (${rng(1, 1)}) | ${med(2).toFixed(0)} (${rng(2, 0)}) | ${med(3).toFixed(2)} |`);
}
await sealer.close();
