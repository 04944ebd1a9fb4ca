/**
 * How sluice-perf takes the producer settings of a `kafka-producer-perf-test` command line or
 * `--producer.config` file, so that the same lines and files work unchanged:
 *
 * | the setting is                                        | sluice-perf                                   |
 * |-------------------------------------------------------|-----------------------------------------------|
 * | one Sluice's producer has (`batch.size`, `acks`, `ssl.*`, `sasl.*` …, or its camelCase name) | passed to the producer, which checks it |
 * | `bootstrap.servers`                                   | the target broker (`--bootstrap-server` wins, as in Kafka) |
 * | `transactional.id`                                    | an error: transactions are not supported       |
 * | a Java class or JVM concern (`key.serializer`, `value.serializer`, `partitioner.class`, `metric.reporters` …) | accepted, one note on stderr: does not apply |
 * | another Kafka 4.4 producer setting Sluice lacks (`send.buffer.bytes`, `partitioner.ignore.keys` …) | accepted, one note on stderr: not implemented, ignored |
 * | anything else                                          | an error naming the closest known setting     |
 *
 * Kafka's list is `ProducerConfig.configNames()` of kafka-clients 4.4.0. Values are never
 * printed by these notes or errors where the name looks secret (passwords, JAAS lines, keys,
 * tokens): {@link redactValue}.
 */
import { CONFIG_SPECS } from '@sluice/core';
import { closestName } from './closest-name.js';

/** Settings whose value is a Java class or a JVM facility: meaningless outside the JVM. */
export const JAVA_ONLY_SETTINGS: ReadonlySet<string> = new Set([
  'key.serializer',
  'value.serializer',
  'partitioner.class',
  'interceptor.classes',
  'metric.reporters',
  'metrics.num.samples',
  'metrics.recording.level',
  'metrics.sample.window.ms',
  'auto.include.jmx.reporter',
  'enable.metrics.push',
  'config.providers',
  'security.providers',
  'sasl.client.callback.handler.class',
  'sasl.login.callback.handler.class',
  'sasl.login.class',
  'sasl.oauthbearer.jwt.retriever.class',
  'sasl.oauthbearer.jwt.validator.class',
  'ssl.engine.factory.class',
  'ssl.provider',
  'ssl.keymanager.algorithm',
  'ssl.trustmanager.algorithm',
  'ssl.secure.random.implementation',
  'ssl.truststore.type',
  'ssl.keystore.type',
  'buffer.memory.allocation.strategy',
]);

/** Every producer setting of Kafka 4.4 (`ProducerConfig.configNames()`). */
export const KAFKA_PRODUCER_SETTINGS: ReadonlySet<string> = new Set(
  (
    'acks batch.size bootstrap.resolve.timeout.ms bootstrap.servers buffer.memory buffer.memory.allocation.strategy client.dns.lookup ' +
    'client.id client.rack compression.gzip.level compression.lz4.level compression.type compression.zstd.level config.providers ' +
    'connections.max.idle.ms delivery.timeout.ms enable.idempotence enable.metrics.push interceptor.classes key.serializer linger.ms ' +
    'max.block.ms max.in.flight.requests.per.connection max.request.size metadata.cluster.check.enable metadata.max.age.ms ' +
    'metadata.max.idle.ms metadata.recovery.rebootstrap.trigger.ms metadata.recovery.strategy metric.reporters metrics.num.samples ' +
    'metrics.recording.level metrics.sample.window.ms partitioner.adaptive.partitioning.enable partitioner.availability.timeout.ms ' +
    'partitioner.class partitioner.ignore.keys partitioner.rack.aware receive.buffer.bytes reconnect.backoff.max.ms reconnect.backoff.ms ' +
    'request.timeout.ms retries retry.backoff.max.ms retry.backoff.ms sasl.client.callback.handler.class sasl.jaas.config ' +
    'sasl.kerberos.kinit.cmd sasl.kerberos.min.time.before.relogin sasl.kerberos.service.name sasl.kerberos.ticket.renew.jitter ' +
    'sasl.kerberos.ticket.renew.window.factor sasl.login.callback.handler.class sasl.login.class sasl.login.connect.timeout.ms ' +
    'sasl.login.read.timeout.ms sasl.login.refresh.buffer.seconds sasl.login.refresh.min.period.seconds sasl.login.refresh.window.factor ' +
    'sasl.login.refresh.window.jitter sasl.login.retry.backoff.max.ms sasl.login.retry.backoff.ms sasl.mechanism ' +
    'sasl.oauthbearer.allow.unverified.audience sasl.oauthbearer.allow.unverified.issuer sasl.oauthbearer.assertion.algorithm ' +
    'sasl.oauthbearer.assertion.claim.aud sasl.oauthbearer.assertion.claim.exp.seconds sasl.oauthbearer.assertion.claim.iss ' +
    'sasl.oauthbearer.assertion.claim.jti.include sasl.oauthbearer.assertion.claim.nbf.seconds sasl.oauthbearer.assertion.claim.sub ' +
    'sasl.oauthbearer.assertion.file sasl.oauthbearer.assertion.private.key.file sasl.oauthbearer.assertion.private.key.passphrase ' +
    'sasl.oauthbearer.assertion.template.file sasl.oauthbearer.client.credentials.client.id sasl.oauthbearer.client.credentials.client.secret ' +
    'sasl.oauthbearer.clock.skew.seconds sasl.oauthbearer.expected.audience sasl.oauthbearer.expected.issuer sasl.oauthbearer.header.urlencode ' +
    'sasl.oauthbearer.jwks.endpoint.refresh.ms sasl.oauthbearer.jwks.endpoint.retry.backoff.max.ms sasl.oauthbearer.jwks.endpoint.retry.backoff.ms ' +
    'sasl.oauthbearer.jwks.endpoint.url sasl.oauthbearer.jwt.retriever.class sasl.oauthbearer.jwt.validator.class sasl.oauthbearer.scope ' +
    'sasl.oauthbearer.scope.claim.name sasl.oauthbearer.sub.claim.name sasl.oauthbearer.token.endpoint.url security.protocol ' +
    'security.providers send.buffer.bytes socket.connection.setup.timeout.max.ms socket.connection.setup.timeout.ms ssl.cipher.suites ' +
    'ssl.enabled.protocols ssl.endpoint.identification.algorithm ssl.engine.factory.class ssl.key.password ssl.keymanager.algorithm ' +
    'ssl.keystore.certificate.chain ssl.keystore.key ssl.keystore.location ssl.keystore.password ssl.keystore.type ssl.protocol ' +
    'ssl.provider ssl.secure.random.implementation ssl.trustmanager.algorithm ssl.truststore.certificates ssl.truststore.location ' +
    'ssl.truststore.password ssl.truststore.type transaction.timeout.ms transaction.two.phase.commit.enable transactional.id value.serializer'
  ).split(' '),
);

