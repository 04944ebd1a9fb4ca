/**
 * A seeded, timed list of faults for deterministic simulation of the producer against the
 * {@link InMemoryCluster}: injected error codes, latency changes, leader moves, brokers
 * going down and up, lost requests. `FaultSchedule.random(seed, …)` gives the same list
 * for the same seed and options, so a failing simulation is replayed from its seed alone
 * (print `schedule.toString()` with the failure).
 *
 * Guarantees of {@link FaultSchedule.random}, so that a correct producer always converges:
 * - every `brokerDown` has a matching `brokerUp` no later than `durationMs`;
 * - with `keepOneBrokerUp` (default) at least one broker is up at every moment;
 * - leaders only move to brokers that are up at that moment;
 * - when the latency was changed, it is set back to `baseLatencyMs` at `durationMs`;
 * - error codes come from `errorCodes`, by default only retriable ones.
 * After `durationMs`, the cluster is healthy again (apart from leaders having moved).
 */
import type { Scheduler, TimerHandle } from '../clock.js';
import { KafkaErrors } from '../protocol/kafka-errors.js';
import type { InMemoryCluster } from './in-memory-cluster.js';
import type { RandomSource } from './seeded-random.js';
import { randomInt, seededRandom } from './seeded-random.js';

/** One fault, `atMs` after the schedule is applied. */
export type FaultEvent =
  | { readonly atMs: number; readonly kind: 'error'; readonly topic: string; readonly partition: number; readonly errorCodes: readonly number[] }
  | { readonly atMs: number; readonly kind: 'latency'; readonly latencyMs: number }
  | { readonly atMs: number; readonly kind: 'moveLeader'; readonly topic: string; readonly partition: number; readonly toNodeId: number }
  | { readonly atMs: number; readonly kind: 'brokerDown'; readonly nodeId: number }
  | { readonly atMs: number; readonly kind: 'brokerUp'; readonly nodeId: number }
  | { readonly atMs: number; readonly kind: 'requestTimeout'; readonly nodeId: number; readonly count: number; readonly appended: boolean };

/** The kinds of {@link FaultEvent}. */
export type FaultKind = FaultEvent['kind'];

/** The kinds {@link FaultSchedule.random} draws (a `brokerUp` always follows its `brokerDown`). */
export type RandomFaultKind = Exclude<FaultKind, 'brokerUp'>;

/** What a schedule acts on: the fault-injection methods of {@link InMemoryCluster}. */
export type FaultTarget = Pick<InMemoryCluster, 'injectErrors' | 'setLatency' | 'moveLeader' | 'setBrokerDown' | 'injectRequestTimeout'>;

/** Options of {@link FaultSchedule.random}. */
export interface RandomFaultScheduleOptions {
  /** Faults start within [0, durationMs). */
  durationMs: number;
  /** Broker ids of the cluster (`InMemoryCluster.brokerIds()`). */
  brokers: readonly number[];
  /** Topic → partition count (`InMemoryCluster.topicPartitionCounts()`). */
  topics: Record<string, number>;
  /** Number of faults drawn (default 20); each `brokerDown` brings its own `brokerUp` on top. */
  events?: number;
  /** Relative weight of each kind (default 1 each; 0 disables a kind). */
  weights?: Partial<Record<RandomFaultKind, number>>;
  /** Codes drawn for `error` faults (default the retriable ones a producer meets). */
  errorCodes?: readonly number[];
  /** Most codes injected by one `error` fault (default 3). */
  maxErrorsPerEvent?: number;
  /** Latency drawn in [0, maxLatencyMs] (default 50). */
  maxLatencyMs?: number;
  /** Latency restored at `durationMs` (default 0). */
  baseLatencyMs?: number;
  /** A broker stays down for [1, maxDowntimeMs] ms, ending by `durationMs` (default 1000). */
  maxDowntimeMs?: number;
  /** Most requests lost by one `requestTimeout` fault (default 2). */
  maxTimeoutsPerEvent?: number;
  /** Never take the last live broker down (default true). */
  keepOneBrokerUp?: boolean;
}

/** Retriable errors a producer meets, injected by default. */
export const DEFAULT_FAULT_ERROR_CODES: readonly number[] = Object.freeze([
  KafkaErrors.NOT_LEADER_OR_FOLLOWER.code,
  KafkaErrors.LEADER_NOT_AVAILABLE.code,
  KafkaErrors.REQUEST_TIMED_OUT.code,
  KafkaErrors.NOT_ENOUGH_REPLICAS.code,
  KafkaErrors.NOT_ENOUGH_REPLICAS_AFTER_APPEND.code,
  KafkaErrors.KAFKA_STORAGE_ERROR.code,
  KafkaErrors.CORRUPT_MESSAGE.code,
]);

