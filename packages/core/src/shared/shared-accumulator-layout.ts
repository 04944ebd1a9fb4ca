/**
 * The shared-memory layout of the SHARED ACCUMULATOR: the one place that knows where each
 * word of its SharedArrayBuffer lives. The buffer pool (`memory/pool-layout.ts`) holds the
 * batches' bytes; this second buffer holds everything several threads need to append into
 * those batches together and hand them to the one thread that sends them: per-partition
 * open-batch state and write cursors, the topic table, per-appender rings, and a
 * descriptor per pool slot. Everything else (SharedAppender, SharedIntake, recovery, tests)
 * reads these constants.
 *
 * ## Threads and roles
 *
 * - The OWNER is the thread of the `Producer` that called `shareable()`: it allocates pool
 *   memory, adopts closed batches into its `RecordAccumulator`, drains and sends them, and
 *   recovers after an appender thread dies. It is also appender 0 (its own sends go through
 *   the same path, so they share batches with the other threads).
 * - An APPENDER is any thread with a `SharedAppender` (appender ids 1 … maxAppenders − 1).
 *   It appends records into open batches under the partition's lock, closes full batches,
 *   compresses them (compressed topics), and tells the owner through its own event ring.
 *
 * ## Regions (Int32 word indices; every region starts on a 16-word = 64-byte boundary)
 *
 * ```
 * region              words                          written by / how
 * ------------------  -----------------------------  ------------------------------------------
 * header              HEADER_WORDS (32)              see the header table below
 * appender table      maxAppenders × APPENDER_WORDS  see "Appender entry"
 * topic table         maxTopics × TOPIC_WORDS        see "Topic entry"
 * partition table     maxPartitions × PARTITION_WORDS see "Partition entry"
 * partition map       2 × maxPartitions              owner only, before publishing (see topics)
 * slot descriptors    slotCount × DESCRIPTOR_WORDS   see "Slot descriptor"
 * per appender a:     event ring   (appender → owner: OPENED/CLOSED slot events)
 *                     slot stash   (owner → appender: slots granted for new batches)
 *                     completion ring (owner → appender: batch outcomes)
 * ```
 * Each ring is single-producer single-consumer: a 16-word line holding `head` (written by
 * the producer only, Atomics.store AFTER the cell is written), a 16-word line holding `tail`
 * (written by the consumer only, Atomics.store AFTER the cell was read), then the cells.
 *
 * ### Header (three cache lines: read per record / changed per topic / written per batch)
 * ```
 * index                         word                         written by / how
 * ----------------------------  ---------------------------  ----------------------------------------
 * MAGIC_INDEX              (0)  SHARED_MAGIC                 owner, before the SAB is shared
 * VERSION_INDEX            (1)  SHARED_LAYOUT_VERSION        owner, once
 * STATE_INDEX              (2)  OPEN 0 / CLOSING 1 / CLOSED 2 owner, Atomics.store (then every waiter's
 *                                                            word is notified)
 * META_VERSION_INDEX       (3)  +1 per topic/partition/      owner, Atomics.add + notify AFTER a topic
 *                               leader change                entry and its partitions are written
 * CHANNEL_ID_INDEX         (4)  BroadcastChannel number      owner, once (batch errors go over it)
 * POOL_ID_INDEX            (5)  the pool's POOL_ID word      owner, once (attach checks the pair)
 * BATCH_SIZE_INDEX … SLOT_COUNT_INDEX (6-15)                 owner, once: batch.size, linger.ms,
 *                               max.block.ms (-1 = ∞), codec, level, max.request.size, maxAppenders,
 *                               maxTopics, maxPartitions, the pool's slot count
 * STASH_CAPACITY_INDEX … COMPLETION_CAPACITY_INDEX (16-18)   owner, once: cells per ring
 * STASH_TARGET_INDEX      (19)  slots kept in each stash     owner, Atomics.store (adapts to appenders)
 * OWNER_THREAD_ID_INDEX   (20)  owner's threadId             owner, once
 * TOPIC_COUNT_INDEX       (21)  topic entries in use         holder of TOPIC_LOCK, Atomics.store AFTER
 *                                                            the new entry is complete
 * TOPIC_LOCK_INDEX        (22)  lock word (partition-lock.ts) for adding a topic entry
 * PARTITIONS_USED_INDEX   (23)  partition entries in use     owner only
 * MAP_USED_INDEX          (24)  partition-map words in use   owner only
 * STICKY_MODE_INDEX       (25)  STICKY_PER_THREAD 0 /        owner, once (see "Topic entry")
 *                               STICKY_SHARED 1
 * DOORBELL_INDEX          (32)  epoch                        any appender: Atomics.add then notify after
 *                                                            publishing events or a request; the owner
 *                                                            Atomics.waitAsync's on it
 * TOPIC_REQUESTS_INDEX    (33)  epoch of topic requests      appenders: Atomics.add after an entry
 *                                                            became REQUESTED (then the doorbell)
 * FLUSH_REQUESTS_INDEX    (34)  epoch of flush requests      appenders: Atomics.add, then the doorbell
 * NEED_TICKETS_INDEX      (35)  ticket counter               appenders: Atomics.add (FIFO order of
 *                                                            memory waits across threads)
 * OWNER_SLEEPING_INDEX    (36)  1 while the owner waits on   owner: store 1, THEN look at every ring
 *                               the doorbell; 0 while it     once more, then wait; appenders: publish,
 *                               polls (busy)                 THEN read it, and ring only when 1
 *                                                            (Dekker: one of them sees the other)
 * ```
 *
 * ### Appender entry (APPENDER_WORDS = 16)
 * ```
 * A_STATE        FREE 0 → ATTACHING 1 → LIVE 2 → CLOSED 3 (detached) | DEAD 4 (thread gone)
 *                attach: compareExchange FREE → ATTACHING, writes the rest, Atomics.store LIVE;
 *                close/recovery/owner reclaim: Atomics.store
 * A_THREAD_ID    threadId of the attached thread      the attaching thread, before LIVE
 * A_INCARNATION  +1 per attach of this id             the attaching thread
 * A_NEED         0, or 1 + a NEED ticket              the appender: Atomics.store when its stash is
 *                                                     empty (then doorbell); owner: store 0 when served
 * A_WAITING      1 while the appender has an          the appender (store 1, re-check, wait);
 *                Atomics.wait(Async) on its stash or   the owner reads it to decide to notify
 *                completion head
 * A_DRAINED      epoch: appender drained completions  appender Atomics.add (+ doorbell) when the owner
 *                                                     flagged A_OVERFLOW
 * A_OVERFLOW     1 while the owner holds completions  owner
 *                the ring had no room for
 * A_BIG_ACK      request number of the last record    owner, Atomics.store + notify once it appended
 *                bigger than batch.size the owner     the record (the appender's later sends wait
 *                appended for this appender           for it: they must follow it)
 * A_SEALING      1 while the appender compresses a    the appender: store 1, THEN read STATE (no
 *                closed batch (it may take a second   second slot once CLOSED); the owner: store
 *                slot from its stash)                 CLOSED, THEN read A_SEALING before it takes
 *                                                     the stash back (Dekker: one sees the other)
 * ```
 *
 * ### Topic entry (TOPIC_WORDS = 144)
 * ```
 * T_STATE            FREE 0 → REQUESTED 1 → READY 2 | FAILED 3 | TIMED_OUT 4; FAILED/TIMED_OUT →
 *                    REQUESTED again by an appender (compareExchange). The creator (holding
 *                    TOPIC_LOCK) writes the name first and T_STATE = REQUESTED last; the owner
 *                    writes everything else, T_STATE last (Atomics.store), then META_VERSION.
 * T_NAME_LENGTH      UTF-8 bytes of the name (≤ 249), name bytes at T_NAME_WORD (64 words)
 * T_PARTITION_COUNT  partitions published (owner; Atomics.store AFTER their map words)
 * T_MAP_INDEX        partition p's entry index is map[T_MAP_INDEX + p] (owner)
 * T_MAP_CAPACITY     map words reserved; a topic that grows past it gets a new, larger map
 *                    (copy on grow): entry indices never change, so a reader holding the
 *                    old map index still reads right values for the partitions it knew
 * T_ERROR_CODE       Kafka error code of a FAILED topic (owner)
 * T_STICKY_PARTITION + lane   uniform sticky partition (KIP-794) of a sticky LANE, -1 none:
 *                    lane = the appender's id (STICKY_MODE per-thread, the default) or 0 for every
 *                    thread (STICKY_MODE shared: Kafka's one sticky partition per producer).
 *                    compareExchange by the thread that switches (holding the sticky
 *                    partition's lock), or that finds none / no leader. 64 words on their own
 *                    cache lines (changed per switch, read per unkeyed record).
 * ```
 * Why lanes: with one sticky partition for every thread, every unkeyed record of every thread
 * takes the same partition lock and writes the same cache lines — measured 0.85x of one
 * thread's rate for two threads. With a lane per thread, each thread fills its own sticky
 * batch (lanes avoid each other's partitions when there are enough), as N per-thread
 * producers would; the price is up to one partly filled batch per thread per linger at low
 * rates, instead of one per producer.
 * The bytes produced to the sticky partition are counted in ITS partition entry
 * (P_STICKY_BYTES), under its lock, and only while it is the sticky partition: no shared
 * counter is written per record (an Atomics.add per record on one word all threads share
 * was a cache line bounced between cores on every record).
 *
 * ### Partition entry (PARTITION_WORDS = 16: one cache line; the words one append touches)
 * ```
 * P_LOCK         0 free, else 1 + holder's appender id (| LOCK_CONTENDED)  partition-lock.ts
 * P_OPEN         0, or 1 + the pool slot of the partition's OPEN batch      lock holder
 * P_SEQ          sequence number of the last batch opened (1, 2, …)         lock holder
 * P_POS          COMMITTED cursor: bytes of the open batch in use (header   lock holder, AFTER
 *                gap + committed records). A record is visible only once    its bytes are written
 *                P_POS covers it. (A plain store: the next holder reads it after the unlock's
 *                exchange; recovery reads it after the dead thread was joined.)
 * P_COUNT        committed records (kept equal to the records in [gap, P_POS); recovery recounts)
 * P_CAPACITY     bytes of the open batch's slot
 * P_WRITERS0/1   bit a (a < 64): appender a wrote into the open batch       lock holder (before commit)
 * P_BASE_TS      Float64: first record's timestamp                           lock holder
 * P_MAX_TS       Float64: largest committed timestamp (recovery recomputes)  lock holder
 * P_CREATED_MS   Float64: when the open batch was created                    lock holder
 * P_LEADER       leader node id, -1 unknown                                  owner, Atomics.store
 * P_STICKY_BYTES bytes produced to the partition while it is its topic's     lock holder; 0 when
 *                sticky partition (KIP-794)                                  it stops being sticky
 * ```
 * Plain (non-Atomics) reads and writes of a partition entry are made only while holding
 * P_LOCK: the lock's compareExchange/exchange order them (JS memory model: data-race free).
 *
 * ### Slot descriptor (DESCRIPTOR_WORDS = 16), one per pool slot
 * The numbers of the batch a slot holds, for the owner to adopt it: written by the thread
 * that opens / closes the batch, read by the owner after the event that names the slot.
 * ```
 * D_STATE          OPEN 1 → CLOSING 2 (compressed: being sealed) → CLOSED 3 → RECEIVED 4
 *                  (owner took it: it will be adopted exactly once); Atomics.store, each state
 *                  AFTER the words it vouches for
 * D_PARTITION      partition entry index                  opener
 * D_SEQ            the batch's P_SEQ                      opener
 * D_RECORDS_LENGTH bytes of records (raw)                 closer
 * D_COUNT          records                                closer
 * D_SEALED_SIZE    0 unsealed, else sealed batch size     closer (compressed topics)
 * D_CLOSER         appender id that closed it             closer (recovery looks for its own)
 * D_SEAL_TARGET    0, or 1 + the slot holding the         closer, BEFORE it writes that slot
 *                  compressed batch
 * D_WRITERS0/1     appenders that wrote into it            closer
 * D_BASE_TS, D_MAX_TS, D_CREATED_MS   Float64s             closer (created: opener)
 * ```
 *
 * ### Events (appender → owner, one Int32 per cell)
 * `(kind << EVENT_KIND_SHIFT) | slot`: OPENED (the owner schedules its linger) or CLOSED
 * (the owner adopts it). The slot's descriptor says the rest.
 *
 * ### Completion cell (COMPLETION_WORDS = 10)
 * `C_PARTITION, C_SEQ, C_FIRST_DELTA, C_COUNT, C_TOTAL, C_ERROR_ID, C_BASE_OFFSET (f64),
 * C_LOG_APPEND_TIME (f64)`: records `[firstDelta, firstDelta + count)` of batch (partition, seq),
 * which holds `total` records, ended with `baseOffset` (offset of record firstDelta) or with
 * error `errorId` (0 = success; the error itself arrives over the BroadcastChannel).
 *
 * ## Invariants (checked by the tests in test/core/shared/)
 *
 * 1. A batch is opened and ended exactly once: only the P_LOCK holder installs (P_OPEN ← slot)
 *    or ends it (P_OPEN ← 0), and every end either pushes the slot's CLOSED event (appender)
 *    or is a detach by the owner (the owner holds the lock); recovery ends the batches of a
 *    dead appender from its descriptors. The owner marks a descriptor RECEIVED before
 *    anything else, and adopts only what it received.
 * 2. The owner adopts a partition's batches in P_SEQ order (a batch that arrives early waits
 *    for its predecessors), so a partition's records reach the accumulator in lock order.
 * 3. A record is committed exactly when P_POS covers it; bytes past P_POS are never sent.
 * 4. Every granted slot is, at each moment, in exactly one of: a stash cell in [tail, head),
 *    a partition's P_OPEN, a descriptor's D_SEAL_TARGET or a CLOSING/CLOSED descriptor of
 *    its closer, or owned by the owner (adopted, or freed). A slot leaves a stash only
 *    after it is installed (the tail advances after the install), so a thread that dies in
 *    between leaves it in both places, never in neither.
 * 5. Rings never fill for events: an appender's unread events are at most two per slot it
 *    holds, and EVENT capacity ≥ 2 × slotCount + 2. Completion rings may fill; the owner then
 *    keeps the rest (A_OVERFLOW) until the appender drains.
 */

