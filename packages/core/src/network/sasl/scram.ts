/**
 * SCRAM client (RFC 5802; SCRAM-SHA-256 per RFC 7677; SCRAM-SHA-512 as Kafka defines it,
 * KIP-84), generic over the hash so that the RFC 5802 SHA-1 test vector runs through the same
 * code.
 *
 * The exchange (`H` the hash, `HMAC` keyed by its first argument, `Hi` = PBKDF2 with HMAC-H):
 *
 * ```
 * client-first  = "n,," client-first-bare                  gs2 header "n,,": no channel binding, no authzid
 * client-first-bare = "n=" saslname ",r=" c-nonce [ext]    saslname: username with "=" → "=3D", "," → "=2C"
 * server-first  = ["m=" …","] "r=" c-nonce s-nonce ",s=" base64(salt) ",i=" iterations [ext]
 * SaltedPassword = Hi(Normalize(password), salt, i)
 * ClientKey = HMAC(SaltedPassword, "Client Key")   StoredKey = H(ClientKey)
 * ServerKey = HMAC(SaltedPassword, "Server Key")
 * client-final-without-proof = "c=biws,r=" c-nonce s-nonce ("biws" = base64("n,,"))
 * AuthMessage = client-first-bare "," server-first "," client-final-without-proof
 * ClientProof = ClientKey XOR HMAC(StoredKey, AuthMessage)
 * client-final  = client-final-without-proof ",p=" base64(ClientProof)
 * server-final  = "v=" base64(HMAC(ServerKey, AuthMessage))  |  "e=" error
 * ```
 *
 * What the client checks, as Kafka's `ScramSaslClient` does and a little more: the server
 * nonce must extend ours (else a replayed or forged exchange), the iteration count must be at
 * least 4096 (Kafka's `ScramMechanism.minIterations`; fewer makes the stolen-hash attack
 * cheap) and at most a bound (a malicious server could ask for 2^31 rounds and block the event
 * loop), a mandatory extension (`m=`) fails the exchange (RFC 5802 §5.1), and the server
 * signature is compared in constant time. A server `e=` becomes a typed error.
 *
 * Normalization: RFC 5802 asks for SASLprep (RFC 4013) of the password; Kafka does not apply
 * it — `ScramFormatter.normalize` is plain UTF-8, on both the client and the broker that stores
 * the credentials — so Sluice defaults to Kafka's behaviour (identical for ASCII) and offers
 * `saslprep: true` for servers that follow the RFC. The SASLprep here maps and checks as RFC
 * 4013 says except the bidirectional-text rule (RFC 3454 §6), which needs Unicode bidi classes
 * that JavaScript regular expressions cannot query.
 *
 * PBKDF2 runs synchronously (`node:crypto.pbkdf2Sync`, about a millisecond for 4096 SHA-256
 * rounds) once per connection; an async variant would force every mechanism's step to be
 * async for one call per connection.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { SaslAuthenticationError } from '../../errors.js';
import type { SaslMechanism } from './sasl-mechanism.js';

/** The hash functions SCRAM is defined over here. */
export type ScramHash = 'sha1' | 'sha256' | 'sha512';

/** Kafka's and RFC 7677's minimum iteration count. */
export const SCRAM_MIN_ITERATIONS = 4096;
/** Default upper bound of the iteration count a server may ask for (Kafka itself stores at most 16384). */
export const SCRAM_DEFAULT_MAX_ITERATIONS = 100_000;
/** Bytes of randomness in a generated client nonce (base64 → 24 printable characters). */
export const SCRAM_NONCE_BYTES = 18;

const MECHANISM_NAMES: Readonly<Record<ScramHash, string>> = Object.freeze({
  sha1: 'SCRAM-SHA-1',
  sha256: 'SCRAM-SHA-256',
  sha512: 'SCRAM-SHA-512',
});
const GS2_HEADER = 'n,,';
const CLIENT_KEY = 'Client Key';
const SERVER_KEY = 'Server Key';
/** RFC 5802 `printable`: %x21-7E except ",". */
const PRINTABLE = /^[\x21-\x2b\x2d-\x7e]+$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const EXTENSION_KEY = /^[A-Za-z]+$/;
const DIGITS = /^[0-9]+$/;

