import { expect } from 'chai';
import { ProtocolError } from '../../../packages/core/src/errors.js';
import {
  ApiKey,
  FIRST_FLEXIBLE_VERSION,
  SUPPORTED_VERSIONS,
  apiKeyName,
  checkSupportedVersion,
  isFlexibleVersion,
  negotiateVersion,
} from '../../../packages/core/src/protocol/api-keys.js';

describe('api-keys', () => {
  describe('ApiKey', () => {
    it('has Kafka\'s API key numbers', () => {
      expect(ApiKey).to.deep.equal({
        PRODUCE: 0,
        METADATA: 3,
        SASL_HANDSHAKE: 17,
        API_VERSIONS: 18,
        CREATE_TOPICS: 19,
        INIT_PRODUCER_ID: 22,
        SASL_AUTHENTICATE: 36,
      });
      expect(apiKeyName(0)).to.equal('Produce');
      expect(apiKeyName(36)).to.equal('SaslAuthenticate');
      expect(apiKeyName(19)).to.equal('CreateTopics');
      expect(apiKeyName(1)).to.equal('ApiKey(1)');
    });
  });

  describe('SUPPORTED_VERSIONS', () => {
    it('covers Produce v3-v12, Metadata v0-v12, InitProducerId v0-v5, ApiVersions v0-v4, SASL v0-v1 / v0-v2, CreateTopics v2-v7', () => {
      expect(SUPPORTED_VERSIONS[ApiKey.PRODUCE]).to.deep.equal({ min: 3, max: 12 });
      expect(SUPPORTED_VERSIONS[ApiKey.METADATA]).to.deep.equal({ min: 0, max: 12 });
      expect(SUPPORTED_VERSIONS[ApiKey.INIT_PRODUCER_ID]).to.deep.equal({ min: 0, max: 5 });
      expect(SUPPORTED_VERSIONS[ApiKey.API_VERSIONS]).to.deep.equal({ min: 0, max: 4 });
      expect(SUPPORTED_VERSIONS[ApiKey.SASL_HANDSHAKE]).to.deep.equal({ min: 0, max: 1 });
      expect(SUPPORTED_VERSIONS[ApiKey.SASL_AUTHENTICATE]).to.deep.equal({ min: 0, max: 2 });
      expect(SUPPORTED_VERSIONS[ApiKey.CREATE_TOPICS]).to.deep.equal({ min: 2, max: 7 });
    });

    it('marks the flexible versions of each API as its JSON definition does', () => {
      expect(FIRST_FLEXIBLE_VERSION[ApiKey.PRODUCE]).to.equal(9);
      expect(isFlexibleVersion(ApiKey.PRODUCE, 8)).to.equal(false);
      expect(isFlexibleVersion(ApiKey.PRODUCE, 9)).to.equal(true);
      expect(isFlexibleVersion(ApiKey.METADATA, 9)).to.equal(true);
      expect(isFlexibleVersion(ApiKey.API_VERSIONS, 2)).to.equal(false);
      expect(isFlexibleVersion(ApiKey.API_VERSIONS, 3)).to.equal(true);
      expect(isFlexibleVersion(ApiKey.INIT_PRODUCER_ID, 2)).to.equal(true);
      expect(isFlexibleVersion(ApiKey.SASL_HANDSHAKE, 1)).to.equal(false);
      expect(isFlexibleVersion(ApiKey.SASL_AUTHENTICATE, 2)).to.equal(true);
      expect(isFlexibleVersion(ApiKey.CREATE_TOPICS, 4)).to.equal(false);
      expect(isFlexibleVersion(ApiKey.CREATE_TOPICS, 5)).to.equal(true);
      expect(() => isFlexibleVersion(1, 0)).to.throw(ProtocolError, 'ApiKey(1) is not an API Sluice speaks');
    });

    it('checkSupportedVersion() names the message, the version and the range', () => {
      expect(() => checkSupportedVersion(ApiKey.PRODUCE, 2, 'ProduceRequest')).to.throw(
        ProtocolError,
        'ProduceRequest v2 is not supported: Sluice speaks v3-v12',
      );
      expect(() => checkSupportedVersion(ApiKey.METADATA, 13, 'MetadataResponse')).to.throw(ProtocolError, 'v13');
      checkSupportedVersion(ApiKey.METADATA, 0, 'MetadataRequest');
    });
  });

  describe('negotiateVersion()', () => {
    it('picks the highest versions the librdkafka 2.0.2 mock broker advertises', () => {
      expect(negotiateVersion(ApiKey.PRODUCE, 0, 7)).to.equal(7);
      expect(negotiateVersion(ApiKey.METADATA, 0, 2)).to.equal(2);
      expect(negotiateVersion(ApiKey.INIT_PRODUCER_ID, 0, 4)).to.equal(4);
      expect(negotiateVersion(ApiKey.API_VERSIONS, 0, 2)).to.equal(2);
    });

    it('picks Sluice\'s caps against Apache Kafka 4.0 (which still lists Produce from v0, KAFKA-18659)', () => {
      expect(negotiateVersion(ApiKey.PRODUCE, 0, 12)).to.equal(12);
      expect(negotiateVersion(ApiKey.PRODUCE, 3, 13)).to.equal(12);
      expect(negotiateVersion(ApiKey.METADATA, 0, 13)).to.equal(12);
      expect(negotiateVersion(ApiKey.INIT_PRODUCER_ID, 0, 6)).to.equal(5);
      expect(negotiateVersion(ApiKey.API_VERSIONS, 0, 4)).to.equal(4);
      expect(negotiateVersion(ApiKey.SASL_HANDSHAKE, 0, 1)).to.equal(1);
      expect(negotiateVersion(ApiKey.SASL_AUTHENTICATE, 0, 2)).to.equal(2);
      expect(negotiateVersion(ApiKey.CREATE_TOPICS, 2, 7)).to.equal(7);
    });

    it('fails with both ranges in the message when they do not overlap', () => {
      expect(() => negotiateVersion(ApiKey.PRODUCE, 0, 2)).to.throw(
        ProtocolError,
        'no common version of Produce (key 0): Sluice supports v3-v12, the broker v0-v2',
      );
      expect(() => negotiateVersion(ApiKey.METADATA, 13, 15)).to.throw(
        ProtocolError,
        'no common version of Metadata (key 3): Sluice supports v0-v12, the broker v13-v15',
      );
      expect(() => negotiateVersion(1, 0, 17)).to.throw(ProtocolError, 'ApiKey(1) is not an API Sluice speaks');
    });
  });
});
