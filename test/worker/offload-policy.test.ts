import { expect } from 'chai';
import { HAND_OFF_NS_PER_BATCH, MIN_GAIN, OffloadPolicy, defaultSealThreads } from '../../packages/worker/src/offload-policy.js';

const KiB = 1024;

describe('OffloadPolicy', () => {
  const p = new OffloadPolicy();

  it('estimates no work (never offloads) for none and unknown codecs', () => {
    expect(p.sealNs(0, 0, 1 << 20)).to.equal(0);
    expect(p.sealNs(7, 0, 1 << 20)).to.equal(0);
    expect(p.shouldOffload(0)).to.equal(false);
  });

  it('costs gzip by level, -1 being zlib level 6; interpolates zstd and lz4 levels', () => {
    expect(p.sealNs(1, -1, 1000)).to.equal(p.sealNs(1, 6, 1000));
    expect(p.sealNs(1, 9, 1000)).to.be.greaterThan(p.sealNs(1, 1, 1000));
    expect(p.sealNs(4, 7, 1000)).to.be.within(p.sealNs(4, 6, 1000), p.sealNs(4, 9, 1000));
    expect(p.sealNs(4, -5, 1000)).to.equal(p.sealNs(4, 1, 1000));
    // Kafka's default lz4 level 9 is the fast compressor; every other level is LZ4-HC.
    expect(p.sealNs(3, 1, 1000), 'LZ4-HC at level 1 costs more than the default (fast) level').to.be.greaterThan(p.sealNs(3, 9, 1000));
    expect(p.sealNs(3, 12, 1000)).to.be.greaterThan(p.sealNs(3, 6, 1000));
  });

  it('offloads a batch when its seal is at least MIN_GAIN times the ~2 µs hand-off: any full compressed batch, not tiny ones', () => {
    expect(p.handOffNs(1)).to.equal(HAND_OFF_NS_PER_BATCH);
    expect(p.shouldOffload(MIN_GAIN * HAND_OFF_NS_PER_BATCH)).to.equal(true);
    expect(p.shouldOffload(MIN_GAIN * HAND_OFF_NS_PER_BATCH - 1)).to.equal(false);
    for (const [codec, level] of [[1, -1], [2, 0], [3, 9], [4, 3]]) expect(p.shouldOffload(p.sealNs(codec, level, 16 * KiB)), `codec ${codec}`).to.equal(true);
    expect(p.shouldOffload(p.sealNs(4, 3, 200)), 'a 200-byte batch closed by linger').to.equal(false);
  });

  describe('plan() — the machine model', () => {
    it('starts no thread on one core, whatever the codec', () => {
      expect(p.planFor(1, 9, 1).threads).to.equal(0);
    });

    it('on 2 cores: gzip and zstd-9 get 2 threads; lz4 at its default level, snappy and zstd-3 stay inline (codec < 2x the main thread)', () => {
      expect(p.planFor(1, -1, 2).threads).to.equal(2);
      expect(p.planFor(4, 9, 2).threads).to.equal(2);
      expect(p.planFor(3, 9, 2).threads).to.equal(0);
      expect(p.planFor(2, 0, 2).threads).to.equal(0);
      expect(p.planFor(4, 3, 2).threads).to.equal(0);
    });

    it('uses measured costs: a cheap main thread makes zstd-3 pay; a busy one keeps gzip-1 inline', () => {
      expect(p.plan(3.5, 0.8, 2).threads).to.be.greaterThan(0);
      expect(p.plan(11, 9, 2).threads).to.equal(0);
    });

    it('sizes threads by the work: more cores, more threads, never more than asked', () => {
      expect(p.plan(22, 2.2, 8).threads).to.be.greaterThan(2);
      expect(p.plan(22, 2.2, 8, 3).threads).to.equal(3);
      expect(p.plan(22, 2.2, 8).speedup).to.be.greaterThan(p.plan(22, 2.2, 2).speedup);
    });
  });

  it('always() offloads any compressed batch and plans threads anywhere', () => {
    expect(OffloadPolicy.always().shouldOffload(1)).to.equal(true);
    expect(OffloadPolicy.always().plan(0.1, 5, 1).threads).to.equal(1);
    const cheap = new OffloadPolicy({ handOffNsPerBatch: 0, sealNsPerByte: { lz4: 100 } });
    expect(cheap.sealNs(3, 9, 10)).to.equal(1000);
  });

  it('chooses at least one seal thread by default', () => {
    expect(defaultSealThreads()).to.be.at.least(1);
  });
});
