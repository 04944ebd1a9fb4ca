/**
 * sluice-perf: Kafka's `kafka-producer-perf-test`, for Sluice. Argument parsing, help and
 * the top-level flow (one run, a peer comparison, or a sweep). The measured loop is in
 * `perf-run.ts`, the output formats in `report.ts`.
 *
 * Run it as `npx sluice-perf --help` (the bin in `benchmarks/bin/sluice-perf.mjs` starts
 * this file under tsx), or `node --conditions=source --import tsx benchmarks/perf/cli.ts`.
 *
 * Exit codes: 0 success; 1 the run failed (records failed, a peer crashed); 2 bad usage.
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { CONFIG_SPECS, resolveConfig } from '@sluice/core';
import type { ProducerConfig } from '@sluice/core';
import { resolveIdempotence } from '../../packages/core/src/sender/idempotence.js';

/** A command-line mistake: printed as `sluice-perf: <message>` with exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** One `--sweep` axis: a setting and the values it takes. */
export interface SweepAxis {
  /** As written on the command line (`workers`, `compression.type`, `record-size` …). */
  name: string;
  values: string[];
}

/** Everything the command line says. */
export interface PerfOptions {
  numRecords: number;
  /** Value size in bytes; null when `--payload-file` is used. */
  recordSize: number | null;
  payloadFile: string | null;
  payloadDelimiter: string;
  /** Key size in bytes; 0 = null keys (Kafka's perf test sends null keys). */
  keySize: number;
  /** Records/s cap; -1 = unlimited. */
  throughput: number;
  topic: string;
  partitions: number;
  /** Brokers of the embedded cluster (partition leaders spread over them). */
  brokers: number;
  /** Producer settings as given (Kafka or camelCase names → raw strings), in order. */
  producerProps: Record<string, string>;
  /** Seal workers (`seal.workers`); null = the producer's setting. */
  workers: number | null;
  bootstrapServer: string | null;
  json: boolean;
  /** Peers to compare with; null = no comparison. */
  compare: string[] | null;
  sweep: SweepAxis[] | null;
  plot: string | null;
  reportingIntervalMs: number;
  warmupRecords: number;
  seed: number;
  /** Progress bar: 'auto' = when stderr is a terminal. */
  progress: 'auto' | 'never';
  printMetrics: boolean;
  help: boolean;
}

/** Peers sluice-perf knows, and which targets they can run against. */
export const KNOWN_PEERS: Readonly<Record<string, { targets: readonly ('embedded' | 'broker')[]; install: string; about: string }>> = {
  kafkajs: {
    targets: ['embedded', 'broker'],
    install: 'npm install --save-dev kafkajs',
    about: "kafkajs's RecordBatch v2 encoder and codecs build the same batches in-process; on the embedded target the bytes go through the same in-memory cluster",
  },
  'node-rdkafka': {
    targets: ['broker'],
    install: 'npm install --save-dev node-rdkafka',
    about: 'librdkafka through node-rdkafka, against a real broker',
  },
  'platformatic-kafka': {
    targets: ['broker'],
    install: 'npm install --save-dev @platformatic/kafka',
    about: '@platformatic/kafka against a real broker',
  },
};

/** The peers `--compare` runs when given no names, per target. */
export const DEFAULT_PEERS: Readonly<Record<'embedded' | 'broker', readonly string[]>> = {
  embedded: ['kafkajs'],
  broker: ['kafkajs', 'node-rdkafka', 'platformatic-kafka'],
};

/** Harness settings a sweep may vary besides producer properties. */
export const HARNESS_SWEEP_KEYS = ['workers', 'record-size', 'key-size', 'partitions', 'throughput', 'brokers'] as const;

