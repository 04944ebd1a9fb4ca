/**
 * `@sluice/worker`: seal batches on seal threads, straight from the shared pool, handed off
 * through job rings in shared memory.
 *
 * A `Producer` uses this package by itself when it is installed and `seal.workers` asks for
 * threads. With a bare accumulator:
 * ```ts
 * const sealer = createSealer(config);                 // InlineSealer or WorkerSealer
 * const acc = new RecordAccumulator({ config, sealer });
 * …
 * await acc.closeSealer();                              // waits for seals, stops the threads
 * ```
 */
export { createSealer } from './create-sealer.js';
export type { CreateSealerOptions } from './create-sealer.js';
export {
  AUTO_MIN_SPEEDUP,
  HAND_OFF_NS_PER_BATCH,
  MAIN_NS_PER_BYTE,
  MIN_CODEC_TO_MAIN,
  MIN_GAIN,
  OffloadPolicy,
  PARALLEL_EFFICIENCY,
  SEAL_NS_PER_BYTE,
  defaultSealThreads,
} from './offload-policy.js';
export type { OffloadPlan, OffloadPolicyOptions } from './offload-policy.js';
export { DEFAULT_LANE_BACKLOG_BYTES, DEFAULT_SEAL_TIMEOUT_MS, WorkerSealer, liveSealThreads } from './worker-sealer.js';
export type { WorkerSealerOptions, WorkerSealerStats } from './worker-sealer.js';
export { lz4LevelCodec } from './lz4-level-codec.js';
export { sealCodecFor } from './seal-codecs.js';
