/**
 * Producer configuration: defaults as Apache Kafka 4.0's producer, accepted under our
 * camelCase names and under Kafka's dotted names (`batch.size`), validated up front.
 * Unknown names and bad values throw {@link ConfigError} naming the setting and the value.
 */
import { ConfigError } from './errors.js';
import type { CompressionName } from './format/compression-type.js';
import { isCompressionName } from './format/compression-type.js';
import { Secret } from './secret.js';

/** Effective settings, every one resolved (no undefined). */
export interface ProducerConfig {
  /** `batch.size`: bytes of a batch (and of a pool slot). Kafka default 16384. */
  batchSize: number;
  /** `linger.ms`: how long a non-full batch waits for more records. Kafka 4.0 default 5 (KIP-1030). */
  lingerMs: number;
  /** `buffer.memory`: bytes of the shared buffer pool. Default 32 MiB. */
  bufferMemory: number;
  /** `max.block.ms`: how long `append`/`send` may wait for memory. Default 60000. */
  maxBlockMs: number;
  /** `delivery.timeout.ms`: upper bound from append to success or failure. Default 120000. */
  deliveryTimeoutMs: number;
  /** `request.timeout.ms`: how long to wait for a broker's answer. Default 30000. */
  requestTimeoutMs: number;
  /** `retry.backoff.ms`: first retry backoff. Default 100. */
  retryBackoffMs: number;
  /** `retry.backoff.max.ms`: cap of the exponential backoff (KIP-580). Default 1000. */
  retryBackoffMaxMs: number;
  /** `retries`: how many times a retriable failure is retried. Default 2147483647. */
  retries: number;
  /** `max.request.size`: largest request, and largest record. Default 1048576. */
  maxRequestSize: number;
  /** `max.in.flight.requests.per.connection`. Default 5. */
  maxInFlightRequestsPerConnection: number;
  /** `enable.idempotence`. Default true. */
  enableIdempotence: boolean;
  /** `acks`: 0, 1 or -1 (`all`). Default -1. */
  acks: 0 | 1 | -1;
  /** `compression.type`. Default `none`. */
  compressionType: CompressionName;
  /** `compression.gzip.level` (1..9, -1 = zlib default). Default -1. */
  compressionGzipLevel: number;
  /** `compression.lz4.level` (1..17). Default 9. */
  compressionLz4Level: number;
  /** `compression.zstd.level` (-131072..22). Default 3. */
  compressionZstdLevel: number;
  /** Seal workers: 0 = seal inline on the caller's thread, a number = that many piscina threads, 'auto' = decide. */
  sealWorkers: number | 'auto';
  /** `metadata.max.age.ms`: refresh metadata at least this often. Default 300000. */
  metadataMaxAgeMs: number;
  /** `allow.auto.create.topics`: let brokers create unknown topics named in metadata requests. Default true. */
  allowAutoCreateTopics: boolean;
  /**
   * `bootstrap.servers`: `host:port` of brokers to start from (a list, or one comma-separated
   * string). Empty (the default): the embedded in-memory cluster.
   */
  bootstrapServers: string[];
  /** `client.id`: sent with every request, for broker logs and quotas. Default '' = `sluice-producer-<n>`. */
  clientId: string;
  /** `reconnect.backoff.ms`: first wait before reconnecting to a broker. Default 50. */
  reconnectBackoffMs: number;
  /** `reconnect.backoff.max.ms`: cap of the exponential reconnect backoff. Default 1000. */
  reconnectBackoffMaxMs: number;
  /** `socket.connection.setup.timeout.ms`: first bound on connecting and setting a connection up (KIP-601). Default 10000. */
  socketConnectionSetupTimeoutMs: number;
  /** `socket.connection.setup.timeout.max.ms`: cap of that bound as attempts fail. Default 30000. */
  socketConnectionSetupTimeoutMaxMs: number;
  /** `connections.max.idle.ms`: close connections idle this long. Default 540000. */
  connectionsMaxIdleMs: number;
  /** `client.dns.lookup`: `use_all_dns_ips` (default: every address of a name is tried) or `resolve_canonical_bootstrap_servers_only`. */
  clientDnsLookup: 'use_all_dns_ips' | 'resolve_canonical_bootstrap_servers_only';
  /** `security.protocol`: `PLAINTEXT` (default), `SSL`, `SASL_PLAINTEXT` or `SASL_SSL`. */
  securityProtocol: 'PLAINTEXT' | 'SSL' | 'SASL_PLAINTEXT' | 'SASL_SSL';
  /** `ssl.ca.location`: PEM file of the CA certificate(s) to trust; '' = Node's default CAs. */
  sslCaLocation: string;
  /** `ssl.ca.pem` (also Kafka's `ssl.truststore.certificates` with `ssl.truststore.type=PEM`): CA certificate(s) as PEM text. */
  sslCaPem: string;
  /** `ssl.certificate.location`: PEM file of the client certificate (mutual TLS). */
  sslCertificateLocation: string;
  /** `ssl.certificate.pem` (Kafka: `ssl.keystore.certificate.chain`): the client certificate as PEM text. */
  sslCertificatePem: string;
  /** `ssl.key.location`: PEM file of the client's private key. */
  sslKeyLocation: string;
  /** `ssl.key.pem` (Kafka: `ssl.keystore.key`): the client's private key as PEM text. */
  sslKeyPem: Secret;
  /** `ssl.key.password`: passphrase of an encrypted private key. */
  sslKeyPassword: Secret;
  /** `ssl.endpoint.identification.algorithm`: `https` (default) checks the broker's host name against its certificate; '' does not. */
  sslEndpointIdentificationAlgorithm: 'https' | '';
  /** `ssl.enabled.protocols`: TLS versions to allow. Default TLSv1.2, TLSv1.3. */
  sslEnabledProtocols: string[];
  /** `sasl.mechanism`: `PLAIN`, `SCRAM-SHA-256`, `SCRAM-SHA-512`, `OAUTHBEARER` (`GSSAPI`, Kafka's default, is not supported). */
  saslMechanism: string;
  /** `sasl.username` (librdkafka's name; or `username="…"` in `sasl.jaas.config`). */
  saslUsername: string;
  /** `sasl.password` (librdkafka's name; or `password="…"` in `sasl.jaas.config`). */
  saslPassword: Secret;
  /** `sasl.jaas.config`: Kafka's JAAS line; Sluice reads `username` and `password` from it. */
  saslJaasConfig: Secret;
}

