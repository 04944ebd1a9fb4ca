/**
 * Deterministic test data: JSON-like values that compress like real event data (repeated
 * field names and enums, varying ids and words), and incompressible random bytes.
 */
import { randomBytes } from 'node:crypto';

const WORDS = 'order customer product price quantity status pending shipped delivered refund session user device region click view search'.split(' ');

/** A JSON-like value of exactly `size` bytes (padded with spaces), different for every `i`. */
export function jsonValue(i: number, size = 100): Buffer {
  let x = (i + 1) * 2654435761;
  const next = (): number => {
    x = (Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0;
    return x;
  };
  let s = JSON.stringify({ id: i, user: `u${next() % 5000}`, event: WORDS[next() % WORDS.length], ts: 1_700_000_000_000 + i });
  while (s.length < size) s += ` ${WORDS[next() % WORDS.length]} ${next() % 1000}`;
  return Buffer.from(s.slice(0, size));
}

/** `size` random (incompressible) bytes. */
export function randomValue(size: number): Buffer {
  return randomBytes(size);
}

/** JSON-like text of about `size` bytes (many values concatenated). */
export function jsonText(size: number): Buffer {
  const parts: Buffer[] = [];
  let n = 0;
  for (let i = 0; n < size; i++) {
    const v = jsonValue(i, 120);
    parts.push(v);
    n += v.length;
  }
  return Buffer.concat(parts).subarray(0, size);
}

/** A Buffer view of `data` inside a SharedArrayBuffer at `offset` (how pool memory looks). */
export function inSharedMemory(data: Uint8Array, offset = 61): Buffer {
  const sab = new SharedArrayBuffer(offset + data.length + 16);
  const view = Buffer.from(sab);
  view.set(data, offset);
  return view.subarray(offset, offset + data.length);
}
