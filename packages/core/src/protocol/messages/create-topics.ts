/**
 * CreateTopics (key 19), versions 2–7: creates topics through any broker (a KRaft broker
 * forwards the request to the controller, KIP-590). The producer never sends it; tools do —
 * `sluice-perf` creates its topic with it before a `--bootstrap-server` run, and the test
 * brokers create theirs (test/brokers/kafka-admin.ts).
 *
 * Request (flexible from v5):
 *
 * | field                | type            | versions | note                                         |
 * |----------------------|-----------------|----------|----------------------------------------------|
 * | topics               | array           | 0+       | compact in 5+                                |
 * |   name               | string          | 0+       |                                              |
 * |   num_partitions     | int32           | 0+       | -1: the broker's `num.partitions` (4+)       |
 * |   replication_factor | int16           | 0+       | -1: `default.replication.factor` (4+)        |
 * |   assignments        | array           | 0+       | partition_index int32, broker_ids []int32    |
 * |   configs            | array           | 0+       | name string, value nullable string           |
 * |   tagged fields      |                 | 5+       | (also inside assignments and configs)        |
 * | timeout_ms           | int32           | 0+       | how long the broker waits for the creation   |
 * | validate_only        | bool            | 1+       |                                              |
 * | tagged fields        |                 | 5+       |                                              |
 *
 * Response (flexible from v5):
 *
 * | field                     | type            | versions | note                                    |
 * |---------------------------|-----------------|----------|-----------------------------------------|
 * | throttle_time_ms          | int32           | 2+       |                                         |
 * | topics                    | array           | 0+       |                                         |
 * |   name                    | string          | 0+       |                                         |
 * |   topic_id                | uuid            | 7+       |                                         |
 * |   error_code              | int16           | 0+       | TOPIC_ALREADY_EXISTS (36), …            |
 * |   error_message           | nullable string | 1+       |                                         |
 * |   topic_config_error_code | int16           | 5+       | tagged field 0; 0 when absent           |
 * |   num_partitions          | int32           | 5+       | -1 before                               |
 * |   replication_factor      | int16           | 5+       | -1 before                               |
 * |   configs                 | nullable array  | 5+       | name, value, read_only, config_source, is_sensitive (+ tags) |
 * |   tagged fields           |                 | 5+       |                                         |
 * | tagged fields             |                 | 5+       |                                         |
 *
 * v3 is v2; v4 lets num_partitions and replication_factor be -1 (KIP-464); v6 may answer
 * THROTTLING_QUOTA_EXCEEDED (KIP-599); v7 returns topic ids (KIP-516). Kafka 4.x serves v2–v7
 * (KIP-896 removed v0–v1), which is Sluice's range.
 *
 * Source: Kafka's `CreateTopicsRequest.json` / `CreateTopicsResponse.json`, checked against
 * the schemas of kafka-clients 4.4 (`CreateTopicsRequestData.SCHEMAS`).
 */
import { ProtocolError } from '../../errors.js';
import { ApiKey, checkSupportedVersion } from '../api-keys.js';
import { ByteReader } from '../primitives/byte-reader.js';
import type { ByteWriter } from '../primitives/byte-writer.js';
import { ZERO_UUID } from '../primitives/byte-writer.js';
import type { RequestHeaderFields } from '../request-header.js';
import { encodeRequestFrame } from '../request-header.js';

/** First flexible CreateTopics version. */
export const CREATE_TOPICS_FIRST_FLEXIBLE_VERSION = 5;
/** First version where num_partitions and replication_factor may be -1 (the broker's defaults, KIP-464). */
export const CREATE_TOPICS_DEFAULTS_VERSION = 4;
/** First version whose response describes the created topic (partitions, replication, configs). */
export const CREATE_TOPICS_DESCRIBE_VERSION = 5;
/** First version whose response carries topic ids. */
export const CREATE_TOPICS_TOPIC_ID_VERSION = 7;
/** The tag of topic_config_error_code in a response topic's tagged fields. */
const TOPIC_CONFIG_ERROR_CODE_TAG = 0;
/** "The broker's default" for num_partitions / replication_factor. */
export const BROKER_DEFAULT = -1;

