/**
 * Sluice's producer against a real Apache Kafka 4.x broker, read back by an independent
 * consumer (Debian's kcat, librdkafka, with check.crcs=true): every codec, inline and on seal
 * workers; keys, null keys, headers, unicode and empty values over many partitions; every
 * key, value, header and timestamp compared, and each partition's order. Kafka itself
 * validates every batch (CRC, decompression, idempotent sequences) as it appends it.
 */
import { expect } from 'chai';
import type { KafkaCluster } from '../brokers/kafka-broker.js';
import { sharedKafka } from '../brokers/shared-kafka.js';
import { consumeAll } from '../brokers/kcat.js';
import type { ConsumedRecord } from '../brokers/kcat.js';
import { Producer } from '../../packages/core/src/producer.js';
import type { RecordMetadata } from '../../packages/core/src/accumulator/record-metadata.js';
import { createSealer } from '../../packages/worker/src/index.js';
import type { WireNetworkClient } from '../../packages/core/src/network/wire/wire-network-client.js';
import { createWireNetworkClient } from '../../packages/core/src/network/create-network-client.js';
import { resolveConfig } from '../../packages/core/src/config.js';
import { ZERO_UUID } from '../../packages/core/src/protocol/primitives/byte-writer.js';

const CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
const PARTITIONS = 6;
const RECORDS = 1200;

interface Sent {
  readonly key: string | null;
  readonly value: string;
  readonly headers: [string, string][];
  readonly timestamp: number;
}

/** Record i of a run: keys every other record, unicode and empty values, headers on some. */
function recordAt(i: number, t0: number): Sent {
  const kind = i % 5;
  const value = kind === 0 ? '' : kind === 1 ? `ünïcødé ✓ ${i} 漢字` : kind === 2 ? `{"id":${i},"event":"click","path":"/p/${i % 97}"}` : `value-${i}-${'x'.repeat(i % 300)}`;
  return {
    key: i % 2 === 0 ? `key-${i % 37}` : null,
    value,
    headers: i % 3 === 0 ? [['h1', `a${i}`], ['trace', 'xyz']] : [],
    timestamp: t0 + i,
  };
}

