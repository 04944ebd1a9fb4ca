/**
 * The producer's per-topic caches (partition count, the sticky partition's leader check,
 * partition handles; valid while the cluster view's `version` is unchanged) must not change
 * a single decision. Two producers with the same seed get the same operations: one keeps its
 * caches, the other's cluster view changes version before every operation (every record is
 * looked up afresh). After every step both must hold the same batches, record for record,
 * and fail the same records the same way.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { InMemoryCluster } from '../../packages/core/src/embedded/in-memory-cluster.js';
import { seededRandom } from '../../packages/core/src/embedded/seeded-random.js';
import { VirtualScheduler } from '../../packages/core/src/embedded/virtual-scheduler.js';
import { Producer } from '../../packages/core/src/producer.js';

const TOPICS = { a: 4, b: 3 } as const;
type TopicName = keyof typeof TOPICS;

type Op =
  | { kind: 'unkeyed'; topic: TopicName; size: number }
  | { kind: 'keyed'; topic: TopicName; key: number; size: number }
  | { kind: 'explicit'; topic: TopicName; partition: number; size: number }
  | { kind: 'leader'; topic: TopicName; partition: number; leader: number }
  | { kind: 'partitions'; topic: TopicName; count: number };

const topicArb = fc.constantFrom<TopicName>('a', 'b');
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 12, arbitrary: fc.record({ kind: fc.constant('unkeyed' as const), topic: topicArb, size: fc.integer({ min: 0, max: 300 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('keyed' as const), topic: topicArb, key: fc.nat(50), size: fc.integer({ min: 0, max: 300 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('explicit' as const), topic: topicArb, partition: fc.integer({ min: -1, max: 6 }), size: fc.integer({ min: 0, max: 300 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('leader' as const), topic: topicArb, partition: fc.nat(5), leader: fc.integer({ min: -1, max: 2 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('partitions' as const), topic: topicArb, count: fc.integer({ min: 1, max: 6 }) }) },
);

interface Side {
  network: InMemoryCluster;
  producer: Producer;
  /** The producer's per-topic caches are defeated: the cluster view changes before every op. */
  uncached: boolean;
}

function side(seed: number, cached: boolean): Side {
  const scheduler = new VirtualScheduler();
  const network = new InMemoryCluster({ brokers: 3, topics: { ...TOPICS }, scheduler });
  // The sender never runs (virtual time does not advance): batches stay queued, so the
  // accumulator's contents are the partitioning decisions. The metadata is applied directly.
  const producer = new Producer({
    network,
    scheduler,
    random: seededRandom(seed),
    config: { batchSize: 1024, lingerMs: 1_000_000, deliveryTimeoutMs: 2_000_000, bufferMemory: 4 << 20, maxBlockMs: 0 },
  });
  producer.metadata.apply(network.brokers.metadata(Object.keys(TOPICS), false));
  return { network, producer, uncached: !cached };
}

function apply(s: Side, op: Op, step: number): string {
  const view = s.producer.metadata.cluster;
  if (s.uncached) view.addNode(0); // bumps the view's version: every lookup is made afresh
  const value = Buffer.alloc(op.kind === 'leader' || op.kind === 'partitions' ? 0 : op.size, step & 0xff);
  try {
    switch (op.kind) {
      case 'unkeyed':
        s.producer.send({ topic: op.topic, value }, null);
        return 'ok';
      case 'keyed':
        s.producer.send({ topic: op.topic, key: `k${op.key}`, value }, null);
        return 'ok';
      case 'explicit':
        s.producer.send({ topic: op.topic, partition: op.partition, value }, null);
        return 'ok';
      case 'leader':
        if (op.partition < view.partitionCount(op.topic)) view.setLeader(op.topic, op.partition, op.leader);
        return 'ok';
      case 'partitions': {
        const leaders = Array.from({ length: op.count }, (_, p) => view.leaderFor(op.topic, p) ?? p % 3);
        view.setTopic(op.topic, leaders.map((l, p) => (l === -1 && p >= view.partitionCount(op.topic) ? p % 3 : l)));
        return 'ok';
      }
    }
  } catch (err) {
    return `${(err as Error).name}: ${(err as Error).message}`;
  }
}

function contents(s: Side): string {
  const out: string[] = [];
  for (const topic of Object.keys(TOPICS)) {
    for (let p = 0; p < 8; p++) {
      const batches = s.producer.accumulator.batchesFor({ topic, partition: p });
      if (batches.length > 0) out.push(`${topic}-${p}:${batches.map((b) => `${b.recordCount}/${b.recordsLength}`).join(',')}`);
    }
  }
  return out.join(' ');
}

describe('Producer per-topic caches (property)', () => {
  it('make the same partitioning decisions and errors as looking everything up per record', () => {
    fc.assert(
      fc.property(fc.integer(), fc.array(opArb, { minLength: 1, maxLength: 250 }), (seed, ops) => {
        const cached = side(seed, true);
        const lookedUp = side(seed, false);
        ops.forEach((op, step) => {
          const a = apply(cached, op, step);
          const b = apply(lookedUp, op, step);
          expect(a, `step ${step} ${JSON.stringify(op)}: outcome`).to.equal(b);
          expect(contents(cached), `step ${step} ${JSON.stringify(op)}: batches`).to.equal(contents(lookedUp));
        });
      }),
      { numRuns: 150 },
    );
  });
});