/** A cancellable application of a schedule. */
export interface AppliedFaultSchedule {
  /** Cancels the events not applied yet. */
  cancel(): void;
  /** Number of events applied so far. */
  readonly appliedEvents: number;
}

const RANDOM_KINDS: readonly RandomFaultKind[] = ['error', 'latency', 'moveLeader', 'brokerDown', 'requestTimeout'];

/** A timed list of faults; build one with {@link FaultSchedule.random} or from events. */
export class FaultSchedule {
  /** The events, ordered by `atMs` (ties keep their given order). */
  readonly events: readonly FaultEvent[];
  /** The seed it was drawn from, or null for a hand-written schedule. */
  readonly seed: number | null;

  /**
   * @param events - in any order; sorted by `atMs` (stable)
   * @throws RangeError when an event's `atMs` is negative or not finite
   */
  constructor(events: readonly FaultEvent[], seed: number | null = null) {
    for (const e of events) {
      if (!(e.atMs >= 0) || !Number.isFinite(e.atMs)) throw new RangeError(`FaultSchedule: event ${e.kind} has atMs ${e.atMs}; must be finite and >= 0`);
    }
    this.events = Object.freeze(
      events
        .map((e, i) => ({ e, i }))
        .sort((a, b) => a.e.atMs - b.e.atMs || a.i - b.i)
        .map(({ e }) => e),
    );
    this.seed = seed;
  }

  /**
   * Draws a schedule from `seed` (mulberry32): the same seed and options always give the
   * same events. See the file comment for what it guarantees.
   * @throws RangeError when the options leave nothing to draw from (no brokers, no topics
   *   with a non-zero `error`/`moveLeader` weight, all weights 0, non-positive durationMs)
   */
  static random(seed: number, options: RandomFaultScheduleOptions): FaultSchedule {
    const o = {
      events: 20,
      errorCodes: DEFAULT_FAULT_ERROR_CODES,
      maxErrorsPerEvent: 3,
      maxLatencyMs: 50,
      baseLatencyMs: 0,
      maxDowntimeMs: 1000,
      maxTimeoutsPerEvent: 2,
      keepOneBrokerUp: true,
      ...options,
    };
    if (!(o.durationMs > 0)) throw new RangeError(`FaultSchedule.random: durationMs must be > 0, got ${o.durationMs}`);
    if (o.brokers.length === 0) throw new RangeError('FaultSchedule.random: no brokers given');
    const partitions: [string, number][] = [];
    for (const [topic, count] of Object.entries(o.topics)) for (let p = 0; p < count; p++) partitions.push([topic, p]);
    const weights = RANDOM_KINDS.map((k) => o.weights?.[k] ?? 1);
    if ((weights[0] > 0 || weights[2] > 0) && partitions.length === 0) {
      throw new RangeError('FaultSchedule.random: error and moveLeader faults need topics; none given (or give them weight 0)');
    }
    if (weights[0] > 0 && o.errorCodes.length === 0) throw new RangeError('FaultSchedule.random: errorCodes is empty');
    if (!(weights.reduce((a, b) => a + b, 0) > 0)) throw new RangeError('FaultSchedule.random: every fault kind has weight 0');
    const weightsWithoutDown = weights.map((w, i) => (RANDOM_KINDS[i] === 'brokerDown' ? 0 : w));

    const random = seededRandom(seed);
    const times = Array.from({ length: o.events }, () => Math.floor(random() * o.durationMs)).sort((a, b) => a - b);
    const events: FaultEvent[] = [];
    /** Broker id → time it comes back up. */
    const downUntil = new Map<number, number>();
    let latencyChanged = false;

    for (const atMs of times) {
      for (const [id, upAt] of downUntil) if (upAt <= atMs) downUntil.delete(id);
      const up = o.brokers.filter((id) => !downUntil.has(id));
      const canTakeDown = up.length > (o.keepOneBrokerUp ? 1 : 0);
      const kind = canTakeDown ? pickKind(random, weights) : pickKind(random, weightsWithoutDown);
      if (kind === null) continue; // only brokerDown has weight, and no broker may go down now
      switch (kind) {
        case 'error': {
          const [topic, partition] = partitions[randomInt(random, partitions.length)];
          const n = 1 + randomInt(random, o.maxErrorsPerEvent);
          const errorCodes = Array.from({ length: n }, () => o.errorCodes[randomInt(random, o.errorCodes.length)]);
          events.push({ atMs, kind, topic, partition, errorCodes });
          break;
        }
        case 'latency':
          events.push({ atMs, kind, latencyMs: randomInt(random, o.maxLatencyMs + 1) });
          latencyChanged = true;
          break;
        case 'moveLeader': {
          const [topic, partition] = partitions[randomInt(random, partitions.length)];
          const targets = up.length > 0 ? up : o.brokers;
          events.push({ atMs, kind, topic, partition, toNodeId: targets[randomInt(random, targets.length)] });
          break;
        }
        case 'brokerDown': {
          const nodeId = up[randomInt(random, up.length)];
          const upAt = Math.min(atMs + 1 + randomInt(random, o.maxDowntimeMs), o.durationMs);
          downUntil.set(nodeId, upAt);
          events.push({ atMs, kind, nodeId }, { atMs: upAt, kind: 'brokerUp', nodeId });
          break;
        }
        case 'requestTimeout':
          events.push({
            atMs,
            kind,
            nodeId: o.brokers[randomInt(random, o.brokers.length)],
            count: 1 + randomInt(random, o.maxTimeoutsPerEvent),
            appended: random() < 0.5,
          });
          break;
      }
    }
    if (latencyChanged) events.push({ atMs: o.durationMs, kind: 'latency', latencyMs: o.baseLatencyMs });
    return new FaultSchedule(events, seed);
  }

