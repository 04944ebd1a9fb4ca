/**
 * Picks the producer's network from its configuration, so that the facade imports neither
 * implementation: no `bootstrap.servers` → the embedded in-memory cluster (topics created on
 * first use); `bootstrap.servers` given → the Kafka wire transport.
 */
import type { ConnectionOptions } from 'node:tls';
import type { Scheduler } from '../clock.js';
import { decompressRecords } from '../compression/codecs.js';
import type { ProducerConfig } from '../config.js';
import { InMemoryCluster } from '../embedded/in-memory-cluster.js';
import { ConfigError } from '../errors.js';
import { Secret } from '../secret.js';
import type { NetworkClient } from './network-client.js';
import { parseBootstrapServers } from './wire/broker-address.js';
import type { OAuthBearerTokenProvider, SaslMechanismName } from './wire/sasl-authenticator.js';
import { saslAuthenticator } from './wire/sasl-authenticator.js';
import { tlsOptionsFor, tlsSocketOpener } from './wire/tls-socket.js';
import { WireNetworkClient } from './wire/wire-network-client.js';

/** What the producer passes beyond its config: objects a config map cannot hold. */
export interface NetworkExtras {
  /** Node's own TLS options, applied over those made from `ssl.*` (they win). */
  readonly tls?: ConnectionOptions;
  /** Supplies OAuth bearer tokens for `sasl.mechanism=OAUTHBEARER`. */
  readonly oauthBearerTokenProvider?: OAuthBearerTokenProvider;
  /** Uniform [0, 1) source for backoff jitter. */
  readonly random?: () => number;
}

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
export function createNetworkClient(config: ProducerConfig, scheduler: Scheduler, extras: NetworkExtras = {}): NetworkClient {
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
  return createWireNetworkClient(config, extras);
}

/**
 * The Kafka wire transport for `bootstrap.servers`, with the TLS and SASL the config asks
 * for: what {@link createNetworkClient} builds for a broker, typed as the wire client so that
 * tools can use what it has beyond the producer's contract (`createTopics`).
 * @throws ConfigError for an empty or malformed `bootstrap.servers`, or a `security.protocol`
 *   that needs settings this build does not have
 */
export function createWireNetworkClient(config: ProducerConfig, extras: NetworkExtras = {}): WireNetworkClient {
  if (config.bootstrapServers.length === 0) throw new ConfigError('bootstrap.servers is empty: the wire transport needs a broker to connect to');
  const bootstrapServers = parseBootstrapServers(config.bootstrapServers);
  const protocol = config.securityProtocol;
  const openSocket = protocol === 'SSL' || protocol === 'SASL_SSL' ? tlsSocketOpener(tlsOptionsFor(config, extras.tls)) : undefined;
  const authenticate = protocol === 'SASL_PLAINTEXT' || protocol === 'SASL_SSL' ? saslAuthenticator(saslSettingsFor(config, extras)) : undefined;
  return new WireNetworkClient({
    openSocket,
    authenticate,
    bootstrapServers,
    clientId: effectiveClientId(config),
    requestTimeoutMs: config.requestTimeoutMs,
    reconnectBackoffMs: config.reconnectBackoffMs,
    reconnectBackoffMaxMs: config.reconnectBackoffMaxMs,
    connectionSetupTimeoutMs: config.socketConnectionSetupTimeoutMs,
    connectionSetupTimeoutMaxMs: config.socketConnectionSetupTimeoutMaxMs,
    connectionsMaxIdleMs: config.connectionsMaxIdleMs,
    maxInFlightRequestsPerConnection: config.maxInFlightRequestsPerConnection,
    random: extras.random,
  });
}

const JAAS_MODULES: Readonly<Record<string, string>> = Object.freeze({
  PLAIN: 'org.apache.kafka.common.security.plain.PlainLoginModule',
  'SCRAM-SHA-256': 'org.apache.kafka.common.security.scram.ScramLoginModule',
  'SCRAM-SHA-512': 'org.apache.kafka.common.security.scram.ScramLoginModule',
});

/**
 * The SASL settings: mechanism, and credentials from `sasl.username`/`sasl.password` or from
 * `sasl.jaas.config` (`… LoginModule required username="…" password="…";`).
 * @throws ConfigError for GSSAPI, missing credentials, a JAAS line for another mechanism, or
 *   OAUTHBEARER without a token provider (messages never contain a password)
 */
function saslSettingsFor(config: ProducerConfig, extras: NetworkExtras) {
  const mechanism = config.saslMechanism;
  if (mechanism === 'GSSAPI') {
    throw new ConfigError(
      `sasl.mechanism=GSSAPI (Kafka's default) is not supported: Kerberos is not available in Sluice; set sasl.mechanism to PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER`,
    );
  }
  let username = config.saslUsername;
  let password = config.saslPassword;
  if (!config.saslJaasConfig.isEmpty) {
    const jaas = config.saslJaasConfig.reveal();
    const module = /^\s*([\w.$]+)\s+required\b/.exec(jaas)?.[1];
    const expected = JAAS_MODULES[mechanism];
    if (expected !== undefined && module !== expected) {
      throw new ConfigError(`sasl.jaas.config: sasl.mechanism=${mechanism} needs ${expected}, got ${module ?? 'no login module'}`);
    }
    username = jaasOption(jaas, 'username') ?? username;
    const p = jaasOption(jaas, 'password');
    if (p !== undefined) password = new Secret(p);
  }
  if (mechanism === 'OAUTHBEARER') {
    if (extras.oauthBearerTokenProvider === undefined) {
      throw new ConfigError('sasl.mechanism=OAUTHBEARER needs a token provider: new Producer({ oauthBearerTokenProvider: async () => ({ value, lifetimeMs }) })');
    }
  } else if (username === '' || password.isEmpty) {
    throw new ConfigError(`sasl.mechanism=${mechanism} needs a username and a password (sasl.username and sasl.password, or sasl.jaas.config)`);
  }
  return { mechanism: mechanism as SaslMechanismName, username, password, tokenProvider: extras.oauthBearerTokenProvider, random: extras.random };
}

/**
 * A login-module option of a JAAS line as Kafka's `JaasConfig` reads it (a
 * `java.io.StreamTokenizer`): `name="value"` or `name='value'` with backslash escapes (`\"`
 * is a quote, `\\` a backslash), or a bare word `name=value`.
 */
function jaasOption(jaas: string, name: string): string | undefined {
  const m = new RegExp(`\\b${name}\\s*=\\s*(?:"((?:[^"\\\\]|\\\\.)*)"|'((?:[^'\\\\]|\\\\.)*)'|([^\\s;"']+))`).exec(jaas);
  if (m === null) return undefined;
  const quoted = m[1] ?? m[2];
  return quoted !== undefined ? quoted.replace(/\\(.)/gs, '$1') : m[3];
}
