/**
 * A lock word in shared memory that names its holder: 0 when free, else `tag` = 1 + the
 * holder's appender id, with {@link LOCK_CONTENDED} set once another thread may be sleeping
 * on it. It serializes the appends to one partition (and the additions to the topic table).
 *
 * Key insight — the word holds WHO holds the lock, not just THAT it is held. A thread that
 * dies inside a critical section (`worker.terminate()` between the compareExchange and the
 * release) leaves its own tag in the word, so the owner, told that thread is gone, finds
 * exactly the partitions it held, repairs them (`shared-intake.ts`: the committed cursor is
 * the truth, bytes past it are garbage) and breaks the lock with {@link breakLock}. A plain
 * 0/1 spin lock would leave the partition locked forever and no way to tell whose it was.
 *
 * Waiting: the critical section is short (one record: ~100 ns), so a contended acquire
 * spins a little, then sleeps with `Atomics.wait` after marking the word contended (Ulrich
 * Drepper's "Futexes Are Tricky", mutex #3): the releaser `exchange`s 0 and notifies only
 * when the contended bit was set, so an uncontended release costs one atomic. On a 2-vCPU
 * machine with more appender threads than cores a holder may be descheduled for a whole
 * time slice; spinning through it would burn the slice the holder needs, hence the short
 * spin. A sleeper marks the word contended again when it acquires it (it cannot know
 * whether others still sleep), which costs at most one spurious notify.
 *
 * Rejected: a compareExchange that reserves space on the write cursor before copying, so
 * that two threads copy into one batch at once. A record's size depends on its offsetDelta
 * and timestampDelta (varints), i.e. on the records before it, so the reservation would
 * have to pack cursor and count into one word, and the commits would still have to become
 * visible in order (a record is sent only once every record before it is complete) — a
 * second atomic and a wait per record, to overlap a copy of ~100 bytes.
 */

/** Set in a lock word when a waiter may be sleeping on it: the release must notify. */
export const LOCK_CONTENDED = 0x40000000;
const TAG_MASK = LOCK_CONTENDED - 1;
/** Loads of the word before a contended acquire starts to sleep. */
const SPINS = 64;
/** Longest single sleep (ms): a missed notify (impossible by construction) costs at most this. */
const SLEEP_MS = 2;

/** The tag an appender writes into lock words: 1 + its id (0 means free). */
export function lockTag(appenderId: number): number {
  return appenderId + 1;
}

/**
 * @returns the appender id holding a lock word's lock, or -1 when it is free
 */
export function lockHolder(word: number): number {
  const tag = word & TAG_MASK;
  return tag === 0 ? -1 : tag - 1;
}

/** Takes the lock if it is free; never waits. */
export function tryLock(control: Int32Array, index: number, tag: number): boolean {
  return Atomics.compareExchange(control, index, 0, tag) === 0;
}

/**
 * Takes the lock, waiting at most `maxWaitMs` (spin, then `Atomics.wait`). Infinity waits as
 * long as it takes; a finite bound lets the owner's event-loop thread give up and retry
 * later (it must not sleep on a lock whose dead holder only it can recover).
 * @returns true when taken; false after `maxWaitMs`
 */
export function lock(control: Int32Array, index: number, tag: number, maxWaitMs = Infinity): boolean {
  if (Atomics.compareExchange(control, index, 0, tag) === 0) return true;
  return lockContended(control, index, tag, maxWaitMs);
}

function lockContended(control: Int32Array, index: number, tag: number, maxWaitMs: number): boolean {
  for (let i = 0; i < SPINS; i++) {
    if (Atomics.load(control, index) === 0 && Atomics.compareExchange(control, index, 0, tag) === 0) return true;
  }
  const deadline = maxWaitMs === Infinity ? Infinity : performance.now() + maxWaitMs;
  const contendedTag = tag | LOCK_CONTENDED;
  for (;;) {
    let word = Atomics.load(control, index);
    if (word === 0) {
      // Taken as contended: others may still sleep on the word.
      if (Atomics.compareExchange(control, index, 0, contendedTag) === 0) return true;
      continue;
    }
    if ((word & LOCK_CONTENDED) === 0) {
      const seen = Atomics.compareExchange(control, index, word, word | LOCK_CONTENDED);
      if (seen !== word) continue;
      word |= LOCK_CONTENDED;
    }
    const leftMs = deadline - performance.now();
    if (leftMs <= 0) return false;
    Atomics.wait(control, index, word, leftMs < SLEEP_MS ? leftMs : SLEEP_MS);
  }
}

/** Releases the lock (the caller holds it), waking one sleeper when the word says there may be one. */
export function unlock(control: Int32Array, index: number): void {
  if ((Atomics.exchange(control, index, 0) & LOCK_CONTENDED) !== 0) Atomics.notify(control, index, 1);
}

/**
 * Breaks the lock of a holder that is gone (recovery): frees it only if `tag` still holds it.
 * @returns whether it was held by `tag`
 */
export function breakLock(control: Int32Array, index: number, tag: number): boolean {
  for (;;) {
    const word = Atomics.load(control, index);
    if ((word & TAG_MASK) !== tag) return false;
    if (Atomics.compareExchange(control, index, word, 0) === word) {
      Atomics.notify(control, index);
      return true;
    }
  }
}
