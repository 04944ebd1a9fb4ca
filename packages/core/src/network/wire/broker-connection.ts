/**
 * One connection to one Kafka broker: the socket, request framing with correlation ids,
 * pipelining, responses matched in order, per-request timeouts, back-pressure, and the
 * set-up every Kafka client does before its first real request — ApiVersions (with the
 * fallback to v0 that old brokers and librdkafka's mock need), then, when configured,
 * SASL (`authenticate`).
 *
 * Key insight — a Kafka broker answers the requests of one connection in the order it got
 * them (KIP-? none needed: `SocketServer` processes one request per connection at a time),
 * so in-flight requests are a FIFO: the next response belongs to the oldest request that
 * expects one, and a correlation id that does not match it means the stream is out of sync
 * — the connection is closed, never guessed at. The oldest request also has the earliest
 * deadline, so one timer covers every request's `request.timeout.ms`; a timeout closes the
 * connection, as Kafka's `NetworkClient.handleTimedOutRequests` does (an answer that comes
 * after it would be out of step with everything behind it).
 *
 * Memory: a produce request's record views point into the shared pool. A request settles
 * (resolve or reject) only once Node has called back its last socket write — the bytes were
 * handed to the kernel, or the socket was destroyed and libuv will not read them — so the
 * sender may release the pool memory when the promise settles (KAFKA-17862). Measured here:
 * writes queued on a destroyed socket are all called back (ERR_STREAM_DESTROYED), after the
 * handle closed.
 *
 * Back-pressure: when `socket.write` returns false (more than the stream's high-water mark is
 * queued) the connection reports itself not writable until 'drain'; the sender then sends
 * nothing more to this broker, so nothing buffers without bound. A broker's throttle
 * (`throttle_time_ms`, KIP-219) mutes the connection the same way for that long.
 */
import { connect as netConnect } from 'node:net';
import type { Socket } from 'node:net';
import { BrokerError, IllegalStateError, ProtocolError, SluiceError, SslAuthenticationError, TimeoutError } from '../../errors.js';
import { ApiKey, SUPPORTED_VERSIONS, apiKeyName, negotiateVersion } from '../../protocol/api-keys.js';
import type { ApiKeyValue } from '../../protocol/api-keys.js';
import { KafkaErrors, brokerErrorFor } from '../../protocol/kafka-errors.js';
import {
  API_VERSIONS_FALLBACK_VERSION,
  apiVersionsRetryVersion,
  decodeApiVersionsResponseWithFallback,
  encodeApiVersionsRequest,
} from '../../protocol/messages/api-versions.js';
import type { ApiVersionsResponse } from '../../protocol/messages/api-versions.js';
import { FrameDecoder } from '../../protocol/primitives/frame-decoder.js';
import type { RequestHeaderFields } from '../../protocol/request-header.js';
import { decodeResponseHeader, responseHeaderVersion } from '../../protocol/request-header.js';

/** The software name and version Sluice announces in ApiVersions v3+ (KIP-511). */
export const CLIENT_SOFTWARE_NAME = 'sluice';
/** See {@link CLIENT_SOFTWARE_NAME}. */
export const CLIENT_SOFTWARE_VERSION = '0.1.0';

/** The longest delay `setTimeout` honours (a signed 32-bit ms count, ~24.8 days). */
const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/** Opens the socket to a broker: plain TCP by default; TLS plugs in here. */
export type SocketOpener = (host: string, port: number) => Socket;

/** How a {@link BrokerConnection} is built. */
export interface BrokerConnectionOptions {
  readonly host: string;
  readonly port: number;
  /** The broker's node id; negative for a bootstrap server (Kafka numbers them -1, -2 …). */
  readonly nodeId: number;
  /** Kafka's `client.id`, sent in every request header. */
  readonly clientId: string | null;
  /** `request.timeout.ms`: how long any request may wait for its answer. */
  readonly requestTimeoutMs: number;
  /** How long connecting, version negotiation and authentication may take together. */
  readonly setupTimeoutMs: number;
  /** `max.in.flight.requests.per.connection` for produce requests. */
  readonly maxInFlight: number;
  /** Opens the socket; default plain TCP (`net.connect`, every resolved address tried). */
  readonly openSocket?: SocketOpener;
  /** Runs once versions are negotiated, before the connection is ready (SASL). */
  readonly authenticate?: (connection: BrokerConnection) => Promise<void>;
  /** Called when the connection may take requests again (ready, drained, throttle over). */
  readonly onWritable?: (connection: BrokerConnection) => void;
  /** Called once when the connection closes; `error` null when closed on purpose. */
  readonly onClose?: (connection: BrokerConnection, error: SluiceError | null) => void;
}

