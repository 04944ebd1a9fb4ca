/**
 * TimerHeap: the min-heap of (deadline, partition) behind `ready`'s linger and backoff
 * timers, with lazy deletion through each partition's `timerGeneration`.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { PartitionDeque } from '../../../packages/core/src/accumulator/partition-deque.js';
import { TimerHeap } from '../../../packages/core/src/accumulator/timer-heap.js';

function deques(n: number): PartitionDeque[] {
  return Array.from({ length: n }, (_, p) => new PartitionDeque('t', p));
}

/** Pops everything due at `nowMs`, returning [partition, deadline] in pop order. */
function popAll(heap: TimerHeap, nowMs: number, deadlines: Map<PartitionDeque, number>): [number, number][] {
  const out: [number, number][] = [];
  for (let d = heap.popDue(nowMs); d !== undefined; d = heap.popDue(nowMs)) out.push([d.partition, deadlines.get(d)!]);
  return out;
}

describe('TimerHeap', () => {
  it('is empty at first: no deadline, nothing due', () => {
    const heap = new TimerHeap();
    expect(heap.size).to.equal(0);
    expect(heap.peekMs()).to.equal(Infinity);
    expect(heap.popDue(Number.MAX_SAFE_INTEGER)).to.equal(undefined);
  });

  it('pops partitions in deadline order, each once, and only when due (deadline <= nowMs)', () => {
    const heap = new TimerHeap();
    const ds = deques(8);
    const at = [50, 10, 40, 10, 70, 30, 20, 60];
    const deadlines = new Map<PartitionDeque, number>();
    ds.forEach((d, i) => {
      heap.schedule(d, at[i]);
      deadlines.set(d, at[i]);
      expect(d.timerAtMs).to.equal(at[i]);
    });
    expect(heap.size).to.equal(8);
    expect(heap.peekMs()).to.equal(10);
    expect(heap.popDue(9)).to.equal(undefined);
    const first = popAll(heap, 10, deadlines);
    expect(first.map(([p]) => p).sort()).to.deep.equal([1, 3], 'both deadlines of 10, at exactly 10');
    expect(heap.peekMs()).to.equal(20);
    const rest = popAll(heap, 65, deadlines);
    expect(rest).to.deep.equal([
      [6, 20],
      [5, 30],
      [2, 40],
      [0, 50],
      [7, 60],
    ]);
    expect(heap.peekMs()).to.equal(70);
    expect(popAll(heap, 1_000, deadlines)).to.deep.equal([[4, 70]]);
    expect(heap.size).to.equal(0);
    for (const d of ds) expect(d.timerAtMs, 'popped: no timer').to.equal(-1);
  });

  it('reschedule later: the old entry is stale and dropped when it surfaces, the partition pops once at the new deadline', () => {
    const heap = new TimerHeap();
    const [a, b] = deques(2);
    heap.schedule(a, 10);
    heap.schedule(b, 30);
    heap.schedule(a, 50);
    expect(a.timerAtMs).to.equal(50);
    expect(heap.size, 'lazy: the stale entry is still stored').to.equal(3);
    expect(heap.peekMs(), 'the stale 10 is dropped on the way').to.equal(30);
    expect(heap.size).to.equal(2);
    expect(heap.popDue(20)).to.equal(undefined);
    expect(heap.popDue(30)).to.equal(b);
    expect(heap.popDue(49)).to.equal(undefined);
    expect(heap.popDue(50)).to.equal(a);
    expect(heap.popDue(1_000)).to.equal(undefined);
    expect(heap.size).to.equal(0);
  });

  it('reschedule earlier: pops at the new deadline and never again for the old one', () => {
    const heap = new TimerHeap();
    const [a] = deques(1);
    heap.schedule(a, 50);
    heap.schedule(a, 10);
    expect(heap.peekMs()).to.equal(10);
    expect(heap.popDue(10)).to.equal(a);
    expect(a.timerAtMs).to.equal(-1);
    expect(heap.peekMs(), 'the old 50 is stale').to.equal(Infinity);
    expect(heap.popDue(1_000)).to.equal(undefined);
    expect(heap.size).to.equal(0);
  });

  it('cancel: the partition never pops; cancelling a partition without a timer changes nothing', () => {
    const heap = new TimerHeap();
    const [a, b, c] = deques(3);
    heap.schedule(a, 10);
    heap.schedule(b, 20);
    const generation = c.timerGeneration;
    heap.cancel(c);
    expect(c.timerGeneration, 'no timer: nothing to invalidate').to.equal(generation);
    heap.cancel(a);
    expect(a.timerAtMs).to.equal(-1);
    expect(heap.peekMs()).to.equal(20);
    expect(heap.popDue(100)).to.equal(b);
    expect(heap.popDue(100)).to.equal(undefined);
    heap.cancel(b); // already popped: a no-op
    heap.schedule(a, 30); // a cancelled partition can be scheduled again
    expect(heap.popDue(30)).to.equal(a);
  });

  it('matches a model under random schedule / reschedule / cancel / popDue sequences', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('schedule' as const), p: fc.nat(7), at: fc.nat(100) }),
      fc.record({ kind: fc.constant('cancel' as const), p: fc.nat(7) }),
      fc.record({ kind: fc.constant('pop' as const), now: fc.nat(110) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
        const heap = new TimerHeap();
        const ds = deques(8);
        const model = new Map<PartitionDeque, number>();
        const minOf = (): number => Math.min(Infinity, ...model.values());
        for (const o of ops) {
          if (o.kind === 'schedule') {
            heap.schedule(ds[o.p], o.at);
            model.set(ds[o.p], o.at);
          } else if (o.kind === 'cancel') {
            heap.cancel(ds[o.p]);
            model.delete(ds[o.p]);
          } else {
            const popped = heap.popDue(o.now);
            const min = minOf();
            if (min > o.now) {
              expect(popped).to.equal(undefined);
            } else {
              expect(popped).to.not.equal(undefined);
              expect(model.get(popped!), 'pops a live entry with the earliest deadline').to.equal(min);
              model.delete(popped!);
            }
          }
          expect(heap.peekMs()).to.equal(minOf());
          for (const d of ds) expect(d.timerAtMs).to.equal(model.get(d) ?? -1);
        }
        // Whatever is left pops in deadline order, each live partition once.
        const rest: number[] = [];
        for (let d = heap.popDue(Infinity); d !== undefined; d = heap.popDue(Infinity)) rest.push(model.get(d)!);
        expect(rest).to.deep.equal([...model.values()].sort((x, y) => x - y));
        expect(heap.size).to.equal(0);
      }),
      { numRuns: 300 },
    );
  });
});
