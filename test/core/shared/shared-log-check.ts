/**
 * Checks a topic's log after a shared-producer run, for the stress, thread-death and
 * real-broker tests: records are `<thread>:<index>:<padding>` values; every record of the
 * given threads appears exactly once; each thread's records of one partition appear in the
 * order that thread appended them; every record in the log is whole (no half-written
 * record was ever sent).
 */
import { expect } from 'chai';
import { valueOf } from './fixtures/appender-thread.js';

/** One record as read back: its partition and value, in log order per partition. */
export interface LoggedRecord {
  readonly partition: number;
  readonly value: string;
}

export interface LogCheck {
  /** thread → indices found (each once, checked). */
  readonly seen: Map<number, Set<number>>;
}

/**
 * @param records - the log, each partition's records in offset order
 * @param complete - thread → records it sent that must all be there (the others: at most once, in order)
 * @param valueBytes - the value size the threads used, or of each record (whole-record check)
 */
export function checkLog(records: readonly LoggedRecord[], complete: ReadonlyMap<number, number>, valueBytes: number | ((thread: number, index: number) => number)): LogCheck {
  const seen = new Map<number, Set<number>>();
  const last = new Map<string, number>();
  for (const r of records) {
    const m = /^(\d+):(\d+):/.exec(r.value);
    expect(m, `a whole record in partition ${r.partition}: ${r.value.slice(0, 40)}`).to.not.equal(null);
    const thread = Number(m![1]);
    const index = Number(m![2]);
    const size = typeof valueBytes === 'number' ? valueBytes : valueBytes(thread, index);
    if (r.value !== valueOf(thread, index, size)) expect(r.value, `record ${thread}:${index} is whole`).to.equal(valueOf(thread, index, size));
    let s = seen.get(thread);
    if (s === undefined) seen.set(thread, (s = new Set()));
    expect(s.has(index), `record ${thread}:${index} once`).to.equal(false);
    s.add(index);
    const key = `${thread}/${r.partition}`;
    const previous = last.get(key) ?? -1;
    expect(index, `thread ${thread}'s records of partition ${r.partition} in its append order`).to.be.greaterThan(previous);
    last.set(key, index);
  }
  for (const [thread, count] of complete) {
    const s = seen.get(thread) ?? new Set();
    if (s.size !== count) {
      const missing: number[] = [];
      for (let i = 0; i < count && missing.length < 10; i++) if (!s.has(i)) missing.push(i);
      expect.fail(`thread ${thread}: ${s.size} of ${count} records in the log; missing e.g. ${missing.join(', ')}`);
    }
  }
  return { seen };
}
