/**
 * Free loopback TCP ports for brokers that need fixed ports before they start (Kafka's
 * `listeners` and the controller quorum are configured, not negotiated).
 *
 * The ports are found by binding port 0 and closing again; all of one request stay bound
 * until every one is known, so a single request never returns a duplicate. Another process may
 * still take a port between the close and the broker's bind — rare on a test machine, and the
 * broker then fails to start with "Address already in use" in its log.
 */
import { createServer, type Server } from 'node:net';

/**
 * @param count how many distinct ports
 * @param host the interface to probe (default 127.0.0.1)
 * @returns `count` distinct ports that were free a moment ago
 */
export async function freePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      ports.push(
        await new Promise<number>((resolve, reject) => {
          server.once('error', reject);
          server.listen(0, host, () => {
            const address = server.address();
            if (address === null || typeof address === 'string') reject(new Error('no TCP address'));
            else resolve(address.port);
          });
        }),
      );
    }
    return ports;
  } finally {
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  }
}
