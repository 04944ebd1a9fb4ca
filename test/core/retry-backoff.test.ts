import { expect } from 'chai';
import { seededRandom } from '../../packages/core/src/embedded/seeded-random.js';
import { RetryBackoff } from '../../packages/core/src/retry-backoff.js';

describe('RetryBackoff', () => {
  describe('backoffMs()', () => {
    it('doubles from retry.backoff.ms up to retry.backoff.max.ms, within ±20% (KIP-580)', () => {
      const b = new RetryBackoff(100, 1000, seededRandom(3));
      for (let round = 0; round < 200; round++) {
        [100, 200, 400, 800, 1000, 1000, 1000].forEach((expected, attempts) => {
          const v = b.backoffMs(attempts);
          expect(v).to.be.at.least(Math.floor(expected * 0.8));
          expect(v).to.be.at.most(Math.min(expected * 1.2, 1000));
        });
      }
    });

    it('matches Kafka ExponentialBackoff with the random factor at its extremes', () => {
      expect(new RetryBackoff(100, 1000, () => 0).backoffMs(0)).to.equal(80);
      expect(new RetryBackoff(100, 1000, () => 0).backoffMs(2)).to.equal(320);
      expect(new RetryBackoff(100, 1000, () => 0.5).backoffMs(1)).to.equal(200);
      expect(new RetryBackoff(100, 1000, () => 0.999999).backoffMs(3)).to.equal(959);
      expect(new RetryBackoff(100, 1000, () => 0.999999).backoffMs(9)).to.equal(1000);
    });

    it('has no jitter and no growth when max equals initial', () => {
      const b = new RetryBackoff(250, 250, () => 0.9);
      expect([0, 1, 5].map((a) => b.backoffMs(a))).to.deep.equal([250, 250, 250]);
    });

    it('is 0 when retry.backoff.ms is 0', () => {
      expect(new RetryBackoff(0, 0).backoffMs(4)).to.equal(0);
    });

    it('replays the same sequence from the same seed', () => {
      const a = new RetryBackoff(100, 1000, seededRandom(9));
      const b = new RetryBackoff(100, 1000, seededRandom(9));
      const xs = Array.from({ length: 20 }, (_, i) => a.backoffMs(i % 5));
      expect(Array.from({ length: 20 }, (_, i) => b.backoffMs(i % 5))).to.deep.equal(xs);
    });

    it('rejects inconsistent parameters', () => {
      expect(() => new RetryBackoff(100, 50)).to.throw(RangeError, /maxMs=50/);
      expect(() => new RetryBackoff(-1, 50)).to.throw(RangeError);
    });
  });
});
