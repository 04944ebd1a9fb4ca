/**
 * Sluice's producer over TLS and SASL against a real Apache Kafka 4.x broker: ONE broker with a
 * listener per case (SSL with client authentication, SASL_PLAINTEXT with PLAIN and both SCRAMs,
 * SASL_SSL, OAUTHBEARER with a 2 s `connections.max.reauth.ms`, and SSL listeners with an
 * expired and a misnamed certificate), certificates from a throwaway CA made with `openssl` at
 * set-up, SCRAM users made with Kafka's own ConfigCommand. What Sluice delivers is read back
 * with kcat (librdkafka) over the same listener.
 *
 * Failures are checked from outside: a counting TCP proxy in front of the bootstrap address
 * sees every connection attempt, kcat over the PLAINTEXT listener sees that nothing arrived.
 *
 * kcat and SCRAM: Debian's kcat links librdkafka 2.0.2, whose SCRAM client-final message
 * repeats the client nonce; Kafka 4.x compares nonces strictly (RFC 5802) and refuses it
 * (librdkafka#4895, fixed in 2.6.1; kcat#462). So kcat reads SCRAM-produced topics with PLAIN
 * over the same listener.
 *
 * Skipped, naming the missing command, only when java, kcat or openssl is not installed.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { startKafkaCluster, PLAINTEXT_LISTENER, type KafkaCluster, type ListenerSpec } from '../brokers/kafka-broker.js';
import { consumeAll } from '../brokers/kcat.js';
import { freePorts } from '../brokers/free-ports.js';
import { findMissingCommands } from '../brokers/tracked-process.js';
import { createCertificateAuthority, issueCertificate, type CertificateAuthority, type IssuedCertificate } from '../brokers/secured/certificate-factory.js';
import { startCountingProxy, type CountingProxy } from '../brokers/secured/counting-proxy.js';
import { createScramUser } from '../brokers/secured/scram-users.js';
import { unsecuredJwt } from '../brokers/secured/unsecured-jwt.js';
import { Producer, type ProducerOptions } from '../../packages/core/src/producer.js';
import type { ProducerConfigInput } from '../../packages/core/src/config.js';
import { AuthenticationError, SaslAuthenticationError, SslAuthenticationError, SluiceError } from '../../packages/core/src/errors.js';
import type { OAuthBearerToken } from '../../packages/core/src/network/wire/sasl-authenticator.js';

const USER = 'alice';
const PASSWORD = 'alice-pw-7f3e9c';
const WRONG_PASSWORD = 'wrong-pw-51d0aa';
const KEY_PASSWORD = 'key-pw-c0ffee';
/** The OAUTHBEARER listener's session lifetime (`connections.max.reauth.ms`). */
const REAUTH_MS = 2000;
/** The failing producers' `max.block.ms`: an authentication failure must surface well within it. */
const MAX_BLOCK_MS = 5000;

const LISTENERS: readonly ListenerSpec[] = [
  { name: 'SSL', securityProtocol: 'SSL' },
  { name: 'SASL_PLAINTEXT', securityProtocol: 'SASL_PLAINTEXT' },
  { name: 'SASL_SSL', securityProtocol: 'SASL_SSL' },
  { name: 'OAUTH', securityProtocol: 'SASL_PLAINTEXT' },
  { name: 'EXPIRED', securityProtocol: 'SSL' },
  { name: 'MISNAMED', securityProtocol: 'SSL' },
];

const SCRAM_JAAS = 'org.apache.kafka.common.security.scram.ScramLoginModule required;';
const PLAIN_JAAS = `org.apache.kafka.common.security.plain.PlainLoginModule required user_${USER}="${PASSWORD}";`;
const OAUTH_JAAS = 'org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub="admin";';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Skips the calling hook's suite with a visible reason when `commands` are missing. */
function skipUnlessInstalled(context: Mocha.Context, commands: readonly string[]): void {
  const missing = findMissingCommands(commands);
  if (missing.length === 0) return;
  console.warn(`      SKIPPED secured Kafka: ${missing.join(', ')} not installed`);
  context.skip();
}

/** The error `promise` rejects with, and how long it took; fails the test when it resolves. */
async function rejection(promise: Promise<unknown>): Promise<{ error: Error; elapsedMs: number }> {
  const startMs = performance.now();
  try {
    await promise;
  } catch (error) {
    return { error: error as Error, elapsedMs: performance.now() - startMs };
  }
  expect.fail('expected a rejection');
}

