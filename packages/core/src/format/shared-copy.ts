/**
 * Copying bytes INTO shared memory (the pool's SharedArrayBuffer) at full speed.
 *
 * Key insight, measured on Node 20 (V8 11.3): `Uint8Array#set` into a SharedArrayBuffer
 * does not use memmove but a relaxed-atomic copy, and that copy moves 8-byte words only
 * when source and destination addresses are congruent mod 8; otherwise it goes byte by
 * byte. Records are packed, so 7 appends in 8 hit the byte path: 1000 bytes cost 349 ns
 * (vs ~40 ns congruent), 500 bytes 178 ns, 100 bytes 48 ns (21 ns congruent).
 *
 * For a long misaligned copy it is faster to stage: copy the source into a private
 * (non-shared) scratch array at an offset congruent to the destination — a real memmove —
 * then copy from there, word by word. 1000 bytes: 108 ns instead of 349; 500: 80 vs 178;
 * 200: 67 vs 88. Below {@link STAGED_COPY_MIN_BYTES} staging does not pay (100 bytes: 67
 * vs 48 ns; the scratch view is one small allocation), and the direct copy is kept.
 *
 * Rejected (measured): staging short copies (64-255 B) through a cache of scratch views to
 * avoid that allocation. Alone it measured 39 vs 48 ns at 100 B, but inside the append
 * path the extra reads (`byteOffset` twice, `buffer`, the cache) cost more than it saved:
 * 160 vs 140 ns per 100-byte record.
 */

/** Shortest misaligned copy into shared memory that is staged (measured crossover ~150 B). */
export const STAGED_COPY_MIN_BYTES = 192;

/** Private scratch for staging; grows to the largest staged copy (+ 8 for the offset). */
let scratch = new Uint8Array(64 * 1024);

/**
 * Copies `src` into `dst` at `dstPos` (`dst.set(src, dstPos)` semantics), staging long copies
 * whose addresses are not congruent mod 8 when `dst` is shared memory (see the file comment).
 * @param dst - the destination view (usually over the pool's SharedArrayBuffer)
 * @param dstPos - index in `dst` of the first byte written
 * @param src - the bytes to copy (any Uint8Array; not shared with `dst`)
 */
export function copyBytes(dst: Uint8Array, dstPos: number, src: Uint8Array): void {
  const length = src.length;
  if (length < STAGED_COPY_MIN_BYTES) {
    dst.set(src, dstPos); // the common short copy: no other check (byteOffset reads are not free)
    return;
  }
  const dstMod = (dst.byteOffset + dstPos) & 7;
  if (dstMod === (src.byteOffset & 7) || !(dst.buffer instanceof SharedArrayBuffer)) {
    dst.set(src, dstPos);
    return;
  }
  if (scratch.length < length + 8) scratch = new Uint8Array(Math.max(length + 8, scratch.length * 2));
  // scratch's own backing store is 8-byte aligned, so index dstMod is congruent to the destination.
  scratch.set(src, dstMod);
  dst.set(scratch.subarray(dstMod, dstMod + length), dstPos);
}
