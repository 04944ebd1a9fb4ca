/**
 * Producer events and the logger hook, on virtual time against the embedded cluster: each
 * event fires when the thing happens (batches sent, retried, failed; memory waits and
 * exhaustion; metadata; epoch bumps), the logger hears them at their levels, a throwing
 * listener or logger is reported once and changes nothing, and nothing is logged by default.
 */
import { expect } from 'chai';
import { KafkaErrors } from '../../../packages/core/src/protocol/kafka-errors.js';
import { BrokerError, BufferExhaustedError } from '../../../packages/core/src/errors.js';
import type { ProducerEventMap } from '../../../packages/core/src/events/producer-events.js';
import { userHookErrorCounts } from '../../../packages/core/src/user-hook-error.js';
import { makeSim, paddedValue, track } from '../sender/sender-harness.js';

type Seen = { [E in keyof ProducerEventMap]?: ProducerEventMap[E][] };

function record(sim: ReturnType<typeof makeSim>): Seen {
  const seen: Seen = {};
  for (const name of ['connection', 'metadata', 'batch.sent', 'batch.retried', 'batch.failed', 'buffer.wait', 'buffer.exhausted', 'recovered', 'fatal'] as const) {
    sim.producer.on(name, ((p: unknown) => void ((seen[name] ??= []) as unknown[]).push(p)) as never);
  }
  return seen;
}

describe('Producer events', () => {
  it('reports batches sent and retried (with the error and backoff), then failed for good', async () => {
    const sim = makeSim({ config: { retries: 1, lingerMs: 0 } });
    const seen = record(sim);
    sim.cluster.injectErrors('t', 0, [KafkaErrors.NOT_ENOUGH_REPLICAS.code, KafkaErrors.NOT_ENOUGH_REPLICAS.code]);
    const r = track(sim.producer.send({ topic: 't', partition: 0, value: 'v' }));
    await sim.runUntil(() => r.settled);
    expect(r.error).to.be.instanceOf(BrokerError);
    expect(seen['batch.sent']!.map((e) => e.attempt)).to.deep.equal([1, 2]);
    expect(seen['batch.sent']![0]).to.include({ topic: 't', partition: 0, recordCount: 1 });
    expect(seen['batch.retried']).to.have.length(1);
    expect(seen['batch.retried']![0].error.code).to.equal('SLUICE_ERR_BROKER');
    expect(seen['batch.retried']![0].backoffMs).to.be.greaterThan(0);
    expect(seen['batch.failed']).to.have.length(1);
    expect((seen['batch.failed']![0].error as BrokerError).errorName).to.equal('NOT_ENOUGH_REPLICAS');
  });

  it('reports memory waits and exhaustion', async () => {
    const sim = makeSim({ config: { bufferMemory: 2048, lingerMs: 1000, maxBlockMs: 50 } });
    const seen = record(sim);
    for (let i = 0; i < 3; i++) sim.producer.send({ topic: 't', partition: i, value: paddedValue(i, 300) }, null);
    await sim.scheduler.runFor(1);
    expect(seen['buffer.wait']).to.have.length(1);
    expect(seen['buffer.wait']![0]).to.deep.equal({ sizeBytes: 1024, maxBlockMs: 50 });
    const fast = makeSim({ config: { bufferMemory: 2048, lingerMs: 1000, maxBlockMs: 0 } });
    const fastSeen = record(fast);
    expect(() => {
      for (let i = 0; i < 3; i++) fast.producer.send({ topic: 't', partition: i, value: paddedValue(i, 300) }, null);
    }).to.throw(BufferExhaustedError);
    expect(fastSeen['buffer.exhausted']).to.have.length(1);
    expect(fastSeen['buffer.exhausted']![0].error).to.be.instanceOf(BufferExhaustedError);
  });

  it('reports metadata changes and epoch bumps', async () => {
    const sim = makeSim({ cluster: { autoCreateTopics: true }, config: { lingerMs: 0 } });
    const seen = record(sim);
    const r = track(sim.producer.send({ topic: 'brand-new', value: 'v' }));
    await sim.runUntil(() => r.settled);
    expect(seen.metadata!.some((m) => m.changedTopics.includes('brand-new'))).to.equal(true);
    // UNKNOWN_PRODUCER_ID makes the idempotent producer bump its epoch (and carry on).
    sim.cluster.injectErrors('t', 1, [KafkaErrors.UNKNOWN_PRODUCER_ID.code]);
    const s = track(sim.producer.send({ topic: 't', partition: 1, value: 'w' }));
    await sim.runUntil(() => s.settled);
    expect(s.error).to.equal(undefined);
    expect(seen.recovered!.map((e) => e.what)).to.include('epoch-bump');
  });

  it('writes to the logger at each event level, and nothing without a logger', async () => {
    const lines: [string, string][] = [];
    const logger = {
      debug: (m: string) => lines.push(['debug', m]),
      info: (m: string) => lines.push(['info', m]),
      warn: (m: string) => lines.push(['warn', m]),
      error: (m: string) => lines.push(['error', m]),
    };
    const sim = makeSim({ producer: { logger }, config: { retries: 1, lingerMs: 0 } });
    sim.cluster.injectErrors('t', 0, [KafkaErrors.NOT_ENOUGH_REPLICAS.code]);
    const r = track(sim.producer.send({ topic: 't', partition: 0, value: 'v' }));
    await sim.runUntil(() => r.settled);
    expect(lines.filter(([l]) => l === 'debug').some(([, m]) => /batch of 1 record\(s\) for t-0 sent to node \d \(attempt 1\)/.test(m))).to.equal(true);
    expect(lines.filter(([l]) => l === 'warn').some(([, m]) => /retried in \d+ ms after attempt 1: NOT_ENOUGH_REPLICAS/.test(m))).to.equal(true);

    // Without a logger: not one line on the console, the same run.
    const methods = ['log', 'info', 'warn', 'error', 'debug'] as const;
    const saved = methods.map((m) => console[m]);
    let printed = 0;
    for (const m of methods) console[m] = () => void printed++;
    try {
      const quiet = makeSim({ config: { retries: 1, lingerMs: 0 } });
      quiet.cluster.injectErrors('t', 0, [KafkaErrors.NOT_ENOUGH_REPLICAS.code]);
      const q = track(quiet.producer.send({ topic: 't', partition: 0, value: 'v' }));
      await quiet.runUntil(() => q.settled);
    } finally {
      methods.forEach((m, i) => (console[m] = saved[i]));
    }
    expect(printed).to.equal(0);
  });

  it('reports a throwing listener once and goes on delivering', async () => {
    const sim = makeSim({ config: { lingerMs: 0 } });
    const before = userHookErrorCounts()['event listener'];
    let calls = 0;
    sim.producer.on('batch.sent', () => {
      calls++;
      throw new Error('listener bug');
    });
    const rs = Array.from({ length: 5 }, (_, i) => track(sim.producer.send({ topic: 't', partition: i % 3, value: `v${i}` })));
    await sim.runUntil(() => rs.every((r) => r.settled));
    expect(rs.every((r) => r.error === undefined)).to.equal(true);
    expect(userHookErrorCounts()['event listener'] - before).to.equal(calls);
    expect(calls).to.be.greaterThan(0);
  });
});
