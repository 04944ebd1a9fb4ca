/**
 * TLS for the wire transport (`security.protocol` SSL and SASL_SSL): Kafka's `ssl.*`
 * settings mapped onto `node:tls`, plus Node's own `tls.ConnectionOptions` for anything
 * else. Certificates and keys are read once, when the producer is built, so that a missing
 * file is a ConfigError at once, not a connection error later.
 *
 * | Kafka / librdkafka setting | Node |
 * |---|---|
 * | `ssl.ca.location`, `ssl.ca.pem` (`ssl.truststore.certificates`) | `ca` (Node's default CAs when neither is set) |
 * | `ssl.certificate.location`, `ssl.certificate.pem` | `cert` |
 * | `ssl.key.location`, `ssl.key.pem`, `ssl.key.password` | `key`, `passphrase` |
 * | `ssl.endpoint.identification.algorithm` = `https` (default) / '' | host-name check on / off (`checkServerIdentity`) |
 * | `ssl.enabled.protocols` | `minVersion`, `maxVersion` |
 *
 * The server name (SNI) is the broker's host name unless it is an IP address, or the
 * `servername` of Node's own options (then also the name the certificate is checked against,
 * e.g. brokers reached by IP behind one certificate). The TLS context
 * is built once when the producer is, so that a wrong `ssl.key.password` or a key that does not
 * match its certificate is a ConfigError then.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { Socket } from 'node:net';
import { connect as tlsConnect, createSecureContext } from 'node:tls';
import type { ConnectionOptions, SecureVersion } from 'node:tls';
import type { ProducerConfig } from '../../config.js';
import { ConfigError } from '../../errors.js';
import type { SocketOpener } from './broker-connection.js';

/** The settings TLS reads. */
export type TlsConfig = Pick<
  ProducerConfig,
  | 'sslCaLocation'
  | 'sslCaPem'
  | 'sslCertificateLocation'
  | 'sslCertificatePem'
  | 'sslKeyLocation'
  | 'sslKeyPem'
  | 'sslKeyPassword'
  | 'sslEndpointIdentificationAlgorithm'
  | 'sslEnabledProtocols'
>;

const TLS_VERSIONS: readonly SecureVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

/**
 * Node's TLS options for the settings (files read now).
 * @param extra - Node's own options, applied last (they win)
 * @throws ConfigError naming the setting when a file cannot be read, a protocol is unknown,
 *   a certificate is given without its key (or the other way round), the key does not decrypt
 *   with `ssl.key.password` or is not the certificate's, or Node refuses the options
 */
export function tlsOptionsFor(config: TlsConfig, extra: ConnectionOptions = {}): ConnectionOptions {
  const options: ConnectionOptions = {};
  const ca = [pemOf(config.sslCaLocation, 'ssl.ca.location'), config.sslCaPem].filter((x) => x !== '');
  if (ca.length > 0) options.ca = ca;
  const cert = config.sslCertificatePem !== '' ? config.sslCertificatePem : pemOf(config.sslCertificateLocation, 'ssl.certificate.location');
  const key = !config.sslKeyPem.isEmpty ? config.sslKeyPem.reveal() : pemOf(config.sslKeyLocation, 'ssl.key.location');
  if ((cert === '') !== (key === '')) {
    throw new ConfigError(
      cert === ''
        ? 'ssl.key.location / ssl.key.pem is set but no client certificate (ssl.certificate.location / ssl.certificate.pem)'
        : 'ssl.certificate.location / ssl.certificate.pem is set but no private key (ssl.key.location / ssl.key.pem)',
    );
  }
  if (cert !== '') {
    options.cert = cert;
    options.key = key;
    if (!config.sslKeyPassword.isEmpty) options.passphrase = config.sslKeyPassword.reveal();
  }
  const versions = config.sslEnabledProtocols.map((p) => {
    const v = TLS_VERSIONS.find((x) => x.toLowerCase() === p.toLowerCase());
    if (v === undefined) throw new ConfigError(`ssl.enabled.protocols: unknown protocol ${JSON.stringify(p)}; known: ${TLS_VERSIONS.join(', ')}`);
    return v;
  });
  if (versions.length === 0) throw new ConfigError('ssl.enabled.protocols: no protocol enabled');
  const order = (v: SecureVersion): number => TLS_VERSIONS.indexOf(v);
  options.minVersion = versions.reduce((a, b) => (order(a) <= order(b) ? a : b));
  options.maxVersion = versions.reduce((a, b) => (order(a) >= order(b) ? a : b));
  if (config.sslEndpointIdentificationAlgorithm === '') options.checkServerIdentity = () => undefined;
  const merged = { ...options, ...extra };
  checkSecureContext(merged, config);
  return merged;
}

/**
 * Builds the TLS context once, now, so that a key that does not decrypt or does not match its
 * certificate is a ConfigError when the producer is built — not a connection error retried
 * until `max.block.ms` ("bad decrypt" inside a metadata timeout).
 * @throws ConfigError naming the settings (never the password)
 */
function checkSecureContext(options: ConnectionOptions, config: TlsConfig): void {
  if (options.secureContext !== undefined) return;
  try {
    createSecureContext(options);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const key = !config.sslKeyPem.isEmpty ? 'ssl.key.pem' : `ssl.key.location=${config.sslKeyLocation}`;
    const cert = config.sslCertificatePem !== '' ? 'ssl.certificate.pem' : `ssl.certificate.location=${config.sslCertificateLocation}`;
    if (e.code === 'ERR_OSSL_BAD_DECRYPT') {
      throw new ConfigError(`ssl.key.password: cannot decrypt the private key (${key}): the password is ${config.sslKeyPassword.isEmpty ? 'missing' : 'wrong'}`);
    }
    if (e.code === 'ERR_OSSL_X509_KEY_VALUES_MISMATCH') throw new ConfigError(`the private key (${key}) is not the key of the certificate (${cert})`);
    throw new ConfigError(`TLS settings (ssl.*, ProducerOptions.tls) rejected: ${e.message} (${e.code ?? 'no code'})`);
  }
}

/** Opens TLS connections with `options` (SNI from the host name, unless `options.servername` names one for every broker). */
export function tlsSocketOpener(options: ConnectionOptions): SocketOpener {
  return (host: string, port: number): Socket => tlsConnect({ ...options, host, port, servername: options.servername ?? (isIP(host) === 0 ? host : undefined) });
}

function pemOf(path: string, setting: string): string {
  if (path === '') return '';
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`${setting}: cannot read ${path}: ${(err as Error).message}`);
  }
}
