import { expect } from 'chai';
import fc from 'fast-check';
import { ProtocolError } from '../../../../packages/core/src/errors.js';
import { ByteReader } from '../../../../packages/core/src/protocol/primitives/byte-reader.js';
import { ByteWriter, ZERO_UUID } from '../../../../packages/core/src/protocol/primitives/byte-writer.js';
import { ascii, hex } from '../fixture-bytes.js';

function reader(...parts: string[]): ByteReader {
  return new ByteReader(hex(...parts), 'Test v1');
}

describe('ByteReader', () => {
  describe('fixed-width integers', () => {
    it('reads big-endian two\'s complement integers', () => {
      const r = reader('ff', '01', 'fffe', 'ffffffff', 'fedcba98', 'ffffffffffffffff', '001fffffffffffff', 'ffe0000000000001');
      expect(r.readInt8('a')).to.equal(-1);
      expect(r.readBoolean('b')).to.equal(true);
      expect(r.readInt16('c')).to.equal(-2);
      expect(r.readInt32('d')).to.equal(-1);
      expect(r.readUInt32('e')).to.equal(0xfedcba98);
      expect(r.readInt64('f')).to.equal(-1);
      expect(r.readInt64('g')).to.equal(Number.MAX_SAFE_INTEGER);
      expect(r.readInt64('h')).to.equal(Number.MIN_SAFE_INTEGER);
      expect(r.remaining).to.equal(0);
    });

    it('refuses an int64 outside the safe range', () => {
      const r = reader('0020000000000000');
      expect(() => r.readInt64('base_offset')).to.throw(ProtocolError, 'Test v1: int64 base_offset at offset 0 is outside the safe integer range');
    });

    it('names the field, the offset and the byte counts when input is truncated', () => {
      const r = new ByteReader(hex('00'.repeat(59)), 'ProduceResponse v9', 57);
      expect(() => r.readInt32('error_code')).to.throw(
        ProtocolError,
        'ProduceResponse v9: cannot read int32 error_code at offset 57: only 2 of 4 bytes left',
      );
      try {
        r.readInt64('base_offset');
      } catch (e) {
        expect(e).to.be.instanceOf(ProtocolError);
        expect((e as ProtocolError).code).to.equal('SLUICE_ERR_PROTOCOL');
        expect((e as ProtocolError).retriable).to.equal(false);
      }
    });
  });

  describe('varints', () => {
    it('reads unsigned varints', () => {
      const r = reader('00', '7f', '8001', 'ac02', 'ffffffff0f');
      expect([1, 2, 3, 4, 5].map(() => r.readUnsignedVarint('v'))).to.deep.equal([0, 127, 128, 300, 2 ** 32 - 1]);
    });

    it('refuses an unsigned varint longer than 5 bytes, above 2^32 - 1, or cut short', () => {
      expect(() => reader('ffffffffff01').readUnsignedVarint('tag')).to.throw(ProtocolError, 'longer than 5 bytes');
      expect(() => reader('ffffffff1f').readUnsignedVarint('tag')).to.throw(ProtocolError, 'above 4294967295');
      expect(() => reader('80').readUnsignedVarint('count')).to.throw(
        ProtocolError,
        'Test v1: cannot read unsigned varint count at offset 0: it runs past the end after 1 bytes',
      );
    });

    it('reads zigzag varints and varlongs', () => {
      const r = reader('01', '7f', '8001', '8080808010');
      expect(r.readVarint('a')).to.equal(-1);
      expect(r.readVarint('b')).to.equal(-64);
      expect(r.readVarlong('c')).to.equal(64);
      expect(r.readVarlong('d')).to.equal(2 ** 31);
      expect(() => reader('80').readVarint('delta')).to.throw(ProtocolError, 'cannot read varint delta at offset 0');
    });
  });

  describe('strings and bytes', () => {
    it('reads strings, nullable strings and their compact forms', () => {
      const r = reader('0005' + ascii('topic'), 'ffff', '0002c3a9', '06' + ascii('topic'), '00', '01');
      expect(r.readString('a')).to.equal('topic');
      expect(r.readNullableString('b')).to.equal(null);
      expect(r.readString('c')).to.equal('é');
      expect(r.readCompactString('d')).to.equal('topic');
      expect(r.readCompactNullableString('e')).to.equal(null);
      expect(r.readCompactString('f')).to.equal('');
    });

    it('refuses null where a field does not allow it, and negative lengths', () => {
      expect(() => reader('ffff').readString('host')).to.throw(ProtocolError, 'string host at offset 0 is null');
      expect(() => reader('00').readCompactString('host')).to.throw(ProtocolError, 'compact string host at offset 0 is null');
      expect(() => reader('fffe').readNullableString('host')).to.throw(ProtocolError, 'has length -2');
      expect(() => reader('0009' + ascii('abc')).readString('host')).to.throw(
        ProtocolError,
        'cannot read string host at offset 2: only 3 of 9 bytes left',
      );
    });

    it('returns bytes as views of the input, not copies', () => {
      const input = hex('00000003', '010203', '04', 'aabbcc', 'ffffffff', '00');
      const r = new ByteReader(input);
      const b = r.readBytes('records');
      expect([...b]).to.deep.equal([1, 2, 3]);
      expect(b.buffer).to.equal(input.buffer);
      expect(b.byteOffset).to.equal(input.byteOffset + 4);
      const c = r.readCompactBytes('auth_bytes');
      expect([...c]).to.deep.equal([0xaa, 0xbb, 0xcc]);
      expect(c.buffer).to.equal(input.buffer);
      expect(r.readNullableBytes('x')).to.equal(null);
      expect(r.readCompactNullableBytes('y')).to.equal(null);
    });
  });

  describe('arrays and uuids', () => {
    it('reads array lengths, null included', () => {
      const r = reader('00000001', 'ffffffff', '02', '00', 'ff');
      expect(r.readArrayLength('a')).to.equal(1);
      expect(r.readNullableArrayLength('b')).to.equal(null);
      expect(r.readCompactArrayLength('c')).to.equal(1);
      expect(r.readCompactNullableArrayLength('d')).to.equal(null);
    });

    it('refuses a count larger than the bytes left before allocating anything', () => {
      expect(() => reader('7fffffff', '0000').readArrayLength('topics')).to.throw(
        ProtocolError,
        'Test v1: array topics at offset 0 claims 2147483647 elements but only 2 bytes are left',
      );
      expect(() => reader('ffffffff').readArrayLength('topics')).to.throw(ProtocolError, 'array topics at offset 0 is null');
      expect(() => reader('fffffffe').readNullableArrayLength('topics')).to.throw(ProtocolError, 'has length -2');
    });

    it('reads a uuid as Kafka prints it', () => {
      expect(reader('00'.repeat(16)).readUuid('topic_id')).to.equal(ZERO_UUID);
      expect(reader('000102030405060708090a0b0c0d0e0f').readUuid('topic_id')).to.equal('AAECAwQFBgcICQoLDA0ODw');
    });
  });

  describe('tagged fields', () => {
    it('skips unknown tags of any size', () => {
      // count 3 | tag 0 size 2 aabb | tag 5 size 0 | tag 300 (ac 02) size 1 cc | then an int16
      const r = reader('03', '00', '02', 'aabb', '05', '00', 'ac02', '01', 'cc', '1234');
      r.skipTaggedFields();
      expect(r.readInt16('after')).to.equal(0x1234);
    });

    it('hands known tags to the handler and skips the others', () => {
      const r = reader('02', '00', '04', '0000002a', '01', '01', 'ff', '7f');
      const seen: number[] = [];
      let value = 0;
      r.readTaggedFields('tagged_fields', (tag, size) => {
        seen.push(tag);
        if (tag !== 0) return false;
        expect(size).to.equal(4);
        value = r.readInt32('current_leader');
        return true;
      });
      expect(seen).to.deep.equal([0, 1]);
      expect(value).to.equal(42);
      expect(r.readInt8('after')).to.equal(0x7f);
    });

    it('refuses a handler that reads more or less than the field holds', () => {
      const r = reader('01', '00', '04', '0000002a');
      expect(() =>
        r.readTaggedFields('tagged_fields', () => {
          r.readInt16('half');
          return true;
        }),
      ).to.throw(ProtocolError, 'tagged field 0 of tagged_fields at offset 3 has 4 bytes but 2 were read');
    });

    it('refuses a tagged field that runs past the end', () => {
      expect(() => reader('01', '00', '09', 'aa').skipTaggedFields()).to.throw(
        ProtocolError,
        'Test v1: cannot read tagged field 0 of tagged_fields at offset 3: only 1 of 9 bytes left',
      );
    });
  });

  describe('round trips with ByteWriter (property)', () => {
    type Op =
      | { kind: 'int8' | 'int16' | 'int32' | 'uint32' | 'int64' | 'uvarint' | 'varint' | 'varlong'; value: number }
      | { kind: 'bool'; value: boolean }
      | { kind: 'string' | 'compactString'; value: string }
      | { kind: 'nullableString' | 'compactNullableString'; value: string | null }
      | { kind: 'bytes' | 'compactBytes'; value: Uint8Array }
      | { kind: 'nullableBytes' | 'compactNullableBytes'; value: Uint8Array | null }
      | { kind: 'array' | 'compactArray'; value: number | null }
      | { kind: 'uuid'; value: Uint8Array }
      | { kind: 'tags'; value: { tag: number; data: Uint8Array }[] };

    const text = fc.string({ unit: 'grapheme', maxLength: 20 });
    const bytes = fc.uint8Array({ maxLength: 40 });
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.integer({ min: -128, max: 127 }).map((value) => ({ kind: 'int8' as const, value })),
      fc.integer({ min: -32768, max: 32767 }).map((value) => ({ kind: 'int16' as const, value })),
      fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }).map((value) => ({ kind: 'int32' as const, value })),
      fc.integer({ min: 0, max: 2 ** 32 - 1 }).map((value) => ({ kind: 'uint32' as const, value })),
      fc.maxSafeInteger().map((value) => ({ kind: 'int64' as const, value })),
      fc.integer({ min: 0, max: 2 ** 32 - 1 }).map((value) => ({ kind: 'uvarint' as const, value })),
      fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }).map((value) => ({ kind: 'varint' as const, value })),
      fc.maxSafeInteger().map((value) => ({ kind: 'varlong' as const, value })),
      fc.boolean().map((value) => ({ kind: 'bool' as const, value })),
      text.map((value) => ({ kind: 'string' as const, value })),
      text.map((value) => ({ kind: 'compactString' as const, value })),
      fc.option(text).map((value) => ({ kind: 'nullableString' as const, value })),
      fc.option(text).map((value) => ({ kind: 'compactNullableString' as const, value })),
      bytes.map((value) => ({ kind: 'bytes' as const, value })),
      bytes.map((value) => ({ kind: 'compactBytes' as const, value })),
      fc.option(bytes).map((value) => ({ kind: 'nullableBytes' as const, value })),
      fc.option(bytes).map((value) => ({ kind: 'compactNullableBytes' as const, value })),
      fc.option(fc.integer({ min: 0, max: 3 })).map((value) => ({ kind: 'array' as const, value })),
      fc.option(fc.integer({ min: 0, max: 3 })).map((value) => ({ kind: 'compactArray' as const, value })),
      fc.uint8Array({ minLength: 16, maxLength: 16 }).map((value) => ({ kind: 'uuid' as const, value })),
      fc
        .uniqueArray(fc.integer({ min: 0, max: 100000 }), { maxLength: 4 })
        .chain((tags) => fc.tuple(...tags.sort((a, b) => a - b).map((tag) => bytes.map((data) => ({ tag, data })))))
        .map((value) => ({ kind: 'tags' as const, value })),
    );

    function write(w: ByteWriter, o: Op): void {
      switch (o.kind) {
        case 'int8': return w.writeInt8(o.value);
        case 'int16': return w.writeInt16(o.value);
        case 'int32': return w.writeInt32(o.value);
        case 'uint32': return w.writeUInt32(o.value);
        case 'int64': return w.writeInt64(o.value);
        case 'uvarint': return w.writeUnsignedVarint(o.value);
        case 'varint': return w.writeVarint(o.value);
        case 'varlong': return w.writeVarlong(o.value);
        case 'bool': return w.writeBoolean(o.value);
        case 'string': return w.writeString(o.value);
        case 'compactString': return w.writeCompactString(o.value);
        case 'nullableString': return w.writeNullableString(o.value);
        case 'compactNullableString': return w.writeCompactNullableString(o.value);
        case 'bytes': return w.writeBytes(o.value);
        case 'compactBytes': return w.writeCompactBytes(o.value);
        case 'nullableBytes': return w.writeNullableBytes(o.value);
        case 'compactNullableBytes': return w.writeCompactNullableBytes(o.value);
        case 'array': {
          w.writeArrayLength(o.value);
          // Each element at least one byte, as the reader's count check assumes.
          for (let i = 0; i < (o.value ?? 0); i++) w.writeInt8(i);
          return;
        }
        case 'compactArray': {
          w.writeCompactArrayLength(o.value);
          for (let i = 0; i < (o.value ?? 0); i++) w.writeInt8(i);
          return;
        }
        case 'uuid': return w.writeUuid(Buffer.from(o.value).toString('base64url'));
        case 'tags': return w.writeTaggedFields(o.value);
      }
    }

    function readBack(r: ByteReader, o: Op): unknown {
      switch (o.kind) {
        case 'int8': return r.readInt8('v');
        case 'int16': return r.readInt16('v');
        case 'int32': return r.readInt32('v');
        case 'uint32': return r.readUInt32('v');
        case 'int64': return r.readInt64('v');
        case 'uvarint': return r.readUnsignedVarint('v');
        case 'varint': return r.readVarint('v');
        case 'varlong': return r.readVarlong('v');
        case 'bool': return r.readBoolean('v');
        case 'string': return r.readString('v');
        case 'compactString': return r.readCompactString('v');
        case 'nullableString': return r.readNullableString('v');
        case 'compactNullableString': return r.readCompactNullableString('v');
        case 'bytes': return r.readBytes('v');
        case 'compactBytes': return r.readCompactBytes('v');
        case 'nullableBytes': return r.readNullableBytes('v');
        case 'compactNullableBytes': return r.readCompactNullableBytes('v');
        case 'array': {
          const n = r.readNullableArrayLength('v');
          for (let i = 0; i < (n ?? 0); i++) r.readInt8('e');
          return n;
        }
        case 'compactArray': {
          const n = r.readCompactNullableArrayLength('v');
          for (let i = 0; i < (n ?? 0); i++) r.readInt8('e');
          return n;
        }
        case 'uuid': return Buffer.from(r.readUuid('v'), 'base64url');
        case 'tags': {
          const out: { tag: number; data: Uint8Array }[] = [];
          r.readTaggedFields('v', (tag, size) => {
            out.push({ tag, data: r.readRaw(size, 'data') });
            return true;
          });
          return out;
        }
      }
    }

    function normalize(v: unknown): unknown {
      if (v instanceof Uint8Array) return [...v];
      if (Array.isArray(v)) return v.map((x: { tag: number; data: Uint8Array }) => ({ tag: x.tag, data: [...x.data] }));
      return v;
    }

    it('reads back every sequence of primitives it wrote, consuming exactly the bytes written', () => {
      fc.assert(
        fc.property(fc.array(op, { maxLength: 30 }), fc.integer({ min: 1, max: 64 }), (ops, initialCapacity) => {
          const w = new ByteWriter(initialCapacity);
          for (const o of ops) write(w, o);
          const r = new ByteReader(w.finish(), 'round trip');
          for (const o of ops) expect(normalize(readBack(r, o))).to.deep.equal(normalize(o.value));
          expect(r.remaining).to.equal(0);
        }),
        { numRuns: 500 },
      );
    });

    it('throws ProtocolError (never anything else) on every truncation of what it wrote', () => {
      fc.assert(
        fc.property(fc.array(op, { minLength: 1, maxLength: 10 }), fc.nat(), (ops, cutSeed) => {
          const w = new ByteWriter();
          for (const o of ops) write(w, o);
          const all = w.finish();
          if (all.byteLength === 0) return;
          const cut = cutSeed % all.byteLength;
          const r = new ByteReader(all.subarray(0, cut), 'truncated');
          try {
            for (const o of ops) readBack(r, o);
            expect.fail('reading a truncated sequence must throw');
          } catch (e) {
            if (!(e instanceof ProtocolError)) throw e;
          }
        }),
        { numRuns: 500 },
      );
    });
  });
});