/** Credentials and knobs of a {@link ScramMechanism}. */
export interface ScramOptions {
  readonly username: string;
  readonly password: string;
  /** The client nonce; random by default. For tests with fixed vectors only. */
  readonly clientNonce?: string;
  /** Lowest iteration count accepted; default {@link SCRAM_MIN_ITERATIONS}. */
  readonly minIterations?: number;
  /** Highest iteration count accepted; default {@link SCRAM_DEFAULT_MAX_ITERATIONS}. */
  readonly maxIterations?: number;
  /** Extensions appended to client-first (Kafka: `tokenauth=true` for delegation tokens, KIP-48). */
  readonly extensions?: Readonly<Record<string, string>>;
  /** Apply SASLprep to username and password (RFC 5802) instead of Kafka's plain UTF-8. Default false. */
  readonly saslprep?: boolean;
}

/** Exchange states; a transition out of COMPLETE or FAILED is an error. */
export const ScramState = Object.freeze({
  SEND_CLIENT_FIRST: 0,
  RECEIVE_SERVER_FIRST: 1,
  RECEIVE_SERVER_FINAL: 2,
  COMPLETE: 3,
  FAILED: 4,
} as const);

/** One of {@link ScramState}'s values. */
export type ScramStateValue = (typeof ScramState)[keyof typeof ScramState];

const STATE_NAMES = ['SEND_CLIENT_FIRST', 'RECEIVE_SERVER_FIRST', 'RECEIVE_SERVER_FINAL', 'COMPLETE', 'FAILED'];

/** A SCRAM-SHA-256 client (RFC 7677). */
export function scramSha256(options: ScramOptions): ScramMechanism {
  return new ScramMechanism('sha256', options);
}

/** A SCRAM-SHA-512 client (as Kafka defines it, KIP-84). */
export function scramSha512(options: ScramOptions): ScramMechanism {
  return new ScramMechanism('sha512', options);
}

/**
 * The SASL name of a username (RFC 5802 §5.1): "=" becomes "=3D" and "," becomes "=2C", so
 * that neither can be read as an attribute separator.
 */
export function scramSaslName(username: string): string {
  return username.replace(/=/g, '=3D').replace(/,/g, '=2C');
}

/**
 * SASLprep (RFC 4013) of `value` as a stored string: non-ASCII spaces become U+0020, characters
 * "commonly mapped to nothing" are removed, then NFKC; prohibited and unassigned code points
 * are refused. The bidi rule is not checked (see the file comment).
 * @throws SaslAuthenticationError naming the offending code point (not the string)
 */
export function saslPrep(value: string, mechanism = 'SCRAM'): string {
  const mapped = value
    // RFC 3454 C.1.2 non-ASCII space characters → SPACE.
    .replace(/[\u00a0\u1680\u2000-\u200b\u202f\u205f\u3000]/g, ' ')
    // RFC 3454 B.1 commonly mapped to nothing.
    .replace(/[\u00ad\u034f\u1806\u180b-\u180d\u200b-\u200d\u2060\ufe00-\ufe0f\ufeff]/gu, '');
  const normalized = mapped.normalize('NFKC');
  for (const ch of normalized) {
    const cp = ch.codePointAt(0)!;
    if (isProhibited(ch, cp)) {
      throw new SaslAuthenticationError(mechanism, `SASLprep: U+${cp.toString(16).toUpperCase().padStart(4, '0')} is prohibited`);
    }
  }
  return normalized;
}

/** The client side of SCRAM over `hash` (one exchange). */
export class ScramMechanism implements SaslMechanism {
  readonly mechanismName: string;
  readonly #hash: ScramHash;
  readonly #username: string;
  #password: string;
  readonly #clientNonce: string;
  readonly #minIterations: number;
  readonly #maxIterations: number;
  readonly #extensions: string;
  readonly #saslprep: boolean;
  #state: ScramStateValue = ScramState.SEND_CLIENT_FIRST;
  #clientFirstBare = '';
  #expectedServerSignature: Buffer | null = null;

