/**
 * The shared-memory contract between the {@link WorkerSealer} (the event-loop thread, "main")
 * and its seal threads: one JOB RING per seal thread (a "lane"), and one COMPLETION SIGNAL
 * word shared by all lanes. Every word is named here and nowhere else (STYLE 4).
 *
 * Key insight — a batch is handed off by writing ~14 numbers into an entry of the lane's
 * ring and one `Atomics.store` of the lane's PUBLISHED counter; the seal thread, parked in
 * `Atomics.wait` on that counter, takes the entry with one compareExchange on its STATE word,
 * seals the batch in place (the same `sealBatch` as inline), stores the result and bumps the
 * completion signal; the main thread learns of it through one `Atomics.waitAsync` on that
 * signal and drains every finished entry of every lane in one go. No MessagePort, no
 * structured clone, no promise per batch: the piscina task that runs a lane is started once
 * per thread and lives as long as the thread.
 *
 * Rejected: a piscina task per batch or per group (~40-65 µs of main-thread CPU per task,
 * which forced grouping up to 16 batches and its latency; RESULTS.md 'Worker sealing'); one
 * ring shared by every thread (consumers must CAS a shared head, and after a thread dies
 * the main thread cannot tell which entries it held without an owner word per entry — a
 * ring per lane gives both for free, and the main thread balances by choosing the lane).
 *
 * ## Lane buffer (one SharedArrayBuffer per lane; Int32 words unless marked f64)
 *
 * ```
 * word                  index  written by          how        meaning
 * --------------------  -----  ------------------  ---------  ------------------------------------------
 * LANE_PUBLISHED            0  main only           Atomics    jobs published, ever (int32, wraps)
 * LANE_STOP                 1  main only           Atomics    1: the seal thread returns when idle
 * LANE_TAKEN               16  seal thread only    Atomics    entries passed by the thread, ever (wraps)
 * LANE_SLEEPING            17  seal thread only    Atomics    1 while parked in Atomics.wait
 * LANE_THREAD_ID           18  seal thread only    Atomics    worker threadId once running (0 before)
 * entries              from 32  see below                     RING_ENTRIES entries of ENTRY_WORDS
 * ```
 * Main-written and thread-written control words sit on different 64-byte lines.
 *
 * ## Entry (ENTRY_WORDS int32 words; `E_*` are offsets in the entry)
 *
 * ```
 * field               word  type   written by                  meaning
 * ------------------  ----  -----  --------------------------  ------------------------------------
 * E_STATE                0  int32  both, Atomics only          JobState (table below)
 * E_BUFFER_ID            1  int32  main, before publish        id of the batch's SharedArrayBuffer
 * E_BYTE_OFFSET          2  int32  main, before publish        batch's first byte in that buffer
 * E_CAPACITY_BYTES       3  int32  main, before publish        bytes the batch may use
 * E_RECORDS_LENGTH       4  int32  main, before publish        raw record bytes after the 61-byte gap
 * E_RECORD_COUNT         5  int32  main, before publish
 * E_CODEC_ID             6  int32  main, before publish        Kafka codec id
 * E_LEVEL                7  int32  main, before publish        concrete codec level
 * E_PRODUCER_EPOCH       8  int32  main, before publish        or -1
 * E_BASE_SEQUENCE        9  int32  main, before publish        or -1
 * E_TRANSACTIONAL       10  int32  main, before publish        1 or 0
 * E_FAULT               11  int32  main, before publish        test-only SealFault; 0 in production
 * E_RESULT             12  int32  thread, before the final    sealed size in bytes (SEALED)
 *                                  state store
 * E_ERROR_LENGTH       13  int32  thread, before FAILED_*     UTF-8 bytes of the error text
 * E_BASE_TIMESTAMP     16  f64    main, before publish        ms
 * E_MAX_TIMESTAMP      18  f64    main, before publish        ms
 * E_PRODUCER_ID        20  f64    main, before publish        or -1 (int64 within ±2^53)
 * E_STARTED_AT_MS      22  f64    thread, before its CAS      epoch ms (performance.timeOrigin + now)
 *                                  QUEUED → COMPRESSING
 * E_BUSY_NS            24  f64    thread, before final state  ns the seal took on the thread
 * E_ERROR_TEXT         32  bytes  thread, before FAILED_*     ERROR_TEXT_BYTES of UTF-8
 * ```
 *
 * ## Job states (E_STATE)
 *
 * ```
 *  FREE ──main: fields, then store──► QUEUED ──thread: CAS──► COMPRESSING ──thread: CAS──► REPLACING
 *   ▲                                   │                        │   │                        │
 *   │                      main: CAS (lane retired)   thread: CAS│   │main: CAS (seal timeout) │thread: store
 *   │                                   ▼                        ▼   ▼                        ▼
 *   └──main drains────────────────── RECLAIMED   FAILED_RETRYABLE   ABANDONED        SEALED | FAILED_LOST
 *        (any terminal but ABANDONED)                             (terminal; lane retired, never reused)
 * ```
 * Who owns the batch's bytes: main in FREE/QUEUED/RECLAIMED (the thread has not read them);
 * the thread in COMPRESSING (it READS the raw records; it writes nothing into the slot) and
 * REPLACING (it writes the compressed records and the header); main again in every terminal
 * state. The raw records are intact in every state but REPLACING and FAILED_LOST.
 *
 * ## Invariants (checked by test/worker/seal-ring.property.test.ts)
 * 1. An entry is published only when FREE; a published job reaches exactly one terminal
 *    state, and main completes each job exactly once, whatever the interleaving.
 * 2. The thread writes into a batch's slot only after winning COMPRESSING → REPLACING, and
 *    main abandons only by winning COMPRESSING → ABANDONED: a timed-out codec that returns
 *    late loses the CAS and discards its output, so a slot main has released is never
 *    written by a late seal.
 * 3. In a live lane the thread takes entries in publish order and finishes each before the
 *    next, so main drains a lane's entries in publish order; `PUBLISHED − drained ≤
 *    RING_ENTRIES` (the ring never overruns), across int32 wrap-around of both counters.
 * 4. A retired lane (its thread died, timed out or stopped) is never published to again;
 *    main reclaims its QUEUED entries by CAS, so each is either taken by the thread (and
 *    finishes) or reclaimed (and is published elsewhere), never both.
 *
 * ## The races, walked through
 * - Publish vs park. Main stores fields, then `Atomics.store(PUBLISHED, p + 1)`, then reads
 *   SLEEPING and notifies only if it is 1. The thread stores SLEEPING = 1, re-reads PUBLISHED,
 *   and parks with `Atomics.wait(PUBLISHED, p)`. All four are sequentially consistent: if main
 *   read SLEEPING = 0, its PUBLISHED store came before the thread's SLEEPING store, so the
 *   thread's re-read sees p + 1 and does not park; if the thread parked, main sees SLEEPING = 1
 *   and notifies; a notify before the wait is harmless because `Atomics.wait` returns at once
 *   when PUBLISHED ≠ p. The non-atomic field writes happen-before the PUBLISHED store, which
 *   synchronizes-with the thread's load, so the thread reads complete fields.
 * - Timeout vs a late codec. Main reads COMPRESSING and STARTED_AT older than the seal
 *   timeout, and CASes COMPRESSING → ABANDONED. Meanwhile the codec returns and the thread
 *   CASes COMPRESSING → REPLACING. Exactly one CAS wins: if main's, the batch fails with a
 *   SealError and its slot goes back to the pool; the thread's CAS then fails and it writes
 *   nothing. If the thread's, main's fails, sees REPLACING (a copy and a header: bounded),
 *   and waits for SEALED like any seal. STARTED_AT is written BEFORE the thread's
 *   QUEUED → COMPRESSING CAS (and zeroed by main at publish), so main never reads the
 *   previous job's start time for a job it sees COMPRESSING.
 * - Death. A thread that dies (crash, `process.exit`, terminate) leaves the entry states in
 *   shared memory: QUEUED → main reclaims (CAS) and publishes elsewhere, attempt unchanged;
 *   COMPRESSING → the records are intact: sealed again on another lane (a second failure
 *   fails it); REPLACING → the records may be partly overwritten: if the header gap's MAGIC
 *   byte is 2 (main wrote 0 there at publish, `sealBatch` writes the header last) the batch
 *   is checked and kept, else it fails with a SealError.
 * - Completion vs main's wait. A thread stores the terminal state, `Atomics.add`s
 *   SIGNAL_COUNT, then notifies only if SIGNAL_MAIN_WAITING is 1. Main stores
 *   MAIN_WAITING = 1, loads SIGNAL_COUNT = s, drains, then `Atomics.waitAsync(SIGNAL_COUNT, s)`.
 *   If the thread's add came before main's load, main's drain sees the state; if after, the
 *   thread sees MAIN_WAITING = 1 and notifies, and a waitAsync armed after that notify
 *   returns at once because SIGNAL_COUNT ≠ s.
 */

