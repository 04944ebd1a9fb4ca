import { expect } from 'chai';
import { createRequire } from 'node:module';
import { CorruptBatchError } from '../../../packages/core/src/errors.js';
import { XERIAL_BLOCK_SIZE, snappyCodec } from '../../../packages/core/src/compression/snappy.js';
import { decodeXerialSnappy, parseXerialSnappy } from '../../helpers/kafka-oracle.js';
import { inSharedMemory, jsonText } from '../../helpers/sample-values.js';

const require = createRequire(import.meta.url);
const rawSnappy = require('snappy') as { compressSync(b: Buffer): Buffer };

describe('snappyCodec', () => {
  it('has Kafka id 2 and name snappy', () => {
    expect(snappyCodec.id).to.equal(2);
    expect(snappyCodec.name).to.equal('snappy');
  });

  it('writes snappy-java framing: magic, version 1, compatible 1, one length-prefixed block per 32 KiB', () => {
    const text = jsonText(100_000);
    const out = Buffer.from(snappyCodec.compress(inSharedMemory(text)));
    expect([...out.subarray(0, 8)]).to.deep.equal([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
    const stream = parseXerialSnappy(out);
    expect(stream.version).to.equal(1);
    expect(stream.compatibleVersion).to.equal(1);
    expect(stream.blocks).to.have.length(Math.ceil(100_000 / XERIAL_BLOCK_SIZE));
    expect(XERIAL_BLOCK_SIZE).to.equal(32 * 1024);
    expect(decodeXerialSnappy(out).equals(text)).to.equal(true);
    expect(Buffer.from(snappyCodec.decompress(out)).equals(text)).to.equal(true);
  });

  it('compresses a small batch into a single block', () => {
    const text = jsonText(5000);
    const stream = parseXerialSnappy(Buffer.from(snappyCodec.compress(text)));
    expect(stream.blocks).to.have.length(1);
  });

  it('decompresses raw, unframed snappy (what some non-Java clients write)', () => {
    const text = jsonText(20_000);
    expect(Buffer.from(snappyCodec.decompress(rawSnappy.compressSync(text))).equals(text)).to.equal(true);
  });

  it('decompresses concatenated snappy-java streams', () => {
    const a = jsonText(40_000);
    const b = jsonText(3000);
    const joined = Buffer.concat([snappyCodec.compress(a), snappyCodec.compress(b)]);
    expect(Buffer.from(snappyCodec.decompress(joined)).equals(Buffer.concat([a, b]))).to.equal(true);
  });

  it('throws CorruptBatchError when a block length runs past the end', () => {
    const out = Buffer.from(snappyCodec.compress(jsonText(5000)));
    expect(() => snappyCodec.decompress(out.subarray(0, out.length - 10))).to.throw(CorruptBatchError, /runs past the end/);
  });
});