import { ConfigError } from '../errors.js';

/** `'SLSA'`: identifies a shared accumulator's SharedArrayBuffer. */
export const SHARED_MAGIC = 0x534c5341;
/** Bumped whenever a constant in this file changes meaning. */
export const SHARED_LAYOUT_VERSION = 2;

/** Words of every region's alignment unit (a 64-byte cache line). */
export const LINE_WORDS = 16;

// ---------------------------------------------------------------- header
// Line 0: read per record (state, metadata version) and written once or rarely.
export const MAGIC_INDEX = 0;
export const VERSION_INDEX = MAGIC_INDEX + 1;
export const STATE_INDEX = VERSION_INDEX + 1;
export const META_VERSION_INDEX = STATE_INDEX + 1;
export const CHANNEL_ID_INDEX = META_VERSION_INDEX + 1;
export const POOL_ID_INDEX = CHANNEL_ID_INDEX + 1;
export const BATCH_SIZE_INDEX = POOL_ID_INDEX + 1;
export const LINGER_MS_INDEX = BATCH_SIZE_INDEX + 1;
export const MAX_BLOCK_MS_INDEX = LINGER_MS_INDEX + 1;
export const CODEC_INDEX = MAX_BLOCK_MS_INDEX + 1;
export const LEVEL_INDEX = CODEC_INDEX + 1;
export const MAX_REQUEST_SIZE_INDEX = LEVEL_INDEX + 1;
export const MAX_APPENDERS_INDEX = MAX_REQUEST_SIZE_INDEX + 1;
export const MAX_TOPICS_INDEX = MAX_APPENDERS_INDEX + 1;
export const MAX_PARTITIONS_INDEX = MAX_TOPICS_INDEX + 1;
export const SLOT_COUNT_INDEX = MAX_PARTITIONS_INDEX + 1;
// Line 1: sizes, and words changed per topic or partition.
export const STASH_CAPACITY_INDEX = LINE_WORDS;
export const EVENT_CAPACITY_INDEX = STASH_CAPACITY_INDEX + 1;
export const COMPLETION_CAPACITY_INDEX = EVENT_CAPACITY_INDEX + 1;
export const STASH_TARGET_INDEX = COMPLETION_CAPACITY_INDEX + 1;
export const OWNER_THREAD_ID_INDEX = STASH_TARGET_INDEX + 1;
export const TOPIC_COUNT_INDEX = OWNER_THREAD_ID_INDEX + 1;
export const TOPIC_LOCK_INDEX = TOPIC_COUNT_INDEX + 1;
export const PARTITIONS_USED_INDEX = TOPIC_LOCK_INDEX + 1;
export const MAP_USED_INDEX = PARTITIONS_USED_INDEX + 1;
export const STICKY_MODE_INDEX = MAP_USED_INDEX + 1;
// Line 2: written by appenders per batch or per request (kept off the lines read per record).
export const DOORBELL_INDEX = 2 * LINE_WORDS;
export const TOPIC_REQUESTS_INDEX = DOORBELL_INDEX + 1;
export const FLUSH_REQUESTS_INDEX = TOPIC_REQUESTS_INDEX + 1;
export const NEED_TICKETS_INDEX = FLUSH_REQUESTS_INDEX + 1;
export const OWNER_SLEEPING_INDEX = NEED_TICKETS_INDEX + 1;
/** Words of the header region. */
export const HEADER_WORDS = 3 * LINE_WORDS;
if (MAP_USED_INDEX >= 2 * LINE_WORDS || SLOT_COUNT_INDEX >= LINE_WORDS) throw new Error('shared-accumulator-layout: a header line overflows');

