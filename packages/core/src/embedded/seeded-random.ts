/**
 * A small seeded pseudo-random generator for deterministic simulation and seedable
 * partitioning: the same seed gives the same sequence on every platform and Node version
 * (unlike `Math.random`, which cannot be seeded).
 *
 * Algorithm: mulberry32 (Tommy Ettinger, public domain) — 32 bits of state, one
 * `Math.imul`-based mixing step per draw, period 2^32. Not cryptographic; more than good
 * enough to pick fault times and partitions. Chosen over xorshift128+ (needs 64-bit state
 * and BigInt or split words) and a linear congruential generator (weak low bits, visible
 * patterns in `% n`).
 */

/** A source of uniform floats in [0, 1). `Math.random` is one; {@link seededRandom} gives seeded ones. */
export type RandomSource = () => number;

/**
 * A seeded generator of uniform floats in [0, 1).
 * @param seed - any number; only its low 32 bits are used
 * @returns a function returning the next float of the sequence on each call
 */
export function seededRandom(seed: number): RandomSource {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A uniform integer in [0, bound) drawn from `random`.
 * @throws RangeError when `bound` is not a positive integer
 */
export function randomInt(random: RandomSource, bound: number): number {
  if (!Number.isInteger(bound) || bound <= 0) throw new RangeError(`randomInt: bound must be a positive integer, got ${bound}`);
  return Math.floor(random() * bound);
}
