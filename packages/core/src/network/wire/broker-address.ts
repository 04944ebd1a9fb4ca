/**
 * `bootstrap.servers` entries: `host:port`, `[ipv6]:port`, or a bare host (Kafka requires a
 * port; so does Sluice, so that a typo does not silently connect to 9092).
 */
import { ConfigError } from '../../errors.js';

/** A broker's address. */
export interface BrokerAddress {
  readonly host: string;
  readonly port: number;
}

const BRACKETED = /^\[([0-9a-fA-F:.%a-zA-Z]+)\]:(\d+)$/;
const PLAIN = /^([^:\s/]+):(\d+)$/;

/**
 * Parses one `bootstrap.servers` entry.
 * @throws ConfigError naming the entry when it has no port, a port outside 1..65535, or an
 *   unbracketed IPv6 address
 */
export function parseBrokerAddress(entry: string): BrokerAddress {
  const text = entry.trim();
  const m = BRACKETED.exec(text) ?? PLAIN.exec(text);
  if (m === null) {
    throw new ConfigError(
      `bootstrap.servers: ${JSON.stringify(entry)} is not host:port (IPv6 as [addr]:port), e.g. "localhost:9092"`,
    );
  }
  const port = Number(m[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ConfigError(`bootstrap.servers: ${JSON.stringify(entry)} has port ${m[2]}, outside 1..65535`);
  }
  return { host: m[1], port };
}

/**
 * Parses every entry of `bootstrap.servers`.
 * @throws ConfigError when the list is empty or an entry is malformed
 */
export function parseBootstrapServers(entries: readonly string[]): BrokerAddress[] {
  if (entries.length === 0) throw new ConfigError('bootstrap.servers: no server given; e.g. "localhost:9092"');
  return entries.map(parseBrokerAddress);
}
