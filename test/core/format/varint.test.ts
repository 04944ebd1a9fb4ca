import { expect } from 'chai';
import fc from 'fast-check';
import { createRequire } from 'node:module';
import {
  readVarint,
  readVarlong,
  sizeOfVarint,
  sizeOfVarlong,
  writeVarint,
  writeVarlong,
} from '../../../packages/core/src/format/varint.js';
import type { VarintRead } from '../../../packages/core/src/format/varint.js';

// kafkajs is CommonJS without types for its protocol internals: load it through require
// and describe the few members used. It is an independent implementation of the same
// zigzag varints (kafkajs/src/protocol/encoder.js, decoder.js).
interface KafkajsEncoder {
  writeVarInt(value: number): KafkajsEncoder;
  writeVarLong(value: number | bigint): KafkajsEncoder;
  readonly buffer: Buffer;
}
interface KafkajsDecoder {
  readVarInt(): number;
  readVarLong(): { toString(): string };
}
const require = createRequire(import.meta.url);
const KafkajsEncoderCtor = require('kafkajs/src/protocol/encoder.js') as new () => KafkajsEncoder;
const KafkajsDecoderCtor = require('kafkajs/src/protocol/decoder.js') as new (buf: Buffer) => KafkajsDecoder;

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

function hexOf(write: (buf: Uint8Array, pos: number, v: number) => number, value: number): string {
  const buf = new Uint8Array(16);
  const end = write(buf, 0, value);
  return Buffer.from(buf.subarray(0, end)).toString('hex');
}

/** Known encodings, computed independently (Python, zigzag + LEB128 over int64). */
const VARINT_VECTORS: readonly [number, string][] = [
  [0, '00'],
  [-1, '01'],
  [1, '02'],
  [63, '7e'],
  [-64, '7f'],
  [64, '8001'],
  [-65, '8101'],
  [-5000, '8f4e'],
  [8191, 'fe7f'],
  [8192, '808001'],
  [INT32_MAX, 'feffffff0f'],
  [INT32_MIN, 'ffffffff0f'],
];

const VARLONG_VECTORS: readonly [number, string][] = [
  ...VARINT_VECTORS,
  [1_700_000_000_000, '80a0abfef962'],
  [-1_700_000_000_000, 'ff9fabfef962'],
  [8_000_000_000_000, '8080c4d2d4d103'],
  [2 ** 52, '8080808080808010'],
  [-(2 ** 52), 'ffffffffffffff0f'],
  // zigzag = 2^53 + 1, not a double: caught a rounding bug in writeVarlong/readVarlong
  [-(2 ** 52) - 1, '8180808080808010'],
  // either side of the ±2^30 switch between the int32 and the arithmetic paths
  [0x3fffffff, 'feffffff07'],
  [-0x40000000, 'ffffffff07'],
  [0x40000000, '8080808008'],
  [-0x40000001, '8180808008'],
  [Number.MAX_SAFE_INTEGER, 'feffffffffffff1f'],
  [Number.MIN_SAFE_INTEGER, 'fdffffffffffff1f'],
];

const safeLong = fc.oneof(
  fc.integer({ min: INT32_MIN, max: INT32_MAX }),
  fc.integer({ min: -(2 ** 31) * 4, max: 2 ** 31 * 4 }),
  fc.maxSafeInteger(),
  fc.constantFrom(-0x40000001, -0x40000000, 0x3fffffff, 0x40000000, 2 ** 35, -(2 ** 35), 2 ** 49 - 1, -(2 ** 49)),
);

