/**
 * TLS for the wire transport: how Kafka's `ssl.*` settings become `node:tls` options, and what
 * the sockets they open do against a local TLS server with certificates made by `openssl` at
 * set-up (valid, expired, for another host, from another CA; a server that requires a client
 * certificate). Certificate failures must come out of a BrokerConnection as one-line
 * SslAuthenticationErrors naming the broker and the reason.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer, type Server, type TLSSocket, type TlsOptions } from 'node:tls';
import { ConfigError, SslAuthenticationError, SluiceError } from '../../../../packages/core/src/errors.js';
import { resolveConfig } from '../../../../packages/core/src/config.js';
import type { ProducerConfigInput } from '../../../../packages/core/src/config.js';
import { BrokerConnection } from '../../../../packages/core/src/network/wire/broker-connection.js';
import { Producer } from '../../../../packages/core/src/producer.js';
import { tlsOptionsFor, tlsSocketOpener } from '../../../../packages/core/src/network/wire/tls-socket.js';
import { ApiKey } from '../../../../packages/core/src/protocol/api-keys.js';
import { findMissingCommands } from '../../../brokers/tracked-process.js';
import { createCertificateAuthority, issueCertificate, type CertificateAuthority, type IssuedCertificate } from '../../../brokers/secured/certificate-factory.js';
import { serveKafka } from '../../../brokers/secured/fake-kafka-peer.js';

const KEY_PASSWORD = 'tls-key-pw-91b2';

describe('TLS sockets (tls-socket.ts)', function () {
  this.timeout(20_000);
  let dir: string;
  let ca: CertificateAuthority;
  let otherCa: CertificateAuthority;
  let server: IssuedCertificate;
  let expired: IssuedCertificate;
  let misnamed: IssuedCertificate;
  let client: IssuedCertificate;
  const servers: Server[] = [];

  before(async function () {
    if (findMissingCommands(['openssl']).length > 0) {
      console.warn('      SKIPPED TLS socket tests: openssl not installed');
      this.skip();
    }
    dir = mkdtempSync(join(tmpdir(), 'sluice-tls-test-'));
    ca = await createCertificateAuthority(dir, 'ca');
    otherCa = await createCertificateAuthority(dir, 'other-ca');
    [server, expired, misnamed, client] = await Promise.all([
      issueCertificate(ca, { name: 'server', altNames: ['IP:127.0.0.1', 'DNS:localhost'], usage: 'server' }),
      issueCertificate(ca, { name: 'expired', altNames: ['IP:127.0.0.1', 'DNS:localhost'], usage: 'server', notBefore: new Date('2021-01-01T00:00:00Z'), notAfter: new Date('2021-06-01T00:00:00Z') }),
      issueCertificate(ca, { name: 'misnamed', altNames: ['DNS:kafka.elsewhere.invalid'], usage: 'server' }),
      issueCertificate(ca, { name: 'client', altNames: ['DNS:client.invalid'], usage: 'client', keyPassword: KEY_PASSWORD }),
    ]);
  });

  after(async () => {
    await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  const settings = (input: ProducerConfigInput) => resolveConfig({ 'security.protocol': 'SSL', ...input });

  /** A TLS server on 127.0.0.1 presenting `cert` that speaks just enough Kafka (ApiVersions) for a BrokerConnection. */
  async function tlsBroker(cert: IssuedCertificate, options: TlsOptions = {}): Promise<{ port: number; accepted: TLSSocket[]; protocols: (string | null)[] }> {
    const accepted: TLSSocket[] = [];
    const protocols: (string | null)[] = [];
    const s = createTlsServer({ key: cert.keyPem, cert: cert.certPem, ...options }, (socket) => {
      accepted.push(socket);
      protocols.push(socket.getProtocol());
      serveKafka(socket, [[ApiKey.API_VERSIONS, 0, 0], [ApiKey.METADATA, 0, 4]], () => undefined);
    });
    s.on('tlsClientError', () => undefined);
    servers.push(s);
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    return { port: (s.address() as { port: number }).port, accepted, protocols };
  }

  function connection(port: number, input: ProducerConfigInput, host = '127.0.0.1'): BrokerConnection {
    return new BrokerConnection({
      host,
      port,
      nodeId: 7,
      clientId: 'tls-test',
      requestTimeoutMs: 5000,
      setupTimeoutMs: 5000,
      maxInFlight: 5,
      openSocket: tlsSocketOpener(tlsOptionsFor(settings(input))),
    });
  }

  async function setupError(c: BrokerConnection): Promise<SluiceError> {
    try {
      await c.connect();
    } catch (err) {
      return err as SluiceError;
    } finally {
      c.close();
    }
    expect.fail('the connection must fail');
  }

  describe('tlsOptionsFor()', () => {
    it('reads ssl.ca.location now and adds ssl.ca.pem; without either Node keeps its default CAs', () => {
      expect(tlsOptionsFor(settings({ 'ssl.ca.location': ca.certFile, 'ssl.ca.pem': otherCa.certPem })).ca).to.deep.equal([ca.certPem, otherCa.certPem]);
      expect(tlsOptionsFor(settings({ 'ssl.truststore.certificates': ca.certPem })).ca).to.deep.equal([ca.certPem]);
      expect(tlsOptionsFor(settings({}))).to.not.have.property('ca');
    });

    it('takes the client certificate and key from files or PEM text (the text wins), and ssl.key.password as the passphrase', () => {
      const fromFiles = tlsOptionsFor(
        settings({ 'ssl.certificate.location': client.certFile, 'ssl.key.location': client.encryptedKeyFile!, 'ssl.key.password': KEY_PASSWORD }),
      );
      expect(fromFiles.cert).to.equal(client.certPem);
      expect(fromFiles.key).to.match(/^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
      expect(fromFiles.passphrase).to.equal(KEY_PASSWORD);
      const fromText = tlsOptionsFor(
        settings({ 'ssl.certificate.location': '/nonexistent.crt', 'ssl.certificate.pem': client.certPem, 'ssl.key.location': '/nonexistent.key', 'ssl.key.pem': client.keyPem }),
      );
      expect(fromText.cert).to.equal(client.certPem);
      expect(fromText.key).to.equal(client.keyPem);
      expect(fromText).to.not.have.property('passphrase');
    });

    it('fails with a ConfigError naming the setting and the path when a file cannot be read', () => {
      for (const setting of ['ssl.ca.location', 'ssl.certificate.location', 'ssl.key.location'] as const) {
        const other = setting === 'ssl.certificate.location' ? { 'ssl.key.pem': client.keyPem } : setting === 'ssl.key.location' ? { 'ssl.certificate.pem': client.certPem } : {};
        expect(() => tlsOptionsFor(settings({ [setting]: join(dir, 'missing.pem'), ...other })), setting)
          .to.throw(ConfigError, `${setting}: cannot read ${join(dir, 'missing.pem')}`);
      }
    });

    it('refuses a certificate without its key and a key without its certificate', () => {
      expect(() => tlsOptionsFor(settings({ 'ssl.certificate.location': client.certFile }))).to.throw(ConfigError, 'no private key');
      expect(() => tlsOptionsFor(settings({ 'ssl.key.location': client.keyFile }))).to.throw(ConfigError, 'no client certificate');
    });

    it('maps ssl.enabled.protocols onto minVersion/maxVersion (any case), refusing unknown and empty lists', () => {
      expect(tlsOptionsFor(settings({}))).to.include({ minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3' });
      expect(tlsOptionsFor(settings({ 'ssl.enabled.protocols': ['tlsv1.3'] }))).to.include({ minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' });
      expect(tlsOptionsFor(settings({ 'ssl.enabled.protocols': ['TLSv1.3', 'TLSv1.1'] }))).to.include({ minVersion: 'TLSv1.1', maxVersion: 'TLSv1.3' });
      expect(() => tlsOptionsFor(settings({ 'ssl.enabled.protocols': ['SSLv3'] }))).to.throw(ConfigError, 'ssl.enabled.protocols: unknown protocol "SSLv3"');
      expect(() => tlsOptionsFor(settings({ 'ssl.enabled.protocols': [] }))).to.throw(ConfigError, 'ssl.enabled.protocols: no protocol enabled');
    });

    it("leaves the host-name check to Node for ssl.endpoint.identification.algorithm=https and turns it off for ''", () => {
      expect(tlsOptionsFor(settings({}))).to.not.have.property('checkServerIdentity');
      const off = tlsOptionsFor(settings({ 'ssl.endpoint.identification.algorithm': '' }));
      expect(off.checkServerIdentity?.('127.0.0.1', {} as never)).to.equal(undefined);
    });

    it("applies Node's own options last", () => {
      const options = tlsOptionsFor(settings({ 'ssl.ca.location': ca.certFile }), { ca: [otherCa.certPem], maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' });
      expect(options.ca).to.deep.equal([otherCa.certPem]);
      expect(options).to.include({ minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' });
    });

    it('fails with a ConfigError naming ssl.key.password when the key does not decrypt, when the producer is built (not on connecting)', () => {
      const input = { 'ssl.certificate.location': client.certFile, 'ssl.key.location': client.encryptedKeyFile! };
      expect(() => tlsOptionsFor(settings({ ...input, 'ssl.key.password': 'not-the-password' }))).to.throw(
        ConfigError,
        `ssl.key.password: cannot decrypt the private key (ssl.key.location=${client.encryptedKeyFile}): the password is wrong`,
      );
      expect(() => tlsOptionsFor(settings(input))).to.throw(ConfigError, 'the password is missing');
      expect(() => new Producer({ config: { 'bootstrap.servers': '127.0.0.1:1', 'security.protocol': 'SSL', ...input, 'ssl.key.password': 'not-the-password' } })).to.throw(
        ConfigError,
        'ssl.key.password',
      );
    });

    it("fails with a ConfigError when the key is not the certificate's, or Node refuses the options", () => {
      expect(() => tlsOptionsFor(settings({ 'ssl.certificate.pem': client.certPem, 'ssl.key.pem': server.keyPem }))).to.throw(
        ConfigError,
        'the private key (ssl.key.pem) is not the key of the certificate (ssl.certificate.pem)',
      );
      expect(() => tlsOptionsFor(settings({ 'ssl.certificate.pem': 'not a certificate', 'ssl.key.pem': client.keyPem }))).to.throw(ConfigError, 'TLS settings (ssl.*, ProducerOptions.tls) rejected');
    });

    it('never puts the key password in an error message', () => {
      expect(() => tlsOptionsFor(settings({ 'ssl.key.location': join(dir, 'missing.key'), 'ssl.certificate.pem': client.certPem, 'ssl.key.password': KEY_PASSWORD })))
        .to.throw(ConfigError)
        .with.property('message')
        .that.does.not.include(KEY_PASSWORD);
    });
  });

  describe('tlsSocketOpener() with a BrokerConnection', () => {
    it('connects to a broker whose certificate the CA signed, sending SNI for a host name and none for an IP address', async () => {
      const broker = await tlsBroker(server);
      for (const host of ['localhost', '127.0.0.1']) {
        const c = connection(broker.port, { 'ssl.ca.location': ca.certFile }, host);
        await c.connect();
        expect(c.isReady).to.equal(true);
        expect(c.versionFor(ApiKey.METADATA)).to.equal(4);
        c.close();
      }
      expect(broker.accepted.map((s) => s.servername)).to.deep.equal(['localhost', false]);
    });

    it("keeps a servername given in Node's own options: SNI and the host-name check use it, also for an IP address", async () => {
      const broker = await tlsBroker(misnamed);
      const c = new BrokerConnection({
        host: '127.0.0.1',
        port: broker.port,
        nodeId: 7,
        clientId: 'tls-test',
        requestTimeoutMs: 5000,
        setupTimeoutMs: 5000,
        maxInFlight: 5,
        openSocket: tlsSocketOpener(tlsOptionsFor(settings({ 'ssl.ca.location': ca.certFile }), { servername: 'kafka.elsewhere.invalid' })),
      });
      await c.connect();
      c.close();
      expect(broker.accepted.map((s) => s.servername)).to.deep.equal(['kafka.elsewhere.invalid']);
    });

    it('negotiates only the versions in ssl.enabled.protocols', async () => {
      const broker = await tlsBroker(server);
      for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
        const c = connection(broker.port, { 'ssl.ca.location': ca.certFile, 'ssl.enabled.protocols': [version] });
        await c.connect();
        c.close();
      }
      expect(broker.protocols).to.deep.equal(['TLSv1.2', 'TLSv1.3']);
    });

    it('presents the client certificate with an encrypted key to a broker that requires one', async () => {
      const broker = await tlsBroker(server, { requestCert: true, rejectUnauthorized: true, ca: [ca.certPem] });
      const c = connection(broker.port, { 'ssl.ca.location': ca.certFile, 'ssl.certificate.location': client.certFile, 'ssl.key.location': client.encryptedKeyFile!, 'ssl.key.password': KEY_PASSWORD });
      await c.connect();
      c.close();
      expect(broker.accepted[0].getPeerCertificate().subject.CN).to.equal('client');
    });

    const certificateFailures = [
      { what: 'an expired certificate', cert: () => expired, input: () => ({ 'ssl.ca.location': ca.certFile }), code: 'CERT_HAS_EXPIRED', says: 'certificate has expired' },
      { what: 'a certificate from a CA not trusted', cert: () => server, input: () => ({ 'ssl.ca.location': otherCa.certFile }), code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', says: 'unable to verify the first certificate' },
      { what: 'a certificate for another host', cert: () => misnamed, input: () => ({ 'ssl.ca.location': ca.certFile }), code: 'ERR_TLS_CERT_ALTNAME_INVALID', says: "IP: 127.0.0.1 is not in the cert's list" },
    ];
    for (const f of certificateFailures) {
      it(`fails on ${f.what} with an SslAuthenticationError naming the broker and the reason, at once`, async () => {
        const broker = await tlsBroker(f.cert());
        const startMs = performance.now();
        const error = await setupError(connection(broker.port, f.input()));
        expect(performance.now() - startMs).to.be.below(1000);
        expect(error).to.be.instanceOf(SslAuthenticationError);
        expect((error as SslAuthenticationError).tlsCode).to.equal(f.code);
        expect(error.message).to.include(`TLS handshake with 127.0.0.1:${broker.port} (node 7) failed`).and.include(f.says).and.include(`(${f.code})`);
        expect(error.message).to.not.include('\n');
      });
    }

    it('connects to a misnamed broker when ssl.endpoint.identification.algorithm is empty', async () => {
      const broker = await tlsBroker(misnamed);
      const c = connection(broker.port, { 'ssl.ca.location': ca.certFile, 'ssl.endpoint.identification.algorithm': '' });
      await c.connect();
      c.close();
    });

    it('says the broker refused the handshake, in one line, when it requires a client certificate and gets none (TLS alert)', async () => {
      const broker = await tlsBroker(server, { requestCert: true, rejectUnauthorized: true, ca: [ca.certPem] });
      const error = await setupError(connection(broker.port, { 'ssl.ca.location': ca.certFile }));
      expect(error).to.be.instanceOf(SslAuthenticationError);
      expect((error as SslAuthenticationError).tlsCode).to.equal('ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED');
      expect(error.message).to.equal(
        `TLS handshake with 127.0.0.1:${broker.port} (node 7) failed: the broker refused it with TLS alert "certificate required" ` +
          '(it wants a client certificate it trusts: ssl.certificate.location and ssl.key.location) (ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED)',
      );
    });

    it('names the ssl.enabled.protocols setting when the broker refuses the TLS version (alert protocol version)', async () => {
      const broker = await tlsBroker(server, { minVersion: 'TLSv1.3' });
      const error = await setupError(connection(broker.port, { 'ssl.ca.location': ca.certFile, 'ssl.enabled.protocols': ['TLSv1.2'] }));
      expect(error).to.be.instanceOf(SslAuthenticationError);
      expect(error.message).to.equal(
        `TLS handshake with 127.0.0.1:${broker.port} (node 7) failed: the broker refused it with TLS alert "protocol version" (no TLS version in common: ssl.enabled.protocols) (${(error as SslAuthenticationError).tlsCode})`,
      );
    });
  });
});
