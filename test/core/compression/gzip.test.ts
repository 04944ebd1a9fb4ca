import { expect } from 'chai';
import { gzipCodec } from '../../../packages/core/src/compression/gzip.js';
import { gzipOracle } from '../../helpers/kafka-oracle.js';
import { inSharedMemory, jsonText } from '../../helpers/sample-values.js';

describe('gzipCodec', () => {
  const text = jsonText(40_000);

  it('has Kafka id 1 and name gzip', () => {
    expect(gzipCodec.id).to.equal(1);
    expect(gzipCodec.name).to.equal('gzip');
  });

  for (const level of [-1, 1, 6, 9]) {
    it(`compresses a view into shared memory at level ${level}; kafkajs's gzip reads it back`, async () => {
      const out = gzipCodec.compress(inSharedMemory(text), level);
      expect(out.length).to.be.lessThan(text.length / 2);
      expect(Buffer.from(out)[0]).to.equal(0x1f); // gzip member magic 1f 8b
      expect((await gzipOracle(Buffer.from(out))).equals(text)).to.equal(true);
      expect(Buffer.from(gzipCodec.decompress(out)).equals(text)).to.equal(true);
    });
  }

  it('honours the level: 9 is not bigger than 1', () => {
    expect(gzipCodec.compress(text, 9).length).to.be.at.most(gzipCodec.compress(text, 1).length);
  });

  it('reads concatenated gzip members (as Java GZIPInputStream does)', () => {
    const a = gzipCodec.compress(text.subarray(0, 1000));
    const b = gzipCodec.compress(text.subarray(1000, 3000));
    expect(Buffer.from(gzipCodec.decompress(Buffer.concat([a, b]))).equals(text.subarray(0, 3000))).to.equal(true);
  });
});
