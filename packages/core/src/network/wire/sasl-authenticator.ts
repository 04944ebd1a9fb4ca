/**
 * SASL on a broker connection (`security.protocol` SASL_PLAINTEXT and SASL_SSL), as Kafka's
 * `SaslClientAuthenticator` does it (KIP-152): SaslHandshake names the mechanism, then the
 * mechanism's tokens travel in SaslAuthenticate requests until the exchange completes. The
 * mechanisms themselves are pure logic in `network/sasl/`; this file only carries tokens.
 *
 * Re-authentication (KIP-368): a broker with `connections.max.reauth.ms` answers
 * SaslAuthenticate v1+ with `session_lifetime_ms`; an OAUTHBEARER token has a lifetime of its
 * own. Before the earlier of the two ends — at 85–95 % of it, as Kafka's client picks, and
 * no sooner than a second after the last exchange (the broker's limit) — the
 * connection re-authenticates in band: it stops taking produce requests, lets those in
 * flight finish, runs the exchange again (a fresh token from the provider for OAUTHBEARER),
 * and goes on. A broker would otherwise close the connection at expiry.
 *
 * Failures are fatal and clear: a rejected credential or an unsupported mechanism becomes a
 * {@link SaslAuthenticationError} naming the mechanism and the broker (never the password or
 * token); a broker that drops the connection during the exchange is a retriable connection
 * error, retried with the reconnect backoff.
 */
import { SaslAuthenticationError, SluiceError } from '../../errors.js';
import { ApiKey } from '../../protocol/api-keys.js';
import { KafkaErrors } from '../../protocol/kafka-errors.js';
import { decodeSaslAuthenticateResponse, encodeSaslAuthenticateRequest } from '../../protocol/messages/sasl-authenticate.js';
import { SASL_HANDSHAKE_AUTHENTICATE_VERSION, decodeSaslHandshakeResponse, encodeSaslHandshakeRequest } from '../../protocol/messages/sasl-handshake.js';
import type { Secret } from '../../secret.js';
import { OAuthBearerMechanism } from '../sasl/oauthbearer.js';
import { PlainMechanism } from '../sasl/plain.js';
import type { SaslMechanism } from '../sasl/sasl-mechanism.js';
import { EMPTY_CHALLENGE } from '../sasl/sasl-mechanism.js';
import { scramSha256, scramSha512 } from '../sasl/scram.js';
import type { BrokerConnection } from './broker-connection.js';

/** The SASL mechanisms Sluice speaks. */
export type SaslMechanismName = 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512' | 'OAUTHBEARER';

/** An OAuth bearer token as a token provider returns it (Kafka `OAuthBearerToken`). */
export interface OAuthBearerToken {
  /** The token (usually a JWT). */
  readonly value: string;
  /** When it expires, in ms since the epoch; re-authentication happens before. Omitted: no expiry known. */
  readonly lifetimeMs?: number;
  /** SASL extensions (KIP-342), e.g. `{ logicalCluster: 'lkc-123' }`. */
  readonly extensions?: Readonly<Record<string, string>>;
}

/** Returns a current token (it may fetch one); called for every authentication. */
export type OAuthBearerTokenProvider = () => OAuthBearerToken | Promise<OAuthBearerToken>;

/** What authentication needs. */
export interface SaslSettings {
  readonly mechanism: SaslMechanismName;
  readonly username: string;
  readonly password: Secret;
  /** Required for OAUTHBEARER. */
  readonly tokenProvider?: OAuthBearerTokenProvider;
  /** Uniform [0, 1) source for the re-authentication point. Default `Math.random`. */
  readonly random?: () => number;
}

/** Re-authenticate at this fraction of the session lifetime, plus up to {@link REAUTH_JITTER} (Kafka: 85–95 %). */
const REAUTH_AT = 0.85;
const REAUTH_JITTER = 0.1;
/**
 * Never re-authenticate sooner than this after an authentication ends: a broker refuses a
 * re-authentication that starts within a second of the previous one's start, answering the
 * SaslHandshake with ILLEGAL_SASL_STATE (`KafkaChannel.MIN_REAUTH_INTERVAL_ONE_SECOND_NANOS`),
 * which would fail the connection as an authentication error. Counting from the end of the
 * previous exchange keeps a margin of its round trip. A session shorter than this (a
 * `connections.max.reauth.ms` under a second) then ends before it is renewed, and the broker
 * closes the connection: a retriable disconnect instead of a fatal error.
 */
const MIN_REAUTH_INTERVAL_MS = 1000;

/**
 * The `authenticate` hook of a broker connection for `settings`.
 * @returns a function that authenticates one connection (and schedules its re-authentication)
 */
