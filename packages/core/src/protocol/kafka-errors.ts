/**
 * The Kafka error codes a producer meets on the wire — in Produce, Metadata, InitProducerId,
 * ApiVersions and SASL responses, plus those of CreateTopics (which tools send) — with Kafka's
 * names and retriability.
 *
 * Source: Kafka `org.apache.kafka.common.protocol.Errors` (codes and names) and the
 * generated protocol table (kafka.apache.org/39/generated/protocol_errors.html, "Retriable"
 * column = the exception extends `RetriableException`). Notes on the ones that surprise:
 * - CORRUPT_MESSAGE (2) is retriable: `CorruptRecordException extends RetriableException`
 *   (the bytes may have been damaged in transit; a resend may arrive intact).
 * - NETWORK_EXCEPTION (13), KAFKA_STORAGE_ERROR (56), NOT_LEADER_OR_FOLLOWER (6),
 *   UNKNOWN_TOPIC_OR_PARTITION (3), LEADER_NOT_AVAILABLE (5) extend
 *   `InvalidMetadataException`: retriable, and the producer should refresh metadata.
 * - OUT_OF_ORDER_SEQUENCE_NUMBER, DUPLICATE_SEQUENCE_NUMBER, INVALID_PRODUCER_EPOCH and
 *   UNKNOWN_PRODUCER_ID are not retriable as exceptions; the idempotent producer handles
 *   them itself (epoch bump / sequence reset, Kafka `TransactionManager`).
 * - The coordinator errors (COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE,
 *   NOT_COORDINATOR) and THROTTLING_QUOTA_EXCEEDED extend `RetriableException`.
 * - CreateTopics: NOT_CONTROLLER extends `RetriableException` (a quorum is electing);
 *   TOPIC_ALREADY_EXISTS, INVALID_PARTITIONS and INVALID_REPLICATION_FACTOR are `ApiException`s
 *   (checked with javap against kafka-clients 4.4).
 * - FENCED_LEADER_EPOCH extends `InvalidMetadataException`; UNKNOWN_LEADER_EPOCH extends only
 *   `RetriableException` (the broker is behind the client's metadata: retry, no refresh).
 * - The authorization and authentication errors (TOPIC_/CLUSTER_/TRANSACTIONAL_ID_
 *   AUTHORIZATION_FAILED, SASL_AUTHENTICATION_FAILED, UNSUPPORTED_SASL_MECHANISM,
 *   ILLEGAL_SASL_STATE), PRODUCER_FENCED, UNSUPPORTED_VERSION and INVALID_REQUEST extend
 *   `ApiException` directly: fatal for the operation.
 * - DUPLICATE_SEQUENCE_NUMBER is no longer sent by brokers for a retried batch: a duplicate
 *   of one of the producer's last 5 batches is answered with success and the original
 *   offsets (`UnifiedLog.analyzeAndValidateProducerState`). Kept so old codes decode.
 */
import { BrokerError } from '../errors.js';

/** One Kafka error code: number, name and whether retrying may succeed. */
export interface KafkaErrorCode {
  readonly code: number;
  readonly name: string;
  readonly retriable: boolean;
  /** Whether the client should refresh metadata on this error (`InvalidMetadataException`). */
  readonly invalidMetadata: boolean;
}

function def(code: number, name: string, retriable: boolean, invalidMetadata = false): KafkaErrorCode {
  return Object.freeze({ code, name, retriable, invalidMetadata });
}

