import { expect } from 'chai';
import fc from 'fast-check';
import { createRequire } from 'node:module';
import { MAX_RECORD_OVERHEAD, RECORD_BATCH_OVERHEAD } from '../../../packages/core/src/format/record-batch-layout.js';
import type { RecordData, RecordHeader } from '../../../packages/core/src/format/record-data.js';
import { byteLengthOf } from '../../../packages/core/src/format/record-data.js';
import {
  estimateSizeInBytesUpperBound,
  sizeOfHeaders,
  sizeOfRecord,
  sizeOfRecordBody,
  writeRecord,
} from '../../../packages/core/src/format/record-writer.js';

// kafkajs's record encoder (kafkajs/src/protocol/recordBatch/record/v0/index.js), an
// independent implementation of the same v2 record layout. Headers are an object there
// (a repeated key is an array of values) and values must be Buffers or strings.
type KafkajsHeaders = Record<string, Buffer | string | (Buffer | string)[]>;
type KafkajsRecord = (r: {
  offsetDelta: number;
  timestampDelta: number;
  key: Buffer | string | null;
  value: Buffer | string | null;
  headers?: KafkajsHeaders;
}) => { buffer: Buffer };
const require = createRequire(import.meta.url);
const kafkajsRecord = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as KafkajsRecord;

interface RecordInput {
  offsetDelta: number;
  timestampDelta: number;
  key: RecordData;
  value: RecordData;
  headers: RecordHeader[] | null | undefined;
}

/** Sizes then writes `r` at `start` of a guard-filled buffer; returns the buffer, record bytes and end. */
function encode(r: RecordInput, start = 3): { buf: Buffer; bytes: Buffer; end: number; expectedEnd: number } {
  const keyLength = byteLengthOf(r.key);
  const valueLength = byteLengthOf(r.value);
  const body = sizeOfRecordBody(r.offsetDelta, r.timestampDelta, keyLength, valueLength, sizeOfHeaders(r.headers));
  const total = sizeOfRecord(body);
  const buf = Buffer.alloc(start + total + 8, 0xee);
  const end = writeRecord(buf, start, body, r.offsetDelta, r.timestampDelta, r.key, keyLength, r.value, valueLength, r.headers);
  return { buf, bytes: buf.subarray(start, end), end, expectedEnd: start + total };
}

const hexOf = (r: RecordInput): string => encode(r).bytes.toString('hex');

const UNICODE = ['ключ', '🚀', '日本語のテキスト', 'mixed ascii + é + 中 + 🎉', ''];

const recordData: fc.Arbitrary<RecordData> = fc.oneof(
  fc.constant(null),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  // any UTF-16 code units, lone surrogates included (written as U+FFFD, 3 bytes, by sizing and encoding alike)
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.uint8Array({ maxLength: 300 }),
  fc.constantFrom(...UNICODE),
);
const headerArb: fc.Arbitrary<RecordHeader> = fc.record({
  key: fc.oneof(fc.string({ unit: 'grapheme', maxLength: 12 }), fc.constantFrom(...UNICODE)),
  value: recordData,
});
const recordInput: fc.Arbitrary<RecordInput> = fc.record({
  offsetDelta: fc.oneof(fc.nat(200), fc.nat(2_147_483_647)),
  timestampDelta: fc.oneof(
    fc.integer({ min: -100_000, max: 100_000 }),
    fc.integer({ min: -(2 ** 45), max: 2 ** 45 }),
    fc.constantFrom(-(2 ** 52), 2 ** 52, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER),
  ),
  key: recordData,
  value: recordData,
  headers: fc.oneof(fc.constant(null), fc.constant(undefined), fc.array(headerArb, { maxLength: 5 })),
});

