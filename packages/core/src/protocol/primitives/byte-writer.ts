/**
 * `ByteWriter`: the encoder for the primitive types of the Kafka protocol, big-endian, into one
 * growable buffer that is kept across `reset()`s.
 *
 * Types (Kafka's protocol guide, "Protocol Primitive Types", and `common/protocol/types/Type`):
 *
 * | type                    | bytes on the wire                                                 |
 * |-------------------------|-------------------------------------------------------------------|
 * | int8/16/32, uint32      | fixed width, two's complement, big-endian                         |
 * | int64                   | 8 bytes; written from a JS number, which must be a safe integer   |
 * | unsigned varint         | LEB128, 7 bits per byte, low group first, at most 5 bytes (uint32) |
 * | varint / varlong        | zigzag then LEB128 (`format/varint.ts`, the record format's)       |
 * | string                  | int16 byte length, UTF-8 bytes; nullable: length -1 = null        |
 * | compact string          | unsigned varint (length + 1), UTF-8; compact nullable: 0 = null   |
 * | bytes / compact bytes   | as the strings, with an int32 length / uvarint (length + 1)       |
 * | array length            | int32 count, -1 = null; compact: uvarint (count + 1), 0 = null    |
 * | uuid                    | 16 bytes (Kafka's `Uuid`: two longs, most significant first)      |
 * | tagged fields           | uvarint count, then per field: uvarint tag, uvarint size, data    |
 *
 * Flexible versions (KIP-482) use the compact forms and end every struct with a tagged-field
 * section; tags must be written in strictly increasing order.
 *
 * Key insight: requests are small except for their record batches, which never pass through
 * here (the produce encoder hands the caller's record views to the socket beside the framing
 * this writer produces). So one buffer that doubles when full and is reused after `reset()` is
 * enough; `finish()` returns a view, not a copy. A view is valid until the next write after
 * `reset()`: a caller that keeps the bytes (or hands them to a socket that writes later) must
 * not reuse the writer until the bytes are gone — or gives each request its own writer, as the
 * message encoders do.
 *
 * UUIDs are handled as Kafka prints them (`Uuid.toString()`): 22 characters of URL-safe base64
 * without padding, so that they compare with `===` and read well in logs.
 */
import { sizeOfVarint, sizeOfVarlong, writeVarint, writeVarlong } from '../../format/varint.js';
import { ProtocolError } from '../../errors.js';

/** Bytes of a fixed-width field. */
export const INT8_BYTES = 1;
/** Bytes of an int16. */
export const INT16_BYTES = 2;
/** Bytes of an int32 / uint32. */
export const INT32_BYTES = 4;
/** Bytes of an int64. */
export const INT64_BYTES = 8;
/** Bytes of a UUID. */
export const UUID_BYTES = 16;
/** Longest unsigned varint of a uint32: ceil(32 / 7). */
export const MAX_UNSIGNED_VARINT_BYTES = 5;
/** Largest value an unsigned varint holds (Kafka reads it into an int; lengths stay below 2^31). */
export const MAX_UNSIGNED_VARINT = 0xffffffff;
/** Largest int16 string length. */
export const MAX_INT16 = 0x7fff;
/** Kafka's `Uuid.ZERO_UUID` as Kafka prints it: 16 zero bytes in URL-safe base64. */
export const ZERO_UUID = 'AAAAAAAAAAAAAAAAAAAAAA';
/** The length written for a null string, bytes or array (non-compact forms). */
export const NULL_LENGTH = -1;

const DEFAULT_INITIAL_CAPACITY_BYTES = 256;
const TWO_POW_32 = 0x1_0000_0000;
const UUID_TEXT_LENGTH = 22;

/** One tagged field, already encoded: `data` is the field's bytes without tag and size. */
export interface TaggedField {
  /** The field's tag (unsigned varint); tags of one section are strictly increasing. */
  readonly tag: number;
  /** The field's encoded value. */
  readonly data: Uint8Array;
}

/** Bytes of the unsigned varint of `value` (0 ≤ value ≤ 2^32 - 1). */
export function sizeOfUnsignedVarint(value: number): number {
  let bytes = 1;
  let v = value;
  while (v >= 0x80) {
    v = Math.floor(v / 0x80);
    bytes++;
  }
  return bytes;
}

