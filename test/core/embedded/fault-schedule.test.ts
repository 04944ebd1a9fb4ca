import { expect } from 'chai';
import { DEFAULT_FAULT_ERROR_CODES, FaultSchedule } from '../../../packages/core/src/embedded/fault-schedule.js';
import type { FaultEvent, RandomFaultScheduleOptions } from '../../../packages/core/src/embedded/fault-schedule.js';
import { InMemoryCluster } from '../../../packages/core/src/embedded/in-memory-cluster.js';
import { VirtualScheduler } from '../../../packages/core/src/embedded/virtual-scheduler.js';
import { kafkaError } from '../../../packages/core/src/protocol/kafka-errors.js';

const OPTIONS: RandomFaultScheduleOptions = { durationMs: 10_000, brokers: [0, 1, 2], topics: { t: 4, u: 2 }, events: 200 };

/** Replays broker downs and ups in order; returns the largest number of brokers down at once. */
function maxDownAtOnce(events: readonly FaultEvent[]): number {
  const down = new Set<number>();
  let max = 0;
  for (const e of events) {
    if (e.kind === 'brokerDown') {
      expect(down.has(e.nodeId), `node ${e.nodeId} down twice at ${e.atMs}`).to.equal(false);
      down.add(e.nodeId);
    }
    if (e.kind === 'brokerUp') down.delete(e.nodeId);
    max = Math.max(max, down.size);
  }
  expect(down.size, 'brokers still down at the end').to.equal(0);
  return max;
}

