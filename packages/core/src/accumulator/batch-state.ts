/**
 * The life of a {@link ProducerBatch}, one explicit state machine.
 *
 * ```
 *   APPENDING ──close+seal──▶ SEALING ──▶ SEALED ──drain/send──▶ IN_FLIGHT ──ack──▶ SUCCEEDED
 *       │                        │           ▲                      │
 *       │                        │           └──── retriable error ─┘
 *       └────────────┴───────────┴──────────────────┴──▶ FAILED | ABORTED   (any non-final state)
 * ```
 *
 * | from       | to                                   | who                                  |
 * |------------|--------------------------------------|--------------------------------------|
 * | APPENDING  | SEALING, FAILED, ABORTED             | accumulator (close), abort/expiry    |
 * | SEALING    | SEALED, FAILED, ABORTED              | sealer callback, abort/expiry        |
 * | SEALED     | IN_FLIGHT, FAILED, ABORTED           | sender, abort/expiry                 |
 * | IN_FLIGHT  | SEALED, SUCCEEDED, FAILED, ABORTED   | sender (retry / response), expiry    |
 * | final      | (none)                               |                                      |
 *
 * A batch reaches exactly one final state, once: that is where its records complete.
 * Its memory goes back to the pool only when it is final AND nothing reads its bytes any
 * more (no seal in progress, no request holding it) — see `ProducerBatch#release`.
 */
import { IllegalStateError } from '../errors.js';

export const BatchState = {
  APPENDING: 0,
  SEALING: 1,
  SEALED: 2,
  IN_FLIGHT: 3,
  SUCCEEDED: 4,
  FAILED: 5,
  ABORTED: 6,
} as const;

/** One of {@link BatchState}'s values. */
export type BatchStateValue = (typeof BatchState)[keyof typeof BatchState];

const NAMES = ['APPENDING', 'SEALING', 'SEALED', 'IN_FLIGHT', 'SUCCEEDED', 'FAILED', 'ABORTED'] as const;

/** Name of a state, for messages. */
export function batchStateName(s: BatchStateValue): string {
  return NAMES[s];
}

const S = BatchState;
// ALLOWED[from] is a bit set of the states `from` may move to.
const ALLOWED: readonly number[] = [
  /* APPENDING */ (1 << S.SEALING) | (1 << S.FAILED) | (1 << S.ABORTED),
  /* SEALING   */ (1 << S.SEALED) | (1 << S.FAILED) | (1 << S.ABORTED),
  /* SEALED    */ (1 << S.IN_FLIGHT) | (1 << S.FAILED) | (1 << S.ABORTED),
  /* IN_FLIGHT */ (1 << S.SEALED) | (1 << S.SUCCEEDED) | (1 << S.FAILED) | (1 << S.ABORTED),
  0,
  0,
  0,
];

/** Whether `s` is final (SUCCEEDED, FAILED, ABORTED). */
export function isFinalState(s: BatchStateValue): boolean {
  return s >= S.SUCCEEDED;
}

/**
 * Checks a transition against the table.
 * @param what - names the batch in the error; converted to a string only when the check fails,
 *   so the hot path builds no message
 * @throws IllegalStateError naming both states when the table does not allow it
 */
export function checkTransition(from: BatchStateValue, to: BatchStateValue, what: { toString(): string }): void {
  if ((ALLOWED[from] & (1 << to)) === 0) {
    throw new IllegalStateError(`${String(what)}: illegal batch transition ${NAMES[from]} -> ${NAMES[to]}`);
  }
}
