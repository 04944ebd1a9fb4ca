/**
 * Metadata (key 3), versions 0–12: brokers, controller, and each topic's partitions and leaders.
 *
 * Request (flexible from v9):
 *
 * | field                                 | type                  | versions | note                                  |
 * |---------------------------------------|-----------------------|----------|---------------------------------------|
 * | topics                                | array                 | 0+       | nullable from v1; compact in 9+       |
 * |   topic_id                            | uuid                  | 10+      | Sluice asks by name: the zero uuid    |
 * |   name                                | string                | 0+       | nullable from v10 (never null here)   |
 * |   tagged fields                       |                       | 9+       |                                       |
 * | allow_auto_topic_creation             | bool                  | 4+       |                                       |
 * | include_cluster_authorized_operations | bool                  | 8–10     |                                       |
 * | include_topic_authorized_operations   | bool                  | 8+       |                                       |
 * | tagged fields                         |                       | 9+       |                                       |
 *
 * "All topics" is an empty array in v0 and a null array from v1 (where an empty array means
 * "no topics"); v0 cannot ask for no topics.
 *
 * Response (flexible from v9) — note throttle_time_ms comes first:
 *
 * | field                         | type            | versions | note                              |
 * |-------------------------------|-----------------|----------|-----------------------------------|
 * | throttle_time_ms              | int32           | 3+       |                                   |
 * | brokers                       | array           | 0+       |                                   |
 * |   node_id                     | int32           | 0+       |                                   |
 * |   host                        | string          | 0+       |                                   |
 * |   port                        | int32           | 0+       |                                   |
 * |   rack                        | nullable string | 1+       |                                   |
 * |   tagged fields               |                 | 9+       |                                   |
 * | cluster_id                    | nullable string | 2+       |                                   |
 * | controller_id                 | int32           | 1+       | -1 when unknown                   |
 * | topics                        | array           | 0+       |                                   |
 * |   error_code                  | int16           | 0+       |                                   |
 * |   name                        | string          | 0+       | nullable from v12                 |
 * |   topic_id                    | uuid            | 10+      |                                   |
 * |   is_internal                 | bool            | 1+       |                                   |
 * |   partitions                  | array           | 0+       |                                   |
 * |     error_code                | int16           | 0+       |                                   |
 * |     partition_index           | int32           | 0+       |                                   |
 * |     leader_id                 | int32           | 0+       |                                   |
 * |     leader_epoch              | int32           | 7+       | -1 before                         |
 * |     replica_nodes             | []int32         | 0+       |                                   |
 * |     isr_nodes                 | []int32         | 0+       |                                   |
 * |     offline_replicas          | []int32         | 5+       |                                   |
 * |     tagged fields             |                 | 9+       |                                   |
 * |   topic_authorized_operations | int32           | 8+       | bit field; INT32_MIN = not asked  |
 * |   tagged fields               |                 | 9+       |                                   |
 * | cluster_authorized_operations | int32           | 8–10     |                                   |
 * | tagged fields                 |                 | 9+       |                                   |
 *
 * Fields a version lacks decode to Kafka's defaults (rack null, controller -1, leader epoch -1,
 * authorized operations INT32_MIN, topic id the zero uuid).
 */
import { ProtocolError } from '../../errors.js';
import { ApiKey, checkSupportedVersion } from '../api-keys.js';
import { ByteReader } from '../primitives/byte-reader.js';
import { ZERO_UUID } from '../primitives/byte-writer.js';
import type { RequestHeaderFields } from '../request-header.js';
import { encodeRequestFrame } from '../request-header.js';

/** First version where a null topics array means all topics (an empty one, none). */
export const METADATA_NULLABLE_TOPICS_VERSION = 1;
/** First version with allow_auto_topic_creation. */
export const METADATA_AUTO_CREATE_VERSION = 4;
/** First version with the authorized-operations fields. */
export const METADATA_AUTHORIZED_OPERATIONS_VERSION = 8;
/** Last version with include_cluster_authorized_operations / cluster_authorized_operations (KIP-700). */
export const METADATA_LAST_CLUSTER_OPERATIONS_VERSION = 10;
/** First flexible version. */
export const METADATA_FIRST_FLEXIBLE_VERSION = 9;
/** First version with topic ids. */
export const METADATA_TOPIC_ID_VERSION = 10;
/** First version where a response topic's name may be null (topics asked by id). */
export const METADATA_NULLABLE_TOPIC_NAME_VERSION = 12;
/** First version with rack, controller_id and is_internal. */
export const METADATA_RACK_VERSION = 1;
/** First version with cluster_id. */
export const METADATA_CLUSTER_ID_VERSION = 2;
/** First version with throttle_time_ms. */
export const METADATA_THROTTLE_TIME_VERSION = 3;
/** First version with offline_replicas. */
export const METADATA_OFFLINE_REPLICAS_VERSION = 5;
/** First version with leader_epoch. */
export const METADATA_LEADER_EPOCH_VERSION = 7;
/** Kafka's default for the authorized-operations bit fields: not requested. */
export const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;
/** Kafka's "unknown" node or epoch. */
export const UNKNOWN_ID = -1;

