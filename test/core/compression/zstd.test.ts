import { expect } from 'chai';
import { createRequire } from 'node:module';
import { zstdBinding, zstdCodec } from '../../../packages/core/src/compression/zstd.js';
import { zstdOracle } from '../../helpers/kafka-oracle.js';
import { inSharedMemory, jsonText } from '../../helpers/sample-values.js';

const require = createRequire(import.meta.url);
const mongoZstd = require('@mongodb-js/zstd') as { compress(b: Buffer, level?: number): Promise<Buffer> };
const fallback = require('@toondepauw/node-zstd') as { Encoder: new (level: number) => { encodeSync(b: Buffer): Buffer }; Decoder: new () => { decodeSync(b: Buffer): Buffer } };

describe('zstdCodec', () => {
  const text = jsonText(60_000);

  it('has Kafka id 4 and name zstd', () => {
    expect(zstdCodec.id).to.equal(4);
    expect(zstdCodec.name).to.equal('zstd');
  });

  for (const level of [-5, 1, 3, 19]) {
    it(`compresses a view into shared memory at level ${level}; @mongodb-js/zstd reads it back`, async () => {
      const out = Buffer.from(zstdCodec.compress(inSharedMemory(text), level));
      expect(out.readUInt32LE(0)).to.equal(0xfd2fb528); // zstd frame magic
      expect((await zstdOracle(out)).equals(text)).to.equal(true);
      expect(Buffer.from(zstdCodec.decompress(out)).equals(text)).to.equal(true);
    });
  }

  it('honours the level: 19 is smaller than -5', () => {
    expect(zstdCodec.compress(text, 19).length).to.be.lessThan(zstdCodec.compress(text, -5).length);
  });

  it('decompresses frames written by another binding', async () => {
    const foreign = await mongoZstd.compress(text, 7);
    expect(Buffer.from(zstdCodec.decompress(foreign)).equals(text)).to.equal(true);
  });

  it('uses zstd-napi (one context per thread) when it built, else the prebuilt fallback; their frames interoperate', () => {
    expect(zstdBinding()).to.be.oneOf(['zstd-napi', '@toondepauw/node-zstd']);
    const fromFallback = new fallback.Encoder(3).encodeSync(text);
    expect(Buffer.from(zstdCodec.decompress(fromFallback)).equals(text)).to.equal(true);
    expect(new fallback.Decoder().decodeSync(Buffer.from(zstdCodec.compress(text, 3))).equals(text)).to.equal(true);
  });
});
