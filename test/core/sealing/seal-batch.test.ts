/**
 * sealBatch: records already encoded after a 61-byte gap become a complete RecordBatch v2 in
 * place — compressed when that makes them smaller, header written, CRC32C over
 * attributes..end. Every result is decoded by the strict reader (format/record-batch-reader.ts),
 * which verifies the CRC.
 */
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import type { Codec } from '../../../packages/core/src/compression/codec.js';
import { codecByName, decompressRecords } from '../../../packages/core/src/compression/codecs.js';
import { CorruptBatchError } from '../../../packages/core/src/errors.js';
import type { CompressionName } from '../../../packages/core/src/format/compression-type.js';
import { CompressionType } from '../../../packages/core/src/format/compression-type.js';
import { crc32c } from '../../../packages/core/src/format/crc32c.js';
import {
  ATTRIBUTES_OFFSET,
  COMPRESSION_CODEC_MASK,
  CRC_OFFSET,
  RECORD_BATCH_OVERHEAD,
  TRANSACTIONAL_FLAG_MASK,
} from '../../../packages/core/src/format/record-batch-layout.js';
import { readRecordBatches, verifyBatchCrc } from '../../../packages/core/src/format/record-batch-reader.js';
import type { RecordHeader } from '../../../packages/core/src/format/record-data.js';
import { byteLengthOf } from '../../../packages/core/src/format/record-data.js';
import { sizeOfHeaders, sizeOfRecord, sizeOfRecordBody, writeRecord } from '../../../packages/core/src/format/record-writer.js';
import type { SealParams } from '../../../packages/core/src/sealing/seal-batch.js';
import { sealBatch } from '../../../packages/core/src/sealing/seal-batch.js';
import { jsonValue } from '../../helpers/sample-values.js';

