/**
 * Property: for random sequences of appends, clock moves, drains and per-batch outcomes
 * (success, failure, retry), every record completes exactly once, the successful records of
 * a partition get increasing offsets in append order, and the pool's memory returns to its
 * total once everything is complete.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import type { ProducerBatch } from '../../packages/core/src/accumulator/producer-batch.js';
import { bytesOf, makeAccumulator, OffsetAssigner } from '../helpers/accumulator-factory.js';

type Op =
  | { kind: 'append'; partition: number; size: number; useKey: boolean }
  | { kind: 'advance'; ms: number }
  | { kind: 'send'; outcomes: number[] };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ kind: fc.constant('append' as const), partition: fc.integer({ min: 0, max: 5 }), size: fc.integer({ min: 0, max: 1500 }), useKey: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 25 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('send' as const), outcomes: fc.array(fc.integer({ min: 0, max: 9 }), { maxLength: 8 }) }) },
);

describe('RecordAccumulator (property)', () => {
  it('completes every record exactly once, keeps per-partition order, and returns all memory', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 150 }), fc.boolean(), (ops, abortAtEnd) => {
        const t = makeAccumulator({ lingerMs: 10, batchSize: 1024, bufferMemory: 48 * 1024, maxBlockMs: 0 });
        t.cluster.setTopic('p', [0, 1, 2, 0, 1, 2]);
        const broker = new OffsetAssigner();
        const completions: number[] = []; // per record: times completed
        const offsets: number[] = []; // per record: offset or -1
        const partitionOf: number[] = [];
        let nextRetryMs = 0;

        const send = (outcomes: number[]): void => {
          const { readyNodes } = t.acc.ready(t.cluster, t.clock.nowMs());
          let i = 0;
          const drained: ProducerBatch[] = [];
          for (const list of t.acc.drain(t.cluster, readyNodes, 4000, t.clock.nowMs()).values()) drained.push(...list);
          for (const b of drained) {
            const o = outcomes[i++ % Math.max(1, outcomes.length)] ?? 0;
            if (o === 0) broker.fail(b, t.clock.nowMs(), new Error('broker said no'));
            else if (o <= 2) {
              b.markInFlight(t.clock.nowMs());
              b.releaseNetworkHold();
              nextRetryMs = t.clock.nowMs() + 5;
              t.acc.reenqueue(b, t.clock.nowMs(), nextRetryMs);
            } else broker.succeed(b, t.clock.nowMs());
          }
        };

        for (const op of ops) {
          if (op.kind === 'advance') t.clock.advance(op.ms);
          else if (op.kind === 'send') send(op.outcomes);
          else {
            const id = completions.length;
            completions.push(0);
            offsets.push(-1);
            partitionOf.push(op.partition);
            try {
              const r = t.acc.append({ topic: 'p', partition: op.partition }, t.clock.nowMs(), op.useKey ? `k${id}` : null, bytesOf(op.size, id), null, (err, md) => {
                completions[id]++;
                if (err === null) offsets[id] = md!.offset;
              });
              expect(r).not.to.be.instanceOf(Promise);
            } catch (e) {
              // Out of memory with maxBlockMs = 0: the record was never accepted.
              expect((e as Error).name).to.equal('BufferExhaustedError');
              completions[id] = 1;
            }
          }
        }
        if (abortAtEnd) {
          t.acc.abortIncompleteBatches();
        } else {
          t.acc.beginFlush();
          for (let guard = 0; t.acc.hasIncomplete(); guard++) {
            expect(guard).to.be.lessThan(10_000);
            t.clock.advance(5);
            send([5]);
          }
        }
        expect(completions.every((c) => c === 1), `completions ${completions.join(',')}`).to.equal(true);
        const lastOffset = new Map<number, number>();
        for (let id = 0; id < offsets.length; id++) {
          if (offsets[id] < 0) continue;
          const prev = lastOffset.get(partitionOf[id]) ?? -1;
          expect(offsets[id], `record ${id} of partition ${partitionOf[id]}`).to.be.greaterThan(prev);
          lastOffset.set(partitionOf[id], offsets[id]);
        }
        expect(t.acc.hasIncomplete()).to.equal(false);
        expect(t.acc.pool.availableMemory()).to.equal(t.acc.pool.totalMemory);
      }),
      { numRuns: Number(process.env.SLUICE_PROPERTY_RUNS ?? 200) },
    );
  });
});
