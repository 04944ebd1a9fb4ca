/**
 * The producer settings are typed: a misspelled name or a value of the wrong kind does not
 * compile (`npm test` type-checks this file first: an `@ts-expect-error` that no longer finds
 * an error fails the run), and the same input built at run time is a ConfigError.
 */
import { expect } from 'chai';
import type { ProducerConfigInput, ProducerConfigMap } from '../../packages/core/src/config.js';
import { resolveConfig } from '../../packages/core/src/config.js';
import { ConfigError } from '../../packages/core/src/errors.js';
import type { SluiceError } from '../../packages/core/src/errors.js';
import type { RecordCallback } from '../../packages/core/src/accumulator/record-metadata.js';

describe('ProducerConfigInput (types)', () => {
  it('takes Kafka and camelCase names with their value types', () => {
    const ok: ProducerConfigInput = {
      'bootstrap.servers': 'a:9092,b:9092',
      'linger.ms': 5,
      batchSize: '16384',
      acks: 'all',
      'compression.type': 'zstd',
      'enable.idempotence': 'true',
      'seal.workers': 'auto',
      'security.protocol': 'SASL_SSL',
      'sasl.mechanism': 'SCRAM-SHA-512',
      'sasl.password': 'secret',
      'ssl.truststore.certificates': '-----BEGIN CERTIFICATE-----',
    };
    expect(resolveConfig(ok).compressionType).to.equal('zstd');
  });

  it('rejects a misspelled name and a bad value at compile time and at run time', () => {
    // @ts-expect-error a misspelled name does not compile
    const typo: ProducerConfigInput = { 'lingerr.ms': 5 };
    // @ts-expect-error acks takes 0, 1, -1 or 'all'
    const acks: ProducerConfigInput = { acks: 'two' };
    // @ts-expect-error compression.type names a codec Kafka has
    const codec: ProducerConfigInput = { 'compression.type': 'brotli' };
    // @ts-expect-error linger.ms is a number
    const linger: ProducerConfigInput = { lingerMs: true };
    for (const bad of [typo, acks, codec, linger]) expect(() => resolveConfig(bad as ProducerConfigMap)).to.throw(ConfigError);
  });

  it('types callback errors as SluiceError (err.code compiles)', () => {
    const codes: string[] = [];
    const cb: RecordCallback = (err) => {
      if (err !== null) codes.push(err.code);
    };
    cb({ code: 'SLUICE_ERR_TIMEOUT' } as SluiceError, null);
    expect(codes).to.deep.equal(['SLUICE_ERR_TIMEOUT']);
  });
});
