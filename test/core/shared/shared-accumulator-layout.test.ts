/**
 * The shared accumulator's layout contract: regions in order, on cache lines, never
 * overlapping; Float64 fields 8-byte aligned; sizes checked (layout invariant 5).
 */
import { expect } from 'chai';
import { ConfigError } from '../../../packages/core/src/errors.js';
import {
  APPENDER_WORDS,
  COMPLETION_WORDS,
  DESCRIPTOR_WORDS,
  HEADER_WORDS,
  LINE_WORDS,
  PARTITION_WORDS,
  TOPIC_WORDS,
  appenderEntry,
  completionRingOf,
  computeSharedLayout,
  descriptorEntry,
  eventRingOf,
  nextPowerOfTwo,
  partitionEntry,
  stashOf,
  topicEntry,
} from '../../../packages/core/src/shared/shared-accumulator-layout.js';
import type { SharedLayoutParams } from '../../../packages/core/src/shared/shared-accumulator-layout.js';

const params: SharedLayoutParams = { maxAppenders: 5, maxTopics: 3, maxPartitions: 70, slotCount: 100, stashCapacity: 16, eventCapacity: 256, completionCapacity: 64 };

describe('shared-accumulator-layout', () => {
  describe('computeSharedLayout()', () => {
    it('places every region after the previous one, on a cache line, with no overlap', () => {
      const l = computeSharedLayout(params);
      const regions: [string, number, number][] = [
        ['header', 0, HEADER_WORDS],
        ['appenders', l.appenderIndex, l.maxAppenders * APPENDER_WORDS],
        ['topics', l.topicIndex, l.maxTopics * TOPIC_WORDS],
        ['partitions', l.partitionIndex, l.maxPartitions * PARTITION_WORDS],
        ['map', l.mapIndex, l.mapWords],
        ['descriptors', l.descriptorIndex, l.slotCount * DESCRIPTOR_WORDS],
        ['rings', l.appenderRingsIndex, l.maxAppenders * l.appenderRingWords],
      ];
      let end = 0;
      for (const [name, start, words] of regions) {
        expect(start % LINE_WORDS, `${name} on a cache line`).to.equal(0);
        expect(start, `${name} after the previous region`).to.be.at.least(end);
        end = start + words;
      }
      expect(l.totalWords).to.equal(end);
      expect(l.sharedBytes).to.equal(end * 4);
    });

    it('gives each appender its own rings, each with head and tail on their own cache lines', () => {
      const l = computeSharedLayout(params);
      const seen: [number, number][] = [];
      for (let a = 0; a < l.maxAppenders; a++) {
        const rings: [number, number][] = [
          [eventRingOf(l, a), 2 * LINE_WORDS + l.eventCapacity],
          [stashOf(l, a), 2 * LINE_WORDS + l.stashCapacity],
          [completionRingOf(l, a), 2 * LINE_WORDS + l.completionCapacity * COMPLETION_WORDS],
        ];
        for (const [start, words] of rings) {
          expect(start % LINE_WORDS).to.equal(0);
          for (const [s, w] of seen) expect(start >= s + w || start + words <= s, 'rings do not overlap').to.equal(true);
          seen.push([start, words]);
        }
      }
      expect(completionRingOf(l, l.maxAppenders - 1) + 2 * LINE_WORDS + l.completionCapacity * COMPLETION_WORDS).to.be.at.most(l.totalWords);
    });

    it('indexes entries inside their regions', () => {
      const l = computeSharedLayout(params);
      expect(appenderEntry(l, l.maxAppenders - 1) + APPENDER_WORDS).to.equal(l.topicIndex);
      expect(topicEntry(l, l.maxTopics - 1) + TOPIC_WORDS).to.equal(l.partitionIndex);
      expect(partitionEntry(l, l.maxPartitions - 1) + PARTITION_WORDS).to.equal(l.mapIndex);
      expect(descriptorEntry(l, l.slotCount - 1) + DESCRIPTOR_WORDS).to.equal(l.appenderRingsIndex);
    });

    it('refuses event rings that could fill (layout invariant 5), capacities that are not powers of two, and out-of-range counts', () => {
      expect(() => computeSharedLayout({ ...params, eventCapacity: 128 })).to.throw(ConfigError, /eventCapacity 128 must be at least 2 × slotCount \+ 2 = 202/);
      expect(() => computeSharedLayout({ ...params, stashCapacity: 12 })).to.throw(ConfigError, /stashCapacity must be a power of two/);
      expect(() => computeSharedLayout({ ...params, maxAppenders: 65 })).to.throw(ConfigError, /maxAppenders must be an integer in \[2, 64\]/);
      expect(() => computeSharedLayout({ ...params, maxAppenders: 1 })).to.throw(ConfigError, /the owner is appender 0/);
      expect(() => computeSharedLayout({ ...params, maxPartitions: 0 })).to.throw(ConfigError, /maxPartitions/);
    });
  });

  it('nextPowerOfTwo()', () => {
    expect([1, 2, 3, 17, 1024, 1025].map(nextPowerOfTwo)).to.deep.equal([1, 2, 4, 32, 1024, 2048]);
  });
});