const DEFAULTS: PerfOptions = {
  numRecords: 1_000_000,
  recordSize: 100,
  payloadFile: null,
  payloadDelimiter: '\n',
  keySize: 0,
  throughput: -1,
  topic: 'sluice-perf-test',
  partitions: 6,
  brokers: 3,
  producerProps: {},
  workers: null,
  bootstrapServer: null,
  json: false,
  compare: null,
  sweep: null,
  plot: null,
  reportingIntervalMs: 5000,
  warmupRecords: 0,
  seed: 42,
  progress: 'auto',
  printMetrics: false,
  help: false,
};

/** Settings Kafka's tools accept that name the connection, not the producer. */
const CONNECTION_PROPS = new Set(['bootstrap.servers', 'bootstrapServers']);

function parseIntOption(name: string, raw: string | undefined, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (raw === undefined || raw.startsWith('--')) throw new UsageError(`${name} needs a value`);
  const text = raw.replace(/_/g, '');
  if (!/^-?\d+$/.test(text)) throw new UsageError(`${name} must be an integer, got ${JSON.stringify(raw)}`);
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`${name} must be an integer in [${min}, ${max}], got ${raw}`);
  }
  return n;
}

/**
 * Parses one `k=v` producer property.
 * @throws UsageError when it is not `name=value` with a non-empty name
 */
export function parseProp(text: string, where: string): [string, string] {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new UsageError(`${where}: expected name=value, got ${JSON.stringify(text)}`);
  const name = text.slice(0, eq).trim();
  const value = text.slice(eq + 1).trim();
  if (name.length === 0) throw new UsageError(`${where}: empty property name in ${JSON.stringify(text)}`);
  return [name, value];
}

/** Reads a Java-style `.properties` file (`k=v` lines, `#`/`!` comments). */
export function readPropertiesFile(path: string): [string, string][] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`--producer.config: cannot read ${path}: ${(err as Error).message}`);
  }
  const out: [string, string][] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    // Java properties separate name and value with '=', ':' or whitespace.
    const m = /^([^=:\s]+)\s*[=:\s]\s*(.*)$/.exec(line);
    if (m === null) throw new UsageError(`--producer.config ${path}: expected name=value, got ${JSON.stringify(line)}`);
    out.push([m[1], m[2].trim()]);
  }
  return out;
}

/** Values following an option up to the next `--option`. */
function takeList(argv: readonly string[], i: number): string[] {
  const out: string[] = [];
  for (let j = i + 1; j < argv.length && !argv[j].startsWith('--'); j++) out.push(argv[j]);
  return out;
}

/**
 * Parses the command line (without `node` and the script).
 * @returns the options, defaults filled in; producer properties are checked against the
 *   producer's config (unknown names and bad values are usage errors)
 * @throws UsageError naming the option and the value
 */