/** What a Metadata request asks. */
export interface MetadataRequestData {
  /** Topic names; null asks for all topics. */
  readonly topics: readonly string[] | null;
  /** v4+: whether the broker may create missing topics (if it is configured to). Default true. */
  readonly allowAutoTopicCreation?: boolean;
  /** v8–v10: ask for the cluster's authorized operations. Default false. */
  readonly includeClusterAuthorizedOperations?: boolean;
  /** v8+: ask for each topic's authorized operations. Default false. */
  readonly includeTopicAuthorizedOperations?: boolean;
}

/** One broker of a Metadata response. */
export interface MetadataBroker {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
  /** null before v1 or when the broker has no rack. */
  readonly rack: string | null;
}

/** One partition of a Metadata response topic. */
export interface MetadataPartition {
  readonly errorCode: number;
  readonly partitionIndex: number;
  /** -1 when there is no leader. */
  readonly leaderId: number;
  /** -1 before v7. */
  readonly leaderEpoch: number;
  readonly replicaNodes: readonly number[];
  readonly isrNodes: readonly number[];
  /** Empty before v5. */
  readonly offlineReplicas: readonly number[];
}

/** One topic of a Metadata response. */
export interface MetadataTopic {
  readonly errorCode: number;
  /** null only from v12, for a topic asked by id that does not exist. */
  readonly name: string | null;
  /** As Kafka prints it; {@link ZERO_UUID} before v10. */
  readonly topicId: string;
  /** false before v1. */
  readonly isInternal: boolean;
  readonly partitions: readonly MetadataPartition[];
  /** {@link AUTHORIZED_OPERATIONS_OMITTED} before v8 or when not asked. */
  readonly topicAuthorizedOperations: number;
}

/** A decoded Metadata response. */
export interface MetadataResponse {
  /** 0 before v3. */
  readonly throttleTimeMs: number;
  readonly brokers: readonly MetadataBroker[];
  /** null before v2. */
  readonly clusterId: string | null;
  /** -1 before v1 or when unknown. */
  readonly controllerId: number;
  readonly topics: readonly MetadataTopic[];
  /** {@link AUTHORIZED_OPERATIONS_OMITTED} outside v8–v10 or when not asked. */
  readonly clusterAuthorizedOperations: number;
}

/**
 * Encodes a Metadata request frame (size prefix included).
 * @throws ProtocolError when the version is outside v0–v12, or v0 is asked for no topics
 */
export function encodeMetadataRequest(header: RequestHeaderFields, request: MetadataRequestData): Uint8Array {
  const version = header.apiVersion;
  checkSupportedVersion(ApiKey.METADATA, version, 'MetadataRequest');
  const topics = request.topics;
  if (version < METADATA_NULLABLE_TOPICS_VERSION && topics !== null && topics.length === 0) {
    throw new ProtocolError('MetadataRequest v0 cannot ask for no topics: an empty array means all topics there');
  }
  const flexible = version >= METADATA_FIRST_FLEXIBLE_VERSION;
  return encodeRequestFrame({ apiKey: ApiKey.METADATA, ...header }, (w) => {
    if (version < METADATA_NULLABLE_TOPICS_VERSION) {
      // v0 has no null array: all topics is the empty array.
      const names = topics ?? [];
      w.writeArrayLength(names.length);
      for (const name of names) w.writeString(name);
    } else {
      const count = topics === null ? null : topics.length;
      if (flexible) w.writeCompactArrayLength(count);
      else w.writeArrayLength(count);
      for (const name of topics ?? []) {
        if (version >= METADATA_TOPIC_ID_VERSION) w.writeUuid(ZERO_UUID);
        if (flexible) {
          w.writeCompactString(name);
          w.writeEmptyTaggedFields();
        } else {
          w.writeString(name);
        }
      }
    }
    if (version >= METADATA_AUTO_CREATE_VERSION) w.writeBoolean(request.allowAutoTopicCreation ?? true);
    if (version >= METADATA_AUTHORIZED_OPERATIONS_VERSION) {
      if (version <= METADATA_LAST_CLUSTER_OPERATIONS_VERSION) {
        w.writeBoolean(request.includeClusterAuthorizedOperations ?? false);
      }
      w.writeBoolean(request.includeTopicAuthorizedOperations ?? false);
    }
    if (flexible) w.writeEmptyTaggedFields();
  });
}

