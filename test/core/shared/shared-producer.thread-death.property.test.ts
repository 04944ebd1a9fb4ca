/**
 * The thread-death rule, at random moments: an appender thread is terminated
 * (`worker.terminate()`) while it appends as fast as it can, alongside two other appender
 * threads, at a random delay after it started (fast-check), with compressed and
 * uncompressed batches, keyed and unkeyed records. Then:
 * - the other threads' records are all delivered, each once, in each thread's order;
 * - the terminated thread's records that reached the log are whole and in its order, each
 *   at most once (a record is sent only if it was committed; the one being written is not);
 * - close does not hang and every slot is back in the pool (nothing leaked: not the slots
 *   in its stash, not the one it was installing, not the second slot it was compressing
 *   into);
 * - the terminated thread's appender id is free again.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { InMemoryCluster } from '../../../packages/core/src/embedded/in-memory-cluster.js';
import { Producer } from '../../../packages/core/src/producer.js';
import type { AppenderThread } from './fixtures/appender-threads.js';
import { AppenderThread as Thread, startAppenderThreads } from './fixtures/appender-threads.js';
import { checkLog } from './shared-log-check.js';
import { A_STATE, AppenderState, appenderEntry, computeSharedLayout, layoutParamsFrom } from '../../../packages/core/src/shared/shared-accumulator-layout.js';
import type { LoggedRecord } from './shared-log-check.js';

const SURVIVOR_RECORDS = 4000;
const PARTITIONS = 12;
const VALUE_BYTES = 40;
const RUNS = Number(process.env.SLUICE_THREAD_DEATH_RUNS ?? 12);

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

describe('shared producer: an appender thread terminated in the middle of its appends (property)', function () {
  this.timeout(180_000);
  let survivors: AppenderThread[];
  let nextVictim: AppenderThread;

  before(async function () {
    this.timeout(60_000);
    survivors = await startAppenderThreads(2);
    nextVictim = new Thread();
    await nextVictim.ready;
  });
  after(async () => {
    await Promise.all([...survivors, nextVictim].map((t) => t.terminate()));
  });

  it('the rule holds at random moments: others all delivered, nothing half-written sent, no slot leaked, no hang', async () => {
    let run = 0;
    const totals: Record<string, number> = {};
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          delayMs: fc.integer({ min: 0, max: 40 }),
          codec: fc.constantFrom('none' as const, 'lz4' as const),
          keys: fc.constantFrom('mixed' as const, 'null' as const, 'keyed' as const),
        }),
        async ({ delayMs, codec, keys }) => {
          const topic = `death-${run++}`;
          const victim = nextVictim;
          nextVictim = new Thread(); // starts while this run goes on
          const network = new InMemoryCluster({ brokers: 3, topics: { [topic]: PARTITIONS } });
          const producer = new Producer({
            network,
            config: { compressionType: codec, batchSize: 2048, lingerMs: 1, bufferMemory: 512 * 1024, maxBlockMs: 30_000, sealWorkers: 0 },
          });
          const handle = producer.shareable();
          producer.watch(victim.worker);
          for (const s of survivors) producer.watch(s.worker);
          let started!: () => void;
          const victimStarted = new Promise<void>((resolve) => (started = resolve));
          const victimRound = victim.run({ handle, thread: 9, records: 50_000_000, topic, keys, valueBytes: VALUE_BYTES, progressEvery: 200, yieldEvery: 0 }, () => started());
          victimRound.catch(() => undefined); // it never finishes: it is terminated
          const rounds = survivors.map((s, i) => s.run({ handle, thread: i, records: SURVIVOR_RECORDS, topic, keys: 'mixed', valueBytes: VALUE_BYTES, yieldEvery: 500 }));
          await victimStarted;
          await new Promise((resolve) => setTimeout(resolve, delayMs));
          await victim.terminate();
          const reports = await withTimeout(Promise.all(rounds), 60_000, 'the surviving threads');
          try {
            await withTimeout(producer.close(), 30_000, 'close');
          } catch (err) {
            // What the owner saw, for the diagnosis; then a forced close, so that a failure
            // here leaves no producer keeping the test process alive.
            console.error('      close timed out:', JSON.stringify({
              snapshot: producer.shared?.debugSnapshot(),
              incomplete: producer.accumulator.incompleteCount(),
              inFlight: producer.sender.requestsInFlight,
              recovery: producer.shared?.recoveryStats,
            }));
            await withTimeout(producer.close({ timeoutMs: 0 }), 5_000, 'forced close').catch(() => undefined);
            throw err;
          }
          for (const r of reports) {
            expect(r.firstError).to.equal(null);
            expect(r.notOnce).to.equal(0);
            expect(r.acked).to.equal(SURVIVOR_RECORDS);
          }
          const log: LoggedRecord[] = [];
          for (let p = 0; p < PARTITIONS; p++) for (const r of network.readRecords(topic, p)) log.push({ partition: p, value: Buffer.from(r.value!).toString() });
          const { seen } = checkLog(log, new Map([[0, SURVIVOR_RECORDS], [1, SURVIVOR_RECORDS]]), VALUE_BYTES);
          expect(seen.get(9)?.size ?? 0, 'the terminated thread had appended').to.be.greaterThan(0);
          const pool = producer.accumulator.pool;
          expect(pool.availableMemory(), 'every slot back').to.equal(pool.totalMemory);
          const stats = producer.shared!.recoveryStats;
          expect(stats.threads, 'the terminated thread was recovered').to.equal(1);
          for (const [k, v] of Object.entries(stats)) totals[k] = (totals[k] ?? 0) + v;
          // Its appender id is free again (and so are the survivors', which closed theirs).
          const control = new Int32Array(handle.accumulator);
          const layout = computeSharedLayout(layoutParamsFrom(control));
          for (let a = 1; a < layout.maxAppenders; a++) expect(Atomics.load(control, appenderEntry(layout, a) + A_STATE), `appender ${a}`).to.equal(AppenderState.FREE);
        },
      ),
      { numRuns: RUNS, endOnFailure: true },
    );
    console.log(`      recoveries over ${RUNS} runs: ${JSON.stringify(totals)}`);
    expect(totals.threads).to.equal(RUNS);
  });
});