export function parseArgs(argv: readonly string[]): PerfOptions {
  const o: PerfOptions = { ...DEFAULTS, producerProps: {} };
  let recordSizeGiven = false;
  const args: string[] = [];
  // --name=value → --name value (values of list options are split by the list parsers).
  for (const a of argv) {
    const m = /^(--[a-z][a-z0-9.-]*)=(.*)$/s.exec(a);
    if (m !== null && a !== '--') args.push(m[1], m[2]);
    else args.push(a);
  }
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const next = (): string | undefined => args[++i];
    switch (a) {
      case '-h':
      case '--help':
        o.help = true;
        break;
      case '--num-records':
        o.numRecords = parseIntOption(a, next(), 1);
        break;
      case '--record-size':
        o.recordSize = parseIntOption(a, next(), 0, 64 * 1024 * 1024);
        recordSizeGiven = true;
        break;
      case '--payload-file': {
        const v = next();
        if (v === undefined || v.startsWith('--')) throw new UsageError('--payload-file needs a file name');
        o.payloadFile = v;
        break;
      }
      case '--payload-delimiter': {
        const v = next();
        if (v === undefined || v === '') throw new UsageError('--payload-delimiter needs a value');
        o.payloadDelimiter = v.replace(/\\n/g, '\n').replace(/\\t/g, '\t').replace(/\\r/g, '\r');
        break;
      }
      case '--key-size':
        o.keySize = parseIntOption(a, next(), 0, 1024 * 1024);
        break;
      case '--throughput': {
        const v = next();
        o.throughput = parseIntOption(a, v, -1);
        if (o.throughput === 0) throw new UsageError('--throughput must be a positive records/s cap, or -1 for unlimited, got 0');
        break;
      }
      case '--topic': {
        const v = next();
        if (v === undefined || v.startsWith('--') || v.length === 0 || v.length > 249 || !/^[A-Za-z0-9._-]+$/.test(v)) {
          throw new UsageError(`--topic must be 1-249 characters of [A-Za-z0-9._-], got ${JSON.stringify(v ?? '')}`);
        }
        o.topic = v;
        break;
      }
      case '--partitions':
        o.partitions = parseIntOption(a, next(), 1, 1_000_000);
        break;
      case '--brokers':
        o.brokers = parseIntOption(a, next(), 1, 1000);
        break;
      case '--producer-props': {
        const list = takeList(args, i);
        if (list.length === 0) throw new UsageError('--producer-props needs at least one name=value');
        for (const p of list) {
          const [k, v] = parseProp(p, '--producer-props');
          o.producerProps[k] = v;
        }
        i += list.length;
        break;
      }
      case '--producer.config':
      case '--producer-config': {
        const v = next();
        if (v === undefined || v.startsWith('--')) throw new UsageError(`${a} needs a file name`);
        for (const [k, val] of readPropertiesFile(v)) if (!(k in o.producerProps)) o.producerProps[k] = val;
        break;
      }
      case '--workers':
        o.workers = parseIntOption(a, next(), 0, 256);
        break;
      case '--bootstrap-server': {
        const v = next();
        if (v === undefined || v.startsWith('--')) throw new UsageError('--bootstrap-server needs host:port');
        o.bootstrapServer = v;
        break;
      }
      case '--json':
        o.json = true;
        break;
      case '--compare': {
        const list = takeList(args, i).flatMap((s) => s.split(',')).filter((s) => s.length > 0);
        i += takeList(args, i).length;
        o.compare = list;
        break;
      }
      case '--sweep': {
        const list = takeList(args, i);
        if (list.length === 0) throw new UsageError('--sweep needs at least one name=v1,v2,... (e.g. --sweep workers=0,1,2 compression.type=none,lz4)');
        i += list.length;
        o.sweep = list.map((s) => {
          const [name, values] = parseProp(s, '--sweep');
          const vs = values.split(',').map((x) => x.trim()).filter((x) => x.length > 0);
          if (vs.length === 0) throw new UsageError(`--sweep ${name}: no values`);
          return { name, values: vs };
        });
        break;
      }
      case '--plot': {
        const v = next();
        if (v === undefined || v.startsWith('--') || !/\.(svg|html?)$/i.test(v)) {
          throw new UsageError(`--plot needs a file name ending in .svg or .html, got ${JSON.stringify(v ?? '')}`);
        }
        o.plot = v;
        break;
      }
      case '--reporting-interval':
        o.reportingIntervalMs = parseIntOption(a, next(), 100);
        break;
      case '--warmup-records':
        o.warmupRecords = parseIntOption(a, next(), 0);
        break;
      case '--seed':
        o.seed = parseIntOption(a, next(), 0, 0xffffffff);
        break;
      case '--no-progress':
        o.progress = 'never';
        break;
      case '--print-metrics':
        o.printMetrics = true;
        break;
      default:
        if (a.startsWith('-')) throw new UsageError(`unknown option ${a}`);
        throw new UsageError(`unexpected argument ${JSON.stringify(a)} (producer properties go after --producer-props)`);
    }
  }
  if (o.help) return o;
  if (o.payloadFile !== null && recordSizeGiven) throw new UsageError('give either --record-size or --payload-file, not both');
  if (o.payloadFile !== null) o.recordSize = null;
  if (o.warmupRecords >= o.numRecords) {
    throw new UsageError(`--warmup-records (${o.warmupRecords}) must be less than --num-records (${o.numRecords})`);
  }
  for (const name of Object.keys(o.producerProps)) {
    if (CONNECTION_PROPS.has(name)) o.bootstrapServer ??= o.producerProps[name];
  }
  if (o.plot !== null && o.sweep === null) throw new UsageError('--plot draws a sweep: add --sweep name=v1,v2 ...');
  if (o.compare !== null) {
    for (const name of o.compare) {
      if (!(name in KNOWN_PEERS)) {
        throw new UsageError(`--compare: unknown peer ${JSON.stringify(name)}; known peers: ${Object.keys(KNOWN_PEERS).join(', ')}`);
      }
    }
  }
  if (o.sweep !== null) {
    const seen = new Set<string>();
    for (const axis of o.sweep) {
      const key = canonicalSweepKey(axis.name);
      if (seen.has(key)) throw new UsageError(`--sweep: ${axis.name} given twice`);
      seen.add(key);
      for (const v of axis.values) applySetting({ ...o, producerProps: { ...o.producerProps } }, axis.name, v, `--sweep ${axis.name}`);
    }
  }
  if (o.bootstrapServer === null) effectiveProducerConfig(o);
  return o;
}