/** {@link STATE_INDEX}: appends accepted. */
export const SHARED_OPEN = 0;
/** {@link STATE_INDEX}: the owner is closing; appends fail with ClosedError. */
export const SHARED_CLOSING = 1;
/** {@link STATE_INDEX}: closed. */
export const SHARED_CLOSED = 2;

/** {@link STICKY_MODE_INDEX}: a sticky lane per appender thread. */
export const STICKY_PER_THREAD = 0;
/** {@link STICKY_MODE_INDEX}: one sticky partition for every thread (Kafka's, per producer). */
export const STICKY_SHARED = 1;

/** {@link MAX_BLOCK_MS_INDEX} value standing for an unbounded `max.block.ms`. */
export const MAX_BLOCK_INFINITE = -1;

// ---------------------------------------------------------------- appender entry
export const A_STATE = 0;
export const A_THREAD_ID = 1;
export const A_INCARNATION = 2;
export const A_NEED = 3;
export const A_WAITING = 4;
export const A_DRAINED = 5;
export const A_OVERFLOW = 6;
export const A_BIG_ACK = 7;
export const A_SEALING = 8;
export const APPENDER_WORDS = LINE_WORDS;

export const AppenderState = { FREE: 0, ATTACHING: 1, LIVE: 2, CLOSED: 3, DEAD: 4 } as const;

