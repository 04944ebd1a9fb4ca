/**
 * The Kafka wire transport behind the {@link NetworkClient} contract: one
 * {@link BrokerConnection} per broker, opened on demand when the sender asks whether a node is
 * ready, re-opened after an exponential backoff with jitter (`reconnect.backoff.ms` →
 * `reconnect.backoff.max.ms`), each attempt bounded by a set-up timeout that grows the same
 * way (`socket.connection.setup.timeout.ms` → `.max.ms`, KIP-601), closed after
 * `connections.max.idle.ms` without traffic.
 *
 * Where requests go:
 * - Produce: to the partition leader's connection, written as framing around the sealed
 *   batches' pool views (`protocol/messages/produce.ts`: no copy, no re-encoding).
 * - Metadata and InitProducerId (and CreateTopics, which tools send): to the least loaded ready
 *   broker; when none is ready, to a known broker being (or getting) connected; when no broker
 *   is known yet, or every known one is in backoff, to the `bootstrap.servers` in turn
 *   (bootstrap connections are numbered -1, -2 … as in Kafka, and closed once the brokers are
 *   known).
 *
 * Broker addresses come from the metadata answers this client decodes; the producer's
 * cluster view (leaders, epochs) is `ProducerMetadata`'s, fed by the same answers.
 *
 * Readiness without polling: `ready(node)` starts connecting when needed and says false;
 * the wake-up listener is called when a connection becomes ready, when a backoff ends, when
 * a back-pressured or throttled connection can take requests again, and when a connection is
 * lost (with the node, so the sender can ask for fresh metadata).
 */
import type { SluiceError } from '../../errors.js';
import { AuthenticationError, BrokerError, ClosedError, IllegalStateError } from '../../errors.js';
import { ApiKey } from '../../protocol/api-keys.js';
import { KafkaErrors } from '../../protocol/kafka-errors.js';
import { decodeCreateTopicsResponse, encodeCreateTopicsRequest } from '../../protocol/messages/create-topics.js';
import type { CreateTopicsRequestData, CreateTopicsResponse } from '../../protocol/messages/create-topics.js';
import { decodeInitProducerIdResponse, encodeInitProducerIdRequest } from '../../protocol/messages/init-producer-id.js';
import { decodeMetadataResponse, encodeMetadataRequest } from '../../protocol/messages/metadata.js';
import type { MetadataResponse as WireMetadataResponse } from '../../protocol/messages/metadata.js';
import { decodeProduceResponse, encodeProduceRequest } from '../../protocol/messages/produce.js';
import { RetryBackoff } from '../../retry-backoff.js';
import type {
  InitProducerIdResponse,
  MetadataRequest,
  MetadataResponse,
  NetworkClient,
  NetworkEvent,
  ProducePartitionResponse,
  ProduceRequest,
} from '../network-client.js';
import type { BrokerAddress } from './broker-address.js';
import { BrokerConnection, formatHostPort } from './broker-connection.js';
import type { SocketOpener } from './broker-connection.js';

/** Kafka's default `transaction.timeout.ms`, sent with InitProducerId (an idempotent producer has no transactions). */
const TRANSACTION_TIMEOUT_MS = 60000;

/** How a {@link WireNetworkClient} is built (the producer fills it from its config). */
export interface WireNetworkClientOptions {
  /** `bootstrap.servers`, parsed. */
  readonly bootstrapServers: readonly BrokerAddress[];
  /** `client.id`. */
  readonly clientId: string | null;
  readonly requestTimeoutMs: number;
  readonly reconnectBackoffMs: number;
  readonly reconnectBackoffMaxMs: number;
  readonly connectionSetupTimeoutMs: number;
  readonly connectionSetupTimeoutMaxMs: number;
  /** `connections.max.idle.ms`; -1: never close idle connections. */
  readonly connectionsMaxIdleMs: number;
  readonly maxInFlightRequestsPerConnection: number;
  /** Opens sockets (TLS plugs in here); default plain TCP. */
  readonly openSocket?: SocketOpener;
  /** Authenticates a new connection after version negotiation (SASL plugs in here). */
  readonly authenticate?: (connection: BrokerConnection) => Promise<void>;
  /** Uniform [0, 1) source for backoff jitter. Default `Math.random`. */
  readonly random?: () => number;
}

