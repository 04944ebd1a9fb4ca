import { expect } from 'chai';
import type { ProducerConfigInput } from '../../../packages/core/src/config.js';
import type { ProducerBatch } from '../../../packages/core/src/accumulator/producer-batch.js';
import { resolveConfig } from '../../../packages/core/src/config.js';
import { ConfigError } from '../../../packages/core/src/errors.js';
import { IdempotenceManager, MAX_PRODUCER_EPOCH, resolveIdempotence } from '../../../packages/core/src/sender/idempotence.js';
import { KafkaErrors } from '../../../packages/core/src/protocol/kafka-errors.js';
import { makeAccumulator } from '../../helpers/accumulator-factory.js';

const OOS = KafkaErrors.OUT_OF_ORDER_SEQUENCE_NUMBER.code;
const T0 = { topic: 't', partition: 0 };

/** An accumulator whose drain is gated by an IdempotenceManager, and a tiny "sender" to drive it. */
function setup() {
  const t = makeAccumulator({ lingerMs: 0, enableIdempotence: true });
  const idem = new IdempotenceManager(t.acc);
  t.acc.attachSender({ wakeup: () => {}, mayDrain: (tp, head) => idem.mayDrain(tp, head) });
  let n = 0;
  const append = (): void => {
    // Each append closes the previous batch: one record per batch keeps the arithmetic simple.
    t.acc.append(T0, 1, null, `r${n++}`);
    for (const b of t.acc.batchesFor(T0)) b.closeForRecordAppends();
  };
  const drain = (): ProducerBatch | undefined => {
    const { readyNodes } = t.acc.ready(t.cluster, t.clock.nowMs());
    const b = t.acc.drain(t.cluster, readyNodes, 1 << 20, t.clock.nowMs()).get(0)?.[0];
    if (b !== undefined) {
      idem.onDrained(b);
      b.markInFlight(t.clock.nowMs());
    }
    return b;
  };
  const ack = (b: ProducerBatch): void => {
    idem.onAcked(b);
    b.done(0, -1, null);
    b.releaseNetworkHold();
    idem.onReturned(b);
  };
  const retry = (b: ProducerBatch, code: number): boolean => {
    const ok = idem.canRetry(b, code);
    t.acc.reenqueue(b, t.clock.nowMs());
    b.releaseNetworkHold();
    idem.onReturned(b);
    return ok;
  };
  const fail = (b: ProducerBatch): void => {
    b.done(-1, -1, new Error('gone'));
    idem.onFailed(b);
    b.releaseNetworkHold();
    idem.onReturned(b);
  };
  return { t, idem, append, drain, ack, retry, fail };
}

