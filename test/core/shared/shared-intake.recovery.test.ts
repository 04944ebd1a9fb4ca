/**
 * Recovery after a thread dies, window by window, made deterministic: an appender attached
 * on this thread is left in the state a thread terminated at that point leaves behind
 * (written through the layout's words), then its thread is declared gone. The rule: the
 * committed records are delivered, bytes past the committed cursor never are, the lock is
 * broken, and every slot it held returns.
 */
import { expect } from 'chai';
import type { Worker } from 'node:worker_threads';
import { InMemoryCluster } from '../../../packages/core/src/embedded/in-memory-cluster.js';
import { Producer } from '../../../packages/core/src/producer.js';
import { lock, lockHolder, lockTag, unlock } from '../../../packages/core/src/shared/partition-lock.js';
import {
  D_CLOSER,
  D_COUNT,
  D_PARTITION,
  D_RECORDS_LENGTH,
  D_SEAL_TARGET,
  D_SEQ,
  D_STATE,
  DescriptorState,
  P_COUNT,
  P_OPEN,
  P_POS,
  P_SEQ,
  T_MAP_INDEX,
  computeSharedLayout,
  descriptorEntry,
  layoutParamsFrom,
  partitionEntry,
  stashOf,
  topicEntry,
} from '../../../packages/core/src/shared/shared-accumulator-layout.js';
import { SpscRing } from '../../../packages/core/src/shared/spsc-ring.js';
import { RECORD_BATCH_OVERHEAD } from '../../../packages/core/src/format/record-batch-layout.js';
import { threadId } from 'node:worker_threads';

/** A stand-in for a Worker whose 'exit' the test fires. */
function fakeWorker(): { worker: Worker; exit: () => void } {
  let listener: (() => void) | null = null;
  const worker = {
    threadId,
    once: (_event: string, fn: () => void) => void (listener = fn),
    off: () => undefined,
  } as unknown as Worker;
  return { worker, exit: () => listener?.() };
}

async function setUp(codec: 'none' | 'lz4') {
  const network = new InMemoryCluster({ brokers: 1, topics: { r: 3 } });
  const producer = new Producer({ network, config: { compressionType: codec, batchSize: 2048, lingerMs: 60_000, bufferMemory: 256 * 1024, sealWorkers: 0 } });
  const handle = producer.shareable();
  const dead = fakeWorker();
  producer.watch(dead.worker);
  const appender = Producer.attach(handle); // "the thread that will die" (id 1)
  const control = new Int32Array(handle.accumulator);
  const layout = computeSharedLayout(layoutParamsFrom(control));
  const pool = Buffer.from(handle.pool);
  const dataOffset = handle.pool.byteLength - producer.accumulator.pool.slotCount * 2048;
  const entryOf = (partition: number): number => partitionEntry(layout, control[control[topicEntry(layout, 0) + T_MAP_INDEX] + partition]);
  return { network, producer, appender, dead, control, layout, pool, dataOffset, entryOf };
}

/**
 * What the appender does under the partition's lock when it closes the open batch: takes the
 * lock, fills the slot's descriptor and sets its state — the thread then "dies" at the
 * window each test names.
 */
function closeUnderLock(t: Awaited<ReturnType<typeof setUp>>, partition: number, state: number): { e: number; slot: number; d: number } {
  const e = t.entryOf(partition);
  expect(lock(t.control, e, lockTag(t.appender.id), 100)).to.equal(true);
  const slot = t.control[e + P_OPEN] - 1;
  const d = descriptorEntry(t.layout, slot);
  t.control[d + D_RECORDS_LENGTH] = t.control[e + P_POS] - RECORD_BATCH_OVERHEAD;
  t.control[d + D_COUNT] = t.control[e + P_COUNT];
  t.control[d + D_CLOSER] = t.appender.id;
  Atomics.store(t.control, d + D_STATE, state);
  return { e, slot, d };
}

/** The partition-map word of topic r's partition 0 (its partition index lives there). */
const control0 = (t: { control: Int32Array; layout: ReturnType<typeof computeSharedLayout> }): number => t.control[topicEntry(t.layout, 0) + T_MAP_INDEX];

const valuesOf = (network: InMemoryCluster, partition: number): string[] => network.readRecords('r', partition).map((r) => Buffer.from(r.value!).toString());

