/**
 * lz4 with `compression.lz4.level` honoured as Kafka's Java producer does (the fast compressor at
 * the default level 9, LZ4-HC at any other): levels give different sizes,
 * every frame decodes to the same bytes with lz4_flex (core) and kafkajs, the header
 * checksum is the xxHash32 the frame spec asks for, and a sealed batch says lz4.
 */
import { expect } from 'chai';
import { createRequire } from 'node:module';
import { codecFor } from '../../packages/core/src/compression/codecs.js';
import { InlineSealer } from '../../packages/core/src/sealing/inline-sealer.js';
import { LZ4_BLOCK_BYTES, LZ4_DEFAULT_LEVEL, compressLz4Frame, lz4LevelBinding, lz4LevelCodec, xxh32Short } from '../../packages/worker/src/lz4-level-codec.js';
import { sealCodecFor } from '../../packages/worker/src/seal-codecs.js';
import { makeAccumulator } from '../helpers/accumulator-factory.js';
import { jsonValue } from '../helpers/sample-values.js';
import { completeSealed, drainEverything, sealedAndDecoded } from '../helpers/sealing.js';

const input = Buffer.concat(Array.from({ length: 1500 }, (_, i) => jsonValue(i, 140)));

describe('lz4LevelCodec', () => {
  before(function () {
    if (lz4LevelBinding() === null) this.skip();
  });

  it('writes the frame header checksum as xxHash32 of FLG and BD (checked against the C library)', () => {
    const xx = createRequire(import.meta.url)('lz4/build/Release/xxhash.node') as { xxHash(b: Buffer, seed: number): number };
    for (const bytes of [[0x60, 0x40], [0x64, 0x70], [1, 2, 3, 4, 5, 6, 7], []]) {
      expect(xxh32Short(Uint8Array.from(bytes)), JSON.stringify(bytes)).to.equal(xx.xxHash(Buffer.from(bytes), 0) >>> 0);
    }
  });

  it('different levels give different sizes (the default 9 fast, every other LZ4-HC); every frame decodes to the input', () => {
    const sizes = new Map<number, number>();
    for (const level of [1, 3, 9, 12, 17]) {
      const frame = compressLz4Frame(input, level)!;
      sizes.set(level, frame.length);
      expect(Buffer.from(codecFor(3)!.decompress(frame)).equals(input), `level ${level}`).to.equal(true);
    }
    expect(input.length).to.be.greaterThan(3 * LZ4_BLOCK_BYTES);
    expect(sizes.get(1)!, 'LZ4-HC at level 1 beats the fast compressor of level 9').to.be.lessThan(sizes.get(9)! * 0.9);
    expect(sizes.get(12)!).to.be.at.most(sizes.get(3)!);
    expect(sizes.get(17), 'above 12 is 12 (LZ4-HC maximum)').to.equal(sizes.get(12));
  });

  it('seals the default level (9) with the fast compressor, as kafka-clients Lz4BlockOutputStream does', () => {
    const block = input.subarray(0, 16 * 1024);
    const frame = compressLz4Frame(block, LZ4_DEFAULT_LEVEL)!;
    const fast = Buffer.alloc(lz4LevelBinding()!.compressBound(block.length));
    const n = lz4LevelBinding()!.compressLimited(block, fast, block.length - 1);
    expect(n).to.be.greaterThan(0);
    expect(frame.readUInt32LE(7), 'the one block size').to.equal(n);
    expect(frame.subarray(11, 11 + n).equals(fast.subarray(0, n))).to.equal(true);
    expect(lz4LevelCodec.compress(block)).to.deep.equal(frame);
  });

  it('stores a block that does not compress raw (high bit of its size)', () => {
    const noise = Buffer.alloc(5000);
    let x = 0x12345678;
    for (let i = 0; i < noise.length; i++) noise[i] = (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 24;
    const frame = compressLz4Frame(noise, 9)!;
    expect(frame.readUInt32LE(7) >>> 31).to.equal(1);
    expect(Buffer.from(codecFor(3)!.decompress(frame)).equals(noise)).to.equal(true);
  });

  it('seals lz4 batches at the configured level through the sealers codec lookup; kafkajs decodes them', async () => {
    expect(sealCodecFor(3)).to.equal(lz4LevelCodec);
    const sizes: number[] = [];
    for (const level of [1, 9]) {
      const t = makeAccumulator({ compressionType: 'lz4', 'compression.lz4.level': level, bufferMemory: 256 * 1024 }, { sealer: new InlineSealer(sealCodecFor) });
      for (let i = 0; i < 200; i++) t.acc.append({ topic: 't', partition: 0 }, t.clock.nowMs(), null, jsonValue(i, 140), null);
      const batches = drainEverything(t);
      const decoded = await sealedAndDecoded(batches);
      expect(decoded.flatMap((d) => d.records.map((r) => r.value!.toString()))).to.deep.equal(Array.from({ length: 200 }, (_, i) => jsonValue(i, 140).toString()));
      expect(decoded.every((d) => d.codecId === 3)).to.equal(true);
      sizes.push(batches.reduce((n, b) => n + b.sizeBytes, 0));
      completeSealed(batches, t);
    }
    expect(sizes[0], 'level 1 (LZ4-HC) smaller than level 9 (the fast default)').to.be.lessThan(sizes[1]);
  });
});
