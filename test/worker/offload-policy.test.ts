import { expect } from 'chai';
import {
  HAND_OFF_NS_PER_BATCH,
  HAND_OFF_NS_PER_TASK,
  MIN_GAIN,
  OffloadPolicy,
  defaultSealThreads,
} from '../../packages/worker/src/offload-policy.js';

const KiB = 1024;

describe('OffloadPolicy', () => {
  const p = new OffloadPolicy();

  it('estimates no work (never offloads) for none and unknown codecs', () => {
    expect(p.sealNs(0, 0, 1 << 20)).to.equal(0);
    expect(p.sealNs(7, 0, 1 << 20)).to.equal(0);
    expect(p.shouldOffload(0, 1)).to.equal(false);
  });

  it('costs gzip by level, -1 being zlib level 6, and interpolates zstd levels', () => {
    expect(p.sealNs(1, -1, 1000)).to.equal(p.sealNs(1, 6, 1000));
    expect(p.sealNs(1, 9, 1000)).to.be.greaterThan(p.sealNs(1, 1, 1000));
    const z6 = p.sealNs(4, 6, 1000);
    const z9 = p.sealNs(4, 9, 1000);
    expect(p.sealNs(4, 7, 1000)).to.be.within(z6, z9);
    expect(p.sealNs(4, -5, 1000)).to.equal(p.sealNs(4, 1, 1000));
  });

  it('offloads when the work is at least MIN_GAIN times the hand-off', () => {
    const handOff = HAND_OFF_NS_PER_TASK + HAND_OFF_NS_PER_BATCH * 4;
    expect(p.handOffNs(4)).to.equal(handOff);
    expect(p.shouldOffload(MIN_GAIN * handOff, 4)).to.equal(true);
    expect(p.shouldOffload(MIN_GAIN * handOff - 1, 4)).to.equal(false);
  });

  it('offloads gzip from one 16 KiB batch; keeps zstd-3, lz4 and snappy inline even for a 512 KiB group', () => {
    expect(p.shouldOffload(p.sealNs(1, -1, 16 * KiB), 1)).to.equal(true);
    for (const [codec, level] of [[4, 3], [3, 9], [2, 0]]) {
      expect(p.mayOffload(codec, level, 512 * KiB, 16 * KiB), `codec ${codec}`).to.equal(false);
    }
    expect(p.mayOffload(1, -1, 512 * KiB, 16 * KiB)).to.equal(true);
    expect(p.mayOffload(4, 9, 512 * KiB, 16 * KiB)).to.equal(true);
  });

  it('splits a group over threads only while each part still pays', () => {
    const one = p.sealNs(1, -1, 16 * KiB);
    expect(p.tasksFor(one * 16, 16, 2)).to.equal(2);
    expect(p.tasksFor(one, 1, 2)).to.equal(1);
    expect(p.tasksFor(one * 16, 16, 1)).to.equal(1);
  });

  it('always() offloads any compressed group; options replace the constants', () => {
    expect(OffloadPolicy.always().shouldOffload(1, 1)).to.equal(true);
    const cheap = new OffloadPolicy({ handOffNsPerTask: 0, handOffNsPerBatch: 0, sealNsPerByte: { lz4: 100 } });
    expect(cheap.sealNs(3, 9, 10)).to.equal(1000);
    expect(cheap.shouldOffload(1, 1)).to.equal(true);
  });

  it('chooses at least one seal thread', () => {
    expect(defaultSealThreads()).to.be.at.least(1);
  });
});