export function saslAuthenticator(settings: SaslSettings): (connection: BrokerConnection) => Promise<void> {
  const random = settings.random ?? Math.random;
  return async (connection: BrokerConnection): Promise<void> => {
    const name = settings.mechanism;
    const handshakeVersion = connection.versionFor(ApiKey.SASL_HANDSHAKE);
    if (handshakeVersion < SASL_HANDSHAKE_AUTHENTICATE_VERSION) {
      throw new SaslAuthenticationError(name, `${connection.description} supports only SaslHandshake v0 (raw SASL tokens); Sluice needs v1 (Kafka 1.0+)`);
    }
    const handshake = await connection.request(ApiKey.SASL_HANDSHAKE, handshakeVersion, (h) => encodeSaslHandshakeRequest(h, name), (b) =>
      decodeSaslHandshakeResponse(b, handshakeVersion),
    );
    if (handshake.errorCode === KafkaErrors.UNSUPPORTED_SASL_MECHANISM.code) {
      throw new SaslAuthenticationError(name, `${connection.description} does not enable ${name}; it enables ${handshake.mechanisms.join(', ') || 'none'}`);
    }
    if (handshake.errorCode !== 0) {
      throw new SaslAuthenticationError(name, `${connection.description} refused the SASL handshake with error code ${handshake.errorCode}`);
    }
    let tokenLifetimeMs = Infinity;
    let mechanism: SaslMechanism;
    try {
      if (name === 'OAUTHBEARER') {
        if (settings.tokenProvider === undefined) throw new SaslAuthenticationError(name, 'no token provider (ProducerOptions.oauthBearerTokenProvider)');
        let token: OAuthBearerToken;
        try {
          token = await settings.tokenProvider();
        } catch (err) {
          throw new SaslAuthenticationError(name, `the token provider failed: ${(err as Error)?.message ?? String(err)}`);
        }
        // A token already past its expiry by our clock that the broker still accepts (clock
        // skew) would schedule re-authentication at once, with the same token, in a loop; its
        // session is then left to the broker's session_lifetime_ms, as Kafka's Java client
        // always does (it times re-authentication by the broker's answer only).
        const remainingMs = token.lifetimeMs === undefined ? Infinity : token.lifetimeMs - Date.now();
        if (remainingMs > 0) tokenLifetimeMs = remainingMs;
        mechanism = new OAuthBearerMechanism({ token: token.value, extensions: token.extensions });
      } else if (name === 'PLAIN') {
        mechanism = new PlainMechanism({ username: settings.username, password: settings.password.reveal() });
      } else {
        const make = name === 'SCRAM-SHA-256' ? scramSha256 : scramSha512;
        mechanism = make({ username: settings.username, password: settings.password.reveal() });
      }
    } catch (err) {
      throw withBroker(err, name, connection);
    }
    const version = connection.versionFor(ApiKey.SASL_AUTHENTICATE);
    let sessionLifetimeMs = 0;
    let token: Uint8Array | null;
    try {
      token = mechanism.evaluateChallenge(EMPTY_CHALLENGE);
    } catch (err) {
      throw withBroker(err, name, connection);
    }
    while (token !== null) {
      const sent = token;
      const answer = await connection.request(ApiKey.SASL_AUTHENTICATE, version, (h) => encodeSaslAuthenticateRequest(h, sent), (b) =>
        decodeSaslAuthenticateResponse(b, version),
      );
      if (answer.errorCode !== 0) {
        throw new SaslAuthenticationError(
          name,
          `${connection.description} rejected the credentials (error code ${answer.errorCode}${answer.errorMessage ? `: ${answer.errorMessage}` : ''})`,
        );
      }
      sessionLifetimeMs = answer.sessionLifetimeMs;
      if (mechanism.isComplete) break;
      try {
        token = mechanism.evaluateChallenge(answer.authBytes);
      } catch (err) {
        throw withBroker(err, name, connection);
      }
    }
    if (!mechanism.isComplete) throw new SaslAuthenticationError(name, `the exchange with ${connection.description} ended before it was complete`);
    const lifetimeMs = Math.min(sessionLifetimeMs > 0 ? sessionLifetimeMs : Infinity, tokenLifetimeMs);
    if (Number.isFinite(lifetimeMs)) {
      connection.scheduleReauthentication(Math.max(MIN_REAUTH_INTERVAL_MS, lifetimeMs * (REAUTH_AT + random() * REAUTH_JITTER)));
    }
  };
}

/** A mechanism's error, with the broker named (the mechanisms know no broker). */
function withBroker(err: unknown, mechanism: string, connection: BrokerConnection): SluiceError {
  if (err instanceof SaslAuthenticationError) {
    return new SaslAuthenticationError(mechanism, `${connection.description}: ${err.message.replace(/^SASL \S+ authentication failed: /, '')}`);
  }
  if (err instanceof SluiceError) return err;
  return new SaslAuthenticationError(mechanism, `${connection.description}: ${(err as Error)?.message ?? String(err)}`);
}
