/**
 * A compression codec as Kafka batches use it: the whole records section of a batch is
 * compressed as one block. Implementations live beside this file, one per codec.
 */
import type { CompressionId, CompressionName } from '../format/compression-type.js';

/** Compresses and decompresses one batch's records section. */
export interface Codec {
  /** Kafka's codec id (attributes bits 0-2). */
  readonly id: CompressionId;
  /** Kafka's codec name (`compression.type`). */
  readonly name: CompressionName;
  /**
   * Compresses `input` (a view into pool memory; not retained) at `level`
   * (codec-specific; undefined = the codec's default).
   * @returns a new buffer with the compressed bytes
   */
  compress(input: Uint8Array, level?: number): Uint8Array;
  /** Decompresses a records section compressed by any Kafka client with this codec. */
  decompress(input: Uint8Array): Uint8Array;
}
