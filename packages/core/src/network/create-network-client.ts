/**
 * Picks the producer's network from its configuration, so that the facade imports neither
 * implementation: no `bootstrap.servers` → the embedded in-memory cluster (topics created on
 * first use); `bootstrap.servers` given → the Kafka wire transport.
 */
import type { Scheduler } from '../clock.js';
import { decompressRecords } from '../compression/codecs.js';
import type { ProducerConfig } from '../config.js';
import { InMemoryCluster } from '../embedded/in-memory-cluster.js';
import { ConfigError } from '../errors.js';
import type { NetworkClient } from './network-client.js';
import { parseBootstrapServers } from './wire/broker-address.js';
import { WireNetworkClient } from './wire/wire-network-client.js';

let producerCount = 0;

/** The `client.id` to send: the configured one, else `sluice-producer-<n>` (Kafka: `producer-<n>`). */
export function effectiveClientId(config: Pick<ProducerConfig, 'clientId'>): string {
  return config.clientId !== '' ? config.clientId : `sluice-producer-${++producerCount}`;
}

/**
 * Builds the network a producer sends through.
 * @param config - the producer's resolved configuration
 * @param scheduler - time and timers (the embedded cluster runs on them)
 * @param random - jitter source for reconnect backoffs
 * @throws ConfigError for a malformed `bootstrap.servers` entry or a `security.protocol` that
 *   needs settings this build does not have
 */
export function createNetworkClient(config: ProducerConfig, scheduler: Scheduler, random?: () => number): NetworkClient {
  if (config.bootstrapServers.length === 0) {
    if (config.securityProtocol !== 'PLAINTEXT') {
      throw new ConfigError(`security.protocol=${config.securityProtocol} needs bootstrap.servers (the embedded cluster is in-process)`);
    }
    return new InMemoryCluster({
      autoCreateTopics: true,
      scheduler,
      decompress: decompressRecords,
      maxInFlightRequestsPerConnection: config.maxInFlightRequestsPerConnection,
    });
  }
  const bootstrapServers = parseBootstrapServers(config.bootstrapServers);
  if (config.securityProtocol !== 'PLAINTEXT') {
    throw new ConfigError(`security.protocol=${config.securityProtocol} is not supported yet; use PLAINTEXT`);
  }
  return new WireNetworkClient({
    bootstrapServers,
    clientId: effectiveClientId(config),
    requestTimeoutMs: config.requestTimeoutMs,
    reconnectBackoffMs: config.reconnectBackoffMs,
    reconnectBackoffMaxMs: config.reconnectBackoffMaxMs,
    connectionSetupTimeoutMs: config.socketConnectionSetupTimeoutMs,
    connectionSetupTimeoutMaxMs: config.socketConnectionSetupTimeoutMaxMs,
    connectionsMaxIdleMs: config.connectionsMaxIdleMs,
    maxInFlightRequestsPerConnection: config.maxInFlightRequestsPerConnection,
    random,
  });
}