  /**
   * @param hash - the hash SCRAM is run over (`sha256` → SCRAM-SHA-256, …)
   * @param options - credentials, optional fixed nonce, iteration bounds, extensions
   * @throws SaslAuthenticationError when the nonce or an extension is not valid SCRAM syntax
   */
  constructor(hash: ScramHash, options: ScramOptions) {
    this.#hash = hash;
    this.mechanismName = MECHANISM_NAMES[hash];
    this.#saslprep = options.saslprep ?? false;
    this.#username = this.#saslprep ? saslPrep(options.username, this.mechanismName) : options.username;
    this.#password = options.password;
    this.#clientNonce = options.clientNonce ?? randomBytes(SCRAM_NONCE_BYTES).toString('base64');
    if (!PRINTABLE.test(this.#clientNonce)) this.#fail('the client nonce must be printable ASCII without ","');
    this.#minIterations = options.minIterations ?? SCRAM_MIN_ITERATIONS;
    this.#maxIterations = options.maxIterations ?? SCRAM_DEFAULT_MAX_ITERATIONS;
    let extensions = '';
    for (const [key, value] of Object.entries(options.extensions ?? {})) {
      if (!EXTENSION_KEY.test(key)) this.#fail(`extension name "${key}" is not letters only`);
      if (value === '' || value.includes(',')) this.#fail(`extension "${key}" has an empty value or one containing ","`);
      extensions += `,${key}=${value}`;
    }
    this.#extensions = extensions;
  }

  /** Whether the server's signature was verified. */
  get isComplete(): boolean {
    return this.#state === ScramState.COMPLETE;
  }

  /** The current state (for diagnostics and tests). */
  get state(): ScramStateValue {
    return this.#state;
  }

  /**
   * Produces client-first (empty challenge), then client-final (for server-first), then
   * verifies server-final and returns null.
   * @throws SaslAuthenticationError on a malformed or forged server message, a server error,
   *   a bad signature, or a call after the exchange ended
   */
  evaluateChallenge(challenge: Uint8Array): Uint8Array | null {
    switch (this.#state) {
      case ScramState.SEND_CLIENT_FIRST:
        if (challenge.byteLength !== 0) this.#fail(`expected an empty first challenge, got ${challenge.byteLength} bytes`);
        return this.#clientFirst();
      case ScramState.RECEIVE_SERVER_FIRST:
        return this.#clientFinal(Buffer.from(challenge).toString('utf8'));
      case ScramState.RECEIVE_SERVER_FINAL:
        this.#verifyServerFinal(Buffer.from(challenge).toString('utf8'));
        return null;
      default:
        return this.#fail(`unexpected server message in state ${STATE_NAMES[this.#state]}`);
    }
  }

  #clientFirst(): Uint8Array {
    this.#clientFirstBare = `n=${scramSaslName(this.#username)},r=${this.#clientNonce}${this.#extensions}`;
    this.#state = ScramState.RECEIVE_SERVER_FIRST;
    return utf8(GS2_HEADER + this.#clientFirstBare);
  }

  #clientFinal(serverFirst: string): Uint8Array {
    if (serverFirst.startsWith('m=')) this.#fail('the server requires an extension (m=) this client does not know');
    const attrs = parseAttributes(serverFirst);
    const nonce = attrs.get('r');
    const saltText = attrs.get('s');
    const iterationsText = attrs.get('i');
    if (nonce === undefined || saltText === undefined || iterationsText === undefined) {
      return this.#fail('malformed server-first message: r=, s= and i= are required');
    }
    if (!PRINTABLE.test(nonce)) this.#fail('malformed server-first message: the nonce is not printable');
    if (!nonce.startsWith(this.#clientNonce) || nonce.length === this.#clientNonce.length) {
      this.#fail('the server nonce does not extend the client nonce');
    }
    if (!BASE64.test(saltText) || saltText === '') this.#fail('malformed server-first message: the salt is not base64');
    if (!DIGITS.test(iterationsText)) this.#fail(`malformed server-first message: iteration count "${iterationsText}"`);
    const iterations = Number(iterationsText);
    if (iterations < this.#minIterations) {
      this.#fail(`the server asks for ${iterations} iterations, fewer than the minimum ${this.#minIterations}`);
    }
    if (iterations > this.#maxIterations) {
      this.#fail(`the server asks for ${iterations} iterations, more than the maximum ${this.#maxIterations}`);
    }

    const password = this.#saslprep ? saslPrep(this.#password, this.mechanismName) : this.#password;
    const salt = Buffer.from(saltText, 'base64');
    const hashBytes = createHash(this.#hash).digest().byteLength;
    const saltedPassword = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, iterations, hashBytes, this.#hash);
    // The password is not needed again.
    this.#password = '';

    const clientKey = this.#hmac(saltedPassword, CLIENT_KEY);
    const storedKey = createHash(this.#hash).update(clientKey).digest();
    const withoutProof = `c=${Buffer.from(GS2_HEADER).toString('base64')},r=${nonce}`;
    const authMessage = `${this.#clientFirstBare},${serverFirst},${withoutProof}`;
    const clientSignature = this.#hmac(storedKey, authMessage);
    const proof = Buffer.alloc(clientKey.byteLength);
    for (let i = 0; i < proof.byteLength; i++) proof[i] = clientKey[i] ^ clientSignature[i];
    this.#expectedServerSignature = this.#hmac(this.#hmac(saltedPassword, SERVER_KEY), authMessage);
    this.#state = ScramState.RECEIVE_SERVER_FINAL;
    return utf8(`${withoutProof},p=${proof.toString('base64')}`);
  }

  #verifyServerFinal(serverFinal: string): void {
    const attrs = parseAttributes(serverFinal);
    const error = attrs.get('e');
    if (error !== undefined) this.#fail(`the server answered error "${error}"`);
    const signatureText = attrs.get('v');
    if (signatureText === undefined || !BASE64.test(signatureText)) {
      this.#fail('malformed server-final message: v= is required');
    }
    const expected = this.#expectedServerSignature!;
    const signature = Buffer.from(signatureText!, 'base64');
    if (signature.byteLength !== expected.byteLength || !timingSafeEqual(signature, expected)) {
      this.#fail('the server signature does not match: the server does not know the credentials');
    }
    this.#state = ScramState.COMPLETE;
  }

  #hmac(key: Uint8Array, data: string): Buffer {
    return createHmac(this.#hash, key).update(data, 'utf8').digest();
  }

  #fail(reason: string): never {
    this.#state = ScramState.FAILED;
    throw new SaslAuthenticationError(this.mechanismName, reason);
  }
}

/** Splits `a=1,b=2` into attributes; a value keeps any "=" after the first (base64 padding). */
function parseAttributes(message: string): Map<string, string> {
  const attrs = new Map<string, string>();
  for (const part of message.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const key = part.slice(0, eq);
    if (!attrs.has(key)) attrs.set(key, part.slice(eq + 1));
  }
  return attrs;
}

function utf8(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'utf8'));
}

