/**
 * Independent decoders for checking what Sluice writes: kafkajs's RecordBatch v2 decoder and
 * CRC32C (a separate JavaScript implementation), plus codec oracles that share no code with
 * `packages/core/src/compression`:
 *   - gzip: kafkajs's own codec (zlib `unzip`);
 *   - snappy: the snappy-java stream parsed here, blocks decoded by the `snappy` package;
 *   - lz4: the LZ4 frame parsed here (header checksum checked with the xxHash32 below) and
 *     blocks decoded by the pure-JS LZ4 block decoder below;
 *   - zstd: `@mongodb-js/zstd` (another binding than the one Sluice compresses with).
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

interface KafkajsDecoderCtor {
  new (buffer: Buffer): unknown;
}
interface KafkajsRecord {
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | Buffer[]>;
  timestamp: string;
  offset: string;
}
interface KafkajsBatch {
  firstOffset: string;
  lastOffsetDelta: number;
  firstTimestamp: string;
  maxTimestamp: string;
  producerId: string;
  producerEpoch: number;
  firstSequence: number;
  inTransaction: boolean;
  records: KafkajsRecord[];
}

const KafkajsDecoder = require('kafkajs/src/protocol/decoder') as KafkajsDecoderCtor;
const decodeRecordBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder') as (decoder: unknown) => Promise<KafkajsBatch>;
const kafkajsCrc32C = require('kafkajs/src/protocol/recordBatch/crc32C') as (buffer: Buffer) => number;
const compression = require('kafkajs/src/protocol/message/compression') as {
  Types: Record<'GZIP' | 'Snappy' | 'LZ4' | 'ZSTD', number>;
  Codecs: Record<number, () => { decompress(buffer: Buffer): Promise<Buffer> }>;
};
const snappyBinding = require('snappy') as { uncompressSync(input: Buffer, options: { asBuffer: true }): Buffer };
const mongoZstd = require('@mongodb-js/zstd') as { decompress(input: Buffer): Promise<Buffer> };

// ------------------------------------------------------------------ snappy-java

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);

/** The parts of a snappy-java stream, for structure assertions. */
export interface XerialStream {
  version: number;
  compatibleVersion: number;
  blocks: Buffer[];
}

/** Parses a snappy-java (xerial) stream: 16-byte header, then [int32 BE length][block]… */
export function parseXerialSnappy(buf: Buffer): XerialStream {
  if (buf.length < 16 || !buf.subarray(0, 8).equals(XERIAL_MAGIC)) throw new Error('not a snappy-java stream (magic)');
  const out: XerialStream = { version: buf.readInt32BE(8), compatibleVersion: buf.readInt32BE(12), blocks: [] };
  let pos = 16;
  while (pos < buf.length) {
    const len = buf.readInt32BE(pos);
    pos += 4;
    if (len < 0 || pos + len > buf.length) throw new Error(`snappy-java block of ${len} bytes at ${pos - 4} runs past ${buf.length}`);
    out.blocks.push(buf.subarray(pos, pos + len));
    pos += len;
  }
  return out;
}

/** Decodes a snappy-java stream, or raw snappy when the magic is absent. */
export function decodeXerialSnappy(buf: Buffer): Buffer {
  if (buf.length < 8 || !buf.subarray(0, 8).equals(XERIAL_MAGIC)) return snappyBinding.uncompressSync(buf, { asBuffer: true });
  return Buffer.concat(parseXerialSnappy(buf).blocks.map((b) => snappyBinding.uncompressSync(b, { asBuffer: true })));
}

// ------------------------------------------------------------------ xxHash32 and LZ4 frames

const P1 = 2654435761;
const P2 = 2246822519;
const P3 = 3266489917;
const P4 = 668265263;
const P5 = 374761393;
const rotl = (x: number, r: number): number => ((x << r) | (x >>> (32 - r))) >>> 0;

/** xxHash32 (the LZ4 frame's checksum), straight from the specification. */
export function xxhash32(data: Uint8Array, seed = 0): number {
  const len = data.length;
  const u32 = (i: number): number => (data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24)) >>> 0;
  let i = 0;
  let h: number;
  if (len >= 16) {
    let v1 = (seed + P1 + P2) >>> 0;
    let v2 = (seed + P2) >>> 0;
    let v3 = seed >>> 0;
    let v4 = (seed - P1) >>> 0;
    const round = (v: number, input: number): number => Math.imul(rotl((v + Math.imul(input, P2)) >>> 0, 13), P1) >>> 0;
    for (; i + 16 <= len; i += 16) {
      v1 = round(v1, u32(i));
      v2 = round(v2, u32(i + 4));
      v3 = round(v3, u32(i + 8));
      v4 = round(v4, u32(i + 12));
    }
    h = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) >>> 0;
  } else {
    h = (seed + P5) >>> 0;
  }
  h = (h + len) >>> 0;
  for (; i + 4 <= len; i += 4) h = Math.imul(rotl((h + Math.imul(u32(i), P3)) >>> 0, 17), P4) >>> 0;
  for (; i < len; i++) h = Math.imul(rotl((h + Math.imul(data[i], P5)) >>> 0, 11), P1) >>> 0;
  h ^= h >>> 15;
  h = Math.imul(h, P2) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, P3) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

