/**
 * The network layer the sender hands node-grouped sealed batches to. Two implementations:
 * the embedded in-memory cluster (`embedded/in-memory-cluster.ts`, the default target of
 * the perf harness and the tests) and, later, a Kafka wire transport.
 *
 * Contract:
 * - `send` is called only when `canSend(nodeId)` is true (fewer than
 *   `maxInFlightRequestsPerConnection` requests in flight to that node).
 * - The `records` views point into pool memory; the client must be finished reading them
 *   when its promise settles (resolve or reject). The sender releases the batches' memory
 *   only then — never earlier (KAFKA-17862: an expired in-flight batch's buffer was reused
 *   while the request still read it).
 * - One response per partition of the request, in any order. A request-level failure
 *   (connection lost, request timeout) rejects the promise; the sender then treats every
 *   partition of the request as failed with that (retriable) error.
 * - With acks=0 the promise resolves once the bytes are handed off, with errorCode 0 and
 *   baseOffset -1 for every partition.
 */
import type { ClusterView } from '../cluster/cluster.js';

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
  /** Kafka error code; 0 = none. See `sender/kafka-errors.ts`. */
  readonly errorCode: number;
  /** Offset given to the batch's first record; -1 when unknown (acks=0, errors). */
  readonly baseOffset: number;
  /** Broker time when the topic uses LogAppendTime, else -1. */
  readonly logAppendTimeMs: number;
  readonly errorMessage?: string | null;
}

/** Where the sender sends. */
export interface NetworkClient {
  /** Current metadata (leaders); may change between calls. */
  readonly cluster: ClusterView;
  /** Whether a request to `nodeId` may be sent now (connected, under the in-flight limit). */
  canSend(nodeId: number): boolean;
  /** Requests in flight to `nodeId`. */
  inFlightRequests(nodeId: number): number;
  /** Sends one produce request; see the file comment for the contract. */
  send(request: ProduceRequest): Promise<ProducePartitionResponse[]>;
  /** Asks for fresh metadata for `topics` (leaders unknown or stale); resolves when updated. */
  refreshMetadata(topics: readonly string[]): Promise<void>;
  /** Allocates a producer id and epoch (Kafka InitProducerId) for idempotence. */
  initProducerId(): Promise<{ producerId: number; epoch: number }>;
  /** Closes connections; later sends reject. */
  close(): Promise<void>;
}
