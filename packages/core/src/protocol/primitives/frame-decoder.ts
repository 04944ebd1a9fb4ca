/**
 * `FrameDecoder`: cuts a byte stream (socket chunks, split anywhere) into Kafka frames.
 *
 * Every Kafka request and response travels as
 *
 * | field | type  | what                                         |
 * |-------|-------|----------------------------------------------|
 * | size  | int32 | byte length of the frame that follows (≥ 0)   |
 * | frame | bytes | `size` bytes: response header, then the body  |
 *
 * A frame handed out is only the bytes after the size prefix.
 *
 * Key insight: almost every response lies inside one socket chunk, so the decoder keeps the
 * chunks it was given and returns a `subarray` of the chunk when the whole frame lies in it
 * (zero copy); it allocates and copies only for a frame that spans chunks. The size prefix
 * itself may be split across chunks (a 1-byte chunk is legal TCP), so it is assembled byte by
 * byte from the queue. Rejected alternative: appending every chunk to one growing buffer (what
 * kafkajs does) copies every byte once more and makes the decoder hold the largest response's
 * worth of memory forever.
 *
 * Frames are views of the pushed chunks: a caller must not reuse a chunk's memory while a frame
 * cut from it is in use (Node's socket `data` chunks are fresh buffers, so this holds there).
 *
 * A negative size or one above `maxFrameBytes` (default 100 MiB, the default of the broker's
 * `socket.request.max.bytes`) throws {@link ProtocolError}: such a size almost always means the
 * stream is out of sync or the peer is not a Kafka broker (a TLS alert or an HTTP answer read
 * as a size), and the connection must be closed. The decoder stays failed afterwards.
 */
import { ProtocolError } from '../../errors.js';
import { INT32_BYTES } from './byte-writer.js';

/** Default upper bound of one frame: 100 MiB, Kafka's default `socket.request.max.bytes`. */
export const DEFAULT_MAX_FRAME_BYTES = 100 * 1024 * 1024;

/** Options of a {@link FrameDecoder}. */
export interface FrameDecoderOptions {
  /** Largest frame accepted (bytes after the size prefix); default {@link DEFAULT_MAX_FRAME_BYTES}. */
  readonly maxFrameBytes?: number;
  /** What the stream is, for error messages, e.g. `connection to node 2 (localhost:9092)`. */
  readonly context?: string;
}

const NO_FRAME_SIZE = -1;

/** Splits pushed chunks into size-prefixed Kafka frames. Pull frames with {@link FrameDecoder.tryReadFrame}. */
export class FrameDecoder {
  readonly #maxFrameBytes: number;
  readonly #context: string;
  /** Chunks not fully consumed, oldest first; `#chunks[0]` is read from `#headOffset`. */
  readonly #chunks: Uint8Array[] = [];
  #headOffset = 0;
  #bufferedBytes = 0;
  /** Size of the frame whose prefix was read but whose bytes are not all here; -1 when none. */
  #frameSize = NO_FRAME_SIZE;
  /** Stream offset of the next unread byte, for error messages. */
  #streamOffset = 0;
  #failed: ProtocolError | null = null;

  /** @param options - frame size bound and a context for error messages */
  constructor(options: FrameDecoderOptions = {}) {
    this.#maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.#context = options.context ?? 'frame decoder';
  }

  /** Bytes pushed and not yet handed out as frames (including a partial size prefix). */
  get bufferedBytes(): number {
    return this.#bufferedBytes;
  }

  /** Queues a chunk read from the socket. Empty chunks are ignored. The chunk is kept, not copied. */
  push(chunk: Uint8Array): void {
    if (chunk.byteLength === 0) return;
    this.#chunks.push(chunk);
    this.#bufferedBytes += chunk.byteLength;
  }

  /**
   * The next complete frame (the bytes after its size prefix), or null when it has not fully
   * arrived yet.
   * @returns a view of a pushed chunk when the frame lies inside it, else a new array
   * @throws ProtocolError when a size prefix is negative or above `maxFrameBytes` (also on every
   *   later call: the stream is out of sync)
   */
  tryReadFrame(): Uint8Array | null {
    if (this.#failed !== null) throw this.#failed;
    if (this.#frameSize === NO_FRAME_SIZE) {
      if (this.#bufferedBytes < INT32_BYTES) return null;
      const prefixOffset = this.#streamOffset;
      const size = this.#readInt32();
      if (size < 0 || size > this.#maxFrameBytes) {
        this.#failed = new ProtocolError(
          `${this.#context}: frame size ${size} at stream offset ${prefixOffset} is outside 0..${this.#maxFrameBytes}`,
        );
        throw this.#failed;
      }
      this.#frameSize = size;
    }
    if (this.#bufferedBytes < this.#frameSize) return null;
    const frame = this.#take(this.#frameSize);
    this.#frameSize = NO_FRAME_SIZE;
    return frame;
  }

  /** Drops everything buffered and any failure, e.g. before reusing the decoder on a new connection. */
  reset(): void {
    this.#chunks.length = 0;
    this.#headOffset = 0;
    this.#bufferedBytes = 0;
    this.#frameSize = NO_FRAME_SIZE;
    this.#streamOffset = 0;
    this.#failed = null;
  }

  /** Reads a big-endian int32 that may span chunks; the caller checked 4 bytes are buffered. */
  #readInt32(): number {
    let value = 0;
    for (let i = 0; i < INT32_BYTES; i++) {
      const head = this.#chunks[0];
      value = value * 0x100 + head[this.#headOffset];
      this.#advance(1);
    }
    // Reinterpret the unsigned 32 bits as signed, so 0xffffffff reads as -1.
    return value | 0;
  }

  /** Removes `n` buffered bytes (n ≤ bufferedBytes); a view when they lie in one chunk. */
  #take(n: number): Uint8Array {
    const head = this.#chunks[0];
    if (n === 0) return new Uint8Array(0);
    if (this.#headOffset + n <= head.byteLength) {
      const view = head.subarray(this.#headOffset, this.#headOffset + n);
      this.#advance(n);
      return view;
    }
    const out = new Uint8Array(n);
    let written = 0;
    while (written < n) {
      const chunk = this.#chunks[0];
      const take = Math.min(n - written, chunk.byteLength - this.#headOffset);
      out.set(chunk.subarray(this.#headOffset, this.#headOffset + take), written);
      written += take;
      this.#advance(take);
    }
    return out;
  }

  /** Moves past `n` bytes of the head chunk (n ≤ what is left in it), dropping it when consumed. */
  #advance(n: number): void {
    this.#headOffset += n;
    this.#bufferedBytes -= n;
    this.#streamOffset += n;
    if (this.#headOffset === this.#chunks[0].byteLength) {
      this.#chunks.shift();
      this.#headOffset = 0;
    }
  }
}