/** Decodes one raw LZ4 block (the LZ4 block format), appending to `out`. */
function decodeLz4Block(src: Uint8Array, out: number[]): void {
  let i = 0;
  for (;;) {
    const token = src[i++];
    let literals = token >>> 4;
    if (literals === 15) {
      let b: number;
      do {
        b = src[i++];
        literals += b;
      } while (b === 255);
    }
    for (let k = 0; k < literals; k++) out.push(src[i++]);
    if (i >= src.length) return;
    const offset = src[i] | (src[i + 1] << 8);
    i += 2;
    if (offset === 0 || offset > out.length) throw new Error(`LZ4 block: bad match offset ${offset} at output ${out.length}`);
    let match = token & 15;
    if (match === 15) {
      let b: number;
      do {
        b = src[i++];
        match += b;
      } while (b === 255);
    }
    match += 4;
    const from = out.length - offset;
    for (let k = 0; k < match; k++) out.push(out[from + k]);
  }
}

/** What an LZ4 frame's descriptor says. */
export interface Lz4FrameInfo {
  version: number;
  blockIndependence: boolean;
  blockChecksum: boolean;
  contentSize: boolean;
  contentChecksum: boolean;
  blockMaxSizeId: number;
  headerChecksumOk: boolean;
  blocks: number;
}

/** Parses and decodes an LZ4 frame (lz4_Frame_format.md v1.6) with the code above only. */
export function decodeLz4Frame(buf: Buffer): { data: Buffer; info: Lz4FrameInfo } {
  if (buf.readUInt32LE(0) !== 0x184d2204) throw new Error(`not an LZ4 frame: magic 0x${buf.readUInt32LE(0).toString(16)}`);
  const flg = buf[4];
  const bd = buf[5];
  const info: Lz4FrameInfo = {
    version: flg >>> 6,
    blockIndependence: (flg & 0x20) !== 0,
    blockChecksum: (flg & 0x10) !== 0,
    contentSize: (flg & 0x08) !== 0,
    contentChecksum: (flg & 0x04) !== 0,
    blockMaxSizeId: (bd >>> 4) & 7,
    headerChecksumOk: false,
    blocks: 0,
  };
  let pos = 6 + (info.contentSize ? 8 : 0) + ((flg & 0x01) !== 0 ? 4 : 0);
  info.headerChecksumOk = buf[pos] === ((xxhash32(buf.subarray(4, pos)) >>> 8) & 0xff);
  pos++;
  const out: number[] = [];
  for (;;) {
    const word = buf.readUInt32LE(pos);
    pos += 4;
    if (word === 0) break;
    const size = word & 0x7fffffff;
    const block = buf.subarray(pos, pos + size);
    pos += size;
    if ((word & 0x80000000) !== 0) for (const b of block) out.push(b);
    else decodeLz4Block(block, out);
    if (info.blockChecksum) pos += 4;
    info.blocks++;
  }
  const data = Buffer.from(out);
  if (info.contentChecksum && buf.readUInt32LE(pos) !== xxhash32(data)) throw new Error('LZ4 frame: content checksum mismatch');
  return { data, info };
}

// ------------------------------------------------------------------ kafkajs

compression.Codecs[compression.Types.Snappy] = () => ({ decompress: async (b) => decodeXerialSnappy(b) });
compression.Codecs[compression.Types.LZ4] = () => ({ decompress: async (b) => decodeLz4Frame(b).data });
compression.Codecs[compression.Types.ZSTD] = () => ({ decompress: (b) => mongoZstd.decompress(b) });

/** A batch as kafkajs decodes it, plus the CRC check. */
export interface OracleBatch {
  /** Stored CRC equals kafkajs's CRC32C over attributes..end. */
  crcOk: boolean;
  /** Attributes bits 0-2. */
  codecId: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  lastOffsetDelta: number;
  firstTimestamp: number;
  maxTimestamp: number;
  records: { key: Buffer | null; value: Buffer | null; timestamp: number; offsetDelta: number; headers: Record<string, Buffer | Buffer[]> }[];
}

/** Decodes one sealed RecordBatch v2 with kafkajs and checks its CRC with kafkajs's CRC32C. */
export async function decodeWithKafkajs(sealed: Uint8Array): Promise<OracleBatch> {
  const buf = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  const length = buf.readInt32BE(8);
  if (length + 12 !== buf.length) throw new Error(`batch length field ${length} + 12 != ${buf.length} bytes`);
  const crcOk = kafkajsCrc32C(buf.subarray(21)) === buf.readUInt32BE(17);
  const decoded = await decodeRecordBatch(new KafkajsDecoder(buf));
  return {
    crcOk,
    codecId: buf.readInt16BE(21) & 7,
    producerId: Number(decoded.producerId),
    producerEpoch: decoded.producerEpoch,
    baseSequence: decoded.firstSequence,
    lastOffsetDelta: decoded.lastOffsetDelta,
    firstTimestamp: Number(decoded.firstTimestamp),
    maxTimestamp: Number(decoded.maxTimestamp),
    records: decoded.records.map((r) => ({
      key: r.key,
      value: r.value,
      timestamp: Number(r.timestamp),
      offsetDelta: Number(r.offset) - Number(decoded.firstOffset),
      headers: r.headers,
    })),
  };
}

/** `@mongodb-js/zstd`'s decoder. */
export function zstdOracle(input: Buffer): Promise<Buffer> {
  return mongoZstd.decompress(input);
}

/** kafkajs's gzip codec. */
export function gzipOracle(input: Buffer): Promise<Buffer> {
  return compression.Codecs[compression.Types.GZIP]().decompress(input);
}
