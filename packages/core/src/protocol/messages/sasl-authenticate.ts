/**
 * SaslAuthenticate (key 36), versions 0–2: one SASL token each way, wrapped in a Kafka request
 * so that errors come back as error codes (KIP-152).
 *
 * Request (flexible from v2):
 *
 * | field         | type  | versions | note                      |
 * |---------------|-------|----------|---------------------------|
 * | auth_bytes    | bytes | 0+       | compact in 2+             |
 * | tagged fields |       | 2+       |                           |
 *
 * Response (flexible from v2):
 *
 * | field               | type            | versions | note                                  |
 * |---------------------|-----------------|----------|---------------------------------------|
 * | error_code          | int16           | 0+       | SASL_AUTHENTICATION_FAILED (58) …     |
 * | error_message       | nullable string | 0+       | compact in 2+                         |
 * | auth_bytes          | bytes           | 0+       | the server's token; compact in 2+     |
 * | session_lifetime_ms | int64           | 1+       | 0 = none; re-authenticate before it ends (KIP-368) |
 * | tagged fields       |                 | 2+       |                                       |
 *
 * `authBytes` of a decoded response is a view of the response body.
 */
import { ApiKey, checkSupportedVersion } from '../api-keys.js';
import { ByteReader } from '../primitives/byte-reader.js';
import type { RequestHeaderFields } from '../request-header.js';
import { encodeRequestFrame } from '../request-header.js';

/** First flexible SaslAuthenticate version. */
export const SASL_AUTHENTICATE_FIRST_FLEXIBLE_VERSION = 2;
/** First version with session_lifetime_ms. */
export const SASL_AUTHENTICATE_SESSION_LIFETIME_VERSION = 1;

/** A decoded SaslAuthenticate response. */
export interface SaslAuthenticateResponse {
  readonly errorCode: number;
  readonly errorMessage: string | null;
  /** The server's SASL token (a view of the response body). */
  readonly authBytes: Uint8Array;
  /** 0 before v1 or when the broker sets no session lifetime. */
  readonly sessionLifetimeMs: number;
}

/**
 * Encodes a SaslAuthenticate request frame (size prefix included).
 * @param authBytes - the client's SASL token (from a `SaslMechanism`)
 * @throws ProtocolError when the version is outside v0–v2
 */
export function encodeSaslAuthenticateRequest(header: RequestHeaderFields, authBytes: Uint8Array): Uint8Array {
  const version = header.apiVersion;
  checkSupportedVersion(ApiKey.SASL_AUTHENTICATE, version, 'SaslAuthenticateRequest');
  const flexible = version >= SASL_AUTHENTICATE_FIRST_FLEXIBLE_VERSION;
  return encodeRequestFrame({ apiKey: ApiKey.SASL_AUTHENTICATE, ...header }, (w) => {
    if (flexible) {
      w.writeCompactBytes(authBytes);
      w.writeEmptyTaggedFields();
    } else {
      w.writeBytes(authBytes);
    }
  });
}

/**
 * Decodes a SaslAuthenticate response body (after the response header) in `version`'s format.
 * @throws ProtocolError when the version is outside v0–v2 or the body is malformed
 */
export function decodeSaslAuthenticateResponse(body: Uint8Array, version: number): SaslAuthenticateResponse {
  checkSupportedVersion(ApiKey.SASL_AUTHENTICATE, version, 'SaslAuthenticateResponse');
  const r = new ByteReader(body, `SaslAuthenticateResponse v${version}`);
  const flexible = version >= SASL_AUTHENTICATE_FIRST_FLEXIBLE_VERSION;
  const errorCode = r.readInt16('error_code');
  const errorMessage = flexible ? r.readCompactNullableString('error_message') : r.readNullableString('error_message');
  const authBytes = flexible ? r.readCompactBytes('auth_bytes') : r.readBytes('auth_bytes');
  const sessionLifetimeMs =
    version >= SASL_AUTHENTICATE_SESSION_LIFETIME_VERSION ? r.readInt64('session_lifetime_ms') : 0;
  if (flexible) r.skipTaggedFields();
  return { errorCode, errorMessage, authBytes, sessionLifetimeMs };
}