/** The owner's appender id; worker threads get 1 … maxAppenders − 1. */
export const OWNER_APPENDER_ID = 0;
/** Most appender ids one shared accumulator can have (two 32-bit writer-mask words). */
export const MAX_APPENDERS_LIMIT = 64;

// ---------------------------------------------------------------- topic entry
export const T_STATE = 0;
export const T_NAME_LENGTH = 1;
export const T_PARTITION_COUNT = 2;
export const T_MAP_INDEX = 3;
export const T_MAP_CAPACITY = 4;
export const T_ERROR_CODE = 5;
/** On its own cache line: written per unkeyed record. */
export const T_STICKY_PARTITION = LINE_WORDS;
/** Sticky lanes per topic entry: one per possible appender id (lane 0 alone with STICKY_SHARED). */
export const STICKY_LANES = MAX_APPENDERS_LIMIT;
export const T_NAME_WORD = T_STICKY_PARTITION + STICKY_LANES;
/** Bytes reserved for a topic name (Kafka's limit is 249 characters, ASCII). */
export const TOPIC_NAME_BYTES = 256;
export const TOPIC_WORDS = T_NAME_WORD + TOPIC_NAME_BYTES / 4;

export const TopicState = { FREE: 0, REQUESTED: 1, READY: 2, FAILED: 3, TIMED_OUT: 4 } as const;

