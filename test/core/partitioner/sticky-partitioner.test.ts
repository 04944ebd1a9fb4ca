import { expect } from 'chai';
import { Cluster, NO_LEADER } from '../../../packages/core/src/cluster/cluster.js';
import { seededRandom } from '../../../packages/core/src/embedded/seeded-random.js';
import { DefaultPartitioner } from '../../../packages/core/src/partitioner/default-partitioner.js';
import { partitionForKey } from '../../../packages/core/src/partitioner/murmur2.js';
import { StickyPartitioner, UNKNOWN_PARTITION } from '../../../packages/core/src/partitioner/sticky-partitioner.js';

function cluster(partitions = 6): Cluster {
  return new Cluster({ t: Array.from({ length: partitions }, (_, p) => p % 3) });
}

/** A random source drawing partitions 0, 1, 2 … of `n` in turn (each draw picks the next one). */
function cycling(n: number): () => number {
  let k = 0;
  return () => ((k++ % n) + 0.5) / n;
}

describe('StickyPartitioner', () => {
  describe('currentPartition()', () => {
    it('returns UNKNOWN_PARTITION for a topic without metadata', () => {
      expect(new StickyPartitioner().currentPartition('nope', cluster())).to.equal(UNKNOWN_PARTITION);
    });

    it('sticks to one partition until batchSizeBytes were produced to it', () => {
      const c = cluster();
      const sp = new StickyPartitioner({ batchSizeBytes: 1000, random: seededRandom(1) });
      const first = sp.currentPartition('t', c);
      for (let i = 0; i < 9; i++) {
        sp.recordAppended('t', first, 100, c);
        expect(sp.currentPartition('t', c)).to.equal(first);
      }
    });

    it('draws a new partition once batchSizeBytes were produced (KIP-794)', () => {
      const c = cluster();
      const sp = new StickyPartitioner({ batchSizeBytes: 1000, random: cycling(6) });
      for (let round = 0; round < 12; round++) {
        const p = sp.currentPartition('t', c);
        expect(p).to.equal(round % 6);
        for (let i = 0; i < 9; i++) sp.recordAppended('t', p, 100, c);
        expect(sp.currentPartition('t', c)).to.equal(p);
        sp.recordAppended('t', p, 100, c); // 1000 bytes: switch
      }
    });

    it('waits for a batch boundary while enableSwitch is false', () => {
      const c = cluster();
      const sp = new StickyPartitioner({ batchSizeBytes: 1000, random: cycling(6) });
      expect(sp.currentPartition('t', c)).to.equal(0);
      for (let i = 0; i < 15; i++) sp.recordAppended('t', 0, 100, c, false);
      expect(sp.currentPartition('t', c)).to.equal(0);
      sp.recordAppended('t', 0, 100, c, true); // 1600 bytes and the last batch is full
      expect(sp.currentPartition('t', c)).to.equal(1);
    });

    it('forces the switch at 2 × batchSizeBytes even without enableSwitch', () => {
      const c = cluster();
      const sp = new StickyPartitioner({ batchSizeBytes: 1000, random: cycling(6) });
      expect(sp.currentPartition('t', c)).to.equal(0);
      for (let i = 0; i < 19; i++) sp.recordAppended('t', 0, 100, c, false);
      expect(sp.currentPartition('t', c)).to.equal(0);
      sp.recordAppended('t', 0, 100, c, false);
      expect(sp.currentPartition('t', c)).to.equal(1);
    });

    it('only draws partitions whose leader is known', () => {
      const c = new Cluster({ t: [NO_LEADER, 1, NO_LEADER, 2, NO_LEADER, NO_LEADER] });
      const sp = new StickyPartitioner({ batchSizeBytes: 10, random: seededRandom(9) });
      for (let i = 0; i < 200; i++) {
        const p = sp.currentPartition('t', c);
        expect([1, 3]).to.include(p);
        sp.recordAppended('t', p, 10, c);
      }
    });

    it('draws among all partitions when no leader is known', () => {
      const c = new Cluster({ t: [NO_LEADER, NO_LEADER, NO_LEADER] });
      const sp = new StickyPartitioner({ batchSizeBytes: 10, random: seededRandom(11) });
      const seen = new Set<number>();
      for (let i = 0; i < 100; i++) {
        const p = sp.currentPartition('t', c);
        seen.add(p);
        sp.recordAppended('t', p, 10, c);
      }
      expect([...seen].sort()).to.deep.equal([0, 1, 2]);
    });

    it('leaves a partition whose leader became unknown when another has a leader', () => {
      const c = cluster(3);
      const sp = new StickyPartitioner({ batchSizeBytes: 1000, random: seededRandom(13) });
      const p = sp.currentPartition('t', c);
      c.setLeader('t', p, NO_LEADER);
      const q = sp.currentPartition('t', c);
      expect(q).to.not.equal(p);
      expect(c.leaderFor('t', q)).to.not.equal(NO_LEADER);
    });

    it('ignores appends reported for a partition that is no longer the sticky one', () => {
      const c = cluster();
      const sp = new StickyPartitioner({ batchSizeBytes: 100, random: cycling(6) });
      expect(sp.currentPartition('t', c)).to.equal(0);
      sp.recordAppended('t', 0, 100, c); // switches to 1
      expect(sp.currentPartition('t', c)).to.equal(1);
      sp.recordAppended('t', 0, 1000, c); // stale report for 0: ignored
      expect(sp.currentPartition('t', c)).to.equal(1);
    });

    it('hands out a live per-topic state: recordAppendedTo switches it like recordAppended, reset retires it', () => {
      const c = cluster();
      const sp = new StickyPartitioner({ batchSizeBytes: 100, random: cycling(6) });
      expect(sp.stateOf('t')).to.equal(undefined);
      expect(sp.currentPartition('t', c)).to.equal(0);
      const state = sp.stateOf('t')!;
      expect(state).to.deep.equal({ partition: 0, producedBytes: 0 });
      sp.recordAppendedTo(state, 't', 0, 60, c);
      expect(state.producedBytes).to.equal(60);
      sp.recordAppendedTo(state, 't', 3, 1000, c); // stale partition: ignored
      expect(state.partition).to.equal(0);
      sp.recordAppendedTo(state, 't', 0, 40, c); // 100 bytes: switches
      expect(state.partition).to.equal(1);
      expect(sp.currentPartition('t', c)).to.equal(1);
      c.setLeader('t', 1, NO_LEADER);
      const q = sp.currentPartition('t', c);
      expect(q).to.not.equal(1, 'left the leaderless partition');
      expect(state.partition).to.equal(q);
      expect(sp.stateOf('t')).to.equal(state, 'the same object, updated in place');
      sp.reset('t');
      expect(state.partition).to.equal(-1, 'a holder can tell the state was dropped');
      expect(sp.stateOf('t')).to.equal(undefined);
    });

    it('spreads records uniformly over the partitions in the long run', () => {
      const c = cluster(6);
      const sp = new StickyPartitioner({ batchSizeBytes: 100, random: seededRandom(17) });
      const counts = new Array<number>(6).fill(0);
      for (let i = 0; i < 60_000; i++) {
        const p = sp.currentPartition('t', c);
        counts[p]++;
        sp.recordAppended('t', p, 10, c);
      }
      for (const n of counts) expect(n).to.be.within(8_500, 11_500);
    });

    it('is reproducible with the same seed', () => {
      const run = (seed: number): number[] => {
        const c = cluster();
        const sp = new StickyPartitioner({ batchSizeBytes: 50, random: seededRandom(seed) });
        const out: number[] = [];
        for (let i = 0; i < 100; i++) {
          const p = sp.currentPartition('t', c);
          out.push(p);
          sp.recordAppended('t', p, 10, c);
        }
        return out;
      };
      expect(run(7)).to.deep.equal(run(7));
      expect(run(7)).to.not.deep.equal(run(8));
    });

    it('rejects a non-positive batch size', () => {
      expect(() => new StickyPartitioner({ batchSizeBytes: 0 })).to.throw(RangeError, /got 0/);
    });
  });
});

