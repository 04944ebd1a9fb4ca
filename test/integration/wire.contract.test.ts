/**
 * The NetworkClient contract suite against the wire transport and a real Apache Kafka 4.x
 * broker (the run's shared single-node KRaft cluster).
 */
import type { KafkaCluster } from '../brokers/kafka-broker.js';
import { sharedKafka } from '../brokers/shared-kafka.js';
import { parseBootstrapServers } from '../../packages/core/src/network/wire/broker-address.js';
import { WireNetworkClient } from '../../packages/core/src/network/wire/wire-network-client.js';
import { networkClientContract } from '../core/network/network-client.contract.js';

let kafka: KafkaCluster | null = null;
let topicReady: Promise<void> | null = null;

networkClientContract('wire transport against Kafka 4.x', async () => {
  kafka ??= await sharedKafka();
  topicReady ??= kafka.createTopic('wire-contract', 3, 1);
  await topicReady;
  return {
    network: new WireNetworkClient({
      bootstrapServers: parseBootstrapServers(kafka.bootstrapServers.split(',')),
      clientId: 'sluice-contract',
      requestTimeoutMs: 10_000,
      reconnectBackoffMs: 50,
      reconnectBackoffMaxMs: 1000,
      connectionSetupTimeoutMs: 10_000,
      connectionSetupTimeoutMaxMs: 30_000,
      connectionsMaxIdleMs: 60_000,
      maxInFlightRequestsPerConnection: 5,
    }),
    topic: 'wire-contract',
    missingTopic: 'wire-contract-no-such-topic',
  };
});