/**
 * Decodes a Metadata response body (after the response header) in `version`'s format.
 * @throws ProtocolError when the version is outside v0–v12 or the body is malformed
 */
export function decodeMetadataResponse(body: Uint8Array, version: number): MetadataResponse {
  checkSupportedVersion(ApiKey.METADATA, version, 'MetadataResponse');
  const r = new ByteReader(body, `MetadataResponse v${version}`);
  const flexible = version >= METADATA_FIRST_FLEXIBLE_VERSION;
  const readArrayLength = flexible
    ? (field: string): number => r.readCompactArrayLength(field)
    : (field: string): number => r.readArrayLength(field);
  const readString = flexible ? (field: string): string => r.readCompactString(field) : (field: string): string => r.readString(field);
  const readNullableString = flexible
    ? (field: string): string | null => r.readCompactNullableString(field)
    : (field: string): string | null => r.readNullableString(field);
  const readInt32Array = (field: string): number[] => {
    const n = readArrayLength(field);
    const out = new Array<number>(n);
    for (let i = 0; i < n; i++) out[i] = r.readInt32(field);
    return out;
  };

  const throttleTimeMs = version >= METADATA_THROTTLE_TIME_VERSION ? r.readInt32('throttle_time_ms') : 0;

  const brokerCount = readArrayLength('brokers');
  const brokers = new Array<MetadataBroker>(brokerCount);
  for (let i = 0; i < brokerCount; i++) {
    const nodeId = r.readInt32('node_id');
    const host = readString('host');
    const port = r.readInt32('port');
    const rack = version >= METADATA_RACK_VERSION ? readNullableString('rack') : null;
    if (flexible) r.skipTaggedFields('brokers tagged_fields');
    brokers[i] = { nodeId, host, port, rack };
  }

  const clusterId = version >= METADATA_CLUSTER_ID_VERSION ? readNullableString('cluster_id') : null;
  const controllerId = version >= METADATA_RACK_VERSION ? r.readInt32('controller_id') : UNKNOWN_ID;

  const topicCount = readArrayLength('topics');
  const topics = new Array<MetadataTopic>(topicCount);
  for (let t = 0; t < topicCount; t++) {
    const errorCode = r.readInt16('topic error_code');
    const name = version >= METADATA_NULLABLE_TOPIC_NAME_VERSION ? readNullableString('name') : readString('name');
    const topicId = version >= METADATA_TOPIC_ID_VERSION ? r.readUuid('topic_id') : ZERO_UUID;
    const isInternal = version >= METADATA_RACK_VERSION ? r.readBoolean('is_internal') : false;
    const partitionCount = readArrayLength('partitions');
    const partitions = new Array<MetadataPartition>(partitionCount);
    for (let p = 0; p < partitionCount; p++) {
      const partitionError = r.readInt16('partition error_code');
      const partitionIndex = r.readInt32('partition_index');
      const leaderId = r.readInt32('leader_id');
      const leaderEpoch = version >= METADATA_LEADER_EPOCH_VERSION ? r.readInt32('leader_epoch') : UNKNOWN_ID;
      const replicaNodes = readInt32Array('replica_nodes');
      const isrNodes = readInt32Array('isr_nodes');
      const offlineReplicas = version >= METADATA_OFFLINE_REPLICAS_VERSION ? readInt32Array('offline_replicas') : [];
      if (flexible) r.skipTaggedFields('partitions tagged_fields');
      partitions[p] = {
        errorCode: partitionError,
        partitionIndex,
        leaderId,
        leaderEpoch,
        replicaNodes,
        isrNodes,
        offlineReplicas,
      };
    }
    const topicAuthorizedOperations =
      version >= METADATA_AUTHORIZED_OPERATIONS_VERSION ? r.readInt32('topic_authorized_operations') : AUTHORIZED_OPERATIONS_OMITTED;
    if (flexible) r.skipTaggedFields('topics tagged_fields');
    topics[t] = { errorCode, name, topicId, isInternal, partitions, topicAuthorizedOperations };
  }

  const clusterAuthorizedOperations =
    version >= METADATA_AUTHORIZED_OPERATIONS_VERSION && version <= METADATA_LAST_CLUSTER_OPERATIONS_VERSION
      ? r.readInt32('cluster_authorized_operations')
      : AUTHORIZED_OPERATIONS_OMITTED;
  if (flexible) r.skipTaggedFields();
  return { throttleTimeMs, brokers, clusterId, controllerId, topics, clusterAuthorizedOperations };
}