import type { MessagePort } from 'node:worker_threads';

/** Entries per lane ring: a power of two (index = counter & RING_MASK). */
export const RING_ENTRIES = 64;
export const RING_MASK = RING_ENTRIES - 1;

/** Main-written control words. */
export const LANE_PUBLISHED = 0;
export const LANE_STOP = 1;
/** Thread-written control words (a separate cache line). */
export const LANE_TAKEN = 16;
export const LANE_SLEEPING = 17;
export const LANE_THREAD_ID = 18;
/** First word of entry 0. */
export const LANE_ENTRIES_WORD = 32;

/** Entry field offsets (int32 words from the entry's first word). */
export const E_STATE = 0;
export const E_BUFFER_ID = 1;
export const E_BYTE_OFFSET = 2;
export const E_CAPACITY_BYTES = 3;
export const E_RECORDS_LENGTH = 4;
export const E_RECORD_COUNT = 5;
export const E_CODEC_ID = 6;
export const E_LEVEL = 7;
export const E_PRODUCER_EPOCH = 8;
export const E_BASE_SEQUENCE = 9;
export const E_TRANSACTIONAL = 10;
export const E_FAULT = 11;
export const E_RESULT = 12;
export const E_ERROR_LENGTH = 13;
/** f64 fields, as int32 word offsets (8-byte aligned: entries start on 8-byte boundaries). */
export const E_BASE_TIMESTAMP = 16;
export const E_MAX_TIMESTAMP = E_BASE_TIMESTAMP + 2;
export const E_PRODUCER_ID = E_MAX_TIMESTAMP + 2;
export const E_STARTED_AT_MS = E_PRODUCER_ID + 2;
export const E_BUSY_NS = E_STARTED_AT_MS + 2;
/** Error text (UTF-8) of a failed seal. */
export const E_ERROR_TEXT = 32;
export const ERROR_TEXT_BYTES = 224;
/** Int32 words per entry: the fields, then the error text. */
export const ENTRY_WORDS = E_ERROR_TEXT + ERROR_TEXT_BYTES / 4;
/** Bytes of one lane buffer. */
export const LANE_BYTES = (LANE_ENTRIES_WORD + RING_ENTRIES * ENTRY_WORDS) * 4;