const SPEC_BY_NAME = new Map<string, (typeof CONFIG_SPECS)[number]>();
for (const s of CONFIG_SPECS) {
  SPEC_BY_NAME.set(s.name, s);
  SPEC_BY_NAME.set(s.kafkaName, s);
}

/** The Kafka name of a producer setting (`batchSize` → `batch.size`), or the name unchanged. */
export function kafkaName(name: string): string {
  return SPEC_BY_NAME.get(name)?.kafkaName ?? name;
}

function canonicalSweepKey(name: string): string {
  if (name === 'workers' || name === 'seal.workers' || name === 'sealWorkers') return 'workers';
  return kafkaName(name);
}

/**
 * Applies one setting by name to the options: a harness setting (`workers`, `record-size`,
 * `key-size`, `partitions`, `throughput`, `brokers`) or a producer property.
 * @throws UsageError for an unknown name or a bad value
 */
export function applySetting(o: PerfOptions, name: string, value: string, where: string): void {
  switch (name) {
    case 'workers':
      o.workers = parseIntOption(where, value, 0, 256);
      return;
    case 'record-size':
      o.recordSize = parseIntOption(where, value, 0, 64 * 1024 * 1024);
      o.payloadFile = null;
      return;
    case 'key-size':
      o.keySize = parseIntOption(where, value, 0, 1024 * 1024);
      return;
    case 'partitions':
      o.partitions = parseIntOption(where, value, 1, 1_000_000);
      return;
    case 'throughput':
      o.throughput = parseIntOption(where, value, -1);
      return;
    case 'brokers':
      o.brokers = parseIntOption(where, value, 1, 1000);
      return;
  }
  if (!SPEC_BY_NAME.has(name)) {
    throw new UsageError(
      `${where}: unknown setting ${JSON.stringify(name)}; a sweep varies ${HARNESS_SWEEP_KEYS.join(', ')} or a producer property (${CONFIG_SPECS.map((s) => s.kafkaName).join(', ')})`,
    );
  }
  o.producerProps[name] = value;
  checkProducerProps(o, where);
}

/**
 * The producer settings as the user gave them (Kafka or camelCase names), with `--workers`
 * as `seal.workers`: what the producer is built from, so that Kafka's rules that depend on
 * what was set explicitly (KIP-679: idempotence) apply as they would.
 * @throws UsageError for an unknown name
 */
