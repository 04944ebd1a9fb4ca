/**
 * `createSealer`: the one place that turns `seal.workers` (`sealWorkers`) and
 * `compression.type` into a {@link Sealer}, following the offload policy. Core never
 * imports this package: the `Producer` loads it itself when `seal.workers` asks for threads
 * (core's `createDefaultSealer`), and a caller building a `RecordAccumulator` passes the
 * result as its `sealer`.
 */
import { CompressionType, InlineSealer, resolveConfig } from '@sluice/core';
import type { CodecResolver, ProducerConfigInput, Sealer } from '@sluice/core';
import { OffloadPolicy } from './offload-policy.js';
import { sealCodecFor } from './seal-codecs.js';
import { WorkerSealer } from './worker-sealer.js';
import type { WorkerSealerOptions } from './worker-sealer.js';

/** Options of {@link createSealer}: WorkerSealer knobs; `threads` comes from `seal.workers`. */
export type CreateSealerOptions = Omit<WorkerSealerOptions, 'threads' | 'adaptive'> & {
  /** Cores the machine model plans for. Default `os.availableParallelism()`. */
  readonly cores?: number;
};

/**
 * The sealer for a producer configuration:
 *   - `seal.workers: 0`, or `none` → an {@link InlineSealer}, no threads;
 *   - `seal.workers: N` with a codec → a {@link WorkerSealer} with N threads, offloading
 *     every batch whose seal pays for its ~2 µs hand-off;
 *   - `seal.workers: auto` (the default) → threads only where the machine model says
 *     compression will pay (the codec's cost per byte against the main thread's own work,
 *     on `os.availableParallelism()` cores; see `offload-policy.ts`): gzip, zstd from level
 *     ~6, lz4 at LZ4-HC levels, on 2+ cores: a WorkerSealer that seals its first batches
 *     inline to measure the codec and the main thread on this data, and starts threads (as
 *     many as the model asks for) only if the measured costs still say they pay. Else inline.
 * Inline seals use {@link sealCodecFor} (lz4 with its level), as the threads do.
 * @param config - producer settings (camelCase or Kafka names), or a resolved config
 * @returns a sealer; close it (`await sealer.close()`) after the accumulator's last batch
 * @throws ConfigError for invalid settings
 */
export function createSealer(config: ProducerConfigInput = {}, options: CreateSealerOptions = {}): Sealer {
  const c = resolveConfig(config);
  const policy = options.offloadPolicy ?? new OffloadPolicy();
  const resolveCodec: CodecResolver = options.resolveCodec ?? sealCodecFor;
  const codecId = CompressionType[c.compressionType];
  const level =
    c.compressionType === 'gzip' ? c.compressionGzipLevel : c.compressionType === 'zstd' ? c.compressionZstdLevel : c.compressionType === 'lz4' ? c.compressionLz4Level : 0;
  if (c.sealWorkers === 0 || codecId === 0) return new InlineSealer(resolveCodec);
  if (c.sealWorkers !== 'auto') return new WorkerSealer({ ...options, offloadPolicy: policy, resolveCodec, threads: c.sealWorkers });
  const plan = policy.planFor(codecId, level, options.cores);
  if (plan.threads === 0) return new InlineSealer(resolveCodec);
  return new WorkerSealer({ ...options, offloadPolicy: policy, resolveCodec, threads: plan.threads, adaptive: true });
}