/** A whole-number setting: a number, or a numeric string (as a properties file gives it). */
export type IntSetting = number | `${number}`;
/** A boolean setting: true/false, or the strings a properties file gives. */
export type BoolSetting = boolean | 'true' | 'false';
/** `acks`: 0, 1, -1 / `all`, as numbers or strings. */
export type AcksSetting = 0 | 1 | -1 | 'all' | '0' | '1' | '-1';
/** A list setting: an array of strings, or one comma-separated string. */
export type ListSetting = readonly string[] | string;
/** A secret setting: a string, or a {@link Secret}. */
export type SecretSetting = string | Secret;

/** The value type each setting takes, by its camelCase name (the runtime check is {@link resolveConfig}). */
export interface ProducerSettingTypes {
  batchSize: IntSetting;
  lingerMs: IntSetting;
  bufferMemory: IntSetting;
  maxBlockMs: IntSetting;
  deliveryTimeoutMs: IntSetting;
  requestTimeoutMs: IntSetting;
  retryBackoffMs: IntSetting;
  retryBackoffMaxMs: IntSetting;
  retries: IntSetting;
  maxRequestSize: IntSetting;
  maxInFlightRequestsPerConnection: IntSetting;
  enableIdempotence: BoolSetting;
  acks: AcksSetting;
  compressionType: CompressionName;
  compressionGzipLevel: IntSetting;
  compressionLz4Level: IntSetting;
  compressionZstdLevel: IntSetting;
  sealWorkers: IntSetting | 'auto';
  metadataMaxAgeMs: IntSetting;
  allowAutoCreateTopics: BoolSetting;
  bootstrapServers: ListSetting;
  clientId: string;
  reconnectBackoffMs: IntSetting;
  reconnectBackoffMaxMs: IntSetting;
  socketConnectionSetupTimeoutMs: IntSetting;
  socketConnectionSetupTimeoutMaxMs: IntSetting;
  connectionsMaxIdleMs: IntSetting;
  clientDnsLookup: 'use_all_dns_ips' | 'resolve_canonical_bootstrap_servers_only';
  securityProtocol: 'PLAINTEXT' | 'SSL' | 'SASL_PLAINTEXT' | 'SASL_SSL';
  sslCaLocation: string;
  sslCaPem: string;
  sslCertificateLocation: string;
  sslCertificatePem: string;
  sslKeyLocation: string;
  sslKeyPem: SecretSetting;
  sslKeyPassword: SecretSetting;
  sslEndpointIdentificationAlgorithm: 'https' | '';
  sslEnabledProtocols: ListSetting;
  saslMechanism: 'GSSAPI' | 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512' | 'OAUTHBEARER';
  saslUsername: string;
  saslPassword: SecretSetting;
  saslJaasConfig: SecretSetting;
}