/** What the client keeps per broker (or bootstrap server). */
interface NodeState {
  readonly nodeId: number;
  address: BrokerAddress;
  connection: BrokerConnection | null;
  /** Connection attempts that failed in a row. */
  failures: number;
  /** No new attempt before this time (ms since the epoch). */
  backoffUntilMs: number;
  backoffTimer: ReturnType<typeof setTimeout> | null;
  idleTimer: ReturnType<typeof setTimeout> | null;
  /** Why the last connection failed; null after a good one. */
  lastError: SluiceError | null;
}

/** The Kafka wire transport; see the file comment. */
export class WireNetworkClient implements NetworkClient {
  readonly #options: WireNetworkClientOptions;
  readonly #reconnectBackoff: RetryBackoff;
  readonly #setupTimeout: RetryBackoff;
  readonly #nodes = new Map<number, NodeState>();
  readonly #bootstrap: NodeState[];
  #nextBootstrap = 0;
  #listener: ((event?: NetworkEvent) => void) | null = null;
  #closed = false;
  /**
   * Set by the first failed authentication (SASL credentials, TLS trust): fatal, so no broker
   * is asked again — every later call fails with it at once, and no reconnect makes the
   * brokers log failed logins for as long as the producer lives.
   */
  #authFailure: SluiceError | null = null;

  constructor(options: WireNetworkClientOptions) {
    if (options.bootstrapServers.length === 0) throw new IllegalStateError('WireNetworkClient: no bootstrap server');
    this.#options = options;
    const random = options.random ?? Math.random;
    this.#reconnectBackoff = new RetryBackoff(options.reconnectBackoffMs, options.reconnectBackoffMaxMs, random);
    this.#setupTimeout = new RetryBackoff(options.connectionSetupTimeoutMs, options.connectionSetupTimeoutMaxMs, random);
    this.#bootstrap = options.bootstrapServers.map((address, i) => newNodeState(-(i + 1), address));
  }

