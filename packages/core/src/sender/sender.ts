/**
 * The Sender: the producer's I/O loop on the main thread (Kafka
 * `org.apache.kafka.clients.producer.internals.Sender`). One iteration (`#runOnce`):
 *
 * ```
 *   idempotence upkeep (producer id, resolve partitions, epoch bump)      — sender/idempotence.ts
 *   expire: queued batches (accumulating / waiting to retry) and in-flight batches
 *   repeat: ready(cluster) → nodes with sendable data and a free request slot
 *           drain(nodes)  → at most one batch per partition per node, ≤ maxRequestSize
 *           one produce request per node → NetworkClient.send
 *   sleep until the next deadline: linger / backoff (nextReadyCheckDelayMs), expiry, metadata
 * ```
 *
 * Key insight — the loop is event-driven, never polled. It runs when (a) the accumulator
 * says a batch filled, a partition's first batch was created (after its linger) or an
 * append waits for memory (`AccumulatorSenderHooks.wakeup`, one call per batch, not per
 * record), (b) a request settles, (c) the one timer for the earliest deadline fires, or
 * (d) flush/close ask. With nothing pending there is no timer at all: idle CPU is zero.
 * Kafka's sender thread instead blocks in `NetworkClient.poll(timeout)` with a timeout it
 * computes the same way; on Node's event loop there is nothing to block in, so the loop is
 * a callback, and a node at its in-flight limit (or a partition held back by the
 * idempotence gate) simply waits for the answer that frees it — that answer is an event.
 * Timers go through an injected {@link Scheduler} so a simulation runs it on virtual time
 * (on the system scheduler an immediate wake-up uses `setImmediate`, not `setTimeout(0)`,
 * which Node stretches to 1 ms).
 *
 * Per-partition response handling (Kafka `Sender.completeBatch`):
 * - success (or DUPLICATE_SEQUENCE_NUMBER): complete the records (offset = base + delta);
 * - MESSAGE_TOO_LARGE: split a multi-record batch and re-enqueue the parts in order at the
 *   front of the queue; a single record fails with {@link RecordTooLargeError};
 * - retriable (per Kafka's error table, or as the idempotent producer decides for
 *   OUT_OF_ORDER_SEQUENCE_NUMBER / UNKNOWN_PRODUCER_ID), `attempts <= retries`, before the
 *   delivery timeout: re-enqueue at the front after an exponential backoff with jitter
 *   (KIP-580), refreshing metadata on InvalidMetadata errors;
 * - otherwise fail with the broker's error.
 * A request-level failure (rejected promise: broker down, request timeout — enforced by
 * the NetworkClient, which gets `request.timeout.ms` in every request) counts as a
 * retriable NETWORK_EXCEPTION for every batch in it.
 *
 * Memory: a batch's bytes are held from `markInFlight` until the request's promise settles
 * and only then released, even when the batch expired or was aborted meanwhile
 * (KAFKA-17862); the pool gets the memory back when the batch is final and released.
 *
 * Ordering: with `max.in.flight.requests.per.connection` = 1 every drained partition is
 * muted until its request is answered (Kafka `guaranteeMessageOrder`); with idempotence,
 * up to 5 requests per node keep order through sequence numbers (see idempotence.ts).
 */
import type { ProducerBatch } from '../accumulator/producer-batch.js';
import type { RecordAccumulator } from '../accumulator/record-accumulator.js';
import { BatchState } from '../accumulator/batch-state.js';
import type { Scheduler, TimerHandle } from '../clock.js';
import { systemScheduler } from '../clock.js';
import type { ProducerConfig } from '../config.js';
import { AbortedError, AuthenticationError, BrokerError, ClosedError, RecordTooLargeError, SluiceError, TimeoutError, asSluiceError } from '../errors.js';
import { ProducerMetrics } from '../metrics.js';
import type { MetadataUpdate, ProducerMetadata } from '../metadata/producer-metadata.js';
import type { InitProducerIdResponse, NetworkClient, NetworkEvent, ProducePartitionData, ProducePartitionResponse } from '../network/network-client.js';
import { RetryBackoff } from '../retry-backoff.js';
import type { ProducerEvents } from '../events/producer-events.js';
import { IdempotenceManager } from './idempotence.js';
import type { InFlightRequest } from './in-flight.js';
import { InFlightRequests } from './in-flight.js';
import { KafkaErrors, brokerErrorFor, kafkaError } from '../protocol/kafka-errors.js';