// ---------------------------------------------------------------- partition entry
export const P_LOCK = 0;
export const P_OPEN = 1;
export const P_SEQ = 2;
export const P_POS = 3;
export const P_COUNT = 4;
export const P_CAPACITY = 5;
export const P_WRITERS0 = 6;
export const P_WRITERS1 = 7;
/** Float64 (words 8-9): read with the Float64Array view at index (entry + P_BASE_TS) / 2. */
export const P_BASE_TS = 8;
export const P_MAX_TS = 10;
export const P_CREATED_MS = 12;
export const P_LEADER = 14;
export const P_STICKY_BYTES = 15;
export const PARTITION_WORDS = LINE_WORDS;

// ---------------------------------------------------------------- slot descriptor
export const D_STATE = 0;
export const D_PARTITION = 1;
export const D_SEQ = 2;
export const D_RECORDS_LENGTH = 3;
export const D_COUNT = 4;
export const D_SEALED_SIZE = 5;
export const D_CLOSER = 6;
export const D_SEAL_TARGET = 7;
export const D_WRITERS0 = 8;
export const D_WRITERS1 = 9;
export const D_BASE_TS = 10;
export const D_MAX_TS = 12;
export const D_CREATED_MS = 14;
export const DESCRIPTOR_WORDS = LINE_WORDS;

