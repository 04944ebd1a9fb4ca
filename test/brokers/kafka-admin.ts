/**
 * The two admin requests the test brokers need — Metadata v4 (is every broker registered, does
 * every partition have a leader) and CreateTopics v4 — written straight onto a socket, one
 * connection per call.
 *
 * Metadata is deliberately independent of Sluice's own protocol code
 * (packages/core/src/protocol): it is what checks that Sluice's producer saw the cluster
 * right, so it must not share its bugs. CreateTopics is not: the producer never sends it, so
 * its one definition is core's (`protocol/messages/create-topics.ts`, through
 * `@sluice/core/internal`), which `sluice-perf` uses too; a bug there fails topic creation
 * here, loudly, and cannot hide one of the producer's. Both versions are non-flexible (no
 * tagged fields, response header v0) and inside the ranges Kafka 4.x still serves after
 * KIP-896 (Metadata v0-v13, CreateTopics v2-v7); the brokers here are Kafka 4.4, so the
 * versions are fixed rather than negotiated.
 *
 * Rejected: Kafka's `org.apache.kafka.tools.TopicCommand` costs a JVM start per topic (1.8 s
 * measured on the 2-core CI machine, one topic per call), and an Admin-client helper in Java
 * would need javac plus a JVM start per call; these requests answer in milliseconds.
 *
 * Schemas (Kafka's clients/src/main/resources/common/message/*.json):
 *
 *   RequestHeader v1   api_key INT16, api_version INT16, correlation_id INT32, client_id NULLABLE_STRING
 *   ResponseHeader v0  correlation_id INT32
 *
 *   MetadataRequest v4      topics ARRAY(name STRING) (null = all), allow_auto_topic_creation BOOLEAN
 *   MetadataResponse v4     throttle_time_ms INT32,
 *                           brokers ARRAY(node_id INT32, host STRING, port INT32, rack NULLABLE_STRING),
 *                           cluster_id NULLABLE_STRING, controller_id INT32,
 *                           topics ARRAY(error_code INT16, name STRING, is_internal BOOLEAN,
 *                             partitions ARRAY(error_code INT16, partition_index INT32, leader_id INT32,
 *                               replica_nodes ARRAY(INT32), isr_nodes ARRAY(INT32)))
 *
 *   CreateTopics v4: see packages/core/src/protocol/messages/create-topics.ts.
 */
import { connect } from 'node:net';
import { kafkaError } from '@sluice/core';
import { decodeCreateTopicsResponse, encodeCreateTopicsRequest } from '@sluice/core/internal';

const API_KEY_METADATA = 3;
const METADATA_VERSION = 4;
const CREATE_TOPICS_VERSION = 4;
const CLIENT_ID = 'sluice-test-admin';

/** `NAME (code)` for a Kafka error code (core's names: they are Kafka's `Errors`). */
export function kafkaErrorName(code: number): string {
  return `${kafkaError(code).name} (${code})`;
}

/** A broker as Metadata lists it. */
export interface BrokerMetadata {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
}

/** A partition as Metadata lists it; `leaderId` is -1 while it has no leader. */
export interface PartitionMetadata {
  readonly errorCode: number;
  readonly partition: number;
  readonly leaderId: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
}

/** A topic as Metadata lists it. */
export interface TopicMetadata {
  readonly errorCode: number;
  readonly name: string;
  readonly partitions: readonly PartitionMetadata[];
}

/** A Metadata v4 answer. */
export interface ClusterMetadata {
  readonly brokers: readonly BrokerMetadata[];
  readonly clusterId: string | null;
  readonly controllerId: number;
  readonly topics: readonly TopicMetadata[];
}

/** A topic to create. */
export interface NewTopic {
  readonly name: string;
  readonly partitions: number;
  readonly replicationFactor: number;
  /** Topic configs, e.g. `{ 'max.message.bytes': '2097152' }`. */
  readonly configs?: Readonly<Record<string, string>>;
}

/** One topic's CreateTopics outcome. */
export interface CreateTopicResult {
  readonly name: string;
  readonly errorCode: number;
  readonly errorMessage: string | null;
}

class Writer {
  #chunks: Buffer[] = [];

  int8(value: number): this {
    const b = Buffer.allocUnsafe(1);
    b.writeInt8(value);
    this.#chunks.push(b);
    return this;
  }

  int16(value: number): this {
    const b = Buffer.allocUnsafe(2);
    b.writeInt16BE(value);
    this.#chunks.push(b);
    return this;
  }

  int32(value: number): this {
    const b = Buffer.allocUnsafe(4);
    b.writeInt32BE(value);
    this.#chunks.push(b);
    return this;
  }

  string(value: string | null): this {
    if (value === null) return this.int16(-1);
    const bytes = Buffer.from(value, 'utf8');
    this.int16(bytes.length);
    this.#chunks.push(bytes);
    return this;
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.#chunks);
  }
}

class Reader {
  #offset = 0;
  readonly #buffer: Buffer;

  constructor(buffer: Buffer) {
    this.#buffer = buffer;
  }

  #need(bytes: number, what: string): void {
    if (this.#offset + bytes > this.#buffer.length) {
      throw new Error(`truncated response reading ${what} at offset ${this.#offset}: need ${bytes} bytes, ${this.#buffer.length - this.#offset} left`);
    }
  }

  int8(what: string): number {
    this.#need(1, what);
    return this.#buffer.readInt8(this.#offset++);
  }

  int16(what: string): number {
    this.#need(2, what);
    const value = this.#buffer.readInt16BE(this.#offset);
    this.#offset += 2;
    return value;
  }

  int32(what: string): number {
    this.#need(4, what);
    const value = this.#buffer.readInt32BE(this.#offset);
    this.#offset += 4;
    return value;
  }

  nullableString(what: string): string | null {
    const length = this.int16(what);
    if (length < 0) return null;
    this.#need(length, what);
    const value = this.#buffer.toString('utf8', this.#offset, this.#offset + length);
    this.#offset += length;
    return value;
  }

  string(what: string): string {
    const value = this.nullableString(what);
    if (value === null) throw new Error(`null ${what} where Kafka's schema has a STRING`);
    return value;
  }

  array<T>(what: string, readItem: () => T): T[] {
    const count = this.int32(what);
    const items: T[] = [];
    for (let i = 0; i < count; i++) items.push(readItem());
    return items;
  }
}