describe('idempotence', () => {
  describe('resolveIdempotence()', () => {
    it('is on by default and off when enable.idempotence is false', () => {
      expect(resolveIdempotence(resolveConfig({}), {})).to.equal(true);
      expect(resolveIdempotence(resolveConfig({ enableIdempotence: false }), { enableIdempotence: false })).to.equal(false);
    });

    it('turns implicit idempotence off on conflicting settings, and rejects explicit idempotence with them (KIP-679)', () => {
      const conflicting: ProducerConfigInput[] = [{ acks: 1 }, { acks: 0 }, { maxInFlightRequestsPerConnection: 6 }, { retries: 0 }];
      for (const bad of conflicting) {
        expect(resolveIdempotence(resolveConfig(bad), bad), JSON.stringify(bad)).to.equal(false);
        const explicit = { ...bad, 'enable.idempotence': true };
        expect(() => resolveIdempotence(resolveConfig(explicit), explicit), JSON.stringify(bad)).to.throw(ConfigError, /enable\.idempotence=true conflicts/);
      }
    });
  });

  describe('IdempotenceManager', () => {
    it('drains nothing before a producer id is known', () => {
      const s = setup();
      s.append();
      expect(s.drain()).to.equal(undefined);
      expect(s.idem.maintain()).to.equal('init-producer-id');
      s.idem.setProducerIdAndEpoch({ producerId: 7, epoch: 0 });
      const b = s.drain()!;
      expect([b.producerId, b.producerEpoch, b.baseSequence]).to.deep.equal([7, 0, 0]);
    });

    it('sends one batch of a new sequence space until the broker acknowledged one, then pipelines up to 5', () => {
      const s = setup();
      s.idem.setProducerIdAndEpoch({ producerId: 1, epoch: 0 });
      for (let i = 0; i < 8; i++) s.append();
      const first = s.drain()!;
      expect(s.drain(), 'second batch waits for the first ack').to.equal(undefined);
      s.ack(first);
      const inFlight = [s.drain(), s.drain(), s.drain(), s.drain(), s.drain()];
      expect(inFlight.every((b) => b !== undefined)).to.equal(true);
      expect(inFlight.map((b) => b!.baseSequence)).to.deep.equal([1, 2, 3, 4, 5]);
      expect(s.drain(), 'a sixth would leave the broker duplicate window').to.equal(undefined);
    });

    it('counts acknowledged batches behind a stuck one in the duplicate window', () => {
      const s = setup();
      s.idem.setProducerIdAndEpoch({ producerId: 1, epoch: 0 });
      for (let i = 0; i < 10; i++) s.append();
      s.ack(s.drain()!);
      const stuck = s.drain()!;
      for (let i = 0; i < 4; i++) s.ack(s.drain()!);
      expect(s.drain(), 'four acknowledged after the stuck batch: window full').to.equal(undefined);
      s.ack(stuck);
      expect(s.drain()).to.not.equal(undefined);
    });

    it('retries in sequence order: a retried batch goes only when it is the first incomplete one', () => {
      const s = setup();
      s.idem.setProducerIdAndEpoch({ producerId: 1, epoch: 0 });
      for (let i = 0; i < 4; i++) s.append();
      s.ack(s.drain()!);
      const [b1, b2, b3] = [s.drain()!, s.drain()!, s.drain()!];
      expect(s.retry(b2, OOS)).to.equal(true); // answered first, as out of order: b1 is still open
      expect(s.retry(b1, KafkaErrors.NOT_LEADER_OR_FOLLOWER.code)).to.equal(true);
      expect(s.retry(b3, OOS)).to.equal(true);
      expect(s.idem.maintain()).to.equal('none');
      expect(s.idem.epochBumps, 'out of order behind an open batch: no bump').to.equal(0);
      expect(s.drain()).to.equal(b1);
      expect(s.drain(), 'b2 waits for b1').to.equal(undefined);
      s.ack(b1);
      expect(s.drain()).to.equal(b2);
      s.ack(b2);
      expect(s.drain()).to.equal(b3);
      expect([b1, b2, b3].map((b) => b.baseSequence)).to.deep.equal([1, 2, 3]);
    });

    it('renumbers from 0 in a new epoch when the first incomplete batch is refused as out of order, once nothing is outstanding', () => {
      const s = setup();
      s.idem.setProducerIdAndEpoch({ producerId: 1, epoch: 0 });
      for (let i = 0; i < 4; i++) s.append();
      s.ack(s.drain()!);
      const [b1, b2] = [s.drain()!, s.drain()!];
      expect(s.retry(b1, OOS)).to.equal(true);
      expect(s.idem.maintain()).to.equal('none');
      expect(s.idem.epochBumps, 'b2 is still outstanding: wait').to.equal(0);
      expect(s.drain(), 'nothing drains while a renumbering is pending').to.equal(undefined);
      s.retry(b2, OOS);
      s.idem.maintain();
      expect(s.idem.epochBumps).to.equal(1);
      expect([b1.producerEpoch, b1.baseSequence, b2.producerEpoch, b2.baseSequence]).to.deep.equal([1, 0, 1, 1]);
      expect(s.t.acc.sequenceFor(T0)).to.equal(2);
      expect(s.drain()).to.equal(b1);
    });

    it('leaves a partition unresolved after a sent batch failed for good, and bumps the epoch when the gap is real', () => {
      const s = setup();
      s.idem.setProducerIdAndEpoch({ producerId: 1, epoch: 0 });
      for (let i = 0; i < 3; i++) s.append();
      s.ack(s.drain()!);
      s.fail(s.drain()!);
      expect(s.drain(), 'no new batch while unresolved').to.equal(undefined);
      s.idem.maintain();
      expect(s.idem.epochBumps).to.equal(1);
      const next = s.drain()!;
      expect([next.producerEpoch, next.baseSequence]).to.deep.equal([1, 0]);
    });

    it('resolves without a bump when a later acknowledgement shows the failed batch was written', () => {
      const s = setup();
      s.idem.setProducerIdAndEpoch({ producerId: 1, epoch: 0 });
      for (let i = 0; i < 4; i++) s.append();
      s.ack(s.drain()!);
      const [failed, later] = [s.drain()!, s.drain()!];
      s.fail(failed); // e.g. expired in flight
      s.ack(later);
      expect(s.idem.maintain()).to.equal('none');
      expect(s.idem.epochBumps).to.equal(0);
      const next = s.drain()!;
      expect([next.producerEpoch, next.baseSequence]).to.deep.equal([0, 3]);
    });

    it('asks for a new producer id instead of bumping past epoch 32767', () => {
      const s = setup();
      s.idem.setProducerIdAndEpoch({ producerId: 1, epoch: MAX_PRODUCER_EPOCH });
      for (let i = 0; i < 3; i++) s.append();
      s.ack(s.drain()!);
      s.fail(s.drain()!);
      expect(s.idem.maintain()).to.equal('init-producer-id');
      expect(s.drain()).to.equal(undefined);
      s.idem.setProducerIdAndEpoch({ producerId: 2, epoch: 0 });
      const next = s.drain()!;
      expect([next.producerId, next.producerEpoch, next.baseSequence]).to.deep.equal([2, 0, 0]);
    });
  });
});