export const DescriptorState = { NONE: 0, OPEN: 1, CLOSING: 2, CLOSED: 3, RECEIVED: 4 } as const;

// ---------------------------------------------------------------- events and completions
export const EVENT_KIND_SHIFT = 28;
export const EVENT_SLOT_MASK = (1 << EVENT_KIND_SHIFT) - 1;
export const EventKind = { OPENED: 1, CLOSED: 2 } as const;

export const C_PARTITION = 0;
export const C_SEQ = 1;
export const C_FIRST_DELTA = 2;
export const C_COUNT = 3;
export const C_TOTAL = 4;
export const C_ERROR_ID = 5;
/** Float64 (words 6-7). */
export const C_BASE_OFFSET = 6;
/** Float64 (words 8-9). */
export const C_LOG_APPEND_TIME = 8;
export const COMPLETION_WORDS = 10;

/** Words of a ring's head line and tail line (each on its own cache line). */
export const RING_HEAD = 0;
export const RING_TAIL = LINE_WORDS;
export const RING_CELLS = 2 * LINE_WORDS;

for (const f64 of [P_BASE_TS, P_MAX_TS, P_CREATED_MS, D_BASE_TS, D_MAX_TS, D_CREATED_MS, C_BASE_OFFSET, C_LOG_APPEND_TIME]) {
  if (f64 % 2 !== 0) throw new Error('shared-accumulator-layout: a Float64 field must sit on an even word');
}

/** What a layout is computed from (all in the header, so an attaching thread recomputes it). */
export interface SharedLayoutParams {
  readonly maxAppenders: number;
  readonly maxTopics: number;
  readonly maxPartitions: number;
  readonly slotCount: number;
  readonly stashCapacity: number;
  readonly eventCapacity: number;
  readonly completionCapacity: number;
}

/** Where every region lives, for one set of {@link SharedLayoutParams}. */
export interface SharedLayout extends SharedLayoutParams {
  readonly appenderIndex: number;
  readonly topicIndex: number;
  readonly partitionIndex: number;
  readonly mapIndex: number;
  readonly mapWords: number;
  readonly descriptorIndex: number;
  /** Word index of appender 0's rings; appender a's are `appenderRingsIndex + a * appenderRingWords`. */
  readonly appenderRingsIndex: number;
  readonly appenderRingWords: number;
  /** Offsets inside one appender's ring block. */
  readonly eventRingOffset: number;
  readonly stashOffset: number;
  readonly completionRingOffset: number;
  readonly totalWords: number;
  readonly sharedBytes: number;
}

const roundLine = (words: number): number => Math.ceil(words / LINE_WORDS) * LINE_WORDS;
const isPowerOfTwo = (n: number): boolean => Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;

/** The smallest power of two >= n (n >= 1). */
export function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/**
 * Computes the layout.
 * @throws ConfigError when a count is out of range (appenders 2..64, topics and partitions
 *   >= 1, capacities powers of two, event capacity >= 2 × slotCount + 2)
 */
