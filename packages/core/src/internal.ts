/**
 * `@sluice/core/internal`: what Sluice's own packages (`@sluice/worker`, benchmarks, tools)
 * need from core beyond the public API (`index.ts`). Not a stable surface: names here may
 * change in any release. Explicit named exports only.
 */
export type { SealParams } from './sealing/seal-batch.js';
export { sealBatch } from './sealing/seal-batch.js';
export { writeBatchHeader } from './format/batch-header-writer.js';
export {
  ATTRIBUTES_OFFSET,
  CRC_OFFSET,
  LENGTH_OFFSET,
  LOG_OVERHEAD,
  MAGIC_OFFSET,
  MAGIC_V2,
  RECORD_BATCH_OVERHEAD,
  TRANSACTIONAL_FLAG_MASK,
} from './format/record-batch-layout.js';
export { decompressRecords } from './compression/codecs.js';
export {
  COMPRESSION_RATIO_DETERIORATE_STEP,
  COMPRESSION_RATIO_IMPROVING_STEP,
  CompressionRatioEstimator,
  compressedBatchAllocationBytes,
} from './compression/compression-ratio-estimator.js';
export { sizeOfRecord, sizeOfRecordBody } from './format/record-writer.js';
export { resolveIdempotence } from './sender/idempotence.js';
export type { NetworkExtras } from './network/create-network-client.js';
export { createWireNetworkClient } from './network/create-network-client.js';
export type { WireNetworkClient } from './network/wire/wire-network-client.js';
export type {
  CreatableTopic,
  CreatableTopicConfig,
  CreatableTopicResult,
  CreateTopicsRequestData,
  CreateTopicsResponse,
} from './protocol/messages/create-topics.js';
export { decodeCreateTopicsResponse, encodeCreateTopicsRequest } from './protocol/messages/create-topics.js';
