/**
 * ApiVersions (key 18), versions 0–4: the first request on every connection, asking which
 * versions of each API the broker speaks.
 *
 * Request (flexible from v3; request header v2 from v3):
 *
 * | field                   | type           | versions | note                                    |
 * |-------------------------|----------------|----------|-----------------------------------------|
 * | client_software_name    | compact string | 3+       | must match `[a-zA-Z0-9](?:[a-zA-Z0-9.-]*[a-zA-Z0-9])?` |
 * | client_software_version | compact string | 3+       | same pattern (KIP-511)                  |
 * | tagged fields           |                | 3+       | none sent                               |
 *
 * v0–v2 have an empty body.
 *
 * Response (flexible from v3, but the response header is always v0 — see request-header.ts):
 *
 * | field            | type            | versions | note                                        |
 * |------------------|-----------------|----------|---------------------------------------------|
 * | error_code       | int16           | 0+       |                                             |
 * | api_keys         | array           | 0+       | compact in 3+                               |
 * |   api_key        | int16           | 0+       |                                             |
 * |   min_version    | int16           | 0+       |                                             |
 * |   max_version    | int16           | 0+       |                                             |
 * |   tagged fields  |                 | 3+       | per element                                 |
 * | throttle_time_ms | int32           | 1+       |                                             |
 * | tagged fields    |                 | 3+       | tag 0 supported_features, 1 finalized_features_epoch, 2 finalized_features, 3 zk_migration_ready: all skipped |
 *
 * The version fallback (KIP-511, Kafka `ApiVersionsResponse.parse`, `NetworkClient`): a client
 * cannot know the broker's versions before this request, so it sends its newest. A broker that
 * does not know that version answers UNSUPPORTED_VERSION (35) with a body in the **v0** format,
 * whatever version was asked; since Kafka 2.4 that body lists the ApiVersions range the broker
 * does speak. The client then retries with the highest version both speak — or v0 when the
 * broker listed none (brokers before 2.4). {@link decodeApiVersionsResponseWithFallback} and
 * {@link apiVersionsRetryVersion} implement that.
 *
 * A quirk to survive: librdkafka 2.0.2's mock broker, asked v3 (above its v2), answers with an
 * int8 element count and a throttle time instead of the v0 body; that does not parse as v0, so
 * the fallback reports UNSUPPORTED_VERSION with no listed range and the retry goes to v0.
 */
import { ProtocolError } from '../../errors.js';
import { ApiKey, checkSupportedVersion } from '../api-keys.js';
import { KafkaErrors } from '../kafka-errors.js';
import { ByteReader } from '../primitives/byte-reader.js';
import type { RequestHeaderFields } from '../request-header.js';
import { encodeRequestFrame } from '../request-header.js';

/** First version with the client software fields and flexible encoding. */
export const API_VERSIONS_FIRST_FLEXIBLE_VERSION = 3;
/** First version with throttle_time_ms in the response. */
export const API_VERSIONS_THROTTLE_TIME_VERSION = 1;
/** The version whose body format a broker uses to say UNSUPPORTED_VERSION. */
export const API_VERSIONS_FALLBACK_VERSION = 0;

/** What KIP-511 allows as client software name and version. */
export const CLIENT_SOFTWARE_PATTERN = /^[a-zA-Z0-9](?:[a-zA-Z0-9.-]*[a-zA-Z0-9])?$/;

/** The body of an ApiVersions request (used from v3 on; ignored before). */
export interface ApiVersionsRequestData {
  /** e.g. `sluice`; must match {@link CLIENT_SOFTWARE_PATTERN}. */
  readonly clientSoftwareName: string;
  /** e.g. `0.1.0`; must match {@link CLIENT_SOFTWARE_PATTERN}. */
  readonly clientSoftwareVersion: string;
}

/** One API's version range as the broker advertises it. */
export interface ApiVersionsResponseKey {
  readonly apiKey: number;
  readonly minVersion: number;
  readonly maxVersion: number;
}

/** A decoded ApiVersions response. */
export interface ApiVersionsResponse {
  readonly errorCode: number;
  readonly apiKeys: readonly ApiVersionsResponseKey[];
  /** 0 in v0, which has no such field. */
  readonly throttleTimeMs: number;
}

/**
 * Encodes an ApiVersions request frame (size prefix included).
 * @throws ProtocolError when the version is outside v0–v4, or (v3+) a software field does not
 *   match {@link CLIENT_SOFTWARE_PATTERN} (a broker would answer INVALID_REQUEST)
 */