const CODECS: readonly CompressionName[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

interface Rec {
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[] | null;
  timestamp: number;
}

/** Memory as a pool slot looks: a Buffer and DataView over a SharedArrayBuffer. */
interface Memory {
  buf: Buffer;
  view: DataView;
}

function sharedMemory(bytes: number): Memory {
  const sab = new SharedArrayBuffer(bytes);
  return { buf: Buffer.from(sab), view: new DataView(sab) };
}

/** Encodes `records` at `base + 61` as the accumulator does; returns the seal parameters (codec null). */
function writeRecords(m: Memory, base: number, records: readonly Rec[]): SealParams {
  let pos = base + RECORD_BATCH_OVERHEAD;
  const baseTimestamp = records[0]?.timestamp ?? 0;
  let maxTimestamp = baseTimestamp;
  records.forEach((r, i) => {
    const kl = byteLengthOf(r.key);
    const vl = byteLengthOf(r.value);
    const body = sizeOfRecordBody(i, r.timestamp - baseTimestamp, kl, vl, sizeOfHeaders(r.headers));
    const next = writeRecord(m.buf, pos, body, i, r.timestamp - baseTimestamp, r.key, kl, r.value, vl, r.headers);
    expect(next).to.equal(pos + sizeOfRecord(body));
    pos = next;
    maxTimestamp = Math.max(maxTimestamp, r.timestamp);
  });
  return {
    recordsLength: pos - base - RECORD_BATCH_OVERHEAD,
    recordCount: records.length,
    baseTimestamp,
    maxTimestamp,
    codec: null,
    producerId: 7_000_000_001,
    producerEpoch: 9,
    baseSequence: 1234,
    transactional: false,
  };
}

function compressibleRecords(n: number): Rec[] {
  return Array.from({ length: n }, (_, i) => ({
    key: Buffer.from(`user-${i % 7}`),
    value: jsonValue(i, 200),
    headers: i % 3 === 0 ? [{ key: 'trace', value: Buffer.from(`t${i}`) }] : null,
    timestamp: 1_700_000_000_000 + ((i * 37) % 11),
  }));
}

/** `size` pseudo-random bytes (SHA-256 in counter mode): incompressible, and the same on every run. */
function noise(seed: number, size: number): Buffer {
  const out = Buffer.alloc(size);
  for (let block = 0; block * 32 < size; block++) createHash('sha256').update(`${seed}:${block}`).digest().copy(out, block * 32);
  return out;
}

function incompressibleRecords(n: number): Rec[] {
  return Array.from({ length: n }, (_, i) => ({ key: null, value: noise(i, 1000), headers: null, timestamp: 1_000 + i }));
}

/** A codec that returns `outputLength` bytes of 0xab and remembers what it was given. */
function fakeCodec(outputLength: (inputLength: number) => number): Codec & { inputs: Buffer[]; levels: (number | undefined)[] } {
  const inputs: Buffer[] = [];
  const levels: (number | undefined)[] = [];
  return {
    id: CompressionType.lz4,
    name: 'lz4',
    inputs,
    levels,
    compress(input, level) {
      inputs.push(Buffer.from(input));
      levels.push(level);
      return Buffer.alloc(outputLength(input.byteLength), 0xab);
    },
    decompress() {
      throw new Error('not used');
    },
  };
}

describe('sealBatch()', () => {
  for (const name of CODECS) {
    it(`${name}: writes every header field and a CRC the reader verifies, records intact`, () => {
      const m = sharedMemory(64 * 1024);
      const records = compressibleRecords(40);
      const params = { ...writeRecords(m, 0, records), codec: codecByName(name), level: undefined };
      const size = sealBatch(m.buf, m.view, 0, params);
      const sealed = m.buf.subarray(0, size);
      const [batch] = readRecordBatches(sealed, { decompress: decompressRecords });
      expect(batch.compression).to.equal(name);
      if (name === 'none') expect(size).to.equal(RECORD_BATCH_OVERHEAD + params.recordsLength);
      else expect(size, 'JSON-like records compress').to.be.lessThan(RECORD_BATCH_OVERHEAD + params.recordsLength / 2);
      expect({
        baseOffset: batch.baseOffset,
        length: batch.length,
        partitionLeaderEpoch: batch.partitionLeaderEpoch,
        magic: batch.magic,
        attributes: batch.attributes,
        lastOffsetDelta: batch.lastOffsetDelta,
        baseTimestamp: batch.baseTimestamp,
        maxTimestamp: batch.maxTimestamp,
        producerId: batch.producerId,
        producerEpoch: batch.producerEpoch,
        baseSequence: batch.baseSequence,
        recordsCount: batch.recordsCount,
        sizeBytes: batch.sizeBytes,
        timestampType: batch.timestampType,
        isTransactional: batch.isTransactional,
      }).to.deep.equal({
        baseOffset: 0,
        length: size - 12,
        partitionLeaderEpoch: -1,
        magic: 2,
        attributes: CompressionType[name],
        lastOffsetDelta: 39,
        baseTimestamp: 1_700_000_000_000,
        maxTimestamp: 1_700_000_000_010,
        producerId: 7_000_000_001,
        producerEpoch: 9,
        baseSequence: 1234,
        recordsCount: 40,
        sizeBytes: size,
        timestampType: 'CreateTime',
        isTransactional: false,
      });
      expect(sealed.readUInt32BE(CRC_OFFSET)).to.equal(crc32c(sealed.subarray(ATTRIBUTES_OFFSET)));
      expect(batch.records).to.have.length(40);
      batch.records.forEach((r, i) => {
        expect([r.offset, r.offsetDelta, r.timestamp]).to.deep.equal([i, i, records[i].timestamp]);
        expect(Buffer.from(r.key!)).to.deep.equal(records[i].key);
        expect(Buffer.from(r.value!)).to.deep.equal(records[i].value);
        expect(r.headers.map((h) => [h.key, Buffer.from(h.value!).toString()])).to.deep.equal(
          (records[i].headers ?? []).map((h) => [h.key, Buffer.from(h.value as Buffer).toString()]),
        );
      });
      // The CRC covers the (compressed) records: any flipped byte there is caught.
      m.buf[size - 1] ^= 0x01;
      expect(verifyBatchCrc(sealed, 0)).to.equal(false);
      expect(() => readRecordBatches(sealed, { decompress: decompressRecords })).to.throw(CorruptBatchError, /crc mismatch/);
    });

    if (name !== 'none') {
      it(`${name}: keeps incompressible records uncompressed (codec bits 0), bytes untouched`, () => {
        const m = sharedMemory(16 * 1024);
        const params = { ...writeRecords(m, 0, incompressibleRecords(8)), codec: codecByName(name) };
        const raw = Buffer.from(m.buf.subarray(RECORD_BATCH_OVERHEAD, RECORD_BATCH_OVERHEAD + params.recordsLength));
        const size = sealBatch(m.buf, m.view, 0, params);
        expect(size).to.equal(RECORD_BATCH_OVERHEAD + params.recordsLength);
        expect(m.view.getInt16(ATTRIBUTES_OFFSET) & COMPRESSION_CODEC_MASK).to.equal(0);
        expect(m.buf.subarray(RECORD_BATCH_OVERHEAD, size)).to.deep.equal(raw);
        const [batch] = readRecordBatches(m.buf.subarray(0, size)); // no decompress needed
        expect(batch.compression).to.equal('none');
        expect(batch.records).to.have.length(8);
      });
    }
  }

  it('uses the compressed bytes only when strictly smaller: equal length stays uncompressed, one byte less is compressed', () => {
    for (const [delta, expectCompressed] of [
      [0, false],
      [+1, false],
      [-1, true],
    ] as const) {
      const m = sharedMemory(8 * 1024);
      const params = writeRecords(m, 0, compressibleRecords(5));
      const raw = Buffer.from(m.buf.subarray(RECORD_BATCH_OVERHEAD, RECORD_BATCH_OVERHEAD + params.recordsLength));
      const codec = fakeCodec((n) => n + delta);
      const size = sealBatch(m.buf, m.view, 0, { ...params, codec, level: 6 });
      expect(codec.inputs, 'compress is handed exactly the raw records').to.deep.equal([raw]);
      expect(codec.levels).to.deep.equal([6]);
      const attributes = m.view.getInt16(ATTRIBUTES_OFFSET);
      if (expectCompressed) {
        expect(size).to.equal(RECORD_BATCH_OVERHEAD + params.recordsLength - 1);
        expect(attributes).to.equal(CompressionType.lz4);
        expect(m.buf.subarray(RECORD_BATCH_OVERHEAD, size)).to.deep.equal(Buffer.alloc(params.recordsLength - 1, 0xab));
      } else {
        expect(size, `compressed length recordsLength${delta >= 0 ? '+' : ''}${delta}`).to.equal(RECORD_BATCH_OVERHEAD + params.recordsLength);
        expect(attributes).to.equal(0);
        expect(m.buf.subarray(RECORD_BATCH_OVERHEAD, size)).to.deep.equal(raw);
      }
      expect(verifyBatchCrc(m.buf.subarray(0, size), 0)).to.equal(true);
    }
  });

  it('sets the transactional bit beside the codec bits', () => {
    const m = sharedMemory(16 * 1024);
    const params = { ...writeRecords(m, 0, compressibleRecords(10)), codec: codecByName('gzip'), transactional: true };
    const size = sealBatch(m.buf, m.view, 0, params);
    expect(m.view.getInt16(ATTRIBUTES_OFFSET)).to.equal(TRANSACTIONAL_FLAG_MASK | CompressionType.gzip);
    const [batch] = readRecordBatches(m.buf.subarray(0, size), { decompress: decompressRecords });
    expect([batch.isTransactional, batch.compression, batch.records.length]).to.deep.equal([true, 'gzip', 10]);
  });

  it('seals in place at a slot offset inside shared memory, touching nothing before the batch', () => {
    const base = 3 * 1024 + 8;
    const m = sharedMemory(base + 8 * 1024);
    m.buf.fill(0x5a, 0, base);
    const params = { ...writeRecords(m, base, compressibleRecords(12)), codec: codecByName('zstd') };
    const size = sealBatch(m.buf, m.view, base, params);
    expect(m.buf.subarray(0, base).every((b) => b === 0x5a)).to.equal(true);
    expect(verifyBatchCrc(m.buf, base)).to.equal(true);
    const [batch] = readRecordBatches(m.buf.subarray(base, base + size), { decompress: decompressRecords });
    expect([batch.compression, batch.recordsCount, batch.sizeBytes]).to.deep.equal(['zstd', 12, size]);
  });

  it('seals a batch of no records without calling the codec: header only, lastOffsetDelta -1', () => {
    const m = sharedMemory(1024);
    const codec = fakeCodec(() => 1);
    const size = sealBatch(m.buf, m.view, 0, { ...writeRecords(m, 0, []), codec });
    expect(size).to.equal(RECORD_BATCH_OVERHEAD);
    expect(codec.inputs).to.have.length(0);
    const [batch] = readRecordBatches(m.buf.subarray(0, size));
    expect([batch.recordsCount, batch.lastOffsetDelta, batch.attributes, batch.records.length]).to.deep.equal([0, -1, 0, 0]);
  });
});