/** Each setting's Kafka name, by its camelCase name. */
export interface ProducerSettingKafkaNames {
  batchSize: 'batch.size';
  lingerMs: 'linger.ms';
  bufferMemory: 'buffer.memory';
  maxBlockMs: 'max.block.ms';
  deliveryTimeoutMs: 'delivery.timeout.ms';
  requestTimeoutMs: 'request.timeout.ms';
  retryBackoffMs: 'retry.backoff.ms';
  retryBackoffMaxMs: 'retry.backoff.max.ms';
  retries: 'retries';
  maxRequestSize: 'max.request.size';
  maxInFlightRequestsPerConnection: 'max.in.flight.requests.per.connection';
  enableIdempotence: 'enable.idempotence';
  acks: 'acks';
  compressionType: 'compression.type';
  compressionGzipLevel: 'compression.gzip.level';
  compressionLz4Level: 'compression.lz4.level';
  compressionZstdLevel: 'compression.zstd.level';
  sealWorkers: 'seal.workers';
  metadataMaxAgeMs: 'metadata.max.age.ms';
  allowAutoCreateTopics: 'allow.auto.create.topics';
  bootstrapServers: 'bootstrap.servers';
  clientId: 'client.id';
  reconnectBackoffMs: 'reconnect.backoff.ms';
  reconnectBackoffMaxMs: 'reconnect.backoff.max.ms';
  socketConnectionSetupTimeoutMs: 'socket.connection.setup.timeout.ms';
  socketConnectionSetupTimeoutMaxMs: 'socket.connection.setup.timeout.max.ms';
  connectionsMaxIdleMs: 'connections.max.idle.ms';
  clientDnsLookup: 'client.dns.lookup';
  securityProtocol: 'security.protocol';
  sslCaLocation: 'ssl.ca.location';
  sslCaPem: 'ssl.ca.pem';
  sslCertificateLocation: 'ssl.certificate.location';
  sslCertificatePem: 'ssl.certificate.pem';
  sslKeyLocation: 'ssl.key.location';
  sslKeyPem: 'ssl.key.pem';
  sslKeyPassword: 'ssl.key.password';
  sslEndpointIdentificationAlgorithm: 'ssl.endpoint.identification.algorithm';
  sslEnabledProtocols: 'ssl.enabled.protocols';
  saslMechanism: 'sasl.mechanism';
  saslUsername: 'sasl.username';
  saslPassword: 'sasl.password';
  saslJaasConfig: 'sasl.jaas.config';
}

/** Kafka's own (Java) names Sluice takes as aliases, with the setting each stands for. */
interface KafkaAliasSettings {
  readonly 'ssl.truststore.certificates'?: string;
  readonly 'ssl.keystore.certificate.chain'?: string;
  readonly 'ssl.keystore.key'?: SecretSetting;
}

/**
 * What callers pass: any subset, under camelCase or Kafka dotted names. Typed: a misspelled
 * name (`'lingerr.ms'`) or a value of the wrong kind (`acks: 'two'`) is a compile error — and,
 * for input built at run time (a properties file), a {@link ConfigError} from
 * {@link resolveConfig}. Numbers may come as numeric strings.
 */
export type ProducerConfigInput = { readonly [K in keyof ProducerSettingTypes]?: ProducerSettingTypes[K] } & {
  readonly [K in keyof ProducerSettingTypes as ProducerSettingKafkaNames[K]]?: ProducerSettingTypes[K];
} & KafkaAliasSettings;

/** Settings built at run time (parsed from a file or a command line): checked by {@link resolveConfig} only. */
export type ProducerConfigMap = { readonly [name: string]: unknown };

type Kind = 'int' | 'bool' | 'acks' | 'compression' | 'workers' | 'string' | 'list' | 'enum' | 'secret';
interface Spec {
  key: keyof ProducerConfig;
  kafka: string;
  kind: Kind;
  min?: number;
  max?: number;
  /** The values an `enum` setting takes. */
  values?: readonly string[];
  def: ProducerConfig[keyof ProducerConfig];
}

