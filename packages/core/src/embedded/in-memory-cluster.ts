/**
 * An in-process Kafka-like cluster behind the {@link NetworkClient} contract: the transport
 * half of the embedded cluster — per-node connections with latency, in-flight limits, request
 * timeouts, lost requests and answers, brokers down — over {@link InMemoryBrokers}, the broker
 * half that decides what brokers answer (produce validation, logs, producer state, metadata).
 * It is the default target of the perf harness and of the sender's deterministic simulations
 * — an in-process broker, not a mock (franz-go `kfake`, librdkafka `rdkafka_mock`).
 *
 * Request life cycle (`send`, acks 1 / -1), with one-way latency `L` of the target node:
 * ```
 *   t0        send: in flight += 1
 *   t0 + L    arrival: the brokers read the request's bytes and append (or reject) —
 *             the only moment `records` (pool memory) is read, always before the promise
 *             settles (NetworkClient contract, KAFKA-17862)
 *   t0 + 2L   response: the promise resolves, in flight -= 1
 *   t0 + T    (only if the answer would come at or after T = request.timeoutMs, or a
 *             timeout was injected) the promise rejects with a retriable TimeoutError; a
 *             request that arrived before T was appended all the same, as with a real broker
 * ```
 * Requests to one node arrive in the order they were sent and are answered in that order
 * (a later one waits for an earlier one when the latency dropped in between), as on one
 * Kafka connection. `send` when `ready` is false rejects with IllegalStateError, so a
 * sender that ignores the in-flight limit fails its tests.
 * acks=0: the bytes are copied at `send` (the socket write) and the promise resolves on the
 * next tick with `baseOffset -1`; the brokers append the copy at `t0 + L`, and nobody hears
 * about a failure. A broker that is down rejects requests to it after `L` with a retriable
 * `NETWORK_EXCEPTION` BrokerError, and its in-flight requests at once with the same error
 * (those that already arrived stay appended).
 *
 * With latency 0 on the system scheduler, arrival and answer each happen on a next
 * macrotask (`setImmediate`, coalesced: one per event-loop turn for all requests) — not
 * `setTimeout(0)`, which Node raises to 1 ms and which would cap throughput. On any other
 * scheduler (the {@link VirtualScheduler}) every delay, 0 included, is a scheduler timer,
 * so simulations stay deterministic.
 *
 * Metadata and InitProducerId go to the lowest-numbered live broker after a round trip; the
 * producer learns about topics and leader moves only through them, like a real producer.
 */
import { IndexedSet } from '../collections/indexed-set.js';
import type { IndexSlot } from '../collections/indexed-set.js';
import type { Scheduler, TimerHandle } from '../clock.js';
import { systemScheduler } from '../clock.js';
import { ClosedError, IllegalStateError, TimeoutError } from '../errors.js';
import type { SluiceError } from '../errors.js';
import type { DecodedRecord } from '../format/record-batch-reader.js';
import type {
  InitProducerIdResponse,
  MetadataRequest,
  MetadataResponse,
  NetworkClient,
  ProducePartitionResponse,
  ProduceRequest,
} from '../network/network-client.js';
import { KafkaErrors, brokerErrorFor } from '../protocol/kafka-errors.js';
import type { AcceptedBatch, InMemoryBrokersOptions } from './in-memory-brokers.js';
import { InMemoryBrokers } from './in-memory-brokers.js';

export type { AcceptedBatch } from './in-memory-brokers.js';

/** Options of {@link InMemoryCluster}. */
export interface InMemoryClusterOptions extends Omit<InMemoryBrokersOptions, 'brokerIds'> {
  /** Broker count (ids 0..n-1) or explicit broker ids; default 3 brokers, ids 0..2. */
  brokers?: number | readonly number[];
  /** Topics to create: name → partition count; leaders assigned round robin over the brokers. */
  topics?: Record<string, number>;
  /** Time and timers; default the system scheduler, a `VirtualScheduler` for simulations. */
  scheduler?: Scheduler;
  /** One-way latency per request in ms, fixed or per node; default 0 (next macrotask). */
  latencyMs?: number | ((nodeId: number) => number);
  /** `ready` limit per node (Kafka `max.in.flight.requests.per.connection`; default 5). */
  maxInFlightRequestsPerConnection?: number;
}

