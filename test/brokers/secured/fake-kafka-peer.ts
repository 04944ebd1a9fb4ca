/**
 * A hand-written Kafka peer for unit tests of the connection set-up (TLS, SASL): it reads
 * request frames from any socket — a `node:net` or `node:tls` server's — answers ApiVersions
 * itself (v4+ with UNSUPPORTED_VERSION and a v0 body, then v0 with the listed APIs, as the
 * librdkafka mock does), and hands every other request to the test with its decoded header
 * and body. The answers the test writes are built with the small encoders here, written from
 * the Kafka message schemas independently of Sluice's decoders.
 */
import type { Socket } from 'node:net';

/** Kafka's UNSUPPORTED_VERSION error code. */
const UNSUPPORTED_VERSION = 35;
const API_VERSIONS = 18;

/** One request as the peer read it. */
export interface PeerRequest {
  readonly apiKey: number;
  readonly apiVersion: number;
  readonly correlationId: number;
  readonly clientId: string | null;
  /** The request body (after the header; for flexible versions after its tagged fields). */
  readonly body: Buffer;
}

/** Answers one request: call `respond` with a response body (the header is added), or never. */
export type PeerHandler = (request: PeerRequest, respond: (body: Buffer, flexibleHeader?: boolean) => void, socket: Socket) => void;

/** API versions a peer lists: [apiKey, min, max]. */
export type ApiRange = readonly [number, number, number];

/** Reads an unsigned varint at `at`; returns [value, next offset]. */
export function readUnsignedVarint(buf: Buffer, at: number): [number, number] {
  let value = 0;
  let shift = 0;
  for (;;) {
    const b = buf[at++];
    value |= (b & 0x7f) << shift;
    if ((b & 0x80) === 0) return [value, at];
    shift += 7;
  }
}

/** Writes an unsigned varint. */
export function unsignedVarint(value: number): Buffer {
  const out: number[] = [];
  let v = value >>> 0;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return Buffer.from(out);
}

/** int16 length + UTF-8 (a Kafka `string`); null as length -1. */
export function kafkaString(value: string | null): Buffer {
  if (value === null) return Buffer.from([0xff, 0xff]);
  const bytes = Buffer.from(value, 'utf8');
  const len = Buffer.alloc(2);
  len.writeInt16BE(bytes.length);
  return Buffer.concat([len, bytes]);
}

/** int16 big-endian. */
export function int16(value: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeInt16BE(value);
  return b;
}

/** int32 big-endian. */
export function int32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(value);
  return b;
}

/** int64 big-endian. */
export function int64(value: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(BigInt(value));
  return b;
}

/** Whether a request of `apiKey` v`apiVersion` uses the flexible (v2) request header. Only the APIs these tests use. */
function flexibleRequest(apiKey: number, apiVersion: number): boolean {
  if (apiKey === API_VERSIONS) return apiVersion >= 3;
  if (apiKey === 36) return apiVersion >= 2; // SaslAuthenticate
  return false; // SaslHandshake is never flexible
}

/** An ApiVersions v0 response body listing `apis`. */
function apiVersionsV0Body(errorCode: number, apis: readonly ApiRange[]): Buffer {
  return Buffer.concat([int16(errorCode), int32(apis.length), ...apis.map(([k, min, max]) => Buffer.concat([int16(k), int16(min), int16(max)]))]);
}

/**
 * Serves the Kafka framing on `socket`: ApiVersions answered from `apis`, everything else
 * handed to `handler`.
 */
export function serveKafka(socket: Socket, apis: readonly ApiRange[], handler: PeerHandler): void {
  let buf = Buffer.alloc(0);
  socket.on('error', () => undefined);
  socket.on('data', (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    while (buf.length >= 4 && buf.length >= 4 + buf.readInt32BE(0)) {
      const size = buf.readInt32BE(0);
      const frame = buf.subarray(4, 4 + size);
      buf = buf.subarray(4 + size);
      const apiKey = frame.readInt16BE(0);
      const apiVersion = frame.readInt16BE(2);
      const correlationId = frame.readInt32BE(4);
      const clientIdLength = frame.readInt16BE(8);
      let at = 10 + Math.max(0, clientIdLength);
      const clientId = clientIdLength < 0 ? null : frame.toString('utf8', 10, at);
      if (flexibleRequest(apiKey, apiVersion)) at = skipTaggedFields(frame, at);
      const respond = (body: Buffer, flexibleHeader = false): void => {
        const header = flexibleHeader ? Buffer.concat([int32(correlationId), Buffer.from([0])]) : int32(correlationId);
        socket.write(Buffer.concat([int32(header.length + body.length), header, body]));
      };
      if (apiKey === API_VERSIONS) {
        respond(apiVersionsV0Body(apiVersion > 0 ? UNSUPPORTED_VERSION : 0, apis));
        continue;
      }
      handler({ apiKey, apiVersion, correlationId, clientId, body: Buffer.from(frame.subarray(at)) }, respond, socket);
    }
  });
}

function skipTaggedFields(buf: Buffer, at: number): number {
  let [count, next] = readUnsignedVarint(buf, at);
  for (; count > 0; count--) {
    const [, afterTag] = readUnsignedVarint(buf, next);
    const [size, afterSize] = readUnsignedVarint(buf, afterTag);
    next = afterSize + size;
  }
  return next;
}
