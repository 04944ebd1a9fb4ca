/**
 * Zigzag LEB128 varints as Kafka's record format uses them (`ByteUtils.writeVarint`,
 * `writeVarlong`): zigzag maps signed to unsigned (0,-1,1,-2 → 0,1,2,3), then 7 bits per
 * byte, low group first, high bit set on every byte but the last.
 *
 * JavaScript numbers are exact up to 2^53, so varlongs are written with arithmetic
 * (not 32-bit bitwise operators) outside ±2^30, and as sign + magnitude rather than as
 * the zigzag value itself, which needs 54 bits for safe integers beyond ±2^52. Every safe
 * integer round-trips exactly. Timestamps and their deltas stay far inside that range
 * (a timestamp in ms reaches 2^53 in the year 287396).
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
  // The first byte holds 6 bits of the magnitude (see writeVarlong), each next byte 7.
  let rest = Math.floor((value >= 0 ? value : -value - 1) / 64);
  let bytes = 1;
  while (rest > 0) {
    rest = Math.floor(rest / 128);
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
  // zigzag(value) = 2m + sign, with m = value or -value - 1. Computing 2m + 1 as a double
  // rounds once m > 2^52 (odd numbers past 2^53), so the first byte is built from
  // m's low 6 bits and the sign, and the rest from floor(m / 64), all exact.
  const negative = value < 0;
  const m = negative ? -value - 1 : value;
  let b = (m % 64) * 2 + (negative ? 1 : 0);
  let rest = Math.floor(m / 64);
  while (rest > 0) {
    buf[pos++] = b | 0x80;
    b = rest % 128;
    rest = Math.floor(rest / 128);
  }
  buf[pos++] = b;
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
  // Decoded as sign (bit 0) and magnitude m = zigzag >>> 1, never as the zigzag value
  // itself, which rounds past 2^53 (see writeVarlong).
  let negative = false;
  let m = 0;
  let mul = 64;
  for (let i = 0; ; i++) {
    if (pos >= end) throw new RangeError(`varlong runs past the end of the buffer at ${pos}`);
    if (i >= 10) throw new RangeError(`varlong longer than 10 bytes at ${pos}`);
    const b = buf[pos++];
    if (i === 0) {
      negative = (b & 1) === 1;
      m = (b & 0x7f) >>> 1;
    } else {
      m += (b & 0x7f) * mul;
      mul *= 128;
    }
    if (b < 0x80) break;
  }
  out.value = negative ? -m - 1 : m;
  out.pos = pos;
  return out;
}
