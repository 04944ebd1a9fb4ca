/**
 * Idempotent-producer state (Kafka `TransactionManager` without transactions, with its
 * `TxnPartitionMap`/`TxnPartitionEntry`): the producer id and epoch, and per partition the
 * sequence bookkeeping that lets up to 5 requests be in flight without losing order or
 * writing a record twice, whatever the network does.
 *
 * ## The broker's rule, and what it gives us
 *
 * A broker appends a batch of producer (id, epoch) to a partition only if its first
 * sequence is the last appended sequence + 1 (a new epoch must start at 0), and answers a
 * retry of one of the producer's last 5 batches with the original offsets instead of
 * appending it again (`ProducerStateEntry`, `UnifiedLog.analyzeAndValidateProducerState`).
 *
 * Key insight — within one epoch, what the broker has written is a PREFIX of the sequence
 * space. If the broker refuses batch B with OUT_OF_ORDER_SEQUENCE_NUMBER, B was not written
 * (had it been, B would be one of the last 5 batches — rule 2 keeps it so — and the retry
 * would be answered as a duplicate), hence nothing after B was written either (under that
 * epoch); and once every batch before B is acknowledged or given up on, nothing can make B
 * acceptable any more: the gap before it is permanent. That is the one situation where
 * sequences are renumbered (an epoch bump), and the prefix property is what makes it safe —
 * none of the renumbered batches can already be in the log, so resending them under the new
 * epoch duplicates nothing. (UNKNOWN_PRODUCER_ID is trusted the same way, as Kafka trusts
 * it: the broker says it holds nothing of the producer. A broker that answers an error it
 * could not truthfully give — OUT_OF_ORDER for a batch it holds — can make any client
 * write a duplicate; the simulation injects only errors a broker can really answer.)
 *
 * ## Rules (each mirrors Kafka; the comments say where we are stricter)
 *
 * 1. Sequences are assigned when a batch is first drained (`RecordAccumulator.drain`) and
 *    never change on retry; a split batch's parts keep its sequence range.
 * 2. Drain gate ({@link IdempotenceManager.mayDrain}, Kafka
 *    `RecordAccumulator.shouldStopDrainBatchesForPartition`):
 *    - nothing is drained before a producer id is known, or while a new one is being fetched;
 *    - until the broker acknowledged a first batch of the partition's sequence space (a new
 *      producer id or epoch), only one batch is in flight for it. Not in Kafka, and needed:
 *      a broker that has no state for the producer accepts any first sequence (KIP-360,
 *      `ProducerAppendInfo.checkSequence`), so with two first batches in flight, the second
 *      is written when the first fails and is retried — out of order, for good. Cost: one
 *      round trip per partition before pipelining starts (the simulation found this);
 *    - a batch being retried (it has a sequence) is drained only when it is the partition's
 *      first incomplete sequence: retries go one at a time, in order, so a retry can never
 *      overtake an earlier batch;
 *    - a new batch is drained only while fewer than 5 batches were sent since (and
 *      including) the oldest incomplete one, completed ones counted: if that oldest batch was
 *      written but its answer lost, at most 4 batches follow it into the log, so its retry
 *      still falls in the broker's 5-batch duplicate window and is answered, not refused as
 *      OUT_OF_ORDER. Stricter than Kafka, which counts only requests in flight per
 *      connection and relies on the broker answering a connection's requests in order (a
 *      stuck request holds back the answers behind it); with answers in any order — the
 *      embedded cluster, or requests spread over connections after a leader move — batches
 *      7..12 could all be acknowledged while batch 6 hangs, and batch 6's retry would then
 *      fall out of the window (the simulation found this);
 *    - a new batch is not drained while the partition's sequence state is unresolved (a
 *      batch that was sent failed for good: whether the broker has it is unknown), while a
 *      renumbering is pending, or while the partition still has batches of an older epoch.
 * 3. Success (also a late one, for a batch that already expired): `lastAckedSequence` moves.
 * 4. OUT_OF_ORDER_SEQUENCE_NUMBER on a batch that is not the partition's first incomplete
 *    sequence: an earlier batch is still being retried; retry this one after it. On the
 *    first incomplete one: the gap is permanent (see the key insight) — request an epoch
 *    bump that renumbers the partition's incomplete batches from 0. Kafka bumps only when
 *    the batch is `lastAckedSequence + 1`, and otherwise lets every batch after a batch that
 *    expired in retry cycle through OUT_OF_ORDER until it expires too; renumbering as soon
 *    as the gap is certain keeps them.
 * 5. UNKNOWN_PRODUCER_ID: the broker lost the producer's state; bump and renumber (Kafka,
 *    idempotent case of `TransactionManager.canRetry`).
 * 6. A batch that was sent and then failed for good (expired, aborted, non-retriable error,
 *    retries exhausted) leaves the partition unresolved. Once nothing of the partition is
 *    in flight or queued with a sequence, it is resolved: if every assigned sequence was
 *    acknowledged (the failed batch was written after all), nothing changes; otherwise the
 *    epoch is bumped and the partition starts again at 0 (Kafka `maybeResolveSequences`).
 * 7. An epoch bump happens only when no request holding a batch of a partition being
 *    renumbered is outstanding — stricter than Kafka, which rewrites in-flight batches at
 *    once: here every answer is known before renumbering (so no late success can disagree
 *    with it), and a batch's bytes are never rewritten while a request may still read them.
 *    The bump is local (epoch + 1, Kafka KIP-360 `bumpIdempotentEpochAndResetIdIfNeeded`);
 *    at epoch 32767 a new producer id is fetched instead. Other partitions keep sending
 *    their in-flight batches under the old epoch and move to the new one, from sequence 0,
 *    once they have none left (Kafka `maybeUpdateProducerIdAndEpoch`); brokers keep
 *    producer state per partition, so both epochs are valid at once on different partitions.
 */
