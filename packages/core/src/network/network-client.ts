/**
 * The seam between the sender and the brokers. Two implementations stand behind it: the
 * embedded in-memory cluster (`embedded/in-memory-cluster.ts`, the default target of the perf
 * harness and of the simulations) and the Kafka wire transport (`network/wire/`). The sender,
 * the metadata owner and the producer facade see only this contract; one contract test suite
 * (`test/core/network/network-client.contract.ts`) runs against both.
 *
 * Contract:
 * - **Readiness, without polling.** `ready(nodeId, nowMs)` says whether a produce request to
 *   the node may be written now: connected (and authenticated), and under the in-flight limit.
 *   When it is false because the node is not connected, the call starts connecting (unless
 *   the node is in reconnect backoff). Whenever a node may have become ready — a connection
 *   finished, a backoff ended, a request was answered — the client calls the listener set
 *   with {@link NetworkClient.setWakeupListener}; the sender never polls on a timer. A lost
 *   connection is reported to the same listener as a `disconnected` event.
 * - **Produce.** `send` is called only after `ready` said true. The `records` views point into
 *   pool memory; the client must be finished reading them when its promise settles (resolve
 *   or reject) — the sender releases the batches' memory only then (KAFKA-17862: an expired
 *   in-flight batch's buffer was reused while the request still read it). The promise
 *   resolves with one answer per partition of the request, in any order, and rejects only
 *   for a request-level failure (connection lost, request timeout, closed), after which the
 *   sender treats every partition as failed with that retriable error. With acks=0 it
 *   resolves once the bytes are written, with errorCode 0 and baseOffset -1.
 * - **Metadata and producer ids carry Kafka error codes.** `fetchMetadata` and
 *   `initProducerId` resolve with the broker's answer, errors included (a topic's
 *   `UNKNOWN_TOPIC_OR_PARTITION`, `TOPIC_AUTHORIZATION_FAILED`, a coordinator still loading);
 *   the caller decides what is retriable. They reject only when no broker could be asked.
 * - `close()` rejects every request in flight at once (nothing reads pool memory afterwards)
 *   and every later call.
 */

import type { SluiceError } from '../errors.js';

/** What a network tells its wake-up listener besides "a node may be ready now". */
export type NetworkEvent =
  | {
      /** A connection to a broker was lost or could not be made: metadata may be stale. */
      readonly kind: 'disconnected';
      readonly nodeId: number;
      readonly error: SluiceError;
    }
  | {
      /** A connection to a broker is set up and usable. */
      readonly kind: 'connected';
      readonly nodeId: number;
    };

/** One partition's batch inside a produce request. */
export interface ProducePartitionData {
  readonly topic: string;
  readonly partition: number;
  /** One sealed RecordBatch v2 (a view into pool memory). */
  readonly records: Uint8Array;
}

/** One produce request to one node. */
export interface ProduceRequest {
  readonly nodeId: number;
  /** 0, 1 or -1 (all). */
  readonly acks: 0 | 1 | -1;
  /** How long the broker may wait for replication (`request.timeout.ms`). */
  readonly timeoutMs: number;
  readonly transactionalId: string | null;
  readonly partitions: readonly ProducePartitionData[];
}

/** The broker's answer for one partition (Kafka ProduceResponse partition data). */
export interface ProducePartitionResponse {
  readonly topic: string;
  readonly partition: number;
  /** Kafka error code; 0 = none. See `protocol/kafka-errors.ts`. */
  readonly errorCode: number;
  /** Offset given to the batch's first record; -1 when unknown (acks=0, errors). */
  readonly baseOffset: number;
  /** Broker time when the topic uses LogAppendTime, else -1. */
  readonly logAppendTimeMs: number;
  readonly errorMessage?: string | null;
  /** Per-record errors the broker named (Produce v8+ `record_errors`): index in the batch and message. */
  readonly recordErrors?: readonly { readonly batchIndex: number; readonly message: string | null }[];
}

/** A broker as metadata describes it. */
export interface BrokerNode {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
  readonly rack: string | null;
}

/** One partition in a metadata answer. */
export interface PartitionMetadata {
  readonly partition: number;
  /** Kafka error code for the partition (e.g. LEADER_NOT_AVAILABLE 5); 0 = none. */
  readonly errorCode: number;
  /** Leader node id; -1 when none. */
  readonly leader: number;
  /** Leader epoch (Metadata v7+); -1 when the broker does not say. */
  readonly leaderEpoch: number;
}

/** One topic in a metadata answer. */
export interface TopicMetadata {
  readonly topic: string;
  /** Kafka error code for the topic (UNKNOWN_TOPIC_OR_PARTITION 3, TOPIC_AUTHORIZATION_FAILED 29, …); 0 = none. */
  readonly errorCode: number;
  /** Partitions by index (may be empty when the topic has an error). */
  readonly partitions: readonly PartitionMetadata[];
}

/** A metadata answer (Kafka MetadataResponse, the parts a producer uses). */
export interface MetadataResponse {
  readonly brokers: readonly BrokerNode[];
  readonly clusterId: string | null;
  readonly controllerId: number;
  readonly topics: readonly TopicMetadata[];
}

/** What a metadata request asks for. */
export interface MetadataRequest {
  /** Topics to describe; an empty list asks for brokers only. */
  readonly topics: readonly string[];
  /** Whether the broker may create unknown topics (`allow.auto.create.topics`). */
  readonly allowAutoTopicCreation: boolean;
}

/** An InitProducerId answer. */
export interface InitProducerIdResponse {
  /** Kafka error code; 0 = none (then `producerId`/`producerEpoch` hold). */
  readonly errorCode: number;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly errorMessage?: string | null;
}

/** Where the sender sends. See the file comment for the contract. */
export interface NetworkClient {
  /**
   * Whether a produce request to `nodeId` may be sent now; when not connected, starts
   * connecting (outside reconnect backoff). Cheap: called for every ready node each loop.
   */
  ready(nodeId: number, nowMs: number): boolean;
  /**
   * The function to call whenever a node may have become ready (null: none); with an event
   * when a broker connection was lost (the caller then refreshes metadata).
   */
  setWakeupListener(listener: ((event?: NetworkEvent) => void) | null): void;
  /** Sends one produce request; see the file comment. */
  send(request: ProduceRequest): Promise<ProducePartitionResponse[]>;
  /** Asks a broker for metadata; resolves with its answer (error codes included). */
  fetchMetadata(request: MetadataRequest): Promise<MetadataResponse>;
  /** Asks for a producer id and epoch for idempotence (Kafka InitProducerId, no transactional id). */
  initProducerId(): Promise<InitProducerIdResponse>;
  /** Closes connections and fails what is in flight; later calls reject. */
  close(): Promise<void>;
}
