/**
 * `ByteReader`: the decoder for the Kafka protocol primitives, the inverse of every
 * {@link ByteWriter} operation (see the type table there), over one `Uint8Array` without copying:
 * `bytes` fields come back as `subarray` views of the input, which therefore must stay untouched
 * while they are in use.
 *
 * Every read names the field it reads. Truncated or malformed input throws a
 * {@link ProtocolError} whose message says what was being decoded (the reader's `context`, e.g.
 * `ProduceResponse v9`), the field, the offset and the byte counts:
 * "ProduceResponse v9: cannot read int32 error_code at offset 57: only 2 of 4 bytes left".
 * Lengths and element counts are checked against the bytes left before anything is allocated,
 * as Kafka's generated readers do ("tried to allocate a collection of size …"), so a corrupt
 * count cannot make the decoder allocate gigabytes.
 *
 * Unknown tagged fields are skipped, never an error: tags are how newer brokers add fields to
 * a version a client already speaks (KIP-482).
 */
import { ProtocolError } from '../../errors.js';
import { readVarint, readVarlong } from '../../format/varint.js';
import type { VarintRead } from '../../format/varint.js';
import {
  INT16_BYTES,
  INT32_BYTES,
  INT64_BYTES,
  INT8_BYTES,
  MAX_UNSIGNED_VARINT,
  MAX_UNSIGNED_VARINT_BYTES,
  NULL_LENGTH,
  UUID_BYTES,
} from './byte-writer.js';

const TWO_POW_32 = 0x1_0000_0000;

/**
 * Called for each tagged field of a section read with {@link ByteReader.readTaggedFields}.
 * @param tag - the field's tag
 * @param sizeBytes - the size of the field's data, which starts at the reader's position
 * @returns true when the callback read the field (it must consume exactly `sizeBytes`), false
 *   to have the reader skip it
 */
export type TaggedFieldHandler = (tag: number, sizeBytes: number) => boolean;

/** A cursor over one Kafka message (or any protocol bytes), reading big-endian primitives. */
export class ByteReader {
  readonly #bytes: Uint8Array;
  readonly #buf: Buffer;
  readonly #view: DataView;
  readonly #context: string;
  readonly #varint: VarintRead = { value: 0, pos: 0 };
  #pos: number;

  /**
   * @param bytes - what to read; never copied
   * @param context - what the bytes are, for error messages, e.g. `MetadataResponse v12`
   * @param offset - where to start
   */
  constructor(bytes: Uint8Array, context = '', offset = 0) {
    this.#bytes = bytes;
    this.#buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#context = context;
    this.#pos = offset;
  }

  /** Offset of the next byte to read. */
  get position(): number {
    return this.#pos;
  }

  /** Bytes not read yet. */
  get remaining(): number {
    return this.#bytes.byteLength - this.#pos;
  }

  /** What the bytes are, as given to the constructor. */
  get context(): string {
    return this.#context;
  }

  /** Reads a signed 8-bit integer. @throws ProtocolError when no byte is left */
  readInt8(field: string): number {
    this.#need(INT8_BYTES, 'int8', field);
    const v = this.#view.getInt8(this.#pos);
    this.#pos += INT8_BYTES;
    return v;
  }

  /** Reads a boolean byte (any non-zero value is true, as in Kafka). @throws ProtocolError when no byte is left */
  readBoolean(field: string): boolean {
    this.#need(INT8_BYTES, 'boolean', field);
    return this.#bytes[this.#pos++] !== 0;
  }

  /** Reads a big-endian signed 16-bit integer. @throws ProtocolError when truncated */
  readInt16(field: string): number {
    this.#need(INT16_BYTES, 'int16', field);
    const v = this.#view.getInt16(this.#pos);
    this.#pos += INT16_BYTES;
    return v;
  }

  /** Reads a big-endian signed 32-bit integer. @throws ProtocolError when truncated */
  readInt32(field: string): number {
    this.#need(INT32_BYTES, 'int32', field);
    const v = this.#view.getInt32(this.#pos);
    this.#pos += INT32_BYTES;
    return v;
  }

  /** Reads a big-endian unsigned 32-bit integer. @throws ProtocolError when truncated */
  readUInt32(field: string): number {
    this.#need(INT32_BYTES, 'uint32', field);
    const v = this.#view.getUint32(this.#pos);
    this.#pos += INT32_BYTES;
    return v;
  }

  /**
   * Reads a big-endian signed 64-bit integer into a number.
   * @throws ProtocolError when truncated or when the value is outside ±(2^53 - 1)
   */
  readInt64(field: string): number {
    this.#need(INT64_BYTES, 'int64', field);
    const at = this.#pos;
    const high = this.#view.getInt32(at);
    const low = this.#view.getUint32(at + INT32_BYTES);
    const value = high * TWO_POW_32 + low;
    if (!Number.isSafeInteger(value)) {
      throw this.#error(`int64 ${field} at offset ${at} is outside the safe integer range (high word ${high}, low word ${low})`);
    }
    this.#pos += INT64_BYTES;
    return value;
  }

