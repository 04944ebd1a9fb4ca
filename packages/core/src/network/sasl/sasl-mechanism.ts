/**
 * The client side of one SASL mechanism, as pure logic: bytes in, bytes out, no sockets. The
 * connection carries the tokens (inside SaslAuthenticate requests after SaslHandshake v1, or as
 * raw size-prefixed frames after v0) and drives the mechanism:
 *
 * ```
 * token = mechanism.evaluateChallenge(EMPTY)          // every Sluice mechanism speaks first
 * while (token !== null) {
 *   reply = send(token)                               // SaslAuthenticate; error code ≠ 0 → fail
 *   if (mechanism.isComplete) break                   // e.g. PLAIN: nothing to check in the reply
 *   token = mechanism.evaluateChallenge(reply)
 * }
 * // success iff mechanism.isComplete and the broker answered error code 0
 * ```
 *
 * This mirrors Kafka's use of `javax.security.sasl.SaslClient` in `SaslClientAuthenticator`:
 * `evaluateChallenge` with an empty challenge for the initial response, then once per server
 * token until `isComplete()`. A mechanism instance serves one exchange; re-authentication
 * (KIP-368) builds a new one.
 */

/** An empty challenge: the argument of the first {@link SaslMechanism.evaluateChallenge} call. */
export const EMPTY_CHALLENGE: Uint8Array = new Uint8Array(0);

/** A SASL client mechanism (one exchange). */
export interface SaslMechanism {
  /** The name sent in SaslHandshake, e.g. `PLAIN`, `SCRAM-SHA-512`, `OAUTHBEARER`. */
  readonly mechanismName: string;

  /** Whether the client side of the exchange has finished successfully. */
  readonly isComplete: boolean;

  /**
   * One step of the exchange: takes the server's last token (empty for the first call) and
   * returns the client's next token, or null when the client has nothing more to send.
   * @param challenge - the server's token, e.g. a SaslAuthenticate response's `authBytes`
   * @returns the token to send, or null
   * @throws SaslAuthenticationError when the server's token is malformed, forged or reports an
   *   error, or when the exchange is already over; the message names the mechanism and never
   *   contains a password or token
   */
  evaluateChallenge(challenge: Uint8Array): Uint8Array | null;
}
