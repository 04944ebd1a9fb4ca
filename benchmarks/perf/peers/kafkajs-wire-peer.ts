/**
 * kafkajs against a real broker: its own `Kafka` client, network layer and `Producer`,
 * configured with the run's settings (acks, idempotence, compression, in-flight limit), driven
 * through {@link createMessageArrayEngine} (kafkajs has no accumulator: each chunk of messages
 * is one `producer.send`). Codecs kafkajs does not ship (lz4, snappy, zstd) are registered as
 * plug-ins over the same native libraries Sluice uses (kafkajs-encoder.ts), so a codec
 * comparison measures the client around the codec.
 */
import { codecFor, CompressionType } from '@sluice/core';
import type { ProducerConfig } from '@sluice/core';
import { createRequire } from 'node:module';
import type { LatencyTracker, PerfEngine } from '../perf-run.js';
import type { Workload } from '../workload.js';
import type { KafkajsModules } from './kafkajs-encoder.js';
import { ensureKafkajsCodec } from './kafkajs-encoder.js';
import type { ArrayMessage } from './message-array-engine.js';
import { createMessageArrayEngine } from './message-array-engine.js';

const require = createRequire(import.meta.url);

const LIBRARIES: Record<string, string> = { snappy: 'snappy', lz4: 'lz4-napi', zstd: 'zstd' };

interface KafkajsProducer {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  send(record: { topic: string; messages: ArrayMessage[]; acks: number; compression: number; timeout: number }): Promise<unknown>;
}

/** What the peer runs, for the report. */
export function describeKafkajsWirePeer(k: KafkajsModules, config: ProducerConfig): string {
  const codec = ensureKafkajsCodec(k, CompressionType[config.compressionType], codecFor(CompressionType[config.compressionType]), LIBRARIES[config.compressionType] ?? config.compressionType);
  return `kafkajs ${k.version} Producer over its own network client, codec ${codec}, idempotent ${config.enableIdempotence}, maxInFlightRequests ${config.maxInFlightRequestsPerConnection}`;
}

/** Connects a kafkajs producer to the broker and wraps it as an engine. */
export async function createKafkajsWireEngine(k: KafkajsModules, w: Workload, config: ProducerConfig, bootstrap: string, tracker: LatencyTracker): Promise<PerfEngine> {
  const codecId = CompressionType[config.compressionType];
  ensureKafkajsCodec(k, codecId, codecFor(codecId), LIBRARIES[config.compressionType] ?? config.compressionType);
  const { Kafka, logLevel } = require('kafkajs') as {
    Kafka: new (c: Record<string, unknown>) => { producer(o: Record<string, unknown>): KafkajsProducer };
    logLevel: { NOTHING: number };
  };
  const kafka = new Kafka({ clientId: 'sluice-perf-kafkajs', brokers: bootstrap.split(','), logLevel: logLevel.NOTHING });
  const producer = kafka.producer({
    idempotent: config.enableIdempotence,
    maxInFlightRequests: config.maxInFlightRequestsPerConnection,
    allowAutoTopicCreation: false,
  });
  await producer.connect();
  const topic = w.topic;
  const acks = config.acks;
  const timeout = config.requestTimeoutMs;
  return createMessageArrayEngine(w, config, tracker, {
    name: 'kafkajs',
    async send(messages) {
      await producer.send({ topic, messages, acks, compression: codecId, timeout });
    },
    close: () => producer.disconnect(),
  });
}
