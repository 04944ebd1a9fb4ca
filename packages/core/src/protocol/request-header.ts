/**
 * Request and response headers, which header version each (API, version) uses, and the framing
 * of a whole request (int32 size prefix + header + body).
 *
 * Request header (Kafka `RequestHeader.json`):
 *
 * | field          | type            | versions | note                                        |
 * |----------------|-----------------|----------|---------------------------------------------|
 * | request_api_key| int16           | 0+       |                                             |
 * | request_api_version | int16      | 0+       |                                             |
 * | correlation_id | int32           | 0+       | echoed in the response header               |
 * | client_id      | nullable string | 1+       | int16 length even in v2 (never compact)     |
 * | tagged fields  |                 | 2+       | we send none: one 0 byte                    |
 *
 * Response header (`ResponseHeader.json`): correlation_id int32 (v0+), tagged fields (v1+).
 *
 * Which version: a request in a flexible version of its API uses request header v2, otherwise
 * v1 (v0 only served ControlledShutdown v0); its response uses response header v1 when
 * flexible, otherwise v0. The exception is ApiVersions: its request follows the rule (v2 from
 * ApiVersions v3), but its *response* header is always v0, so that a client which does not
 * know yet what the broker speaks can always find the correlation id and error code at fixed
 * offsets (Kafka `ApiKeys.API_VERSIONS`/`ApiVersionsResponse`, KIP-511). client_id keeps its
 * int16 length in header v2 for the same reason: an old broker must be able to read the header
 * of any ApiVersions request.
 */
import { ProtocolError } from '../errors.js';
import { ApiKey, isFlexibleVersion } from './api-keys.js';
import { ByteReader } from './primitives/byte-reader.js';
import { ByteWriter, INT16_BYTES, INT32_BYTES, sizeOfString } from './primitives/byte-writer.js';

/** Request header with client_id and no tagged fields. */
export const REQUEST_HEADER_V1 = 1;
/** Flexible request header: v1 plus a tagged-field section. */
export const REQUEST_HEADER_V2 = 2;
/** Response header with only the correlation id. */
export const RESPONSE_HEADER_V0 = 0;
/** Flexible response header: v0 plus a tagged-field section. */
export const RESPONSE_HEADER_V1 = 1;

/** Offset of the correlation id in a response frame (after the size prefix), any header version. */
export const RESPONSE_CORRELATION_ID_OFFSET = 0;

/** Request header versions Sluice writes. */
export type RequestHeaderVersion = typeof REQUEST_HEADER_V1 | typeof REQUEST_HEADER_V2;
/** Response header versions Sluice reads. */
export type ResponseHeaderVersion = typeof RESPONSE_HEADER_V0 | typeof RESPONSE_HEADER_V1;

/** The fields of a request header. */
export interface RequestHeader {
  readonly apiKey: number;
  readonly apiVersion: number;
  /** Matches the response to the request; any int32. */
  readonly correlationId: number;
  /** Kafka's `client.id`; null sends length -1. */
  readonly clientId: string | null;
}

/** The header fields a message encoder takes; the API key is the encoder's own. */
export type RequestHeaderFields = Omit<RequestHeader, 'apiKey'>;

/** A decoded response header and where the body starts. */
export interface ResponseHeader {
  readonly correlationId: number;
  /** Offset of the response body in the frame. */
  readonly bodyOffset: number;
}

/**
 * The request header version for `apiVersion` of `apiKey`: v2 for flexible versions, else v1.
 * @throws ProtocolError when Sluice does not speak `apiKey`
 */
export function requestHeaderVersion(apiKey: number, apiVersion: number): RequestHeaderVersion {
  return isFlexibleVersion(apiKey, apiVersion) ? REQUEST_HEADER_V2 : REQUEST_HEADER_V1;
}

/**
 * The response header version for `apiVersion` of `apiKey`: v1 for flexible versions, else v0;
 * always v0 for ApiVersions.
 * @throws ProtocolError when Sluice does not speak `apiKey`
 */
export function responseHeaderVersion(apiKey: number, apiVersion: number): ResponseHeaderVersion {
  if (apiKey === ApiKey.API_VERSIONS) return RESPONSE_HEADER_V0;
  return isFlexibleVersion(apiKey, apiVersion) ? RESPONSE_HEADER_V1 : RESPONSE_HEADER_V0;
}

/** Bytes of the request header of `header` (its version follows from the API and version). */
export function sizeOfRequestHeader(header: RequestHeader): number {
  const fixed = INT16_BYTES + INT16_BYTES + INT32_BYTES + sizeOfString(header.clientId);
  // An empty tagged-field section is one byte.
  return requestHeaderVersion(header.apiKey, header.apiVersion) === REQUEST_HEADER_V2 ? fixed + 1 : fixed;
}

/**
 * Writes the request header, v1 or v2 as the API and version require.
 * @throws ProtocolError when Sluice does not speak the API
 */
export function writeRequestHeader(w: ByteWriter, header: RequestHeader): void {
  const version = requestHeaderVersion(header.apiKey, header.apiVersion);
  w.writeInt16(header.apiKey);
  w.writeInt16(header.apiVersion);
  w.writeInt32(header.correlationId);
  w.writeNullableString(header.clientId);
  if (version === REQUEST_HEADER_V2) w.writeEmptyTaggedFields();
}

/**
 * Encodes a whole request frame: int32 size, header, then what `writeBody` writes. Each call
 * uses a writer of its own, so the result may be handed to a socket and kept.
 * @param header - the request header
 * @param writeBody - writes the body; flexible bodies end with their tagged-field section
 * @returns the frame, size prefix included
 */
export function encodeRequestFrame(header: RequestHeader, writeBody: (w: ByteWriter) => void): Uint8Array {
  const w = new ByteWriter();
  w.writeInt32(0);
  writeRequestHeader(w, header);
  writeBody(w);
  w.patchInt32(0, w.length - INT32_BYTES);
  return w.finish();
}

/**
 * The correlation id of a response frame (the bytes after the size prefix), without decoding
 * the rest: it sits at offset 0 in every response header version.
 * @throws ProtocolError when the frame is shorter than 4 bytes
 */
export function peekCorrelationId(frame: Uint8Array): number {
  return new ByteReader(frame, 'response header', RESPONSE_CORRELATION_ID_OFFSET).readInt32('correlation_id');
}

/**
 * Decodes a response header; unknown header tags are skipped.
 * @param frame - the response frame, after the size prefix
 * @param headerVersion - from {@link responseHeaderVersion} of the request's API and version
 * @throws ProtocolError when the header is truncated or `headerVersion` is not 0 or 1
 */
export function decodeResponseHeader(frame: Uint8Array, headerVersion: number): ResponseHeader {
  if (headerVersion !== RESPONSE_HEADER_V0 && headerVersion !== RESPONSE_HEADER_V1) {
    throw new ProtocolError(`response header v${headerVersion} does not exist (v0 and v1 do)`);
  }
  const r = new ByteReader(frame, `response header v${headerVersion}`);
  const correlationId = r.readInt32('correlation_id');
  if (headerVersion === RESPONSE_HEADER_V1) r.skipTaggedFields();
  return { correlationId, bodyOffset: r.position };
}