/** Splits "host:port" (the last colon separates the port). */
export function parseAddress(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  const port = Number(address.slice(colon + 1));
  if (colon <= 0 || !Number.isInteger(port) || port <= 0 || port > 65_535) {
    throw new Error(`bad broker address '${address}' (expected host:port)`);
  }
  return { host: address.slice(0, colon), port };
}

/**
 * Sends one request on a fresh connection and returns the response body after its header (v0:
 * the correlation id alone).
 * @param encode - the whole request frame (size prefix and header included) for a correlation id
 * @throws on connection errors, a closed connection, a correlation mismatch or the deadline
 */
async function roundTrip(address: string, what: string, encode: (correlationId: number) => Uint8Array, timeoutMs: number): Promise<Buffer> {
  const { host, port } = parseAddress(address);
  const correlationId = 1 + Math.floor(Math.random() * 1_000_000);
  const frame = encode(correlationId);
  return new Promise<Buffer>((resolve, reject) => {
    const socket = connect({ host, port });
    let received = Buffer.alloc(0);
    const fail = (error: Error): void => {
      socket.destroy();
      reject(error);
    };
    const timer = setTimeout(() => fail(new Error(`no answer from ${address} to ${what} within ${timeoutMs} ms`)), timeoutMs);
    socket.on('error', (error) => {
      clearTimeout(timer);
      fail(new Error(`${address}: ${error.message}`));
    });
    socket.on('close', () => {
      clearTimeout(timer);
      reject(new Error(`${address} closed the connection before answering ${what}`));
    });
    socket.on('connect', () => socket.write(frame));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 4) return;
      const length = received.readInt32BE(0);
      if (received.length < 4 + length) return;
      clearTimeout(timer);
      socket.destroy();
      const response = received.subarray(4, 4 + length);
      const gotCorrelation = response.readInt32BE(0);
      if (gotCorrelation !== correlationId) {
        reject(new Error(`${address} answered correlation id ${gotCorrelation}, expected ${correlationId}`));
      } else {
        resolve(response.subarray(4));
      }
    });
  });
}

/**
 * Metadata v4 from one broker.
 * @param address "host:port" of the broker to ask
 * @param topics the topics to describe, or null for all (no auto-creation either way)
 * @throws on connection or decoding errors
 */
export async function fetchMetadata(address: string, topics: readonly string[] | null, timeoutMs = 5_000): Promise<ClusterMetadata> {
  const request = new Writer();
  if (topics === null) request.int32(-1);
  else {
    request.int32(topics.length);
    for (const topic of topics) request.string(topic);
  }
  request.int8(0);
  const body = request.toBuffer();
  const frame = (correlationId: number): Buffer => {
    const header = new Writer().int16(API_KEY_METADATA).int16(METADATA_VERSION).int32(correlationId).string(CLIENT_ID).toBuffer();
    return Buffer.concat([new Writer().int32(header.length + body.length).toBuffer(), header, body]);
  };
  const r = new Reader(await roundTrip(address, `Metadata v${METADATA_VERSION}`, frame, timeoutMs));
  r.int32('throttle_time_ms');
  const brokers = r.array('brokers', () => {
    const nodeId = r.int32('node_id');
    const host = r.string('host');
    const port = r.int32('port');
    r.nullableString('rack');
    return { nodeId, host, port };
  });
  const clusterId = r.nullableString('cluster_id');
  const controllerId = r.int32('controller_id');
  const topicList = r.array('topics', () => {
    const errorCode = r.int16('topic error_code');
    const name = r.string('topic name');
    r.int8('is_internal');
    const partitions = r.array('partitions', () => ({
      errorCode: r.int16('partition error_code'),
      partition: r.int32('partition_index'),
      leaderId: r.int32('leader_id'),
      replicas: r.array('replica_nodes', () => r.int32('replica')),
      isr: r.array('isr_nodes', () => r.int32('isr')),
    }));
    return { errorCode, name, partitions };
  });
  return { brokers, clusterId, controllerId, topics: topicList };
}

/**
 * CreateTopics v4 through one broker (which forwards to the KRaft controller).
 * @returns one result per topic; the caller decides which error codes are fatal
 * @throws on connection or decoding errors
 */
export async function sendCreateTopics(address: string, topics: readonly NewTopic[], timeoutMs = 30_000): Promise<CreateTopicResult[]> {
  const request = {
    topics: topics.map((t) => ({ name: t.name, numPartitions: t.partitions, replicationFactor: t.replicationFactor, configs: t.configs })),
    timeoutMs,
  };
  const frame = (correlationId: number): Uint8Array => encodeCreateTopicsRequest({ apiVersion: CREATE_TOPICS_VERSION, correlationId, clientId: CLIENT_ID }, request);
  const body = await roundTrip(address, `CreateTopics v${CREATE_TOPICS_VERSION}`, frame, timeoutMs + 5_000);
  return decodeCreateTopicsResponse(body, CREATE_TOPICS_VERSION).topics.map((t) => ({ name: t.name, errorCode: t.errorCode, errorMessage: t.errorMessage }));
}