export function producerInput(o: PerfOptions, where = '--producer-props'): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o.producerProps)) {
    if (CONNECTION_PROPS.has(k)) continue;
    if (!SPEC_BY_NAME.has(k)) {
      throw new UsageError(`${where}: unknown producer property ${JSON.stringify(k)}; accepted: ${CONFIG_SPECS.map((s) => s.kafkaName).join(', ')}`);
    }
    input[k] = v;
  }
  if (o.workers !== null) {
    for (const k of ['seal.workers', 'sealWorkers']) delete input[k];
    input['seal.workers'] = o.workers;
  }
  return input;
}

function checkProducerProps(o: PerfOptions, where: string): ProducerConfig {
  const input = producerInput(o, where);
  try {
    const config = resolveConfig(input);
    const idempotent = resolveIdempotence(config, input);
    return idempotent === config.enableIdempotence ? config : { ...config, enableIdempotence: idempotent };
  } catch (err) {
    throw new UsageError(`${where}: ${(err as Error).message}`);
  }
}

/**
 * The producer configuration the run uses: the producer properties, with `--workers`
 * overriding `seal.workers`, and idempotence resolved as Kafka does (KIP-679: turned off
 * when `acks`, `retries` or `max.in.flight.requests.per.connection` conflict with it and it
 * was not asked for explicitly).
 * @throws UsageError for unknown names, malformed values or contradictory settings
 */
export function effectiveProducerConfig(o: PerfOptions): ProducerConfig {
  return checkProducerProps(o, '--producer-props');
}

/** Every effective setting, harness and producer, for `--json` (Kafka names for the producer's). */
export function effectiveSettings(o: PerfOptions, config: ProducerConfig): Record<string, unknown> {
  const producer: Record<string, unknown> = {};
  for (const s of CONFIG_SPECS) producer[s.kafkaName] = config[s.name];
  return {
    target: o.bootstrapServer === null ? 'embedded' : `broker:${o.bootstrapServer}`,
    numRecords: o.numRecords,
    warmupRecords: o.warmupRecords,
    recordSize: o.recordSize,
    payloadFile: o.payloadFile,
    keySize: o.keySize,
    throughput: o.throughput,
    topic: o.topic,
    partitions: o.partitions,
    brokers: o.brokers,
    workers: config.sealWorkers,
    seed: o.seed,
    partitioning: o.keySize > 0 ? 'by key (murmur2, Kafka default partitioner)' : 'uniform sticky (KIP-794)',
    producer,
  };
}