/**
 * Kafka names that Sluice's config takes as they are, beyond its own settings: its aliases
 * (Kafka's PEM forms) and the Java settings it rejects with a reason of its own (keystores,
 * Kerberos), so that its message reaches the user.
 */
const PASSED_TO_PRODUCER = new Set([
  'ssl.truststore.certificates',
  'ssl.keystore.certificate.chain',
  'ssl.keystore.key',
  'ssl.truststore.location',
  'ssl.keystore.location',
  'sasl.kerberos.service.name',
]);

/** Settings that name the connection, not the producer. */
export const CONNECTION_SETTINGS: ReadonlySet<string> = new Set(['bootstrap.servers', 'bootstrapServers']);

const SLUICE_NAMES = new Set<string>();
for (const s of CONFIG_SPECS) {
  SLUICE_NAMES.add(s.name);
  SLUICE_NAMES.add(s.kafkaName);
}

/** What to do with one setting; see the file comment. */
export type SettingKind = 'producer' | 'connection' | 'transactional' | 'java-only' | 'not-implemented' | 'unknown';

/** Classifies one setting name. */
export function classifySetting(name: string): SettingKind {
  if (CONNECTION_SETTINGS.has(name)) return 'connection';
  if (name === 'transactional.id' || name === 'transactionalId') return 'transactional';
  if (SLUICE_NAMES.has(name) || PASSED_TO_PRODUCER.has(name)) return 'producer';
  if (JAVA_ONLY_SETTINGS.has(name)) return 'java-only';
  if (KAFKA_PRODUCER_SETTINGS.has(name)) return 'not-implemented';
  return 'unknown';
}

/** The closest setting name a user may have meant (Sluice's and Kafka's), or null. */
export function suggestSetting(name: string): string | null {
  return closestName(name, [...SLUICE_NAMES].filter((n) => n.includes('.')).concat([...KAFKA_PRODUCER_SETTINGS]));
}

/** The message for `transactional.id` / `--transactional-id` / `--transaction-duration-ms`. */
export function transactionsNotSupported(where: string): string {
  return (
    `${where}: transactions are not supported by Sluice (its producer is idempotent, without transactional.id); ` +
    `drop ${where.startsWith('--transaction') ? where : 'transactional.id'} to measure the idempotent producer`
  );
}

const SECRET_NAME = /password|secret|passphrase|jaas|token|(^|\.)key(\.pem)?$|keystore\.key|credentials/i;

/** Whether a setting's value must never be printed. */
export function isSecretSetting(name: string): boolean {
  return SECRET_NAME.test(name);
}

/** The value as it may be printed: `[hidden]` for a secret setting. */
export function redactValue(name: string, value: string): string {
  return isSecretSetting(name) ? '[hidden]' : value;
}

/** The notes for settings that were accepted but do nothing here (one line per kind). */
export function settingNotes(names: Iterable<string>): string[] {
  const javaOnly: string[] = [];
  const notImplemented: string[] = [];
  for (const n of names) {
    const kind = classifySetting(n);
    if (kind === 'java-only') javaOnly.push(n);
    else if (kind === 'not-implemented') notImplemented.push(n);
  }
  const out: string[] = [];
  if (javaOnly.length > 0) {
    out.push(`note: ${javaOnly.join(', ')} ${javaOnly.length === 1 ? 'does' : 'do'} not apply to Sluice (Java classes or JVM settings; Sluice sends the records' bytes as they are)`);
  }
  if (notImplemented.length > 0) {
    out.push(`note: ${notImplemented.join(', ')} ${notImplemented.length === 1 ? 'is a Kafka producer setting' : 'are Kafka producer settings'} Sluice does not implement; ignored`);
  }
  return out;
}
