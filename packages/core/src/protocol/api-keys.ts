/**
 * The Kafka APIs a producer speaks (and CreateTopics, which only tools send), the version range
 * Sluice encodes and decodes for each, the first flexible version of each (KIP-482), and version
 * negotiation against the range a broker advertises in its ApiVersions response.
 *
 * | API              | key | Sluice | flexible from | Kafka 4.x accepts | librdkafka 2.0.2 mock |
 * |------------------|-----|--------|---------------|-------------------|-----------------------|
 * | Produce          |   0 | 3–12   | 9             | 3–12 (later: –13) | 0–7                   |
 * | Metadata         |   3 | 0–12   | 9             | 0–13              | 0–2                   |
 * | SaslHandshake    |  17 | 0–1    | never         | 0–1               | —                     |
 * | ApiVersions      |  18 | 0–4    | 3             | 0–4               | 0–2                   |
 * | CreateTopics     |  19 | 2–7    | 5             | 2–7               | not checked           |
 * | InitProducerId   |  22 | 0–5    | 2             | 0–5 (later: –6)   | 0–4                   |
 * | SaslAuthenticate |  36 | 0–2    | 2             | 0–2               | —                     |
 *
 * Why these bounds:
 * - Produce starts at v3, the first version that carries RecordBatch v2 (message format v2,
 *   KIP-98) — the only format Sluice writes — and the floor Kafka 4.0 enforces (KIP-896
 *   removed v0–v2). A 4.x broker still *advertises* Produce from v0 because librdkafka's
 *   compressed produce broke otherwise (KAFKA-18659), but it closes the connection on v0–v2;
 *   negotiation never picks them because Sluice's floor is 3. Produce stops at v12: v13
 *   (after 4.0, KIP-516) names topics by id instead of name.
 * - Metadata keeps v0: KIP-896 planned to drop v0–v3 but Kafka 4.0 restored them because
 *   kafka-python still sends v0 (KAFKA-18648, KAFKA-18663). It stops at v12: v13 (KIP-1102)
 *   only adds a top-level error code. The librdkafka 2.0.2 mock broker answers Metadata up to
 *   v2 only, so v0–v2 must work.
 * - InitProducerId stops at v5 (KIP-890 error codes); v6 adds two-phase commit fields
 *   (KIP-939). ApiVersions v0–v4, SaslHandshake v0–v1, SaslAuthenticate v0–v2 are every
 *   version Kafka defines; KIP-896 removed none of them (SaslHandshake v0 stays for
 *   kafka-python, KAFKA-18270).
 * - CreateTopics is not a producer request: `sluice-perf` and the test brokers create topics
 *   with it. v2–v7 is what Kafka 4.x serves (KIP-896 removed v0–v1).
 *
 * Sources: Kafka's `clients/src/main/resources/common/message/*.json` (`validVersions`,
 * `flexibleVersions`), `ApiKeys.PRODUCE_API_VERSIONS_RESPONSE_MIN_VERSION`, librdkafka
 * v2.0.2 `src/rdkafka_mock_handlers.c` (`rd_kafka_mock_api_handlers`).
 */
import { ProtocolError } from '../errors.js';

/** API keys (Kafka's `ApiKeys` ids) of the requests Sluice sends. */
export const ApiKey = Object.freeze({
  PRODUCE: 0,
  METADATA: 3,
  SASL_HANDSHAKE: 17,
  API_VERSIONS: 18,
  CREATE_TOPICS: 19,
  INIT_PRODUCER_ID: 22,
  SASL_AUTHENTICATE: 36,
} as const);

/** One of {@link ApiKey}'s values. */
export type ApiKeyValue = (typeof ApiKey)[keyof typeof ApiKey];

/** An inclusive version range. */
export interface VersionRange {
  readonly min: number;
  readonly max: number;
}

/** The versions Sluice encodes and decodes, per API (see the table in the file comment). */
export const SUPPORTED_VERSIONS: Readonly<Record<ApiKeyValue, VersionRange>> = Object.freeze({
  [ApiKey.PRODUCE]: Object.freeze({ min: 3, max: 12 }),
  [ApiKey.METADATA]: Object.freeze({ min: 0, max: 12 }),
  [ApiKey.SASL_HANDSHAKE]: Object.freeze({ min: 0, max: 1 }),
  [ApiKey.API_VERSIONS]: Object.freeze({ min: 0, max: 4 }),
  [ApiKey.CREATE_TOPICS]: Object.freeze({ min: 2, max: 7 }),
  [ApiKey.INIT_PRODUCER_ID]: Object.freeze({ min: 0, max: 5 }),
  [ApiKey.SASL_AUTHENTICATE]: Object.freeze({ min: 0, max: 2 }),
});

