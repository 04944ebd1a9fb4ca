import { expect } from 'chai';
import { ThreadStats } from '../../../benchmarks/perf/thread-stats.js';
import { packPool, unpackPool } from '../../../benchmarks/perf/thread-protocol.js';
import { splitRecords } from '../../../benchmarks/perf/threaded-run.js';

describe('sluice-perf --threads: the pieces', () => {
  describe('splitRecords()', () => {
    it('splits evenly, the first threads taking one more, and loses no record', () => {
      expect(splitRecords(10, 2)).to.deep.equal([5, 5]);
      expect(splitRecords(11, 3)).to.deep.equal([4, 4, 3]);
      expect(splitRecords(1, 4)).to.deep.equal([1, 0, 0, 0]);
      for (const [n, t] of [[1_000_001, 8], [7, 7], [400_000, 3]]) expect(splitRecords(n, t).reduce((a, b) => a + b, 0)).to.equal(n);
    });
  });

  describe('packPool() / unpackPool()', () => {
    it('carries payloads of any sizes through structured clone (postMessage), in order', () => {
      const payloads = [Buffer.from('a'), Buffer.alloc(0), Buffer.from('hello'), Buffer.alloc(300, 7)];
      const back = unpackPool(structuredClone(packPool(payloads)));
      expect(back.map((b) => b.toString('hex'))).to.deep.equal(payloads.map((b) => b.toString('hex')));
      expect(Buffer.isBuffer(back[0])).to.equal(true);
    });
  });

  describe('ThreadStats', () => {
    it('sums the rows of every writer, the main thread’s last', () => {
      const stats = ThreadStats.create(2);
      expect(stats.rows).to.equal(3);
      expect(stats.ownerRow).to.equal(2);
      const view = new ThreadStats(stats.buffer); // what a thread sees
      view.addAppended(0, 100, 10_000);
      view.addAppended(1, 50, 5_000);
      stats.addCompleted(stats.ownerRow, 120, false);
      view.addCompleted(1, 3, true);
      view.addLatency(0, 2);
      view.addLatency(1, 4);
      const t = stats.totals();
      expect(t).to.include({ appended: 150, bytes: 15_000, acked: 120, failed: 3, latencySumMs: 6, latencySamples: 2 });
      expect(t.lastAckMs).to.be.greaterThan(performance.timeOrigin);
    });

    it('gives each window the largest latency sampled in it', () => {
      const stats = ThreadStats.create(2);
      stats.addLatency(0, 5);
      stats.addLatency(1, 9);
      stats.addLatency(0, 7);
      expect(stats.takeWindowMax()).to.equal(9);
      expect(stats.takeWindowMax(), 'nothing sampled since').to.equal(0);
      stats.addLatency(1, 3);
      expect(stats.takeWindowMax(), 'a new window starts a new maximum').to.equal(3);
    });

    it('carries the stop flag to every view', () => {
      const stats = ThreadStats.create(1);
      const view = new ThreadStats(stats.buffer);
      expect(view.stopped).to.equal(false);
      stats.stop();
      expect(view.stopped).to.equal(true);
    });
  });
});
