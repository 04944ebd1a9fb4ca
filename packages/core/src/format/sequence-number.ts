/**
 * Idempotent-producer sequence numbers, as RecordBatch v2 carries them (`baseSequence`, an
 * int32): the one definition of their wrap-around and order, used by the accumulator (drain
 * assigns, split and re-enqueue keep order), the idempotence manager and the embedded broker.
 *
 * The space is 0 .. 2^31 − 1 and wraps to 0 (Kafka `DefaultRecordBatch.incrementSequence`;
 * the broker's `ProducerAppendInfo.inSequence` accepts 0 after 2^31 − 1). "After" is
 * therefore circular: `a` comes after `b` when it lies less than half the space ahead of it.
 * A plain `<` is wrong as soon as a partition's sequences wrap: the batch with sequence 3
 * comes after the one with 2^31 − 5. No more than 5 batches per partition are ever between
 * the oldest incomplete batch and the newest (the broker's duplicate window), so the
 * half-space rule is never ambiguous in practice.
 */

/** Largest sequence number (Kafka `Integer.MAX_VALUE`); the next one is 0. */
export const MAX_SEQUENCE = 2147483647;
/** Number of distinct sequence numbers (2^31). */
const SEQUENCE_SPACE = 2147483648;
/** Half the space: `a` is after `b` when it is fewer than this many steps ahead. */
const HALF_SPACE = 1073741824;

/**
 * `sequence + increment`, wrapping after {@link MAX_SEQUENCE} to 0.
 * @param sequence - a sequence number (0 .. MAX_SEQUENCE)
 * @param increment - records to step over (>= 0)
 */
export function incrementSequence(sequence: number, increment: number): number {
  const next = sequence + increment;
  return next > MAX_SEQUENCE ? next - SEQUENCE_SPACE : next;
}

/** Whether sequence `a` comes strictly after `b`, across the wrap (within half the space). */
export function sequenceAfter(a: number, b: number): boolean {
  const steps = (a - b + SEQUENCE_SPACE) % SEQUENCE_SPACE;
  return steps > 0 && steps < HALF_SPACE;
}

/** Whether `next` directly follows `last` (Kafka `ProducerAppendInfo.inSequence`). */
export function inSequence(last: number, next: number): boolean {
  return next === incrementSequence(last, 1);
}