  /** Applies one event to `target` now. */
  static applyEvent(target: FaultTarget, e: FaultEvent): void {
    switch (e.kind) {
      case 'error':
        target.injectErrors(e.topic, e.partition, e.errorCodes);
        break;
      case 'latency':
        target.setLatency(e.latencyMs);
        break;
      case 'moveLeader':
        target.moveLeader(e.topic, e.partition, e.toNodeId);
        break;
      case 'brokerDown':
        target.setBrokerDown(e.nodeId, true);
        break;
      case 'brokerUp':
        target.setBrokerDown(e.nodeId, false);
        break;
      case 'requestTimeout':
        target.injectRequestTimeout(e.nodeId, e.count, { appended: e.appended });
        break;
    }
  }

  /**
   * Schedules every event on `scheduler`, `atMs` after now (events at 0 fire on the next
   * timer run, not synchronously).
   * @param onEvent - called after each event is applied (for simulation logs)
   * @returns a handle to cancel the events not applied yet
   */
  apply(target: FaultTarget, scheduler: Scheduler, onEvent?: (e: FaultEvent) => void): AppliedFaultSchedule {
    const handles: TimerHandle[] = [];
    let applied = 0;
    for (const e of this.events) {
      handles.push(
        scheduler.setTimeout(() => {
          FaultSchedule.applyEvent(target, e);
          applied++;
          onEvent?.(e);
        }, e.atMs),
      );
    }
    return {
      cancel: () => {
        for (const h of handles) scheduler.clearTimeout(h);
        handles.length = 0;
      },
      get appliedEvents() {
        return applied;
      },
    };
  }

  /** One line per event (`+120ms brokerDown node=1`), headed by the seed: print it with a failing simulation. */
  toString(): string {
    const lines = [`FaultSchedule seed=${this.seed ?? 'none'} events=${this.events.length}`];
    for (const e of this.events) {
      const { atMs, kind, ...rest } = e;
      const fields = Object.entries(rest)
        .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : String(v)}`)
        .join(' ');
      lines.push(`+${atMs}ms ${kind} ${fields}`);
    }
    return lines.join('\n');
  }
}

/** A kind drawn with probability proportional to its weight; null when every weight is 0. */
function pickKind(random: RandomSource, weights: readonly number[]): RandomFaultKind | null {
  let total = 0;
  for (const w of weights) total += w;
  if (!(total > 0)) return null;
  let r = random() * total;
  for (let i = 0; i < RANDOM_KINDS.length; i++) {
    r -= weights[i];
    if (r < 0 && weights[i] > 0) return RANDOM_KINDS[i];
  }
  // Floating-point leftovers: the last kind with a weight.
  for (let i = RANDOM_KINDS.length - 1; i >= 0; i--) if (weights[i] > 0) return RANDOM_KINDS[i];
  return null;
}
