/**
 * SaslHandshake (key 17), versions 0–1: the client names the SASL mechanism it wants; the
 * broker answers whether it has it and which mechanisms it enables. Never flexible (a bump was
 * blocked by clients ≤ 2.4 negotiating it wrongly, KAFKA-9577).
 *
 * Request:
 *
 * | field     | type   | versions | note                         |
 * |-----------|--------|----------|------------------------------|
 * | mechanism | string | 0+       | e.g. `PLAIN`, `SCRAM-SHA-512` |
 *
 * Response:
 *
 * | field      | type     | versions | note                                       |
 * |------------|----------|----------|--------------------------------------------|
 * | error_code | int16    | 0+       | UNSUPPORTED_SASL_MECHANISM (33) when not enabled |
 * | mechanisms | []string | 0+       | the broker's enabled mechanisms            |
 *
 * The versions differ in what follows the handshake: after v0 the SASL tokens travel as raw
 * int32-length-prefixed frames with no Kafka header (KIP-43); after v1 they travel inside
 * SaslAuthenticate requests (KIP-152), which is what Sluice's connection uses whenever the
 * broker offers v1 (every broker since Kafka 1.0).
 */
import { ApiKey, checkSupportedVersion } from '../api-keys.js';
import { ByteReader } from '../primitives/byte-reader.js';
import type { RequestHeaderFields } from '../request-header.js';
import { encodeRequestFrame } from '../request-header.js';

/** First version after which tokens travel in SaslAuthenticate requests. */
export const SASL_HANDSHAKE_AUTHENTICATE_VERSION = 1;

/** A decoded SaslHandshake response. */
export interface SaslHandshakeResponse {
  readonly errorCode: number;
  readonly mechanisms: readonly string[];
}

/**
 * Encodes a SaslHandshake request frame (size prefix included).
 * @throws ProtocolError when the version is outside v0–v1
 */
export function encodeSaslHandshakeRequest(header: RequestHeaderFields, mechanism: string): Uint8Array {
  checkSupportedVersion(ApiKey.SASL_HANDSHAKE, header.apiVersion, 'SaslHandshakeRequest');
  return encodeRequestFrame({ apiKey: ApiKey.SASL_HANDSHAKE, ...header }, (w) => {
    w.writeString(mechanism);
  });
}

/**
 * Decodes a SaslHandshake response body (after the v0 response header).
 * @throws ProtocolError when the version is outside v0–v1 or the body is malformed
 */
export function decodeSaslHandshakeResponse(body: Uint8Array, version: number): SaslHandshakeResponse {
  checkSupportedVersion(ApiKey.SASL_HANDSHAKE, version, 'SaslHandshakeResponse');
  const r = new ByteReader(body, `SaslHandshakeResponse v${version}`);
  const errorCode = r.readInt16('error_code');
  const n = r.readArrayLength('mechanisms');
  const mechanisms = new Array<string>(n);
  for (let i = 0; i < n; i++) mechanisms[i] = r.readString('mechanisms');
  return { errorCode, mechanisms };
}