/** Counters of a cluster's traffic. */
export interface InMemoryClusterStats {
  /** Produce requests sent. */
  requests: number;
  /** Batches appended (duplicates answered from producer state are not counted). */
  batches: number;
  /** Records appended. */
  records: number;
  /** Bytes of batches appended. */
  bytes: number;
  /** Partition responses with an error, by Kafka error name. */
  rejected: Record<string, number>;
  /** Requests failed as a whole: broker down, timed out, closed. */
  failedRequests: number;
}

/** How the next timed-out request of a node behaves: lost on the way, or appended with the answer lost. */
export interface InjectRequestTimeoutOptions {
  /** The broker appends the request before the answer is lost (default false: the request never arrives). */
  appended?: boolean;
}

interface PendingRequest {
  readonly request: ProduceRequest;
  readonly resolve: (r: ProducePartitionResponse[]) => void;
  readonly reject: (e: Error) => void;
  readonly sentAtMs: number;
  readonly timeoutMs: number;
  settled: boolean;
  /** A pending non-lane step (failure of a request to a down broker, acks=0 hand-off). */
  step: TimerHandle | null;
  /** The request-timeout timer, armed only once the answer is known to come too late. */
  deadline: TimerHandle | null;
  /** Position in its broker's `inFlight`; -1 when not in it. */
  index: number;
}

const PENDING_SLOT: IndexSlot<PendingRequest> = {
  get: (p) => p.index,
  set: (p, i) => void (p.index = i),
};

/** One broker's connection as the transport sees it. */
interface BrokerLink {
  readonly id: number;
  down: boolean;
  /** An IndexedSet, not a Set: it churns per request (see indexed-set.ts). */
  readonly inFlight: IndexedSet<PendingRequest>;
  /** Injected timeouts, oldest first: whether each is appended before the answer is lost. */
  readonly timeouts: boolean[];
  /** Requests on their way to the broker, and answers on their way back: each in order. */
  readonly arrivals: Lane;
  readonly responses: Lane;
}

/**
 * One direction of one broker connection. Deliveries run in the order they were pushed,
 * each no earlier than its due time: a request never overtakes an earlier one, even when
 * the latency dropped in between — as on a TCP connection to a Kafka broker, which handles
 * one request per connection at a time and answers in order. (Per-request timers would
 * reorder them; producer idempotence would then see sequence gaps a real broker never shows.)
 */
class Lane {
  #queue: { dueMs: number; fn: () => void }[] = [];
  #head = 0;
  #lastDueMs = -Infinity;
  #busy = false;

  readonly #now: () => number;
  readonly #later: (fn: () => void, delayMs: number) => unknown;

  constructor(now: () => number, later: (fn: () => void, delayMs: number) => unknown) {
    this.#now = now;
    this.#later = later;
  }