import type { ProducerBatch } from '../accumulator/producer-batch.js';
import type { ProducerIdAndEpoch, RecordAccumulator } from '../accumulator/record-accumulator.js';
import type { TopicPartition } from '../cluster/topic-partition.js';
import type { ProducerConfig, ProducerConfigInput } from '../config.js';
import { ConfigError } from '../errors.js';
import { incrementSequence, sequenceAfter } from '../format/sequence-number.js';
import { KafkaErrors, kafkaError } from '../protocol/kafka-errors.js';

/** Largest producer epoch (Kafka `Short.MAX_VALUE`): the next bump needs a new producer id. */
export const MAX_PRODUCER_EPOCH = 32767;
/** Kafka allows at most 5 in-flight requests per connection with idempotence (the broker keeps 5 batches per producer). */
export const MAX_IN_FLIGHT_FOR_IDEMPOTENCE = 5;

/** Kafka `ProducerStateEntry.NUM_BATCHES_TO_RETAIN`: the broker recognizes a retry of one of a producer's last 5 batches. */
export const BROKER_DUPLICATE_WINDOW = 5;

/** Inserts `batch` into `list`, kept in sequence order. */
function insertBySequence(list: ProducerBatch[], batch: ProducerBatch): void {
  let i = list.length;
  while (i > 0 && sequenceAfter(list[i - 1].baseSequence, batch.baseSequence)) i--;
  list.splice(i, 0, batch);
}


/**
 * Whether the producer is idempotent, as Kafka 3+ decides (KIP-679): on by default, but
 * `max.in.flight.requests.per.connection` > 5, `acks` other than `all` or `retries` = 0
 * conflict with it — an error when `enable.idempotence` was set explicitly, else idempotence
 * is silently turned off (Kafka `ProducerConfig.postProcessAndValidateIdempotenceConfigs`).
 * @param config - the resolved config
 * @param input - what the user passed (to tell an explicit `enable.idempotence` from the default)
 * @throws ConfigError naming the conflicting setting when idempotence was explicitly enabled
 */
