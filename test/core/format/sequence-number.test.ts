import { expect } from 'chai';
import fc from 'fast-check';
import { MAX_SEQUENCE, inSequence, incrementSequence, sequenceAfter } from '../../../packages/core/src/format/sequence-number.js';

describe('sequence numbers', () => {
  describe('incrementSequence()', () => {
    it('wraps after 2^31 - 1 to 0 (Kafka DefaultRecordBatch.incrementSequence)', () => {
      expect(incrementSequence(5, 3)).to.equal(8);
      expect(incrementSequence(MAX_SEQUENCE, 1)).to.equal(0);
      expect(incrementSequence(2147483646, 3)).to.equal(1);
      expect(incrementSequence(MAX_SEQUENCE, 0)).to.equal(MAX_SEQUENCE);
    });
  });

  describe('sequenceAfter()', () => {
    it('orders across the wrap: 3 comes after 2^31 - 5, and not the other way round', () => {
      expect(sequenceAfter(3, MAX_SEQUENCE - 4)).to.equal(true);
      expect(sequenceAfter(MAX_SEQUENCE - 4, 3)).to.equal(false);
      expect(sequenceAfter(0, MAX_SEQUENCE)).to.equal(true);
      expect(sequenceAfter(7, 7)).to.equal(false);
      expect(sequenceAfter(8, 7)).to.equal(true);
      expect(sequenceAfter(7, 8)).to.equal(false);
    });

    it('agrees with incrementSequence for every start and step under half the space', () => {
      fc.assert(
        fc.property(fc.integer({ min: 0, max: MAX_SEQUENCE }), fc.integer({ min: 1, max: 2 ** 30 - 1 }), (seq, step) => {
          const next = incrementSequence(seq, step);
          return sequenceAfter(next, seq) && !sequenceAfter(seq, next);
        }),
      );
    });
  });

  describe('inSequence()', () => {
    it('accepts exactly the next sequence, 0 after 2^31 - 1 (Kafka ProducerAppendInfo.inSequence)', () => {
      expect(inSequence(4, 5)).to.equal(true);
      expect(inSequence(4, 6)).to.equal(false);
      expect(inSequence(MAX_SEQUENCE, 0)).to.equal(true);
      expect(inSequence(MAX_SEQUENCE, MAX_SEQUENCE + 1)).to.equal(false);
    });
  });
});