/** Kafka's `Errors` that the producer meets, by name (codes checked against Kafka's `Errors.java`). */
export const KafkaErrors = Object.freeze({
  UNKNOWN_SERVER_ERROR: def(-1, 'UNKNOWN_SERVER_ERROR', false),
  NONE: def(0, 'NONE', false),
  OFFSET_OUT_OF_RANGE: def(1, 'OFFSET_OUT_OF_RANGE', false),
  CORRUPT_MESSAGE: def(2, 'CORRUPT_MESSAGE', true),
  UNKNOWN_TOPIC_OR_PARTITION: def(3, 'UNKNOWN_TOPIC_OR_PARTITION', true, true),
  LEADER_NOT_AVAILABLE: def(5, 'LEADER_NOT_AVAILABLE', true, true),
  NOT_LEADER_OR_FOLLOWER: def(6, 'NOT_LEADER_OR_FOLLOWER', true, true),
  REQUEST_TIMED_OUT: def(7, 'REQUEST_TIMED_OUT', true),
  MESSAGE_TOO_LARGE: def(10, 'MESSAGE_TOO_LARGE', false),
  NETWORK_EXCEPTION: def(13, 'NETWORK_EXCEPTION', true, true),
  COORDINATOR_LOAD_IN_PROGRESS: def(14, 'COORDINATOR_LOAD_IN_PROGRESS', true),
  COORDINATOR_NOT_AVAILABLE: def(15, 'COORDINATOR_NOT_AVAILABLE', true),
  NOT_COORDINATOR: def(16, 'NOT_COORDINATOR', true),
  INVALID_TOPIC_EXCEPTION: def(17, 'INVALID_TOPIC_EXCEPTION', false),
  RECORD_LIST_TOO_LARGE: def(18, 'RECORD_LIST_TOO_LARGE', false),
  NOT_ENOUGH_REPLICAS: def(19, 'NOT_ENOUGH_REPLICAS', true),
  NOT_ENOUGH_REPLICAS_AFTER_APPEND: def(20, 'NOT_ENOUGH_REPLICAS_AFTER_APPEND', true),
  INVALID_REQUIRED_ACKS: def(21, 'INVALID_REQUIRED_ACKS', false),
  TOPIC_AUTHORIZATION_FAILED: def(29, 'TOPIC_AUTHORIZATION_FAILED', false),
  CLUSTER_AUTHORIZATION_FAILED: def(31, 'CLUSTER_AUTHORIZATION_FAILED', false),
  INVALID_TIMESTAMP: def(32, 'INVALID_TIMESTAMP', false),
  UNSUPPORTED_SASL_MECHANISM: def(33, 'UNSUPPORTED_SASL_MECHANISM', false),
  ILLEGAL_SASL_STATE: def(34, 'ILLEGAL_SASL_STATE', false),
  UNSUPPORTED_VERSION: def(35, 'UNSUPPORTED_VERSION', false),
  TOPIC_ALREADY_EXISTS: def(36, 'TOPIC_ALREADY_EXISTS', false),
  INVALID_PARTITIONS: def(37, 'INVALID_PARTITIONS', false),
  INVALID_REPLICATION_FACTOR: def(38, 'INVALID_REPLICATION_FACTOR', false),
  INVALID_CONFIG: def(40, 'INVALID_CONFIG', false),
  NOT_CONTROLLER: def(41, 'NOT_CONTROLLER', true),
  INVALID_REQUEST: def(42, 'INVALID_REQUEST', false),
  UNSUPPORTED_FOR_MESSAGE_FORMAT: def(43, 'UNSUPPORTED_FOR_MESSAGE_FORMAT', false),
  POLICY_VIOLATION: def(44, 'POLICY_VIOLATION', false),
  OUT_OF_ORDER_SEQUENCE_NUMBER: def(45, 'OUT_OF_ORDER_SEQUENCE_NUMBER', false),
  DUPLICATE_SEQUENCE_NUMBER: def(46, 'DUPLICATE_SEQUENCE_NUMBER', false),
  INVALID_PRODUCER_EPOCH: def(47, 'INVALID_PRODUCER_EPOCH', false),
  INVALID_TXN_STATE: def(48, 'INVALID_TXN_STATE', false),
  TRANSACTIONAL_ID_AUTHORIZATION_FAILED: def(53, 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED', false),
  KAFKA_STORAGE_ERROR: def(56, 'KAFKA_STORAGE_ERROR', true, true),
  SASL_AUTHENTICATION_FAILED: def(58, 'SASL_AUTHENTICATION_FAILED', false),
  UNKNOWN_PRODUCER_ID: def(59, 'UNKNOWN_PRODUCER_ID', false),
  FENCED_LEADER_EPOCH: def(74, 'FENCED_LEADER_EPOCH', true, true),
  UNKNOWN_LEADER_EPOCH: def(75, 'UNKNOWN_LEADER_EPOCH', true),
  INVALID_RECORD: def(87, 'INVALID_RECORD', false),
  THROTTLING_QUOTA_EXCEEDED: def(89, 'THROTTLING_QUOTA_EXCEEDED', true),
  PRODUCER_FENCED: def(90, 'PRODUCER_FENCED', false),
});

/** A name of {@link KafkaErrors}. */
export type KafkaErrorName = keyof typeof KafkaErrors;

const BY_CODE = new Map<number, KafkaErrorCode>(Object.values(KafkaErrors).map((e) => [e.code, e]));

/**
 * The error with Kafka code `code`. A code not in {@link KafkaErrors} gives a non-retriable
 * `UNKNOWN_ERROR_<code>` entry, so that a newer broker's code still makes a readable message
 * (Kafka maps an unknown code to `UNKNOWN_SERVER_ERROR`; keeping the number is more useful).
 */
export function kafkaError(code: number): KafkaErrorCode {
  return BY_CODE.get(code) ?? def(code, `UNKNOWN_ERROR_${code}`, false);
}

/**
 * Builds the {@link BrokerError} for a Kafka error code answered for one partition or request.
 * @param code - Kafka error code (not 0)
 * @param context - where it happened, e.g. `produce to t-3 on node 2, batch of 120 records`
 * @param brokerMessage - the broker's `errorMessage`, if any
 * @returns a BrokerError whose message reads `NOT_LEADER_OR_FOLLOWER (6): produce to t-3 on node 2 …`
 */
export function brokerErrorFor(code: number, context: string, brokerMessage?: string | null): BrokerError {
  const e = kafkaError(code);
  const detail = brokerMessage ? ` (broker: ${brokerMessage})` : '';
  return new BrokerError(e.code, e.name, e.retriable, `${e.name} (${e.code}): ${context}${detail}`);
}