/** One request written and not yet settled. */
interface PendingRequest {
  readonly correlationId: number;
  readonly apiKey: number;
  readonly apiVersion: number;
  /** Decodes the response body; null when the request has no response (produce with acks=0). */
  readonly decode: ((body: Uint8Array) => unknown) | null;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
  readonly deadlineMs: number;
  /** Node has not yet called back the request's last write: its bytes may still be read. */
  writing: boolean;
  /** The outcome, kept until the write is called back. */
  outcome: { readonly value: unknown; readonly error: Error | null } | null;
}

/** Connection states, in order. */
type State = 'idle' | 'connecting' | 'negotiating' | 'authenticating' | 'ready' | 'closed';

/** One connection to one broker; see the file comment. */
export class BrokerConnection {
  /** The broker's node id (negative: a bootstrap server). */
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
  /** `host:port (node N)`, for messages. */
  readonly description: string;
  readonly #options: BrokerConnectionOptions;
  #state: State = 'idle';
  #socket: Socket | null = null;
  readonly #decoder: FrameDecoder;
  /** Requests that expect a response, oldest first: responses come back in this order. */
  #awaiting: PendingRequest[] = [];
  #awaitingHead = 0;
  /** Requests without a response whose writes are not called back yet (acks=0 produce). */
  readonly #unanswered = new Set<PendingRequest>();
  #nextCorrelationId = 0;
  #timeoutTimer: ReturnType<typeof setTimeout> | null = null;
  #setupTimer: ReturnType<typeof setTimeout> | null = null;
  #throttleTimer: ReturnType<typeof setTimeout> | null = null;
  #throttledUntilMs = 0;
  #backPressured = false;
  #produceInFlight = 0;
  #versions = new Map<number, number>();
  #connectPromise: Promise<void> | null = null;
  #closeError: SluiceError | null = null;
  #lastActivityMs = Date.now();
  /** Rejects the socket-opening step when the connection fails before the socket connected. */
  #setupFailed: ((error: Error) => void) | null = null;
  /** KIP-368: the session must be re-authenticated; no new produce request until it is. */
  #reauthDue = false;
  #reauthTimer: ReturnType<typeof setTimeout> | null = null;
  /** Settles when the re-authentication in progress ends (either way); null when none runs. */
  #reauthenticating: Promise<void> | null = null;

  constructor(options: BrokerConnectionOptions) {
    this.#options = options;
    this.nodeId = options.nodeId;
    this.host = options.host;
    this.port = options.port;
    this.description = `${formatHostPort(options.host, options.port)} (node ${options.nodeId}${options.nodeId < 0 ? ', bootstrap' : ''})`;
    this.#decoder = new FrameDecoder({ context: `connection to ${this.description}` });
  }

  /** Whether requests may be sent (connected, negotiated, authenticated, not closed). */
  get isReady(): boolean {
    return this.#state === 'ready';
  }

  /** Whether the connection is closed (it is never reused afterwards). */
  get isClosed(): boolean {
    return this.#state === 'closed';
  }

  /** Why the connection closed; null while open or when closed on purpose. */
  get closeError(): SluiceError | null {
    return this.#closeError;
  }

  /** Whether a produce request may be written now: ready, under the in-flight limit, not back-pressured or throttled. */
  canSendProduce(nowMs: number = Date.now()): boolean {
    return (
      this.#state === 'ready' &&
      this.#produceInFlight < this.#options.maxInFlight &&
      !this.#backPressured &&
      !this.#reauthDue &&
      nowMs >= this.#throttledUntilMs
    );
  }