/** Marks an API without flexible versions. */
export const NEVER_FLEXIBLE = Number.POSITIVE_INFINITY;

/** First flexible version per API (Kafka's `flexibleVersions`); {@link NEVER_FLEXIBLE} when none. */
export const FIRST_FLEXIBLE_VERSION: Readonly<Record<ApiKeyValue, number>> = Object.freeze({
  [ApiKey.PRODUCE]: 9,
  [ApiKey.METADATA]: 9,
  [ApiKey.SASL_HANDSHAKE]: NEVER_FLEXIBLE,
  [ApiKey.API_VERSIONS]: 3,
  [ApiKey.CREATE_TOPICS]: 5,
  [ApiKey.INIT_PRODUCER_ID]: 2,
  [ApiKey.SASL_AUTHENTICATE]: 2,
});

const API_NAMES: Readonly<Record<ApiKeyValue, string>> = Object.freeze({
  [ApiKey.PRODUCE]: 'Produce',
  [ApiKey.METADATA]: 'Metadata',
  [ApiKey.SASL_HANDSHAKE]: 'SaslHandshake',
  [ApiKey.API_VERSIONS]: 'ApiVersions',
  [ApiKey.CREATE_TOPICS]: 'CreateTopics',
  [ApiKey.INIT_PRODUCER_ID]: 'InitProducerId',
  [ApiKey.SASL_AUTHENTICATE]: 'SaslAuthenticate',
});

/** Whether `apiKey` is one of the APIs Sluice speaks. */
export function isKnownApiKey(apiKey: number): apiKey is ApiKeyValue {
  return Object.hasOwn(API_NAMES, apiKey);
}

/** Kafka's name of the API, e.g. `Produce`; `ApiKey(<n>)` for a key Sluice does not speak. */
export function apiKeyName(apiKey: number): string {
  return isKnownApiKey(apiKey) ? API_NAMES[apiKey] : `ApiKey(${apiKey})`;
}

/**
 * Whether `apiVersion` of `apiKey` is a flexible version (compact encodings, tagged fields).
 * @throws ProtocolError when Sluice does not speak `apiKey`
 */
export function isFlexibleVersion(apiKey: number, apiVersion: number): boolean {
  if (!isKnownApiKey(apiKey)) throw new ProtocolError(`${apiKeyName(apiKey)} is not an API Sluice speaks`);
  return apiVersion >= FIRST_FLEXIBLE_VERSION[apiKey];
}

/**
 * Throws unless Sluice encodes and decodes `apiVersion` of `apiKey`.
 * @param what - the message, for the error, e.g. `MetadataRequest`
 * @throws ProtocolError naming the message, the version and Sluice's range
 */
export function checkSupportedVersion(apiKey: ApiKeyValue, apiVersion: number, what: string): void {
  const range = SUPPORTED_VERSIONS[apiKey];
  if (!Number.isInteger(apiVersion) || apiVersion < range.min || apiVersion > range.max) {
    throw new ProtocolError(`${what} v${apiVersion} is not supported: Sluice speaks v${range.min}-v${range.max}`);
  }
}

/**
 * The version to use for `apiKey` with a broker that advertises `brokerMin`–`brokerMax`: the
 * highest version both sides support (as Kafka's `NodeApiVersions.latestUsableVersion`).
 * @returns the highest common version
 * @throws ProtocolError when Sluice does not speak `apiKey` or the ranges do not overlap; the
 *   message names the API and both ranges
 */
export function negotiateVersion(apiKey: number, brokerMin: number, brokerMax: number): number {
  if (!isKnownApiKey(apiKey)) throw new ProtocolError(`${apiKeyName(apiKey)} is not an API Sluice speaks`);
  const ours = SUPPORTED_VERSIONS[apiKey];
  const highest = Math.min(ours.max, brokerMax);
  if (highest < ours.min || highest < brokerMin) {
    throw new ProtocolError(
      `no common version of ${API_NAMES[apiKey]} (key ${apiKey}): Sluice supports v${ours.min}-v${ours.max}, ` +
        `the broker v${brokerMin}-v${brokerMax}`,
    );
  }
  return highest;
}
