import { expect } from 'chai';
import { codecByName, codecFor, decompressRecords } from '../../../packages/core/src/compression/codecs.js';
import { CorruptBatchError } from '../../../packages/core/src/errors.js';
import { jsonText } from '../../helpers/sample-values.js';

describe('codecs registry', () => {
  describe('codecFor()', () => {
    it('maps Kafka ids to codecs: 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd', () => {
      expect(codecFor(0)).to.equal(null);
      expect([1, 2, 3, 4].map((id) => codecFor(id)?.name)).to.deep.equal(['gzip', 'snappy', 'lz4', 'zstd']);
      for (const id of [1, 2, 3, 4]) expect(codecFor(id)?.id).to.equal(id);
    });

    it('returns null for ids Kafka does not define', () => {
      expect(codecFor(5)).to.equal(null);
      expect(codecFor(7)).to.equal(null);
      expect(codecFor(-1)).to.equal(null);
    });
  });

  describe('codecByName()', () => {
    it('maps compression.type names', () => {
      expect(codecByName('none')).to.equal(null);
      expect(codecByName('zstd')).to.equal(codecFor(4));
    });
  });

  describe('decompressRecords()', () => {
    it('round-trips every codec', () => {
      const text = jsonText(30_000);
      for (const id of [1, 2, 3, 4]) {
        const compressed = codecFor(id)!.compress(text);
        expect(Buffer.from(decompressRecords(id, compressed)).equals(text), `codec ${id}`).to.equal(true);
      }
    });

    it('throws CorruptBatchError naming the id for none and unknown ids', () => {
      expect(() => decompressRecords(0, Buffer.alloc(1))).to.throw(CorruptBatchError, /codec id 0 \(none\)/);
      expect(() => decompressRecords(6, Buffer.alloc(1))).to.throw(CorruptBatchError, /codec id 6 \(unknown\)/);
    });
  });
});
