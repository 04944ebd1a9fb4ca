/**
 * Unsecured JWTs (`alg: none`, empty signature, RFC 7519 §6) as Kafka's default OAUTHBEARER
 * validator on the broker accepts them (`OAuthBearerUnsecuredValidatorCallbackHandler`, which
 * parses `OAuthBearerUnsecuredJws`: three dot-separated base64url parts, the last empty; `sub`
 * the principal; `iat` and `exp` in seconds since the epoch, checked against the broker's
 * clock). For tests only: anyone can mint one.
 */

/** Claims of {@link unsecuredJwt}. */
export interface UnsecuredJwtClaims {
  /** The principal (`sub`). */
  readonly subject: string;
  /** Issued at (ms since the epoch); default now. */
  readonly issuedAtMs?: number;
  /** Expires at (ms since the epoch). */
  readonly expiresAtMs: number;
  /** More claims, e.g. `{ scope: 'produce' }`. */
  readonly extra?: Readonly<Record<string, unknown>>;
}

const base64url = (value: unknown): string => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');

/** The compact serialization `header.payload.` of an unsecured JWT. */
export function unsecuredJwt(claims: UnsecuredJwtClaims): string {
  const iat = (claims.issuedAtMs ?? Date.now()) / 1000;
  const payload = { ...claims.extra, sub: claims.subject, iat, exp: claims.expiresAtMs / 1000 };
  return `${base64url({ alg: 'none' })}.${base64url(payload)}.`;
}