  /**
   * Reads Kafka's UNSIGNED_VARINT (at most 5 bytes, value at most 2^32 - 1).
   * @throws ProtocolError when truncated, longer than 5 bytes or above 2^32 - 1
   */
  readUnsignedVarint(field: string): number {
    const start = this.#pos;
    const end = this.#bytes.byteLength;
    let value = 0;
    let multiplier = 1;
    for (let i = 0; ; i++) {
      if (i === MAX_UNSIGNED_VARINT_BYTES) {
        throw this.#error(`unsigned varint ${field} at offset ${start} is longer than ${MAX_UNSIGNED_VARINT_BYTES} bytes`);
      }
      if (start + i >= end) {
        throw this.#error(`cannot read unsigned varint ${field} at offset ${start}: it runs past the end after ${i} bytes`);
      }
      const b = this.#bytes[start + i];
      value += (b & 0x7f) * multiplier;
      multiplier *= 0x80;
      if (b < 0x80) {
        this.#pos = start + i + 1;
        break;
      }
    }
    if (value > MAX_UNSIGNED_VARINT) {
      throw this.#error(`unsigned varint ${field} at offset ${start} is ${value}, above ${MAX_UNSIGNED_VARINT}`);
    }
    return value;
  }

  /** Reads a zigzag varint (32-bit). @throws ProtocolError when truncated or too long */
  readVarint(field: string): number {
    const start = this.#pos;
    try {
      readVarint(this.#bytes, start, this.#bytes.byteLength, this.#varint);
    } catch (e) {
      throw this.#error(`cannot read varint ${field} at offset ${start}: ${(e as Error).message}`);
    }
    this.#pos = this.#varint.pos;
    return this.#varint.value;
  }

  /** Reads a zigzag varlong into a number. @throws ProtocolError when truncated or too long */
  readVarlong(field: string): number {
    const start = this.#pos;
    try {
      readVarlong(this.#bytes, start, this.#bytes.byteLength, this.#varint);
    } catch (e) {
      throw this.#error(`cannot read varlong ${field} at offset ${start}: ${(e as Error).message}`);
    }
    this.#pos = this.#varint.pos;
    return this.#varint.value;
  }

  /** Reads a non-null string (int16 length). @throws ProtocolError when null, negative or truncated */
  readString(field: string): string {
    const at = this.#pos;
    const s = this.readNullableString(field);
    if (s === null) throw this.#error(`string ${field} at offset ${at} is null, which this field does not allow`);
    return s;
  }

  /** Reads a nullable string (int16 length, -1 = null). @throws ProtocolError when malformed or truncated */
  readNullableString(field: string): string | null {
    const at = this.#pos;
    const n = this.readInt16(field);
    if (n === NULL_LENGTH) return null;
    if (n < 0) throw this.#error(`string ${field} at offset ${at} has length ${n}`);
    return this.#utf8(n, 'string', field);
  }

  /** Reads a non-null compact string (uvarint length + 1). @throws ProtocolError when null or truncated */
  readCompactString(field: string): string {
    const at = this.#pos;
    const s = this.readCompactNullableString(field);
    if (s === null) throw this.#error(`compact string ${field} at offset ${at} is null, which this field does not allow`);
    return s;
  }

  /** Reads a compact nullable string (uvarint 0 = null). @throws ProtocolError when truncated */
  readCompactNullableString(field: string): string | null {
    const n = this.readUnsignedVarint(field);
    if (n === 0) return null;
    return this.#utf8(n - 1, 'compact string', field);
  }

  /** Reads non-null bytes (int32 length) as a view. @throws ProtocolError when null, negative or truncated */
  readBytes(field: string): Uint8Array {
    const at = this.#pos;
    const b = this.readNullableBytes(field);
    if (b === null) throw this.#error(`bytes ${field} at offset ${at} are null, which this field does not allow`);
    return b;
  }

  /** Reads nullable bytes (int32 length, -1 = null) as a view. @throws ProtocolError when malformed or truncated */
  readNullableBytes(field: string): Uint8Array | null {
    const at = this.#pos;
    const n = this.readInt32(field);
    if (n === NULL_LENGTH) return null;
    if (n < 0) throw this.#error(`bytes ${field} at offset ${at} have length ${n}`);
    return this.#sliceOf(n, 'bytes', field);
  }

  /** Reads non-null compact bytes (uvarint length + 1) as a view. @throws ProtocolError when null or truncated */
  readCompactBytes(field: string): Uint8Array {
    const at = this.#pos;
    const b = this.readCompactNullableBytes(field);
    if (b === null) throw this.#error(`compact bytes ${field} at offset ${at} are null, which this field does not allow`);
    return b;
  }

  /** Reads compact nullable bytes (uvarint 0 = null) as a view. @throws ProtocolError when truncated */
  readCompactNullableBytes(field: string): Uint8Array | null {
    const n = this.readUnsignedVarint(field);
    if (n === 0) return null;
    return this.#sliceOf(n - 1, 'compact bytes', field);
  }

  /** Reads `byteLength` raw bytes as a view. @throws ProtocolError when truncated */
  readRaw(byteLength: number, field: string): Uint8Array {
    return this.#sliceOf(byteLength, 'raw bytes', field);
  }

  /** Skips `byteLength` bytes. @throws ProtocolError when fewer are left */
  skip(byteLength: number, field: string): void {
    this.#need(byteLength, 'skip', field);
    this.#pos += byteLength;
  }

  /**
   * Reads a non-null array's int32 element count.
   * @throws ProtocolError when null, negative, or larger than the bytes left
   */
  readArrayLength(field: string): number {
    const at = this.#pos;
    const n = this.readNullableArrayLength(field);
    if (n === null) throw this.#error(`array ${field} at offset ${at} is null, which this field does not allow`);
    return n;
  }

  /** Reads a nullable array's int32 element count (-1 = null). @throws ProtocolError when malformed */
  readNullableArrayLength(field: string): number | null {
    const at = this.#pos;
    const n = this.readInt32(field);
    if (n === NULL_LENGTH) return null;
    if (n < 0) throw this.#error(`array ${field} at offset ${at} has length ${n}`);
    this.#checkCount(n, at, field);
    return n;
  }

  /** Reads a non-null compact array's element count (uvarint count + 1). @throws ProtocolError when null or malformed */
  readCompactArrayLength(field: string): number {
    const at = this.#pos;
    const n = this.readCompactNullableArrayLength(field);
    if (n === null) throw this.#error(`compact array ${field} at offset ${at} is null, which this field does not allow`);
    return n;
  }

  /** Reads a compact nullable array's element count (uvarint 0 = null). @throws ProtocolError when malformed */
  readCompactNullableArrayLength(field: string): number | null {
    const at = this.#pos;
    const n = this.readUnsignedVarint(field);
    if (n === 0) return null;
    this.#checkCount(n - 1, at, field);
    return n - 1;
  }

  /** Reads a 16-byte UUID as Kafka prints it (URL-safe base64, 22 characters). @throws ProtocolError when truncated */
  readUuid(field: string): string {
    this.#need(UUID_BYTES, 'uuid', field);
    const s = this.#buf.toString('base64url', this.#pos, this.#pos + UUID_BYTES);
    this.#pos += UUID_BYTES;
    return s;
  }

  /**
   * Reads a tagged-field section and skips every field in it.
   * @throws ProtocolError when the section is truncated
   */
  skipTaggedFields(field = 'tagged_fields'): void {
    this.readTaggedFields(field, () => false);
  }

  /**
   * Reads a tagged-field section, offering each field to `onTag`; fields it declines (returns
   * false) are skipped. A field it accepts must be consumed exactly.
   * @throws ProtocolError when the section is truncated or `onTag` read more or less than the field's size
   */
  readTaggedFields(field: string, onTag: TaggedFieldHandler): void {
    const count = this.readUnsignedVarint(`${field} count`);
    for (let i = 0; i < count; i++) {
      const tag = this.readUnsignedVarint(`${field} tag`);
      const size = this.readUnsignedVarint(`${field} tag ${tag} size`);
      const start = this.#pos;
      this.#need(size, `tagged field ${tag} of`, field);
      if (onTag(tag, size)) {
        if (this.#pos !== start + size) {
          throw this.#error(
            `tagged field ${tag} of ${field} at offset ${start} has ${size} bytes but ${this.#pos - start} were read`,
          );
        }
      } else {
        this.#pos = start + size;
      }
    }
  }

  /** A {@link ProtocolError} whose message starts with this reader's context. */
  error(message: string): ProtocolError {
    return this.#error(message);
  }

  #checkCount(count: number, at: number, field: string): void {
    // Every element of the arrays Kafka sends takes at least one byte.
    if (count > this.remaining) {
      throw this.#error(`array ${field} at offset ${at} claims ${count} elements but only ${this.remaining} bytes are left`);
    }
  }

  #utf8(n: number, type: string, field: string): string {
    this.#need(n, type, field);
    const s = this.#buf.toString('utf8', this.#pos, this.#pos + n);
    this.#pos += n;
    return s;
  }

  #sliceOf(n: number, type: string, field: string): Uint8Array {
    this.#need(n, type, field);
    const v = this.#bytes.subarray(this.#pos, this.#pos + n);
    this.#pos += n;
    return v;
  }

  #need(n: number, type: string, field: string): void {
    const left = this.#bytes.byteLength - this.#pos;
    if (n > left) {
      throw this.#error(`cannot read ${type} ${field} at offset ${this.#pos}: only ${left} of ${n} bytes left`);
    }
  }

  #error(message: string): ProtocolError {
    return new ProtocolError(this.#context === '' ? message : `${this.#context}: ${message}`);
  }
}
