import { expect } from 'chai';
import { createRequire } from 'node:module';
import { seededRandom } from '../../../packages/core/src/embedded/seeded-random.js';
import { murmur2, partitionForKey, toPositive } from '../../../packages/core/src/partitioner/murmur2.js';

// kafkajs's murmur2 is a Long-based port of Kafka 0.10.2's Utils.murmur2: an independent
// implementation to compare against on random keys.
const require = createRequire(import.meta.url);
const kafkajsMurmur2 = require('kafkajs/src/producer/partitioners/default/murmur2.js') as (key: Buffer) => number;

describe('murmur2', () => {
  describe('murmur2()', () => {
    // Kafka clients/src/test/java/org/apache/kafka/common/utils/UtilsTest.java testMurmur2
    const KAFKA_VECTORS: [string, number][] = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
    ];

    for (const [key, hash] of KAFKA_VECTORS) {
      it(`matches Kafka's UtilsTest for "${key}"`, () => {
        expect(murmur2(Buffer.from(key, 'utf8'))).to.equal(hash);
      });
    }

    it('matches kafkajs on 2000 random keys of every length from 0 to 40 bytes', () => {
      const random = seededRandom(42);
      for (let i = 0; i < 2000; i++) {
        const key = Buffer.alloc(i % 41);
        for (let j = 0; j < key.length; j++) key[j] = Math.floor(random() * 256);
        expect(murmur2(key), key.toString('hex')).to.equal(kafkajsMurmur2(key));
      }
    });

    it('hashes the empty key', () => {
      expect(murmur2(new Uint8Array(0))).to.equal(kafkajsMurmur2(Buffer.alloc(0)));
    });

    it('reads a view at its own offset', () => {
      const whole = Buffer.from('xxfoobaryy');
      expect(murmur2(whole.subarray(2, 8))).to.equal(-790332482);
    });
  });

  describe('toPositive()', () => {
    it('clears the sign bit as Kafka\'s Utils.toPositive', () => {
      expect(toPositive(-1)).to.equal(0x7fffffff);
      expect(toPositive(-2147483648)).to.equal(0);
      expect(toPositive(5)).to.equal(5);
    });
  });

  describe('partitionForKey()', () => {
    it('is toPositive(murmur2(key)) % numPartitions', () => {
      // -790332482 & 0x7fffffff = 1357151166
      expect(partitionForKey(Buffer.from('foobar'), 7)).to.equal(1357151166 % 7);
      expect(partitionForKey(Buffer.from('21'), 1)).to.equal(0);
    });

    it('rejects a non-positive partition count', () => {
      expect(() => partitionForKey(Buffer.from('a'), 0)).to.throw(RangeError, /got 0/);
    });
  });
});