export function resolveIdempotence(config: ProducerConfig, input: ProducerConfigInput): boolean {
  if (!config.enableIdempotence) return false;
  const explicit = input['enableIdempotence'] !== undefined || input['enable.idempotence'] !== undefined;
  let conflict: string | null = null;
  if (config.maxInFlightRequestsPerConnection > MAX_IN_FLIGHT_FOR_IDEMPOTENCE) {
    conflict = `max.in.flight.requests.per.connection must be <= ${MAX_IN_FLIGHT_FOR_IDEMPOTENCE}, got ${config.maxInFlightRequestsPerConnection}`;
  } else if (config.acks !== -1) {
    conflict = `acks must be all (-1), got ${config.acks}`;
  } else if (config.retries === 0) {
    conflict = 'retries must be > 0, got 0';
  }
  if (conflict === null) return true;
  if (explicit) throw new ConfigError(`enable.idempotence=true conflicts with other settings: ${conflict}`);
  return false;
}

/** One partition's sequence state (Kafka `TxnPartitionEntry`). */
interface PartitionSequences {
  readonly topic: string;
  readonly partition: number;
  /** Producer id and epoch of the partition's sequence space; -1 before first use. */
  producerId: number;
  epoch: number;
  /** Last sequence the broker acknowledged in this space; -1 for none. */
  lastAckedSequence: number;
  /** Batches with a sequence that are not complete (queued for retry or in flight), by sequence. */
  readonly incomplete: ProducerBatch[];
  /**
   * Every batch with a sequence drained since the oldest incomplete one, in sequence order,
   * completed ones included (until everything before them completed): the batches that may
   * sit in the broker's duplicate window above the oldest batch whose fate is open.
   */
  window: ProducerBatch[];
  /** Batches of this partition drained and not yet returned by their request (holding or about to hold bytes). */
  outstanding: number;
  /** A sent batch failed for good; whether the broker has it is not known yet (rule 6). */
  unresolved: boolean;
  /** Where this sequence space started. */
  firstSequence: number;
  /** Renumber `incomplete` from 0 at the next epoch bump (rules 4, 5). */
  renumber: boolean;
}

/** What {@link IdempotenceManager.maintain} needs from the caller. */
export type IdempotenceAction = 'none' | 'init-producer-id';

/** The idempotent producer's state machine; one per producer, used by the sender's thread only. */
export class IdempotenceManager {
  readonly #acc: RecordAccumulator;
  #current: ProducerIdAndEpoch | null = null;
  /** A new producer id is needed (first use, or the epoch is exhausted); nothing is drained meanwhile. */
  #needProducerId = true;
  readonly #partitions = new Map<string, PartitionSequences[]>();
  readonly #unresolved = new Set<PartitionSequences>();
  readonly #toRenumber = new Set<PartitionSequences>();
  #bumpRequested = false;
  #bumps = 0;

  readonly #firstSequence: number;

  /**
   * @param accumulator - whose drain assigns the sequences (its producer id is kept in step)
   * @param firstSequence - where a partition's sequences start under a new producer id (Kafka: 0)
   */
  constructor(accumulator: RecordAccumulator, firstSequence = 0) {
    this.#acc = accumulator;
    this.#firstSequence = firstSequence;
  }

  /** The producer id and epoch new batches get; null before InitProducerId answered. */
  get producerIdAndEpoch(): ProducerIdAndEpoch | null {
    return this.#current;
  }

  /** Epoch bumps so far (for tests and logs). */
  get epochBumps(): number {
    return this.#bumps;
  }

  /** Whether the sender must fetch a producer id (InitProducerId) before anything is drained. */
  needsProducerId(): boolean {
    return this.#needProducerId;
  }

  /**
   * Takes the answer of InitProducerId. After an exhausted epoch, also performs the pending
   * renumbering under the new id.
   */
  setProducerIdAndEpoch(value: ProducerIdAndEpoch): void {
    const first = this.#current === null;
    this.#needProducerId = false;
    if (first) {
      this.#current = value;
      this.#acc.setProducerIdAndEpoch(value);
    } else {
      this.#apply(value);
    }
  }

