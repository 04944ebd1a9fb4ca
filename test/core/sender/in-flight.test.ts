import { expect } from 'chai';
import type { ProducerBatch } from '../../../packages/core/src/accumulator/producer-batch.js';
import type { InFlightRequest } from '../../../packages/core/src/sender/in-flight.js';
import { InFlightRequests } from '../../../packages/core/src/sender/in-flight.js';
import { makeAccumulator } from '../../helpers/accumulator-factory.js';

function batchAt(createdMs: number): ProducerBatch {
  const t = makeAccumulator();
  t.clock.set(createdMs);
  t.acc.append({ topic: 't', partition: 0 }, createdMs, null, 'v');
  return t.acc.batchesFor({ topic: 't', partition: 0 })[0];
}

function request(id: number, nodeId: number, batches: ProducerBatch[]): InFlightRequest {
  return { id, nodeId, batches, sent: [], drainedMs: 0, sentMs: 0, index: -1, awaitingSeal: false };
}

describe('InFlightRequests', () => {
  it('counts requests per node until they are removed', () => {
    const f = new InFlightRequests(1000);
    const a = request(1, 0, []);
    const b = request(2, 0, []);
    const c = request(3, 2, []);
    f.add(a);
    f.add(b);
    f.add(c);
    expect([f.countTo(0), f.countTo(1), f.countTo(2), f.size]).to.deep.equal([2, 0, 1, 3]);
    f.remove(a);
    f.remove(a);
    expect([f.countTo(0), f.size]).to.deep.equal([1, 2]);
  });

  it('finds batches past their delivery timeout, scanning only once the earliest deadline is reached', () => {
    const f = new InFlightRequests(1000);
    const old = batchAt(1_700_000_000_000);
    const young = batchAt(1_700_000_000_500);
    f.add(request(1, 0, [old, young]));
    expect(f.nextExpiryMs()).to.equal(1_700_000_001_000);
    expect(f.expiredBatches(1_700_000_000_999)).to.deep.equal([]);
    expect(f.expiredBatches(1_700_000_001_000)).to.deep.equal([old]);
    expect(f.nextExpiryMs()).to.equal(1_700_000_001_500);
    old.done(-1, -1, new Error('expired'));
    expect(f.expiredBatches(1_700_000_001_600)).to.deep.equal([young]);
  });

  it('has no deadline when nothing is in flight', () => {
    const f = new InFlightRequests(1000);
    const r = request(1, 0, [batchAt(1_700_000_000_000)]);
    f.add(r);
    f.remove(r);
    expect(f.nextExpiryMs()).to.equal(Infinity);
  });
});