/** How long the loop waits after an unexpected exception before running again. */
export const INTERNAL_ERROR_BACKOFF_MS = 50;
/** ready/drain rounds in one loop turn before yielding to the event loop. */
const MAX_DRAIN_ROUNDS = 64;

/** How a {@link Sender} is built. */
export interface SenderOptions {
  /** The accumulator to drain (the sender attaches its hooks to it; one sender per accumulator). */
  readonly accumulator: RecordAccumulator;
  /** Where produce requests go. */
  readonly network: NetworkClient;
  /** The cluster view to route by, and where to ask for fresh metadata. */
  readonly metadata: ProducerMetadata;
  /** Time and timers; must tell the same time as the accumulator's clock. Default: the system scheduler. */
  readonly scheduler?: Scheduler;
  /** Sensors to record into; default a new {@link ProducerMetrics}. */
  readonly metrics?: ProducerMetrics;
  /** Uniform [0, 1) source for the backoff jitter; seed it for replayable simulations. Default `Math.random`. */
  readonly random?: () => number;
  /**
   * Whether to run the idempotent producer (producer id, sequences). Default: the
   * accumulator's `enableIdempotence`. Resolve conflicts first with `resolveIdempotence`.
   */
  readonly idempotence?: boolean;
  /** Where each partition's sequences start under a new producer id (default 0; see `ProducerOptions.firstSequence`). */
  readonly firstSequence?: number;
  /** Told once when the producer can send nothing any more (see {@link Sender.fatalError}). */
  readonly onFatal?: (error: SluiceError) => void;
  /** Where to report what operators watch (batches sent, retried, failed; connections; recoveries). */
  readonly events?: ProducerEvents;
}

/** Options of {@link Sender.close}. */
export interface SenderCloseOptions {
  /**
   * How long to let queued and in-flight batches finish before failing what is left with an
   * {@link AbortedError}; 0 aborts at once (forced close). Default Infinity: wait (every
   * batch ends within `delivery.timeout.ms` anyway).
   */
  readonly timeoutMs?: number;
  /** Also close the NetworkClient once nothing is left (the producer does when it created it). Default false. */
  readonly closeNetwork?: boolean;
}

/** The producer's I/O loop; see the file comment. */
export class Sender {
  /** Sensors this sender records into. */
  readonly metrics: ProducerMetrics;
  readonly #acc: RecordAccumulator;
  readonly #network: NetworkClient;
  readonly #metadata: ProducerMetadata;
  readonly #scheduler: Scheduler;
  readonly #useImmediate: boolean;
  readonly #config: ProducerConfig;
  readonly #backoff: RetryBackoff;
  readonly #idem: IdempotenceManager | null;
  readonly #inFlight: InFlightRequests;
  readonly #guaranteeOrder: boolean;

  #timer: TimerHandle | null = null;
  #immediate: ReturnType<typeof setImmediate> | null = null;
  #timerAtMs = Infinity;
  #closed = false;
  #closePromise: Promise<void> | null = null;
  /** A forced close (timeoutMs 0) cut a graceful one short. */
  #forced = false;
  #forceClose: (() => void) | null = null;
  #idleWaiters: (() => void)[] = [];
  #settledWaiters: (() => void)[] = [];
  #nextRequestId = 1;
  #lastInternalError: unknown = null;

  /** Set once close has aborted what was left: no new producer-id requests. */
  #stopping = false;
  /** The InitProducerId request in flight, awaited by close. */
  #pidPending: Promise<void> | null = null;
  #pidInFlight = false;
  /** A non-retriable InitProducerId error or a failed authentication: every record fails with it (Kafka's fatal state). */
  #fatalError: SluiceError | null = null;
  readonly #onFatal: ((error: SluiceError) => void) | null;
  readonly #events: ProducerEvents | null;
  #pidFailures = 0;
  #nextPidAttemptMs = 0;

