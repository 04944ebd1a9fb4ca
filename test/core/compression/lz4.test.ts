import { expect } from 'chai';
import { lz4Codec } from '../../../packages/core/src/compression/lz4.js';
import { decodeLz4Frame, xxhash32 } from '../../helpers/kafka-oracle.js';
import { inSharedMemory, jsonText } from '../../helpers/sample-values.js';

/** A frame built by hand (stored blocks), to check the decoder reads frames it did not write. */
function handMadeFrame(data: Buffer, blockSize: number, contentChecksum: boolean): Buffer {
  const flg = 0x60 | (contentChecksum ? 0x04 : 0); // version 01, independent blocks
  const bd = 0x40; // 64 KiB blocks
  const header = Buffer.from([0x04, 0x22, 0x4d, 0x18, flg, bd, 0]);
  header[6] = (xxhash32(header.subarray(4, 6)) >>> 8) & 0xff;
  const parts: Buffer[] = [header];
  for (let i = 0; i < data.length; i += blockSize) {
    const block = data.subarray(i, Math.min(data.length, i + blockSize));
    const size = Buffer.alloc(4);
    size.writeUInt32LE((block.length | 0x80000000) >>> 0);
    parts.push(size, block);
  }
  parts.push(Buffer.alloc(4));
  if (contentChecksum) {
    const c = Buffer.alloc(4);
    c.writeUInt32LE(xxhash32(data));
    parts.push(c);
  }
  return Buffer.concat(parts);
}

describe('lz4Codec', () => {
  it('has Kafka id 3 and name lz4', () => {
    expect(lz4Codec.id).to.equal(3);
    expect(lz4Codec.name).to.equal('lz4');
  });

  it('xxhash32 matches the reference vectors', () => {
    expect(xxhash32(Buffer.alloc(0))).to.equal(0x02cc5d05);
    expect(xxhash32(Buffer.from('abc'))).to.equal(0x32d153ff);
    expect(xxhash32(Buffer.from('Nobody inspects the spammish repetition'))).to.equal(0xe2293b2f);
  });

  it('writes an LZ4 frame Kafka reads: version 1, independent blocks, block size id 4-7, valid header checksum', () => {
    const text = jsonText(600_000);
    const out = Buffer.from(lz4Codec.compress(inSharedMemory(text), 9));
    const { data, info } = decodeLz4Frame(out);
    expect(info.version).to.equal(1);
    expect(info.blockIndependence, 'Kafka rejects dependent blocks').to.equal(true);
    expect(info.blockMaxSizeId).to.be.within(4, 7);
    expect(info.headerChecksumOk).to.equal(true);
    expect(info.blocks).to.be.at.least(1);
    expect(data.equals(text)).to.equal(true);
    expect(out.length).to.be.lessThan(text.length);
    expect(Buffer.from(lz4Codec.decompress(out)).equals(text)).to.equal(true);
  });

  it('accepts every level (the level does not change validity)', () => {
    const text = jsonText(20_000);
    for (const level of [1, 9, 17]) expect(decodeLz4Frame(Buffer.from(lz4Codec.compress(text, level))).data.equals(text)).to.equal(true);
  });

  it('decompresses a frame it did not write (stored blocks, content checksum)', () => {
    const text = jsonText(150_000);
    expect(Buffer.from(lz4Codec.decompress(handMadeFrame(text, 65536, true))).equals(text)).to.equal(true);
    expect(Buffer.from(lz4Codec.decompress(handMadeFrame(text, 4096, false))).equals(text)).to.equal(true);
  });
});
