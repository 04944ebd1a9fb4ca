/**
 * InitProducerId (key 22), versions 0–5: a producer id and epoch for idempotence (KIP-98), or
 * for a transactional id.
 *
 * Request (flexible from v2):
 *
 * | field                  | type            | versions | note                                      |
 * |------------------------|-----------------|----------|-------------------------------------------|
 * | transactional_id       | nullable string | 0+       | null for an idempotent producer; compact in 2+ |
 * | transaction_timeout_ms | int32           | 0+       | only meaningful with a transactional id   |
 * | producer_id            | int64           | 3+       | -1, or the current id to bump its epoch (KIP-360) |
 * | producer_epoch         | int16           | 3+       | -1, or the current epoch                  |
 * | tagged fields          |                 | 2+       |                                           |
 *
 * Response (flexible from v2):
 *
 * | field            | type  | versions |
 * |------------------|-------|----------|
 * | throttle_time_ms | int32 | 0+       |
 * | error_code       | int16 | 0+       |
 * | producer_id      | int64 | 0+       |
 * | producer_epoch   | int16 | 0+       |
 * | tagged fields    |       | 2+       |
 *
 * v1 is v0 (the broker answers before throttling), v4 may answer PRODUCER_FENCED, v5
 * TRANSACTION_ABORTABLE (KIP-890).
 */
import { ApiKey, checkSupportedVersion } from '../api-keys.js';
import { ByteReader } from '../primitives/byte-reader.js';
import type { RequestHeaderFields } from '../request-header.js';
import { encodeRequestFrame } from '../request-header.js';

/** First flexible InitProducerId version. */
export const INIT_PRODUCER_ID_FIRST_FLEXIBLE_VERSION = 2;
/** First version with producer_id / producer_epoch in the request. */
export const INIT_PRODUCER_ID_EPOCH_BUMP_VERSION = 3;
/** "No producer id / epoch yet". */
export const NO_PRODUCER_ID = -1;
/** "No producer epoch yet". */
export const NO_PRODUCER_EPOCH = -1;

/** What an InitProducerId request asks. */
export interface InitProducerIdRequestData {
  /** null for an idempotent (non-transactional) producer. */
  readonly transactionalId: string | null;
  readonly transactionTimeoutMs: number;
  /** v3+: the current producer id when bumping its epoch; default -1. Ignored before v3. */
  readonly producerId?: number;
  /** v3+: the current epoch when bumping it; default -1. Ignored before v3. */
  readonly producerEpoch?: number;
}

/** A decoded InitProducerId response. */
export interface InitProducerIdResponse {
  readonly throttleTimeMs: number;
  readonly errorCode: number;
  readonly producerId: number;
  readonly producerEpoch: number;
}

/**
 * Encodes an InitProducerId request frame (size prefix included).
 * @throws ProtocolError when the version is outside v0–v5
 */
export function encodeInitProducerIdRequest(header: RequestHeaderFields, request: InitProducerIdRequestData): Uint8Array {
  const version = header.apiVersion;
  checkSupportedVersion(ApiKey.INIT_PRODUCER_ID, version, 'InitProducerIdRequest');
  const flexible = version >= INIT_PRODUCER_ID_FIRST_FLEXIBLE_VERSION;
  return encodeRequestFrame({ apiKey: ApiKey.INIT_PRODUCER_ID, ...header }, (w) => {
    if (flexible) w.writeCompactNullableString(request.transactionalId);
    else w.writeNullableString(request.transactionalId);
    w.writeInt32(request.transactionTimeoutMs);
    if (version >= INIT_PRODUCER_ID_EPOCH_BUMP_VERSION) {
      w.writeInt64(request.producerId ?? NO_PRODUCER_ID);
      w.writeInt16(request.producerEpoch ?? NO_PRODUCER_EPOCH);
    }
    if (flexible) w.writeEmptyTaggedFields();
  });
}

/**
 * Decodes an InitProducerId response body (after the response header) in `version`'s format.
 * @throws ProtocolError when the version is outside v0–v5 or the body is malformed
 */
export function decodeInitProducerIdResponse(body: Uint8Array, version: number): InitProducerIdResponse {
  checkSupportedVersion(ApiKey.INIT_PRODUCER_ID, version, 'InitProducerIdResponse');
  const r = new ByteReader(body, `InitProducerIdResponse v${version}`);
  const throttleTimeMs = r.readInt32('throttle_time_ms');
  const errorCode = r.readInt16('error_code');
  const producerId = r.readInt64('producer_id');
  const producerEpoch = r.readInt16('producer_epoch');
  if (version >= INIT_PRODUCER_ID_FIRST_FLEXIBLE_VERSION) r.skipTaggedFields();
  return { throttleTimeMs, errorCode, producerId, producerEpoch };
}
