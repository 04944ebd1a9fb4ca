/**
 * `@sluice/worker`: seal batches on piscina worker threads, straight from the shared pool.
 *
 * ```ts
 * const sealer = createSealer(config);                 // InlineSealer or WorkerSealer
 * const acc = new RecordAccumulator({ config, sealer });
 * …
 * await acc.closeSealer();                              // waits for seals, stops the threads
 * ```
 */
export { createSealer } from './create-sealer.js';
export { HAND_OFF_NS_PER_BATCH, HAND_OFF_NS_PER_TASK, MIN_GAIN, OffloadPolicy, SEAL_NS_PER_BYTE, defaultSealThreads } from './offload-policy.js';
export type { OffloadPolicyOptions } from './offload-policy.js';
export { DEFAULT_MAX_GROUP_BATCHES, DEFAULT_MAX_GROUP_BYTES, DEFAULT_PISCINA_ATOMICS, WorkerSealer } from './worker-sealer.js';
export type { WorkerSealerOptions, WorkerSealerStats } from './worker-sealer.js';