  /** Brokers known from metadata, by id. */
  brokers(): { readonly nodeId: number; readonly host: string; readonly port: number; readonly connected: boolean }[] {
    return [...this.#nodes.values()].map((n) => ({ nodeId: n.nodeId, host: n.address.host, port: n.address.port, connected: n.connection?.isReady ?? false }));
  }

  // ------------------------------------------------------------------ NetworkClient

  ready(nodeId: number, nowMs: number = Date.now()): boolean {
    if (this.#closed || this.#authFailure !== null) return false;
    const n = this.#nodes.get(nodeId);
    if (n === undefined) return false;
    const c = n.connection;
    if (c !== null && !c.isClosed) return c.canSendProduce(nowMs);
    this.#startConnecting(n, nowMs);
    return false;
  }

  setWakeupListener(listener: ((event?: NetworkEvent) => void) | null): void {
    this.#listener = listener;
  }

  send(request: ProduceRequest): Promise<ProducePartitionResponse[]> {
    if (this.#closed) return Promise.reject(new ClosedError(`the network client is closed: produce request to node ${request.nodeId} not sent`));
    const c = this.#nodes.get(request.nodeId)?.connection ?? null;
    if (c === null || !c.canSendProduce()) {
      return Promise.reject(new IllegalStateError(`produce request to node ${request.nodeId}, which is not ready (ready() was false)`));
    }
    let version: number;
    try {
      version = c.versionFor(ApiKey.PRODUCE);
    } catch (err) {
      return Promise.reject(err);
    }
    const encode = (header: Parameters<typeof encodeProduceRequest>[0]): readonly Uint8Array[] => encodeProduceRequest(header, request).chunks;
    if (request.acks === 0) {
      return c.produce(version, encode, null).then(() =>
        request.partitions.map((p) => ({ topic: p.topic, partition: p.partition, errorCode: 0, baseOffset: -1, logAppendTimeMs: -1, errorMessage: null })),
      );
    }
    return c.produce(version, encode, (body) => decodeProduceResponse(body, version)).then((response) => {
      const out: ProducePartitionResponse[] = [];
      for (const p of response!.partitions) {
        out.push({
          topic: p.topic,
          partition: p.partition,
          errorCode: p.errorCode,
          baseOffset: p.baseOffset,
          logAppendTimeMs: p.logAppendTimeMs,
          errorMessage: p.errorMessage,
          recordErrors: p.recordErrors,
        });
      }
      return out;
    });
  }

  async fetchMetadata(request: MetadataRequest): Promise<MetadataResponse> {
    const c = await this.#anyConnection('metadata request');
    const version = c.versionFor(ApiKey.METADATA);
    const wire = await c.request(
      ApiKey.METADATA,
      version,
      (header) => encodeMetadataRequest(header, { topics: [...request.topics], allowAutoTopicCreation: request.allowAutoTopicCreation }),
      (body) => decodeMetadataResponse(body, version),
    );
    this.#learnBrokers(wire);
    return {
      brokers: wire.brokers.map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack })),
      clusterId: wire.clusterId,
      controllerId: wire.controllerId,
      topics: wire.topics
        .filter((t) => t.name !== null)
        .map((t) => ({
          topic: t.name!,
          errorCode: t.errorCode,
          partitions: t.partitions.map((p) => ({ partition: p.partitionIndex, errorCode: p.errorCode, leader: p.leaderId, leaderEpoch: p.leaderEpoch })),
        })),
    };
  }

  async initProducerId(): Promise<InitProducerIdResponse> {
    const c = await this.#anyConnection('InitProducerId request');
    const version = c.versionFor(ApiKey.INIT_PRODUCER_ID);
    const answer = await c.request(
      ApiKey.INIT_PRODUCER_ID,
      version,
      (header) => encodeInitProducerIdRequest(header, { transactionalId: null, transactionTimeoutMs: TRANSACTION_TIMEOUT_MS, producerId: -1, producerEpoch: -1 }),
      (body) => decodeInitProducerIdResponse(body, version),
    );
    return { errorCode: answer.errorCode, producerId: answer.producerId, producerEpoch: answer.producerEpoch };
  }

  /**
   * Creates topics (CreateTopics at the highest version both sides speak) through any broker:
   * a KRaft broker forwards it to the controller (KIP-590). Not part of {@link NetworkClient}
   * — the producer never creates topics — but tools on this transport do (`sluice-perf`), with
   * the connection's TLS and SASL.
   * @returns the broker's answer, per-topic error codes included (TOPIC_ALREADY_EXISTS …)
   * @throws (rejects) when no broker could be asked, or none speaks a version Sluice does
   */
  async createTopics(request: CreateTopicsRequestData): Promise<CreateTopicsResponse> {
    const c = await this.#anyConnection('CreateTopics request');
    const version = c.versionFor(ApiKey.CREATE_TOPICS);
    return c.request(
      ApiKey.CREATE_TOPICS,
      version,
      (header) => encodeCreateTopicsRequest(header, request),
      (body) => decodeCreateTopicsResponse(body, version),
    );
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    for (const n of [...this.#nodes.values(), ...this.#bootstrap]) this.#forget(n, new ClosedError(`the producer closed the connection to ${formatHostPort(n.address.host, n.address.port)}`));
    return Promise.resolve();
  }

  // ------------------------------------------------------------------ connections

  /** Starts a connection to `n` unless one exists or the node is in backoff (then a timer wakes the sender when it ends). */
  #startConnecting(n: NodeState, nowMs: number): BrokerConnection | null {
    if (n.connection !== null && !n.connection.isClosed) return n.connection;
    if (nowMs < n.backoffUntilMs) {
      this.#armBackoffTimer(n, nowMs);
      return null;
    }
    const connection = new BrokerConnection({
      host: n.address.host,
      port: n.address.port,
      nodeId: n.nodeId,
      clientId: this.#options.clientId,
      requestTimeoutMs: this.#options.requestTimeoutMs,
      setupTimeoutMs: this.#setupTimeout.backoffMs(n.failures),
      maxInFlight: this.#options.maxInFlightRequestsPerConnection,
      openSocket: this.#options.openSocket,
      authenticate: this.#options.authenticate,
      onWritable: this.#onWritable,
      onClose: (conn, error) => this.#onConnectionClosed(n, conn, error),
    });
    n.connection = connection;
    connection.connect().then(
      () => {
        n.failures = 0;
        n.lastError = null;
        this.#armIdleTimer(n);
        this.#listener?.({ kind: 'connected', nodeId: n.nodeId });
      },
      () => undefined, // #onConnectionClosed has it
    );
    return connection;
  }

  readonly #onWritable = (): void => {
    this.#listener?.();
  };