export function encodeApiVersionsRequest(header: RequestHeaderFields, request: ApiVersionsRequestData): Uint8Array {
  const version = header.apiVersion;
  checkSupportedVersion(ApiKey.API_VERSIONS, version, 'ApiVersionsRequest');
  const flexible = version >= API_VERSIONS_FIRST_FLEXIBLE_VERSION;
  if (flexible) {
    checkSoftwareField('client_software_name', request.clientSoftwareName);
    checkSoftwareField('client_software_version', request.clientSoftwareVersion);
  }
  return encodeRequestFrame({ apiKey: ApiKey.API_VERSIONS, ...header }, (w) => {
    if (!flexible) return;
    w.writeCompactString(request.clientSoftwareName);
    w.writeCompactString(request.clientSoftwareVersion);
    w.writeEmptyTaggedFields();
  });
}

/**
 * Decodes an ApiVersions response body (after the v0 response header) in `version`'s format.
 * @throws ProtocolError when the version is outside v0–v4 or the body is malformed
 */
export function decodeApiVersionsResponse(body: Uint8Array, version: number): ApiVersionsResponse {
  checkSupportedVersion(ApiKey.API_VERSIONS, version, 'ApiVersionsResponse');
  const r = new ByteReader(body, `ApiVersionsResponse v${version}`);
  return readApiVersionsResponse(r, version);
}

/**
 * Decodes an ApiVersions response to a request sent as `requestVersion`, following the broker's
 * fallback: when the error code is UNSUPPORTED_VERSION (35) the body is decoded in the v0 format
 * (which is what brokers send then), and when even that does not parse, the result is
 * UNSUPPORTED_VERSION with no API listed, so that the client retries with v0.
 * @throws ProtocolError when the body is malformed and its error code is not UNSUPPORTED_VERSION
 */
export function decodeApiVersionsResponseWithFallback(body: Uint8Array, requestVersion: number): ApiVersionsResponse {
  const errorCode = new ByteReader(body, `ApiVersionsResponse v${requestVersion}`).readInt16('error_code');
  if (errorCode !== KafkaErrors.UNSUPPORTED_VERSION.code || requestVersion === API_VERSIONS_FALLBACK_VERSION) {
    return decodeApiVersionsResponse(body, requestVersion);
  }
  const r = new ByteReader(body, `ApiVersionsResponse v${API_VERSIONS_FALLBACK_VERSION} (fallback)`);
  try {
    const response = readApiVersionsResponse(r, API_VERSIONS_FALLBACK_VERSION);
    // The v0 body must be all there is; anything else was not a v0 body.
    if (r.remaining === 0) return response;
  } catch (e) {
    if (!(e instanceof ProtocolError)) throw e;
  }
  return { errorCode, apiKeys: [], throttleTimeMs: 0 };
}

/**
 * The ApiVersions version to retry with after `response` answered a request sent as
 * `triedVersion`, or null when no retry helps (no UNSUPPORTED_VERSION error, or v0 already
 * failed): the highest version below `triedVersion` that both the broker (its listed
 * ApiVersions range) and Sluice speak, else v0.
 */
export function apiVersionsRetryVersion(response: ApiVersionsResponse, triedVersion: number): number | null {
  if (response.errorCode !== KafkaErrors.UNSUPPORTED_VERSION.code) return null;
  if (triedVersion <= API_VERSIONS_FALLBACK_VERSION) return null;
  const listed = response.apiKeys.find((k) => k.apiKey === ApiKey.API_VERSIONS);
  if (listed === undefined) return API_VERSIONS_FALLBACK_VERSION;
  const retry = Math.min(listed.maxVersion, triedVersion - 1);
  return retry < API_VERSIONS_FALLBACK_VERSION ? API_VERSIONS_FALLBACK_VERSION : retry;
}

function readApiVersionsResponse(r: ByteReader, version: number): ApiVersionsResponse {
  const flexible = version >= API_VERSIONS_FIRST_FLEXIBLE_VERSION;
  const errorCode = r.readInt16('error_code');
  const count = flexible ? r.readCompactArrayLength('api_keys') : r.readArrayLength('api_keys');
  const apiKeys: ApiVersionsResponseKey[] = new Array<ApiVersionsResponseKey>(count);
  for (let i = 0; i < count; i++) {
    const apiKey = r.readInt16('api_key');
    const minVersion = r.readInt16('min_version');
    const maxVersion = r.readInt16('max_version');
    if (flexible) r.skipTaggedFields('api_keys tagged_fields');
    apiKeys[i] = { apiKey, minVersion, maxVersion };
  }
  const throttleTimeMs = version >= API_VERSIONS_THROTTLE_TIME_VERSION ? r.readInt32('throttle_time_ms') : 0;
  if (flexible) r.skipTaggedFields();
  return { errorCode, apiKeys, throttleTimeMs };
}

function checkSoftwareField(field: string, value: string): void {
  if (!CLIENT_SOFTWARE_PATTERN.test(value)) {
    throw new ProtocolError(`ApiVersionsRequest ${field} "${value}" does not match ${CLIENT_SOFTWARE_PATTERN.source}`);
  }
}