describe('SharedIntake recovery (thread death, window by window)', () => {
  it('died inside a record: holding the lock, bytes and count past the committed cursor → the lock is broken, the count recounted, the garbage never sent', async () => {
    const t = await setUp('none');
    for (let i = 0; i < 10; i++) await Promise.resolve(t.appender.send({ topic: 'r', partition: 0, value: `a${i}` }, null));
    const e = t.entryOf(0);
    const tag = lockTag(t.appender.id);
    expect(lock(t.control, e, tag, 100)).to.equal(true);
    // Half a record past the cursor, and the count already bumped (it is written before the cursor).
    const slot = t.control[e + P_OPEN] - 1;
    t.pool.fill(0xee, t.dataOffset + slot * 2048 + t.control[e + P_POS], t.dataOffset + slot * 2048 + t.control[e + P_POS] + 30);
    t.control[e + P_COUNT]++;
    t.dead.exit();
    expect(lockHolder(t.control[e])).to.equal(-1);
    expect(t.control[e + P_COUNT]).to.equal(10);
    const stats = t.producer.shared!.recoveryStats;
    expect(stats).to.include({ threads: 1, locksBroken: 1, batchesRepaired: 1 });
    t.producer.send({ topic: 'r', partition: 0, value: 'after' }, null);
    await t.producer.flush();
    expect(valuesOf(t.network, 0)).to.deep.equal([...Array.from({ length: 10 }, (_, i) => `a${i}`), 'after']);
    await t.producer.close();
    expect(t.producer.accumulator.pool.availableMemory()).to.equal(t.producer.accumulator.pool.totalMemory);
  });

  it('died after closing a batch, before publishing it → the batch is taken from its descriptor and sent', async () => {
    const t = await setUp('none');
    for (let i = 0; i < 5; i++) await Promise.resolve(t.appender.send({ topic: 'r', partition: 1, value: `b${i}` }, null));
    const { e } = closeUnderLock(t, 1, DescriptorState.CLOSED); // ... and died before the event and before P_OPEN ← 0
    t.dead.exit();
    expect(t.control[e + P_OPEN]).to.equal(0);
    expect(t.producer.shared!.recoveryStats).to.include({ locksBroken: 1, batchesFromDescriptors: 1 });
    t.producer.send({ topic: 'r', partition: 1, value: 'after' }, null);
    await t.producer.flush();
    expect(valuesOf(t.network, 1)).to.deep.equal(['b0', 'b1', 'b2', 'b3', 'b4', 'after']);
    await t.producer.close();
    expect(t.producer.accumulator.pool.availableMemory()).to.equal(t.producer.accumulator.pool.totalMemory);
  });

  it('died after installing a new batch, before its first record → the empty batch is kept for others, and close takes it (no hang), every slot back', async () => {
    const t = await setUp('none');
    await Promise.resolve(t.appender.send({ topic: 'r', partition: 1, value: 'x' }, null)); // topic ready, stash lent
    const e = t.entryOf(0);
    expect(lock(t.control, e, lockTag(t.appender.id), 100)).to.equal(true);
    // #installLocked, up to the stash's consume: slot installed, sequence taken, no record yet.
    const stash = new SpscRing(t.control, stashOf(t.layout, t.appender.id), t.layout.stashCapacity, 1);
    const slot = stash.peekWord(-1);
    expect(slot).to.be.at.least(0);
    const d = descriptorEntry(t.layout, slot);
    const seq = (t.control[e + P_SEQ] + 1) | 0;
    t.control[d + D_PARTITION] = t.control[control0(t)];
    t.control[d + D_SEQ] = seq;
    t.control[d + D_CLOSER] = -1;
    Atomics.store(t.control, d + D_STATE, DescriptorState.OPEN);
    t.control[e + P_POS] = RECORD_BATCH_OVERHEAD;
    t.control[e + P_COUNT] = 0;
    Atomics.store(t.control, e + P_OPEN, slot + 1);
    t.control[e + P_SEQ] = seq;
    stash.consume(1);
    t.dead.exit();
    expect(t.producer.shared!.recoveryStats).to.include({ threads: 1, locksBroken: 1, batchesRepaired: 1 });
    expect(t.control[e + P_COUNT]).to.equal(0);
    // Before the fix close waited for this empty batch forever (it was never detached).
    let timer: ReturnType<typeof setTimeout> | undefined;
    const closed = await Promise.race([
      t.producer.close().then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), 5_000))),
    ]);
    clearTimeout(timer);
    if (!closed) await t.producer.close({ timeoutMs: 0 });
    expect(closed, 'close returned').to.equal(true);
    expect(valuesOf(t.network, 1)).to.deep.equal(['x']);
    expect(t.producer.accumulator.pool.availableMemory()).to.equal(t.producer.accumulator.pool.totalMemory);
  });

  it('died while compressing into a second slot → the half-written copy is dropped, the intact raw records are sent, both slots return', async () => {
    const t = await setUp('lz4');
    for (let i = 0; i < 5; i++) await Promise.resolve(t.appender.send({ topic: 'r', partition: 2, value: `c${i}-${'z'.repeat(20)}` }, null));
    const { e, d } = closeUnderLock(t, 2, DescriptorState.CLOSING);
    Atomics.store(t.control, e + P_OPEN, 0);
    unlock(t.control, e);
    // Off the lock: took a second slot from its stash and started writing the compressed copy.
    const stash = new SpscRing(t.control, stashOf(t.layout, t.appender.id), t.layout.stashCapacity, 1);
    const target = stash.peekWord(-1);
    expect(target).to.be.at.least(0);
    Atomics.store(t.control, d + D_SEAL_TARGET, target + 1);
    stash.consume(1);
    t.pool.fill(0xab, t.dataOffset + target * 2048, t.dataOffset + target * 2048 + 500);
    t.dead.exit();
    expect(t.producer.shared!.recoveryStats).to.include({ threads: 1, batchesFromDescriptors: 1, sealCopiesDropped: 1 });
    await t.producer.flush();
    expect(valuesOf(t.network, 2)).to.deep.equal(Array.from({ length: 5 }, (_, i) => `c${i}-${'z'.repeat(20)}`));
    await t.producer.close();
    expect(t.producer.accumulator.pool.availableMemory()).to.equal(t.producer.accumulator.pool.totalMemory);
  });
});
