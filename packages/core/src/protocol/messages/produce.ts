/**
 * Produce (key 0), versions 3–12: the hot path. Sealed record batches go to the partition
 * leaders.
 *
 * Request (flexible from v9; v3–v12 differ only in flexibility and in what the response may
 * carry — v4 KAFKA_STORAGE_ERROR, v7 zstd, v8 record errors, v10 leader hints, v11 and v12
 * transaction error handling of KIP-890):
 *
 * | field            | type            | versions | note                                          |
 * |------------------|-----------------|----------|-----------------------------------------------|
 * | transactional_id | nullable string | 3+       | compact in 9+                                 |
 * | acks             | int16           | 0+       | 0, 1 or -1 (all in-sync replicas)             |
 * | timeout_ms       | int32           | 0+       |                                               |
 * | topic_data       | array           | 0+       | one entry per topic; compact in 9+            |
 * |   name           | string          | 0+       | compact in 9+                                 |
 * |   partition_data | array           | 0+       |                                               |
 * |     index        | int32           | 0+       | partition                                     |
 * |     records      | nullable records| 0+       | int32 length + batches; 9+: uvarint (length + 1) |
 * |     tagged fields|                 | 9+       |                                               |
 * |   tagged fields  |                 | 9+       |                                               |
 * | tagged fields    |                 | 9+       |                                               |
 *
 * Response (flexible from v9):
 *
 * | field                          | type            | versions | note                             |
 * |--------------------------------|-----------------|----------|----------------------------------|
 * | responses                      | array           | 0+       |                                  |
 * |   name                         | string          | 0+       |                                  |
 * |   partition_responses          | array           | 0+       |                                  |
 * |     index                      | int32           | 0+       |                                  |
 * |     error_code                 | int16           | 0+       |                                  |
 * |     base_offset                | int64           | 0+       |                                  |
 * |     log_append_time_ms         | int64           | 2+       | -1 unless the topic uses LogAppendTime |
 * |     log_start_offset           | int64           | 5+       | -1 before                        |
 * |     record_errors              | array           | 8+       | records that made the batch fail |
 * |       batch_index              | int32           | 8+       |                                  |
 * |       batch_index_error_message| nullable string | 8+       |                                  |
 * |       tagged fields            |                 | 9+       |                                  |
 * |     error_message              | nullable string | 8+       |                                  |
 * |     tagged fields              |                 | 9+       | tag 0 (v10+): current_leader {leader_id int32, leader_epoch int32, tagged fields} |
 * |   tagged fields                |                 | 9+       |                                  |
 * | throttle_time_ms               | int32           | 1+       |                                  |
 * | tagged fields                  |                 | 9+       | tag 0 (v10+): node_endpoints [{node_id int32, host string, port int32, rack nullable string, tagged fields}] |
 *
 * With acks=0 the broker sends no response at all; the connection must not wait for one.
 *
 * Key insight: the record batches are most of a request's bytes and already sit, sealed, in
 * pool memory. So the encoder never copies them: it sizes the framing exactly (header, topic
 * and partition entries, length prefixes, tags), writes all framing into one buffer of that
 * size, and returns chunks — views of that buffer between the caller's record views — for
 * `cork()` + `write()` per chunk or `writev`. Rejected alternatives: one contiguous buffer per
 * request (a copy of every batch, which is the copy the pool exists to avoid); one small
 * buffer per framing piece (an allocation per partition).
 */
import { IllegalStateError } from '../../errors.js';
import { ApiKey, checkSupportedVersion } from '../api-keys.js';
import { ByteReader } from '../primitives/byte-reader.js';
import {
  ByteWriter,
  INT16_BYTES,
  INT32_BYTES,
  sizeOfCompactString,
  sizeOfString,
  sizeOfUnsignedVarint,
} from '../primitives/byte-writer.js';
import type { RequestHeaderFields } from '../request-header.js';
import { sizeOfRequestHeader, writeRequestHeader } from '../request-header.js';

