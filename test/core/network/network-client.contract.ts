/**
 * The NetworkClient contract (network/network-client.ts), as one suite that runs against
 * every implementation: the embedded cluster (test/core/network/embedded.contract.test.ts)
 * and the wire transport against a real Apache Kafka broker
 * (test/integration/wire.contract.test.ts). The sender relies on exactly these behaviours.
 */
import { expect } from 'chai';
import { ClosedError, SluiceError } from '../../../packages/core/src/errors.js';
import type { NetworkClient, NetworkEvent, ProduceRequest } from '../../../packages/core/src/network/network-client.js';
import { CRC_OFFSET } from '../../../packages/core/src/format/record-batch-layout.js';
import { buildBatch } from '../../helpers/batch-factory.js';
import { kafkaError } from '../../../packages/core/src/protocol/kafka-errors.js';

/** What a contract run needs from an implementation. */
export interface ContractTarget {
  /** A fresh client (closed by the suite). */
  readonly network: NetworkClient;
  /** A topic with 3 partitions that exists on the brokers. */
  readonly topic: string;
  /** A topic name that does not exist (and is not auto-created by requests that forbid it). */
  readonly missingTopic: string;
}

/** Waits until `network.ready(node)` (connecting first where needed), driven by the wake-up listener. */
async function untilReady(network: NetworkClient, nodeId: number, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!network.ready(nodeId, Date.now())) {
    if (Date.now() > deadline) throw new Error(`node ${nodeId} not ready within ${timeoutMs} ms`);
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 50);
      network.setWakeupListener(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }
  network.setWakeupListener(null);
}

function produceRequest(nodeId: number, topic: string, partition: number, records: Uint8Array, acks: 0 | 1 | -1 = -1): ProduceRequest {
  return { nodeId, acks, timeoutMs: 10_000, transactionalId: null, partitions: [{ topic, partition, records }] };
}

