/**
 * SASL PLAIN (RFC 4616): one client message, `authzid NUL authcid NUL passwd` in UTF-8, and
 * nothing to verify afterwards — the broker's SaslAuthenticate error code is the verdict. Kafka
 * clients send an empty authzid (`PlainSaslClient` via the JDK), so the message is
 * `\0user\0password`. Only safe over TLS: the password crosses the wire as is.
 */
import { SaslAuthenticationError } from '../../errors.js';
import type { SaslMechanism } from './sasl-mechanism.js';

/** The mechanism name. */
export const PLAIN_MECHANISM = 'PLAIN';
const NUL = '\u0000';

/** Credentials for {@link PlainMechanism}. */
export interface PlainCredentials {
  readonly username: string;
  readonly password: string;
  /** Identity to act as; empty (the default) means the username's own. */
  readonly authorizationId?: string;
}

/** The client side of SASL PLAIN. */
export class PlainMechanism implements SaslMechanism {
  readonly mechanismName = PLAIN_MECHANISM;
  #message: Uint8Array | null;
  #complete = false;

  /**
   * @throws SaslAuthenticationError when the username or password is empty or a field holds a
   *   NUL character (RFC 4616 forbids both); the message does not repeat the password
   */
  constructor(credentials: PlainCredentials) {
    const authzid = credentials.authorizationId ?? '';
    if (credentials.username === '') throw new SaslAuthenticationError(PLAIN_MECHANISM, 'the username is empty');
    if (credentials.password === '') throw new SaslAuthenticationError(PLAIN_MECHANISM, 'the password is empty');
    for (const [field, value] of [
      ['username', credentials.username],
      ['password', credentials.password],
      ['authorization id', authzid],
    ] as const) {
      if (value.includes(NUL)) throw new SaslAuthenticationError(PLAIN_MECHANISM, `the ${field} contains a NUL character`);
    }
    this.#message = new Uint8Array(Buffer.from(`${authzid}${NUL}${credentials.username}${NUL}${credentials.password}`, 'utf8'));
  }

  /** Whether the initial response was produced. */
  get isComplete(): boolean {
    return this.#complete;
  }

  /**
   * The first call returns the initial response; there is no second step.
   * @throws SaslAuthenticationError on a second call or a non-empty first challenge
   */
  evaluateChallenge(challenge: Uint8Array): Uint8Array | null {
    const message = this.#message;
    if (message === null) {
      throw new SaslAuthenticationError(PLAIN_MECHANISM, `unexpected server message of ${challenge.byteLength} bytes after the exchange ended`);
    }
    if (challenge.byteLength !== 0) {
      throw new SaslAuthenticationError(PLAIN_MECHANISM, `expected an empty first challenge, got ${challenge.byteLength} bytes`);
    }
    // Forget the password bytes once handed out.
    this.#message = null;
    this.#complete = true;
    return message;
  }
}
