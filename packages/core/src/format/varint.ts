/**
 * Zigzag LEB128 varints as Kafka's record format uses them (`ByteUtils.writeVarint`,
 * `writeVarlong`): zigzag maps signed to unsigned (0,-1,1,-2 → 0,1,2,3), then 7 bits per
 * byte, low group first, high bit set on every byte but the last.
 *
 * JavaScript numbers are exact up to 2^53, so varlongs are written with arithmetic
 * (not 32-bit bitwise operators) above 2^31. Timestamps and their deltas stay far inside
 * that range (a timestamp in ms reaches 2^53 in the year 287396).
 */

/** Bytes needed for the zigzag varint of a 32-bit signed integer (1..5). */
export function sizeOfVarint(value: number): number {
  let v = ((value << 1) ^ (value >> 31)) >>> 0;
  let bytes = 1;
  while (v >= 0x80) {
    v >>>= 7;
    bytes++;
  }
  return bytes;
}

/** Bytes needed for the zigzag varint of a safe integer (1..10). */
export function sizeOfVarlong(value: number): number {
  if (value >= -0x40000000 && value < 0x40000000) return sizeOfVarint(value);
  let v = value >= 0 ? value * 2 : -value * 2 - 1;
  let bytes = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    bytes++;
  }
  return bytes;
}

/** Writes the zigzag varint of a 32-bit signed integer at `pos`; returns the next position. */
export function writeVarint(buf: Uint8Array, pos: number, value: number): number {
  let v = ((value << 1) ^ (value >> 31)) >>> 0;
  while (v >= 0x80) {
    buf[pos++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[pos++] = v;
  return pos;
}

/** Writes the zigzag varint of a safe integer at `pos`; returns the next position. */
export function writeVarlong(buf: Uint8Array, pos: number, value: number): number {
  if (value >= -0x40000000 && value < 0x40000000) return writeVarint(buf, pos, value);
  let v = value >= 0 ? value * 2 : -value * 2 - 1;
  while (v >= 0x80) {
    buf[pos++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  buf[pos++] = v;
  return pos;
}

/** Result of a varint read: the value and the position after it. Reused by readers. */
export interface VarintRead {
  value: number;
  pos: number;
}

/**
 * Reads a zigzag varint (up to 5 bytes) at `pos` into `out`.
 * @throws RangeError when the varint runs past `end` or is longer than 5 bytes.
 */
export function readVarint(buf: Uint8Array, pos: number, end: number, out: VarintRead): VarintRead {
  let raw = 0;
  let shift = 0;
  for (;;) {
    if (pos >= end) throw new RangeError(`varint runs past the end of the buffer at ${pos}`);
    const b = buf[pos++];
    raw |= (b & 0x7f) << shift;
    if (b < 0x80) break;
    shift += 7;
    if (shift > 28) throw new RangeError(`varint longer than 5 bytes at ${pos}`);
  }
  out.value = (raw >>> 1) ^ -(raw & 1);
  out.pos = pos;
  return out;
}

/**
 * Reads a zigzag varlong (up to 10 bytes) at `pos` into `out`. Values beyond ±2^53 lose precision.
 * @throws RangeError when the varlong runs past `end` or is longer than 10 bytes.
 */
export function readVarlong(buf: Uint8Array, pos: number, end: number, out: VarintRead): VarintRead {
  let raw = 0;
  let mul = 1;
  for (let i = 0; ; i++) {
    if (pos >= end) throw new RangeError(`varlong runs past the end of the buffer at ${pos}`);
    if (i >= 10) throw new RangeError(`varlong longer than 10 bytes at ${pos}`);
    const b = buf[pos++];
    raw += (b & 0x7f) * mul;
    if (b < 0x80) break;
    mul *= 128;
  }
  out.value = raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
  out.pos = pos;
  return out;
}