describe('Producer over the wire transport against Kafka 4.x (read back with kcat)', function () {
  this.timeout(180_000);
  let kafka: KafkaCluster;

  before(async function () {
    this.timeout(180_000);
    kafka = await sharedKafka();
    await kafka.createTopics(
      CODECS.flatMap((codec) => ['inline', 'workers'].map((mode) => ({ name: `wire-${codec}-${mode}`, partitions: PARTITIONS, replicationFactor: 1 }))),
    );
  });

  it('closes connections idle for connections.max.idle.ms and opens them again when needed', async () => {
    await kafka.createTopic('wire-idle', 1, 1);
    const producer = new Producer({ config: { 'bootstrap.servers': kafka.bootstrapServers, 'connections.max.idle.ms': 300, 'linger.ms': 0 } });
    const connections: string[] = [];
    producer.on('connection', (e) => connections.push(`${e.nodeId}:${e.state}`));
    const network = producer.network as WireNetworkClient;
    await producer.send({ topic: 'wire-idle', value: 'a' });
    expect(connections, 'connection events: the bootstrap server, then the broker').to.include.members(['-1:connected', `${kafka.nodes[0].id}:connected`]);
    expect(network.brokers().some((b) => b.connected)).to.equal(true);
    await new Promise((r) => setTimeout(r, 900));
    expect(network.brokers().some((b) => b.connected), 'idle connections closed').to.equal(false);
    const md = await producer.send({ topic: 'wire-idle', value: 'b' });
    expect(md.offset).to.equal(1);
    await producer.close();
  });

  it('creates a topic through the wire client (CreateTopics negotiated to v7): the broker\'s answer, then TOPIC_ALREADY_EXISTS; the independent Metadata agrees', async () => {
    const network = createWireNetworkClient(resolveConfig({ 'bootstrap.servers': kafka.bootstrapServers, 'client.id': 'wire-create-topics' }));
    try {
      const request = { topics: [{ name: 'wire-created', numPartitions: 3, replicationFactor: -1, configs: { 'max.message.bytes': '2097152' } }], timeoutMs: 10_000 };
      const created = await network.createTopics(request);
      expect(created.topics).to.have.length(1);
      const t = created.topics[0];
      expect(t).to.include({ name: 'wire-created', errorCode: 0, errorMessage: null, numPartitions: 3, replicationFactor: 1, topicConfigErrorCode: 0 });
      expect(t.topicId, 'v7 returns the topic id').to.not.equal(ZERO_UUID);
      expect(t.configs?.find((c) => c.name === 'max.message.bytes')?.value).to.equal('2097152');
      const again = await network.createTopics(request);
      expect(again.topics[0]).to.include({ name: 'wire-created', errorCode: 36 });
      expect(again.topics[0].errorMessage).to.contain('already exists');
    } finally {
      await network.close();
    }
    const md = await kafka.metadata(['wire-created']);
    expect(md.topics[0]).to.include({ name: 'wire-created', errorCode: 0 });
    expect(md.topics[0].partitions).to.have.length(3);
  });

  for (const codec of CODECS) {
    for (const mode of ['inline', 'workers'] as const) {
      it(`${codec}, ${mode}: every record arrives exactly once, byte for byte, in per-partition order`, async () => {
        const topic = `wire-${codec}-${mode}`;
        const config = {
          'bootstrap.servers': kafka.bootstrapServers,
          'compression.type': codec,
          'linger.ms': 5,
          'batch.size': 4096,
          'seal.workers': mode === 'inline' ? 0 : 2,
        };
        const sealer = mode === 'workers' ? createSealer(config) : undefined;
        const producer = new Producer({ config, sealer });
        const t0 = Date.now() - 10_000;
        const sent: Sent[] = [];
        const results: Promise<RecordMetadata>[] = [];
        for (let i = 0; i < RECORDS; i++) {
          const r = recordAt(i, t0);
          sent.push(r);
          results.push(producer.send({ topic, key: r.key, value: r.value, headers: r.headers.map(([k, v]) => ({ key: k, value: v })), timestamp: r.timestamp }));
        }
        const metadata = await Promise.all(results);
        await producer.close();
        const pool = producer.accumulator.pool;
        expect(pool.availableMemory(), 'pool memory back').to.equal(pool.totalMemory);

        const consumed = await consumeAll({ bootstrap: kafka.bootstrapServers, topic, count: RECORDS, timeoutMs: 60_000 });
        const byPosition = new Map<string, ConsumedRecord>();
        for (const c of consumed) byPosition.set(`${c.partition}@${c.offset}`, c);
        expect(byPosition.size, 'no record twice').to.equal(RECORDS);
        const perPartition = new Map<number, number[]>();
        metadata.forEach((md, i) => {
          const c = byPosition.get(`${md.partition}@${md.offset}`);
          expect(c, `record ${i} at ${md.partition}@${md.offset}`).to.not.equal(undefined);
          const s = sent[i];
          expect(c!.key === null ? null : c!.key.toString('utf8'), `key of ${i}`).to.equal(s.key);
          expect(c!.value?.toString('utf8'), `value of ${i}`).to.equal(s.value);
          expect(c!.headers, `headers of ${i}`).to.deep.equal(s.headers);
          expect(c!.timestampMs, `timestamp of ${i}`).to.equal(s.timestamp);
          if (s.key !== null) {
            const list = perPartition.get(md.partition) ?? [];
            list.push(md.offset);
            perPartition.set(md.partition, list);
          }
        });
        // Records of one partition were appended in send order: offsets grow with i.
        for (const [p, offsets] of perPartition) {
          for (let j = 1; j < offsets.length; j++) expect(offsets[j], `partition ${p} order`).to.be.greaterThan(offsets[j - 1]);
        }
        expect(new Set(metadata.map((m) => m.partition)).size, 'records spread over partitions').to.be.at.least(3);
      });
    }
  }
});