/** First int32 word of entry `index` (0 ≤ index < RING_ENTRIES) in a lane buffer. */
export function entryWord(index: number): number {
  return LANE_ENTRIES_WORD + index * ENTRY_WORDS;
}

/** Job states (E_STATE); see the table in the file comment. */
export const JobState = {
  FREE: 0,
  QUEUED: 1,
  COMPRESSING: 2,
  REPLACING: 3,
  SEALED: 4,
  FAILED_RETRYABLE: 5,
  FAILED_LOST: 6,
  RECLAIMED: 7,
  ABANDONED: 8,
} as const;
export type JobStateValue = (typeof JobState)[keyof typeof JobState];

/** Whether main may drain (and then free) an entry in `state`. ABANDONED is terminal but never freed. */
export function isDrainable(state: number): boolean {
  return state >= JobState.SEALED && state <= JobState.RECLAIMED;
}

/** The completion signal buffer (one per sealer, shared by every lane). */
export const SIGNAL_COUNT = 0;
export const SIGNAL_MAIN_WAITING = 16;
export const SIGNAL_BYTES = 32 * 4;

/** How long an idle seal thread parks before it re-checks LANE_STOP (ms). */
export const IDLE_PARK_MS = 1000;

/** What a lane task is started with (the one piscina message per thread). */
export interface LaneStartMessage {
  /** The lane's ring (LANE_BYTES). */
  readonly lane: SharedArrayBuffer;
  /** The completion signal (SIGNAL_BYTES), shared by all lanes. */
  readonly signal: SharedArrayBuffer;
  /** Where main posts {@link BufferRegistration}s: the memories batches live in. */
  readonly buffers: MessagePort;
}

/**
 * Main → thread, on the lane's port, before the first job in `buffer`: the memory a job's
 * E_BUFFER_ID names. A SharedArrayBuffer arrives as a new object on every message, hence ids.
 */
export interface BufferRegistration {
  readonly id: number;
  readonly buffer: SharedArrayBuffer;
}

/**
 * Test-only fault injection, per job (E_FAULT). Production jobs carry NONE.
 */
export const SealFault = {
  NONE: 0,
  /** The codec throws (raw records intact). */
  THROW_IN_CODEC: 1,
  /** The lane's task throws out of its loop while holding the job (thread survives). */
  THROW_TASK: 2,
  /** The thread exits after taking the job, before the codec runs. */
  EXIT_BEFORE_BATCH: 3,
  /** The thread exits inside the codec. */
  EXIT_WHILE_COMPRESSING: 4,
  /** The thread exits after winning REPLACING, before the copy. */
  EXIT_WHILE_REPLACING: 5,
  /** The thread exits after the header is written, before storing SEALED. */
  EXIT_AFTER_HEADER: 6,
  /** The codec blocks for a minute (a stuck native codec). */
  STALL_IN_CODEC: 7,
} as const;
export type SealFaultValue = (typeof SealFault)[keyof typeof SealFault];
