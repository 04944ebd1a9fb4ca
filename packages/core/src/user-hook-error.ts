/**
 * User code is a fault domain: an exception thrown by a hook the user handed in — a record
 * callback, a batch listener, a logger, an event listener — is caught where the hook is
 * called, reported here, and the engine carries on (the other records of the batch still
 * complete, the response is still handled, memory still returns). Kafka wraps callbacks and
 * interceptors the same way; kafkajs crashing on a throwing listener is a known complaint.
 *
 * Reported once per kind of hook per process, as a process warning — a callback that throws
 * for every record must not print a million stack traces — and counted afterwards.
 */

/** The kinds of user hooks Sluice calls. */
export type UserHookKind = 'record callback' | 'batchListener' | 'logger' | 'event listener';

const counts: Record<UserHookKind, number> = { 'record callback': 0, batchListener: 0, logger: 0, 'event listener': 0 };

/** Where the one report per kind goes instead of a process warning (a producer's logger), if any. */
let reportTo: { warn?(message: string, fields?: Readonly<Record<string, unknown>>): void } | null = null;

/**
 * Sends the reports to `logger.warn` instead of process warnings (the latest producer built
 * with a logger sets it; the reports are per process, as the counts are).
 */
export function setUserHookLogger(logger: { warn?(message: string, fields?: Readonly<Record<string, unknown>>): void } | null): void {
  reportTo = logger;
}

/**
 * Reports an exception a user hook threw — to the logger set with {@link setUserHookLogger},
 * else as a process warning (type `SluiceUserHookWarning`) — the first time for each kind,
 * and counts it every time.
 */
export function reportUserHookError(kind: UserHookKind, err: unknown): void {
  if (counts[kind]++ !== 0) return;
  const message = `a ${kind} threw; Sluice carried on (further throws of ${kind}s are counted, not printed — see userHookErrorCounts()): ${(err as Error)?.stack ?? String(err)}`;
  // A logger that throws while reporting a throwing logger would loop: that one goes to the process.
  if (reportTo?.warn !== undefined && kind !== 'logger') {
    try {
      reportTo.warn(`sluice: ${message}`);
      return;
    } catch {
      counts.logger++;
    }
  }
  process.emitWarning(message, 'SluiceUserHookWarning');
}

/** How many exceptions each kind of user hook has thrown in this process. */
export function userHookErrorCounts(): Readonly<Record<UserHookKind, number>> {
  return { ...counts };
}