describe('varint', () => {
  const out: VarintRead = { value: 0, pos: 0 };

  describe('writeVarint()', () => {
    for (const [value, hex] of VARINT_VECTORS) {
      it(`writes ${value} as ${hex}`, () => {
        expect(hexOf(writeVarint, value)).to.equal(hex);
      });
    }

    it('returns the position after the varint, writing nothing before pos', () => {
      const buf = new Uint8Array(8).fill(0xaa);
      expect(writeVarint(buf, 3, 64)).to.equal(5);
      expect(Buffer.from(buf).toString('hex')).to.equal('aaaaaa8001aaaaaa');
    });
  });

  describe('writeVarlong()', () => {
    for (const [value, hex] of VARLONG_VECTORS) {
      it(`writes ${value} as ${hex}`, () => {
        expect(hexOf(writeVarlong, value)).to.equal(hex);
      });
    }
  });

  describe('sizeOfVarint() / sizeOfVarlong()', () => {
    it('agree with the bytes the writers produce (int32 and safe integers)', () => {
      fc.assert(
        fc.property(fc.integer({ min: INT32_MIN, max: INT32_MAX }), (v) => {
          expect(sizeOfVarint(v)).to.equal(writeVarint(new Uint8Array(5), 0, v));
        }),
      );
      fc.assert(
        fc.property(safeLong, (v) => {
          expect(sizeOfVarlong(v)).to.equal(writeVarlong(new Uint8Array(10), 0, v));
        }),
      );
    });

    it('give 1..5 and 1..10 bytes at the boundaries', () => {
      expect([0, 63, 64, 8191, 8192, INT32_MAX, INT32_MIN].map(sizeOfVarint)).to.deep.equal([1, 1, 2, 2, 3, 5, 5]);
      expect([2 ** 52, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER].map(sizeOfVarlong)).to.deep.equal([8, 8, 8]);
    });
  });

  describe('readVarint() / readVarlong()', () => {
    it('read back the known vectors with the position after them', () => {
      for (const [value, hex] of VARINT_VECTORS) {
        const buf = Buffer.from(hex + 'ff', 'hex');
        readVarint(buf, 0, buf.length, out);
        expect(out, hex).to.deep.equal({ value, pos: hex.length / 2 });
      }
      for (const [value, hex] of VARLONG_VECTORS) {
        const buf = Buffer.from('00' + hex, 'hex');
        readVarlong(buf, 1, buf.length, out);
        expect(out, hex).to.deep.equal({ value, pos: 1 + hex.length / 2 });
      }
    });

    it('round-trip random int32 and safe integers', () => {
      const buf = new Uint8Array(10);
      fc.assert(
        fc.property(fc.integer({ min: INT32_MIN, max: INT32_MAX }), (v) => {
          const end = writeVarint(buf, 0, v);
          expect(readVarint(buf, 0, end, out)).to.deep.equal({ value: v, pos: end });
        }),
      );
      fc.assert(
        fc.property(safeLong, (v) => {
          const end = writeVarlong(buf, 0, v);
          expect(readVarlong(buf, 0, end, out)).to.deep.equal({ value: v, pos: end });
        }),
      );
    });

    it('throw RangeError on a truncated varint (every proper prefix)', () => {
      const int = Buffer.from('ffffffff0f', 'hex');
      for (let end = 0; end < int.length; end++) {
        expect(() => readVarint(int, 0, end, out), `prefix ${end}`).to.throw(RangeError, /past the end/);
      }
      const long = Buffer.from('80a0abfef962', 'hex');
      for (let end = 0; end < long.length; end++) {
        expect(() => readVarlong(long, 0, end, out), `prefix ${end}`).to.throw(RangeError, /past the end/);
      }
    });

    it('respect `end` even when the buffer holds more bytes', () => {
      const buf = Buffer.from('808001', 'hex');
      expect(() => readVarint(buf, 0, 2, out)).to.throw(RangeError);
      expect(readVarint(buf, 0, 3, out).value).to.equal(8192);
    });

    it('throw RangeError on a varint longer than 5 bytes / a varlong longer than 10', () => {
      const six = Buffer.from('ffffffffff01', 'hex');
      expect(() => readVarint(six, 0, six.length, out)).to.throw(RangeError, /longer than 5/);
      const eleven = Buffer.from('ffffffffffffffffffff01', 'hex');
      expect(() => readVarlong(eleven, 0, eleven.length, out)).to.throw(RangeError, /longer than 10/);
    });
  });

  describe('against kafkajs (independent encoder)', () => {
    it('writeVarint matches kafkajs writeVarInt on vectors and random int32', () => {
      const check = (v: number): void => {
        const theirs = new KafkajsEncoderCtor().writeVarInt(v).buffer.toString('hex');
        expect(hexOf(writeVarint, v), `value ${v}`).to.equal(theirs);
      };
      VARINT_VECTORS.forEach(([v]) => check(v));
      fc.assert(fc.property(fc.integer({ min: INT32_MIN, max: INT32_MAX }), check), { numRuns: 300 });
    });

    it('writeVarlong matches kafkajs writeVarLong on vectors and random safe integers', () => {
      const check = (v: number): void => {
        const theirs = new KafkajsEncoderCtor().writeVarLong(v).buffer.toString('hex');
        expect(hexOf(writeVarlong, v), `value ${v}`).to.equal(theirs);
      };
      VARLONG_VECTORS.forEach(([v]) => check(v));
      fc.assert(fc.property(safeLong, check), { numRuns: 300 });
    });

    it('kafkajs reads back what we write', () => {
      fc.assert(
        fc.property(safeLong, fc.integer({ min: INT32_MIN, max: INT32_MAX }), (long, int) => {
          const buf = Buffer.alloc(15);
          const end = writeVarint(buf, writeVarlong(buf, 0, long), int);
          const d = new KafkajsDecoderCtor(buf.subarray(0, end));
          expect(d.readVarLong().toString()).to.equal(String(long));
          expect(d.readVarInt()).to.equal(int);
        }),
        { numRuns: 300 },
      );
    });
  });
});
