/**
 * The topic a `--bootstrap-server` run writes to: looked up before the run, and created when
 * it does not exist, so that the run measures producing and not topic auto-creation.
 *
 * Kafka's own tool does not create topics: a missing one is auto-created by the broker with
 * `num.partitions` (1 by default) on the first Metadata request, or the run fails when the
 * broker has `auto.create.topics.enable=false`. sluice-perf creates it with `--partitions`
 * instead, through a CreateTopics request (replication factor -1 = the broker's
 * `default.replication.factor`, KIP-464), and says so on stderr. An existing topic is used as
 * it is; when its partition count differs from `--partitions`, the run follows the topic and
 * says so.
 *
 * The lookup goes through Sluice's own wire transport (so TLS and SASL settings apply as they
 * will to the producer). CreateTopics is not part of the producer's protocol: it is sent over a
 * plain TCP connection by the test brokers' admin helper (`test/brokers/kafka-admin.ts`), so a
 * topic is created only on a PLAINTEXT listener; on any other the error says how to create it.
 */
import type { MetadataResponse, ProducerConfig } from '@sluice/core';
import { systemScheduler } from '../../packages/core/src/clock.js';
import { createNetworkClient } from '../../packages/core/src/network/create-network-client.js';
import { sendCreateTopics, kafkaErrorName } from '../../test/brokers/kafka-admin.js';
import { UsageError } from './cli.js';

/** Kafka's UNKNOWN_TOPIC_OR_PARTITION and TOPIC_ALREADY_EXISTS. */
const UNKNOWN_TOPIC_OR_PARTITION = 3;
const TOPIC_ALREADY_EXISTS = 36;
const LEADER_NOT_AVAILABLE = 5;
const LOOKUP_TIMEOUT_MS = 30_000;

/** What the run found or made. */
export interface BrokerTopic {
  /** Partitions of the topic on the broker. */
  partitions: number;
  /** Whether sluice-perf created it. */
  created: boolean;
  /** Broker ids (for the report). */
  brokers: number;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function describe(config: ProducerConfig, topic: string): Promise<MetadataResponse> {
  const network = createNetworkClient({ ...config, clientId: config.clientId === '' ? 'sluice-perf-admin' : config.clientId }, systemScheduler);
  try {
    return await network.fetchMetadata({ topics: [topic], allowAutoTopicCreation: false });
  } finally {
    await network.close();
  }
}

/** The `kafka-topics` command that creates the topic, for messages. */
export function createTopicHint(bootstrap: string, topic: string, partitions: number): string {
  return `kafka-topics.sh --bootstrap-server ${bootstrap} --create --topic ${topic} --partitions ${partitions}`;
}

/**
 * Finds the topic on the broker, creating it with `partitions` when it is missing; waits until
 * every partition has a leader.
 * @param notes - receives one-line notes for stderr (created, partition count differs)
 * @throws UsageError when the topic is missing and cannot be created here, or does not get
 *   leaders in time; the message says how to create it
 */
export async function ensureBrokerTopic(
  config: ProducerConfig,
  bootstrap: string,
  topic: string,
  partitions: number,
  notes: (line: string) => void,
): Promise<BrokerTopic> {
  const deadline = performance.now() + LOOKUP_TIMEOUT_MS;
  let created = false;
  for (;;) {
    let md: MetadataResponse;
    try {
      md = await describe(config, topic);
    } catch (err) {
      throw new UsageError(`cannot read metadata from ${bootstrap}: ${(err as Error).message}`);
    }
    const t = md.topics.find((x) => x.topic === topic);
    const code = t?.errorCode ?? UNKNOWN_TOPIC_OR_PARTITION;
    if (code === 0 && t !== undefined && t.partitions.length > 0 && t.partitions.every((p) => p.errorCode === 0 && p.leader >= 0)) {
      if (!created && t.partitions.length !== partitions) {
        notes(`topic ${topic} has ${t.partitions.length} partitions on ${bootstrap}; the run uses them (--partitions ${partitions} applies only to a topic sluice-perf creates)`);
      }
      return { partitions: t.partitions.length, created, brokers: md.brokers.length };
    }
    if (code === UNKNOWN_TOPIC_OR_PARTITION && !created) {
      if (config.securityProtocol !== 'PLAINTEXT') {
        throw new UsageError(
          `topic ${topic} does not exist on ${bootstrap}, and sluice-perf creates topics over PLAINTEXT only (security.protocol=${config.securityProtocol}). ` +
            `Create it first: ${createTopicHint(bootstrap, topic, partitions)} --command-config <your client properties>`,
        );
      }
      const address = config.bootstrapServers[0];
      let results;
      try {
        results = await sendCreateTopics(address, [{ name: topic, partitions, replicationFactor: -1 }], 30_000);
      } catch (err) {
        throw new UsageError(`topic ${topic} does not exist on ${bootstrap} and creating it failed: ${(err as Error).message}. Create it with: ${createTopicHint(bootstrap, topic, partitions)}`);
      }
      const r = results.find((x) => x.name === topic);
      if (r !== undefined && r.errorCode !== 0 && r.errorCode !== TOPIC_ALREADY_EXISTS) {
        throw new UsageError(
          `topic ${topic} does not exist on ${bootstrap} and CreateTopics failed: ${kafkaErrorName(r.errorCode)} ${r.errorMessage ?? ''}. Create it with: ${createTopicHint(bootstrap, topic, partitions)}`,
        );
      }
      created = r?.errorCode === 0;
      if (created) notes(`created topic ${topic} with ${partitions} partitions on ${bootstrap}`);
      else created = true; // Someone else created it meanwhile: wait for its leaders all the same.
      continue;
    }
    if (code !== 0 && code !== UNKNOWN_TOPIC_OR_PARTITION && code !== LEADER_NOT_AVAILABLE) {
      throw new UsageError(`topic ${topic} on ${bootstrap}: ${kafkaErrorName(code)}`);
    }
    if (performance.now() > deadline) {
      throw new UsageError(`topic ${topic} on ${bootstrap} has no leader for every partition after ${LOOKUP_TIMEOUT_MS} ms`);
    }
    await sleep(100);
  }
}