/** Every string form of an error a log line or crash report could show. */
function renderings(error: unknown): string {
  return [String(error), (error as Error).stack ?? '', inspect(error, { depth: 10 }), JSON.stringify(error)].join('\n');
}

describe('Producer over TLS and SASL against Kafka 4.x (one broker, a listener per case; read back with kcat)', function () {
  this.timeout(60_000);
  let dir: string;
  let kafka: KafkaCluster;
  let ca: CertificateAuthority;
  let otherCa: CertificateAuthority;
  let client: IssuedCertificate;
  /** In front of the OAUTH listener, which advertises it: sees every connection of a client there. */
  let oauthProxy: CountingProxy;
  const proxies: CountingProxy[] = [];
  const producers: Producer[] = [];
  let topicCount = 0;

  /** A fresh topic (one partition) for one test. */
  async function newTopic(): Promise<string> {
    const topic = `secured-${++topicCount}`;
    await kafka.createTopic(topic, 1, 1);
    return topic;
  }

  function producer(options: ProducerOptions): Producer {
    const p = new Producer(options);
    producers.push(p);
    return p;
  }

  /** A counting proxy to `listener`'s port, closed after the file. */
  async function proxyTo(listener: string, drop?: { connections: number; atRequest: number }): Promise<CountingProxy> {
    const proxy = await startCountingProxy({ targetPort: kafka.nodes[0].ports[listener], drop });
    proxies.push(proxy);
    return proxy;
  }

  /** kcat's `-X` settings for a listener (kcat has its own client certificate, and uses PLAIN on SASL listeners; see the file header). */
  function kcatSecurity(listener: string): string[] {
    const x = (settings: Record<string, string>): string[] => Object.entries(settings).flatMap(([k, v]) => ['-X', `${k}=${v}`]);
    const plain = { 'sasl.mechanisms': 'PLAIN', 'sasl.username': USER, 'sasl.password': PASSWORD };
    switch (listener) {
      case 'SSL':
        return x({ 'security.protocol': 'SSL', 'ssl.ca.location': ca.certFile, 'ssl.certificate.location': client.certFile, 'ssl.key.location': client.keyFile });
      case 'SASL_PLAINTEXT':
        return x({ 'security.protocol': 'SASL_PLAINTEXT', ...plain });
      case 'SASL_SSL':
        return x({ 'security.protocol': 'SASL_SSL', 'ssl.ca.location': ca.certFile, ...plain });
      case 'OAUTH':
        return x({ 'security.protocol': 'SASL_PLAINTEXT', 'sasl.mechanisms': 'OAUTHBEARER', 'enable.sasl.oauthbearer.unsecure.jwt': 'true', 'sasl.oauthbearer.config': 'principal=admin' });
      case 'MISNAMED':
        return x({ 'security.protocol': 'SSL', 'ssl.ca.location': ca.certFile, 'ssl.endpoint.identification.algorithm': 'none' });
      default:
        return [];
    }
  }

  /** Reads `topic` back with kcat over `listener` and checks it holds exactly `values`, in order. */
  async function expectReadBack(listener: string, topic: string, values: readonly string[]): Promise<void> {
    const records = await consumeAll({ bootstrap: kafka.bootstrapFor(listener), topic, count: values.length, timeoutMs: 20_000, securityArgs: kcatSecurity(listener) });
    expect(records.map((r) => r.value?.toString('utf8'))).to.deep.equal(values);
  }

  /** Checks with kcat over PLAINTEXT that `topic` holds no record. */
  async function expectEmpty(topic: string): Promise<void> {
    const records = await consumeAll({ bootstrap: kafka.bootstrapFor(PLAINTEXT_LISTENER), topic, exitAtEnd: true, timeoutMs: 20_000 });
    expect(records, `records in ${topic}`).to.have.length(0);
  }

  /** Sends `count` records and returns their values once all are acknowledged. */
  async function sendAll(p: Producer, topic: string, count: number, tag: string): Promise<string[]> {
    const values = Array.from({ length: count }, (_, i) => `${tag}-${i}`);
    const offsets = await Promise.all(values.map((value) => p.send({ topic, value }).then((md) => md.offset)));
    expect(offsets).to.deep.equal(values.map((_, i) => i));
    return values;
  }

  before(async function () {
    this.timeout(120_000);
    skipUnlessInstalled(this, ['java', 'kcat', 'openssl']);
    dir = mkdtempSync(join(tmpdir(), 'sluice-secured-'));
    ca = await createCertificateAuthority(dir, 'sluice-test-ca');
    otherCa = await createCertificateAuthority(dir, 'another-ca');
    const [brokerCert, expired, misnamed, clientCert] = await Promise.all([
      issueCertificate(ca, { name: 'broker', altNames: ['IP:127.0.0.1', 'DNS:localhost'], usage: 'server' }),
      issueCertificate(ca, { name: 'broker-expired', altNames: ['IP:127.0.0.1', 'DNS:localhost'], usage: 'server', notBefore: new Date('2020-01-01T00:00:00Z'), notAfter: new Date('2020-02-01T00:00:00Z') }),
      issueCertificate(ca, { name: 'broker-misnamed', altNames: ['DNS:kafka.elsewhere.invalid'], usage: 'server' }),
      issueCertificate(ca, { name: 'client', altNames: ['DNS:client.invalid'], usage: 'client', keyPassword: KEY_PASSWORD }),
    ]);
    client = clientCert;
    // The OAUTH listener is advertised at a proxy (bound now, pointed at the broker once it runs).
    oauthProxy = await startCountingProxy({ port: (await freePorts(1))[0] });
    proxies.push(oauthProxy);
    kafka = await startKafkaCluster({
      listeners: LISTENERS,
      brokerConfig: {
        'ssl.keystore.type': 'PEM',
        'ssl.keystore.location': brokerCert.keystoreFile,
        'ssl.truststore.type': 'PEM',
        'ssl.truststore.location': ca.certFile,
        'listener.name.ssl.ssl.client.auth': 'required',
        'listener.name.expired.ssl.keystore.location': expired.keystoreFile,
        'listener.name.misnamed.ssl.keystore.location': misnamed.keystoreFile,
        'listener.name.sasl_plaintext.sasl.enabled.mechanisms': 'PLAIN,SCRAM-SHA-256,SCRAM-SHA-512',
        'listener.name.sasl_plaintext.plain.sasl.jaas.config': PLAIN_JAAS,
        'listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config': SCRAM_JAAS,
        'listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config': SCRAM_JAAS,
        'listener.name.sasl_ssl.sasl.enabled.mechanisms': 'PLAIN,SCRAM-SHA-512',
        'listener.name.sasl_ssl.plain.sasl.jaas.config': PLAIN_JAAS,
        'listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config': SCRAM_JAAS,
        'listener.name.oauth.sasl.enabled.mechanisms': 'OAUTHBEARER',
        'listener.name.oauth.oauthbearer.sasl.jaas.config': OAUTH_JAAS,
        'listener.name.oauth.oauthbearer.connections.max.reauth.ms': String(REAUTH_MS),
      },
      nodeConfig: ({ ports }) => ({
        'advertised.listeners': [PLAINTEXT_LISTENER, ...LISTENERS.map((l) => l.name)]
          .map((name) => `${name}://127.0.0.1:${name === 'OAUTH' ? oauthProxy.port : ports[name]}`)
          .join(','),
      }),
    });
    oauthProxy.retarget(kafka.nodes[0].ports.OAUTH);
    await createScramUser({ bootstrap: kafka.bootstrapServers, username: USER, password: PASSWORD });
  });

  after(async function () {
    this.timeout(30_000);
    await Promise.all(producers.map((p) => p.close().catch(() => undefined)));
    await Promise.all(proxies.map((p) => p.close()));
    await kafka?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  describe('delivering', () => {
    it('SSL with a client certificate and an encrypted key (ssl.key.password), the broker requiring client authentication', async () => {
      const topic = await newTopic();
      const p = producer({
        config: {
          'bootstrap.servers': kafka.bootstrapFor('SSL'),
          'security.protocol': 'SSL',
          'ssl.ca.location': ca.certFile,
          'ssl.certificate.location': client.certFile,
          'ssl.key.location': client.encryptedKeyFile!,
          'ssl.key.password': KEY_PASSWORD,
          'linger.ms': 5,
        },
      });
      const values = await sendAll(p, topic, 50, 'ssl');
      await p.close();
      await expectReadBack('SSL', topic, values);
    });

    it('SSL with PEM text instead of files (Kafka names: ssl.truststore.certificates, ssl.keystore.certificate.chain, ssl.keystore.key)', async () => {
      const topic = await newTopic();
      const p = producer({
        config: {
          'bootstrap.servers': kafka.bootstrapFor('SSL'),
          'security.protocol': 'SSL',
          'ssl.truststore.certificates': ca.certPem,
          'ssl.keystore.certificate.chain': client.certPem,
          'ssl.keystore.key': client.keyPem,
        },
      });
      const values = await sendAll(p, topic, 10, 'pem');
      await p.close();
      await expectReadBack('SSL', topic, values);
    });

    it("Node's own tls.ConnectionOptions (ProducerOptions.tls) win over ssl.*: the right CA there, another in ssl.ca.location", async () => {
      const topic = await newTopic();
      const p = producer({
        config: {
          'bootstrap.servers': kafka.bootstrapFor('SASL_SSL'),
          'security.protocol': 'SASL_SSL',
          'ssl.ca.location': otherCa.certFile,
          'sasl.mechanism': 'PLAIN',
          'sasl.username': USER,
          'sasl.password': PASSWORD,
        },
        tls: { ca: [ca.certPem], minVersion: 'TLSv1.3' },
      });
      const values = await sendAll(p, topic, 10, 'node-tls');
      await p.close();
      await expectReadBack('SASL_SSL', topic, values);
    });

    it('SSL to a listener whose certificate names another host, with ssl.endpoint.identification.algorithm empty (the check off)', async () => {
      const topic = await newTopic();
      const p = producer({
        config: { 'bootstrap.servers': kafka.bootstrapFor('MISNAMED'), 'security.protocol': 'SSL', 'ssl.ca.location': ca.certFile, 'ssl.endpoint.identification.algorithm': '' },
      });
      const values = await sendAll(p, topic, 10, 'misnamed-off');
      await p.close();
      await expectReadBack('MISNAMED', topic, values);
    });

    for (const mechanism of ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const) {
      it(`SASL_PLAINTEXT with ${mechanism}`, async () => {
        const topic = await newTopic();
        const p = producer({
          config: {
            'bootstrap.servers': kafka.bootstrapFor('SASL_PLAINTEXT'),
            'security.protocol': 'SASL_PLAINTEXT',
            'sasl.mechanism': mechanism,
            'sasl.username': USER,
            'sasl.password': PASSWORD,
            'linger.ms': 5,
          },
        });
        const values = await sendAll(p, topic, 50, mechanism);
        await p.close();
        await expectReadBack('SASL_PLAINTEXT', topic, values);
      });
    }

    it('SASL_SSL with SCRAM-SHA-512 from sasl.jaas.config', async () => {
      const topic = await newTopic();
      const p = producer({
        config: {
          'bootstrap.servers': kafka.bootstrapFor('SASL_SSL'),
          'security.protocol': 'SASL_SSL',
          'ssl.ca.location': ca.certFile,
          'sasl.mechanism': 'SCRAM-SHA-512',
          'sasl.jaas.config': `org.apache.kafka.common.security.scram.ScramLoginModule required username="${USER}" password="${PASSWORD}";`,
        },
      });
      const values = await sendAll(p, topic, 50, 'sasl-ssl');
      await p.close();
      await expectReadBack('SASL_SSL', topic, values);
    });

    it('retries with backoff when the broker drops the connection during the SASL handshake, then delivers', async () => {
      const topic = await newTopic();
      // The first two connections are cut as the client starts SaslHandshake (request 1, after ApiVersions).
      const proxy = await proxyTo('SASL_PLAINTEXT', { connections: 2, atRequest: 1 });
      const p = producer({
        config: {
          'bootstrap.servers': proxy.address,
          'security.protocol': 'SASL_PLAINTEXT',
          'sasl.mechanism': 'SCRAM-SHA-256',
          'sasl.username': USER,
          'sasl.password': PASSWORD,
          'reconnect.backoff.ms': 200,
          'max.block.ms': MAX_BLOCK_MS,
        },
      });
      const values = await sendAll(p, topic, 5, 'dropped');
      expect(proxy.accepted, 'two cut, the third authenticated').to.equal(3);
      const gaps = proxy.acceptedAtMs.slice(1).map((t, i) => t - proxy.acceptedAtMs[i]);
      // reconnect.backoff.ms=200 with Kafka's ±20 % jitter, growing.
      for (const gap of gaps) expect(gap, `gaps ${gaps.map(Math.round).join(', ')} ms`).to.be.at.least(150);
      await p.close();
      await expectReadBack('SASL_PLAINTEXT', topic, values);
    });

    it('OAUTHBEARER: re-authenticates on the same connection before connections.max.reauth.ms ends (token provider called again, no connection lost, no record failed)', async function () {
      this.timeout(30_000);
      const topic = await newTopic();
      const tokens: OAuthBearerToken[] = [];
      const p = producer({
        config: { 'bootstrap.servers': oauthProxy.address, 'security.protocol': 'SASL_PLAINTEXT', 'sasl.mechanism': 'OAUTHBEARER', 'linger.ms': 5, acks: 'all' },
        oauthBearerTokenProvider: async () => {
          const nowMs = Date.now();
          // The token outlives the run: the broker's 2 s session lifetime is what expires.
          const token = { value: unsecuredJwt({ subject: 'admin', issuedAtMs: nowMs, expiresAtMs: nowMs + 3_600_000 }), lifetimeMs: nowMs + 3_600_000 };
          tokens.push(token);
          return token;
        },
      });
      const before = oauthProxy.accepted;
      const values: string[] = [];
      const pending: Promise<unknown>[] = [];
      const endMs = performance.now() + 5_000;
      for (let i = 0; performance.now() < endMs; i++) {
        values.push(`oauth-${i}`);
        pending.push(p.send({ topic, value: `oauth-${i}` }));
        await sleep(10);
      }
      const outcomes = await Promise.allSettled(pending);
      const failed = outcomes.filter((o) => o.status === 'rejected');
      expect(failed, `first failure: ${String((failed[0] as PromiseRejectedResult | undefined)?.reason)}`).to.have.length(0);
      const metrics = p.metrics();
      expect(metrics['record-error-total']).to.equal(0);
      expect(metrics['record-retry-total'], 'no record retried (no connection lost under it)').to.equal(0);
      // The bootstrap connection and the broker's, nothing re-opened: Kafka closes a connection
      // whose session expired at its next request (KIP-368), so the broker connection, busy
      // for 5 s of 2 s sessions, re-authenticated in band.
      expect(oauthProxy.accepted - before, `connections opened at ${oauthProxy.acceptedAtMs.map(Math.round).join(', ')} ms`).to.equal(2);
      expect(oauthProxy.open, 'connections still open').to.be.within(1, 2);
      // One token per connection, and a fresh one for each re-authentication.
      expect(tokens.length - 2, 're-authentications').to.be.at.least(2);
      await p.close();
      await expectReadBack('OAUTH', topic, values);
    });
  });

  describe('failing clearly, at once, without a retry storm, sending nothing', () => {
    interface FailureCase {
      readonly title: string;
      readonly listener: string;
      /** Settings besides bootstrap.servers and max.block.ms (a function: the CAs exist only once the suite runs). */
      readonly config: () => ProducerConfigInput;
      readonly options?: Partial<ProducerOptions>;
      readonly errorClass: typeof SaslAuthenticationError | typeof SslAuthenticationError;
      /** What the message must say (besides the broker's address). */
      readonly says: readonly (string | RegExp)[];
      /** Node's TLS error code, for an SslAuthenticationError. */
      readonly tlsCode?: string;
    }
    const sasl = (mechanism: 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512', username: string, password: string) => (): ProducerConfigInput => ({
      'security.protocol': 'SASL_PLAINTEXT',
      'sasl.mechanism': mechanism,
      'sasl.username': username,
      'sasl.password': password,
    });
    const cases: readonly FailureCase[] = [
      {
        title: 'a wrong password (SCRAM-SHA-256)',
        listener: 'SASL_PLAINTEXT',
        config: sasl('SCRAM-SHA-256', USER, WRONG_PASSWORD),
        errorClass: SaslAuthenticationError,
        says: ['SASL SCRAM-SHA-256 authentication failed', 'rejected the credentials', 'invalid credentials'],
      },
      {
        title: 'a wrong password (PLAIN)',
        listener: 'SASL_PLAINTEXT',
        config: sasl('PLAIN', USER, WRONG_PASSWORD),
        errorClass: SaslAuthenticationError,
        says: ['SASL PLAIN authentication failed', 'rejected the credentials'],
      },
      {
        title: 'an unknown user (SCRAM-SHA-512)',
        listener: 'SASL_PLAINTEXT',
        config: sasl('SCRAM-SHA-512', 'mallory', WRONG_PASSWORD),
        errorClass: SaslAuthenticationError,
        says: ['SASL SCRAM-SHA-512 authentication failed', 'rejected the credentials'],
      },
      {
        title: 'a mechanism the listener does not enable',
        listener: 'SASL_SSL',
        config: () => ({ ...sasl('SCRAM-SHA-256', USER, PASSWORD)(), 'security.protocol': 'SASL_SSL', 'ssl.ca.location': ca.certFile }),
        errorClass: SaslAuthenticationError,
        says: ['does not enable SCRAM-SHA-256; it enables PLAIN, SCRAM-SHA-512'],
      },
      {
        title: 'a rejected OAUTHBEARER token (expired)',
        listener: 'OAUTH',
        config: () => ({ 'security.protocol': 'SASL_PLAINTEXT', 'sasl.mechanism': 'OAUTHBEARER' }),
        options: {
          oauthBearerTokenProvider: () => ({ value: unsecuredJwt({ subject: 'admin', issuedAtMs: Date.now() - 7_200_000, expiresAtMs: Date.now() - 3_600_000 }) }),
        },
        errorClass: SaslAuthenticationError,
        says: ['SASL OAUTHBEARER authentication failed', 'invalid_token'],
      },
      {
        title: 'a broker certificate from a CA not trusted (ssl.ca.location names another CA)',
        listener: 'SSL',
        config: () => ({ 'security.protocol': 'SSL', 'ssl.ca.location': otherCa.certFile, 'ssl.certificate.location': client.certFile, 'ssl.key.location': client.keyFile }),
        errorClass: SslAuthenticationError,
        tlsCode: 'SELF_SIGNED_CERT_IN_CHAIN',
        says: ['TLS handshake with', 'self-signed certificate in certificate chain'],
      },
      {
        title: 'an expired broker certificate',
        listener: 'EXPIRED',
        config: () => ({ 'security.protocol': 'SSL', 'ssl.ca.location': ca.certFile }),
        errorClass: SslAuthenticationError,
        tlsCode: 'CERT_HAS_EXPIRED',
        says: ['certificate has expired'],
      },
      {
        title: 'a broker certificate for another host name',
        listener: 'MISNAMED',
        config: () => ({ 'security.protocol': 'SSL', 'ssl.ca.location': ca.certFile }),
        errorClass: SslAuthenticationError,
        tlsCode: 'ERR_TLS_CERT_ALTNAME_INVALID',
        says: ["Hostname/IP does not match certificate's altnames", '127.0.0.1'],
      },
      {
        title: 'no client certificate for a listener that requires one',
        listener: 'SSL',
        config: () => ({ 'security.protocol': 'SSL', 'ssl.ca.location': ca.certFile }),
        errorClass: SslAuthenticationError,
        says: ['TLS handshake with', 'refused'],
      },
    ];

    // Every case's producer fails and then stays open for the same window, all at once (one
    // window instead of nine); each `it` then checks its own case.
    const WATCH_MS = 3_000;
    interface Outcome {
      readonly error: Error;
      readonly elapsedMs: number;
      readonly second: { readonly error: Error; readonly elapsedMs: number };
      /** Connection attempts seen by the proxy from the first send until the window ended. */
      readonly attempts: number;
      readonly attemptTimesMs: readonly number[];
      readonly topic: string;
    }
    const outcomes = new Map<string, Outcome>();

    before(async function () {
      this.timeout(60_000);
      await Promise.all(
        cases.map(async (c) => {
          const topic = await newTopic();
          const proxy = await proxyTo(c.listener);
          const p = producer({ config: { 'bootstrap.servers': proxy.address, 'max.block.ms': MAX_BLOCK_MS, ...c.config() }, ...c.options });
          const startMs = performance.now();
          const first = await rejection(p.send({ topic, value: 'must-not-arrive-1' }));
          const second = await rejection(p.send({ topic, value: 'must-not-arrive-2' }));
          await sleep(Math.max(0, startMs + WATCH_MS - performance.now()));
          outcomes.set(c.title, {
            ...first,
            second,
            attempts: proxy.accepted,
            attemptTimesMs: proxy.acceptedAtMs.map((t) => t - startMs),
            topic,
          });
          await p.close();
        }),
      );
    });

    for (const spec of cases) {
      it(`${spec.title}: a clear error within max.block.ms, later sends fail at once, no reconnect after it, nothing sent`, async () => {
        const o = outcomes.get(spec.title)!;
        expect(o.error, o.error.stack).to.be.instanceOf(spec.errorClass);
        expect(o.error).to.be.instanceOf(AuthenticationError);
        expect(o.error.message).to.match(/127\.0\.0\.1:\d+ \(node -1, bootstrap\)/);
        for (const s of spec.says) expect(o.error.message).to.match(typeof s === 'string' ? new RegExp(s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : s);
        if (spec.tlsCode !== undefined) expect((o.error as SslAuthenticationError).tlsCode).to.equal(spec.tlsCode);
        expect(o.error.message, 'one line').to.not.include('\n');
        expect(o.elapsedMs, 'surfaced long before max.block.ms').to.be.below(MAX_BLOCK_MS / 2);
        // The producer is in its fatal state: the next send fails with the same error, without waiting.
        expect(o.second.error).to.equal(o.error);
        expect(o.second.elapsedMs).to.be.below(50);
        // A failed authentication is fatal: the one connection that failed is the last — no
        // reconnect in the 3 s window, so the broker does not log a failed login per backoff.
        expect(o.attempts, `attempts at ${o.attemptTimesMs.map(Math.round).join(', ')} ms`).to.equal(1);
        for (const secret of [PASSWORD, WRONG_PASSWORD, KEY_PASSWORD]) expect(renderings(o.error)).to.not.include(secret);
        await expectEmpty(o.topic);
      });
    }
  });

  describe('secrets', () => {
    it('never appear in JSON.stringify(producer.config), util.inspect, error messages or metrics', async () => {
      const topic = await newTopic();
      const tokenValue = unsecuredJwt({ subject: 'admin', expiresAtMs: Date.now() + 3_600_000 });
      const jaas = `org.apache.kafka.common.security.scram.ScramLoginModule required username="${USER}" password="${PASSWORD}";`;
      const sslProducer = producer({
        config: {
          'bootstrap.servers': kafka.bootstrapFor('SSL'),
          'security.protocol': 'SSL',
          'ssl.ca.location': ca.certFile,
          'ssl.certificate.location': client.certFile,
          'ssl.key.location': client.encryptedKeyFile!,
          'ssl.key.password': KEY_PASSWORD,
          'ssl.key.pem': client.keyPem,
          'sasl.password': PASSWORD,
          'sasl.jaas.config': jaas,
        },
      });
      const failing = producer({
        config: { 'bootstrap.servers': kafka.bootstrapFor('SASL_SSL'), 'security.protocol': 'SASL_SSL', 'ssl.ca.location': ca.certFile, 'sasl.mechanism': 'SCRAM-SHA-512', 'sasl.username': USER, 'sasl.password': WRONG_PASSWORD },
      });
      const oauth = producer({
        config: { 'bootstrap.servers': oauthProxy.address, 'security.protocol': 'SASL_PLAINTEXT', 'sasl.mechanism': 'OAUTHBEARER' },
        oauthBearerTokenProvider: () => ({ value: tokenValue }),
      });
      await sslProducer.send({ topic, value: 'ok' });
      await oauth.send({ topic, value: 'ok' });
      const { error } = await rejection(failing.send({ topic, value: 'no' }));
      expect(error).to.be.instanceOf(SluiceError);
      const keyBody = client.keyPem.split('\n')[1];
      const shown = [
        ...[sslProducer, failing, oauth].flatMap((p) => [JSON.stringify(p.config), inspect(p.config, { depth: 10 }), String(p.config), JSON.stringify(p.metrics()), inspect(p.metrics())]),
        renderings(error),
      ].join('\n');
      for (const secret of [PASSWORD, WRONG_PASSWORD, KEY_PASSWORD, keyBody, tokenValue, jaas]) expect(shown).to.not.include(secret);
      expect(JSON.stringify(sslProducer.config)).to.include('[hidden]');
    });
  });
});