describe('DefaultPartitioner', () => {
  describe('partition()', () => {
    it('hashes byte keys with murmur2 over all partitions, available or not', () => {
      const c = new Cluster({ t: [0, NO_LEADER, 1, NO_LEADER, 2] });
      const dp = new DefaultPartitioner();
      for (let i = 0; i < 200; i++) {
        const key = Buffer.from(`key-${i}`);
        expect(dp.partition('t', key, 100, c)).to.equal(partitionForKey(key, 5));
      }
    });

    it('hashes string keys as their UTF-8 bytes', () => {
      const c = cluster(7);
      const dp = new DefaultPartitioner();
      for (const key of ['foobar', 'ключ', '鍵-キー', '😀 emoji', 'x'.repeat(1000)]) {
        expect(dp.partition('t', key, 0, c), key).to.equal(partitionForKey(Buffer.from(key, 'utf8'), 7));
      }
    });

    it('sends unkeyed records to the sticky partition and counts their size', () => {
      const c = cluster();
      const dp = new DefaultPartitioner({ batchSizeBytes: 1000, random: seededRandom(21) });
      const first = dp.partition('t', null, 100, c);
      for (let i = 0; i < 9; i++) expect(dp.partition('t', null, 100, c)).to.equal(first);
      // 1000 bytes produced: the 11th record may go elsewhere; over many switches, it does.
      const seen = new Set<number>();
      for (let i = 0; i < 500; i++) seen.add(dp.partition('t', null, 100, c));
      expect(seen.size).to.be.greaterThan(1);
    });

    it('does not count records when recordSizeBytes is 0 (two-phase use through .sticky)', () => {
      const c = cluster();
      const dp = new DefaultPartitioner({ batchSizeBytes: 100, random: cycling(6) });
      expect(dp.partition('t', null, 0, c)).to.equal(0);
      for (let i = 0; i < 100; i++) expect(dp.partition('t', null, 0, c)).to.equal(0);
      dp.sticky.recordAppended('t', 0, 100, c, true);
      expect(dp.partition('t', null, 0, c)).to.equal(1);
    });

    it('treats keyed records as unkeyed with ignoreKeys', () => {
      const c = cluster();
      const dp = new DefaultPartitioner({ ignoreKeys: true, batchSizeBytes: 1_000_000, random: seededRandom(25) });
      const p = dp.partition('t', 'a', 10, c);
      for (let i = 0; i < 50; i++) expect(dp.partition('t', `k${i}`, 10, c)).to.equal(p);
    });

    it('returns UNKNOWN_PARTITION while the topic has no metadata', () => {
      const dp = new DefaultPartitioner();
      expect(dp.partition('nope', 'k', 10, cluster())).to.equal(UNKNOWN_PARTITION);
      expect(dp.partition('nope', null, 10, cluster())).to.equal(UNKNOWN_PARTITION);
    });
  });
});
