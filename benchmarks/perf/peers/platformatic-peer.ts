/**
 * @platformatic/kafka against a real broker: its `Producer` (its own protocol code, network
 * layer and codecs) configured with the run's settings, driven through
 * {@link createMessageArrayEngine}: each chunk of messages is one `producer.send`.
 *
 * Its idempotent producer takes one `send` at a time: with two sends in flight, 1.35 numbers
 * their batches so that the broker answers OUT_OF_ORDER_SEQUENCE_NUMBER (measured against
 * Kafka 4.4: "The broker received an out of order sequence number"). So with idempotence the
 * peer sends one chunk at a time (as platformatic's own ProducerStream does); without, up to
 * `max.in.flight.requests.per.connection` (its `maxInflights` per connection).
 *
 * Version 1.35 speaks to Kafka 4 but not to librdkafka's mock cluster: it sends ApiVersions at
 * a version the mock does not serve and has no fallback to v0 (the UNSUPPORTED_VERSION answer
 * KIP-511 specifies), so against the mock the peer is skipped with that reason.
 */
import type { ProducerConfig } from '@sluice/core';
import { createRequire } from 'node:module';
import type { LatencyTracker, PerfEngine } from '../perf-run.js';
import type { Workload } from '../workload.js';
import type { ArrayMessage } from './message-array-engine.js';
import { createMessageArrayEngine } from './message-array-engine.js';

const require = createRequire(import.meta.url);

/** How to install the peer (printed when it is skipped). */
export const PLATFORMATIC_INSTALL_HINT = 'npm install @platformatic/kafka';

interface PlatformaticProducer {
  send(options: { messages: ArrayMessage[]; acks: number; compression: string }): Promise<unknown>;
  close(force?: boolean): Promise<void>;
}

interface PlatformaticModule {
  Producer: new (options: Record<string, unknown>) => PlatformaticProducer;
}

/** The installed version, or null when the package is missing. */
export function platformaticVersion(): string | null {
  try {
    // The package's exports map hides package.json; read it next to the entry point.
    const entry = require.resolve('@platformatic/kafka');
    const pkg = require(entry.replace(/dist[\\/]index\.js$/, 'package.json')) as { version: string };
    return pkg.version;
  } catch {
    return null;
  }
}

/** What the peer runs, for the report. */
export function describePlatformaticPeer(version: string, config: ProducerConfig): string {
  return `@platformatic/kafka ${version} Producer, compression ${config.compressionType}, idempotent ${config.enableIdempotence}, ${config.enableIdempotence ? 'one send at a time (its idempotent producer fails concurrent sends)' : `${config.maxInFlightRequestsPerConnection} sends in flight`}`;
}

/**
 * Why platformatic cannot run this codec here, or null: it compresses zstd with node:zlib's
 * `zstdCompressSync`, which Node has from 22.15 (and 23.8) on.
 */
export function platformaticCodecUnavailable(codec: string): string | null {
  if (codec !== 'zstd') return null;
  const zlib = require('node:zlib') as { zstdCompressSync?: unknown };
  return typeof zlib.zstdCompressSync === 'function'
    ? null
    : `@platformatic/kafka compresses zstd with node:zlib's zstdCompressSync, which Node ${process.version} lacks (Node >= 22.15 has it)`;
}

/** Connects a platformatic producer and wraps it as an engine. */
export async function createPlatformaticEngine(w: Workload, config: ProducerConfig, bootstrap: string, tracker: LatencyTracker): Promise<PerfEngine> {
  const unavailable = platformaticCodecUnavailable(config.compressionType);
  if (unavailable !== null) throw new Error(unavailable);
  const mod = (await import('@platformatic/kafka')) as unknown as PlatformaticModule;
  const producer = new mod.Producer({
    clientId: 'sluice-perf-platformatic',
    bootstrapBrokers: bootstrap.split(','),
    idempotent: config.enableIdempotence,
    acks: config.acks,
    compression: config.compressionType,
    maxInflights: config.maxInFlightRequestsPerConnection,
    autocreateTopics: false,
    timeout: config.requestTimeoutMs,
  });
  const acks = config.acks;
  const compression = config.compressionType;
  return createMessageArrayEngine(w, config, tracker, {
    name: 'platformatic',
    async send(messages) {
      await producer.send({ messages, acks, compression });
    },
    close: () => producer.close(),
  }, config.enableIdempotence ? 1 : config.maxInFlightRequestsPerConnection);
}