/** The `--help` text: every option, and the producer properties `--producer-props` accepts. */
export function helpText(): string {
  const props = CONFIG_SPECS.map((s) => `    ${s.kafkaName.padEnd(40)} default ${JSON.stringify(s.defaultValue)}  (also ${s.name})`).join('\n');
  return `Usage: sluice-perf [options]

Sluice's producer throughput harness, modelled on Kafka's kafka-producer-perf-test.
By default it targets the embedded in-memory cluster: no set-up at all.

Records:
  --num-records N            records to send (default ${DEFAULTS.numRecords})
  --record-size N            value size in bytes (default ${DEFAULTS.recordSize}); values are drawn from a pool
                             of 1024 random payloads generated once
  --payload-file FILE        values read from FILE, one record per line, picked at random
                             (instead of --record-size)
  --payload-delimiter S      delimiter of --payload-file (default \\n)
  --key-size N               key size in bytes (default 0: null keys, as Kafka's tool); with keys
                             a record's partition follows its key
  --throughput N             cap in records/s; -1 = unlimited (default -1)
  --topic NAME               topic (default ${DEFAULTS.topic})
  --partitions N             partitions of the topic (default ${DEFAULTS.partitions})
  --warmup-records N         records sent before measuring starts (default 0)
  --seed N                   seed of the payload generator (default ${DEFAULTS.seed})

Producer:
  --producer-props k=v ...   producer settings by Kafka name (or camelCase); unknown names and bad
                             values are errors. Accepted:
${props}
  --producer.config FILE     producer settings from a .properties file (--producer-props win)
  --workers N                seal workers (worker threads that compress and seal batches);
                             0 = seal inline; overrides seal.workers

Target:
  (default)                  the embedded in-memory cluster (--brokers N, default ${DEFAULTS.brokers})
  --brokers N                brokers of the embedded cluster; partition leaders are spread over them
  --bootstrap-server H:P     a real Kafka-protocol broker: NOT AVAILABLE YET (the wire transport does
                             not exist); using it prints an error

Output:
  (default)                  Kafka's lines: one every --reporting-interval ms with the window's
                             records/s, MB/s, avg and max latency; then the final line with records,
                             records/s (MB/s), avg, max, p50, p95, p99, p99.9 latency
                             (latency = append to acknowledgement). A progress bar on stderr when
                             it is a terminal.
  --reporting-interval MS    window length (default ${DEFAULTS.reportingIntervalMs})
  --json                     one JSON object on stdout instead: records, recordsPerSec, mbPerSec,
                             latencyMs {avg,max,p50,p95,p99,p999}, errors, config, machine
                             (and peers with --compare)
  --no-progress              never draw the progress bar
  --print-metrics            print the producer's metrics at the end

Comparison:
  --compare [NAMES]          also run peers on the same records in the same run, and print a table
                             of ratios (Sluice records/s over the peer's). Default peers: ${DEFAULT_PEERS.embedded.join(', ')}.
                             Known: ${Object.entries(KNOWN_PEERS)
                               .map(([n, p]) => `${n} (${p.targets.join(', ')})`)
                               .join('; ')}
  --sweep k=v1,v2 ...        run every combination and print one table; k is one of
                             ${HARNESS_SWEEP_KEYS.join(', ')} or a producer property
                             (e.g. --sweep workers=0,1,2 compression.type=none,lz4,gzip,zstd)
  --plot FILE.svg|FILE.html  with --sweep: draw records/s against the swept settings

  -h, --help                 this text

Examples:
  npx sluice-perf --num-records 5000000 --record-size 100 --compare kafkajs
  npx sluice-perf --num-records 1000000 --throughput 200000 --producer-props linger.ms=10 compression.type=lz4
  npx sluice-perf --num-records 2000000 --sweep workers=0,1,2 compression.type=none,lz4,gzip,zstd --plot sweep.svg
`;
}

/** Writes a usage error the way the tool reports them and returns exit code 2. */
export function reportUsageError(err: UsageError, stderr: { write(s: string): unknown } = process.stderr): number {
  stderr.write(`sluice-perf: ${err.message}\nRun 'sluice-perf --help' for the options.\n`);
  return 2;
}

/** The message printed for `--bootstrap-server` until the wire transport exists. */
export function noWireTransportMessage(server: string): string {
  return (
    `sluice-perf: cannot connect to ${server}: Sluice's Kafka wire transport (ApiVersions, Metadata, Produce over TCP) ` +
    `does not exist yet, so only the embedded in-memory cluster can be targeted. ` +
    `Drop --bootstrap-server (and bootstrap.servers) to run against the embedded cluster.\n`
  );
}

/**
 * Runs the tool.
 * @returns the process exit code
 */
export async function main(argv: readonly string[]): Promise<number> {
  let o: PerfOptions;
  try {
    o = parseArgs(argv);
  } catch (err) {
    if (err instanceof UsageError) return reportUsageError(err);
    throw err;
  }
  if (o.help) {
    process.stdout.write(helpText());
    return 0;
  }
  if (o.bootstrapServer !== null) {
    process.stderr.write(noWireTransportMessage(o.bootstrapServer));
    return 2;
  }
  try {
    if (o.sweep !== null) {
      const { runSweepCommand } = await import('./sweep.js');
      return await runSweepCommand(o, argv);
    }
    const { runPerfCommand } = await import('./perf-command.js');
    return await runPerfCommand(o);
  } catch (err) {
    if (err instanceof UsageError) return reportUsageError(err);
    throw err;
  }
}

const isEntry = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isEntry) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`sluice-perf: ${(err as Error)?.stack ?? String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
