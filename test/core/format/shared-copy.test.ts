import { expect } from 'chai';
import fc from 'fast-check';
import { STAGED_COPY_MIN_BYTES, copyBytes } from '../../../packages/core/src/format/shared-copy.js';

describe('copyBytes()', () => {
  it('copies exactly like Uint8Array#set, into shared and private memory, at every alignment (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 4 * STAGED_COPY_MIN_BYTES }),
        fc.integer({ min: 0, max: 15 }),
        fc.integer({ min: 0, max: 64 }),
        fc.boolean(),
        fc.integer(),
        (length, srcOffset, dstPos, shared, seed) => {
          const backing = new Uint8Array(srcOffset + length);
          for (let i = 0; i < backing.length; i++) backing[i] = (seed + i * 31) & 0xff;
          const src = backing.subarray(srcOffset, srcOffset + length);
          const size = dstPos + length + 16;
          const dst = new Uint8Array(shared ? new SharedArrayBuffer(size) : new ArrayBuffer(size)).fill(0xee);
          const want = new Uint8Array(size).fill(0xee);
          want.set(src, dstPos);
          copyBytes(dst, dstPos, src);
          expect(Buffer.from(dst).equals(Buffer.from(want))).to.equal(true);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('stages a long misaligned copy and copies one that is longer than the scratch space', () => {
    const big = new Uint8Array(200_001).map((_, i) => (i * 13) & 0xff);
    const dst = new Uint8Array(new SharedArrayBuffer(200_016));
    copyBytes(dst, 3, big.subarray(1));
    expect(Buffer.from(dst.subarray(3, 3 + 200_000)).equals(Buffer.from(big.subarray(1)))).to.equal(true);
    expect(dst[2]).to.equal(0);
    expect(dst[3 + 200_000]).to.equal(0);
  });
});
