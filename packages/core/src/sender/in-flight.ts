/**
 * The sender's bookkeeping of produce requests between drain and the network's answer
 * (Kafka keeps the same facts in `NetworkClient.inFlightRequests` and `Sender.inFlightBatches`).
 *
 * A request is registered when its batches are drained — before they are sealed when a
 * worker seals them — so that the `maxInFlightRequestsPerConnection` limit counts it at
 * once, and leaves when the network's promise settles. Only then are its batches' network
 * holds released: a batch that expires in flight is completed (failed) at its deadline, but
 * its memory stays held until the request lets go of the bytes (KAFKA-17862).
 *
 * Expiry of in-flight batches (Kafka `Sender.getExpiredInflightBatches`) scans the requests
 * only when the clock reaches the earliest deadline, kept as requests come and go.
 */
import type { ProducerBatch } from '../accumulator/producer-batch.js';
import { IndexedSet } from '../collections/indexed-set.js';
import type { IndexSlot } from '../collections/indexed-set.js';

/** One produce request the sender has drained batches for and not yet seen settle. */
export interface InFlightRequest {
  /** Sender-unique id, increasing. */
  readonly id: number;
  readonly nodeId: number;
  /** The drained batches, one per partition. */
  readonly batches: ProducerBatch[];
  /** The batches actually handed to the network (marked in flight, holding memory). */
  sent: ProducerBatch[];
  /** When the batches were drained. */
  readonly drainedMs: number;
  /** When the request was handed to the network; -1 while its batches are being sealed. */
  sentMs: number;
  /** True while one of its batches is still being sealed (it then waits in its node's transmit queue). */
  awaitingSeal: boolean;
  /** Position in {@link InFlightRequests}; -1 when not registered (see `IndexedSet`). */
  index: number;
}

const REQUEST_SLOT: IndexSlot<InFlightRequest> = {
  get: (r) => r.index,
  set: (r, i) => void (r.index = i),
};

/** In-flight produce requests, by node. */
export class InFlightRequests {
  // An IndexedSet, not a Set, and counts that stay at 0 instead of being deleted: both churn
  // per request for the producer's lifetime (see indexed-set.ts).
  readonly #requests = new IndexedSet<InFlightRequest>(REQUEST_SLOT);
  readonly #perNode = new Map<number, number>();
  /** Lower bound of the earliest `createdMs + deliveryTimeoutMs` of a batch in a request. */
  #nextExpiryMs = Infinity;
  readonly #deliveryTimeoutMs: number;

  /** @param deliveryTimeoutMs - `delivery.timeout.ms` */
  constructor(deliveryTimeoutMs: number) {
    this.#deliveryTimeoutMs = deliveryTimeoutMs;
  }

  /** Registers a request (counted against its node from now on). */
  add(request: InFlightRequest): void {
    this.#requests.add(request);
    this.#perNode.set(request.nodeId, (this.#perNode.get(request.nodeId) ?? 0) + 1);
    for (const b of request.batches) {
      const at = b.createdMs + this.#deliveryTimeoutMs;
      if (at < this.#nextExpiryMs) this.#nextExpiryMs = at;
    }
  }

  /** Unregisters a request whose network promise settled (or that was never sent). */
  remove(request: InFlightRequest): void {
    if (!this.#requests.delete(request)) return;
    this.#perNode.set(request.nodeId, (this.#perNode.get(request.nodeId) ?? 1) - 1);
    if (this.#requests.size === 0) this.#nextExpiryMs = Infinity;
  }

  /** Requests registered for `nodeId`. */
  countTo(nodeId: number): number {
    return this.#perNode.get(nodeId) ?? 0;
  }

  /** Requests registered in all. */
  get size(): number {
    return this.#requests.size;
  }

  /** Every registered request (a snapshot). */
  all(): InFlightRequest[] {
    return this.#requests.toArray();
  }

  /** When {@link expiredBatches} may next find something; Infinity when nothing is in flight. */
  nextExpiryMs(): number {
    return this.#nextExpiryMs;
  }

  /**
   * The batches of registered requests that are not complete and whose delivery timeout
   * has passed at `nowMs`. They stay in their requests (their holds are released when the
   * request settles); the caller fails them. Scans only when `nowMs` reached the deadline.
   */
  expiredBatches(nowMs: number): ProducerBatch[] {
    if (nowMs < this.#nextExpiryMs) return [];
    const out: ProducerBatch[] = [];
    let next = Infinity;
    for (const r of this.#requests) {
      for (const b of r.batches) {
        if (b.isDone) continue;
        const at = b.createdMs + this.#deliveryTimeoutMs;
        if (at <= nowMs) out.push(b);
        else if (at < next) next = at;
      }
    }
    this.#nextExpiryMs = next;
    return out;
  }
}
