import { expect } from 'chai';
import fc from 'fast-check';
import { LATENCY_HISTOGRAM_MAX_RELATIVE_ERROR, LatencyHistogram } from '../../../benchmarks/perf/latency-histogram.js';

/** The nearest-rank percentile of the recorded values, rounded to the nanosecond as the histogram records them. */
function exactPercentile(valuesMs: readonly number[], p: number): number {
  const ns = valuesMs.map((v) => Math.max(0, Math.round(v * 1e6))).sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil(p * ns.length));
  return ns[rank - 1] / 1e6;
}

function expectClose(actual: number, expected: number): void {
  const tolerance = Math.max(expected * LATENCY_HISTOGRAM_MAX_RELATIVE_ERROR, 1e-6) * 1.0000001;
  expect(Math.abs(actual - expected), `${actual} vs ${expected}`).to.be.at.most(tolerance);
}

describe('LatencyHistogram', () => {
  describe('percentile()', () => {
    it('is within 1/256 of the sorted array for latencies from nanoseconds to minutes', () => {
      fc.assert(
        fc.property(
          fc.array(fc.double({ min: 0, max: 120_000, noNaN: true }), { minLength: 1, maxLength: 500 }),
          fc.constantFrom(0, 0.5, 0.9, 0.95, 0.99, 0.999, 1),
          (values, p) => {
            const h = new LatencyHistogram();
            for (const v of values) h.record(v);
            expectClose(h.percentile(p), exactPercentile(values, p));
          },
        ),
        { numRuns: 300 },
      );
    });

    it('is within 1/256 on a log-normal sample of 100k latencies (the shape of real runs)', () => {
      const h = new LatencyHistogram();
      const values: number[] = [];
      let seed = 12345;
      const rand = (): number => {
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
        return (seed + 0.5) / 4294967296;
      };
      for (let i = 0; i < 100_000; i++) {
        // Box-Muller: exp(N(ln 2 ms, 1)).
        const z = Math.sqrt(-2 * Math.log(rand())) * Math.cos(2 * Math.PI * rand());
        const v = Math.exp(Math.log(2) + z);
        values.push(v);
        h.record(v);
      }
      for (const p of [0.5, 0.95, 0.99, 0.999]) expectClose(h.percentile(p), exactPercentile(values, p));
    });

    it('is exact below 256 ns', () => {
      const h = new LatencyHistogram();
      for (let ns = 0; ns < 256; ns++) h.record(ns / 1e6);
      expect(h.percentile(0.5)).to.equal(127 / 1e6);
      expect(h.percentile(1)).to.equal(255 / 1e6);
    });

    it('returns 0 when empty and rejects p outside [0, 1]', () => {
      const h = new LatencyHistogram();
      expect(h.percentile(0.99)).to.equal(0);
      expect(() => h.percentile(1.5)).to.throw(RangeError, /p must be in \[0, 1\], got 1.5/);
      expect(() => h.percentile(Number.NaN)).to.throw(RangeError);
    });

    it('never reports outside the recorded [min, max]', () => {
      const h = new LatencyHistogram();
      h.record(1000.123);
      expect(h.percentile(0)).to.equal(1000.123);
      expect(h.percentile(1)).to.equal(1000.123);
    });
  });

  describe('recordMany()', () => {
    it('counts like that many record() calls', () => {
      const a = new LatencyHistogram();
      const b = new LatencyHistogram();
      a.recordMany(3.25, 40);
      a.recordMany(0.5, 60);
      for (let i = 0; i < 40; i++) b.record(3.25);
      for (let i = 0; i < 60; i++) b.record(0.5);
      expect(a.summary()).to.deep.equal(b.summary());
      expect(a.count).to.equal(100);
    });
  });

  describe('summary()', () => {
    it('has an exact mean and max', () => {
      const h = new LatencyHistogram();
      for (const v of [1, 2, 3, 10]) h.record(v);
      const s = h.summary();
      expect(s.avg).to.be.closeTo(4, 1e-9);
      expect(s.max).to.equal(10);
      expect(h.minMs).to.equal(1);
    });

    it('clamps negative latencies to 0', () => {
      const h = new LatencyHistogram();
      h.record(-5);
      expect(h.summary().max).to.equal(0);
      expect(h.count).to.equal(1);
    });
  });

  describe('add() and reset()', () => {
    it('merges two histograms and forgets on reset', () => {
      const a = new LatencyHistogram();
      const b = new LatencyHistogram();
      a.record(1);
      b.record(100);
      a.add(b);
      expect(a.count).to.equal(2);
      expect(a.maxMs).to.equal(100);
      expect(a.minMs).to.equal(1);
      a.reset();
      expect(a.count).to.equal(0);
      expect(a.percentile(0.5)).to.equal(0);
    });
  });

  describe('toState() and fromState()', () => {
    it('round-trips through structured clone (a worker thread’s histogram merged on the main thread)', () => {
      const a = new LatencyHistogram();
      for (const ms of [0.5, 1, 2, 3, 250]) a.record(ms);
      const copy = LatencyHistogram.fromState(structuredClone(a.toState()));
      expect(copy.summary()).to.deep.equal(a.summary());
      expect(copy.count).to.equal(5);
      expect(copy.minMs).to.equal(0.5);
      a.record(1000);
      expect(copy.count, 'a copy, not a view').to.equal(5);
    });

    it('rejects a state of another bucket layout', () => {
      const state = { ...new LatencyHistogram().toState(), counts: new Float64Array(10) };
      expect(() => LatencyHistogram.fromState(state)).to.throw(RangeError, /10 buckets/);
    });
  });
});
