import { expect } from 'chai';
import { randomInt, seededRandom } from '../../../packages/core/src/embedded/seeded-random.js';

describe('seededRandom', () => {
  it('gives the same sequence for the same seed and another for another seed', () => {
    const a = seededRandom(123);
    const b = seededRandom(123);
    const c = seededRandom(124);
    const sa = Array.from({ length: 20 }, a);
    expect(Array.from({ length: 20 }, b)).to.deep.equal(sa);
    expect(Array.from({ length: 20 }, c)).to.not.deep.equal(sa);
  });

  it('is mulberry32: matches the widely copied reference implementation (bryc/code PRNGs.md)', () => {
    function mulberry32(a: number): () => number {
      return () => {
        let t = (a += 0x6d2b79f5);
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
      };
    }
    for (const seed of [0, 1, 42, 0xdeadbeef, -5]) {
      const ours = seededRandom(seed);
      const ref = mulberry32(seed >>> 0);
      for (let i = 0; i < 100; i++) expect(ours()).to.equal(ref());
    }
  });

  it('draws floats in [0, 1) spread over the interval', () => {
    const r = seededRandom(7);
    const buckets = new Array<number>(10).fill(0);
    let min = 1;
    let max = 0;
    for (let i = 0; i < 100_000; i++) {
      const x = r();
      min = Math.min(min, x);
      max = Math.max(max, x);
      buckets[Math.floor(x * 10)]++;
    }
    expect(min).to.be.at.least(0);
    expect(max).to.be.below(1);
    for (const n of buckets) expect(n).to.be.within(9_500, 10_500);
  });

  describe('randomInt()', () => {
    it('draws integers in [0, bound)', () => {
      const r = seededRandom(9);
      const seen = new Set<number>();
      for (let i = 0; i < 1000; i++) seen.add(randomInt(r, 5));
      expect([...seen].sort()).to.deep.equal([0, 1, 2, 3, 4]);
    });

    it('rejects a bound that is not a positive integer', () => {
      expect(() => randomInt(seededRandom(1), 0)).to.throw(RangeError, /got 0/);
      expect(() => randomInt(seededRandom(1), 2.5)).to.throw(RangeError, /got 2.5/);
    });
  });
});