const INT_MAX = 2147483647;
const SPECS: readonly Spec[] = [
  { key: 'batchSize', kafka: 'batch.size', kind: 'int', min: 128, max: 64 * 1024 * 1024, def: 16384 },
  { key: 'lingerMs', kafka: 'linger.ms', kind: 'int', min: 0, max: INT_MAX, def: 5 },
  { key: 'bufferMemory', kafka: 'buffer.memory', kind: 'int', min: 1024, max: 2 ** 31 - 1, def: 32 * 1024 * 1024 },
  { key: 'maxBlockMs', kafka: 'max.block.ms', kind: 'int', min: 0, max: INT_MAX, def: 60000 },
  { key: 'deliveryTimeoutMs', kafka: 'delivery.timeout.ms', kind: 'int', min: 0, max: INT_MAX, def: 120000 },
  { key: 'requestTimeoutMs', kafka: 'request.timeout.ms', kind: 'int', min: 0, max: INT_MAX, def: 30000 },
  { key: 'retryBackoffMs', kafka: 'retry.backoff.ms', kind: 'int', min: 0, max: INT_MAX, def: 100 },
  { key: 'retryBackoffMaxMs', kafka: 'retry.backoff.max.ms', kind: 'int', min: 0, max: INT_MAX, def: 1000 },
  { key: 'retries', kafka: 'retries', kind: 'int', min: 0, max: INT_MAX, def: INT_MAX },
  { key: 'maxRequestSize', kafka: 'max.request.size', kind: 'int', min: 128, max: INT_MAX, def: 1048576 },
  { key: 'maxInFlightRequestsPerConnection', kafka: 'max.in.flight.requests.per.connection', kind: 'int', min: 1, max: 1000, def: 5 },
  { key: 'enableIdempotence', kafka: 'enable.idempotence', kind: 'bool', def: true },
  { key: 'acks', kafka: 'acks', kind: 'acks', def: -1 },
  { key: 'compressionType', kafka: 'compression.type', kind: 'compression', def: 'none' },
  { key: 'compressionGzipLevel', kafka: 'compression.gzip.level', kind: 'int', min: -1, max: 9, def: -1 },
  { key: 'compressionLz4Level', kafka: 'compression.lz4.level', kind: 'int', min: 1, max: 17, def: 9 },
  { key: 'compressionZstdLevel', kafka: 'compression.zstd.level', kind: 'int', min: -131072, max: 22, def: 3 },
  { key: 'sealWorkers', kafka: 'seal.workers', kind: 'workers', min: 0, max: 256, def: 'auto' },
  { key: 'metadataMaxAgeMs', kafka: 'metadata.max.age.ms', kind: 'int', min: 0, max: INT_MAX, def: 300000 },
  { key: 'allowAutoCreateTopics', kafka: 'allow.auto.create.topics', kind: 'bool', def: true },
  { key: 'bootstrapServers', kafka: 'bootstrap.servers', kind: 'list', def: [] },
  { key: 'clientId', kafka: 'client.id', kind: 'string', def: '' },
  { key: 'reconnectBackoffMs', kafka: 'reconnect.backoff.ms', kind: 'int', min: 0, max: INT_MAX, def: 50 },
  { key: 'reconnectBackoffMaxMs', kafka: 'reconnect.backoff.max.ms', kind: 'int', min: 0, max: INT_MAX, def: 1000 },
  { key: 'socketConnectionSetupTimeoutMs', kafka: 'socket.connection.setup.timeout.ms', kind: 'int', min: 1, max: INT_MAX, def: 10000 },
  { key: 'socketConnectionSetupTimeoutMaxMs', kafka: 'socket.connection.setup.timeout.max.ms', kind: 'int', min: 1, max: INT_MAX, def: 30000 },
  { key: 'connectionsMaxIdleMs', kafka: 'connections.max.idle.ms', kind: 'int', min: -1, max: INT_MAX, def: 540000 },
  {
    key: 'clientDnsLookup',
    kafka: 'client.dns.lookup',
    kind: 'enum',
    values: ['use_all_dns_ips', 'resolve_canonical_bootstrap_servers_only'],
    def: 'use_all_dns_ips',
  },
  { key: 'securityProtocol', kafka: 'security.protocol', kind: 'enum', values: ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'], def: 'PLAINTEXT' },
  { key: 'sslCaLocation', kafka: 'ssl.ca.location', kind: 'string', def: '' },
  { key: 'sslCaPem', kafka: 'ssl.ca.pem', kind: 'string', def: '' },
  { key: 'sslCertificateLocation', kafka: 'ssl.certificate.location', kind: 'string', def: '' },
  { key: 'sslCertificatePem', kafka: 'ssl.certificate.pem', kind: 'string', def: '' },
  { key: 'sslKeyLocation', kafka: 'ssl.key.location', kind: 'string', def: '' },
  { key: 'sslKeyPem', kafka: 'ssl.key.pem', kind: 'secret', def: new Secret('') },
  { key: 'sslKeyPassword', kafka: 'ssl.key.password', kind: 'secret', def: new Secret('') },
  { key: 'sslEndpointIdentificationAlgorithm', kafka: 'ssl.endpoint.identification.algorithm', kind: 'enum', values: ['https', ''], def: 'https' },
  { key: 'sslEnabledProtocols', kafka: 'ssl.enabled.protocols', kind: 'list', def: ['TLSv1.2', 'TLSv1.3'] },
  { key: 'saslMechanism', kafka: 'sasl.mechanism', kind: 'enum', values: ['GSSAPI', 'PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'OAUTHBEARER'], def: 'GSSAPI' },
  { key: 'saslUsername', kafka: 'sasl.username', kind: 'string', def: '' },
  { key: 'saslPassword', kafka: 'sasl.password', kind: 'secret', def: new Secret('') },
  { key: 'saslJaasConfig', kafka: 'sasl.jaas.config', kind: 'secret', def: new Secret('') },
];

/**
 * Kafka's (Java) names that mean the same as one of Sluice's: accepted as aliases.
 * `ssl.truststore.certificates` / `ssl.keystore.certificate.chain` / `ssl.keystore.key` are
 * Kafka's PEM forms (with `ssl.truststore.type` / `ssl.keystore.type` = PEM).
 */
const ALIASES: Readonly<Record<string, keyof ProducerConfig>> = Object.freeze({
  'ssl.truststore.certificates': 'sslCaPem',
  'ssl.keystore.certificate.chain': 'sslCertificatePem',
  'ssl.keystore.key': 'sslKeyPem',
});

const BY_NAME = new Map<string, Spec>();
for (const s of SPECS) {
  BY_NAME.set(s.key, s);
  BY_NAME.set(s.kafka, s);
}
for (const [alias, key] of Object.entries(ALIASES)) BY_NAME.set(alias, SPECS.find((s) => s.key === key)!);

/** Kafka (Java) settings Sluice does not take, with what to use instead. */
const NOT_TAKEN: Readonly<Record<string, string>> = Object.freeze({
  'ssl.truststore.location':
    'Java keystores are not read by Sluice: export the CA certificate as PEM (keytool -exportcert -rfc -keystore <truststore> -alias <alias>) and set ssl.ca.location',
  'ssl.keystore.location':
    'Java keystores are not read by Sluice: export the client certificate and key as PEM and set ssl.certificate.location and ssl.key.location',
  'sasl.kerberos.service.name': 'GSSAPI (Kerberos) is not supported; use PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER',
  'transactional.id': 'transactions are not supported by Sluice (an idempotent producer needs no transactional.id)',
});

/** Every setting's camelCase name, Kafka name and default, for docs and `--help`. */
export const CONFIG_SPECS: readonly { readonly name: keyof ProducerConfig; readonly kafkaName: string; readonly defaultValue: unknown }[] =
  SPECS.map((s) => ({ name: s.key, kafkaName: s.kafka, defaultValue: s.def }));

function bad(s: Spec, name: string, raw: unknown, why: string): never {
  throw new ConfigError(`${name === s.kafka ? name : `${name} (${s.kafka})`}: ${why}, got ${JSON.stringify(raw) ?? String(raw)}`);
}

function parseInt32(s: Spec, name: string, raw: unknown): number {
  const n = typeof raw === 'string' && /^\s*-?\d+\s*$/.test(raw) ? Number(raw) : raw;
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) bad(s, name, raw, 'must be an integer');
  if (s.min !== undefined && n < s.min) bad(s, name, raw, `must be >= ${s.min}`);
  if (s.max !== undefined && n > s.max) bad(s, name, raw, `must be <= ${s.max}`);
  return n;
}

function parse(s: Spec, name: string, raw: unknown): ProducerConfig[keyof ProducerConfig] {
  switch (s.kind) {
    case 'int':
      return parseInt32(s, name, raw);
    case 'bool':
      if (raw === true || raw === 'true') return true;
      if (raw === false || raw === 'false') return false;
      return bad(s, name, raw, 'must be true or false');
    case 'acks':
      if (raw === 'all' || raw === -1 || raw === '-1') return -1;
      if (raw === 0 || raw === '0') return 0;
      if (raw === 1 || raw === '1') return 1;
      return bad(s, name, raw, 'must be one of all, -1, 0, 1');
    case 'compression':
      if (isCompressionName(raw)) return raw;
      return bad(s, name, raw, 'must be one of none, gzip, snappy, lz4, zstd');
    case 'workers':
      if (raw === 'auto') return 'auto';
      return parseInt32(s, name, raw);
    case 'string':
      if (typeof raw === 'string') return raw;
      return bad(s, name, raw, 'must be a string');
    case 'list': {
      const items = typeof raw === 'string' ? raw.split(',') : Array.isArray(raw) ? raw : null;
      if (items === null || !items.every((x) => typeof x === 'string')) return bad(s, name, raw, 'must be a list of strings or one comma-separated string');
      return (items as string[]).map((x) => x.trim()).filter((x) => x.length > 0);
    }
    case 'secret':
      if (raw instanceof Secret) return raw;
      if (typeof raw === 'string') return new Secret(raw);
      return bad(s, name, '[hidden]', 'must be a string');
    case 'enum': {
      const v = typeof raw === 'string' ? s.values!.find((x) => x.toLowerCase() === raw.trim().toLowerCase()) : undefined;
      if (v === undefined) return bad(s, name, raw, `must be one of ${s.values!.join(', ')}`);
      return v as ProducerConfig[keyof ProducerConfig];
    }
  }
}

/**
 * Resolves and validates a configuration.
 * @param input - settings by camelCase or Kafka name; later duplicates of the same setting win
 * @returns every setting, defaults filled in
 * @throws ConfigError for an unknown name, a bad value, or settings that contradict each other
 *   (`delivery.timeout.ms` < `linger.ms` + `request.timeout.ms`, `buffer.memory` < `batch.size`,
 *   `retry.backoff.max.ms` < `retry.backoff.ms`)
 */
export function resolveConfig(input: ProducerConfigInput | ProducerConfigMap = {}): ProducerConfig {
  const out: Record<string, unknown> = {};
  for (const s of SPECS) out[s.key] = s.def;
  const given = input as ProducerConfigMap;
  for (const name of Object.keys(given)) {
    const raw = given[name];
    if (raw === undefined) continue;
    const spec = BY_NAME.get(name);
    if (spec === undefined) {
      const instead = NOT_TAKEN[name];
      if (instead !== undefined) throw new ConfigError(`${name}: ${instead}`);
      throw new ConfigError(`unknown setting ${JSON.stringify(name)}; known: ${SPECS.map((s) => s.kafka).join(', ')}`);
    }
    out[spec.key] = parse(spec, name, raw);
  }
  const c = out as unknown as ProducerConfig;
  if (c.deliveryTimeoutMs < c.lingerMs + c.requestTimeoutMs) {
    throw new ConfigError(
      `delivery.timeout.ms (${c.deliveryTimeoutMs}) must be >= linger.ms (${c.lingerMs}) + request.timeout.ms (${c.requestTimeoutMs})`,
    );
  }
  if (c.bufferMemory < c.batchSize) {
    throw new ConfigError(`buffer.memory (${c.bufferMemory}) must be >= batch.size (${c.batchSize})`);
  }
  if (c.retryBackoffMaxMs < c.retryBackoffMs) {
    throw new ConfigError(`retry.backoff.max.ms (${c.retryBackoffMaxMs}) must be >= retry.backoff.ms (${c.retryBackoffMs})`);
  }
  if (c.reconnectBackoffMaxMs < c.reconnectBackoffMs) {
    throw new ConfigError(`reconnect.backoff.max.ms (${c.reconnectBackoffMaxMs}) must be >= reconnect.backoff.ms (${c.reconnectBackoffMs})`);
  }
  if (c.socketConnectionSetupTimeoutMaxMs < c.socketConnectionSetupTimeoutMs) {
    throw new ConfigError(
      `socket.connection.setup.timeout.max.ms (${c.socketConnectionSetupTimeoutMaxMs}) must be >= socket.connection.setup.timeout.ms (${c.socketConnectionSetupTimeoutMs})`,
    );
  }
  return c;
}
