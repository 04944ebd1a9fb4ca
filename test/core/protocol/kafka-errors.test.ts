import { expect } from 'chai';
import { BrokerError, SluiceError } from '../../../packages/core/src/errors.js';
import { KafkaErrors, brokerErrorFor, kafkaError } from '../../../packages/core/src/protocol/kafka-errors.js';

describe('kafka-errors', () => {
  describe('KafkaErrors', () => {
    it('has the codes of Kafka\'s Errors enum', () => {
      const expected: Record<string, number> = {
        UNKNOWN_SERVER_ERROR: -1,
        NONE: 0,
        OFFSET_OUT_OF_RANGE: 1,
        CORRUPT_MESSAGE: 2,
        UNKNOWN_TOPIC_OR_PARTITION: 3,
        LEADER_NOT_AVAILABLE: 5,
        NOT_LEADER_OR_FOLLOWER: 6,
        REQUEST_TIMED_OUT: 7,
        MESSAGE_TOO_LARGE: 10,
        NETWORK_EXCEPTION: 13,
        RECORD_LIST_TOO_LARGE: 18,
        NOT_ENOUGH_REPLICAS: 19,
        NOT_ENOUGH_REPLICAS_AFTER_APPEND: 20,
        INVALID_REQUIRED_ACKS: 21,
        TOPIC_AUTHORIZATION_FAILED: 29,
        CLUSTER_AUTHORIZATION_FAILED: 31,
        INVALID_TIMESTAMP: 32,
        OUT_OF_ORDER_SEQUENCE_NUMBER: 45,
        DUPLICATE_SEQUENCE_NUMBER: 46,
        INVALID_PRODUCER_EPOCH: 47,
        KAFKA_STORAGE_ERROR: 56,
        UNKNOWN_PRODUCER_ID: 59,
        INVALID_RECORD: 87,
      };
      for (const [name, code] of Object.entries(expected)) {
        const e = KafkaErrors[name as keyof typeof KafkaErrors];
        expect(e, name).to.not.equal(undefined);
        expect(e.code, name).to.equal(code);
        expect(e.name).to.equal(name);
      }
      expect(Object.keys(KafkaErrors)).to.have.length(Object.keys(expected).length);
    });

    it('marks retriable exactly the errors whose Kafka exception extends RetriableException', () => {
      const retriable = Object.values(KafkaErrors)
        .filter((e) => e.retriable)
        .map((e) => e.name)
        .sort();
      expect(retriable).to.deep.equal(
        [
          'CORRUPT_MESSAGE',
          'KAFKA_STORAGE_ERROR',
          'LEADER_NOT_AVAILABLE',
          'NETWORK_EXCEPTION',
          'NOT_ENOUGH_REPLICAS',
          'NOT_ENOUGH_REPLICAS_AFTER_APPEND',
          'NOT_LEADER_OR_FOLLOWER',
          'REQUEST_TIMED_OUT',
          'UNKNOWN_TOPIC_OR_PARTITION',
        ].sort(),
      );
    });

    it('asks for a metadata refresh on the InvalidMetadataException family', () => {
      expect(KafkaErrors.NOT_LEADER_OR_FOLLOWER.invalidMetadata).to.equal(true);
      expect(KafkaErrors.UNKNOWN_TOPIC_OR_PARTITION.invalidMetadata).to.equal(true);
      expect(KafkaErrors.NOT_ENOUGH_REPLICAS.invalidMetadata).to.equal(false);
      expect(KafkaErrors.MESSAGE_TOO_LARGE.invalidMetadata).to.equal(false);
    });
  });

  describe('kafkaError()', () => {
    it('looks codes up', () => {
      expect(kafkaError(6)).to.equal(KafkaErrors.NOT_LEADER_OR_FOLLOWER);
      expect(kafkaError(-1)).to.equal(KafkaErrors.UNKNOWN_SERVER_ERROR);
      expect(kafkaError(0)).to.equal(KafkaErrors.NONE);
    });

    it('keeps the number of a code it does not know, as non-retriable', () => {
      const e = kafkaError(120);
      expect(e).to.include({ code: 120, name: 'UNKNOWN_ERROR_120', retriable: false });
    });
  });

  describe('brokerErrorFor()', () => {
    it('builds a BrokerError with the name, code and context in the message', () => {
      const err = brokerErrorFor(6, 'produce to t-3 on node 2', 'leader is node 1');
      expect(err).to.be.instanceOf(BrokerError).and.instanceOf(SluiceError);
      expect(err.code).to.equal('SLUICE_ERR_BROKER');
      expect(err.errorCode).to.equal(6);
      expect(err.errorName).to.equal('NOT_LEADER_OR_FOLLOWER');
      expect(err.retriable).to.equal(true);
      expect(err.message).to.equal('NOT_LEADER_OR_FOLLOWER (6): produce to t-3 on node 2 (broker: leader is node 1)');
    });

    it('is not retriable for fatal codes', () => {
      const err = brokerErrorFor(10, 'batch of 2000000 bytes');
      expect(err.retriable).to.equal(false);
      expect(err.message).to.equal('MESSAGE_TOO_LARGE (10): batch of 2000000 bytes');
    });
  });
});
