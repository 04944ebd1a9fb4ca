/**
 * The records a perf run sends, generated once before timing so that the measured loop
 * only picks from pools (no allocation, no random bytes per record), and so that Sluice and
 * every peer send exactly the same records in the same order.
 *
 * - Values: with `--record-size N`, a pool of 1024 distinct payloads of N random uppercase
 *   letters (Kafka's ProducerPerformance fills its payload with 'A'..'Z' — one payload
 *   reused for every record, which makes every codec look better than it is; distinct
 *   payloads keep compression honest). With `--payload-file`, every line of the file
 *   (Kafka: "picked at random").
 *   `--payload-kind json`: JSON-like event records of the same size (json-like-values.ts).
 *   `--payload-monotonic`: the record's index in decimal, made per record by the loop
 *   (perf-run.ts), as Kafka's tool does.
 * - Keys: none by default (Kafka's tool sends null keys); with `--key-size N`, a pool of
 *   the same size of N random letters, paired with the value of the same index; with Kafka's
 *   `--key-distribution range|random --record-key-range N`, integers in [0, N) as decimal
 *   text (range: entry j gets j mod N; random: drawn uniformly), again one per pool entry,
 *   so at most as many distinct keys as the pool has entries.
 * - Which record: entry `j` of the pools, drawn per record from a seeded generator
 *   (mulberry32, `--seed`): the same sequence for every producer in the run.
 * - Partition: a keyed record goes where Kafka's default partitioner sends its key
 *   (`toPositive(murmur2(key)) % partitions`, precomputed per pool entry); unkeyed records
 *   use the sticky rule of KIP-794, driven by the loop (see perf-run.ts).
 */
import { readFileSync } from 'node:fs';
import { murmur2, seededRandom, toPositive } from '@sluice/core';
import type { PerfOptions } from './cli.js';
import { UsageError } from './cli.js';
import { jsonLikeValues } from './json-like-values.js';

/** Pool size for generated payloads (a power of two). */
export const GENERATED_POOL_SIZE = 1024;
const UPPERCASE_A = 65;

/** Everything about the records of a run. */
export interface Workload {
  topic: string;
  partitions: number;
  brokers: number;
  /** Records sent, warm-up included. */
  numRecords: number;
  /** The first records, sent but not measured. */
  warmupRecords: number;
  /** Records/s cap, -1 = none. */
  throughput: number;
  seed: number;
  reportingIntervalMs: number;
  values: Buffer[];
  /** Same length as `values`, or null for null keys. */
  keys: Buffer[] | null;
  /** Partition of each key (murmur2), or null for null keys. */
  keyPartitions: Int32Array | null;
  /** Key + value bytes of each pool entry. */
  recordBytes: Int32Array;
  /** Values are the record index in decimal, made per record (`--payload-monotonic`). */
  monotonic: boolean;
}

/** Pool entries with `--payload-monotonic`: the loop writes record i's value into entry i mod this. */
export const MONOTONIC_POOL_SIZE = 1024;

/**
 * Seeded uint32 generator: core's `seededRandom` (mulberry32) scaled back to its 32-bit
 * output (exact: the float is the uint32 over 2^32).
 */
export function mulberry32(seed: number): () => number {
  const next = seededRandom(seed);
  return () => next() * 4294967296;
}

function randomLetters(length: number, next: () => number): Buffer {
  const b = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) b[i] = UPPERCASE_A + (next() % 26);
  return b;
}

/** Reads `--payload-file`: one payload per delimiter-separated piece, empty ones dropped. */
export function readPayloadFile(path: string, delimiter: string): Buffer[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`--payload-file: cannot read ${path}: ${(err as Error).message}`);
  }
  const out = text
    .split(delimiter)
    .filter((s) => s.length > 0)
    .map((s) => Buffer.from(s, 'utf8'));
  if (out.length === 0) throw new UsageError(`--payload-file ${path}: no payloads (file empty, or no text between delimiters)`);
  return out;
}

/** Builds a run's records from the options. */
export function buildWorkload(o: PerfOptions): Workload {
  const next = mulberry32(o.seed ^ 0x5eed);
  let values: Buffer[];
  if (o.payloadFile !== null) values = readPayloadFile(o.payloadFile, o.payloadDelimiter);
  else if (o.payloadMonotonic) values = Array.from({ length: MONOTONIC_POOL_SIZE }, (_, i) => Buffer.from(String(i)));
  else if (o.payloadKind === 'json') values = jsonLikeValues(o.recordSize ?? 100, GENERATED_POOL_SIZE, next);
  else values = Array.from({ length: GENERATED_POOL_SIZE }, () => randomLetters(o.recordSize ?? 100, next));
  let keys: Buffer[] | null = null;
  let keyPartitions: Int32Array | null = null;
  if (o.keyDistribution !== 'none' && !(o.keyDistribution === 'fixed' && o.keySize === 0)) {
    keys = [];
    keyPartitions = new Int32Array(values.length);
    const range = o.recordKeyRange ?? 1;
    for (let i = 0; i < values.length; i++) {
      let key: Buffer;
      if (o.keyDistribution === 'fixed') key = randomLetters(o.keySize, next);
      else if (o.keyDistribution === 'range') key = Buffer.from(String(i % range));
      else key = Buffer.from(String(Math.floor((next() / 4294967296) * range)));
      keys.push(key);
      keyPartitions[i] = toPositive(murmur2(key)) % o.partitions;
    }
  }
  const recordBytes = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) recordBytes[i] = values[i].length + (keys === null ? 0 : keys[i].length);
  return {
    topic: o.topic,
    partitions: o.partitions,
    brokers: o.brokers,
    numRecords: o.numRecords,
    warmupRecords: o.warmupRecords,
    throughput: o.throughput,
    seed: o.seed,
    reportingIntervalMs: o.reportingIntervalMs,
    values,
    keys,
    keyPartitions,
    recordBytes,
    monotonic: o.payloadMonotonic,
  };
}

/**
 * The pool index of every record in send order: exactly the choice the measured loop makes
 * (perf-run.ts, mulberry32 seeded with `seed ^ 0x7ec0`), for peers that take their records
 * from a file (kcat) and must send the same records in the same order.
 */
export function recordSequence(w: Workload): Int32Array {
  const out = new Int32Array(w.numRecords);
  const poolSize = w.values.length;
  let rng = (w.seed ^ 0x7ec0) >>> 0;
  for (let i = 0; i < out.length; i++) {
    if (w.monotonic) {
      out[i] = i % poolSize;
      continue;
    }
    rng = (rng + 0x6d2b79f5) | 0;
    let x = rng;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    out[i] = ((x ^ (x >>> 14)) & 0x7fffffff) % poolSize;
  }
  return out;
}
