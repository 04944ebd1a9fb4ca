/**
 * A TCP pass-through in front of a broker listener that counts the connections made through it
 * — how a test sees a client's connection attempts from outside the client (a retry storm, a
 * connection lost and reopened) without instrumenting the client. Bytes are piped unchanged,
 * so TLS and SASL run end to end between the client and the broker.
 *
 * Put it in front of `bootstrap.servers` to count attempts while no broker list is known (a
 * client that never authenticates never learns another address); to count every connection
 * of a working client, advertise the proxy instead of the broker (`advertised.listeners` for
 * that listener, see secured-kafka.test.ts), since after bootstrap a client connects to the
 * advertised addresses.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

/** A running {@link startCountingProxy}. */
export interface CountingProxy {
  /** `127.0.0.1:<port>`: what clients connect to. */
  readonly address: string;
  readonly port: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** When each connection was accepted (`performance.now()` ms), in order. */
  readonly acceptedAtMs: readonly number[];
  /** Connections whose client side is open now. */
  readonly open: number;
  /** Points the proxy at another target (later connections only). */
  retarget(port: number, host?: string): void;
  /** Stops listening and destroys every piped connection. Idempotent. */
  close(): Promise<void>;
}

/** Options of {@link startCountingProxy}. */
export interface CountingProxyOptions {
  /** The listener behind the proxy; may be set later with `retarget` (connections before that are closed at once). */
  readonly targetPort?: number;
  readonly targetHost?: string;
  /** Port to listen on (default: any free one). */
  readonly port?: number;
  /**
   * Drops connections in the middle of a Kafka exchange: the first `connections` connections
   * are destroyed (both sides) as soon as the client starts writing request number
   * `atRequest` (0-based; 0 = ApiVersions, 1 = SaslHandshake on a SASL_PLAINTEXT listener), so
   * the broker never sees that request. Plaintext listeners only: it reads the client's frame
   * sizes.
   */
  readonly drop?: { readonly connections: number; readonly atRequest: number };
}

/**
 * Starts a counting TCP proxy on 127.0.0.1.
 * @throws when the port cannot be bound
 */
export async function startCountingProxy(options: CountingProxyOptions = {}): Promise<CountingProxy> {
  let targetPort = options.targetPort;
  let targetHost = options.targetHost ?? '127.0.0.1';
  const acceptedAtMs: number[] = [];
  /** Every socket of the proxy (both sides), to destroy on close. */
  const sockets = new Set<Socket>();
  const clients = new Set<Socket>();
  const server: Server = createServer((client) => {
    acceptedAtMs.push(performance.now());
    sockets.add(client);
    clients.add(client);
    client.on('close', () => {
      sockets.delete(client);
      clients.delete(client);
    });
    client.on('error', () => undefined);
    if (targetPort === undefined) {
      client.destroy();
      return;
    }
    const upstream = connect({ host: targetHost, port: targetPort });
    sockets.add(upstream);
    upstream.on('close', () => {
      sockets.delete(upstream);
      client.destroy();
    });
    upstream.on('error', () => undefined);
    client.on('close', () => upstream.destroy());
    const index = acceptedAtMs.length - 1;
    const drop = options.drop;
    if (drop !== undefined && index < drop.connections) {
      // Walk the client's frames (int32 size + body); cut the connection when frame `atRequest` begins.
      let request = 0;
      let remaining = 0;
      let sizeBytes: number[] = [];
      client.on('data', (chunk: Buffer) => {
        let at = 0;
        while (at < chunk.length) {
          if (remaining > 0) {
            const n = Math.min(remaining, chunk.length - at);
            upstream.write(chunk.subarray(at, at + n));
            remaining -= n;
            at += n;
            if (remaining === 0) request++;
            continue;
          }
          if (request === drop.atRequest) {
            client.destroy();
            upstream.destroy();
            return;
          }
          sizeBytes.push(chunk[at]);
          upstream.write(chunk.subarray(at, at + 1));
          at++;
          if (sizeBytes.length === 4) {
            remaining = Buffer.from(sizeBytes).readInt32BE(0);
            sizeBytes = [];
            if (remaining === 0) request++;
          }
        }
      });
    } else {
      client.pipe(upstream);
    }
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  let closed: Promise<void> | null = null;
  return {
    address: `127.0.0.1:${port}`,
    port,
    get accepted() {
      return acceptedAtMs.length;
    },
    acceptedAtMs,
    get open() {
      return clients.size;
    },
    retarget(newPort: number, host = '127.0.0.1') {
      targetPort = newPort;
      targetHost = host;
    },
    close() {
      closed ??= new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      });
      return closed;
    },
  };
}
