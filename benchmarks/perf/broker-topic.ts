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
 * Both requests go through Sluice's own wire transport (`createWireNetworkClient` from
 * `@sluice/core/internal`), so the producer's TLS and SASL settings apply to them as they will
 * to the producer, and CreateTopics is sent at the highest version the broker and Sluice share.
 */
import { KafkaErrors, kafkaError } from '@sluice/core';
import type { MetadataResponse, ProducerConfig } from '@sluice/core';
import { createWireNetworkClient } from '@sluice/core/internal';
import type { WireNetworkClient } from '@sluice/core/internal';
import { UsageError } from './cli.js';

const UNKNOWN_TOPIC_OR_PARTITION = KafkaErrors.UNKNOWN_TOPIC_OR_PARTITION.code;
const LEADER_NOT_AVAILABLE = KafkaErrors.LEADER_NOT_AVAILABLE.code;
const TOPIC_ALREADY_EXISTS = KafkaErrors.TOPIC_ALREADY_EXISTS.code;
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

/** `NAME (code)` for a Kafka error code. */
function errorName(code: number): string {
  return `${kafkaError(code).name} (${code})`;
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
  let network: WireNetworkClient;
  try {
    network = createWireNetworkClient({ ...config, clientId: config.clientId === '' ? 'sluice-perf-admin' : config.clientId });
  } catch (err) {
    throw new UsageError(`cannot connect to ${bootstrap}: ${(err as Error).message}`);
  }
  try {
    let created = false;
    for (;;) {
      let md: MetadataResponse;
      try {
        md = await network.fetchMetadata({ topics: [topic], allowAutoTopicCreation: false });
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
        let r;
        try {
          // Half the request timeout: the broker answers REQUEST_TIMED_OUT before the client gives up.
          const answer = await network.createTopics({ topics: [{ name: topic, numPartitions: partitions, replicationFactor: -1 }], timeoutMs: Math.max(1_000, Math.floor(config.requestTimeoutMs / 2)) });
          r = answer.topics.find((x) => x.name === topic);
        } catch (err) {
          throw new UsageError(`topic ${topic} does not exist on ${bootstrap} and creating it failed: ${(err as Error).message}. Create it with: ${createTopicHint(bootstrap, topic, partitions)}`);
        }
        if (r !== undefined && r.errorCode !== 0 && r.errorCode !== TOPIC_ALREADY_EXISTS) {
          throw new UsageError(
            `topic ${topic} does not exist on ${bootstrap} and CreateTopics failed: ${errorName(r.errorCode)} ${r.errorMessage ?? ''}. Create it with: ${createTopicHint(bootstrap, topic, partitions)}`,
          );
        }
        created = r?.errorCode === 0;
        if (created) notes(`created topic ${topic} with ${partitions} partitions on ${bootstrap}`);
        else created = true; // Someone else created it meanwhile: wait for its leaders all the same.
        continue;
      }
      if (code !== 0 && code !== UNKNOWN_TOPIC_OR_PARTITION && code !== LEADER_NOT_AVAILABLE) {
        throw new UsageError(`topic ${topic} on ${bootstrap}: ${errorName(code)}`);
      }
      if (performance.now() > deadline) {
        throw new UsageError(`topic ${topic} on ${bootstrap} has no leader for every partition after ${LOOKUP_TIMEOUT_MS} ms`);
      }
      await sleep(100);
    }
  } finally {
    await network.close();
  }
}
