import { expect } from 'chai';
import { ManualClock } from '../../../packages/core/src/clock.js';
import { seededRandom } from '../../../packages/core/src/embedded/seeded-random.js';
import { VirtualScheduler } from '../../../packages/core/src/embedded/virtual-scheduler.js';
import { IllegalStateError } from '../../../packages/core/src/errors.js';

const T0 = 1_000_000;

async function deepChain(depth: number): Promise<void> {
  for (let i = 0; i < depth; i++) await Promise.resolve();
}

describe('VirtualScheduler', () => {
  it('is a ManualClock starting at the given time', () => {
    const s = new VirtualScheduler(T0);
    expect(s).to.be.instanceOf(ManualClock);
    expect(s.nowMs()).to.equal(T0);
    expect(s.hiResNs()).to.equal(BigInt(T0) * 1_000_000n);
  });

  describe('setTimeout()', () => {
    it('fires timers by due time, and timers due at the same time in the order they were set', () => {
      const s = new VirtualScheduler(T0);
      const out: string[] = [];
      s.setTimeout(() => out.push('c@20'), 20);
      s.setTimeout(() => out.push('a@10'), 10);
      s.setTimeout(() => out.push('b@10'), 10);
      s.setTimeout(() => out.push('z@0'), 0);
      s.advance(100);
      expect(out).to.deep.equal(['z@0', 'a@10', 'b@10', 'c@20']);
    });

    it('runs each callback with the clock at its due time', () => {
      const s = new VirtualScheduler(T0);
      const seen: number[] = [];
      for (const d of [5, 1, 3]) s.setTimeout(() => seen.push(s.nowMs() - T0), d);
      s.advance(10);
      expect(seen).to.deep.equal([1, 3, 5]);
      expect(s.nowMs()).to.equal(T0 + 10);
    });

    it('treats a negative or NaN delay as 0 and rejects an infinite one', () => {
      const s = new VirtualScheduler(T0);
      let n = 0;
      s.setTimeout(() => n++, -5);
      s.setTimeout(() => n++, Number.NaN);
      s.advance(0);
      expect(n).to.equal(2);
      expect(() => s.setTimeout(() => {}, Infinity)).to.throw(RangeError, /Infinity/);
    });

    it('returns a handle whose unref() is a no-op', () => {
      const s = new VirtualScheduler(T0);
      const h = s.setTimeout(() => {}, 1);
      expect(h.unref?.()).to.equal(h);
    });
  });

  describe('clearTimeout()', () => {
    it('cancels a pending timer and ignores fired, cleared and foreign handles', () => {
      const s = new VirtualScheduler(T0);
      const out: number[] = [];
      const a = s.setTimeout(() => out.push(1), 1);
      const b = s.setTimeout(() => out.push(2), 2);
      s.setTimeout(() => out.push(3), 3);
      expect(s.pendingTimers()).to.equal(3);
      s.clearTimeout(b);
      s.clearTimeout(b);
      expect(s.pendingTimers()).to.equal(2);
      s.advance(1);
      s.clearTimeout(a);
      s.clearTimeout({});
      s.advance(5);
      expect(out).to.deep.equal([1, 3]);
      expect(s.pendingTimers()).to.equal(0);
    });

    it('keeps the firing order under random sets and clears (against a sorted reference)', () => {
      const random = seededRandom(99);
      const s = new VirtualScheduler(0);
      const live = new Map<number, { at: number; seq: number; handle: ReturnType<VirtualScheduler['setTimeout']> }>();
      const fired: number[] = [];
      for (let seq = 0; seq < 2000; seq++) {
        const at = Math.floor(random() * 50);
        const handle = s.setTimeout(() => fired.push(seq), at);
        live.set(seq, { at, seq, handle });
        if (random() < 0.3) {
          const victims = [...live.keys()];
          const v = victims[Math.floor(random() * victims.length)];
          s.clearTimeout(live.get(v)!.handle);
          live.delete(v);
        }
      }
      expect(s.pendingTimers()).to.equal(live.size);
      const expected = [...live.values()].sort((x, y) => x.at - y.at || x.seq - y.seq).map((t) => t.seq);
      s.advance(100);
      expect(fired).to.deep.equal(expected);
    });
  });

  describe('advance() / set()', () => {
    it('fires timers that callbacks set when they are due within the window', () => {
      const s = new VirtualScheduler(T0);
      const out: number[] = [];
      s.setTimeout(() => {
        out.push(s.nowMs() - T0);
        s.setTimeout(() => out.push(s.nowMs() - T0), 4);
        s.setTimeout(() => out.push(s.nowMs() - T0), 40);
      }, 3);
      s.advance(10);
      expect(out).to.deep.equal([3, 7]);
      expect(s.nextTimerAtMs()).to.equal(T0 + 43);
      s.set(T0 + 43);
      expect(out).to.deep.equal([3, 7, 43]);
      expect(s.nextTimerAtMs()).to.equal(null);
    });

    it('rejects going backwards', () => {
      const s = new VirtualScheduler(T0);
      expect(() => s.advance(-1)).to.throw(RangeError, /-1/);
      expect(() => s.set(T0 - 1)).to.throw(RangeError, /backwards/);
    });

    it('does not let promise continuations run between firings (runFor does)', async () => {
      const s = new VirtualScheduler(T0);
      const out: string[] = [];
      s.setTimeout(() => {
        out.push('a');
        void deepChain(3).then(() => out.push('a-done'));
      }, 1);
      s.setTimeout(() => out.push('b'), 1);
      s.advance(1);
      expect(out).to.deep.equal(['a', 'b']);
      await s.settle();
      expect(out).to.deep.equal(['a', 'b', 'a-done']);
    });
  });

  describe('runFor()', () => {
    it('settles promise chains of any depth before the next timer fires', async () => {
      const s = new VirtualScheduler(T0);
      const out: string[] = [];
      s.setTimeout(() => {
        out.push('a');
        void deepChain(50).then(() => out.push('a-done'));
      }, 1);
      s.setTimeout(() => out.push('b'), 1);
      const fired = await s.runFor(5);
      expect(fired).to.equal(2);
      expect(out).to.deep.equal(['a', 'a-done', 'b']);
      expect(s.nowMs()).to.equal(T0 + 5);
    });

    it('fires timers that promise continuations set, when due in the window', async () => {
      const s = new VirtualScheduler(T0);
      const out: number[] = [];
      const sleep = (ms: number): Promise<void> => new Promise((r) => s.setTimeout(r, ms));
      const task = (async () => {
        for (let i = 0; i < 5; i++) {
          await sleep(10);
          out.push(s.nowMs() - T0);
        }
      })();
      await s.runFor(35);
      expect(out).to.deep.equal([10, 20, 30]);
      await s.runFor(100);
      expect(out).to.deep.equal([10, 20, 30, 40, 50]);
      await task;
    });

    it('lets already-pending continuations set timers before looking at the heap', async () => {
      const s = new VirtualScheduler(T0);
      let fired = false;
      void Promise.resolve().then(() => s.setTimeout(() => (fired = true), 0));
      await s.runFor(0);
      expect(fired).to.equal(true);
    });

    it('rejects with the error a callback throws', async () => {
      const s = new VirtualScheduler(T0);
      s.setTimeout(() => {
        throw new Error('boom at 3');
      }, 3);
      let caught: unknown;
      try {
        await s.runFor(10);
      } catch (err) {
        caught = err;
      }
      expect((caught as Error).message).to.equal('boom at 3');
      // The run ended: another may start.
      await s.runFor(1);
    });

    it('refuses to nest or overlap with another run', async () => {
      const s = new VirtualScheduler(T0);
      s.setTimeout(() => {}, 1);
      const first = s.runFor(10);
      let caught: unknown;
      try {
        await s.runFor(1);
      } catch (err) {
        caught = err;
      }
      expect(caught).to.be.instanceOf(IllegalStateError);
      expect(() => s.advance(1)).to.throw(IllegalStateError);
      await first;
    });
  });

  describe('runUntilIdle()', () => {
    it('runs every pending timer and stops at the last one', async () => {
      const s = new VirtualScheduler(T0);
      const out: number[] = [];
      s.setTimeout(() => s.setTimeout(() => out.push(s.nowMs() - T0), 1000), 500);
      const fired = await s.runUntilIdle();
      expect(fired).to.equal(2);
      expect(out).to.deep.equal([1500]);
      expect(s.nowMs()).to.equal(T0 + 1500);
      expect(s.pendingTimers()).to.equal(0);
    });

    it('stops after maxMs of virtual time, leaving later timers pending', async () => {
      const s = new VirtualScheduler(T0);
      s.setTimeout(() => {}, 10);
      s.setTimeout(() => {}, 100);
      expect(await s.runUntilIdle(50)).to.equal(1);
      expect(s.nowMs()).to.equal(T0 + 50);
      expect(s.pendingTimers()).to.equal(1);
    });

    it('throws IllegalStateError on a timer that re-arms itself at delay 0', async () => {
      const s = new VirtualScheduler(T0);
      const spin = (): void => void s.setTimeout(spin, 0);
      spin();
      let caught: unknown;
      try {
        await s.runUntilIdle(Infinity, 100);
      } catch (err) {
        caught = err;
      }
      expect(caught).to.be.instanceOf(IllegalStateError);
      expect((caught as Error).message).to.match(/fired 100 timers \(maxTimers=100\) and 1 are still pending/);
    });
  });

  describe('runUntil()', () => {
    it('stops as soon as the condition holds', async () => {
      const s = new VirtualScheduler(T0);
      let n = 0;
      const tick = (): void => {
        n++;
        s.setTimeout(tick, 10);
      };
      s.setTimeout(tick, 10);
      expect(await s.runUntil(() => n === 3)).to.equal(true);
      expect(s.nowMs()).to.equal(T0 + 30);
    });

    it('returns false when the scheduler goes idle or maxMs passes first', async () => {
      const s = new VirtualScheduler(T0);
      s.setTimeout(() => {}, 10);
      expect(await s.runUntil(() => false)).to.equal(false);
      const tick = (): void => void s.setTimeout(tick, 10);
      tick();
      expect(await s.runUntil(() => false, 100)).to.equal(false);
      expect(s.nowMs()).to.equal(T0 + 10 + 100);
    });
  });

  it('counts fired timers', async () => {
    const s = new VirtualScheduler(T0);
    for (let i = 0; i < 5; i++) s.setTimeout(() => {}, i);
    s.advance(2);
    await s.runUntilIdle();
    expect(s.firedTimers).to.equal(5);
  });
});
