/**
 * `ProducerMetadata`: the one owner of what the producer knows about the cluster (Kafka
 * `ProducerMetadata` + `Metadata`): the cluster view that `ready`/`drain` and the partitioner
 * read, broker addresses, leader epochs, topic errors, the sends waiting for a topic's
 * metadata, and the refresh schedule. The facade (waiting sends) and the sender (unknown
 * leaders, stale-metadata errors, lost connections) both ask it for refreshes; it runs at most
 * one metadata request at a time and spaces them by its own backoff.
 *
 * Refresh rule (Kafka `Metadata.timeToNextUpdate` with KIP-580 backoff):
 * - a refresh is wanted when someone asked ({@link requestUpdate}, {@link awaitTopic}) or
 *   when the last good answer is `metadata.max.age.ms` old — checked whenever the sender
 *   runs ({@link maybeRefresh}), so an idle producer keeps no timer;
 * - it is sent when no request is in flight and the backoff since the last attempt is over:
 *   `retry.backoff.ms` after an answer, growing exponentially with jitter up to
 *   `retry.backoff.max.ms` while requests keep failing (no broker reachable);
 * - it asks for every topic the producer has used (so one answer refreshes them all) plus
 *   the topics asked for, with `allow.auto.create.topics`.
 *
 * Answers are applied per topic: a topic without error replaces its partitions' leaders — but
 * a partition whose leader epoch went BACKWARDS keeps the newer leader it has (Kafka
 * `Metadata.updateLatestMetadata`: a lagging broker must not undo a leader change); a topic
 * with a retriable error (UNKNOWN_TOPIC_OR_PARTITION while it is being created,
 * LEADER_NOT_AVAILABLE) keeps waiting and asks again after the backoff; a topic with a
 * non-retriable error (TOPIC_AUTHORIZATION_FAILED, INVALID_TOPIC_EXCEPTION, …) fails the
 * sends waiting for it at once with that error — instead of a `max.block.ms` timeout that
 * would hide the cause.
 *
 * Waits are bounded by each send's `max.block.ms`, and a wait never ends early: its deadline
 * is checked against the clock when the timer fires (Node may fire a timer up to 1 ms early).
 */
import { Cluster, NO_LEADER } from '../cluster/cluster.js';
import type { ClusterView } from '../cluster/cluster.js';
import type { Scheduler, TimerHandle } from '../clock.js';
import type { ProducerConfig } from '../config.js';
import type { SluiceError } from '../errors.js';
import { AuthenticationError, ClosedError, InvalidRecordError, TimeoutError } from '../errors.js';
import type { BrokerNode, MetadataResponse, NetworkClient, TopicMetadata } from '../network/network-client.js';
import { RetryBackoff } from '../retry-backoff.js';
import { brokerErrorFor, kafkaError } from '../protocol/kafka-errors.js';

/** Settings {@link ProducerMetadata} reads. */
export type ProducerMetadataConfig = Pick<ProducerConfig, 'retryBackoffMs' | 'retryBackoffMaxMs' | 'metadataMaxAgeMs' | 'allowAutoCreateTopics'>;

/** How a {@link ProducerMetadata} is built. */
export interface ProducerMetadataOptions {
  /** Where metadata requests go. */
  readonly network: NetworkClient;
  /** Time and timers. */
  readonly scheduler: Scheduler;
  readonly config: ProducerMetadataConfig;
  /** Uniform [0, 1) source for the backoff jitter. Default `Math.random`. */
  readonly random?: () => number;
}

/** What changed in one applied metadata answer (for listeners: the sender, events). */
export interface MetadataUpdate {
  /** Topics whose partitions or leaders changed. */
  readonly changedTopics: readonly string[];
  /** Topics the answer reported with a non-retriable error. */
  readonly failedTopics: readonly string[];
  /** Whether the broker list changed. */
  readonly brokersChanged: boolean;
}