  /**
   * @param options - accumulator, network, scheduler, metrics, jitter source, idempotence
   * @throws IllegalStateError when another sender is attached to the accumulator
   */
  constructor(options: SenderOptions) {
    this.#acc = options.accumulator;
    this.#network = options.network;
    this.#metadata = options.metadata;
    this.#onFatal = options.onFatal ?? null;
    this.#events = options.events ?? null;
    this.#scheduler = options.scheduler ?? systemScheduler;
    this.#useImmediate = this.#scheduler === systemScheduler;
    this.#config = this.#acc.config;
    this.#backoff = new RetryBackoff(this.#config.retryBackoffMs, this.#config.retryBackoffMaxMs, options.random ?? Math.random);
    const idempotent = options.idempotence ?? this.#config.enableIdempotence;
    this.#idem = idempotent ? new IdempotenceManager(this.#acc, options.firstSequence ?? 0) : null;
    this.#inFlight = new InFlightRequests(this.#config.deliveryTimeoutMs);
    this.#guaranteeOrder = this.#config.maxInFlightRequestsPerConnection === 1;
    this.metrics = options.metrics ?? new ProducerMetrics(this.#scheduler);
    this.metrics.bind({ pool: this.#acc.pool, requestsInFlight: () => this.#inFlight.size });
    const idem = this.#idem;
    this.#acc.attachSender({
      wakeup: (delayMs) => this.wakeup(delayMs),
      mayDrain: idem === null ? undefined : (tp, head) => idem.mayDrain(tp, head),
      batchDone: (batch, error) => this.#onBatchDone(batch, error),
      memoryWait: (sizeBytes, maxBlockMs) => {
        if (this.#events?.wants('buffer.wait')) this.#events.emit('buffer.wait', { sizeBytes, maxBlockMs });
      },
      bufferExhausted: (error) => {
        if (this.#events?.wants('buffer.exhausted')) this.#events.emit('buffer.exhausted', { error });
      },
    });
    // A node that becomes ready (connected, answered, backoff over) wakes the loop: no polling.
    this.#network.setWakeupListener(this.#onNetworkWakeup);
    this.#metadata.onUpdate(this.#onNetworkWakeup);
    // The idempotent producer fetches its id at once (Kafka's sender does on its first loop).
    if (idem !== null) this.wakeup(0);
  }

  /** Produce requests drained and not yet settled. */
  get requestsInFlight(): number {
    return this.#inFlight.size;
  }

  /** The idempotent producer's id and epoch; null when not idempotent or not yet known. */
  get producerIdAndEpoch(): { readonly producerId: number; readonly epoch: number } | null {
    return this.#idem?.producerIdAndEpoch ?? null;
  }

  /** Epoch bumps of the idempotent producer so far (0 when not idempotent). */
  get epochBumps(): number {
    return this.#idem?.epochBumps ?? 0;
  }

  /** Whether {@link close} finished. */
  get isClosed(): boolean {
    return this.#closed;
  }

  /**
   * The non-retriable error that ended the idempotent producer (InitProducerId refused, e.g.
   * CLUSTER_AUTHORIZATION_FAILED): every record fails with it. Null while healthy.
   */
  get fatalError(): SluiceError | null {
    return this.#fatalError;
  }

  /**
   * An unexpected exception the loop caught (a bug: the loop logs it as a process warning and
   * goes on after {@link INTERNAL_ERROR_BACKOFF_MS}); null when none happened. Simulations assert it stays null.
   */
  get lastInternalError(): unknown {
    return this.#lastInternalError;
  }

  /**
   * Asks for a loop run within `delayMs` (0: as soon as possible). Cheap and idempotent: a
   * run already due earlier absorbs it. Ignored once closed.
   */
  wakeup(delayMs = 0): void {
    if (this.#closed) return;
    const delay = delayMs > 0 ? delayMs : 0;
    const atMs = this.#scheduler.nowMs() + delay;
    if (atMs >= this.#timerAtMs) return;
    this.#cancelTimer();
    this.#timerAtMs = atMs;
    if (delay === 0 && this.#useImmediate) this.#immediate = setImmediate(this.#run);
    else this.#timer = this.#scheduler.setTimeout(this.#run, delay);
  }

  /**
   * Makes every queued batch sendable now and resolves when every batch that existed when it
   * was called is complete (Kafka `flush`). Never rejects: records report their own errors.
   * @param appendsFirst - appends still in progress (waiting for metadata or memory) whose
   *   batches the flush must cover too: awaited before the incomplete batches are taken
   */
  async flush(appendsFirst: Promise<unknown> | null = null): Promise<void> {
    if (this.#closed) return;
    this.#acc.beginFlush();
    this.wakeup(0);
    if (appendsFirst !== null) await appendsFirst.catch(() => undefined);
    await this.#acc.awaitFlushCompletion();
  }

  /**
   * Closes: the accumulator stops taking records (appends waiting for memory fail), queued
   * batches become sendable and are sent, retried, expired as usual for up to `timeoutMs`;
   * then whatever is incomplete fails with an {@link AbortedError}. Resolves once every
   * request has settled (memory is back) and no timer of the sender is left. Never rejects.
   * A second call returns the same promise, but a `timeoutMs` of 0 still forces the
   * running close to abort at once.
   */
  close(options: SenderCloseOptions = {}): Promise<void> {
    const timeoutMs = options.timeoutMs ?? Infinity;
    if (this.#closePromise !== null) {
      if (timeoutMs === 0 && this.#forceClose !== null) {
        this.#forced = true;
        this.#forceClose();
      }
      return this.#closePromise;
    }
    this.#closePromise = this.#close(timeoutMs, options.closeNetwork ?? false);
    return this.#closePromise;
  }

  async #close(timeoutMs: number, closeNetwork: boolean): Promise<void> {
    this.#acc.close();
    this.wakeup(0);
    if (timeoutMs > 0 && this.#acc.hasIncomplete()) await this.#waitIdle(timeoutMs);
    if (this.#acc.hasIncomplete()) {
      const batches = this.#acc.incompleteCount();
      this.#acc.abortIncompleteBatches(
        new AbortedError(
          timeoutMs === 0 || this.#forced
            ? `producer closed forcefully with ${batches} batch(es) incomplete: batch aborted before it was acknowledged`
            : `producer close did not finish within timeoutMs=${timeoutMs} (${batches} batch(es) incomplete): batch aborted before it was acknowledged`,
        ),
      );
    }
    this.#stopping = true;
    const forced = timeoutMs === 0 || this.#forced;
    if (closeNetwork) await this.#network.close().catch(() => undefined);
    // Requests still in flight hold their batches' memory until the network lets go of the
    // bytes (KAFKA-17862). A network we close lets go at once. One we do not own may take up
    // to request.timeout.ms: a forced close does not wait for it — the records already
    // failed, and the memory returns when those requests settle.
    if (this.#inFlight.size > 0 && !forced) await new Promise<void>((resolve) => this.#settledWaiters.push(resolve));
    // Let the request the loop started on its own behalf finish too: nothing of ours runs after close.
    if (!forced) await this.#pidPending;
    this.#closed = true;
    this.#cancelTimer();
    this.#network.setWakeupListener(null);
    this.#acc.attachSender(null);
    await this.#acc.closeSealer();
  }

  /** Resolves when nothing is incomplete, after `timeoutMs`, or when a forced close comes. */
  #waitIdle(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      let timer: TimerHandle | null = null;
      const done = (): void => {
        if (timer !== null) this.#scheduler.clearTimeout(timer);
        timer = null;
        this.#forceClose = null;
        const i = this.#idleWaiters.indexOf(done);
        if (i >= 0) this.#idleWaiters.splice(i, 1);
        resolve();
      };
      if (Number.isFinite(timeoutMs)) timer = this.#scheduler.setTimeout(done, timeoutMs);
      this.#forceClose = done;
      this.#idleWaiters.push(done);
    });
  }

  #checkIdle(): void {
    if (this.#idleWaiters.length > 0 && !this.#acc.hasIncomplete()) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const w of waiters) w();
    }
    if (this.#settledWaiters.length > 0 && this.#inFlight.size === 0) {
      const waiters = this.#settledWaiters;
      this.#settledWaiters = [];
      for (const w of waiters) w();
    }
  }

  #cancelTimer(): void {
    if (this.#timer !== null) this.#scheduler.clearTimeout(this.#timer);
    if (this.#immediate !== null) clearImmediate(this.#immediate);
    this.#timer = null;
    this.#immediate = null;
    this.#timerAtMs = Infinity;
  }

  readonly #run = (): void => {
    this.#timer = null;
    this.#immediate = null;
    this.#timerAtMs = Infinity;
    if (this.#closed) return;
    const nowMs = this.#scheduler.nowMs();
    let nextDelayMs: number;
    try {
      nextDelayMs = this.#runOnce(nowMs);
    } catch (err) {
      this.#lastInternalError = err;
      process.emitWarning(`sluice sender loop failed (a bug): ${(err as Error)?.stack ?? String(err)}`, 'SluiceInternalWarning');
      nextDelayMs = INTERNAL_ERROR_BACKOFF_MS;
    }
    if (nextDelayMs !== Infinity) this.wakeup(nextDelayMs);
    this.#checkIdle();
  };

  /** One loop iteration; returns ms until the next deadline (Infinity: none). */
  #runOnce(nowMs: number): number {
    const idem = this.#idem;
    if (this.#fatalError !== null) {
      if (this.#acc.hasIncomplete()) this.#acc.abortIncompleteBatches(this.#fatalError);
    } else if (idem !== null) {
      const bumps = idem.epochBumps;
      if (idem.maintain() === 'init-producer-id') this.#maybeInitProducerId(nowMs);
      if (idem.epochBumps !== bumps && this.#events?.wants('recovered')) {
        const pid = idem.producerIdAndEpoch;
        this.#events.emit('recovered', {
          what: 'epoch-bump',
          detail: `idempotent producer ${pid?.producerId} moved to epoch ${pid?.epoch}; the partitions whose sequences could not be trusted start again at 0`,
        });
      }
    }
    this.#expire(nowMs);
    this.#metadata.maybeRefresh();

    const cluster = this.#metadata.cluster;
    let nextDelayMs = Infinity;
    for (let round = 0; ; round++) {
      const ready = this.#acc.ready(cluster, nowMs);
      nextDelayMs = ready.nextReadyCheckDelayMs;
      if (ready.unknownLeaderTopics.size > 0) this.#metadata.requestUpdate(ready.unknownLeaderTopics);
      let nodes: Set<number> | null = null;
      for (const node of ready.readyNodes) {
        // A node that is not ready (connecting, in backoff, at its in-flight limit) wakes the
        // loop through the network's listener or its answers when it becomes ready.
        if (this.#inFlight.countTo(node) < this.#config.maxInFlightRequestsPerConnection && this.#network.ready(node, nowMs)) {
          (nodes ??= new Set()).add(node);
        }
      }
      if (nodes === null) break;
      const drained = this.#acc.drain(cluster, nodes, this.#config.maxRequestSize, nowMs);
      let any = false;
      for (const [nodeId, batches] of drained) {
        if (batches.length === 0) continue;
        any = true;
        this.#sendBatches(nodeId, batches, nowMs);
      }
      if (!any) break;
      if (round >= MAX_DRAIN_ROUNDS) {
        nextDelayMs = 0;
        break;
      }
    }

    nextDelayMs = Math.min(nextDelayMs, this.#acc.nextBatchExpiryMs() - nowMs, this.#inFlight.nextExpiryMs() - nowMs);
    if (!this.#stopping && this.#fatalError === null && idem !== null && idem.needsProducerId() && !this.#pidInFlight) {
      nextDelayMs = Math.min(nextDelayMs, this.#nextPidAttemptMs - nowMs);
    }
    return nextDelayMs < 0 ? 0 : nextDelayMs;
  }

  // ------------------------------------------------------------------ expiry

  #expire(nowMs: number): void {
    if (nowMs >= this.#acc.nextBatchExpiryMs()) {
      for (const b of this.#acc.expiredBatches(nowMs)) this.#failExpired(b, nowMs, false);
    }
    for (const b of this.#inFlight.expiredBatches(nowMs)) this.#failExpired(b, nowMs, true);
  }

  /** Fails a batch whose delivery timeout passed, saying how long it waited and where (Kafka `Sender.failBatch` with TimeoutException). */
  #failExpired(batch: ProducerBatch, nowMs: number, drained: boolean): void {
    let where: string;
    if (drained) {
      where =
        batch.state === BatchState.IN_FLIGHT
          ? `in flight (attempt ${batch.attempts}, sent ${nowMs - batch.lastAttemptMs} ms ago, no answer yet)`
          : `drained and waiting to be sent (sealing)`;
    } else {
      where =
        batch.attempts > 0
          ? `queued for retry after ${batch.attempts} attempt(s) (last sent ${nowMs - batch.lastAttemptMs} ms ago)`
          : `accumulating (never sent)`;
    }
    batch.done(
      -1,
      -1,
      new TimeoutError(
        `Expiring ${batch.recordCount} record(s) for ${batch.topic}-${batch.partition}: ${nowMs - batch.createdMs} ms has passed since batch creation (delivery.timeout.ms=${this.#config.deliveryTimeoutMs}); the batch was ${where}`,
      ),
    );
  }

  // ------------------------------------------------------------------ sending

  /**
   * Requests drained for a node that wait to be transmitted, oldest first: a request waits
   * while one of its batches is sealed, and every later request to that node waits behind
   * it. Requests reach a node in drain order — the order the idempotence manager assigned
   * sequence numbers in — whichever seal finishes first; otherwise a later batch of a
   * partition overtakes an earlier one and the broker answers OUT_OF_ORDER_SEQUENCE_NUMBER
   * (then every request behind it retries after a backoff: measured as 1 s p99 latency
   * with two gzip seal threads). Kafka drains only sealed batches, so its order is drain
   * order by construction. One array per node, kept for the producer's lifetime.
   */
  readonly #transmitQueues = new Map<number, InFlightRequest[]>();

  #sendBatches(nodeId: number, batches: ProducerBatch[], nowMs: number): void {
    const request: InFlightRequest = { id: this.#nextRequestId++, nodeId, batches, sent: [], drainedMs: nowMs, sentMs: -1, index: -1, awaitingSeal: false };
    this.#inFlight.add(request);
    let sealing = false;
    for (const b of batches) {
      this.#idem?.onDrained(b);
      if (this.#guaranteeOrder) this.#acc.mutePartition(b);
      this.metrics.recordQueueTime(nowMs - b.createdMs, nowMs);
      if (!b.isSealed && !b.isDone) sealing = true;
    }
    let queue = this.#transmitQueues.get(nodeId);
    if (!sealing && (queue === undefined || queue.length === 0)) {
      this.#transmit(request);
      return;
    }
    if (queue === undefined) this.#transmitQueues.set(nodeId, (queue = []));
    queue.push(request);
    if (sealing) {
      request.awaitingSeal = true;
      const q = queue;
      void Promise.all(batches.map((b) => b.whenSealed())).then(() => {
        request.awaitingSeal = false;
        this.#transmitInOrder(q);
      });
    }
  }

  /** Transmits the requests at the head of a node's queue whose seals are done, in order. */
  #transmitInOrder(queue: InFlightRequest[]): void {
    while (queue.length > 0 && !queue[0].awaitingSeal) this.#transmit(queue.shift()!);
  }

  /** Hands a request's sealed batches to the network (after their seals, for worker sealing). */
  #transmit(request: InFlightRequest): void {
    const nowMs = this.#scheduler.nowMs();
    const partitions: ProducePartitionData[] = [];
    for (const b of request.batches) {
      if (b.isDone) continue; // failed sealing, or expired/aborted while it was sealed
      if (nowMs - b.createdMs >= this.#config.deliveryTimeoutMs) {
        this.#failExpired(b, nowMs, true); // never send a batch past its delivery timeout
        continue;
      }
      b.markInFlight(nowMs);
      request.sent.push(b);
      partitions.push({ topic: b.topic, partition: b.partition, records: b.sealedBytes() });
      if (this.#events?.wants('batch.sent')) {
        this.#events.emit('batch.sent', { topic: b.topic, partition: b.partition, nodeId: request.nodeId, recordCount: b.recordCount, sizeBytes: b.sizeBytes, attempt: b.attempts });
      }
    }
    if (partitions.length === 0) {
      this.#finishRequest(request);
      return;
    }
    request.sentMs = nowMs;
    this.metrics.recordRequest(request.sent, nowMs);
    let pending: Promise<ProducePartitionResponse[]>;
    try {
      pending = this.#network.send({
        nodeId: request.nodeId,
        acks: this.#config.acks,
        timeoutMs: this.#config.requestTimeoutMs,
        transactionalId: null,
        partitions,
      });
    } catch (err) {
      pending = Promise.reject(err);
    }
    pending.then(
      (responses) => this.#onAnswer(request, responses, null),
      (err: unknown) => this.#onAnswer(request, null, err),
    );
  }

  #onAnswer(request: InFlightRequest, responses: ProducePartitionResponse[] | null, failure: unknown): void {
    const nowMs = this.#scheduler.nowMs();
    try {
      this.metrics.recordRequestLatency(nowMs - request.sentMs, nowMs);
      if (responses === null) {
        const error = this.#requestError(request, failure);
        for (const b of request.sent) this.#completeBatch(b, request, null, error, nowMs);
        if (!(error instanceof ClosedError)) this.#metadata.requestUpdate(request.sent.map((b) => b.topic));
      } else {
        for (const b of request.sent) {
          let r: ProducePartitionResponse | undefined;
          for (let i = 0; i < responses.length; i++) {
            if (responses[i].partition === b.partition && responses[i].topic === b.topic) {
              r = responses[i];
              break;
            }
          }
          if (r === undefined) {
            const missing = brokerErrorFor(
              KafkaErrors.NETWORK_EXCEPTION.code,
              `produce response from node ${request.nodeId} has no answer for ${b.topic}-${b.partition}`,
            );
            this.#completeBatch(b, request, null, missing, nowMs);
          } else {
            this.#completeBatch(b, request, r, null, nowMs);
          }
        }
      }
    } catch (err) {
      this.#lastInternalError = err;
      process.emitWarning(`sluice sender failed handling a produce answer (a bug): ${(err as Error)?.stack ?? String(err)}`, 'SluiceInternalWarning');
    } finally {
      this.#finishRequest(request);
    }
  }