describe('record-writer', () => {
  describe('writeRecord()', () => {
    it('writes the v2 record layout byte for byte (simple record)', () => {
      // length 8 | attrs 0 | tsDelta 0 | offsetDelta 0 | keyLen 1 'k' | valueLen 1 'v' | 0 headers
      expect(hexOf({ offsetDelta: 0, timestampDelta: 0, key: 'k', value: 'v', headers: [] })).to.equal('10000000026b027600');
    });

    it('writes null as length -1 and empty as length 0, and a null header value as -1', () => {
      // length 9 | attrs 0 | tsDelta -1 | offsetDelta 1 | key null | value empty | 1 header: 'h' → null
      expect(hexOf({ offsetDelta: 1, timestampDelta: -1, key: null, value: '', headers: [{ key: 'h', value: null }] })).to.equal(
        '12000102010002026801',
      );
      expect(hexOf({ offsetDelta: 1, timestampDelta: -1, key: null, value: new Uint8Array(0), headers: [{ key: 'h', value: null }] })).to.equal(
        '12000102010002026801',
      );
    });

    it('writes exactly sizeOfRecord(sizeOfRecordBody(...)) bytes and nothing outside them', () => {
      fc.assert(
        fc.property(recordInput, fc.nat(16), (r, start) => {
          const { buf, end, expectedEnd } = encode(r, start);
          expect(end).to.equal(expectedEnd);
          for (let i = 0; i < start; i++) expect(buf[i], `guard before, byte ${i}`).to.equal(0xee);
          for (let i = end; i < buf.length; i++) expect(buf[i], `guard after, byte ${i}`).to.equal(0xee);
        }),
        { numRuns: 400 },
      );
    });

    it('writes identical bytes for a string and for its UTF-8 Buffer (keys, values, header values)', () => {
      for (const s of [...UNICODE, 'plain', 'x'.repeat(200)]) {
        const asString = hexOf({ offsetDelta: 3, timestampDelta: 70, key: s, value: s, headers: [{ key: s, value: s }] });
        const asBuffer = hexOf({
          offsetDelta: 3,
          timestampDelta: 70,
          key: Buffer.from(s),
          value: new Uint8Array(Buffer.from(s)),
          headers: [{ key: s, value: Buffer.from(s) }],
        });
        expect(asString, s).to.equal(asBuffer);
      }
    });

    it('encodes any string exactly as UTF-8 (ASCII fast path, Latin-1 range, surrogates; one- and two-byte V8 strings)', () => {
      const latin1Range = fc.string({ unit: fc.integer({ min: 0x20, max: 0xff }).map((c) => String.fromCharCode(c)), maxLength: 60 });
      const ascii = fc.string({ unit: fc.integer({ min: 0, max: 0x7f }).map((c) => String.fromCharCode(c)), maxLength: 120 });
      fc.assert(
        fc.property(fc.oneof(ascii, latin1Range, fc.string({ unit: 'binary', maxLength: 40 }), fc.string({ unit: 'grapheme', maxLength: 40 })), (s) => {
          // The same ASCII text as a two-byte V8 string: sliced out of one holding a non-Latin-1 character.
          const twoByte = ('\u4e2d' + s).slice(1);
          for (const v of [s, twoByte]) {
            expect(hexOf({ offsetDelta: 1, timestampDelta: 2, key: v, value: v, headers: [{ key: v, value: v }] })).to.equal(
              hexOf({ offsetDelta: 1, timestampDelta: 2, key: Buffer.from(v), value: Buffer.from(v), headers: [{ key: v, value: Buffer.from(v) }] }),
            );
          }
        }),
        { numRuns: 300 },
      );
    });

    it('writes multi-byte UTF-8 lengths in bytes, not UTF-16 units', () => {
      const bytes = encode({ offsetDelta: 0, timestampDelta: 0, key: '🚀', value: 'ключ', headers: null }).bytes;
      // key: length 4 (zigzag 08) then f0 9f 9a 80; value: length 8 (zigzag 10) then Cyrillic
      expect(bytes.subarray(4, 9).toString('hex')).to.equal('08f09f9a80');
      expect(bytes[9]).to.equal(0x10);
      expect(bytes.subarray(10, 18).toString('utf8')).to.equal('ключ');
    });

    it('writes into a Buffer over a SharedArrayBuffer (pool memory)', () => {
      const shared = Buffer.from(new SharedArrayBuffer(64));
      const r: RecordInput = { offsetDelta: 2, timestampDelta: 5, key: 'key', value: 'value', headers: [{ key: 'a', value: 'b' }] };
      const body = sizeOfRecordBody(2, 5, 3, 5, sizeOfHeaders(r.headers));
      const end = writeRecord(shared, 10, body, 2, 5, 'key', 3, 'value', 5, r.headers);
      expect(shared.subarray(10, end).toString('hex')).to.equal(hexOf(r));
    });

    it('matches kafkajs record encoder byte for byte on random records', () => {
      const toKafkajs = (d: RecordData): Buffer | string | null => (d === null || typeof d === 'string' ? d : Buffer.from(d));
      fc.assert(
        fc.property(recordInput, (r) => {
          // kafkajs cannot encode a null header value, and merges repeated keys; give it neither.
          const headers = (r.headers ?? []).filter(
            (h, i, all) => h.value !== null && all.findIndex((o) => o.key === h.key) === i,
          );
          const kafkajsHeaders: KafkajsHeaders = {};
          for (const h of headers) kafkajsHeaders[h.key] = toKafkajs(h.value)!;
          const theirs = kafkajsRecord({
            offsetDelta: r.offsetDelta,
            timestampDelta: r.timestampDelta,
            key: toKafkajs(r.key),
            value: toKafkajs(r.value),
            headers: kafkajsHeaders,
          }).buffer.toString('hex');
          expect(hexOf({ ...r, headers })).to.equal(theirs);
        }),
        { numRuns: 300 },
      );
    });
  });

  describe('sizeOfHeaders()', () => {
    it('is 1 (the zero count) for null, undefined and []', () => {
      expect([sizeOfHeaders(null), sizeOfHeaders(undefined), sizeOfHeaders([])]).to.deep.equal([1, 1, 1]);
    });

    it('counts UTF-8 bytes of keys and values, and one byte for a null value', () => {
      // count(1) + keyLen(1) + 'ключ'(8) + valueLen(1) + '🚀'(4) + keyLen(1) + 'n'(1) + null(1)
      expect(sizeOfHeaders([{ key: 'ключ', value: '🚀' }, { key: 'n', value: null }])).to.equal(18);
    });
  });

  describe('sizeOfRecordBody() / sizeOfRecord()', () => {
    it('grows the length varint at 64 and 8192 body bytes', () => {
      expect([sizeOfRecord(63), sizeOfRecord(64), sizeOfRecord(8191), sizeOfRecord(8192)]).to.deep.equal([64, 66, 8193, 8195]);
    });

    it('counts a null key/value as one byte and no data', () => {
      expect(sizeOfRecordBody(0, 0, -1, -1, 1)).to.equal(6);
      expect(sizeOfRecordBody(0, 0, 0, 0, 1)).to.equal(6);
      expect(sizeOfRecordBody(0, 0, 3, 5, 1)).to.equal(14);
    });
  });

  describe('estimateSizeInBytesUpperBound()', () => {
    it('is at least the batch header plus the record, whatever its deltas', () => {
      fc.assert(
        fc.property(recordInput, (r) => {
          const keyLength = byteLengthOf(r.key);
          const valueLength = byteLengthOf(r.value);
          const headersSize = sizeOfHeaders(r.headers);
          const actual = sizeOfRecord(sizeOfRecordBody(r.offsetDelta, r.timestampDelta, keyLength, valueLength, headersSize));
          const bound = estimateSizeInBytesUpperBound(keyLength, valueLength, headersSize);
          expect(bound).to.be.at.least(RECORD_BATCH_OVERHEAD + actual);
          // and not loose: within the worst-case varint growth of the four fixed fields
          expect(bound - RECORD_BATCH_OVERHEAD - actual).to.be.at.most(MAX_RECORD_OVERHEAD - 4);
        }),
        { numRuns: 500 },
      );
    });

    it('bounds the worst case: 5-byte length, 5-byte offsetDelta, longest safe timestampDelta', () => {
      const value = 'v'.repeat(100_000); // body length needs 3 varint bytes
      const headersSize = sizeOfHeaders([{ key: 'k', value: 'x' }]);
      const actual = sizeOfRecord(sizeOfRecordBody(2_147_483_647, Number.MIN_SAFE_INTEGER, -1, value.length, headersSize));
      expect(estimateSizeInBytesUpperBound(-1, value.length, headersSize)).to.be.at.least(RECORD_BATCH_OVERHEAD + actual);
    });
  });
});