/** First flexible Produce version. */
export const PRODUCE_FIRST_FLEXIBLE_VERSION = 9;
/** First version with log_start_offset in the response. */
export const PRODUCE_LOG_START_OFFSET_VERSION = 5;
/** First version with record_errors and error_message in the response (KIP-467). */
export const PRODUCE_RECORD_ERRORS_VERSION = 8;
/** First version with the current_leader and node_endpoints tagged fields (KIP-951). */
export const PRODUCE_LEADER_HINTS_VERSION = 10;
/** Tag of current_leader in a partition response, and of node_endpoints at the top level. */
export const PRODUCE_LEADER_HINT_TAG = 0;
/** Kafka's "unknown" offset, time, leader or epoch. */
export const PRODUCE_UNKNOWN = -1;

/** Bytes of an empty tagged-field section. */
const EMPTY_TAGGED_FIELDS_BYTES = 1;

/** One partition's records in a produce request. */
export interface ProducePartitionInput {
  readonly topic: string;
  readonly partition: number;
  /** Sealed record batches (a view into pool memory); sent as is, never copied. */
  readonly records: Uint8Array;
}

/** What a produce request carries. `network/network-client.ts`'s `ProduceRequest` fits it. */
export interface ProduceRequestData {
  /** 0, 1 or -1. */
  readonly acks: number;
  readonly timeoutMs: number;
  readonly transactionalId: string | null;
  /** Partitions of the same topic are grouped under one topic entry, in first-seen order. */
  readonly partitions: readonly ProducePartitionInput[];
}

/** A produce request as socket writes: framing views interleaved with the caller's record views. */
export interface EncodedProduceRequest {
  /** In wire order; the first starts with the int32 size prefix. */
  readonly chunks: readonly Uint8Array[];
  /** Sum of the chunks' lengths (size prefix included). */
  readonly sizeBytes: number;
}

/** The current leader a broker names for a partition it no longer leads (KIP-951). */
export interface LeaderIdAndEpoch {
  readonly leaderId: number;
  readonly leaderEpoch: number;
}

/** A record of the batch that made the broker reject the batch (KIP-467). */
export interface ProduceRecordError {
  readonly batchIndex: number;
  readonly message: string | null;
}

/** A broker endpoint a Produce response names for the leaders in its partition responses. */
export interface ProduceNodeEndpoint {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
  readonly rack: string | null;
}

/** One partition's result in a Produce response. */
export interface ProducePartitionResult {
  readonly topic: string;
  readonly partition: number;
  readonly errorCode: number;
  readonly baseOffset: number;
  /** -1 unless the topic uses LogAppendTime. */
  readonly logAppendTimeMs: number;
  /** -1 before v5. */
  readonly logStartOffset: number;
  /** null before v8 or when the broker gave none. */
  readonly errorMessage: string | null;
  /** Empty before v8. */
  readonly recordErrors: readonly ProduceRecordError[];
  /** v10+ when the broker sent it (with NOT_LEADER_OR_FOLLOWER), else null. */
  readonly currentLeader: LeaderIdAndEpoch | null;
}

/** A decoded Produce response. */
export interface ProduceResponse {
  /** Flattened: one entry per partition, topics in response order. */
  readonly partitions: readonly ProducePartitionResult[];
  readonly throttleTimeMs: number;
  /** v10+ when the broker sent them, else empty. */
  readonly nodeEndpoints: readonly ProduceNodeEndpoint[];
}

/**
 * Encodes a Produce request as chunks for vectored socket writes, without copying any record
 * batch: every `records` view appears in `chunks` itself (same buffer, offset and length).
 * Empty `records` add no chunk.
 * @param header - API version (3–12), correlation id, client id
 * @param request - acks, timeout, transactional id and the partitions' record batches
 * @returns the chunks and their total length
 * @throws ProtocolError when the version is outside v3–v12 or a string is too long
 */
