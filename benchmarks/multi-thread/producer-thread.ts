/**
 * One producer thread of `benchmarks/multi-thread-producers.ts`. It stays alive across
 * rounds so that its JIT is warm. For every round message it attaches to the shared buffer
 * pool, builds a `Producer` over its own embedded cluster, waits at the round's start gate,
 * sends its records (no-promise path, awaiting only when memory is short), flushes, and
 * reports its record count.
 */
import { parentPort } from 'node:worker_threads';
import { BufferPool, InMemoryCluster, Producer } from '@sluice/core';

/** One round. */
export interface ProducerThreadInput {
  shared: SharedArrayBuffer;
  gate: SharedArrayBuffer;
  records: number;
  recordSize: number;
  partitions: number;
  thread: number;
}

export interface ProducerThreadOutput {
  records: number;
  errors: number;
  firstError: string | null;
}

async function main(input: ProducerThreadInput): Promise<ProducerThreadOutput> {
  const pool = BufferPool.attach(input.shared);
  const network = new InMemoryCluster({ brokers: 3, topics: { perf: input.partitions }, retainLog: false });
  const producer = new Producer({ pool, network, config: { batchSize: pool.poolableSize, maxBlockMs: 60_000 } });
  const values = Array.from({ length: 256 }, (_, i) => {
    const v = Buffer.allocUnsafe(input.recordSize);
    for (let k = 0; k < v.length; k++) v[k] = 0x41 + ((i * 7 + k * 13 + input.thread) % 26);
    return v;
  });
  const record: { topic: string; value: Buffer | null } = { topic: 'perf', value: null };
  let errors = 0;
  let firstError: string | null = null;
  parentPort!.postMessage({ ready: true });
  Atomics.wait(new Int32Array(input.gate), 0, 0);
  for (let i = 0; i < input.records; i++) {
    record.value = values[i & 255];
    const wait = producer.send(record, null);
    if (wait !== undefined) {
      const err = await wait;
      if (err !== null) {
        errors++;
        firstError ??= err.message;
      }
    }
    if ((i & 2047) === 2047) await new Promise<void>((resolve) => setImmediate(resolve));
  }
  await producer.flush();
  const failed = producer.metrics()['record-error-total'] ?? 0;
  await producer.close();
  await network.close();
  return { records: input.records, errors: errors + Number(failed), firstError };
}

parentPort!.on('message', (input: ProducerThreadInput) => {
  main(input).then(
    (output) => parentPort!.postMessage(output),
    (err: unknown) => parentPort!.postMessage({ records: 0, errors: -1, firstError: String((err as Error)?.stack ?? err) }),
  );
});