/** Registers the contract suite for the implementation `make` builds. */
export function networkClientContract(name: string, make: () => Promise<ContractTarget>, teardown: () => Promise<void> = async () => undefined): void {
  describe(`NetworkClient contract: ${name}`, function () {
    this.timeout(30_000);
    let t: ContractTarget;

    beforeEach(async () => {
      t = await make();
    });
    afterEach(async () => {
      await t.network.close();
    });
    after(teardown);

    it('answers metadata with brokers, partitions, leaders, and error codes for a missing topic', async () => {
      const md = await t.network.fetchMetadata({ topics: [t.topic, t.missingTopic], allowAutoTopicCreation: false });
      expect(md.brokers.length).to.be.at.least(1);
      const topic = md.topics.find((x) => x.topic === t.topic)!;
      expect(topic.errorCode).to.equal(0);
      expect(topic.partitions.map((p) => p.partition).sort()).to.deep.equal([0, 1, 2]);
      for (const p of topic.partitions) expect(md.brokers.some((b) => b.nodeId === p.leader), `leader of ${p.partition} is a broker`).to.equal(true);
      const missing = md.topics.find((x) => x.topic === t.missingTopic)!;
      expect(missing.errorCode).to.equal(3); // UNKNOWN_TOPIC_OR_PARTITION
    });

    it('allocates a producer id with an error code of 0 (after retriable codes while the broker loads)', async () => {
      // A freshly started broker answers COORDINATOR_LOAD_IN_PROGRESS (retriable) until its
      // producer-id manager has a block; the sender retries those, so the contract does too.
      let a = await t.network.initProducerId();
      for (let i = 0; i < 50 && a.errorCode !== 0 && kafkaError(a.errorCode).retriable; i++) {
        await new Promise((r) => setTimeout(r, 100));
        a = await t.network.initProducerId();
      }
      expect(a.errorCode).to.equal(0);
      expect(a.producerId).to.be.at.least(0);
      expect(a.producerEpoch).to.be.at.least(0);
    });

    it('becomes ready for a leader (waking its listener), produces a batch and answers its base offset', async () => {
      const md = await t.network.fetchMetadata({ topics: [t.topic], allowAutoTopicCreation: false });
      const leader = md.topics[0].partitions.find((p) => p.partition === 1)!.leader;
      await untilReady(t.network, leader);
      const first = await t.network.send(produceRequest(leader, t.topic, 1, buildBatch([{ key: 'k', value: 'a' }, { key: null, value: 'b' }])));
      expect(first).to.have.length(1);
      expect(first[0]).to.include({ topic: t.topic, partition: 1, errorCode: 0 });
      const second = await t.network.send(produceRequest(leader, t.topic, 1, buildBatch([{ key: null, value: 'c' }])));
      expect(second[0].baseOffset).to.equal(first[0].baseOffset + 2);
    });

    it('answers NOT_LEADER_OR_FOLLOWER from a broker that does not lead the partition (when there is one)', async () => {
      const md = await t.network.fetchMetadata({ topics: [t.topic], allowAutoTopicCreation: false });
      const leader = md.topics[0].partitions.find((p) => p.partition === 0)!.leader;
      const other = md.brokers.find((b) => b.nodeId !== leader);
      if (other === undefined) return; // a one-broker cluster leads everything
      await untilReady(t.network, other.nodeId);
      const [r] = await t.network.send(produceRequest(other.nodeId, t.topic, 0, buildBatch([{ key: null, value: 'x' }])));
      expect(r.errorCode).to.equal(6);
    });

    it('answers CORRUPT_MESSAGE for a batch whose CRC is wrong', async () => {
      const md = await t.network.fetchMetadata({ topics: [t.topic], allowAutoTopicCreation: false });
      const leader = md.topics[0].partitions.find((p) => p.partition === 2)!.leader;
      await untilReady(t.network, leader);
      const batch = buildBatch([{ key: null, value: 'x' }]);
      batch.writeUInt32BE((batch.readUInt32BE(CRC_OFFSET) ^ 1) >>> 0, CRC_OFFSET);
      const [r] = await t.network.send(produceRequest(leader, t.topic, 2, batch));
      expect(r.errorCode).to.equal(2);
    });

    it('with acks=0 resolves once written, with base offset -1', async () => {
      const md = await t.network.fetchMetadata({ topics: [t.topic], allowAutoTopicCreation: false });
      const leader = md.topics[0].partitions.find((p) => p.partition === 0)!.leader;
      await untilReady(t.network, leader);
      const [r] = await t.network.send(produceRequest(leader, t.topic, 0, buildBatch([{ key: null, value: 'fire and forget' }]), 0));
      expect(r).to.include({ errorCode: 0, baseOffset: -1 });
    });

    it('reads a shared-memory view only while the request is pending', async () => {
      const md = await t.network.fetchMetadata({ topics: [t.topic], allowAutoTopicCreation: false });
      const leader = md.topics[0].partitions.find((p) => p.partition === 0)!.leader;
      await untilReady(t.network, leader);
      const built = buildBatch([{ key: 'shared', value: 'pool bytes' }]);
      const pool = new Uint8Array(new SharedArrayBuffer(built.length + 64));
      pool.set(built, 64);
      const view = pool.subarray(64, 64 + built.length);
      const [r] = await t.network.send(produceRequest(leader, t.topic, 0, view));
      expect(r.errorCode).to.equal(0);
      pool.fill(0xee); // the memory is the producer's again: reuse must not reach the broker
      const [next] = await t.network.send(produceRequest(leader, t.topic, 0, buildBatch([{ key: null, value: 'after' }])));
      expect(next.errorCode).to.equal(0);
      expect(next.baseOffset).to.equal(r.baseOffset + 1);
    });

    it('after close(), rejects every call with ClosedError and is not ready', async () => {
      const md = await t.network.fetchMetadata({ topics: [t.topic], allowAutoTopicCreation: false });
      const leader = md.topics[0].partitions[0].leader;
      await t.network.close();
      expect(t.network.ready(leader, Date.now())).to.equal(false);
      for (const p of [
        t.network.send(produceRequest(leader, t.topic, 0, buildBatch([{ key: null, value: 'x' }]))),
        t.network.fetchMetadata({ topics: [t.topic], allowAutoTopicCreation: false }),
        t.network.initProducerId(),
      ]) {
        const e = await (p as Promise<unknown>).then(() => null, (err: unknown) => err);
        expect(e).to.be.instanceOf(ClosedError);
      }
      const events: (NetworkEvent | undefined)[] = [];
      t.network.setWakeupListener((ev) => events.push(ev));
      expect(events).to.deep.equal([]);
      void SluiceError;
    });
  });
}
