/**
 * SASL OAUTHBEARER client (RFC 7628, as Kafka uses it: KIP-255, extensions KIP-342).
 *
 * Client initial response, with kvsep = %x01 (Kafka `OAuthBearerClientInitialResponse`):
 *
 * ```
 * gs2-header kvsep "auth=Bearer " token { kvsep key "=" value } kvsep kvsep
 * gs2-header = "n," [ "a=" saslname ] ","        no channel binding; optional authzid
 * ```
 *
 * e.g. `n,,\x01auth=Bearer eyJ…\x01traceId=42\x01\x01`. Extension keys are letters only and
 * may not be `auth`; values are printable ASCII, space, tab, CR or LF (RFC 7628 §3.1).
 *
 * Then: an empty server message means success (the client has nothing more to send). A
 * non-empty one is a JSON error status (RFC 7628 §3.2.2); the client must answer with a single
 * kvsep so that the server can end the exchange with its failure (Kafka's broker then answers
 * SASL_AUTHENTICATION_FAILED). Any message after that fails the exchange here with the
 * server's status in the error — never the token.
 */
import { SaslAuthenticationError } from '../../errors.js';
import type { SaslMechanism } from './sasl-mechanism.js';
import { scramSaslName } from './scram.js';

/** The mechanism name. */
export const OAUTHBEARER_MECHANISM = 'OAUTHBEARER';
/** RFC 7628's key-value separator, %x01. */
export const KVSEP = '\u0001';
/** The extension key the token itself uses. */
const AUTH_KEY = 'auth';
/** RFC 6750 b64token: the characters a bearer token may hold. */
const BEARER_TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
const EXTENSION_KEY = /^[A-Za-z]+$/;
const EXTENSION_VALUE = /^[\x21-\x7e \t\r\n]+$/;
/** Longest server status echoed into an error message. */
const MAX_ECHOED_STATUS_CHARS = 200;

/** The token and extras of an {@link OAuthBearerMechanism}. */
export interface OAuthBearerOptions {
  /** The bearer token (a JWT, usually), as obtained from the identity provider. */
  readonly token: string;
  /** Identity to act as; absent means the token's principal. */
  readonly authorizationId?: string;
  /** SASL extensions (KIP-342), e.g. `{ logicalCluster: 'lkc-123' }`. */
  readonly extensions?: Readonly<Record<string, string>>;
}

const enum OAuthState {
  SEND_INITIAL_RESPONSE,
  RECEIVE_SERVER_MESSAGE,
  RECEIVE_SERVER_MESSAGE_AFTER_FAILURE,
  COMPLETE,
  FAILED,
}

/** The client side of SASL OAUTHBEARER (one exchange). */
export class OAuthBearerMechanism implements SaslMechanism {
  readonly mechanismName = OAUTHBEARER_MECHANISM;
  #initialResponse: Uint8Array | null;
  #state = OAuthState.SEND_INITIAL_RESPONSE;
  #serverError: string | null = null;

  /**
   * @throws SaslAuthenticationError when the token is not a bearer token, or an extension key
   *   or value is invalid (`auth` is reserved); the message never contains the token
   */
  constructor(options: OAuthBearerOptions) {
    if (!BEARER_TOKEN.test(options.token)) {
      throw new SaslAuthenticationError(
        OAUTHBEARER_MECHANISM,
        `the token (${options.token.length} characters) is not an RFC 6750 bearer token`,
      );
    }
    let extensions = '';
    for (const [key, value] of Object.entries(options.extensions ?? {})) {
      if (key === AUTH_KEY || !EXTENSION_KEY.test(key)) {
        throw new SaslAuthenticationError(OAUTHBEARER_MECHANISM, `extension name "${key}" is invalid`);
      }
      if (!EXTENSION_VALUE.test(value)) {
        throw new SaslAuthenticationError(OAUTHBEARER_MECHANISM, `the value of extension "${key}" is invalid`);
      }
      extensions += `${KVSEP}${key}=${value}`;
    }
    const authzid = options.authorizationId ? `a=${scramSaslName(options.authorizationId)}` : '';
    const message = `n,${authzid},${KVSEP}${AUTH_KEY}=Bearer ${options.token}${extensions}${KVSEP}${KVSEP}`;
    this.#initialResponse = new Uint8Array(Buffer.from(message, 'utf8'));
  }

  /** Whether the server accepted the token (answered with an empty message). */
  get isComplete(): boolean {
    return this.#state === OAuthState.COMPLETE;
  }

  /** The server's JSON error status, once it sent one; null otherwise. */
  get serverError(): string | null {
    return this.#serverError;
  }

  /**
   * Initial response first; then null for the server's empty success message, or a single
   * kvsep for its error status.
   * @throws SaslAuthenticationError after a server error, or on a call after the exchange ended
   */
  evaluateChallenge(challenge: Uint8Array): Uint8Array | null {
    switch (this.#state) {
      case OAuthState.SEND_INITIAL_RESPONSE: {
        if (challenge.byteLength !== 0) this.#fail(`expected an empty first challenge, got ${challenge.byteLength} bytes`);
        const message = this.#initialResponse!;
        // Forget the token bytes once handed out.
        this.#initialResponse = null;
        this.#state = OAuthState.RECEIVE_SERVER_MESSAGE;
        return message;
      }
      case OAuthState.RECEIVE_SERVER_MESSAGE:
        if (challenge.byteLength === 0) {
          this.#state = OAuthState.COMPLETE;
          return null;
        }
        this.#serverError = Buffer.from(challenge).toString('utf8');
        this.#state = OAuthState.RECEIVE_SERVER_MESSAGE_AFTER_FAILURE;
        return new Uint8Array([KVSEP.charCodeAt(0)]);
      case OAuthState.RECEIVE_SERVER_MESSAGE_AFTER_FAILURE:
        return this.#fail(`the server rejected the token: ${describeStatus(this.#serverError ?? '')}`);
      default:
        return this.#fail('unexpected server message after the exchange ended');
    }
  }

  #fail(reason: string): never {
    this.#state = OAuthState.FAILED;
    throw new SaslAuthenticationError(OAUTHBEARER_MECHANISM, reason);
  }
}

/** The `status` of an RFC 7628 error JSON, or the (shortened) raw text when it is not such JSON. */
function describeStatus(json: string): string {
  try {
    const parsed: unknown = JSON.parse(json);
    if (typeof parsed === 'object' && parsed !== null && 'status' in parsed) {
      return `status ${JSON.stringify((parsed as { status: unknown }).status)}`;
    }
  } catch {
    // Not JSON: fall through to the raw text.
  }
  return JSON.stringify(json.slice(0, MAX_ECHOED_STATUS_CHARS));
}