  #onConnectionClosed(n: NodeState, connection: BrokerConnection, error: SluiceError | null): void {
    if (n.idleTimer !== null) clearTimeout(n.idleTimer);
    n.idleTimer = null;
    if (this.#closed || error === null) return;
    if (error instanceof AuthenticationError && this.#authFailure === null) {
      this.#authFailure = error;
      this.#listener?.({ kind: 'disconnected', nodeId: n.nodeId, error });
      return;
    }
    // A lost or failed connection: back off before the next attempt, and tell the sender so
    // it can ask for fresh metadata (the broker may be gone, or no longer lead).
    n.failures++;
    n.lastError = error;
    const nowMs = Date.now();
    n.backoffUntilMs = nowMs + this.#reconnectBackoff.backoffMs(n.failures - 1);
    this.#armBackoffTimer(n, nowMs);
    this.#listener?.({ kind: 'disconnected', nodeId: n.nodeId, error });
    void connection;
  }

  #armBackoffTimer(n: NodeState, nowMs: number): void {
    if (n.backoffTimer !== null) return;
    n.backoffTimer = setTimeout(() => {
      n.backoffTimer = null;
      if (!this.#closed) this.#listener?.();
    }, Math.max(0, n.backoffUntilMs - nowMs));
    n.backoffTimer.unref?.();
  }