describe('FaultSchedule', () => {
  describe('random()', () => {
    it('draws the same events for the same seed, other events for another seed', () => {
      const a = FaultSchedule.random(1234, OPTIONS);
      expect(FaultSchedule.random(1234, OPTIONS).events).to.deep.equal(a.events);
      expect(FaultSchedule.random(1235, OPTIONS).events).to.not.deep.equal(a.events);
      expect(a.seed).to.equal(1234);
    });

    it('orders events by time within the duration and draws every kind', () => {
      const { events } = FaultSchedule.random(7, OPTIONS);
      for (let i = 1; i < events.length; i++) expect(events[i].atMs).to.be.at.least(events[i - 1].atMs);
      for (const e of events) expect(e.atMs).to.be.within(0, OPTIONS.durationMs);
      const kinds = new Set(events.map((e) => e.kind));
      expect([...kinds].sort()).to.deep.equal(['brokerDown', 'brokerUp', 'error', 'latency', 'moveLeader', 'requestTimeout']);
    });

    it('brings every broker back by durationMs and keeps one up at all times', () => {
      for (let seed = 0; seed < 30; seed++) {
        const { events } = FaultSchedule.random(seed, { ...OPTIONS, weights: { brokerDown: 10 } });
        expect(maxDownAtOnce(events)).to.be.at.most(2);
      }
    });

    it('may take every broker down with keepOneBrokerUp false', () => {
      let max = 0;
      for (let seed = 0; seed < 30; seed++) {
        const { events } = FaultSchedule.random(seed, { ...OPTIONS, keepOneBrokerUp: false, maxDowntimeMs: 5000, weights: { brokerDown: 10 } });
        max = Math.max(max, maxDownAtOnce(events));
      }
      expect(max).to.equal(3);
    });

    it('moves leaders only to brokers that are up at that moment', () => {
      for (let seed = 0; seed < 20; seed++) {
        const down = new Set<number>();
        for (const e of FaultSchedule.random(seed, { ...OPTIONS, weights: { moveLeader: 3, brokerDown: 3 } }).events) {
          if (e.kind === 'brokerDown') down.add(e.nodeId);
          if (e.kind === 'brokerUp') down.delete(e.nodeId);
          if (e.kind === 'moveLeader') expect(down.has(e.toNodeId), `seed ${seed} at ${e.atMs}`).to.equal(false);
        }
      }
    });

    it('injects only codes from errorCodes, retriable ones by default', () => {
      const { events } = FaultSchedule.random(3, { ...OPTIONS, weights: { error: 1, latency: 0, moveLeader: 0, brokerDown: 0, requestTimeout: 0 } });
      expect(events.every((e) => e.kind === 'error')).to.equal(true);
      for (const e of events) {
        if (e.kind !== 'error') continue;
        expect(e.errorCodes.length).to.be.within(1, 3);
        for (const code of e.errorCodes) {
          expect(DEFAULT_FAULT_ERROR_CODES).to.include(code);
          expect(kafkaError(code).retriable).to.equal(true);
        }
        expect(OPTIONS.topics[e.topic]).to.be.greaterThan(e.partition);
      }
      const custom = FaultSchedule.random(3, { ...OPTIONS, errorCodes: [10], weights: { latency: 0, moveLeader: 0, brokerDown: 0, requestTimeout: 0 } });
      expect(custom.events.flatMap((e) => (e.kind === 'error' ? e.errorCodes : []))).to.satisfy((codes: number[]) => codes.every((c) => c === 10));
    });

    it('sets the latency back to baseLatencyMs at durationMs', () => {
      const { events } = FaultSchedule.random(5, { ...OPTIONS, baseLatencyMs: 2, maxLatencyMs: 40 });
      const last = events.filter((e) => e.kind === 'latency').at(-1)!;
      expect(last).to.deep.equal({ atMs: OPTIONS.durationMs, kind: 'latency', latencyMs: 2 });
      for (const e of events) if (e.kind === 'latency') expect(e.latencyMs).to.be.within(0, 40);
    });

    it('rejects options that leave nothing to draw', () => {
      expect(() => FaultSchedule.random(1, { ...OPTIONS, durationMs: 0 })).to.throw(RangeError, /durationMs/);
      expect(() => FaultSchedule.random(1, { ...OPTIONS, brokers: [] })).to.throw(RangeError, /no brokers/);
      expect(() => FaultSchedule.random(1, { ...OPTIONS, topics: {} })).to.throw(RangeError, /need topics/);
      const zero = { error: 0, latency: 0, moveLeader: 0, brokerDown: 0, requestTimeout: 0 };
      expect(() => FaultSchedule.random(1, { ...OPTIONS, weights: zero })).to.throw(RangeError, /weight 0/);
    });
  });

  describe('constructor', () => {
    it('sorts hand-written events by time, keeping the order of ties', () => {
      const s = new FaultSchedule([
        { atMs: 20, kind: 'brokerUp', nodeId: 1 },
        { atMs: 10, kind: 'brokerDown', nodeId: 1 },
        { atMs: 20, kind: 'latency', latencyMs: 0 },
      ]);
      expect(s.events.map((e) => e.kind)).to.deep.equal(['brokerDown', 'brokerUp', 'latency']);
      expect(s.seed).to.equal(null);
      expect(() => new FaultSchedule([{ atMs: -1, kind: 'latency', latencyMs: 1 }])).to.throw(RangeError, /-1/);
    });
  });

  describe('apply()', () => {
    it('applies each event to the cluster at its time on the virtual scheduler', async () => {
      const s = new VirtualScheduler(0);
      const c = new InMemoryCluster({ topics: { t: 3 }, scheduler: s });
      const schedule = new FaultSchedule([
        { atMs: 10, kind: 'brokerDown', nodeId: 1 },
        { atMs: 20, kind: 'moveLeader', topic: 't', partition: 1, toNodeId: 2 },
        { atMs: 30, kind: 'brokerUp', nodeId: 1 },
        { atMs: 40, kind: 'error', topic: 't', partition: 0, errorCodes: [19] },
        { atMs: 50, kind: 'latency', latencyMs: 5 },
        { atMs: 60, kind: 'requestTimeout', nodeId: 0, count: 1, appended: false },
      ]);
      const seen: string[] = [];
      const applied = schedule.apply(c, s, (e) => seen.push(`${s.nowMs()}:${e.kind}`));
      await s.runFor(15);
      expect(c.isBrokerDown(1)).to.equal(true);
      expect(applied.appliedEvents).to.equal(1);
      await s.runFor(15);
      expect(c.isBrokerDown(1)).to.equal(false);
      expect(c.trueLeaderFor('t', 1)).to.equal(2);
      await s.runUntilIdle();
      expect(seen).to.deep.equal(['10:brokerDown', '20:moveLeader', '30:brokerUp', '40:error', '50:latency', '60:requestTimeout']);
      expect(applied.appliedEvents).to.equal(6);
    });

    it('cancels the events not applied yet', async () => {
      const s = new VirtualScheduler(0);
      const c = new InMemoryCluster({ topics: { t: 3 }, scheduler: s });
      const applied = new FaultSchedule([
        { atMs: 10, kind: 'brokerDown', nodeId: 0 },
        { atMs: 20, kind: 'brokerDown', nodeId: 1 },
      ]).apply(c, s);
      await s.runFor(15);
      applied.cancel();
      expect(s.pendingTimers()).to.equal(0);
      await s.runFor(100);
      expect(c.isBrokerDown(0)).to.equal(true);
      expect(c.isBrokerDown(1)).to.equal(false);
    });

    it('applies a random schedule to a cluster without errors and leaves every broker up', async () => {
      const s = new VirtualScheduler(0);
      const c = new InMemoryCluster({ topics: { t: 4, u: 2 }, scheduler: s });
      const schedule = FaultSchedule.random(99, { durationMs: 5000, brokers: c.brokerIds(), topics: c.topicPartitionCounts(), events: 100 });
      schedule.apply(c, s);
      await s.runUntilIdle();
      for (const id of c.brokerIds()) expect(c.isBrokerDown(id)).to.equal(false);
    });
  });

  describe('toString()', () => {
    it('prints the seed and one line per event', () => {
      const text = new FaultSchedule(
        [
          { atMs: 5, kind: 'error', topic: 't', partition: 2, errorCodes: [6, 19] },
          { atMs: 9, kind: 'requestTimeout', nodeId: 1, count: 2, appended: true },
        ],
        77,
      ).toString();
      expect(text).to.equal('FaultSchedule seed=77 events=2\n+5ms error topic=t partition=2 errorCodes=6,19\n+9ms requestTimeout nodeId=1 count=2 appended=true');
    });
  });
});
