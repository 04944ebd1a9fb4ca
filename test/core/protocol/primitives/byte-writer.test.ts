import { expect } from 'chai';
import { ProtocolError } from '../../../../packages/core/src/errors.js';
import {
  ByteWriter,
  ZERO_UUID,
  sizeOfCompactString,
  sizeOfString,
  sizeOfUnsignedVarint,
} from '../../../../packages/core/src/protocol/primitives/byte-writer.js';
import { ascii, toHex } from '../fixture-bytes.js';

function written(write: (w: ByteWriter) => void, initialCapacityBytes?: number): string {
  const w = new ByteWriter(initialCapacityBytes);
  write(w);
  return toHex(w.finish());
}

describe('ByteWriter', () => {
  describe('fixed-width integers', () => {
    it('writes int8, int16, int32 and uint32 big-endian, two\'s complement', () => {
      expect(written((w) => w.writeInt8(-1))).to.equal('ff');
      expect(written((w) => w.writeInt8(127))).to.equal('7f');
      expect(written((w) => w.writeBoolean(true))).to.equal('01');
      expect(written((w) => w.writeBoolean(false))).to.equal('00');
      expect(written((w) => w.writeInt16(-2))).to.equal('fffe');
      expect(written((w) => w.writeInt16(0x1234))).to.equal('1234');
      expect(written((w) => w.writeInt32(-1))).to.equal('ffffffff');
      expect(written((w) => w.writeInt32(0x01020304))).to.equal('01020304');
      expect(written((w) => w.writeUInt32(0xfedcba98))).to.equal('fedcba98');
    });

    it('writes int64 from safe integers, both words exact', () => {
      expect(written((w) => w.writeInt64(0))).to.equal('0000000000000000');
      expect(written((w) => w.writeInt64(-1))).to.equal('ffffffffffffffff');
      expect(written((w) => w.writeInt64(2 ** 32))).to.equal('0000000100000000');
      expect(written((w) => w.writeInt64(2 ** 32 - 1))).to.equal('00000000ffffffff');
      expect(written((w) => w.writeInt64(-(2 ** 32)))).to.equal('ffffffff00000000');
      expect(written((w) => w.writeInt64(Number.MAX_SAFE_INTEGER))).to.equal('001fffffffffffff');
      expect(written((w) => w.writeInt64(Number.MIN_SAFE_INTEGER))).to.equal('ffe0000000000001');
      // A timestamp in ms: 2024-01-01T00:00:00Z = 1704067200000 = 0x18cc251f400.
      expect(written((w) => w.writeInt64(1704067200000))).to.equal('0000018cc251f400');
    });

    it('refuses an int64 that is not a safe integer', () => {
      const w = new ByteWriter();
      expect(() => w.writeInt64(2 ** 53)).to.throw(ProtocolError, 'cannot write int64 9007199254740992');
      expect(() => w.writeInt64(1.5)).to.throw(ProtocolError, 'not a safe integer');
    });
  });

  describe('varints', () => {
    it('writes Kafka unsigned varints (LEB128, up to 5 bytes)', () => {
      expect(written((w) => w.writeUnsignedVarint(0))).to.equal('00');
      expect(written((w) => w.writeUnsignedVarint(1))).to.equal('01');
      expect(written((w) => w.writeUnsignedVarint(127))).to.equal('7f');
      expect(written((w) => w.writeUnsignedVarint(128))).to.equal('8001');
      expect(written((w) => w.writeUnsignedVarint(300))).to.equal('ac02');
      expect(written((w) => w.writeUnsignedVarint(16384))).to.equal('808001');
      expect(written((w) => w.writeUnsignedVarint(2 ** 31))).to.equal('8080808008');
      expect(written((w) => w.writeUnsignedVarint(2 ** 32 - 1))).to.equal('ffffffff0f');
    });

    it('sizes unsigned varints as it writes them', () => {
      for (const v of [0, 127, 128, 16383, 16384, 2 ** 21 - 1, 2 ** 21, 2 ** 28 - 1, 2 ** 28, 2 ** 32 - 1]) {
        expect(sizeOfUnsignedVarint(v), String(v)).to.equal(written((w) => w.writeUnsignedVarint(v)).length / 2);
      }
    });

    it('refuses unsigned varints outside 0 … 2^32 - 1', () => {
      const w = new ByteWriter();
      expect(() => w.writeUnsignedVarint(-1)).to.throw(ProtocolError, 'cannot write unsigned varint -1');
      expect(() => w.writeUnsignedVarint(2 ** 32)).to.throw(ProtocolError);
    });

    it('writes zigzag varints and varlongs as the record format does', () => {
      expect(written((w) => w.writeVarint(0))).to.equal('00');
      expect(written((w) => w.writeVarint(-1))).to.equal('01');
      expect(written((w) => w.writeVarint(1))).to.equal('02');
      expect(written((w) => w.writeVarint(-64))).to.equal('7f');
      expect(written((w) => w.writeVarint(64))).to.equal('8001');
      expect(written((w) => w.writeVarlong(2 ** 31))).to.equal('8080808010');
    });
  });

  describe('strings and bytes', () => {
    it('writes strings with an int16 length and null as -1', () => {
      expect(written((w) => w.writeString('topic'))).to.equal('0005' + ascii('topic'));
      expect(written((w) => w.writeString(''))).to.equal('0000');
      expect(written((w) => w.writeNullableString(null))).to.equal('ffff');
      expect(written((w) => w.writeNullableString('a'))).to.equal('0001' + '61');
      // "é" is two UTF-8 bytes: c3 a9; the length counts bytes, not characters.
      expect(written((w) => w.writeString('é'))).to.equal('0002c3a9');
    });

    it('writes compact strings with uvarint (length + 1) and null as 0', () => {
      expect(written((w) => w.writeCompactString('topic'))).to.equal('06' + ascii('topic'));
      expect(written((w) => w.writeCompactString(''))).to.equal('01');
      expect(written((w) => w.writeCompactNullableString(null))).to.equal('00');
      expect(written((w) => w.writeCompactNullableString('é'))).to.equal('03c3a9');
      // 127 bytes: length + 1 = 128 needs two varint bytes.
      const s = 'x'.repeat(127);
      expect(written((w) => w.writeCompactString(s))).to.equal('8001' + ascii(s));
      expect(sizeOfCompactString(s)).to.equal(129);
      expect(sizeOfCompactString(null)).to.equal(1);
      expect(sizeOfString(null)).to.equal(2);
      expect(sizeOfString('é')).to.equal(4);
    });

    it('refuses a string longer than an int16 length allows', () => {
      expect(() => new ByteWriter().writeString('x'.repeat(32768))).to.throw(ProtocolError, '32768 bytes');
    });

    it('writes bytes with an int32 length, compact bytes with uvarint (length + 1)', () => {
      const b = new Uint8Array([1, 2, 3]);
      expect(written((w) => w.writeBytes(b))).to.equal('00000003' + '010203');
      expect(written((w) => w.writeNullableBytes(null))).to.equal('ffffffff');
      expect(written((w) => w.writeCompactBytes(b))).to.equal('04' + '010203');
      expect(written((w) => w.writeCompactNullableBytes(null))).to.equal('00');
      expect(written((w) => w.writeCompactBytes(new Uint8Array(0)))).to.equal('01');
      expect(written((w) => w.writeRaw(b))).to.equal('010203');
    });
  });

  describe('arrays, uuids, tagged fields', () => {
    it('writes array lengths: int32 (null -1) and compact (count + 1, null 0)', () => {
      expect(written((w) => w.writeArrayLength(2))).to.equal('00000002');
      expect(written((w) => w.writeArrayLength(null))).to.equal('ffffffff');
      expect(written((w) => w.writeCompactArrayLength(2))).to.equal('03');
      expect(written((w) => w.writeCompactArrayLength(0))).to.equal('01');
      expect(written((w) => w.writeCompactArrayLength(null))).to.equal('00');
    });

    it('writes a uuid given as Kafka prints it', () => {
      expect(written((w) => w.writeUuid(ZERO_UUID))).to.equal('00'.repeat(16));
      // 00 01 02 … 0f in URL-safe base64 without padding.
      expect(written((w) => w.writeUuid('AAECAwQFBgcICQoLDA0ODw'))).to.equal('000102030405060708090a0b0c0d0e0f');
      expect(() => new ByteWriter().writeUuid('short')).to.throw(ProtocolError, 'cannot write uuid "short"');
    });

    it('writes tagged-field sections: count, then tag, size and data per field', () => {
      expect(written((w) => w.writeEmptyTaggedFields())).to.equal('00');
      const fields = [
        { tag: 0, data: new Uint8Array([0xaa, 0xbb]) },
        { tag: 200, data: new Uint8Array([0xcc]) },
      ];
      // count 2 | tag 0, size 2, aa bb | tag 200 = c8 01, size 1, cc
      expect(written((w) => w.writeTaggedFields(fields))).to.equal('02' + '00' + '02' + 'aabb' + 'c801' + '01' + 'cc');
    });

    it('refuses tags that do not increase', () => {
      const data = new Uint8Array(0);
      expect(() =>
        new ByteWriter().writeTaggedFields([
          { tag: 1, data },
          { tag: 1, data },
        ]),
      ).to.throw(ProtocolError, 'tags must increase');
    });
  });

  describe('buffer management', () => {
    it('grows past its initial capacity, keeping what was written', () => {
      const w = new ByteWriter(2);
      w.writeInt32(0x01020304);
      w.writeString('abcdefghij');
      expect(toHex(w.finish())).to.equal('01020304' + '000a' + ascii('abcdefghij'));
      expect(w.capacityBytes).to.be.at.least(16);
    });

    it('reuses its buffer after reset(); finish() returns a view, not a copy', () => {
      const w = new ByteWriter(64);
      w.writeInt32(7);
      const first = w.finish();
      w.reset();
      w.writeInt32(8);
      const second = w.finish();
      expect(second.buffer).to.equal(first.buffer);
      expect(toHex(first)).to.equal('00000008');
      expect(w.length).to.equal(4);
    });

    it('patches a reserved int32 and refuses offsets outside what was written', () => {
      const w = new ByteWriter();
      w.writeInt32(0);
      w.writeInt16(5);
      w.patchInt32(0, 2);
      expect(toHex(w.finish())).to.equal('00000002' + '0005');
      expect(() => w.patchInt32(3, 1)).to.throw(ProtocolError, 'cannot patch int32 at offset 3');
    });
  });
});