export function encodeProduceRequest(header: RequestHeaderFields, request: ProduceRequestData): EncodedProduceRequest {
  const version = header.apiVersion;
  checkSupportedVersion(ApiKey.PRODUCE, version, 'ProduceRequest');
  const flexible = version >= PRODUCE_FIRST_FLEXIBLE_VERSION;
  const fullHeader = { apiKey: ApiKey.PRODUCE, ...header };
  const topics = groupByTopic(request.partitions);

  // Sizing, apart from encoding: the framing buffer is allocated once, at its exact size.
  let framingBytes = INT32_BYTES + sizeOfRequestHeader(fullHeader);
  framingBytes += flexible ? sizeOfCompactString(request.transactionalId) : sizeOfString(request.transactionalId);
  framingBytes += INT16_BYTES + INT32_BYTES;
  framingBytes += flexible ? sizeOfUnsignedVarint(topics.length + 1) : INT32_BYTES;
  let recordBytes = 0;
  for (const partitions of topics) {
    const name = partitions[0].topic;
    framingBytes += flexible ? sizeOfCompactString(name) : sizeOfString(name);
    framingBytes += flexible ? sizeOfUnsignedVarint(partitions.length + 1) : INT32_BYTES;
    for (const p of partitions) {
      const n = p.records.byteLength;
      recordBytes += n;
      framingBytes += INT32_BYTES + (flexible ? sizeOfUnsignedVarint(n + 1) + EMPTY_TAGGED_FIELDS_BYTES : INT32_BYTES);
    }
    if (flexible) framingBytes += EMPTY_TAGGED_FIELDS_BYTES;
  }
  if (flexible) framingBytes += EMPTY_TAGGED_FIELDS_BYTES;
  const sizeBytes = framingBytes + recordBytes;

  const w = new ByteWriter(framingBytes);
  const chunks: Uint8Array[] = [];
  // Framing positions where a record view goes, with the view, filled while writing.
  const cuts: number[] = [];
  const views: Uint8Array[] = [];

  w.writeInt32(sizeBytes - INT32_BYTES);
  writeRequestHeader(w, fullHeader);
  if (flexible) w.writeCompactNullableString(request.transactionalId);
  else w.writeNullableString(request.transactionalId);
  w.writeInt16(request.acks);
  w.writeInt32(request.timeoutMs);
  if (flexible) w.writeCompactArrayLength(topics.length);
  else w.writeArrayLength(topics.length);
  for (const partitions of topics) {
    if (flexible) {
      w.writeCompactString(partitions[0].topic);
      w.writeCompactArrayLength(partitions.length);
    } else {
      w.writeString(partitions[0].topic);
      w.writeArrayLength(partitions.length);
    }
    for (const p of partitions) {
      w.writeInt32(p.partition);
      const n = p.records.byteLength;
      if (flexible) w.writeUnsignedVarint(n + 1);
      else w.writeInt32(n);
      if (n > 0) {
        cuts.push(w.length);
        views.push(p.records);
      }
      if (flexible) w.writeEmptyTaggedFields();
    }
    if (flexible) w.writeEmptyTaggedFields();
  }
  if (flexible) w.writeEmptyTaggedFields();

  if (w.length !== framingBytes || w.capacityBytes !== framingBytes) {
    throw new IllegalStateError(`ProduceRequest v${version}: framing sized ${framingBytes} bytes but wrote ${w.length}`);
  }
  const framing = w.finish();
  let from = 0;
  for (let i = 0; i < cuts.length; i++) {
    if (cuts[i] > from) chunks.push(framing.subarray(from, cuts[i]));
    chunks.push(views[i]);
    from = cuts[i];
  }
  if (framing.byteLength > from) chunks.push(framing.subarray(from));
  return { chunks, sizeBytes };
}

/**
 * Decodes a Produce response body (after the response header) in `version`'s format. Unknown
 * tagged fields are skipped.
 * @throws ProtocolError when the version is outside v3–v12 or the body is malformed
 */