/** One topic to create. */
export interface CreatableTopic {
  readonly name: string;
  /** -1 (v4+): the broker's `num.partitions`. Must be -1 when `assignments` are given. */
  readonly numPartitions: number;
  /** -1 (v4+): the broker's `default.replication.factor`. Must be -1 when `assignments` are given. */
  readonly replicationFactor: number;
  /** Replicas per partition chosen by the caller; default none (the controller places them). */
  readonly assignments?: readonly { readonly partitionIndex: number; readonly brokerIds: readonly number[] }[];
  /** Topic configs, e.g. `{ 'max.message.bytes': '2097152' }`; null resets to the default. */
  readonly configs?: Readonly<Record<string, string | null>>;
}

/** What a CreateTopics request asks. */
export interface CreateTopicsRequestData {
  readonly topics: readonly CreatableTopic[];
  /** How long the broker waits for the topics to be created before answering REQUEST_TIMED_OUT. */
  readonly timeoutMs: number;
  /** Only check that the topics could be created. Default false. */
  readonly validateOnly?: boolean;
}

/** One config of a created topic (v5+). */
export interface CreatableTopicConfig {
  readonly name: string;
  readonly value: string | null;
  readonly readOnly: boolean;
  /** Kafka's `ConfigSource` id; -1 unknown. */
  readonly configSource: number;
  readonly isSensitive: boolean;
}

/** One topic's outcome. */
export interface CreatableTopicResult {
  readonly name: string;
  /** {@link ZERO_UUID} before v7 or when not created. */
  readonly topicId: string;
  /** 0 = created (or, with validate_only, creatable). */
  readonly errorCode: number;
  readonly errorMessage: string | null;
  /** v5+: why the configs could not be returned (e.g. not authorized to describe them); 0 otherwise. */
  readonly topicConfigErrorCode: number;
  /** v5+: partitions of the created topic; -1 before. */
  readonly numPartitions: number;
  /** v5+: replication factor of the created topic; -1 before. */
  readonly replicationFactor: number;
  /** v5+: the topic's configs, null when not returned (and before v5). */
  readonly configs: readonly CreatableTopicConfig[] | null;
}

/** A decoded CreateTopics response. */
export interface CreateTopicsResponse {
  readonly throttleTimeMs: number;
  readonly topics: readonly CreatableTopicResult[];
}

/**
 * Encodes a CreateTopics request frame (size prefix included).
 * @throws ProtocolError when the version is outside v2–v7, or -1 partitions or replication is
 *   asked of a version before v4
 */
export function encodeCreateTopicsRequest(header: RequestHeaderFields, request: CreateTopicsRequestData): Uint8Array {
  const version = header.apiVersion;
  checkSupportedVersion(ApiKey.CREATE_TOPICS, version, 'CreateTopicsRequest');
  if (version < CREATE_TOPICS_DEFAULTS_VERSION) {
    const t = request.topics.find((x) => x.numPartitions === BROKER_DEFAULT || x.replicationFactor === BROKER_DEFAULT);
    if (t !== undefined) {
      throw new ProtocolError(`CreateTopicsRequest v${version} cannot ask for the broker's default partitions or replication factor (topic ${t.name}): that needs v${CREATE_TOPICS_DEFAULTS_VERSION}+`);
    }
  }
  const flexible = version >= CREATE_TOPICS_FIRST_FLEXIBLE_VERSION;
  const arrayLength = (w: ByteWriter, n: number): void => (flexible ? w.writeCompactArrayLength(n) : w.writeArrayLength(n));
  const string = (w: ByteWriter, s: string): void => (flexible ? w.writeCompactString(s) : w.writeString(s));
  const nullableString = (w: ByteWriter, s: string | null): void => (flexible ? w.writeCompactNullableString(s) : w.writeNullableString(s));
  const tags = (w: ByteWriter): void => {
    if (flexible) w.writeEmptyTaggedFields();
  };
  return encodeRequestFrame({ apiKey: ApiKey.CREATE_TOPICS, ...header }, (w) => {
    arrayLength(w, request.topics.length);
    for (const topic of request.topics) {
      string(w, topic.name);
      w.writeInt32(topic.numPartitions);
      w.writeInt16(topic.replicationFactor);
      const assignments = topic.assignments ?? [];
      arrayLength(w, assignments.length);
      for (const a of assignments) {
        w.writeInt32(a.partitionIndex);
        arrayLength(w, a.brokerIds.length);
        for (const id of a.brokerIds) w.writeInt32(id);
        tags(w);
      }
      const configs = Object.entries(topic.configs ?? {});
      arrayLength(w, configs.length);
      for (const [name, value] of configs) {
        string(w, name);
        nullableString(w, value);
        tags(w);
      }
      tags(w);
    }
    w.writeInt32(request.timeoutMs);
    w.writeBoolean(request.validateOnly ?? false);
    tags(w);
  });
}

