/**
 * SASL on a real BrokerConnection against a hand-written peer (fake-kafka-peer.ts): the
 * SaslHandshake + SaslAuthenticate exchange for each mechanism (the peer's SCRAM side written
 * here from RFC 5802, independently of the client), KIP-368 re-authentication (when it is
 * scheduled, that it runs in band on the same socket), and the failures: each must be a
 * SaslAuthenticationError naming the mechanism and the broker without the secret, except a
 * dropped connection, which is a retriable network error.
 */
import { expect } from 'chai';
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { inspect } from 'node:util';
import { AuthenticationError, BrokerError, SaslAuthenticationError, SluiceError } from '../../../../packages/core/src/errors.js';
import { BrokerConnection } from '../../../../packages/core/src/network/wire/broker-connection.js';
import { saslAuthenticator, type SaslSettings } from '../../../../packages/core/src/network/wire/sasl-authenticator.js';
import { ApiKey } from '../../../../packages/core/src/protocol/api-keys.js';
import { Secret } from '../../../../packages/core/src/secret.js';
import { int16, int32, int64, kafkaString, readUnsignedVarint, serveKafka, unsignedVarint, type ApiRange, type PeerRequest } from '../../../brokers/secured/fake-kafka-peer.js';

const PASSWORD = 'sasl-pw-2c9d41';
const SASL_AUTHENTICATION_FAILED = 58;
const UNSUPPORTED_SASL_MECHANISM = 33;
const ILLEGAL_SASL_STATE = 34;

/** What the peer answers to one SaslAuthenticate: the server token or an error, and the session lifetime. */
interface AuthAnswer {
  readonly errorCode?: number;
  readonly errorMessage?: string | null;
  readonly authBytes?: Buffer;
  readonly sessionLifetimeMs?: number;
}

interface PeerOptions {
  /** Mechanisms the peer enables (SaslHandshake answers UNSUPPORTED_SASL_MECHANISM for others). */
  readonly mechanisms?: readonly string[];
  readonly handshakeMax?: number;
  readonly authenticateMax?: number;
  /** Answers each SaslAuthenticate token (per connection: `state` lives as long as the socket); null: drop the connection. */
  readonly authenticate: (token: Buffer, state: Record<string, unknown>) => AuthAnswer | null;
}

/** The SaslAuthenticate request's auth_bytes (v0-1: int32 length; v2: compact bytes + tagged fields). */
function authBytesOf(request: PeerRequest): Buffer {
  if (request.apiVersion >= 2) {
    const [lengthPlusOne, at] = readUnsignedVarint(request.body, 0);
    return request.body.subarray(at, at + lengthPlusOne - 1);
  }
  return request.body.subarray(4, 4 + request.body.readInt32BE(0));
}

function authenticateResponse(version: number, a: AuthAnswer): Buffer {
  const message = a.errorMessage ?? null;
  const auth = a.authBytes ?? Buffer.alloc(0);
  const lifetime = version >= 1 ? int64(a.sessionLifetimeMs ?? 0) : Buffer.alloc(0);
  if (version >= 2) {
    const msg = message === null ? unsignedVarint(0) : Buffer.concat([unsignedVarint(Buffer.byteLength(message) + 1), Buffer.from(message)]);
    return Buffer.concat([int16(a.errorCode ?? 0), msg, unsignedVarint(auth.length + 1), auth, lifetime, Buffer.from([0])]);
  }
  return Buffer.concat([int16(a.errorCode ?? 0), kafkaString(message), int32(auth.length), auth, lifetime]);
}

