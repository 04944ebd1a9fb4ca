/**
 * The job ring's two ends (`seal-ring.ts`) interleaved step by step on one thread, for random
 * schedules: main publishes, drains, times out (abandons) the thread's job and retires the
 * lane (reclaims queued jobs); the thread takes, compresses, wins or loses REPLACING,
 * finishes or fails. Each step is one or two atomic operations, as on two threads.
 * Invariants (layout file): every published job is completed exactly once; the thread never
 * writes into a job main has abandoned or reclaimed; the ring never overruns, across int32
 * wrap-around of the counters.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { E_RESULT, JobState, RING_ENTRIES, RING_MASK, isDrainable } from '../../packages/worker/src/seal-ring-layout.js';
import { RingReader, RingWriter } from '../../packages/worker/src/seal-ring.js';

type Step = 'publish' | 'drain' | 'take' | 'codecReturns' | 'finish' | 'failRetryable' | 'abandon';
const STEPS: Step[] = ['publish', 'drain', 'take', 'codecReturns', 'finish', 'failRetryable', 'abandon'];

interface Outcome {
  completions: Map<number, string[]>;
  writesAfterLoss: number;
  maxOutstanding: number;
  published: number;
}

function simulate(schedule: Step[], initialCount: number, jobsWanted: number): Outcome {
  const w = new RingWriter(initialCount);
  const r = new RingReader(w.buffer);
  const jobOf = new Map<number, number>(); // entry base -> job id
  const completions = new Map<number, string[]>();
  const complete = (job: number, how: string): void => {
    const list = completions.get(job) ?? [];
    list.push(how);
    completions.set(job, list);
  };
  let nextJob = 0;
  let retired = false;
  let writesAfterLoss = 0;
  let maxOutstanding = 0;
  // The thread's job: base, and its phase.
  let held = -1;
  let phase: 'compressing' | 'replacing' | null = null;
  const reclaimQueued = (): void => {
    for (let k = 0; k < w.outstanding; k++) {
      const base = w.outstandingEntry(k);
      const job = jobOf.get(base);
      if (job !== undefined && w.stateOf(base) === JobState.QUEUED && w.tryReclaim(base)) {
        jobOf.delete(base);
        complete(job, 'reclaimed');
      }
    }
  };
  const run = (step: Step): void => {
    switch (step) {
      case 'publish': {
        if (retired || nextJob >= jobsWanted) return;
        const base = w.tryBeginPublish();
        if (base < 0) return;
        jobOf.set(base, nextJob++);
        w.commitPublish(base);
        maxOutstanding = Math.max(maxOutstanding, w.outstanding);
        return;
      }
      case 'drain': {
        const base = w.oldest();
        if (base < 0) return;
        const state = w.stateOf(base);
        if (!isDrainable(state)) return;
        const job = jobOf.get(base);
        w.freeOldest(base);
        if (job === undefined) return; // reclaimed or abandoned: completed already
        jobOf.delete(base);
        complete(job, state === JobState.SEALED ? `sealed:${w.i32[base + E_RESULT]}` : `state:${state}`);
        return;
      }
      case 'take': {
        if (held >= 0) return;
        const base = r.tryTake(1);
        if (base >= 0) {
          held = base;
          phase = 'compressing';
        }
        return;
      }
      case 'codecReturns': {
        if (held < 0 || phase !== 'compressing') return;
        if (r.tryBeginReplace(held)) phase = 'replacing';
        else {
          // Lost to main's abandon: writes nothing, moves on.
          held = -1;
          phase = null;
        }
        return;
      }
      case 'finish': {
        if (held < 0 || phase !== 'replacing') return;
        if (!jobOf.has(held)) writesAfterLoss++; // main no longer owns this job's outcome
        w.i32[held + E_RESULT] = jobOf.get(held) ?? -1;
        r.finish(held, JobState.SEALED);
        held = -1;
        phase = null;
        return;
      }
      case 'failRetryable': {
        if (held < 0 || phase !== 'compressing') return;
        r.tryFailRetryable(held); // false: abandoned meanwhile
        held = -1;
        phase = null;
        return;
      }
      case 'abandon': {
        const base = w.oldest();
        if (base < 0 || w.stateOf(base) !== JobState.COMPRESSING || !w.tryAbandon(base)) return;
        const job = jobOf.get(base)!;
        jobOf.delete(base);
        complete(job, 'abandoned');
        retired = true;
        reclaimQueued();
        return;
      }
    }
  };
  for (const step of schedule) run(step);
  // Quiesce: the thread finishes what it holds, main drains; a retired lane reclaims the rest.
  for (let i = 0; i < 20 * RING_ENTRIES + 100; i++) {
    if (held >= 0) run(phase === 'compressing' ? 'codecReturns' : 'finish');
    else if (!retired) run('take');
    run('drain');
    if (retired) reclaimQueued();
  }
  return { completions, writesAfterLoss, maxOutstanding, published: nextJob };
}

describe('seal ring (property)', () => {
  const schedules = fc.array(fc.constantFrom(...STEPS), { minLength: 10, maxLength: 600 });

  it('every published job is completed exactly once, under random interleavings', () => {
    fc.assert(
      fc.property(schedules, fc.integer({ min: 1, max: 300 }), (schedule, jobs) => {
        const o = simulate(schedule, 0, jobs);
        for (let j = 0; j < o.published; j++) expect(o.completions.get(j), `job ${j}`).to.have.length(1);
        expect(o.completions.size).to.equal(o.published);
        expect(o.writesAfterLoss).to.equal(0);
        expect(o.maxOutstanding).to.be.at.most(RING_ENTRIES);
      }),
      { numRuns: 400 },
    );
  });

  it('wraps around: counters starting just below 2^31 - 1 and near -1 behave the same', () => {
    fc.assert(
      fc.property(schedules, fc.constantFrom(0x7fffffff - 5, -3, 0x7fffffff - RING_ENTRIES), (schedule, start) => {
        const o = simulate(schedule, start, 200);
        for (let j = 0; j < o.published; j++) expect(o.completions.get(j), `job ${j}`).to.have.length(1);
        expect(o.writesAfterLoss).to.equal(0);
      }),
      { numRuns: 200 },
    );
  });

  it('fills the ring to exactly RING_ENTRIES and reuses entries after draining (2.5 laps)', () => {
    const w = new RingWriter(0x7fffffff - 10);
    const r = new RingReader(w.buffer);
    let done = 0;
    for (let lap = 0; lap < 5; lap++) {
      let n = 0;
      while (w.tryBeginPublish() >= 0) {
        w.commitPublish(w.outstandingEntry(w.outstanding));
        n++;
      }
      expect(n, 'a full ring').to.equal(lap === 0 ? RING_ENTRIES : RING_ENTRIES / 2);
      for (let k = 0; k < RING_ENTRIES / 2; k++) {
        const base = r.tryTake(1);
        expect(r.tryBeginReplace(base)).to.equal(true);
        r.finish(base, JobState.SEALED);
        expect(w.oldest()).to.equal(base);
        w.freeOldest(base);
        done++;
      }
    }
    expect(done).to.equal(5 * (RING_ENTRIES / 2));
    expect(w.drained & RING_MASK).to.equal(r.taken & RING_MASK);
  });
});
