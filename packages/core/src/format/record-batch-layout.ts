/**
 * Kafka RecordBatch v2 (magic 2) byte layout — the one home of every offset.
 *
 * ```
 *  offset  field                 type     notes
 *  ------  --------------------  -------  ----------------------------------------------
 *       0  baseOffset            int64    0 from the producer; the broker assigns it
 *       8  length                int32    bytes after this field (= total - 12)
 *      12  partitionLeaderEpoch  int32    -1 from the producer
 *      16  magic                 int8     2
 *      17  crc                   uint32   CRC32C of bytes [21, end)  (attributes .. end)
 *      21  attributes            int16    see bits below
 *      23  lastOffsetDelta       int32    offsetDelta of the last record (count - 1)
 *      27  baseTimestamp         int64    timestamp of the first record
 *      35  maxTimestamp          int64    largest timestamp in the batch
 *      43  producerId            int64    -1 when not idempotent
 *      51  producerEpoch         int16    -1 when not idempotent
 *      53  baseSequence          int32    -1 when not idempotent
 *      57  recordsCount          int32
 *      61  records               ...      possibly compressed as one block
 *
 *  attributes (int16):
 *   bit  15 ... 7 | 6              | 5       | 4             | 3              | 2 1 0
 *        unused   | deleteHorizon  | control | transactional | timestampType  | compression
 *                                               (0 create time, 1 log append) (0 none,1 gzip,2 snappy,3 lz4,4 zstd)
 *
 *  record (inside `records`, never compressed individually):
 *   length varint | attributes int8 (0) | timestampDelta varlong | offsetDelta varint |
 *   keyLength varint (-1 = null) | key | valueLength varint (-1 = null) | value |
 *   headersCount varint | headers: [keyLength varint | key utf8 | valueLength varint (-1 = null) | value]
 *   (varints are zigzag-encoded, LEB128 groups of 7 bits, as protobuf's sint32/sint64)
 * ```
 *
 * Invariants (checked by tests):
 * - `RECORD_BATCH_OVERHEAD` (61) is where records start, in sealed and unsealed batches.
 * - The CRC covers exactly `[ATTRIBUTES_OFFSET, end)`, so `partitionLeaderEpoch` and
 *   `baseOffset` can be rewritten by the broker without recomputing it.
 * - `length` = total size − `LOG_OVERHEAD`.
 *
 * Source: Kafka `org.apache.kafka.common.record.DefaultRecordBatch` and `DefaultRecord`.
 */

export const BASE_OFFSET_OFFSET = 0;
export const BASE_OFFSET_LENGTH = 8;
export const LENGTH_OFFSET = BASE_OFFSET_OFFSET + BASE_OFFSET_LENGTH;
export const LENGTH_LENGTH = 4;
/** baseOffset + length: the bytes not counted by `length`. */
export const LOG_OVERHEAD = LENGTH_OFFSET + LENGTH_LENGTH;
export const PARTITION_LEADER_EPOCH_OFFSET = LOG_OVERHEAD;
export const PARTITION_LEADER_EPOCH_LENGTH = 4;
export const MAGIC_OFFSET = PARTITION_LEADER_EPOCH_OFFSET + PARTITION_LEADER_EPOCH_LENGTH;
export const MAGIC_LENGTH = 1;
export const CRC_OFFSET = MAGIC_OFFSET + MAGIC_LENGTH;
export const CRC_LENGTH = 4;
export const ATTRIBUTES_OFFSET = CRC_OFFSET + CRC_LENGTH;
export const ATTRIBUTES_LENGTH = 2;
export const LAST_OFFSET_DELTA_OFFSET = ATTRIBUTES_OFFSET + ATTRIBUTES_LENGTH;
export const LAST_OFFSET_DELTA_LENGTH = 4;
export const BASE_TIMESTAMP_OFFSET = LAST_OFFSET_DELTA_OFFSET + LAST_OFFSET_DELTA_LENGTH;
export const BASE_TIMESTAMP_LENGTH = 8;
export const MAX_TIMESTAMP_OFFSET = BASE_TIMESTAMP_OFFSET + BASE_TIMESTAMP_LENGTH;
export const MAX_TIMESTAMP_LENGTH = 8;
export const PRODUCER_ID_OFFSET = MAX_TIMESTAMP_OFFSET + MAX_TIMESTAMP_LENGTH;
export const PRODUCER_ID_LENGTH = 8;
export const PRODUCER_EPOCH_OFFSET = PRODUCER_ID_OFFSET + PRODUCER_ID_LENGTH;
export const PRODUCER_EPOCH_LENGTH = 2;
export const BASE_SEQUENCE_OFFSET = PRODUCER_EPOCH_OFFSET + PRODUCER_EPOCH_LENGTH;
export const BASE_SEQUENCE_LENGTH = 4;
export const RECORDS_COUNT_OFFSET = BASE_SEQUENCE_OFFSET + BASE_SEQUENCE_LENGTH;
export const RECORDS_COUNT_LENGTH = 4;
export const RECORDS_OFFSET = RECORDS_COUNT_OFFSET + RECORDS_COUNT_LENGTH;
/** Size of the v2 batch header; records start here. */
export const RECORD_BATCH_OVERHEAD = RECORDS_OFFSET;

/** The only magic value Sluice writes and reads. */
export const MAGIC_V2 = 2;

/** Mask of the codec id in the attributes. */
export const COMPRESSION_CODEC_MASK = 0x07;
/** Attribute bit: timestamps are log-append time (set by the broker), not create time. */
export const TIMESTAMP_TYPE_MASK = 0x08;
/** Attribute bit: the batch belongs to a transaction. */
export const TRANSACTIONAL_FLAG_MASK = 0x10;
/** Attribute bit: control batch (transaction markers). */
export const CONTROL_FLAG_MASK = 0x20;
/** Attribute bit: deleteHorizonMs is set in baseTimestamp (compacted topics). */
export const DELETE_HORIZON_FLAG_MASK = 0x40;

/** Producer id / epoch / sequence written when the producer is not idempotent. */
export const NO_PRODUCER_ID = -1n;
export const NO_PRODUCER_EPOCH = -1;
export const NO_SEQUENCE = -1;
/** partitionLeaderEpoch written by producers. */
export const NO_PARTITION_LEADER_EPOCH = -1;

/**
 * Largest overhead of one record around its key, value and headers: length varint (5),
 * attributes (1), timestampDelta varlong (10), offsetDelta varint (5), key and value
 * length varints (5 each), header count varint (5). Kafka: `DefaultRecord.MAX_RECORD_OVERHEAD` (21)
 * covers the first four; the length prefixes are added per field.
 */
export const MAX_RECORD_OVERHEAD = 5 + 1 + 10 + 5;
