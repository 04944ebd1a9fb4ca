/**
 * Helpers for hand-written byte fixtures: hex strings with spaces and comments beside them,
 * ASCII text as hex. Independent of the protocol encoders under test on purpose.
 */

/** Joins hex parts (spaces allowed) into bytes. */
export function hex(...parts: string[]): Uint8Array {
  const digits = parts.join('').replace(/\s+/g, '');
  if (digits.length % 2 !== 0 || /[^0-9a-fA-F]/.test(digits)) throw new Error(`bad hex fixture: ${digits}`);
  return new Uint8Array(Buffer.from(digits, 'hex'));
}

/** The hex of ASCII text, to spell strings inside fixtures. */
export function ascii(text: string): string {
  return Buffer.from(text, 'latin1').toString('hex');
}

/** The big-endian hex of an int16 (versions in headers). */
export function int16Hex(value: number): string {
  const b = Buffer.alloc(2);
  b.writeInt16BE(value);
  return b.toString('hex');
}

/** A request frame: int32 size prefix (counted here) followed by the hex parts. */
export function sizePrefixed(...parts: string[]): Uint8Array {
  const body = hex(...parts);
  const out = new Uint8Array(4 + body.byteLength);
  new DataView(out.buffer).setInt32(0, body.byteLength);
  out.set(body, 4);
  return out;
}

/** Concatenates chunks (what a socket would send for them). */
export function concat(chunks: readonly Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(chunks.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength))));
}

/** Hex of bytes, for readable assertion failures. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}
