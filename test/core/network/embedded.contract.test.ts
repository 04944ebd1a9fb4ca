import { InMemoryCluster } from '../../../packages/core/src/embedded/in-memory-cluster.js';
import { networkClientContract } from './network-client.contract.js';

networkClientContract('embedded InMemoryCluster', async () => ({
  network: new InMemoryCluster({ topics: { contract: 3 }, autoCreateTopics: true }),
  topic: 'contract',
  missingTopic: 'no-such-topic',
}));