  /** Queues `fn` for `delayMs` from now, or right after the previous delivery; returns its due time. */
  push(delayMs: number, fn: () => void): number {
    const nowMs = this.#now();
    const dueMs = Math.max(nowMs + delayMs, this.#lastDueMs);
    this.#lastDueMs = dueMs;
    this.#queue.push({ dueMs, fn });
    if (!this.#busy) this.#arm(nowMs);
    return dueMs;
  }

  #arm(nowMs: number): void {
    this.#busy = true;
    this.#later(this.#fire, Math.max(0, this.#queue[this.#head].dueMs - nowMs));
  }

  readonly #fire = (): void => {
    const nowMs = this.#now();
    const q = this.#queue;
    // The head was scheduled for now: run it, then every one after it already due.
    do {
      const { fn } = q[this.#head];
      q[this.#head++] = undefined as never;
      fn();
    } while (this.#head < q.length && q[this.#head].dueMs <= nowMs);
    if (this.#head === q.length) {
      q.length = 0;
      this.#head = 0;
      this.#busy = false;
      return;
    }
    if (this.#head >= 1024) {
      this.#queue = q.slice(this.#head);
      this.#head = 0;
    }
    this.#arm(nowMs);
  };
}

const DEFAULT_TIMEOUT_MS = 30000;

/** An in-process Kafka-like cluster implementing {@link NetworkClient}. See the file comment. */
export class InMemoryCluster implements NetworkClient {
  /** The broker half: topics, logs, producer state, the answers. */
  readonly brokers: InMemoryBrokers;
  readonly #scheduler: Scheduler;
  readonly #useImmediate: boolean;
  readonly #links = new Map<number, BrokerLink>();
  readonly #maxInFlight: number;
  #latency: number | ((nodeId: number) => number);
  #closed = false;
  #wakeup: (() => void) | null = null;
  #immediateQueue: (() => void)[] = [];
  #immediateScheduled = false;
  #requests = 0;
  #failedRequests = 0;

  /**
   * @throws RangeError on invalid options (broker ids, counts, latency, sizes)
   */
  constructor(options: InMemoryClusterOptions = {}) {
    const brokers = options.brokers ?? 3;
    const ids = typeof brokers === 'number' ? Array.from({ length: brokers }, (_, i) => i) : [...brokers];
    this.brokers = new InMemoryBrokers({ ...options, brokerIds: ids });
    this.#scheduler = options.scheduler ?? systemScheduler;
    this.#useImmediate = this.#scheduler === systemScheduler;
    this.#maxInFlight = options.maxInFlightRequestsPerConnection ?? 5;
    if (!Number.isInteger(this.#maxInFlight) || this.#maxInFlight <= 0) {
      throw new RangeError(`InMemoryCluster: maxInFlightRequestsPerConnection must be a positive integer, got ${this.#maxInFlight}`);
    }
    const now = (): number => this.#scheduler.nowMs();
    const later = (fn: () => void, delayMs: number): unknown => this.#later(fn, delayMs);
    for (const id of this.brokers.brokerIds) {
      this.#links.set(id, { id, down: false, inFlight: new IndexedSet(PENDING_SLOT), timeouts: [], arrivals: new Lane(now, later), responses: new Lane(now, later) });
    }
    this.#latency = 0;
    this.setLatency(options.latencyMs ?? 0);
    for (const [name, partitions] of Object.entries(options.topics ?? {})) this.createTopic(name, partitions);
  }

  // ---------------------------------------------------------------- administration

  /**
   * Creates a topic. Producers see it after their next metadata request.
   * @param leaders - leader node per partition; default round robin over the brokers (partition p → p-th broker mod n)
   * @throws RangeError when the topic exists, `partitions` is not a positive integer, or a leader is not a broker
   */
  createTopic(name: string, partitions: number, leaders?: readonly number[]): void {
    this.brokers.createTopic(name, partitions, leaders);
  }

  /**
   * Moves a partition's leadership to `toNodeId` now (its leader epoch grows by one).
   * Producers keep the old leader until their next metadata request; produce requests to
   * the old leader get NOT_LEADER_OR_FOLLOWER meanwhile.
   * @throws RangeError for an unknown partition or node
   */
  moveLeader(topic: string, partition: number, toNodeId: number): void {
    this.brokers.moveLeader(topic, partition, toNodeId);
  }

  /**
   * Takes a broker down or brings it back. While down, requests to it reject with a
   * retriable NETWORK_EXCEPTION BrokerError; going down rejects its in-flight requests at once.
   * @throws RangeError for an unknown node
   */
  setBrokerDown(nodeId: number, down: boolean): void {
    const link = this.#requireLink(nodeId, 'setBrokerDown');
    if (link.down === down) return;
    link.down = down;
    if (!down) return;
    for (const p of link.inFlight.toArray()) {
      this.#fail(p, brokerErrorFor(KafkaErrors.NETWORK_EXCEPTION.code, `node ${nodeId} went down with the request in flight (${p.request.partitions.length} partitions)`));
    }
  }

  /** Whether `nodeId` is down. */
  isBrokerDown(nodeId: number): boolean {
    return this.#requireLink(nodeId, 'isBrokerDown').down;
  }

  /**
   * The next produce(s) to `topic`-`partition` that pass the broker's checks answer with
   * these Kafka error codes, one per produce, in order; then produces succeed again.
   * @throws RangeError for an unknown partition or error code 0
   */
  injectErrors(topic: string, partition: number, errorCodes: readonly number[]): void {
    this.brokers.injectErrors(topic, partition, errorCodes);
  }

  /**
   * Makes metadata answers report `errorCode` for `topic` (0 clears it); see
   * {@link InMemoryBrokers.setTopicError}.
   * @throws RangeError for a code that is not an integer
   */
  setTopicError(topic: string, errorCode: number): void {
    this.brokers.setTopicError(topic, errorCode);
  }

  /**
   * The next `count` produce requests to `nodeId` are never answered: each rejects with a
   * retriable TimeoutError after its `timeoutMs`. By default the request is lost on the way;
   * with `appended` the broker appends it and only the answer is lost.
   * @throws RangeError for an unknown node or a count < 1
   */
  injectRequestTimeout(nodeId: number, count = 1, options: InjectRequestTimeoutOptions = {}): void {
    const link = this.#requireLink(nodeId, 'injectRequestTimeout');
    if (!Number.isInteger(count) || count < 1) throw new RangeError(`injectRequestTimeout: count must be a positive integer, got ${count}`);
    for (let i = 0; i < count; i++) link.timeouts.push(options.appended ?? false);
  }

  /**
   * Sets the one-way latency of later requests (in-flight ones keep theirs).
   * @throws RangeError when a fixed latency is negative or not finite
   */
  setLatency(latencyMs: number | ((nodeId: number) => number)): void {
    if (typeof latencyMs === 'number' && !(latencyMs >= 0 && Number.isFinite(latencyMs))) {
      throw new RangeError(`setLatency: latencyMs must be a finite number >= 0, got ${latencyMs}`);
    }
    this.#latency = latencyMs;
  }

  // ---------------------------------------------------------------- reading back

  /** Broker ids, ascending. */
  brokerIds(): number[] {
    return [...this.brokers.brokerIds];
  }

  /** Every topic and its partition count. */
  topicPartitionCounts(): Record<string, number> {
    return this.brokers.topicPartitionCounts();
  }

  /** The true leader of a partition. @throws RangeError for an unknown partition */
  trueLeaderFor(topic: string, partition: number): number {
    return this.brokers.trueLeaderFor(topic, partition);
  }

  /** The batches a partition accepted, in offset order (empty when `retainLog` is false). @throws RangeError for an unknown partition */
  log(topic: string, partition: number): readonly AcceptedBatch[] {
    return this.brokers.log(topic, partition);
  }

  /**
   * Decodes every record a partition holds, with absolute offsets (CRC verified).
   * @throws RangeError for an unknown partition; IllegalStateError when `retainLog` is
   *   false; CorruptBatchError for a stored batch that does not decode
   */
  readRecords(topic: string, partition: number): DecodedRecord[] {
    return this.brokers.readRecords(topic, partition);
  }

  /** The next offset a partition will assign (its log end offset). @throws RangeError for an unknown partition */
  highWatermark(topic: string, partition: number): number {
    return this.brokers.highWatermark(topic, partition);
  }

  /** A snapshot of the traffic counters. */
  stats(): InMemoryClusterStats {
    return { ...this.brokers.stats(), requests: this.#requests, failedRequests: this.#failedRequests };
  }

  /** Produce requests sent to `nodeId` and not settled yet (acks=0 ones until their hand-off). */
  inFlightRequests(nodeId: number): number {
    return this.#links.get(nodeId)?.inFlight.size ?? 0;
  }

  // ---------------------------------------------------------------- NetworkClient

  /** True for a broker (even a down one: the send then fails) under the in-flight limit, until close. */
  ready(nodeId: number): boolean {
    const link = this.#links.get(nodeId);
    return !this.#closed && link !== undefined && link.inFlight.size < this.#maxInFlight;
  }

  /** Called whenever a request settles (a node under its in-flight limit again). */
  setWakeupListener(listener: (() => void) | null): void {
    this.#wakeup = listener;
  }

  /**
   * Sends one produce request (see the file comment for its life cycle).
   * @throws (rejects) ClosedError after close; IllegalStateError when `ready(nodeId)` is
   *   false for another reason (unknown node, in-flight limit reached): a sender bug
   */
  send(request: ProduceRequest): Promise<ProducePartitionResponse[]> {
    const link = this.#links.get(request.nodeId);
    if (this.#closed) {
      return Promise.reject(new ClosedError(`InMemoryCluster is closed: produce request to node ${request.nodeId} (${request.partitions.length} partitions) not sent`));
    }
    if (link === undefined) {
      return Promise.reject(new IllegalStateError(`send to node ${request.nodeId}, which is not a broker (brokers ${this.brokers.brokerIds.join(',')}); ready() is false`));
    }
    if (link.inFlight.size >= this.#maxInFlight) {
      return Promise.reject(
        new IllegalStateError(`send to node ${request.nodeId} with ${link.inFlight.size} requests in flight (maxInFlightRequestsPerConnection=${this.#maxInFlight}); ready() is false`),
      );
    }
    this.#requests++;
    return new Promise<ProducePartitionResponse[]>((resolve, reject) => {
      const timeoutMs = request.timeoutMs > 0 && Number.isFinite(request.timeoutMs) ? request.timeoutMs : DEFAULT_TIMEOUT_MS;
      const sentAtMs = this.#scheduler.nowMs();
      const latencyMs = this.#latencyOf(request.nodeId); // may throw: before anything is in flight
      const p: PendingRequest = { request, resolve, reject, sentAtMs, timeoutMs, settled: false, step: null, deadline: null, index: -1 };
      link.inFlight.add(p);
      if (link.down) {
        p.step = this.#later(() => this.#fail(p, this.#downError(request.nodeId)), latencyMs);
        return;
      }
      if (request.acks === 0) {
        this.#sendAcksZero(p, link, latencyMs);
        return;
      }
      const injected = link.timeouts.length > 0 ? link.timeouts.shift()! : undefined;
      if (injected !== undefined) this.#armDeadline(p);
      if (injected === false) return; // lost on the way: only the deadline fires
      const arrivalMs = link.arrivals.push(latencyMs, () => this.#arrive(p, link, injected === undefined));
      // Arriving after the deadline: the deadline settles it first, and #arrive then skips it.
      if (arrivalMs >= sentAtMs + timeoutMs) this.#armDeadline(p);
    });
  }

  /**
   * The brokers' metadata for `request.topics`, after a round trip to the lowest-numbered
   * live broker (creating unknown topics when the cluster's `autoCreateTopics` and the
   * request both allow it; an unknown topic is answered UNKNOWN_TOPIC_OR_PARTITION).
   * @throws (rejects) NETWORK_EXCEPTION BrokerError when every broker is down; ClosedError after close
   */
  fetchMetadata(request: MetadataRequest): Promise<MetadataResponse> {
    return this.#rpc('metadata request', () => this.brokers.metadata(request.topics, request.allowAutoTopicCreation));
  }

  /**
   * Allocates the next producer id (0, 1, 2 …) with epoch 0, after a round trip.
   * @throws (rejects) NETWORK_EXCEPTION BrokerError when every broker is down; ClosedError after close
   */
  initProducerId(): Promise<InitProducerIdResponse> {
    return this.#rpc('InitProducerId request', () => ({ errorCode: 0, ...this.brokers.initProducerId() }));
  }

  /** Rejects every in-flight request with ClosedError; later calls reject too. */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    for (const link of this.#links.values()) {
      for (const p of link.inFlight.toArray()) {
        this.#fail(p, new ClosedError(`InMemoryCluster closed with a produce request to node ${link.id} in flight (${p.request.partitions.length} partitions)`));
      }
    }
    return Promise.resolve();
  }

  // ---------------------------------------------------------------- request flow

  #sendAcksZero(p: PendingRequest, link: BrokerLink, latencyMs: number): void {
    // The socket write: copy now, since the sender frees the pool memory once we resolve.
    const copy: ProduceRequest = {
      ...p.request,
      partitions: p.request.partitions.map((d) => ({ topic: d.topic, partition: d.partition, records: Buffer.from(d.records) })),
    };
    const responses = p.request.partitions.map((d) => ({ topic: d.topic, partition: d.partition, errorCode: 0, baseOffset: -1, logAppendTimeMs: -1 }));
    p.step = this.#later(() => this.#succeed(p, responses), 0);
    link.arrivals.push(latencyMs, () => {
      if (link.down) return; // lost, and nobody will know: acks=0
      this.brokers.produce(link.id, copy, this.#scheduler.nowMs());
    });
  }

  /** The request reaches the broker: process it now, answer after the return latency. */
  #arrive(p: PendingRequest, link: BrokerLink, answer: boolean): void {
    if (p.settled) return; // timed out or failed on the way: the broker never reads it
    const responses = this.brokers.produce(link.id, p.request, this.#scheduler.nowMs());
    if (!answer) return; // injected timeout with `appended`: the answer is lost
    const responseMs = link.responses.push(this.#latencyOf(link.id), () => this.#succeed(p, responses));
    if (responseMs >= p.sentAtMs + p.timeoutMs) this.#armDeadline(p);
  }

  /** Arms `p`'s request timeout (once): it rejects with a retriable TimeoutError at `sentAtMs + timeoutMs`. */
  #armDeadline(p: PendingRequest): void {
    if (p.deadline !== null || p.settled) return;
    const delayMs = Math.max(0, p.sentAtMs + p.timeoutMs - this.#scheduler.nowMs());
    const req = p.request;
    p.deadline = this.#scheduler.setTimeout(
      () => this.#fail(p, new TimeoutError(`produce request to node ${req.nodeId} (${req.partitions.length} partitions) not answered within request timeout ${p.timeoutMs} ms`, true)),
      delayMs,
    );
  }

  /** Runs `handler` on a live broker after one-way latency and resolves with its result after another. */
  #rpc<T>(what: string, handler: () => T): Promise<T> {
    if (this.#closed) return Promise.reject(new ClosedError(`InMemoryCluster is closed: ${what} not sent`));
    const nodeId = this.brokers.brokerIds.find((id) => !this.#links.get(id)!.down);
    if (nodeId === undefined) {
      return new Promise<T>((_, reject) => {
        this.#later(() => reject(brokerErrorFor(KafkaErrors.NETWORK_EXCEPTION.code, `${what}: all ${this.brokers.brokerIds.length} brokers are down`)), 0);
      });
    }
    const latencyMs = this.#latencyOf(nodeId);
    return new Promise<T>((resolve, reject) => {
      this.#later(() => {
        if (this.#links.get(nodeId)!.down) {
          reject(this.#downError(nodeId));
          return;
        }
        let value: T;
        try {
          value = handler();
        } catch (err) {
          reject(err as Error);
          return;
        }
        this.#later(() => resolve(value), latencyMs);
      }, latencyMs);
    });
  }

  #succeed(p: PendingRequest, responses: ProducePartitionResponse[]): void {
    if (!this.#settle(p)) return;
    p.resolve(responses);
    this.#wakeup?.();
  }

  #fail(p: PendingRequest, error: SluiceError): void {
    if (!this.#settle(p)) return;
    this.#failedRequests++;
    p.reject(error);
    this.#wakeup?.();
  }

  /** Marks `p` settled, out of flight, its timers cleared; false when it already was. */
  #settle(p: PendingRequest): boolean {
    if (p.settled) return false;
    p.settled = true;
    this.#links.get(p.request.nodeId)?.inFlight.delete(p);
    if (p.step !== null) this.#scheduler.clearTimeout(p.step);
    if (p.deadline !== null) this.#scheduler.clearTimeout(p.deadline);
    p.step = null;
    p.deadline = null;
    return true;
  }

  /**
   * Runs `fn` after `delayMs`. A delay of 0 on the system scheduler joins a queue flushed
   * by one `setImmediate` (returns null: entries check their own state instead of being
   * cleared); anything else is a scheduler timer.
   */
  #later(fn: () => void, delayMs: number): TimerHandle | null {
    if (delayMs <= 0 && this.#useImmediate) {
      this.#immediateQueue.push(fn);
      if (!this.#immediateScheduled) {
        this.#immediateScheduled = true;
        setImmediate(this.#flushImmediate);
      }
      return null;
    }
    return this.#scheduler.setTimeout(fn, delayMs);
  }

  readonly #flushImmediate = (): void => {
    const queue = this.#immediateQueue;
    this.#immediateQueue = [];
    this.#immediateScheduled = false;
    for (let i = 0; i < queue.length; i++) queue[i]();
  };

  #latencyOf(nodeId: number): number {
    const l = typeof this.#latency === 'number' ? this.#latency : this.#latency(nodeId);
    if (!(l >= 0) || !Number.isFinite(l)) throw new RangeError(`InMemoryCluster: latency of node ${nodeId} must be a finite number >= 0, got ${l}`);
    return l;
  }

  #downError(nodeId: number): SluiceError {
    return brokerErrorFor(KafkaErrors.NETWORK_EXCEPTION.code, `node ${nodeId} is down`);
  }

  #requireLink(nodeId: number, what: string): BrokerLink {
    const link = this.#links.get(nodeId);
    if (link === undefined) throw new RangeError(`${what}: no broker with id ${nodeId} (brokers ${this.brokers.brokerIds.join(',')})`);
    return link;
  }
}