  /** The error every batch of a failed request gets: retriable, with the node and the cause. */
  #requestError(request: InFlightRequest, failure: unknown): SluiceError {
    if (failure instanceof SluiceError) return failure;
    const message = failure instanceof Error ? failure.message : String(failure);
    return brokerErrorFor(KafkaErrors.NETWORK_EXCEPTION.code, `produce request to node ${request.nodeId} failed: ${message}`);
  }

  /**
   * Releases what the request held: network holds (memory returns for final batches),
   * the idempotence outstanding counts, mutes; then wakes the loop.
   */
  #finishRequest(request: InFlightRequest): void {
    for (const b of request.sent) b.releaseNetworkHold();
    for (const b of request.batches) {
      this.#idem?.onReturned(b);
      if (this.#guaranteeOrder) this.#acc.unmutePartition(b);
    }
    this.#inFlight.remove(request);
    this.wakeup(0);
    this.#checkIdle();
  }

  /** Applies one partition's answer (or a request failure) to its batch (Kafka `Sender.completeBatch`). */
  #completeBatch(
    batch: ProducerBatch,
    request: InFlightRequest,
    response: ProducePartitionResponse | null,
    requestError: SluiceError | null,
    nowMs: number,
  ): void {
    const code = response === null ? KafkaErrors.NETWORK_EXCEPTION.code : response.errorCode;
    if (response !== null && (code === 0 || code === KafkaErrors.DUPLICATE_SEQUENCE_NUMBER.code)) {
      this.#idem?.onAcked(batch);
      // DUPLICATE_SEQUENCE_NUMBER (old brokers): written before, offset unknown (Kafka does the same).
      if (!batch.isDone) batch.done(code === 0 ? response.baseOffset : -1, response.logAppendTimeMs, null);
      return;
    }
    if (batch.isDone) return; // expired or aborted while in flight: its records already know
    const error =
      requestError ??
      brokerErrorFor(
        code,
        `produce to ${batch.topic}-${batch.partition} on node ${request.nodeId}, batch of ${batch.recordCount} record(s) (${batch.sizeBytes} bytes), attempt ${batch.attempts}`,
        response?.errorMessage,
      );
    if (code === KafkaErrors.MESSAGE_TOO_LARGE.code) {
      this.#handleTooLarge(batch, error, nowMs);
      return;
    }
    if (response !== null && kafkaError(code).invalidMetadata) this.#metadata.requestUpdate([batch.topic]);
    let retriable: boolean;
    if (requestError instanceof ClosedError) retriable = false;
    else if (this.#idem !== null) retriable = this.#idem.canRetry(batch, code);
    else retriable = requestError !== null ? true : kafkaError(code).retriable;
    if (
      retriable &&
      batch.attempts <= this.#config.retries &&
      nowMs - batch.createdMs < this.#config.deliveryTimeoutMs &&
      this.#config.acks !== 0
    ) {
      const backoffMs = this.#backoff.backoffMs(batch.attempts - 1);
      this.#acc.reenqueue(batch, nowMs, nowMs + backoffMs);
      this.metrics.recordRetries(batch.recordCount, nowMs);
      if (this.#events?.wants('batch.retried')) {
        this.#events.emit('batch.retried', { topic: batch.topic, partition: batch.partition, recordCount: batch.recordCount, attempt: batch.attempts, backoffMs, error });
      }
      return;
    }
    batch.done(-1, -1, error);
  }

  /** MESSAGE_TOO_LARGE: split a multi-record batch (Kafka `Sender.completeBatch`), fail a single record. */
  #handleTooLarge(batch: ProducerBatch, error: SluiceError, nowMs: number): void {
    if (batch.recordCount === 1) {
      batch.done(
        -1,
        -1,
        new RecordTooLargeError(
          batch.sizeBytes,
          `record for ${batch.topic}-${batch.partition} was rejected by the broker as too large: its batch of 1 record is ${batch.sizeBytes} bytes (${error.message})`,
        ),
      );
      return;
    }
    let children: ProducerBatch[];
    try {
      children = this.#acc.splitAndReenqueue(batch, nowMs);
    } catch (err) {
      batch.done(
        -1,
        -1,
        new BrokerError(
          KafkaErrors.MESSAGE_TOO_LARGE.code,
          KafkaErrors.MESSAGE_TOO_LARGE.name,
          false,
          `${error.message}; splitting the batch of ${batch.recordCount} records failed: ${(err as Error)?.message ?? String(err)}`,
        ),
      );
      return;
    }
    this.#idem?.onSplit(batch, children);
    this.metrics.recordSplit(nowMs);
  }

  #onBatchDone(batch: ProducerBatch, error: Error | null): void {
    if (error !== null) {
      this.#idem?.onFailed(batch);
      this.metrics.recordErrors(batch.recordCount, this.#scheduler.nowMs());
      if (this.#events?.wants('batch.failed')) {
        this.#events.emit('batch.failed', { topic: batch.topic, partition: batch.partition, recordCount: batch.recordCount, error: asSluiceError(error) });
      }
    }
    if (this.#idleWaiters.length > 0) this.#checkIdle();
  }

  // ------------------------------------------------------------------ producer id

  readonly #onNetworkWakeup = (event?: NetworkEvent | MetadataUpdate): void => {
    if (event !== undefined && 'kind' in event) {
      if (event.kind === 'disconnected') {
        if (this.#events?.wants('connection')) this.#events.emit('connection', { nodeId: event.nodeId, state: 'disconnected', error: event.error });
        // Failed authentication (SASL credentials, TLS trust) cannot succeed on retry: fatal.
        if (event.error instanceof AuthenticationError) this.#enterFatal(event.error);
        // A lost connection: the broker may be gone or no longer lead (Kafka NetworkClient
        // handleDisconnections → metadata update).
        else this.#metadata.requestFullUpdate();
      } else if (this.#events?.wants('connection')) {
        this.#events.emit('connection', { nodeId: event.nodeId, state: 'connected', error: null });
      }
    }
    this.wakeup(0);
  };

  /** Every incomplete record fails with `error`, and so will every later one (Kafka's fatal state). */
  #enterFatal(error: SluiceError): void {
    if (this.#fatalError !== null) return;
    this.#fatalError = error;
    this.#onFatal?.(error);
    this.#events?.emit('fatal', { error });
    this.wakeup(0);
  }

  #maybeInitProducerId(nowMs: number): void {
    if (this.#pidInFlight || nowMs < this.#nextPidAttemptMs || this.#stopping) return;
    this.#pidInFlight = true;
    let pending: Promise<InitProducerIdResponse>;
    try {
      pending = this.#network.initProducerId();
    } catch (err) {
      pending = Promise.reject(err);
    }
    this.#pidPending = pending.then(
      (answer) => {
        this.#pidInFlight = false;
        if (this.#closed) return;
        if (answer.errorCode === 0) {
          this.#pidFailures = 0;
          this.#idem?.setProducerIdAndEpoch({ producerId: answer.producerId, epoch: answer.producerEpoch });
          this.wakeup(0);
        } else if (kafkaError(answer.errorCode).retriable) {
          this.#events?.emit('recovered', { what: 'producer-id-retry', detail: `InitProducerId answered ${kafkaError(answer.errorCode).name}; asking again after a backoff` });
          this.#retryInitProducerIdLater();
        } else {
          // Kafka's idempotent producer enters its fatal state: every record fails with the cause.
          this.#enterFatal(brokerErrorFor(answer.errorCode, 'InitProducerId for the idempotent producer was refused; no record can be sent', answer.errorMessage));
        }
      },
      (err: unknown) => {
        this.#pidInFlight = false;
        if (err instanceof AuthenticationError) this.#enterFatal(err);
        else this.#retryInitProducerIdLater();
      },
    );
  }

  #retryInitProducerIdLater(): void {
    const now = this.#scheduler.nowMs();
    this.#nextPidAttemptMs = now + this.#backoff.backoffMs(this.#pidFailures++);
    this.wakeup(this.#nextPidAttemptMs - now);
  }
}