export function decodeProduceResponse(body: Uint8Array, version: number): ProduceResponse {
  checkSupportedVersion(ApiKey.PRODUCE, version, 'ProduceResponse');
  const r = new ByteReader(body, `ProduceResponse v${version}`);
  const flexible = version >= PRODUCE_FIRST_FLEXIBLE_VERSION;
  const hints = version >= PRODUCE_LEADER_HINTS_VERSION;
  const partitions: ProducePartitionResult[] = [];

  const topicCount = flexible ? r.readCompactArrayLength('responses') : r.readArrayLength('responses');
  for (let t = 0; t < topicCount; t++) {
    const topic = flexible ? r.readCompactString('name') : r.readString('name');
    const count = flexible ? r.readCompactArrayLength('partition_responses') : r.readArrayLength('partition_responses');
    for (let i = 0; i < count; i++) {
      const partition = r.readInt32('index');
      const errorCode = r.readInt16('error_code');
      const baseOffset = r.readInt64('base_offset');
      const logAppendTimeMs = r.readInt64('log_append_time_ms');
      const logStartOffset = version >= PRODUCE_LOG_START_OFFSET_VERSION ? r.readInt64('log_start_offset') : PRODUCE_UNKNOWN;
      let recordErrors: ProduceRecordError[] = [];
      let errorMessage: string | null = null;
      if (version >= PRODUCE_RECORD_ERRORS_VERSION) {
        recordErrors = readRecordErrors(r, flexible);
        errorMessage = flexible ? r.readCompactNullableString('error_message') : r.readNullableString('error_message');
      }
      let currentLeader: LeaderIdAndEpoch | null = null;
      if (flexible) {
        r.readTaggedFields('partition_responses tagged_fields', (tag) => {
          if (!hints || tag !== PRODUCE_LEADER_HINT_TAG) return false;
          const leaderId = r.readInt32('current_leader leader_id');
          const leaderEpoch = r.readInt32('current_leader leader_epoch');
          r.skipTaggedFields('current_leader tagged_fields');
          currentLeader = { leaderId, leaderEpoch };
          return true;
        });
      }
      partitions.push({
        topic,
        partition,
        errorCode,
        baseOffset,
        logAppendTimeMs,
        logStartOffset,
        errorMessage,
        recordErrors,
        currentLeader,
      });
    }
    if (flexible) r.skipTaggedFields('responses tagged_fields');
  }
  const throttleTimeMs = r.readInt32('throttle_time_ms');
  let nodeEndpoints: ProduceNodeEndpoint[] = [];
  if (flexible) {
    r.readTaggedFields('tagged_fields', (tag) => {
      if (!hints || tag !== PRODUCE_LEADER_HINT_TAG) return false;
      nodeEndpoints = readNodeEndpoints(r);
      return true;
    });
  }
  return { partitions, throttleTimeMs, nodeEndpoints };
}

function readRecordErrors(r: ByteReader, flexible: boolean): ProduceRecordError[] {
  const n = flexible ? r.readCompactArrayLength('record_errors') : r.readArrayLength('record_errors');
  const out = new Array<ProduceRecordError>(n);
  for (let i = 0; i < n; i++) {
    const batchIndex = r.readInt32('batch_index');
    const message = flexible
      ? r.readCompactNullableString('batch_index_error_message')
      : r.readNullableString('batch_index_error_message');
    if (flexible) r.skipTaggedFields('record_errors tagged_fields');
    out[i] = { batchIndex, message };
  }
  return out;
}

function readNodeEndpoints(r: ByteReader): ProduceNodeEndpoint[] {
  const n = r.readCompactArrayLength('node_endpoints');
  const out = new Array<ProduceNodeEndpoint>(n);
  for (let i = 0; i < n; i++) {
    const nodeId = r.readInt32('node_id');
    const host = r.readCompactString('host');
    const port = r.readInt32('port');
    const rack = r.readCompactNullableString('rack');
    r.skipTaggedFields('node_endpoints tagged_fields');
    out[i] = { nodeId, host, port, rack };
  }
  return out;
}

/** The partitions grouped by topic, topics in first-seen order, partitions in the caller's order. */
function groupByTopic(partitions: readonly ProducePartitionInput[]): ProducePartitionInput[][] {
  const byTopic = new Map<string, ProducePartitionInput[]>();
  for (const p of partitions) {
    const group = byTopic.get(p.topic);
    if (group === undefined) byTopic.set(p.topic, [p]);
    else group.push(p);
  }
  return [...byTopic.values()];
}
