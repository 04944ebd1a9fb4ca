/**
 * librdkafka (C) as a peer, through Debian's kcat: `kcat -P -l FILE` produces every line of a
 * file. The file holds exactly the records the run sends, in the same order (the loop's record
 * choice, workload.ts `recordSequence`), one `key<TAB>value` line per record (`-K '\t'`), or
 * the value alone without keys. It is written once per workload into the temp directory and
 * reused by later runs (its name is a hash of what it holds).
 *
 * Settings, as librdkafka names them (CONFIGURATION.md of librdkafka 2.0.2):
 *
 * | Kafka (Java)                            | librdkafka                                       |
 * |-----------------------------------------|--------------------------------------------------|
 * | linger.ms                               | linger.ms                                        |
 * | batch.size (bytes)                      | batch.size; batch.num.messages = batch.size / smallest record (never the limit) |
 * | acks                                    | acks (all → -1)                                  |
 * | enable.idempotence                      | enable.idempotence                               |
 * | compression.type                        | compression.codec                                |
 * | compression.{gzip,lz4,zstd}.level       | compression.level (only when given: both default to the codec's own default) |
 * | max.in.flight.requests.per.connection   | max.in.flight (librdkafka's default is 1000000)  |
 * | buffer.memory                           | queue.buffering.max.kbytes                       |
 * | request.timeout.ms / delivery.timeout.ms| request.timeout.ms / message.timeout.ms          |
 * | max.request.size                        | message.max.bytes                                |
 * | Kafka's default partitioner (murmur2)   | partitioner=murmur2_random (keyless records: sticky, `sticky.partitioning.linger.ms`) |
 *
 * Timing: kcat's wall time from spawn to exit — start-up, metadata, reading the file and the
 * final flush included, no warm-up (C has no JIT to warm; kcat has no warm-up option). kcat
 * reports no latency. It exits 1 when any delivery failed.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, renameSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ProducerConfig } from '@sluice/core';
import type { Workload } from '../workload.js';
import { recordSequence } from '../workload.js';
import type { ExternalPeerRun } from './external-process.js';
import { runChild } from './external-process.js';

let cachedVersion: string | undefined;

/** The librdkafka version kcat is built with (`kcat -V`), or undefined. */
export function librdkafkaVersion(): string | undefined {
  cachedVersion ??= /librdkafka ([\d.]+)/.exec(spawnSync('kcat', ['-V'], { encoding: 'utf8' }).stdout ?? '')?.[1] ?? '';
  return cachedVersion === '' ? undefined : cachedVersion;
}

/** librdkafka's settings for a Kafka producer configuration (see the file comment). */
export function librdkafkaProps(config: ProducerConfig, given: ReadonlySet<string>, smallestRecordBytes: number): Record<string, string> {
  const props: Record<string, string> = {
    'linger.ms': String(config.lingerMs),
    'batch.size': String(config.batchSize),
    'batch.num.messages': String(Math.max(1, Math.min(1_000_000, Math.ceil(config.batchSize / Math.max(1, smallestRecordBytes))))),
    acks: String(config.acks),
    'enable.idempotence': String(config.enableIdempotence),
    'compression.codec': config.compressionType,
    'max.in.flight': String(config.maxInFlightRequestsPerConnection),
    'queue.buffering.max.kbytes': String(Math.max(1, Math.floor(config.bufferMemory / 1024))),
    'request.timeout.ms': String(config.requestTimeoutMs),
    'message.timeout.ms': String(config.deliveryTimeoutMs),
    'message.max.bytes': String(Math.max(1000, config.maxRequestSize)),
    partitioner: 'murmur2_random',
  };
  const level = { gzip: 'compression.gzip.level', lz4: 'compression.lz4.level', zstd: 'compression.zstd.level' }[config.compressionType as string];
  if (level !== undefined && given.has(level)) {
    props['compression.level'] = String({ gzip: config.compressionGzipLevel, lz4: config.compressionLz4Level, zstd: config.compressionZstdLevel }[config.compressionType as 'gzip']);
  }
  return props;
}

/** The records of the run as kcat input lines; written once, then reused. @returns the path */
export function writeKcatRecordsFile(w: Workload): string {
  const hash = createHash('sha1');
  hash.update(`${w.seed}:${w.numRecords}:${w.monotonic}:`);
  for (const v of w.values) hash.update(v).update('\0');
  for (const k of w.keys ?? []) hash.update(k).update('\0');
  const path = join(tmpdir(), `sluice-perf-kcat-${hash.digest('hex').slice(0, 16)}.txt`);
  if (existsSync(path) && statSync(path).size > 0) return path;
  for (const b of [...w.values, ...(w.keys ?? [])]) {
    if (b.includes(0x0a) || b.includes(0x09)) throw new Error('a key or value holds a newline or a tab: it cannot be a kcat input line');
  }
  const seq = recordSequence(w);
  const temp = `${path}.${process.pid}.tmp`;
  const fd = openSync(temp, 'w');
  try {
    const chunk = Buffer.allocUnsafe(4 << 20);
    let n = 0;
    for (let i = 0; i < seq.length; i++) {
      const j = seq[i];
      const value = w.monotonic ? Buffer.from(String(i)) : w.values[j];
      const key = w.keys === null ? null : w.keys[j];
      const need = value.length + (key === null ? 0 : key.length + 1) + 1;
      if (n + need > chunk.length) {
        writeSync(fd, chunk, 0, n);
        n = 0;
      }
      if (key !== null) {
        n += key.copy(chunk, n);
        chunk[n++] = 0x09;
      }
      n += value.copy(chunk, n);
      chunk[n++] = 0x0a;
    }
    writeSync(fd, chunk, 0, n);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, path);
  return path;
}

/**
 * Runs `kcat -P -l` once over the run's records.
 * @throws when kcat is missing or fails
 */
export async function runKcatPeer(w: Workload, config: ProducerConfig, given: ReadonlySet<string>, bootstrap: string, stop: () => boolean): Promise<ExternalPeerRun> {
  const file = writeKcatRecordsFile(w);
  let smallest = Infinity;
  for (let j = 0; j < w.recordBytes.length; j++) smallest = Math.min(smallest, w.recordBytes[j]);
  const props = librdkafkaProps(config, given, smallest);
  const args = ['-P', '-b', bootstrap, '-t', w.topic, '-l', ...(w.keys === null ? [] : ['-K', '\t']), ...Object.entries(props).flatMap(([k, v]) => ['-X', `${k}=${v}`]), file];
  const r = await runChild('kcat', args, { timeoutMs: 30 * 60_000, stop });
  if (r.code !== 0) {
    throw new Error(`kcat ${r.stopped ? 'was stopped' : `exited ${r.code ?? r.signal}`}; stderr: ${r.stderr.slice(-1500)}`);
  }
  let bytes = 0;
  const seq = recordSequence(w);
  for (let i = 0; i < seq.length; i++) bytes += w.recordBytes[seq[i]];
  const version = librdkafkaVersion();
  return {
    records: w.numRecords,
    recordsPerSec: (w.numRecords * 1000) / r.elapsedMs,
    mbPerSec: (bytes * 1000) / r.elapsedMs / (1024 * 1024),
    latencyMs: null,
    errors: 0,
    description: `librdkafka${version === undefined ? '' : ` ${version}`} via kcat -P -l (${Object.entries(props)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')}); wall time of kcat, start-up and final flush included, no warm-up`,
    wallMs: r.elapsedMs,
  };
}
