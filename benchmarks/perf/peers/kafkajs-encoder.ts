/**
 * kafkajs's own RecordBatch v2 encoding, called the way kafkajs's producer calls it, so
 * that Sluice is compared with kafkajs doing the same job on the same records.
 *
 * kafkajs (2.2.x) has no accumulator: `producer.send({ topic, messages })` groups the
 * messages by partition and, per partition, runs `partitionsEncoder` of
 * `src/protocol/requests/produce/v3/request.js`:
 *   timestamps = messages' timestamps, sorted; records = messages.map(Record({...m,
 *   offsetDelta: i, timestampDelta})); RecordBatch({ compression, records, firstTimestamp,
 *   maxTimestamp, producerId, producerEpoch, firstSequence, lastOffsetDelta })
 * {@link encodeKafkajsBatch} is that function (minus the request framing around it), calling
 * kafkajs's `recordBatch/record/v0` and `recordBatch/v0` modules from node_modules.
 *
 * Codecs: kafkajs ships gzip (zlib, async on libuv's thread pool) and takes the others as
 * plug-ins (`CompressionCodecs[CompressionTypes.LZ4] = ...`, e.g. kafkajs-lz4). For lz4,
 * snappy and zstd the peer registers a plug-in over the same native library Sluice uses,
 * so a codec comparison measures the batching and encoding around it, not two libraries.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** A message as kafkajs's producer takes it. */
export interface KafkajsMessage {
  key: Buffer | null;
  value: Buffer | null;
  timestamp: number;
}

/** kafkajs's Encoder, as far as the peer uses it. */
interface KafkajsEncoder {
  readonly buffer: Buffer;
}

interface KafkajsCodec {
  compress(encoder: KafkajsEncoder): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}

/** The kafkajs modules the peer calls. */
export interface KafkajsModules {
  version: string;
  Record: (r: { offsetDelta: number; timestampDelta: number; key: Buffer | null; value: Buffer | null; headers?: object }) => KafkajsEncoder;
  RecordBatch: (b: {
    compression: number;
    records: KafkajsEncoder[];
    firstTimestamp: number;
    maxTimestamp: number;
    producerId?: unknown;
    producerEpoch?: number;
    firstSequence?: number;
    transactional?: boolean;
    lastOffsetDelta: number;
  }) => Promise<KafkajsEncoder>;
  Types: { None: number; GZIP: number; Snappy: number; LZ4: number; ZSTD: number };
  Codecs: Record<number, () => KafkajsCodec>;
  Long: { fromNumber(n: number): unknown; fromValue(n: number): unknown };
}

/** How to install kafkajs (printed when the peer is skipped). */
export const KAFKAJS_INSTALL_HINT = 'npm install kafkajs';

let cached: KafkajsModules | null | undefined;

/**
 * Loads kafkajs's encoder modules from node_modules.
 * @returns the modules, or null when kafkajs is not installed (the caller says how to install it)
 */
export function loadKafkajs(): KafkajsModules | null {
  if (cached !== undefined) return cached;
  try {
    const pkg = require('kafkajs/package.json') as { version: string };
    const compression = require('kafkajs/src/protocol/message/compression/index.js') as {
      Types: KafkajsModules['Types'];
      Codecs: KafkajsModules['Codecs'];
    };
    cached = {
      version: pkg.version,
      Record: require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as KafkajsModules['Record'],
      RecordBatch: (require('kafkajs/src/protocol/recordBatch/v0/index.js') as { RecordBatch: KafkajsModules['RecordBatch'] }).RecordBatch,
      Types: compression.Types,
      Codecs: compression.Codecs,
      Long: require('kafkajs/src/utils/long.js') as KafkajsModules['Long'],
    };
  } catch {
    cached = null;
  }
  return cached;
}

/** A codec as Sluice has it (`compress` of a records section). */
export interface PluginCodec {
  compress(input: Uint8Array, level?: number): Uint8Array;
  decompress(input: Uint8Array): Uint8Array;
}

/**
 * Registers a kafkajs plug-in codec for `codecId` over `codec` (used for the codecs kafkajs
 * does not ship). Leaves kafkajs's own gzip alone.
 * @returns a description of the codec kafkajs now uses for `codecId`
 */
export function ensureKafkajsCodec(k: KafkajsModules, codecId: number, codec: PluginCodec | null, libraryName: string): string {
  if (codecId === k.Types.None) return 'none';
  if (codecId === k.Types.GZIP) return 'gzip (kafkajs built-in, zlib async)';
  if (codec === null) throw new Error(`no codec for compression id ${codecId} to give kafkajs`);
  k.Codecs[codecId] = () => ({
    compress: async (encoder: KafkajsEncoder) => Buffer.from(codec.compress(encoder.buffer)),
    decompress: async (buffer: Buffer) => Buffer.from(codec.decompress(buffer)),
  });
  return `${libraryName} (plug-in codec, same library as Sluice)`;
}

/** Producer fields of a batch (idempotence); kafkajs's defaults when not idempotent. */
export interface KafkajsProducerFields {
  producerId: number;
  producerEpoch: number;
  firstSequence: number;
}

const NOT_IDEMPOTENT: KafkajsProducerFields = { producerId: -1, producerEpoch: 0, firstSequence: 0 };

/**
 * Encodes one partition's messages into one RecordBatch v2 exactly as kafkajs's produce
 * request v3+ does (`partitionsEncoder`, see the file comment).
 * @returns the batch bytes (a fresh Buffer)
 */
export async function encodeKafkajsBatch(
  k: KafkajsModules,
  messages: readonly KafkajsMessage[],
  compression: number,
  producer: KafkajsProducerFields = NOT_IDEMPOTENT,
): Promise<Buffer> {
  const dateNow = Date.now();
  const messageTimestamps = messages
    .map((m) => m.timestamp)
    .filter((timestamp) => timestamp != null)
    .sort();
  const timestamps = messageTimestamps.length === 0 ? [dateNow] : messageTimestamps;
  const firstTimestamp = timestamps[0];
  const maxTimestamp = timestamps[timestamps.length - 1];
  const records = messages.map((message, i) =>
    k.Record({
      key: message.key,
      value: message.value,
      offsetDelta: i,
      timestampDelta: (message.timestamp || dateNow) - firstTimestamp,
    }),
  );
  const batch = await k.RecordBatch({
    compression,
    records,
    firstTimestamp,
    maxTimestamp,
    producerId: k.Long.fromValue(producer.producerId),
    producerEpoch: producer.producerEpoch,
    firstSequence: producer.firstSequence,
    transactional: false,
    lastOffsetDelta: records.length - 1,
  });
  return batch.buffer;
}
