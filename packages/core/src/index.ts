/**
 * `@sluice/core`: Kafka's producer-side RecordAccumulator for Node.js — RecordBatch v2 in a
 * SharedArrayBuffer buffer pool, append / ready / drain, the sender, the Producer facade and
 * the embedded in-memory cluster. Explicit named exports only; internals used by Sluice's own
 * packages live in `@sluice/core/internal`.
 */

// Producer facade and sender
export type { ProducerRecord, ProducerOptions, ProducerCloseOptions } from './producer.js';
export { Producer } from './producer.js';
export type { SharedProducerHandle, SharedAppenderOptions, SharedProducerRecord } from './shared/shared-appender.js';
export { SharedAppender } from './shared/shared-appender.js';
export type { SharedProducerOptions } from './shared/shared-intake.js';
export type { ProducerLogger, ProducerEventMap, ProducerEventName, ProducerEventListener } from './events/producer-events.js';
export { userHookErrorCounts } from './user-hook-error.js';
export type { UserHookKind } from './user-hook-error.js';
export type { SenderOptions, SenderCloseOptions } from './sender/sender.js';
export { Sender } from './sender/sender.js';
export { RetryBackoff } from './retry-backoff.js';
export type { ProducerMetricsSnapshot } from './metrics.js';
export { ProducerMetrics } from './metrics.js';
export type {
  NetworkClient,
  ProduceRequest,
  ProducePartitionData,
  ProducePartitionResponse,
  MetadataRequest,
  MetadataResponse,
  TopicMetadata,
  PartitionMetadata,
  BrokerNode,
  InitProducerIdResponse,
} from './network/network-client.js';
export type { ProducerMetadataOptions, ProducerMetadataConfig, MetadataUpdate } from './metadata/producer-metadata.js';
export { ProducerMetadata } from './metadata/producer-metadata.js';
export type { KafkaErrorCode, KafkaErrorName } from './protocol/kafka-errors.js';
export { KafkaErrors, kafkaError, brokerErrorFor } from './protocol/kafka-errors.js';

// Accumulator
export type {
  RecordAppendResult,
  AppendOptions,
  RecordCompletionRequest,
  ReadyCheckResult,
  RecordAccumulatorOptions,
  ProducerIdAndEpoch,
  AccumulatorSenderHooks,
} from './accumulator/record-accumulator.js';
export { RecordAccumulator } from './accumulator/record-accumulator.js';
export type { PartitionHandle } from './accumulator/partition-deque.js';
export type { BatchListener } from './accumulator/producer-batch.js';
export { ProducerBatch } from './accumulator/producer-batch.js';
export type { BatchStateValue } from './accumulator/batch-state.js';
export { BatchState, batchStateName } from './accumulator/batch-state.js';
export type { RecordMetadata, RecordCallback } from './accumulator/record-metadata.js';

// Memory
export type { BufferPoolOptions, BufferPoolMetrics } from './memory/buffer-pool.js';
export { BufferPool, MAX_RUN_SLOTS } from './memory/buffer-pool.js';
export { PoolSlot } from './memory/pool-slot.js';
export type { SlotStateValue } from './memory/pool-layout.js';
export { SlotState } from './memory/pool-layout.js';

// Cluster metadata and partitioning
export type { ClusterView } from './cluster/cluster.js';
export { Cluster, NO_LEADER } from './cluster/cluster.js';
export type { TopicPartition } from './cluster/topic-partition.js';
export { topicPartitionString, checkTopicName, MAX_TOPIC_LENGTH } from './cluster/topic-partition.js';
export type { Partitioner, DefaultPartitionerOptions } from './partitioner/default-partitioner.js';
export { DefaultPartitioner } from './partitioner/default-partitioner.js';
export type { StickyPartitionerOptions } from './partitioner/sticky-partitioner.js';
export { StickyPartitioner, UNKNOWN_PARTITION } from './partitioner/sticky-partitioner.js';
export { murmur2, toPositive, partitionForKey } from './partitioner/murmur2.js';

// Embedded cluster and deterministic simulation
export type {
  InMemoryClusterOptions,
  AcceptedBatch,
  InMemoryClusterStats,
  InjectRequestTimeoutOptions,
} from './embedded/in-memory-cluster.js';
export { InMemoryCluster } from './embedded/in-memory-cluster.js';
export type { InMemoryBrokersOptions, InMemoryBrokersStats } from './embedded/in-memory-brokers.js';
export { InMemoryBrokers } from './embedded/in-memory-brokers.js';
export { VirtualScheduler } from './embedded/virtual-scheduler.js';
export type { FaultEvent, FaultTarget, RandomFaultScheduleOptions } from './embedded/fault-schedule.js';
export { FaultSchedule, DEFAULT_FAULT_ERROR_CODES } from './embedded/fault-schedule.js';
export type { RandomSource } from './embedded/seeded-random.js';
export { seededRandom } from './embedded/seeded-random.js';

// Record format
export type { RecordData, RecordHeader } from './format/record-data.js';
export type { CompressionId, CompressionName } from './format/compression-type.js';
export { CompressionType, compressionName, isCompressionName } from './format/compression-type.js';
export type {
  RecordBatchHeader,
  DecodedRecord,
  DecodedRecordBatch,
  DecodedRecordHeader,
  ReadRecordBatchesOptions,
  TimestampType,
} from './format/record-batch-reader.js';
export { readRecordBatches, peekBatchHeader, verifyBatchCrc } from './format/record-batch-reader.js';
export { crc32c, crc32cBinding, crc32cImplementation } from './format/crc32c.js';
export type { Crc32cBinding } from './format/crc32c.js';

// Sealing and compression
export type { Sealer, SealJob, SealSpec } from './sealing/sealer.js';
export type { CodecResolver } from './sealing/inline-sealer.js';
export { InlineSealer } from './sealing/inline-sealer.js';
export type { DefaultSealerHooks, WorkerPackage } from './sealing/default-sealer.js';
export { createDefaultSealer, DeferredSealer, WORKER_PACKAGE } from './sealing/default-sealer.js';
export type { Codec } from './compression/codec.js';
export { codecFor, codecByName } from './compression/codecs.js';

// Configuration, time, errors
export type { ProducerConfig, ProducerConfigInput } from './config.js';
export { resolveConfig, CONFIG_SPECS } from './config.js';
export type { Clock, Scheduler, TimerHandle } from './clock.js';
export { systemClock, systemScheduler, ManualClock } from './clock.js';
export type { SluiceErrorCode } from './errors.js';
export {
  SluiceError,
  asSluiceError,
  ConfigError,
  InvalidRecordError,
  RecordTooLargeError,
  BufferExhaustedError,
  IllegalStateError,
  ClosedError,
  AbortedError,
  TimeoutError,
  CorruptBatchError,
  SealError,
  BrokerError,
  ProtocolError,
  AuthenticationError,
  SaslAuthenticationError,
  SslAuthenticationError,
} from './errors.js';
