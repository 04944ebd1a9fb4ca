/**
 * The codecs Sluice's sealers seal with: core's registry, except lz4, which is
 * {@link lz4LevelCodec} so that `compression.lz4.level` is honoured. Seal threads and the
 * inline paths of `createSealer` / `WorkerSealer` use the same resolver, so a batch is
 * compressed alike whichever thread seals it.
 */
import { codecFor } from '@sluice/core';
import type { Codec, CodecResolver } from '@sluice/core';
import { lz4LevelCodec } from './lz4-level-codec.js';

const LZ4_ID = 3;

/** Kafka codec id → the codec sealers use; null for `none` and unknown ids. */
export const sealCodecFor: CodecResolver = (codecId: number): Codec | null => (codecId === LZ4_ID ? lz4LevelCodec : codecFor(codecId));