  /** Closes `n`'s connection once it has been idle `connections.max.idle.ms` with nothing in flight. */
  #armIdleTimer(n: NodeState): void {
    const maxIdleMs = this.#options.connectionsMaxIdleMs;
    if (maxIdleMs < 0 || n.idleTimer !== null || n.connection === null) return;
    const c = n.connection;
    const check = (): void => {
      n.idleTimer = null;
      if (n.connection !== c || c.isClosed) return;
      const idleMs = Date.now() - c.lastActivityMs;
      if (idleMs >= maxIdleMs && c.inFlightCount === 0) {
        c.close();
        return;
      }
      n.idleTimer = setTimeout(check, Math.max(1, maxIdleMs - idleMs));
      n.idleTimer.unref?.();
    };
    n.idleTimer = setTimeout(check, maxIdleMs);
    n.idleTimer.unref?.();
  }

  /**
   * A ready connection for a metadata or InitProducerId request: the least loaded ready
   * broker, else a broker being (or getting) connected, else the bootstrap servers in turn.
   * @throws (rejects) BrokerError NETWORK_EXCEPTION naming every address tried and why it failed
   */
  async #anyConnection(what: string): Promise<BrokerConnection> {
    if (this.#closed) throw new ClosedError(`the network client is closed: ${what} not sent`);
    if (this.#authFailure !== null) throw this.#authFailure;
    const nowMs = Date.now();
    let best: BrokerConnection | null = null;
    for (const n of this.#nodes.values()) {
      const c = n.connection;
      if (c !== null && c.isReady && (best === null || c.inFlightCount < best.inFlightCount)) best = c;
    }
    if (best !== null) return best;
    const candidates: NodeState[] = [];
    for (const n of this.#nodes.values()) if (n.connection !== null && !n.connection.isClosed) candidates.push(n);
    for (const n of this.#nodes.values()) if ((n.connection === null || n.connection.isClosed) && nowMs >= n.backoffUntilMs) candidates.push(n);
    const start = this.#nextBootstrap++ % this.#bootstrap.length;
    for (let i = 0; i < this.#bootstrap.length; i++) {
      const b = this.#bootstrap[(start + i) % this.#bootstrap.length];
      if (nowMs >= b.backoffUntilMs || (b.connection !== null && !b.connection.isClosed)) candidates.push(b);
    }
    const failures: string[] = [];
    for (const n of candidates) {
      if (this.#closed) break;
      const c = this.#startConnecting(n, Date.now());
      if (c === null) continue;
      try {
        await c.connect();
        return c;
      } catch (err) {
        // Failed authentication is fatal: say so as it is, do not try the next broker.
        if (err instanceof AuthenticationError) throw err;
        failures.push((err as Error).message);
      }
    }
    if (this.#closed) throw new ClosedError(`the network client is closed: ${what} not sent`);
    // Name every broker that could have been asked and how it failed last (those skipped
    // were in their reconnect backoff after failing).
    const asked = [...this.#nodes.values(), ...this.#bootstrap];
    const reasons = asked
      .filter((n) => n.lastError !== null)
      .map((n) => `${n.nodeId < 0 ? 'bootstrap ' : ''}${formatHostPort(n.address.host, n.address.port)}: ${n.lastError!.message}`);
    const why = reasons.length > 0 ? reasons.join('; ') : failures.length > 0 ? failures.join('; ') : 'no broker could be tried';
    throw new BrokerError(KafkaErrors.NETWORK_EXCEPTION.code, 'NETWORK_EXCEPTION', true, `NETWORK_EXCEPTION (13): ${what} not sent: ${why}`);
  }

  /** Takes the broker list of a metadata answer: new brokers, moved ones, gone ones; bootstrap connections close. */
  #learnBrokers(wire: WireMetadataResponse): void {
    if (wire.brokers.length === 0) return;
    const seen = new Set<number>();
    for (const b of wire.brokers) {
      seen.add(b.nodeId);
      const n = this.#nodes.get(b.nodeId);
      if (n === undefined) {
        this.#nodes.set(b.nodeId, newNodeState(b.nodeId, { host: b.host, port: b.port }));
      } else if (n.address.host !== b.host || n.address.port !== b.port) {
        this.#forget(n, null);
        n.address = { host: b.host, port: b.port };
        n.failures = 0;
        n.backoffUntilMs = 0;
      }
    }
    for (const [id, n] of this.#nodes) {
      if (!seen.has(id)) {
        this.#forget(n, null);
        this.#nodes.delete(id);
      }
    }
    // The brokers are known now: the bootstrap connections only duplicate one of them.
    for (const b of this.#bootstrap) {
      const c = b.connection;
      if (c !== null && !c.isClosed && c.inFlightCount === 0) c.close();
    }
  }

  /** Closes `n`'s connection and timers. */
  #forget(n: NodeState, error: SluiceError | null): void {
    if (n.backoffTimer !== null) clearTimeout(n.backoffTimer);
    if (n.idleTimer !== null) clearTimeout(n.idleTimer);
    n.backoffTimer = null;
    n.idleTimer = null;
    const c = n.connection;
    n.connection = null;
    if (c !== null && !c.isClosed) c.close(error ?? undefined);
  }
}

function newNodeState(nodeId: number, address: BrokerAddress): NodeState {
  return { nodeId, address, connection: null, failures: 0, backoffUntilMs: 0, backoffTimer: null, idleTimer: null, lastError: null };
}