/** One send waiting for a topic (and maybe one partition of it). */
interface TopicWaiter {
  readonly topic: string;
  /** The partition the send names; -1 when the partitioner will choose. */
  readonly partition: number;
  readonly startMs: number;
  readonly maxBlockMs: number;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
  timer: TimerHandle | null;
}

/** The producer's cluster metadata; see the file comment. */
export class ProducerMetadata {
  /** Leaders and partition counts, as `ready`/`drain` and the partitioner read them. */
  readonly cluster: Cluster = new Cluster();
  readonly #network: NetworkClient;
  readonly #scheduler: Scheduler;
  readonly #config: ProducerMetadataConfig;
  readonly #backoff: RetryBackoff;
  readonly #nodes = new Map<number, BrokerNode>();
  readonly #epochs = new Map<string, Int32Array>();
  readonly #topicErrors = new Map<string, SluiceError>();
  /** Topics the producer has used: every refresh asks for them. */
  readonly #topics = new Set<string>();
  /** Topics asked for since the last request was sent. */
  readonly #wanted = new Set<string>();
  readonly #waiters = new Map<string, TopicWaiter[]>();
  readonly #listeners: ((update: MetadataUpdate) => void)[] = [];
  #waiterCount = 0;
  #inFlight: Promise<void> | null = null;
  #failures = 0;
  #lastAttemptMs = -Infinity;
  #lastSuccessMs = -Infinity;
  #timer: TimerHandle | null = null;
  #timerAtMs = Infinity;
  #clusterId: string | null = null;
  /** A refresh of every used topic was asked for ({@link requestFullUpdate}). */
  #refreshAll = false;
  /** Why the last metadata request failed (no broker reachable …); null after an answer. */
  #lastFailure: Error | null = null;
  #updates = 0;
  #closed = false;

  constructor(options: ProducerMetadataOptions) {
    this.#network = options.network;
    this.#scheduler = options.scheduler;
    this.#config = options.config;
    this.#backoff = new RetryBackoff(options.config.retryBackoffMs, options.config.retryBackoffMaxMs, options.random ?? Math.random);
  }

  /** The cluster view (leaders, partition counts) with its change counter. */
  get view(): ClusterView {
    return this.cluster;
  }

