import { expect } from 'chai';
import { CONFIG_SPECS, resolveConfig } from '../../packages/core/src/config.js';
import { ConfigError } from '../../packages/core/src/errors.js';

describe('resolveConfig()', () => {
  it('fills in Kafka 4.0 defaults', () => {
    const c = resolveConfig();
    expect(c).to.include({
      batchSize: 16384,
      lingerMs: 5,
      bufferMemory: 32 * 1024 * 1024,
      maxBlockMs: 60000,
      deliveryTimeoutMs: 120000,
      requestTimeoutMs: 30000,
      retryBackoffMs: 100,
      retryBackoffMaxMs: 1000,
      maxRequestSize: 1048576,
      maxInFlightRequestsPerConnection: 5,
      enableIdempotence: true,
      acks: -1,
      compressionType: 'none',
      sealWorkers: 'auto',
    });
  });

  it('accepts camelCase and Kafka dotted names, numbers and numeric strings', () => {
    const c = resolveConfig({ 'batch.size': '32768', lingerMs: 20, acks: 'all', 'enable.idempotence': 'false', 'compression.type': 'zstd' });
    expect(c.batchSize).to.equal(32768);
    expect(c.lingerMs).to.equal(20);
    expect(c.acks).to.equal(-1);
    expect(c.enableIdempotence).to.equal(false);
    expect(c.compressionType).to.equal('zstd');
    expect(resolveConfig({ acks: '1' }).acks).to.equal(1);
    expect(resolveConfig({ acks: 0 }).acks).to.equal(0);
    expect(resolveConfig({ 'seal.workers': '2' }).sealWorkers).to.equal(2);
  });

  const bad: [Record<string, unknown>, RegExp][] = [
    [{ 'batch.sizes': 1 }, /unknown setting "batch.sizes"/],
    [{ 'batch.size': 'big' }, /batch.size: must be an integer, got "big"/],
    [{ lingerMs: -1 }, /lingerMs \(linger.ms\): must be >= 0, got -1/],
    [{ lingerMs: 1.5 }, /must be an integer, got 1.5/],
    [{ acks: 2 }, /acks: must be one of all, -1, 0, 1, got 2/],
    [{ 'compression.type': 'brotli' }, /compression.type: must be one of none, gzip, snappy, lz4, zstd, got "brotli"/],
    [{ 'enable.idempotence': 'yes' }, /must be true or false, got "yes"/],
    [{ 'compression.gzip.level': 10 }, /must be <= 9, got 10/],
    [{ 'delivery.timeout.ms': 1000, 'request.timeout.ms': 1000, 'linger.ms': 5 }, /delivery.timeout.ms \(1000\) must be >= linger.ms \(5\) \+ request.timeout.ms \(1000\)/],
    [{ 'buffer.memory': 8192, 'batch.size': 16384 }, /buffer.memory \(8192\) must be >= batch.size \(16384\)/],
    [{ 'retry.backoff.ms': 2000 }, /retry.backoff.max.ms \(1000\) must be >= retry.backoff.ms \(2000\)/],
  ];
  for (const [input, message] of bad) {
    it(`rejects ${JSON.stringify(input)} with a ConfigError naming the setting and value`, () => {
      expect(() => resolveConfig(input)).to.throw(ConfigError, message);
    });
  }

  it('lists every setting with both names and its default', () => {
    const names = CONFIG_SPECS.map((s) => s.kafkaName);
    expect(names).to.include.members(['batch.size', 'linger.ms', 'buffer.memory', 'acks', 'compression.type', 'max.in.flight.requests.per.connection']);
    for (const s of CONFIG_SPECS) expect(resolveConfig()[s.name]).to.equal(s.defaultValue);
  });
});
