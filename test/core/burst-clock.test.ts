import { expect } from 'chai';
import { BURST_READS, BurstClock } from '../../packages/core/src/burst-clock.js';
import { RecordAccumulator } from '../../packages/core/src/accumulator/record-accumulator.js';
import { ManualClock } from '../../packages/core/src/clock.js';

describe('BurstClock', () => {
  it(`reads the clock once per ${BURST_READS} calls within one synchronous run, and serves that reading`, () => {
    let t = 1000;
    const clock = new BurstClock(() => t++);
    const seen: number[] = [];
    for (let i = 0; i < 3 * BURST_READS; i++) seen.push(clock.nowMs());
    expect(clock.reads).to.equal(3);
    expect(seen.slice(0, BURST_READS).every((v) => v === 1000)).to.equal(true);
    expect(seen[BURST_READS]).to.equal(1001);
    expect(seen[2 * BURST_READS]).to.equal(1002);
  });

  it('reads again after a microtask checkpoint (an await between two sends)', async () => {
    let t = 5;
    const clock = new BurstClock(() => t);
    expect(clock.nowMs()).to.equal(5);
    t = 9;
    expect(clock.nowMs(), 'same synchronous run: the reading is served').to.equal(5);
    await Promise.resolve();
    expect(clock.nowMs(), 'after the checkpoint: read again').to.equal(9);
    expect(clock.reads).to.equal(2);
  });

  it('gives non-decreasing timestamps in call order when the clock does not go back', async () => {
    let t = 0;
    const clock = new BurstClock(() => (t += 3));
    let last = -1;
    for (let run = 0; run < 5; run++) {
      for (let i = 0; i < 20; i++) {
        const v = clock.nowMs();
        expect(v).to.be.at.least(last);
        last = v;
      }
      await Promise.resolve();
    }
  });

  it('is not used for an injected clock: a ManualClock moved between two appends of one run stamps both exactly', () => {
    const clock = new ManualClock(1_000);
    const acc = new RecordAccumulator({ clock, config: { batchSize: 1024, bufferMemory: 64 * 1024, lingerMs: 0 } });
    const h = acc.partitionHandle({ topic: 't', partition: 0 });
    acc.appendTo(h, null, null, 'a', null, null);
    clock.advance(7);
    acc.appendTo(h, null, null, 'b', null, null);
    const batch = acc.batchesFor({ topic: 't', partition: 0 })[0];
    expect(batch.baseTimestamp).to.equal(1_000);
    expect(batch.maxTimestamp).to.equal(1_007);
    acc.close();
  });
});