/** RFC 4013 §2.3 prohibited output and §2.5 unassigned code points (stored strings). */
function isProhibited(ch: string, cp: number): boolean {
  return (
    // C.2.1 / C.2.2 control characters, C.3 private use, C.5 surrogates, unassigned (A.1).
    /[\p{Cc}\p{Co}\p{Cs}\p{Cn}]/u.test(ch) ||
    // C.1.2 non-ASCII spaces that survived mapping (none should), C.2.2 format controls.
    (cp >= 0x2028 && cp <= 0x2029) ||
    (cp >= 0x206a && cp <= 0x206f) ||
    cp === 0x06dd ||
    cp === 0x070f ||
    cp === 0x180e ||
    cp === 0xfeff ||
    (cp >= 0xfff9 && cp <= 0xfffc) ||
    (cp >= 0x1d173 && cp <= 0x1d17a) ||
    // C.4 non-character code points.
    /\p{Noncharacter_Code_Point}/u.test(ch) ||
    // C.6 inappropriate for plain text, C.7 ideographic description characters.
    cp === 0xfffd ||
    (cp >= 0x2ff0 && cp <= 0x2ffb) ||
    // C.8 change display properties or deprecated.
    cp === 0x0340 ||
    cp === 0x0341 ||
    /\p{Bidi_Control}/u.test(ch) ||
    // C.9 tagging characters.
    cp === 0xe0001 ||
    (cp >= 0xe0020 && cp <= 0xe007f)
  );
}