/**
 * Decodes a CreateTopics response body (after the response header) in `version`'s format.
 * @throws ProtocolError when the version is outside v2–v7 or the body is malformed
 */
export function decodeCreateTopicsResponse(body: Uint8Array, version: number): CreateTopicsResponse {
  checkSupportedVersion(ApiKey.CREATE_TOPICS, version, 'CreateTopicsResponse');
  const r = new ByteReader(body, `CreateTopicsResponse v${version}`);
  const flexible = version >= CREATE_TOPICS_FIRST_FLEXIBLE_VERSION;
  const readString = (field: string): string => (flexible ? r.readCompactString(field) : r.readString(field));
  const readNullableString = (field: string): string | null => (flexible ? r.readCompactNullableString(field) : r.readNullableString(field));

  const throttleTimeMs = r.readInt32('throttle_time_ms');
  const count = flexible ? r.readCompactArrayLength('topics') : r.readArrayLength('topics');
  const topics = new Array<CreatableTopicResult>(count);
  for (let t = 0; t < count; t++) {
    const name = readString('name');
    const topicId = version >= CREATE_TOPICS_TOPIC_ID_VERSION ? r.readUuid('topic_id') : ZERO_UUID;
    const errorCode = r.readInt16('error_code');
    const errorMessage = readNullableString('error_message');
    let numPartitions = BROKER_DEFAULT;
    let replicationFactor = BROKER_DEFAULT;
    let configs: CreatableTopicConfig[] | null = null;
    let topicConfigErrorCode = 0;
    if (version >= CREATE_TOPICS_DESCRIBE_VERSION) {
      numPartitions = r.readInt32('num_partitions');
      replicationFactor = r.readInt16('replication_factor');
      const n = r.readCompactNullableArrayLength('configs');
      if (n !== null) {
        configs = new Array<CreatableTopicConfig>(n);
        for (let c = 0; c < n; c++) {
          const configName = r.readCompactString('config name');
          const value = r.readCompactNullableString('config value');
          const readOnly = r.readBoolean('read_only');
          const configSource = r.readInt8('config_source');
          const isSensitive = r.readBoolean('is_sensitive');
          r.skipTaggedFields('configs tagged_fields');
          configs[c] = { name: configName, value, readOnly, configSource, isSensitive };
        }
      }
      r.readTaggedFields('topics tagged_fields', (tag) => {
        if (tag !== TOPIC_CONFIG_ERROR_CODE_TAG) return false;
        topicConfigErrorCode = r.readInt16('topic_config_error_code');
        return true;
      });
    }
    topics[t] = { name, topicId, errorCode, errorMessage, topicConfigErrorCode, numPartitions, replicationFactor, configs };
  }
  if (flexible) r.skipTaggedFields();
  return { throttleTimeMs, topics };
}