  /** Brokers of the last answer, by id. */
  nodes(): BrokerNode[] {
    return [...this.#nodes.values()];
  }

  /** A broker's address from the last answer; undefined when unknown. */
  node(nodeId: number): BrokerNode | undefined {
    return this.#nodes.get(nodeId);
  }

  /** The cluster id of the last answer (null before one, or from brokers that do not say). */
  get clusterId(): string | null {
    return this.#clusterId;
  }

  /** Answers applied so far. */
  get updates(): number {
    return this.#updates;
  }

  /** The leader epoch of a partition (-1 when unknown or not reported). */
  leaderEpoch(topic: string, partition: number): number {
    const e = this.#epochs.get(topic);
    return e !== undefined && partition < e.length ? e[partition] : -1;
  }

  /** The non-retriable error the last answer gave for `topic`; null when none. */
  topicError(topic: string): SluiceError | null {
    return this.#topicErrors.get(topic) ?? null;
  }

  /** Sends waiting for metadata now. */
  get pendingWaits(): number {
    return this.#waiterCount;
  }

  /** Calls `listener` after every applied answer (on the event loop, never per record). */
  onUpdate(listener: (update: MetadataUpdate) => void): void {
    this.#listeners.push(listener);
  }

  /**
   * Refreshes when the last answer is older than `metadata.max.age.ms` (and the backoff
   * allows). The sender calls it on every loop run: an idle producer keeps no timer for the
   * periodic refresh, and one that sends refreshes on time.
   */
  maybeRefresh(): void {
    if (!this.#closed && this.#inFlight === null && this.#timer === null) this.#maybeFetch();
  }

  /**
   * Asks for fresh metadata of `topics` (a leader is unknown, a broker said the metadata is
   * stale, a connection was lost). Coalesced: at most one request in flight, spaced by the
   * backoff. Ignored after {@link close}.
   */
  requestUpdate(topics: Iterable<string>): void {
    if (this.#closed) return;
    for (const t of topics) this.#wanted.add(t);
    this.#maybeFetch();
  }

  /**
   * Asks for fresh metadata of every topic the producer uses (a broker connection was lost).
   * Coalesced and backed off as {@link requestUpdate}.
   */
  requestFullUpdate(): void {
    if (this.#closed) return;
    this.#refreshAll = true;
    this.#maybeFetch();
  }

  /**
   * Waits until `topic` is in the metadata — and, when `partition` >= 0, until it is known
   * whether the topic has that partition (Kafka `KafkaProducer.waitOnMetadata`).
   * @param topic - a valid topic name
   * @param partition - the partition the send names, or -1
   * @param maxBlockMs - the send's `max.block.ms`
   * @returns a promise that resolves when the metadata is there
   * @throws (rejects) TimeoutError after `maxBlockMs`, naming the topic; InvalidRecordError
   *   when the topic turns out to have fewer partitions than `partition`; BrokerError with
   *   the topic's non-retriable error (TOPIC_AUTHORIZATION_FAILED, INVALID_TOPIC_EXCEPTION …);
   *   ClosedError when {@link close} comes first
   */
  awaitTopic(topic: string, partition: number, maxBlockMs: number): Promise<void> {
    if (this.#closed) return Promise.reject(new ClosedError(`the producer is closed: cannot wait for metadata of topic ${topic}`));
    // An error from an earlier answer may be stale (an ACL was granted since): ask again.
    this.#topicErrors.delete(topic);
    return new Promise<void>((resolve, reject) => {
      const waiter: TopicWaiter = { topic, partition, startMs: this.#scheduler.nowMs(), maxBlockMs, resolve, reject, timer: null };
      if (this.#settleWaiter(waiter)) return;
      let list = this.#waiters.get(topic);
      if (list === undefined) this.#waiters.set(topic, (list = []));
      list.push(waiter);
      this.#waiterCount++;
      this.#armWaiterTimer(waiter, maxBlockMs);
      this.#wanted.add(topic);
      this.#maybeFetch();
    });
  }

  /**
   * Stops refreshing and fails every waiting send with `error`; resolves once no request of
   * its own is in flight. Idempotent.
   */
  async close(error: Error = new ClosedError('the producer was closed while waiting for metadata')): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#cancelTimer();
      for (const list of [...this.#waiters.values()]) for (const w of [...list]) this.#finish(w, error);
    }
    await this.#inFlight;
  }

  /**
   * Applies a metadata answer now (the sender does this for answers it got itself; tests use
   * it to set a view). Usually called internally after a fetch.
   */
  apply(response: MetadataResponse): MetadataUpdate {
    this.#lastSuccessMs = this.#scheduler.nowMs();
    let brokersChanged = false;
    for (const b of response.brokers) {
      const old = this.#nodes.get(b.nodeId);
      if (old === undefined || old.host !== b.host || old.port !== b.port) {
        brokersChanged = true;
        this.#nodes.set(b.nodeId, b);
        this.cluster.addNode(b.nodeId);
      }
    }
    if (response.clusterId !== null) this.#clusterId = response.clusterId;
    const changedTopics: string[] = [];
    const failedTopics: string[] = [];
    for (const t of response.topics) {
      if (t.errorCode === 0) {
        this.#topicErrors.delete(t.topic);
        if (this.#applyTopic(t)) changedTopics.push(t.topic);
      } else if (!kafkaError(t.errorCode).retriable) {
        this.#topicErrors.set(t.topic, brokerErrorFor(t.errorCode, `metadata for topic ${t.topic}`));
        failedTopics.push(t.topic);
      }
    }
    this.#updates++;
    const update: MetadataUpdate = { changedTopics, failedTopics, brokersChanged };
    for (const t of [...changedTopics, ...failedTopics]) this.#checkWaiters(t);
    for (const l of this.#listeners) l(update);
    return update;
  }

  // ------------------------------------------------------------------ internals

  /** Replaces a topic's leaders, keeping partitions whose epoch went backwards; returns whether anything changed. */
  #applyTopic(t: TopicMetadata): boolean {
    const count = t.partitions.reduce((n, p) => Math.max(n, p.partition + 1), 0);
    const oldCount = this.cluster.partitionCount(t.topic);
    const oldEpochs = this.#epochs.get(t.topic);
    const leaders = new Array<number>(count).fill(NO_LEADER);
    const epochs = new Int32Array(count).fill(-1);
    for (const p of t.partitions) {
      const known = oldEpochs !== undefined && p.partition < oldEpochs.length ? oldEpochs[p.partition] : -1;
      if (p.leaderEpoch >= 0 && known > p.leaderEpoch) {
        // A lagging broker answered: keep the newer leader (Kafka Metadata.updateLatestMetadata).
        leaders[p.partition] = this.cluster.leaderFor(t.topic, p.partition);
        epochs[p.partition] = known;
        continue;
      }
      leaders[p.partition] = p.errorCode === 0 || p.leader >= 0 ? p.leader : NO_LEADER;
      epochs[p.partition] = p.leaderEpoch;
    }
    this.#topics.add(t.topic);
    this.#epochs.set(t.topic, epochs);
    let changed = oldCount !== count;
    if (!changed) for (let p = 0; p < count; p++) if (this.cluster.leaderFor(t.topic, p) !== leaders[p]) changed = true;
    if (changed) this.cluster.setTopic(t.topic, leaders);
    return changed;
  }

  /** Sends a metadata request when one is wanted and allowed now, else arms the timer for when it will be. */
  #maybeFetch(): void {
    if (this.#closed || this.#inFlight !== null) return;
    const nowMs = this.#scheduler.nowMs();
    const wanted = this.#wanted.size > 0 || (this.#refreshAll && this.#topics.size > 0);
    const stale = this.#topics.size > 0 && nowMs - this.#lastSuccessMs >= this.#config.metadataMaxAgeMs;
    if (!wanted && !stale) return;
    const allowedAtMs = this.#lastAttemptMs + this.#backoff.backoffMs(this.#failures - 1);
    if (nowMs < allowedAtMs) {
      this.#armTimer(allowedAtMs);
      return;
    }
    this.#cancelTimer();
    const topics = new Set<string>(this.#topics);
    for (const t of this.#wanted) topics.add(t);
    this.#wanted.clear();
    this.#refreshAll = false;
    this.#lastAttemptMs = nowMs;
    let pending: Promise<MetadataResponse>;
    try {
      pending = this.#network.fetchMetadata({ topics: [...topics], allowAutoTopicCreation: this.#config.allowAutoCreateTopics });
    } catch (err) {
      pending = Promise.reject(err);
    }
    this.#inFlight = pending.then(
      (response) => this.#onAnswer(response, topics),
      (err: unknown) => this.#onFailure(topics, err),
    );
  }

  #onAnswer(response: MetadataResponse, asked: Set<string>): void {
    this.#inFlight = null;
    if (this.#closed) return;
    this.#failures = 0;
    this.#lastFailure = null;
    this.apply(response);
    // Asked for again while this request was in flight, and answered by it: nothing to ask.
    for (const t of response.topics) if (t.errorCode === 0) this.#wanted.delete(t.topic);
    // Topics still without usable metadata (being created, leader elections): ask again.
    for (const t of asked) if (this.#waiters.has(t)) this.#wanted.add(t);
    this.#maybeFetch();
  }

  #onFailure(asked: Set<string>, err: unknown): void {
    this.#inFlight = null;
    this.#lastFailure = err instanceof Error ? err : new Error(String(err));
    if (err instanceof AuthenticationError) {
      // Retrying with the same credentials cannot succeed: the sends waiting fail now, clearly.
      for (const list of [...this.#waiters.values()]) for (const w of [...list]) this.#finish(w, err);
    }
    if (this.#closed) return;
    this.#failures++;
    for (const t of asked) if (this.#waiters.has(t) || !this.#topics.has(t)) this.#wanted.add(t);
    for (const t of this.#topics) this.#wanted.add(t);
    this.#maybeFetch();
  }

  #armTimer(atMs: number): void {
    if (atMs >= this.#timerAtMs) return;
    this.#cancelTimer();
    this.#timerAtMs = atMs;
    this.#timer = this.#scheduler.setTimeout(this.#onTimer, Math.max(0, atMs - this.#scheduler.nowMs()));
  }

  #cancelTimer(): void {
    if (this.#timer !== null) this.#scheduler.clearTimeout(this.#timer);
    this.#timer = null;
    this.#timerAtMs = Infinity;
  }

  readonly #onTimer = (): void => {
    this.#timer = null;
    this.#timerAtMs = Infinity;
    this.#maybeFetch();
  };

  /** Settles the waiters of `topic` that the metadata now decides. */
  #checkWaiters(topic: string): void {
    const list = this.#waiters.get(topic);
    if (list === undefined) return;
    for (const w of [...list]) this.#settleWaiter(w);
  }

  /** Settles `w` if the metadata decides it (known, too few partitions, fatal error); returns whether it did. */
  #settleWaiter(w: TopicWaiter): boolean {
    const error = this.#topicErrors.get(w.topic);
    if (error !== undefined) {
      this.#finish(w, error);
      return true;
    }
    const count = this.cluster.partitionCount(w.topic);
    if (count < 0) return false;
    if (w.partition >= count) {
      this.#finish(
        w,
        new InvalidRecordError('partition', `is ${w.partition}, but topic ${w.topic} has ${count} partition(s) [0..${count - 1}] (metadata from the brokers)`),
      );
      return true;
    }
    this.#finish(w, null);
    return true;
  }

  #armWaiterTimer(w: TopicWaiter, delayMs: number): void {
    if (!Number.isFinite(delayMs) || delayMs > 0x7fffffff) return;
    w.timer = this.#scheduler.setTimeout(() => this.#onWaiterDeadline(w), delayMs);
  }

  #onWaiterDeadline(w: TopicWaiter): void {
    w.timer = null;
    const waitedMs = this.#scheduler.nowMs() - w.startMs;
    if (waitedMs < w.maxBlockMs) {
      this.#armWaiterTimer(w, w.maxBlockMs - waitedMs); // the timer fired early: never fail early
      return;
    }
    const count = this.cluster.partitionCount(w.topic);
    // Say why when the brokers could not be asked at all: "connection refused to …" beats a bare timeout.
    const why = this.#lastFailure !== null ? `; the last metadata request failed: ${this.#lastFailure.message}` : '';
    this.#finish(
      w,
      new TimeoutError(
        count < 0
          ? `topic ${w.topic} not present in metadata after ${waitedMs} ms (max.block.ms=${w.maxBlockMs})${why}`
          : `partition ${w.partition} of topic ${w.topic} with partition count ${count} is not present in metadata after ${waitedMs} ms (max.block.ms=${w.maxBlockMs})${why}`,
      ),
    );
  }

  /** Removes `w` and settles it: resolved when `error` is null. */
  #finish(w: TopicWaiter, error: Error | null): void {
    if (w.timer !== null) this.#scheduler.clearTimeout(w.timer);
    w.timer = null;
    const list = this.#waiters.get(w.topic);
    if (list !== undefined) {
      const i = list.indexOf(w);
      if (i >= 0) {
        list.splice(i, 1);
        this.#waiterCount--;
      }
      if (list.length === 0) this.#waiters.delete(w.topic);
    }
    if (error === null) w.resolve();
    else w.reject(error);
  }
}
