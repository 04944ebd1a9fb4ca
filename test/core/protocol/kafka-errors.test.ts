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
        COORDINATOR_LOAD_IN_PROGRESS: 14,
        COORDINATOR_NOT_AVAILABLE: 15,
        NOT_COORDINATOR: 16,
        INVALID_TOPIC_EXCEPTION: 17,
        RECORD_LIST_TOO_LARGE: 18,
        NOT_ENOUGH_REPLICAS: 19,
        NOT_ENOUGH_REPLICAS_AFTER_APPEND: 20,
        INVALID_REQUIRED_ACKS: 21,
        TOPIC_AUTHORIZATION_FAILED: 29,
        CLUSTER_AUTHORIZATION_FAILED: 31,
        INVALID_TIMESTAMP: 32,
        UNSUPPORTED_SASL_MECHANISM: 33,
        ILLEGAL_SASL_STATE: 34,
        UNSUPPORTED_VERSION: 35,
        TOPIC_ALREADY_EXISTS: 36,
        INVALID_PARTITIONS: 37,
        INVALID_REPLICATION_FACTOR: 38,
        INVALID_CONFIG: 40,
        NOT_CONTROLLER: 41,
        INVALID_REQUEST: 42,
        UNSUPPORTED_FOR_MESSAGE_FORMAT: 43,
        POLICY_VIOLATION: 44,
        OUT_OF_ORDER_SEQUENCE_NUMBER: 45,
        DUPLICATE_SEQUENCE_NUMBER: 46,
        INVALID_PRODUCER_EPOCH: 47,
        INVALID_TXN_STATE: 48,
        TRANSACTIONAL_ID_AUTHORIZATION_FAILED: 53,
        KAFKA_STORAGE_ERROR: 56,
        SASL_AUTHENTICATION_FAILED: 58,
        UNKNOWN_PRODUCER_ID: 59,
        FENCED_LEADER_EPOCH: 74,
        UNKNOWN_LEADER_EPOCH: 75,
        INVALID_RECORD: 87,
        THROTTLING_QUOTA_EXCEEDED: 89,
        PRODUCER_FENCED: 90,
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
          'COORDINATOR_LOAD_IN_PROGRESS',
          'COORDINATOR_NOT_AVAILABLE',
          'FENCED_LEADER_EPOCH',
          'KAFKA_STORAGE_ERROR',
          'LEADER_NOT_AVAILABLE',
          'NETWORK_EXCEPTION',
          'NOT_ENOUGH_REPLICAS',
          'NOT_CONTROLLER',
          'NOT_COORDINATOR',
          'NOT_ENOUGH_REPLICAS_AFTER_APPEND',
          'NOT_LEADER_OR_FOLLOWER',
          'REQUEST_TIMED_OUT',
          'THROTTLING_QUOTA_EXCEEDED',
          'UNKNOWN_LEADER_EPOCH',
          'UNKNOWN_TOPIC_OR_PARTITION',
        ].sort(),
      );
    });

    it('asks for a metadata refresh on the InvalidMetadataException family', () => {
      expect(KafkaErrors.NOT_LEADER_OR_FOLLOWER.invalidMetadata).to.equal(true);
      expect(KafkaErrors.UNKNOWN_TOPIC_OR_PARTITION.invalidMetadata).to.equal(true);
      expect(KafkaErrors.NOT_ENOUGH_REPLICAS.invalidMetadata).to.equal(false);
      expect(KafkaErrors.MESSAGE_TOO_LARGE.invalidMetadata).to.equal(false);
      // FencedLeaderEpochException extends InvalidMetadataException; UnknownLeaderEpochException
      // extends RetriableException only.
      expect(KafkaErrors.FENCED_LEADER_EPOCH.invalidMetadata).to.equal(true);
      expect(KafkaErrors.UNKNOWN_LEADER_EPOCH.invalidMetadata).to.equal(false);
      expect(KafkaErrors.NOT_COORDINATOR.invalidMetadata).to.equal(false);
    });

    it('treats authentication, authorization and fencing errors as fatal', () => {
      for (const name of [
        'SASL_AUTHENTICATION_FAILED',
        'UNSUPPORTED_SASL_MECHANISM',
        'ILLEGAL_SASL_STATE',
        'TOPIC_AUTHORIZATION_FAILED',
        'CLUSTER_AUTHORIZATION_FAILED',
        'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
        'PRODUCER_FENCED',
        'UNSUPPORTED_VERSION',
      ] as const) {
        expect(KafkaErrors[name].retriable, name).to.equal(false);
      }
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