describe('saslAuthenticator()', function () {
  this.timeout(10_000);
  const servers: Server[] = [];
  const connections: BrokerConnection[] = [];

  afterEach(async () => {
    for (const c of connections.splice(0)) c.close();
    await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))));
  });

  /** A fake broker; records every SASL request it gets, with the socket it came on. */
  async function saslPeer(options: PeerOptions): Promise<{ port: number; requests: { apiKey: number; version: number; detail: string; socket: Socket; atMs: number }[]; sockets: Socket[] }> {
    const requests: { apiKey: number; version: number; detail: string; socket: Socket; atMs: number }[] = [];
    const sockets: Socket[] = [];
    const apis: ApiRange[] = [
      [ApiKey.API_VERSIONS, 0, 0],
      [ApiKey.SASL_HANDSHAKE, 0, options.handshakeMax ?? 1],
      [ApiKey.SASL_AUTHENTICATE, 0, options.authenticateMax ?? 2],
    ];
    const server = createServer((socket) => {
      sockets.push(socket);
      let state: Record<string, unknown> = {};
      let authenticated = false;
      let lastReauthStartMs = 0;
      serveKafka(socket, apis, (request, respond) => {
        if (request.apiKey === ApiKey.SASL_HANDSHAKE) {
          const mechanism = request.body.toString('utf8', 2, 2 + request.body.readInt16BE(0));
          requests.push({ apiKey: request.apiKey, version: request.apiVersion, detail: mechanism, socket, atMs: Date.now() });
          const enabled = options.mechanisms ?? ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'OAUTHBEARER'];
          let error = enabled.includes(mechanism) ? 0 : UNSUPPORTED_SASL_MECHANISM;
          // Kafka's KafkaChannel.maybeBeginServerReauthentication: at most one re-authentication
          // start per second; an earlier SaslHandshake is handled as a plain request, which
          // answers ILLEGAL_SASL_STATE.
          if (authenticated) {
            const nowMs = Date.now();
            if (lastReauthStartMs !== 0 && nowMs - lastReauthStartMs < 1000) error = ILLEGAL_SASL_STATE;
            else lastReauthStartMs = nowMs;
          }
          state = {};
          respond(Buffer.concat([int16(error), int32(enabled.length), ...enabled.map((m) => kafkaString(m))]));
        } else if (request.apiKey === ApiKey.SASL_AUTHENTICATE) {
          const token = authBytesOf(request);
          requests.push({ apiKey: request.apiKey, version: request.apiVersion, detail: token.toString('latin1'), socket, atMs: Date.now() });
          const answer = options.authenticate(token, state);
          if (answer !== null && (answer.errorCode ?? 0) === 0) authenticated = true;
          if (answer === null) socket.destroy();
          else respond(authenticateResponse(request.apiVersion, answer), request.apiVersion >= 2);
        } else {
          // Any other request: recorded, answered with an empty body (produce not at all: acks=0).
          requests.push({ apiKey: request.apiKey, version: request.apiVersion, detail: '', socket, atMs: Date.now() });
          if (request.apiKey !== ApiKey.PRODUCE) respond(Buffer.alloc(0));
        }
      });
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return { port: (server.address() as { port: number }).port, requests, sockets };
  }

  function connect(port: number, settings: Partial<SaslSettings> & Pick<SaslSettings, 'mechanism'>): { connection: BrokerConnection; done: Promise<void> } {
    const connection = new BrokerConnection({
      host: '127.0.0.1',
      port,
      nodeId: 3,
      clientId: 'sasl-test',
      requestTimeoutMs: 5000,
      setupTimeoutMs: 5000,
      maxInFlight: 5,
      authenticate: saslAuthenticator({ username: 'alice', password: new Secret(PASSWORD), ...settings }),
    });
    connections.push(connection);
    return { connection, done: connection.connect() };
  }

  async function failure(done: Promise<void>): Promise<SluiceError> {
    try {
      await done;
    } catch (err) {
      return err as SluiceError;
    }
    expect.fail('authentication must fail');
  }

  /** The peer's side of SCRAM (RFC 5802 §3), for `password`. */
  function scramServer(hash: 'sha256' | 'sha512', password: string) {
    const salt = randomBytes(16);
    const salted = pbkdf2Sync(password, salt, 4096, createHash(hash).digest().length, hash);
    const storedKey = createHash(hash).update(createHmac(hash, salted).update('Client Key').digest()).digest();
    const serverKey = createHmac(hash, salted).update('Server Key').digest();
    return (token: Buffer, state: Record<string, unknown>): AuthAnswer => {
      const message = token.toString('utf8');
      if (state.serverFirst === undefined) {
        state.clientFirstBare = message.slice(3);
        const nonce = /,r=([^,]+)/.exec(message)![1] + randomBytes(9).toString('base64');
        state.serverFirst = `r=${nonce},s=${salt.toString('base64')},i=4096`;
        return { authBytes: Buffer.from(state.serverFirst as string) };
      }
      const withoutProof = message.slice(0, message.lastIndexOf(',p='));
      const proof = Buffer.from(message.slice(message.lastIndexOf(',p=') + 3), 'base64');
      const authMessage = `${state.clientFirstBare},${state.serverFirst},${withoutProof}`;
      const signature = createHmac(hash, storedKey).update(authMessage).digest();
      const clientKey = Buffer.from(proof.map((b, i) => b ^ signature[i]));
      if (!createHash(hash).update(clientKey).digest().equals(storedKey)) {
        return { errorCode: SASL_AUTHENTICATION_FAILED, errorMessage: `Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-${hash.toUpperCase()}` };
      }
      return { authBytes: Buffer.from(`v=${createHmac(hash, serverKey).update(authMessage).digest('base64')}`), sessionLifetimeMs: 0 };
    };
  }

  describe('exchanges', () => {
    for (const authenticateMax of [2, 1, 0]) {
      it(`PLAIN: names the mechanism in SaslHandshake v1, then sends \\0user\\0password in one SaslAuthenticate v${authenticateMax}`, async () => {
        const peer = await saslPeer({ authenticateMax, authenticate: () => ({}) });
        const { connection, done } = connect(peer.port, { mechanism: 'PLAIN' });
        await done;
        expect(connection.isReady).to.equal(true);
        expect(peer.requests.map((r) => [r.apiKey, r.version, r.detail])).to.deep.equal([
          [ApiKey.SASL_HANDSHAKE, 1, 'PLAIN'],
          [ApiKey.SASL_AUTHENTICATE, authenticateMax, `\0alice\0${PASSWORD}`],
        ]);
      });
    }

    for (const hash of ['sha256', 'sha512'] as const) {
      const mechanism = hash === 'sha256' ? 'SCRAM-SHA-256' : 'SCRAM-SHA-512';
      it(`${mechanism}: two SaslAuthenticate round trips, the server's signature checked`, async () => {
        const peer = await saslPeer({ authenticate: scramServer(hash, PASSWORD) });
        const { connection, done } = connect(peer.port, { mechanism });
        await done;
        expect(connection.isReady).to.equal(true);
        const tokens = peer.requests.filter((r) => r.apiKey === ApiKey.SASL_AUTHENTICATE).map((r) => r.detail);
        expect(tokens).to.have.length(2);
        expect(tokens[0]).to.match(/^n,,n=alice,r=/);
        expect(tokens[1]).to.match(/^c=biws,r=.+,p=/);
      });
    }

    it('OAUTHBEARER: asks the token provider and sends the token with its SASL extensions', async () => {
      const peer = await saslPeer({ authenticate: () => ({}) });
      const { done } = connect(peer.port, { mechanism: 'OAUTHBEARER', tokenProvider: () => ({ value: 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.', extensions: { traceId: '42' } }) });
      await done;
      expect(peer.requests[1].detail).to.equal('n,,\x01auth=Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.\x01traceId=42\x01\x01');
    });
  });

  describe('re-authentication (KIP-368)', () => {
    /** Connects and returns the delays the authenticator asked the connection to re-authenticate after. */
    async function reauthDelays(sessionLifetimeMs: number, settings: Partial<SaslSettings> & Pick<SaslSettings, 'mechanism'>): Promise<number[]> {
      const peer = await saslPeer({ authenticate: () => ({ sessionLifetimeMs }) });
      const { connection, done } = connect(peer.port, settings);
      const delays: number[] = [];
      connection.scheduleReauthentication = (ms: number) => delays.push(ms);
      await done;
      return delays;
    }

    it('schedules it at 85–95 % of session_lifetime_ms (Kafka’s window), no sooner than 1 s, and not at all without a lifetime', async () => {
      expect(await reauthDelays(10_000, { mechanism: 'PLAIN', random: () => 0 })).to.deep.equal([8_500]);
      expect(await reauthDelays(10_000, { mechanism: 'PLAIN', random: () => 0.999 })).to.have.length(1).and.satisfy((d: number[]) => d[0] > 9_480 && d[0] < 9_500);
      expect(await reauthDelays(0, { mechanism: 'PLAIN' })).to.deep.equal([]);
      expect(await reauthDelays(500, { mechanism: 'PLAIN' })).to.deep.equal([1_000]);
    });

    it("bounds an OAUTHBEARER session by the token's own lifetime when that ends first", async () => {
      const delays = await reauthDelays(3_600_000, { mechanism: 'OAUTHBEARER', random: () => 0, tokenProvider: () => ({ value: 'abc', lifetimeMs: Date.now() + 5_000 }) });
      expect(delays).to.have.length(1);
      expect(delays[0]).to.be.within(4_200, 4_250);
    });

    it('runs in band on the same socket when the session ends, with a fresh token each time, at most once a second (Kafka refuses more)', async function () {
      this.timeout(10_000);
      let tokens = 0;
      const peer = await saslPeer({ authenticate: () => ({ sessionLifetimeMs: 300 }) });
      const { connection, done } = connect(peer.port, { mechanism: 'OAUTHBEARER', tokenProvider: () => ({ value: `token${++tokens}` }) });
      await done;
      const handshakes = () => peer.requests.filter((r) => r.apiKey === ApiKey.SASL_HANDSHAKE);
      for (const deadline = Date.now() + 4_000; handshakes().length < 3 && !connection.isClosed && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 20));
      expect(connection.closeError?.message ?? null, 'connection kept').to.equal(null);
      expect(connection.isReady || connection.inFlightCount > 0).to.equal(true);
      expect(peer.sockets, 'one connection').to.have.length(1);
      expect(handshakes().length, 'authentications').to.equal(3);
      const starts = handshakes().map((r) => r.atMs);
      for (let i = 2; i < starts.length; i++) expect(starts[i] - starts[i - 1], 'between re-authentications').to.be.at.least(1000);
      expect(peer.requests.filter((r) => r.apiKey === ApiKey.SASL_AUTHENTICATE).map((r) => r.detail.split('\x01')[1])).to.deep.equal(
        Array.from({ length: 3 }, (_, i) => `auth=Bearer token${i + 1}`),
      );
    });

    it('runs once an acks=0 produce request that was being written when the session ended has been written', async () => {
      let tokens = 0;
      const peer = await saslPeer({ authenticate: () => ({ sessionLifetimeMs: 300 }) });
      const { connection, done } = connect(peer.port, { mechanism: 'OAUTHBEARER', random: () => 0, tokenProvider: () => ({ value: `token${++tokens}` }) });
      await done;
      // The peer stops reading, so an 8 MiB request stays in the socket's buffers past the
      // re-authentication point (1 s: the floor); it has no response (acks=0) to wake the connection.
      peer.sockets[0].pause();
      const body = Buffer.alloc(8 << 20);
      const written = connection.produce(3, (h) => {
        const header = Buffer.concat([int16(ApiKey.PRODUCE), int16(h.apiVersion), int32(h.correlationId), kafkaString(h.clientId)]);
        return [int32(header.length + body.length), header, body];
      }, null);
      await new Promise((r) => setTimeout(r, 1_300));
      expect(connection.inFlightCount, 'the request is still being written').to.equal(1);
      expect(tokens, 'not while the request is being written').to.equal(1);
      peer.sockets[0].resume();
      await written;
      // The peer reads 8 MiB before it gets to the SaslHandshake: poll rather than guess how long.
      for (const deadline = Date.now() + 5_000; tokens < 2 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 20));
      expect(tokens, 'token provider calls').to.equal(2);
      expect(connection.canSendProduce()).to.equal(true);
    });

    it('holds a request made during the re-authentication until the exchange is over (Kafka closes a connection that interleaves one)', async () => {
      let tokens = 0;
      let metadata: Promise<number> | null = null;
      const peer = await saslPeer({ authenticate: () => ({ sessionLifetimeMs: tokens === 1 ? 100 : 0 }) });
      const { connection, done } = connect(peer.port, {
        mechanism: 'OAUTHBEARER',
        tokenProvider: () => {
          // Called in the middle of the re-authentication: SaslHandshake answered, SaslAuthenticate not sent yet.
          if (++tokens === 2) {
            metadata = connection.request(ApiKey.METADATA, 0, (h) => {
              const header = Buffer.concat([int16(ApiKey.METADATA), int16(h.apiVersion), int32(h.correlationId), kafkaString(h.clientId)]);
              return Buffer.concat([int32(header.length), header]);
            }, (body) => body.length);
          }
          return { value: `token${tokens}` };
        },
      });
      await done;
      for (const deadline = Date.now() + 3_000; metadata === null && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 10));
      expect(await metadata).to.equal(0);
      expect(peer.requests.map((r) => r.apiKey)).to.deep.equal([
        ApiKey.SASL_HANDSHAKE,
        ApiKey.SASL_AUTHENTICATE,
        ApiKey.SASL_HANDSHAKE,
        ApiKey.SASL_AUTHENTICATE,
        ApiKey.METADATA,
      ]);
      expect(connection.isReady).to.equal(true);
    });

    it('does not re-authenticate in a loop when the provider hands out a token it says has expired (clock skew: the broker accepted it)', async () => {
      let tokens = 0;
      const peer = await saslPeer({ authenticate: () => ({}) });
      const { connection, done } = connect(peer.port, {
        mechanism: 'OAUTHBEARER',
        tokenProvider: () => ({ value: `token${++tokens}`, lifetimeMs: Date.now() - 1_000 }),
      });
      await done;
      await new Promise((r) => setTimeout(r, 200));
      expect(tokens, 'token provider calls').to.equal(1);
      expect(connection.isReady).to.equal(true);
    });

    it('does not re-authenticate at once when the session outlives a timer (more than 2^31 − 1 ms, ~24.8 days)', async () => {
      let tokens = 0;
      const peer = await saslPeer({ authenticate: () => ({}) });
      const { connection, done } = connect(peer.port, {
        mechanism: 'OAUTHBEARER',
        tokenProvider: () => ({ value: `token${++tokens}`, lifetimeMs: Date.now() + 40 * 24 * 3_600_000 }),
      });
      await done;
      await new Promise((r) => setTimeout(r, 200));
      expect(tokens, 'token provider calls').to.equal(1);
      expect(connection.isReady).to.equal(true);
    });
  });

  describe('failures', () => {
    /** Every string form of an error. */
    const renderings = (e: unknown): string => [String(e), (e as Error).stack, inspect(e), JSON.stringify(e)].join('\n');

    it('a mechanism the broker does not enable: names it and the ones the broker enables', async () => {
      const peer = await saslPeer({ mechanisms: ['PLAIN', 'SCRAM-SHA-512'], authenticate: () => ({}) });
      const error = await failure(connect(peer.port, { mechanism: 'SCRAM-SHA-256' }).done);
      expect(error).to.be.instanceOf(SaslAuthenticationError);
      expect(error.message).to.equal(
        `SASL SCRAM-SHA-256 authentication failed: 127.0.0.1:${peer.port} (node 3) does not enable SCRAM-SHA-256; it enables PLAIN, SCRAM-SHA-512`,
      );
    });

    it("rejected credentials: names the mechanism, the broker and the broker's message, never the password", async () => {
      const peer = await saslPeer({ authenticate: scramServer('sha512', 'the-real-password') });
      const error = await failure(connect(peer.port, { mechanism: 'SCRAM-SHA-512' }).done);
      expect(error).to.be.instanceOf(SaslAuthenticationError);
      expect((error as SaslAuthenticationError).mechanism).to.equal('SCRAM-SHA-512');
      expect(error.message).to.equal(
        `SASL SCRAM-SHA-512 authentication failed: 127.0.0.1:${peer.port} (node 3) rejected the credentials ` +
          '(error code 58: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA512)',
      );
      expect(renderings(error)).to.not.include(PASSWORD);
    });

    it('a broker that speaks only SaslHandshake v0 (raw tokens, before Kafka 1.0)', async () => {
      const peer = await saslPeer({ handshakeMax: 0, authenticate: () => ({}) });
      const error = await failure(connect(peer.port, { mechanism: 'PLAIN' }).done);
      expect(error).to.be.instanceOf(SaslAuthenticationError);
      expect(error.message).to.include('supports only SaslHandshake v0').and.include(`127.0.0.1:${peer.port} (node 3)`);
    });

    it("a token provider that throws: names the broker and the provider's message", async () => {
      const peer = await saslPeer({ authenticate: () => ({}) });
      const error = await failure(
        connect(peer.port, {
          mechanism: 'OAUTHBEARER',
          tokenProvider: () => {
            throw new Error('identity provider unreachable');
          },
        }).done,
      );
      expect(error).to.be.instanceOf(SaslAuthenticationError);
      expect(error.message).to.equal(`SASL OAUTHBEARER authentication failed: 127.0.0.1:${peer.port} (node 3): the token provider failed: identity provider unreachable`);
    });

    it('a token the broker rejects: its status, never the token', async () => {
      const token = 'eyJhbGciOiJub25lIn0.c2VjcmV0LXRva2Vu.';
      const peer = await saslPeer({
        authenticate: (bytes) =>
          bytes.toString() === '\x01'
            ? { errorCode: SASL_AUTHENTICATION_FAILED, errorMessage: 'Authentication failed during authentication due to invalid credentials with SASL mechanism OAUTHBEARER' }
            : { authBytes: Buffer.from('{"status":"invalid_token"}') },
      });
      const error = await failure(connect(peer.port, { mechanism: 'OAUTHBEARER', tokenProvider: () => ({ value: token }) }).done);
      expect(error).to.be.instanceOf(SaslAuthenticationError);
      expect(error.message).to.include(`127.0.0.1:${peer.port} (node 3) rejected the credentials (error code 58`);
      expect(renderings(error)).to.not.include(token);
    });

    it('a connection dropped during the exchange: a retriable network error (retried with backoff), not an authentication failure', async () => {
      const peer = await saslPeer({ authenticate: () => null });
      const error = await failure(connect(peer.port, { mechanism: 'PLAIN' }).done);
      expect(error).to.not.be.instanceOf(AuthenticationError);
      expect(error).to.be.instanceOf(BrokerError);
      expect((error as BrokerError).retriable).to.equal(true);
      expect(error.message).to.include(`127.0.0.1:${peer.port} (node 3) closed the connection`).and.include('authenticating');
    });
  });
});
