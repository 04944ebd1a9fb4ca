/**
 * createNetworkClient's SASL settings: credentials from `sasl.jaas.config` read as Kafka's
 * `JaasConfig` reads them (double- or single-quoted values with backslash escapes, or bare
 * words), seen from a fake broker that records the PLAIN token the producer sends.
 */
import { expect } from 'chai';
import { createServer, type Server } from 'node:net';
import { ConfigError, SaslAuthenticationError } from '../../../packages/core/src/errors.js';
import { Producer } from '../../../packages/core/src/producer.js';
import { ApiKey } from '../../../packages/core/src/protocol/api-keys.js';
import { int16, int32, kafkaString, serveKafka } from '../../brokers/secured/fake-kafka-peer.js';

describe('createNetworkClient() SASL settings', () => {
  let server: Server;
  let port: number;
  let tokens: string[];

  beforeEach(async () => {
    tokens = [];
    server = createServer((socket) =>
      serveKafka(
        socket,
        [
          [ApiKey.API_VERSIONS, 0, 0],
          [ApiKey.SASL_HANDSHAKE, 1, 1],
          [ApiKey.SASL_AUTHENTICATE, 0, 0],
        ],
        (request, respond) => {
          if (request.apiKey === ApiKey.SASL_HANDSHAKE) respond(Buffer.concat([int16(0), int32(1), kafkaString('PLAIN')]));
          if (request.apiKey === ApiKey.SASL_AUTHENTICATE) {
            tokens.push(request.body.toString('utf8', 4, 4 + request.body.readInt32BE(0)));
            // SASL_AUTHENTICATION_FAILED: the producer stops at once, the token is all we need.
            respond(Buffer.concat([int16(58), kafkaString('Authentication failed: Invalid username or password'), int32(0)]));
          }
        },
      ),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
  });

  afterEach(() => new Promise<void>((r) => server.close(() => r())));

  /** The PLAIN token a producer with `jaas` sends. */
  async function plainTokenFor(jaas: string): Promise<string> {
    const producer = new Producer({
      config: { 'bootstrap.servers': `127.0.0.1:${port}`, 'security.protocol': 'SASL_PLAINTEXT', 'sasl.mechanism': 'PLAIN', 'sasl.jaas.config': jaas, 'max.block.ms': 5000 },
    });
    try {
      const error = await producer.send({ topic: 't', value: 'v' }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(SaslAuthenticationError);
    } finally {
      await producer.close();
    }
    expect(tokens).to.have.length(1);
    return tokens[0];
  }

  const PLAIN_MODULE = 'org.apache.kafka.common.security.plain.PlainLoginModule required';

  it('reads double-quoted values with backslash escapes, as Kafka’s JaasConfig (StreamTokenizer) does', async () => {
    expect(await plainTokenFor(`${PLAIN_MODULE} username="alice" password="pa\\"ss\\\\word";`)).to.equal('\0alice\0pa"ss\\word');
  });

  it('reads single-quoted values and bare words', async () => {
    expect(await plainTokenFor(`${PLAIN_MODULE} username='alice' password='two words';`)).to.equal('\0alice\0two words');
    tokens = [];
    expect(await plainTokenFor(`${PLAIN_MODULE} username=alice password=s3cret;`)).to.equal('\0alice\0s3cret');
  });

  it('refuses a login module of another mechanism', () => {
    expect(
      () =>
        new Producer({
          config: {
            'bootstrap.servers': `127.0.0.1:${port}`,
            'security.protocol': 'SASL_PLAINTEXT',
            'sasl.mechanism': 'SCRAM-SHA-256',
            'sasl.jaas.config': `${PLAIN_MODULE} username="alice" password="x";`,
          },
        }),
    ).to.throw(ConfigError, 'sasl.jaas.config: sasl.mechanism=SCRAM-SHA-256 needs org.apache.kafka.common.security.scram.ScramLoginModule');
  });
});