  /** The drain gate (rule 2); see the file comment. */
  mayDrain(tp: TopicPartition, head: ProducerBatch): boolean {
    const cur = this.#current;
    if (cur === null || this.#needProducerId) return false;
    const s = this.#entry(tp.topic, tp.partition);
    if ((s.producerId !== cur.producerId || s.epoch !== cur.epoch) && s.incomplete.length === 0 && s.outstanding === 0) {
      this.#adopt(s, cur);
    }
    if (s.renumber) return false;
    if (head.baseSequence < 0) {
      if (s.producerId !== cur.producerId || s.epoch !== cur.epoch || s.unresolved) return false;
      // Until the broker has acknowledged something of this sequence space, one batch at a
      // time: a broker with no state for the producer accepts ANY first sequence (KIP-360),
      // so a second batch could be written before a first one that is being retried.
      if (s.lastAckedSequence < 0 && s.incomplete.length > 0) return false;
      // The duplicate window (rule 2): the oldest incomplete batch and every batch sent after it.
      this.#slide(s);
      return s.window.length < BROKER_DUPLICATE_WINDOW;
    }
    return s.incomplete[0] === head;
  }

  /** A batch was drained (it has its sequence now, when idempotence applies to it). */
  onDrained(batch: ProducerBatch): void {
    const s = this.#entry(batch.topic, batch.partition);
    s.outstanding++;
    // A batch that already failed — an inline seal fails inside drain, after the sequence
    // was assigned — was handed to onFailed (rule 6): listing it as incomplete now would
    // keep it there for good and hold back every batch of the partition until it expires.
    if (batch.baseSequence < 0 || batch.isDone || s.incomplete.includes(batch)) return;
    insertBySequence(s.incomplete, batch);
    insertBySequence(s.window, batch);
  }

  /** The request that took `batch` (at drain) is finished with it: answered and settled, or never sent. */
  onReturned(batch: ProducerBatch): void {
    this.#entry(batch.topic, batch.partition).outstanding--;
  }

  /** The broker acknowledged `batch` — possibly after it expired here (rule 3). */
  onAcked(batch: ProducerBatch): void {
    const s = this.#entry(batch.topic, batch.partition);
    this.#removeIncomplete(s, batch);
    if (batch.baseSequence < 0 || batch.producerId !== s.producerId || batch.producerEpoch !== s.epoch) return;
    const last = incrementSequence(batch.baseSequence, batch.recordCount - 1);
    if (s.lastAckedSequence < 0 || sequenceAfter(last, s.lastAckedSequence)) s.lastAckedSequence = last;
  }

  /** `batch` failed for good (rule 6). */
  onFailed(batch: ProducerBatch): void {
    const s = this.#entry(batch.topic, batch.partition);
    this.#removeIncomplete(s, batch);
    if (batch.baseSequence < 0 || batch.producerId !== s.producerId || batch.producerEpoch !== s.epoch) return;
    s.unresolved = true;
    this.#unresolved.add(s);
  }

  /** `parent` was split into `children`, which carry its sequence range (rule 1). */
  onSplit(parent: ProducerBatch, children: readonly ProducerBatch[]): void {
    const s = this.#entry(parent.topic, parent.partition);
    const i = s.incomplete.indexOf(parent);
    if (i >= 0) s.incomplete.splice(i, 1, ...children);
    const w = s.window.indexOf(parent);
    if (w >= 0) s.window.splice(w, 1, ...children);
  }

  /**
   * Whether a batch that got `errorCode` may be retried, as far as idempotence is concerned
   * (Kafka `TransactionManager.canRetry`); may request an epoch bump (rules 4, 5). The caller
   * still checks `retries` and the delivery timeout.
   */
  canRetry(batch: ProducerBatch, errorCode: number): boolean {
    const s = this.#entry(batch.topic, batch.partition);
    if (errorCode === KafkaErrors.OUT_OF_ORDER_SEQUENCE_NUMBER.code) {
      if (batch.baseSequence >= 0 && s.incomplete[0] === batch) this.#requestRenumber(s);
      return true;
    }
    if (errorCode === KafkaErrors.UNKNOWN_PRODUCER_ID.code) {
      if (batch.baseSequence >= 0) this.#requestRenumber(s);
      return true;
    }
    return kafkaError(errorCode).retriable;
  }

  /**
   * Resolves partitions and performs a pending epoch bump when it is safe (rules 6, 7).
   * Call at the start of every sender loop, before drain.
   * @returns `'init-producer-id'` when a new producer id must be fetched (then pass it to
   *   {@link setProducerIdAndEpoch}), else `'none'`
   */
  maintain(): IdempotenceAction {
    const cur = this.#current;
    if (cur === null || this.#needProducerId) return 'init-producer-id';
    for (const s of this.#unresolved) {
      if (s.outstanding > 0 || s.incomplete.length > 0) continue;
      if (s.producerId !== cur.producerId || s.epoch !== cur.epoch) continue; // adoption at drain clears it
      const next = this.#acc.sequenceFor(s);
      if (incrementSequence(s.lastAckedSequence, 1) === next || (s.lastAckedSequence < 0 && next === s.firstSequence)) {
        s.unresolved = false;
        this.#unresolved.delete(s);
      } else {
        this.#bumpRequested = true;
      }
    }
    if (!this.#bumpRequested) return 'none';
    for (const s of this.#toRenumber) if (s.outstanding > 0) return 'none';
    if (cur.epoch >= MAX_PRODUCER_EPOCH) {
      this.#needProducerId = true;
      return 'init-producer-id';
    }
    this.#apply({ producerId: cur.producerId, epoch: cur.epoch + 1 });
    return 'none';
  }

  /** Moves to `next` and renumbers the partitions waiting for it. */
  #apply(next: ProducerIdAndEpoch): void {
    this.#current = next;
    this.#acc.setProducerIdAndEpoch(next);
    this.#bumps++;
    for (const s of this.#toRenumber) {
      let seq = 0;
      for (const b of s.incomplete) {
        b.setProducerState(next.producerId, next.epoch, seq, false);
        seq = incrementSequence(seq, b.recordCount);
      }
      s.producerId = next.producerId;
      s.epoch = next.epoch;
      s.window = [...s.incomplete];
      s.firstSequence = 0;
      s.lastAckedSequence = -1;
      s.unresolved = false;
      s.renumber = false;
      this.#unresolved.delete(s);
      this.#acc.resetSequence(s, seq);
    }
    this.#toRenumber.clear();
    this.#bumpRequested = false;
  }

  /**
   * Starts the partition's sequence space over in the current epoch (nothing of it is
   * incomplete): at `firstSequence` under a producer id the partition never saw, at 0 in a
   * bumped epoch (the broker demands 0 there).
   */
  #adopt(s: PartitionSequences, cur: ProducerIdAndEpoch): void {
    const first = s.producerId === cur.producerId ? 0 : this.#firstSequence;
    s.firstSequence = first;
    s.window = [];
    s.producerId = cur.producerId;
    s.epoch = cur.epoch;
    s.lastAckedSequence = -1;
    s.unresolved = false;
    this.#unresolved.delete(s);
    this.#acc.resetSequence(s, first);
  }

  #requestRenumber(s: PartitionSequences): void {
    s.renumber = true;
    this.#toRenumber.add(s);
    this.#bumpRequested = true;
  }

  #removeIncomplete(s: PartitionSequences, batch: ProducerBatch): void {
    const i = s.incomplete.indexOf(batch);
    if (i >= 0) s.incomplete.splice(i, 1);
    this.#slide(s);
  }

  /** Drops completed batches from the front of the duplicate window. */
  #slide(s: PartitionSequences): void {
    while (s.window.length > 0 && !s.incomplete.includes(s.window[0])) s.window.shift();
  }

  #entry(topic: string, partition: number): PartitionSequences {
    let byPartition = this.#partitions.get(topic);
    if (byPartition === undefined) {
      byPartition = [];
      this.#partitions.set(topic, byPartition);
    }
    return (byPartition[partition] ??= {
      topic,
      partition,
      producerId: -1,
      epoch: -1,
      lastAckedSequence: -1,
      incomplete: [],
      window: [],
      outstanding: 0,
      unresolved: false,
      renumber: false,
      firstSequence: 0,
    });
  }
}