  /**
   * Re-authenticates the session in `delayMs` (KIP-368; the SASL authenticator calls this
   * with a point before the session's lifetime ends): from then on no new produce request is
   * taken; once those in flight are answered, `authenticate` runs again on this connection.
   */
  scheduleReauthentication(delayMs: number): void {
    if (this.#reauthTimer !== null) clearTimeout(this.#reauthTimer);
    // Node fires a timer longer than 2^31 − 1 ms after 1 ms (TimeoutOverflowWarning): a token
    // valid for 25+ days would re-authenticate in a loop. Re-authenticating early is harmless.
    this.#reauthTimer = setTimeout(() => {
      this.#reauthTimer = null;
      this.#reauthDue = true;
      this.#maybeReauthenticate();
    }, Math.min(delayMs, MAX_TIMER_DELAY_MS));
    this.#reauthTimer.unref?.();
  }

  /** Runs the due re-authentication once nothing is in flight. */
  #maybeReauthenticate(): void {
    if (!this.#reauthDue || this.#state !== 'ready' || this.inFlightCount > 0 || this.#options.authenticate === undefined) return;
    this.#state = 'authenticating';
    this.#reauthenticating = this.#options.authenticate(this).then(
      () => {
        this.#reauthenticating = null;
        if (this.isClosed) return;
        this.#reauthDue = false;
        this.#state = 'ready';
        this.#options.onWritable?.(this);
      },
      (err: unknown) => {
        this.#reauthenticating = null;
        this.#fail(this.#asSluiceError(err, 're-authenticating'));
      },
    );
  }

  /** Requests written and not answered yet. */
  get inFlightCount(): number {
    return this.#awaiting.length - this.#awaitingHead + this.#unanswered.size;
  }

  /** When the connection last sent or received something (ms since the epoch). */
  get lastActivityMs(): number {
    return this.#lastActivityMs;
  }

  /**
   * The version to use for `apiKey` with this broker (negotiated from its ApiVersions answer).
   * @throws ProtocolError when the broker does not support any version Sluice speaks
   */
  versionFor(apiKey: ApiKeyValue): number {
    const v = this.#versions.get(apiKey);
    if (v === undefined) {
      throw new ProtocolError(`${this.description} does not support ${apiKeyName(apiKey)} in any version Sluice speaks (v${SUPPORTED_VERSIONS[apiKey].min}-v${SUPPORTED_VERSIONS[apiKey].max})`);
    }
    return v;
  }

  /**
   * Opens the socket and sets the connection up (ApiVersions, then `authenticate`).
   * Idempotent: later calls return the same promise.
   * @throws (rejects) BrokerError NETWORK_EXCEPTION naming the broker and the step
   *   (connecting, ApiVersions, authentication), TimeoutError after `setupTimeoutMs`, or the
   *   error `authenticate` raised
   */
  connect(): Promise<void> {
    this.#connectPromise ??= this.#connect();
    return this.#connectPromise;
  }

  async #connect(): Promise<void> {
    if (this.#state === 'closed') throw this.#closeError ?? new BrokerError(KafkaErrors.NETWORK_EXCEPTION.code, 'NETWORK_EXCEPTION', true, `connection to ${this.description} is closed`);
    this.#state = 'connecting';
    this.#setupTimer = setTimeout(() => {
      this.#fail(
        new TimeoutError(
          `connection to ${this.description} not set up within ${this.#options.setupTimeoutMs} ms (socket.connection.setup.timeout.ms; step: ${this.#state})`,
          true,
        ),
      );
    }, this.#options.setupTimeoutMs);
    try {
      await this.#openSocket();
      this.#state = 'negotiating';
      await this.#negotiateVersions();
      if (this.#options.authenticate !== undefined) {
        this.#state = 'authenticating';
        await this.#options.authenticate(this);
      }
      if (this.isClosed) throw this.#closeError!;
      this.#state = 'ready';
    } catch (err) {
      const error = this.#asSluiceError(err, this.isClosed ? 'setting up' : this.#state);
      this.#fail(error);
      throw this.#closeError ?? error;
    } finally {
      if (this.#setupTimer !== null) clearTimeout(this.#setupTimer);
      this.#setupTimer = null;
    }
    this.#options.onWritable?.(this);
  }

  #openSocket(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const open = this.#options.openSocket ?? defaultOpenSocket;
      let socket: Socket;
      try {
        socket = open(this.host, this.port);
      } catch (err) {
        reject(err);
        return;
      }
      this.#socket = socket;
      socket.setNoDelay(true);
      socket.setKeepAlive(true);
      this.#setupFailed = reject;
      const onConnectError = (err: Error): void => {
        this.#setupFailed = null;
        reject(err);
      };
      socket.once('error', onConnectError);
      // A TLS socket is usable after its handshake ('secureConnect'), a plain one after 'connect'.
      const readyEvent = 'encrypted' in socket && (socket as { encrypted?: boolean }).encrypted === true ? 'secureConnect' : 'connect';
      socket.once(readyEvent, () => {
        this.#setupFailed = null;
        socket.off('error', onConnectError);
        socket.on('error', (err) => this.#fail(this.#asSluiceError(err, this.#state)));
        socket.on('close', () => this.#fail(this.#peerClosedError()));
        socket.on('data', (chunk: Buffer) => this.#onData(chunk));
        socket.on('drain', () => {
          this.#backPressured = false;
          if (this.#state === 'ready') this.#options.onWritable?.(this);
        });
        if (this.#state === 'closed') {
          reject(this.#closeError);
          return;
        }
        resolve();
      });
    });
  }

  /** ApiVersions at the highest version Sluice speaks, falling back as the broker says (v0 last). */
  async #negotiateVersions(): Promise<void> {
    let version = SUPPORTED_VERSIONS[ApiKey.API_VERSIONS].max;
    for (;;) {
      const response = (await this.#send(
        ApiKey.API_VERSIONS,
        version,
        (header) => encodeApiVersionsRequest(header, { clientSoftwareName: CLIENT_SOFTWARE_NAME, clientSoftwareVersion: CLIENT_SOFTWARE_VERSION }),
        (body) => decodeApiVersionsResponseWithFallback(body, version),
      )) as ApiVersionsResponse;
      if (response.errorCode === 0) {
        this.#versions = new Map();
        for (const k of response.apiKeys) {
          if (!(k.apiKey in SUPPORTED_VERSIONS)) continue;
          try {
            this.#versions.set(k.apiKey, negotiateVersion(k.apiKey, k.minVersion, k.maxVersion));
          } catch {
            // No common version of an API we may not need: versionFor() says so if we do.
          }
        }
        return;
      }
      const retry = apiVersionsRetryVersion(response, version);
      if (retry === null) {
        throw brokerErrorFor(response.errorCode, `ApiVersions v${version} with ${this.description}`);
      }
      version = retry;
      if (version < API_VERSIONS_FALLBACK_VERSION) throw new ProtocolError(`ApiVersions with ${this.description}: no version left to try`);
    }
  }

  /**
   * Sends a request and resolves with its decoded response. Used for every API but Produce's
   * hot path; during set-up (SASL) it is the only way to talk to the broker.
   * @param encode - builds the frame (size prefix included) from the header fields
   * @param decode - decodes the response body
   * @throws (rejects) the connection's error when it closes first, TimeoutError after `request.timeout.ms`
   */
  request<T>(apiKey: ApiKeyValue, apiVersion: number, encode: (header: RequestHeaderFields) => Uint8Array, decode: (body: Uint8Array) => T): Promise<T> {
    // During a re-authentication only its own requests may go out: a broker that reads another
    // one between SaslHandshake and the last SaslAuthenticate fails the exchange and closes the
    // connection (Kafka SaslServerAuthenticator: "Unexpected Kafka request of type … during
    // SASL authentication"). Others (a metadata refresh) wait for the exchange to end.
    if (this.#reauthenticating !== null && apiKey !== ApiKey.SASL_HANDSHAKE && apiKey !== ApiKey.SASL_AUTHENTICATE) {
      return this.#reauthenticating.then(() => this.request(apiKey, apiVersion, encode, decode));
    }
    if (this.#state !== 'ready' && this.#state !== 'authenticating') {
      return Promise.reject(this.#closeError ?? new IllegalStateError(`request ${apiKeyName(apiKey)} on ${this.description} before it is ready (${this.#state})`));
    }
    return this.#send(apiKey, apiVersion, encode, decode) as Promise<T>;
  }

  /**
   * Writes a produce request given as chunks (framing around pool views, see
   * `protocol/messages/produce.ts`) and resolves with the decoded response — or, with
   * `expectResponse` false (acks=0), once its bytes are written.
   */
  produce<T>(apiVersion: number, encode: (header: RequestHeaderFields) => readonly Uint8Array[], decode: ((body: Uint8Array) => T) | null): Promise<T | null> {
    if (!this.canSendProduce()) {
      return Promise.reject(
        this.#closeError ??
          new IllegalStateError(`produce request to ${this.description} while it cannot take one (state ${this.#state}, ${this.#produceInFlight} in flight, back-pressured ${this.#backPressured})`),
      );
    }
    this.#produceInFlight++;
    const done = (): void => {
      this.#produceInFlight--;
    };
    const p = this.#send(ApiKey.PRODUCE, apiVersion, encode, decode) as Promise<T | null>;
    p.then(done, done);
    return p;
  }

  /** Closes the connection on purpose: requests in flight fail with `error` (default: closed). */
  close(error?: SluiceError): void {
    this.#fail(error ?? null);
  }

  // ------------------------------------------------------------------ internals

  #send(
    apiKey: number,
    apiVersion: number,
    encode: (header: RequestHeaderFields) => Uint8Array | readonly Uint8Array[],
    decode: ((body: Uint8Array) => unknown) | null,
  ): Promise<unknown> {
    const socket = this.#socket;
    if (socket === null || this.#state === 'closed') return Promise.reject(this.#closeError ?? new IllegalStateError(`${this.description} is not connected`));
    const correlationId = this.#nextCorrelationId;
    this.#nextCorrelationId = (this.#nextCorrelationId + 1) | 0;
    let frame: Uint8Array | readonly Uint8Array[];
    try {
      frame = encode({ apiVersion, correlationId, clientId: this.#options.clientId });
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise<unknown>((resolve, reject) => {
      const nowMs = Date.now();
      const req: PendingRequest = {
        correlationId,
        apiKey,
        apiVersion,
        decode,
        resolve,
        reject,
        deadlineMs: nowMs + this.#options.requestTimeoutMs,
        writing: true,
        outcome: null,
      };
      if (decode !== null) {
        this.#awaiting.push(req);
        this.#armTimeout();
      } else {
        this.#unanswered.add(req);
      }
      this.#lastActivityMs = nowMs;
      const onWritten = (err?: Error | null): void => {
        req.writing = false;
        if (decode === null) {
          this.#unanswered.delete(req);
          if (req.outcome === null) req.outcome = { value: null, error: err ? this.#asSluiceError(err, 'writing') : null };
          // No response will come to start a re-authentication that fell due during this write (acks=0).
          if (this.#reauthDue) queueMicrotask(() => this.#maybeReauthenticate());
        }
        this.#deliver(req);
      };
      let writable: boolean;
      if (frame instanceof Uint8Array) {
        writable = socket.write(frame, onWritten);
      } else {
        socket.cork();
        for (let i = 0; i < frame.length - 1; i++) socket.write(frame[i]);
        writable = socket.write(frame[frame.length - 1], onWritten);
        socket.uncork();
      }
      if (!writable) this.#backPressured = true;
    });
  }

  /** Hands a request its outcome once its bytes are no longer read by the socket. */
  #deliver(req: PendingRequest): void {
    if (req.writing || req.outcome === null) return;
    const { value, error } = req.outcome;
    if (error === null) req.resolve(value);
    else req.reject(error);
  }

  /** Settles `req` (delivered once its write is called back). */
  #settle(req: PendingRequest, value: unknown, error: Error | null): void {
    if (req.outcome !== null) return;
    req.outcome = { value, error };
    this.#deliver(req);
  }

  #onData(chunk: Buffer): void {
    this.#lastActivityMs = Date.now();
    this.#decoder.push(chunk);
    try {
      for (let frame = this.#decoder.tryReadFrame(); frame !== null; frame = this.#decoder.tryReadFrame()) this.#onFrame(frame);
    } catch (err) {
      this.#fail(err instanceof SluiceError ? err : new ProtocolError(`response from ${this.description}: ${(err as Error)?.message ?? String(err)}`));
    }
  }

  #onFrame(frame: Uint8Array): void {
    if (this.#awaitingHead >= this.#awaiting.length) {
      throw new ProtocolError(`${this.description} sent a response (${frame.byteLength} bytes) when no request was waiting for one`);
    }
    const req = this.#awaiting[this.#awaitingHead];
    const header = decodeResponseHeader(frame, responseHeaderVersion(req.apiKey, req.apiVersion));
    if (header.correlationId !== req.correlationId) {
      throw new ProtocolError(
        `${this.description} answered correlation id ${header.correlationId} while ${apiKeyName(req.apiKey)} v${req.apiVersion} with correlation id ${req.correlationId} was the oldest request`,
      );
    }
    this.#awaiting[this.#awaitingHead++] = undefined as never;
    if (this.#awaitingHead === this.#awaiting.length) {
      this.#awaiting.length = 0;
      this.#awaitingHead = 0;
    } else if (this.#awaitingHead >= 1024) {
      this.#awaiting = this.#awaiting.slice(this.#awaitingHead);
      this.#awaitingHead = 0;
    }
    this.#rearmTimeout();
    let value: unknown;
    try {
      value = req.decode!(frame.subarray(header.bodyOffset));
    } catch (err) {
      // The request fails with the decoding error; the stream is suspect, so the connection closes too.
      this.#settle(req, null, err as Error);
      throw err;
    }
    this.#noteThrottle(value);
    this.#settle(req, value, null);
    if (this.#reauthDue) queueMicrotask(() => this.#maybeReauthenticate());
  }

  /** KIP-219: a throttled answer mutes the connection for `throttleTimeMs`. */
  #noteThrottle(value: unknown): void {
    const ms = (value as { throttleTimeMs?: unknown } | null)?.throttleTimeMs;
    if (typeof ms !== 'number' || ms <= 0) return;
    this.#throttledUntilMs = Math.max(this.#throttledUntilMs, Date.now() + ms);
    if (this.#throttleTimer !== null) clearTimeout(this.#throttleTimer);
    this.#throttleTimer = setTimeout(() => {
      this.#throttleTimer = null;
      if (this.#state === 'ready') this.#options.onWritable?.(this);
    }, ms);
  }

  #armTimeout(): void {
    if (this.#timeoutTimer !== null || this.#awaitingHead >= this.#awaiting.length) return;
    const head = this.#awaiting[this.#awaitingHead];
    this.#timeoutTimer = setTimeout(this.#onTimeout, Math.max(0, head.deadlineMs - Date.now()));
  }

  #rearmTimeout(): void {
    if (this.#timeoutTimer !== null) clearTimeout(this.#timeoutTimer);
    this.#timeoutTimer = null;
    this.#armTimeout();
  }

  readonly #onTimeout = (): void => {
    this.#timeoutTimer = null;
    if (this.#awaitingHead >= this.#awaiting.length) return;
    const head = this.#awaiting[this.#awaitingHead];
    const nowMs = Date.now();
    if (nowMs < head.deadlineMs) {
      this.#armTimeout();
      return;
    }
    this.#fail(
      new TimeoutError(
        `${apiKeyName(head.apiKey)} v${head.apiVersion} request (correlation id ${head.correlationId}) to ${this.description} not answered within request.timeout.ms=${this.#options.requestTimeoutMs}; connection closed`,
        true,
      ),
    );
  };

  /** Closes the socket and fails everything in flight with `error` (null: closed on purpose). */
  #fail(error: SluiceError | null): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#closeError = error;
    for (const t of [this.#timeoutTimer, this.#setupTimer, this.#throttleTimer, this.#reauthTimer]) if (t !== null) clearTimeout(t);
    this.#timeoutTimer = this.#setupTimer = this.#throttleTimer = this.#reauthTimer = null;
    const failure = error ?? new BrokerError(KafkaErrors.NETWORK_EXCEPTION.code, 'NETWORK_EXCEPTION', true, `connection to ${this.description} was closed`);
    const pending = this.#awaiting.slice(this.#awaitingHead);
    this.#awaiting = [];
    this.#awaitingHead = 0;
    const unanswered = [...this.#unanswered];
    this.#socket?.destroy();
    // Each settles once its write is called back (destroy calls back every queued write).
    for (const req of pending) this.#settle(req, null, failure);
    for (const req of unanswered) this.#settle(req, null, failure);
    this.#setupFailed?.(failure);
    this.#setupFailed = null;
    this.#options.onClose?.(this, error);
  }

  #peerClosedError(): SluiceError {
    const inFlight = this.#awaiting.length - this.#awaitingHead;
    return new BrokerError(
      KafkaErrors.NETWORK_EXCEPTION.code,
      'NETWORK_EXCEPTION',
      true,
      `NETWORK_EXCEPTION (13): ${this.description} closed the connection${inFlight > 0 ? ` with ${inFlight} request(s) unanswered` : ''} (step: ${this.#state})${this.#decoder.bufferedBytes > 0 ? `, in the middle of a response (${this.#decoder.bufferedBytes} bytes of it received)` : ''}`,
    );
  }

  /** A socket or set-up error as a SluiceError naming the broker and the step. */
  #asSluiceError(err: unknown, step: string): SluiceError {
    if (err instanceof SluiceError) return err;
    const e = err as NodeJS.ErrnoException;
    const code = e?.code;
    if (typeof code === 'string' && isTlsTrustError(code)) {
      return new SslAuthenticationError(code, `TLS handshake with ${this.description} failed: ${describeTlsFailure(code, e.message)} (${code})`);
    }
    let what: string;
    if (code === 'ECONNREFUSED') what = `connection refused to ${this.description}`;
    else if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') what = `cannot resolve host ${this.host} (${this.description})`;
    else if (code === 'ECONNRESET') what = `connection reset by ${this.description}`;
    else if (code === 'ETIMEDOUT' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH') what = `cannot reach ${this.description} (${code})`;
    else what = `connection to ${this.description} failed`;
    return new BrokerError(
      KafkaErrors.NETWORK_EXCEPTION.code,
      'NETWORK_EXCEPTION',
      true,
      `NETWORK_EXCEPTION (13): ${what} while ${step}: ${e?.message ?? String(err)}`,
    );
  }
}

/** Node's codes for TLS failures that retrying cannot fix (untrusted, expired or misnamed certificates; a refused client certificate). */
const TLS_TRUST_ERRORS = new Set([
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

function isTlsTrustError(code: string): boolean {
  return TLS_TRUST_ERRORS.has(code) || (code.startsWith('ERR_SSL_') && code.includes('ALERT'));
}

/** OpenSSL's code for an alert the peer sent, e.g. `ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED`. */
const TLS_ALERT_CODE = /^ERR_SSL_(?:SSLV3|TLSV1|TLSV13)_ALERT_([A-Z_]+)$/;

/**
 * The reason of a TLS failure in words. Node's own certificate checks have a sentence
 * ("certificate has expired"); an alert the broker sent comes as OpenSSL's raw error line
 * (`80EC…:error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert certificate required:
 * ../deps/openssl/…/rec_layer_s3.c:1601:SSL alert number 116` and a newline), which names
 * neither the side that refused nor what to change — so the alert is named instead, with the
 * setting that usually fixes it.
 */
function describeTlsFailure(code: string, message: string): string {
  const alert = TLS_ALERT_CODE.exec(code)?.[1];
  if (alert === undefined) return message.trim();
  let hint = '';
  if (alert.includes('CERTIFICATE') || alert === 'UNKNOWN_CA') hint = ' (it wants a client certificate it trusts: ssl.certificate.location and ssl.key.location)';
  else if (alert === 'PROTOCOL_VERSION') hint = ' (no TLS version in common: ssl.enabled.protocols)';
  return `the broker refused it with TLS alert "${alert.toLowerCase().replace(/_/g, ' ')}"${hint}`;
}

/** `host:port`, with brackets around an IPv6 literal. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Plain TCP to every address the name resolves to, in turn (Kafka `client.dns.lookup=use_all_dns_ips`). */
function defaultOpenSocket(host: string, port: number): Socket {
  return netConnect({ host, port, autoSelectFamily: true });
}