export function computeSharedLayout(p: SharedLayoutParams): SharedLayout {
  if (!Number.isInteger(p.maxAppenders) || p.maxAppenders < 2 || p.maxAppenders > MAX_APPENDERS_LIMIT) {
    throw new ConfigError(`maxAppenders must be an integer in [2, ${MAX_APPENDERS_LIMIT}] (the owner is appender 0), got ${p.maxAppenders}`);
  }
  if (!Number.isInteger(p.maxTopics) || p.maxTopics < 1 || p.maxTopics > 1 << 16) {
    throw new ConfigError(`maxTopics must be an integer in [1, 65536], got ${p.maxTopics}`);
  }
  if (!Number.isInteger(p.maxPartitions) || p.maxPartitions < 1 || p.maxPartitions > 1 << 22) {
    throw new ConfigError(`maxPartitions must be an integer in [1, 4194304], got ${p.maxPartitions}`);
  }
  if (!Number.isInteger(p.slotCount) || p.slotCount < 1 || p.slotCount > EVENT_SLOT_MASK) {
    throw new ConfigError(`slotCount must be an integer in [1, ${EVENT_SLOT_MASK}], got ${p.slotCount}`);
  }
  for (const [name, value] of [['stashCapacity', p.stashCapacity], ['eventCapacity', p.eventCapacity], ['completionCapacity', p.completionCapacity]] as const) {
    if (!isPowerOfTwo(value)) throw new ConfigError(`${name} must be a power of two, got ${value}`);
  }
  if (p.eventCapacity < 2 * p.slotCount + 2) {
    throw new ConfigError(`eventCapacity ${p.eventCapacity} must be at least 2 × slotCount + 2 = ${2 * p.slotCount + 2} (layout invariant 5)`);
  }
  const appenderIndex = HEADER_WORDS;
  const topicIndex = appenderIndex + p.maxAppenders * APPENDER_WORDS;
  const partitionIndex = topicIndex + p.maxTopics * TOPIC_WORDS;
  const mapIndex = partitionIndex + p.maxPartitions * PARTITION_WORDS;
  const mapWords = roundLine(2 * p.maxPartitions);
  const descriptorIndex = mapIndex + mapWords;
  const appenderRingsIndex = descriptorIndex + p.slotCount * DESCRIPTOR_WORDS;
  const eventRingOffset = 0;
  const stashOffset = eventRingOffset + RING_CELLS + roundLine(p.eventCapacity);
  const completionRingOffset = stashOffset + RING_CELLS + roundLine(p.stashCapacity);
  const appenderRingWords = completionRingOffset + RING_CELLS + roundLine(p.completionCapacity * COMPLETION_WORDS);
  const totalWords = appenderRingsIndex + p.maxAppenders * appenderRingWords;
  return {
    ...p,
    appenderIndex,
    topicIndex,
    partitionIndex,
    mapIndex,
    mapWords,
    descriptorIndex,
    appenderRingsIndex,
    appenderRingWords,
    eventRingOffset,
    stashOffset,
    completionRingOffset,
    totalWords,
    sharedBytes: totalWords * 4,
  };
}

/** Word index of appender `id`'s entry. */
export function appenderEntry(layout: SharedLayout, id: number): number {
  return layout.appenderIndex + id * APPENDER_WORDS;
}

/** Word index of topic `t`'s entry. */
export function topicEntry(layout: SharedLayout, t: number): number {
  return layout.topicIndex + t * TOPIC_WORDS;
}

/** Word index of partition entry `p`. */
export function partitionEntry(layout: SharedLayout, p: number): number {
  return layout.partitionIndex + p * PARTITION_WORDS;
}

/** Word index of slot `s`'s descriptor. */
export function descriptorEntry(layout: SharedLayout, s: number): number {
  return layout.descriptorIndex + s * DESCRIPTOR_WORDS;
}

/** Word index of appender `id`'s event ring (its head word). */
export function eventRingOf(layout: SharedLayout, id: number): number {
  return layout.appenderRingsIndex + id * layout.appenderRingWords + layout.eventRingOffset;
}

/** Word index of appender `id`'s slot stash (its head word). */
export function stashOf(layout: SharedLayout, id: number): number {
  return layout.appenderRingsIndex + id * layout.appenderRingWords + layout.stashOffset;
}

/** Word index of appender `id`'s completion ring (its head word). */
export function completionRingOf(layout: SharedLayout, id: number): number {
  return layout.appenderRingsIndex + id * layout.appenderRingWords + layout.completionRingOffset;
}

/** Reads the layout parameters back from a header (attach side). */
export function layoutParamsFrom(control: Int32Array): SharedLayoutParams {
  return {
    maxAppenders: Atomics.load(control, MAX_APPENDERS_INDEX),
    maxTopics: Atomics.load(control, MAX_TOPICS_INDEX),
    maxPartitions: Atomics.load(control, MAX_PARTITIONS_INDEX),
    slotCount: Atomics.load(control, SLOT_COUNT_INDEX),
    stashCapacity: Atomics.load(control, STASH_CAPACITY_INDEX),
    eventCapacity: Atomics.load(control, EVENT_CAPACITY_INDEX),
    completionCapacity: Atomics.load(control, COMPLETION_CAPACITY_INDEX),
  };
}