/** UTF-8 byte length of `s`. */
export function utf8Length(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** Bytes of a non-compact string field: int16 length + UTF-8 (null: just the length). */
export function sizeOfString(s: string | null): number {
  return INT16_BYTES + (s === null ? 0 : utf8Length(s));
}

/** Bytes of a compact string field: uvarint (length + 1) + UTF-8 (null: one byte). */
export function sizeOfCompactString(s: string | null): number {
  if (s === null) return 1;
  const n = utf8Length(s);
  return sizeOfUnsignedVarint(n + 1) + n;
}

/**
 * A growable big-endian writer for Kafka protocol primitives. Every `write…` appends at the
 * current position; `finish()` returns the bytes written since the last `reset()`.
 */
export class ByteWriter {
  #buf: Buffer;
  #view: DataView;
  #pos = 0;

  /** @param initialCapacityBytes - first buffer size; the buffer doubles when a write needs more */
  constructor(initialCapacityBytes = DEFAULT_INITIAL_CAPACITY_BYTES) {
    // allocUnsafeSlow: an ArrayBuffer of our own, not a slice of Node's shared 8 KiB pool.
    this.#buf = Buffer.allocUnsafeSlow(Math.max(1, initialCapacityBytes));
    this.#view = new DataView(this.#buf.buffer, this.#buf.byteOffset, this.#buf.byteLength);
  }

  /** Bytes written since the last `reset()`. */
  get length(): number {
    return this.#pos;
  }

  /** Current capacity of the underlying buffer. */
  get capacityBytes(): number {
    return this.#buf.byteLength;
  }

  /** Starts over at position 0, keeping the buffer. Views returned earlier will be overwritten. */
  reset(): void {
    this.#pos = 0;
  }

  /**
   * The bytes written since the last `reset()`, as a view of the writer's buffer (no copy).
   * @returns a view valid until the writer is written to after a `reset()`
   */
  finish(): Uint8Array {
    return this.#buf.subarray(0, this.#pos);
  }

  /**
   * Overwrites an int32 already written at `offset` (e.g. a size prefix reserved before the
   * bytes it counts were written).
   * @throws ProtocolError when `offset` does not lie inside what was written
   */
  patchInt32(offset: number, value: number): void {
    if (offset < 0 || offset + INT32_BYTES > this.#pos) {
      throw new ProtocolError(`cannot patch int32 at offset ${offset}: only ${this.#pos} bytes written`);
    }
    this.#view.setInt32(offset, value);
  }

  /** Writes a signed 8-bit integer. */
  writeInt8(value: number): void {
    this.#ensure(INT8_BYTES);
    this.#view.setInt8(this.#pos, value);
    this.#pos += INT8_BYTES;
  }

  /** Writes a boolean as one byte, 1 or 0. */
  writeBoolean(value: boolean): void {
    this.writeInt8(value ? 1 : 0);
  }

  /** Writes a signed 16-bit integer, big-endian. */
  writeInt16(value: number): void {
    this.#ensure(INT16_BYTES);
    this.#view.setInt16(this.#pos, value);
    this.#pos += INT16_BYTES;
  }

  /** Writes a signed 32-bit integer, big-endian. */
  writeInt32(value: number): void {
    this.#ensure(INT32_BYTES);
    this.#view.setInt32(this.#pos, value);
    this.#pos += INT32_BYTES;
  }

  /** Writes an unsigned 32-bit integer, big-endian. */
  writeUInt32(value: number): void {
    this.#ensure(INT32_BYTES);
    this.#view.setUint32(this.#pos, value);
    this.#pos += INT32_BYTES;
  }

  /**
   * Writes a signed 64-bit integer, big-endian, from a safe integer (no BigInt on the path:
   * the high word is `floor(value / 2^32)`, the low word the non-negative remainder).
   * @throws ProtocolError when `value` is not a safe integer
   */
  writeInt64(value: number): void {
    if (!Number.isSafeInteger(value)) {
      throw new ProtocolError(`cannot write int64 ${value}: not a safe integer (|value| must be below 2^53)`);
    }
    this.#ensure(INT64_BYTES);
    const high = Math.floor(value / TWO_POW_32);
    const low = value - high * TWO_POW_32;
    this.#view.setInt32(this.#pos, high);
    this.#view.setUint32(this.#pos + INT32_BYTES, low);
    this.#pos += INT64_BYTES;
  }

  /**
   * Writes Kafka's UNSIGNED_VARINT (`ByteUtils.writeUnsignedVarint`): used for compact lengths,
   * tagged-field counts, tags and sizes.
   * @throws ProtocolError when `value` is not an integer in 0 … 2^32 - 1
   */
  writeUnsignedVarint(value: number): void {
    if (!Number.isInteger(value) || value < 0 || value > MAX_UNSIGNED_VARINT) {
      throw new ProtocolError(`cannot write unsigned varint ${value}: must be an integer in 0..${MAX_UNSIGNED_VARINT}`);
    }
    this.#ensure(sizeOfUnsignedVarint(value));
    const buf = this.#buf;
    let pos = this.#pos;
    let v = value;
    // Arithmetic, not `>>>`, above 2^31 so the whole uint32 range is exact.
    while (v >= 0x80) {
      buf[pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    buf[pos++] = v;
    this.#pos = pos;
  }

  /** Writes a zigzag varint (32-bit signed), as in the record format. */
  writeVarint(value: number): void {
    this.#ensure(sizeOfVarint(value));
    this.#pos = writeVarint(this.#buf, this.#pos, value);
  }

  /** Writes a zigzag varlong from a safe integer, as in the record format. */
  writeVarlong(value: number): void {
    this.#ensure(sizeOfVarlong(value));
    this.#pos = writeVarlong(this.#buf, this.#pos, value);
  }

  /**
   * Writes a non-null string: int16 byte length, then UTF-8.
   * @throws ProtocolError when the UTF-8 form is longer than 32767 bytes
   */
  writeString(value: string): void {
    const n = utf8Length(value);
    if (n > MAX_INT16) throw new ProtocolError(`cannot write string of ${n} bytes: the int16 length allows ${MAX_INT16}`);
    this.writeInt16(n);
    this.#writeUtf8(value, n);
  }

  /** Writes a nullable string: length -1 for null, else as {@link ByteWriter.writeString}. */
  writeNullableString(value: string | null): void {
    if (value === null) this.writeInt16(NULL_LENGTH);
    else this.writeString(value);
  }

  /** Writes a non-null compact string: uvarint (byte length + 1), then UTF-8. */
  writeCompactString(value: string): void {
    const n = utf8Length(value);
    this.writeUnsignedVarint(n + 1);
    this.#writeUtf8(value, n);
  }

  /** Writes a compact nullable string: 0 for null, else as {@link ByteWriter.writeCompactString}. */
  writeCompactNullableString(value: string | null): void {
    if (value === null) this.writeUnsignedVarint(0);
    else this.writeCompactString(value);
  }

  /** Writes non-null bytes: int32 length, then the bytes (copied). */
  writeBytes(value: Uint8Array): void {
    this.writeInt32(value.byteLength);
    this.writeRaw(value);
  }

  /** Writes nullable bytes: length -1 for null, else as {@link ByteWriter.writeBytes}. */
  writeNullableBytes(value: Uint8Array | null): void {
    if (value === null) this.writeInt32(NULL_LENGTH);
    else this.writeBytes(value);
  }

  /** Writes non-null compact bytes: uvarint (length + 1), then the bytes (copied). */
  writeCompactBytes(value: Uint8Array): void {
    this.writeUnsignedVarint(value.byteLength + 1);
    this.writeRaw(value);
  }

  /** Writes compact nullable bytes: 0 for null, else as {@link ByteWriter.writeCompactBytes}. */
  writeCompactNullableBytes(value: Uint8Array | null): void {
    if (value === null) this.writeUnsignedVarint(0);
    else this.writeCompactBytes(value);
  }

  /** Copies `bytes` as they are, with no length. */
  writeRaw(bytes: Uint8Array): void {
    this.#ensure(bytes.byteLength);
    this.#buf.set(bytes, this.#pos);
    this.#pos += bytes.byteLength;
  }

  /** Writes an array's element count as int32; null → -1. */
  writeArrayLength(count: number | null): void {
    this.writeInt32(count === null ? NULL_LENGTH : count);
  }

  /** Writes a compact array's element count as uvarint (count + 1); null → 0. */
  writeCompactArrayLength(count: number | null): void {
    this.writeUnsignedVarint(count === null ? 0 : count + 1);
  }

  /**
   * Writes a UUID given as Kafka prints it (22 characters of URL-safe base64, no padding).
   * @throws ProtocolError when `uuid` does not decode to exactly 16 bytes
   */
  writeUuid(uuid: string): void {
    const bytes = Buffer.from(uuid, 'base64url');
    if (uuid.length !== UUID_TEXT_LENGTH || bytes.byteLength !== UUID_BYTES) {
      throw new ProtocolError(`cannot write uuid "${uuid}": expected ${UUID_TEXT_LENGTH} base64url characters (16 bytes)`);
    }
    this.writeRaw(bytes);
  }

  /** Writes an empty tagged-field section (one zero byte): the end of every flexible struct. */
  writeEmptyTaggedFields(): void {
    this.writeUnsignedVarint(0);
  }

  /**
   * Writes a tagged-field section: count, then per field tag, size and data.
   * @throws ProtocolError when the tags are not strictly increasing (Kafka rejects that)
   */
  writeTaggedFields(fields: readonly TaggedField[]): void {
    this.writeUnsignedVarint(fields.length);
    let previous = -1;
    for (const field of fields) {
      if (field.tag <= previous) {
        throw new ProtocolError(`cannot write tagged field ${field.tag} after tag ${previous}: tags must increase`);
      }
      previous = field.tag;
      this.writeUnsignedVarint(field.tag);
      this.writeUnsignedVarint(field.data.byteLength);
      this.writeRaw(field.data);
    }
  }

  #writeUtf8(value: string, byteLength: number): void {
    this.#ensure(byteLength);
    this.#buf.write(value, this.#pos, byteLength, 'utf8');
    this.#pos += byteLength;
  }

  #ensure(bytes: number): void {
    const needed = this.#pos + bytes;
    if (needed <= this.#buf.byteLength) return;
    let capacity = this.#buf.byteLength * 2;
    while (capacity < needed) capacity *= 2;
    const next = Buffer.allocUnsafeSlow(capacity);
    next.set(this.#buf.subarray(0, this.#pos));
    this.#buf = next;
    this.#view = new DataView(next.buffer, next.byteOffset, next.byteLength);
  }
}
