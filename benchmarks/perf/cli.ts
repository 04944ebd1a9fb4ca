/**
 * sluice-perf: Kafka's `kafka-producer-perf-test`, for Sluice. Argument parsing, help and
 * the top-level flow (one run, a peer comparison, or a sweep). The measured loop is in
 * `perf-run.ts`, the output formats in `report.ts`, how Kafka's producer settings are taken
 * in `kafka-settings.ts`.
 *
 * A command line written for Kafka's tool runs unchanged: every option of Kafka 4.4's
 * `ProducerPerformance` is taken (`--producer-props` and `--command-property`,
 * `--producer.config` and `--command-config`, `--payload-monotonic`, `--record-key-range` with
 * `--key-distribution`, `--random-seed`, `--reporting-interval`, `--warmup-records`), and the
 * output lines are Kafka's (see report.ts). Transactions (`--transactional-id`,
 * `--transaction-duration-ms`, `transactional.id`) are refused with a clear message.
 *
 * Target: `--bootstrap-server` (or `bootstrap.servers` in the producer settings) runs against
 * that broker over Sluice's wire transport; without one, against the embedded in-memory
 * cluster. `SLUICE_PERF_TARGET=embedded` in the environment runs a command line that names a
 * broker against the embedded cluster instead (to try a Kafka command line as it is).
 *
 * Run it as `npx sluice-perf --help`: the bin (`benchmarks/bin/sluice-perf.mjs`) starts this file
 * under tsx inside the repository, and the compiled `dist/perf/cli.js` with plain node where
 * `@sluice/perf` is installed; or `node --conditions=source --import tsx benchmarks/perf/cli.ts`.
 *
 * Exit codes: 0 success; 1 the run failed (records failed, a peer crashed); 2 bad usage;
 * 130 interrupted (Ctrl-C; the summary of what was measured is printed first).
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { CONFIG_SPECS, resolveConfig } from '@sluice/core';
import type { ProducerConfig } from '@sluice/core';
import { resolveIdempotence } from '@sluice/core/internal';
import { closestName } from './closest-name.js';
import { classifySetting, redactValue, settingNotes, suggestSetting, transactionsNotSupported } from './kafka-settings.js';

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

/** Kafka's `--key-distribution`, plus `fixed` for `--key-size` (random letters). */
export type KeyDistribution = 'none' | 'range' | 'random' | 'fixed';

/** Everything the command line says. */
export interface PerfOptions {
  numRecords: number;
  /** Value size in bytes; null when `--payload-file` or `--payload-monotonic` is used. */
  recordSize: number | null;
  payloadFile: string | null;
  payloadDelimiter: string;
  /** Values are the record's index in decimal (Kafka's `--payload-monotonic`). */
  payloadMonotonic: boolean;
  /** JSON-like values instead of random letters (`--payload-kind json`). */
  payloadKind: 'letters' | 'json';
  /** Key size in bytes for `--key-size` (`keyDistribution` fixed); 0 = null keys. */
  keySize: number;
  /** How keys are made: none (null keys, Kafka's default), range/random in [0, recordKeyRange) as decimal text, or fixed-size random letters. */
  keyDistribution: KeyDistribution;
  recordKeyRange: number | null;
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
  /**
   * Sending threads: 1 = the producer on the main thread (the classic run); N ≥ 2 = N worker
   * threads appending to one producer on the main thread (threaded-run.ts).
   */
  threads: number;
  /** The broker to run against; null = the embedded cluster. */
  bootstrapServer: string | null;
  json: boolean;
  /** Peers to compare with; null = no comparison. */
  compare: string[] | null;
  sweep: SweepAxis[] | null;
  /** Runs of every sweep cell (median reported). */
  sweepRepeats: number;
  plot: string | null;
  reportingIntervalMs: number;
  warmupRecords: number;
  seed: number;
  /** Progress bar: 'auto' = when stderr is a terminal. */
  progress: 'auto' | 'never';
  printMetrics: boolean;
  /** The producer measured: Sluice (default) or one of the peers alone (`--engine`). */
  engine: string;
  help: boolean;
  /** One-line notes for stderr (settings that do not apply, target overrides). */
  notes: string[];
}

/** Where a peer runs, and how it is found. */
export interface PeerInfo {
  targets: readonly ('embedded' | 'broker')[];
  install: string;
  about: string;
}

/** Peers sluice-perf knows, and which targets they can run against. */
export const KNOWN_PEERS: Readonly<Record<string, PeerInfo>> = {
  kafkajs: {
    targets: ['embedded', 'broker'],
    install: 'npm install kafkajs',
    about: 'kafkajs: on the embedded target its RecordBatch encoder and codecs build the batches in-process; against a broker its Producer over its own network client',
  },
  java: {
    targets: ['broker'],
    install: "Java 17+ and Kafka's jars: KAFKA_HOME=<a Kafka installation> (in the Sluice repository: test/brokers/kafka/libs)",
    about: "Kafka's own org.apache.kafka.tools.ProducerPerformance (the Java producer), same settings, same payloads from a --payload-file",
  },
  librdkafka: {
    targets: ['broker'],
    install: 'kcat built with librdkafka (Debian: apt-get install kcat)',
    about: 'librdkafka in C through kcat -P -l FILE, the same records as lines, settings as librdkafka names them',
  },
  platformatic: {
    targets: ['broker'],
    install: 'npm install @platformatic/kafka',
    about: '@platformatic/kafka Producer against a real broker',
  },
  'per-thread': {
    targets: ['embedded', 'broker'],
    install: 'built in; needs --threads N (N >= 2)',
    about: 'with --threads N: N independent Sluice producers, one per thread, over one shared buffer pool (each its own accumulator, sender, producer id and connections)',
  },
};

/** Other names accepted for peers. */
export const PEER_ALIASES: Readonly<Record<string, string>> = {
  'platformatic-kafka': 'platformatic',
  kcat: 'librdkafka',
  'kafka-java': 'java',
};

/** The peers `--compare` runs when given no names, per target. */
export const DEFAULT_PEERS: Readonly<Record<'embedded' | 'broker', readonly string[]>> = {
  embedded: ['kafkajs'],
  broker: ['java', 'librdkafka', 'kafkajs', 'platformatic'],
};

/** The peer `--compare` runs beside `--threads N` (N ≥ 2), and the only one it takes. */
export const THREADS_PEER = 'per-thread';

/** Most sending threads: the shared producer's appenders, less its own. */
export const MAX_THREADS = 63;

/** Harness settings a sweep may vary besides producer properties. */
export const HARNESS_SWEEP_KEYS = ['workers', 'threads', 'record-size', 'key-size', 'partitions', 'throughput', 'brokers'] as const;

/** The environment variable that forces the embedded cluster whatever the command line names. */
export const TARGET_ENV = 'SLUICE_PERF_TARGET';

const DEFAULTS: Omit<PerfOptions, 'producerProps' | 'notes'> = {
  numRecords: 1_000_000,
  recordSize: 100,
  payloadFile: null,
  payloadDelimiter: '\n',
  payloadMonotonic: false,
  payloadKind: 'letters',
  keySize: 0,
  keyDistribution: 'none',
  recordKeyRange: null,
  throughput: -1,
  topic: 'sluice-perf-test',
  partitions: 6,
  brokers: 3,
  workers: null,
  threads: 1,
  bootstrapServer: null,
  json: false,
  compare: null,
  sweep: null,
  sweepRepeats: 3,
  plot: null,
  reportingIntervalMs: 5000,
  warmupRecords: 0,
  seed: 42,
  progress: 'auto',
  printMetrics: false,
  engine: 'sluice',
  help: false,
};

/** Every option the tool takes (for typo suggestions and the help test). */
export const OPTIONS: readonly string[] = [
  '--help',
  '--num-records',
  '--record-size',
  '--payload-file',
  '--payload-delimiter',
  '--payload-monotonic',
  '--payload-kind',
  '--key-size',
  '--record-key-range',
  '--key-distribution',
  '--throughput',
  '--topic',
  '--partitions',
  '--brokers',
  '--producer-props',
  '--command-property',
  '--producer.config',
  '--command-config',
  '--workers',
  '--threads',
  '--bootstrap-server',
  '--json',
  '--compare',
  '--sweep',
  '--sweep-repeats',
  '--plot',
  '--reporting-interval',
  '--warmup-records',
  '--seed',
  '--random-seed',
  '--no-progress',
  '--print-metrics',
  '--engine',
  '--transactional-id',
  '--transaction-duration-ms',
];

function parseIntOption(name: string, raw: string | undefined, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (raw === undefined || (raw.startsWith('--') && raw.length > 2)) throw new UsageError(`${name} needs a value`);
  const text = raw.replace(/_/g, '');
  if (!/^-?\d+$/.test(text)) throw new UsageError(`${name} must be an integer, got ${JSON.stringify(raw)}`);
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`${name} must be an integer in [${min}, ${max}], got ${raw}`);
  }
  return n;
}

/**
 * Parses one `k=v` producer property (split at the first '=', so values may hold '=' — a
 * `sasl.jaas.config` line does).
 * @throws UsageError when it is not `name=value` with a non-empty name (a secret's value is
 *   not quoted)
 */
export function parseProp(text: string, where: string): [string, string] {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new UsageError(`${where}: expected name=value, got ${JSON.stringify(redactValue(text, text))}`);
  const name = text.slice(0, eq).trim();
  const value = text.slice(eq + 1).trim();
  if (name.length === 0) throw new UsageError(`${where}: empty property name in ${JSON.stringify(redactValue(text, text))}`);
  return [name, value];
}

/**
 * Reads a Java-style `.properties` file (`k=v`, `k: v` or `k v` lines, `#`/`!` comments,
 * lines continued with a trailing backslash, as `java.util.Properties` reads them).
 */
export function readPropertiesFile(path: string, option = '--producer.config'): [string, string][] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`${option}: cannot read ${path}: ${(err as Error).message}`);
  }
  const out: [string, string][] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i].trim();
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    while (/(^|[^\\])(\\\\)*\\$/.test(line) && i + 1 < lines.length) line = line.slice(0, -1) + lines[++i].trim();
    // Java properties separate name and value with '=', ':' or whitespace.
    const m = /^([^=:\s]+)\s*[=:\s]\s*(.*)$/s.exec(line);
    if (m === null) throw new UsageError(`${option} ${path}: expected name=value, got ${JSON.stringify(redactValue(line, line))}`);
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

/** `unknown option --x` with the closest known option, if any. */
export function unknownOptionMessage(option: string): string {
  const guess = closestName(option, OPTIONS);
  return `unknown option ${option}${guess === null ? '' : `; did you mean ${guess}?`}`;
}

/**
 * Parses the command line (without `node` and the script).
 * @param env - the environment (`SLUICE_PERF_TARGET=embedded` forces the embedded cluster)
 * @returns the options, defaults filled in; producer properties are checked against the
 *   producer's config (unknown names and bad values are usage errors)
 * @throws UsageError naming the option and the value
 */
export function parseArgs(argv: readonly string[], env: Readonly<Record<string, string | undefined>> = {}): PerfOptions {
  const o: PerfOptions = { ...DEFAULTS, producerProps: {}, notes: [] };
  let recordSizeGiven = false;
  let keySizeGiven = false;
  let keyDistributionGiven = false;
  const fromFlags: Record<string, string> = {};
  const fromFiles: Record<string, string> = {};
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
      case '--payload-monotonic':
        o.payloadMonotonic = true;
        break;
      case '--payload-kind': {
        const v = next();
        if (v !== 'letters' && v !== 'json') throw new UsageError(`--payload-kind must be letters or json, got ${JSON.stringify(v ?? '')}`);
        o.payloadKind = v;
        break;
      }
      case '--key-size':
        o.keySize = parseIntOption(a, next(), 0, 1024 * 1024);
        keySizeGiven = true;
        break;
      case '--record-key-range':
        o.recordKeyRange = parseIntOption(a, next(), 1, 2 ** 31 - 1);
        break;
      case '--key-distribution': {
        const v = next()?.toLowerCase();
        if (v !== 'none' && v !== 'range' && v !== 'random') {
          throw new UsageError(`--key-distribution must be none, range or random, got ${JSON.stringify(v ?? '')}`);
        }
        o.keyDistribution = v;
        keyDistributionGiven = true;
        break;
      }
      case '--throughput': {
        const v = next();
        // Kafka takes a double here ("-1" or "100000.0"); records/s below 1 make no sense.
        const n = v === undefined ? NaN : Number(v.replace(/_/g, ''));
        if (v === undefined || (v.startsWith('--') && v.length > 2)) throw new UsageError('--throughput needs a value');
        if (!Number.isFinite(n)) throw new UsageError(`--throughput must be a number, got ${JSON.stringify(v)}`);
        if (n < 0) o.throughput = -1;
        else if (n < 1) throw new UsageError(`--throughput must be a positive records/s cap, or -1 for unlimited, got ${v}`);
        else o.throughput = Math.floor(n);
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
      case '--producer-props':
      case '--command-property': {
        const list = takeList(args, i);
        if (list.length === 0) throw new UsageError(`${a} needs at least one name=value`);
        for (const p of list) {
          const [k, v] = parseProp(p, a);
          fromFlags[k] = v;
        }
        i += list.length;
        break;
      }
      case '--producer.config':
      case '--producer-config':
      case '--command-config': {
        const v = next();
        if (v === undefined || v.startsWith('--')) throw new UsageError(`${a} needs a file name`);
        for (const [k, val] of readPropertiesFile(v, a)) fromFiles[k] = val;
        break;
      }
      case '--workers':
        o.workers = parseIntOption(a, next(), 0, 256);
        break;
      case '--threads':
        o.threads = parseIntOption(a, next(), 1, MAX_THREADS);
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
        const raw = takeList(args, i);
        i += raw.length;
        o.compare = raw.flatMap((s) => s.split(',')).filter((s) => s.length > 0);
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
      case '--sweep-repeats':
        o.sweepRepeats = parseIntOption(a, next(), 1, 100);
        break;
      case '--plot': {
        const v = next();
        if (v === undefined || v.startsWith('--') || !/\.(svg|html?)$/i.test(v)) {
          throw new UsageError(`--plot needs a file name ending in .svg or .html, got ${JSON.stringify(v ?? '')}`);
        }
        o.plot = v;
        break;
      }
      case '--reporting-interval':
        o.reportingIntervalMs = parseIntOption(a, next(), 1);
        break;
      case '--warmup-records':
        o.warmupRecords = parseIntOption(a, next(), 0);
        break;
      case '--seed':
      case '--random-seed':
        o.seed = parseIntOption(a, next(), 0, 0xffffffff);
        break;
      case '--no-progress':
        o.progress = 'never';
        break;
      case '--print-metrics':
        o.printMetrics = true;
        break;
      case '--engine': {
        const v = next() ?? '';
        const canonical = PEER_ALIASES[v] ?? v;
        if (canonical !== 'sluice' && !(canonical in KNOWN_PEERS)) {
          throw new UsageError(`--engine must be sluice or a peer (${Object.keys(KNOWN_PEERS).join(', ')}), got ${JSON.stringify(v)}`);
        }
        o.engine = canonical;
        break;
      }
      case '--transactional-id':
      case '--transaction-duration-ms':
        throw new UsageError(transactionsNotSupported(a));
      default:
        if (a.startsWith('-')) throw new UsageError(unknownOptionMessage(a));
        throw new UsageError(`unexpected argument ${JSON.stringify(redactValue(a, a))} (producer properties go after --producer-props)`);
    }
  }
  if (o.help) return o;
  // Kafka: --command-property / --producer-props take precedence over the config file.
  o.producerProps = { ...fromFiles, ...fromFlags };

  const payloadChoices = (recordSizeGiven ? 1 : 0) + (o.payloadFile !== null ? 1 : 0) + (o.payloadMonotonic ? 1 : 0);
  if (payloadChoices > 1) throw new UsageError('give exactly one of --record-size, --payload-file or --payload-monotonic');
  if (o.payloadFile !== null || o.payloadMonotonic) o.recordSize = null;
  if (o.warmupRecords >= o.numRecords) {
    throw new UsageError(`--warmup-records (${o.warmupRecords}) must be less than --num-records (${o.numRecords})`);
  }
  if (o.recordKeyRange !== null && !keyDistributionGiven) {
    throw new UsageError("--key-distribution must be 'range' or 'random' when --record-key-range is specified");
  }
  if (keyDistributionGiven && o.keyDistribution !== 'none' && o.recordKeyRange === null) {
    throw new UsageError("--record-key-range is required when --key-distribution is 'range' or 'random'");
  }
  if (keyDistributionGiven && o.keyDistribution === 'none' && o.recordKeyRange !== null) {
    throw new UsageError("--key-distribution must be 'range' or 'random' when --record-key-range is specified");
  }
  if (keySizeGiven && o.keySize > 0) {
    if (keyDistributionGiven && o.keyDistribution !== 'none') throw new UsageError('give either --key-size or --key-distribution, not both');
    o.keyDistribution = 'fixed';
  }

  const seen = new Set<string>();
  for (const [name, value] of Object.entries(o.producerProps)) {
    const kind = classifySetting(name);
    if (kind === 'transactional') throw new UsageError(transactionsNotSupported(name));
    if (kind === 'unknown') {
      const guess = suggestSetting(name);
      throw new UsageError(
        `unknown producer property ${JSON.stringify(name)}${guess === null ? '' : `; did you mean ${guess}?`} ` +
          `(Sluice's settings: ${CONFIG_SPECS.map((s) => s.kafkaName).join(', ')}; Kafka's Java-only settings are accepted and ignored)`,
      );
    }
    if (kind === 'connection' && o.bootstrapServer === null) o.bootstrapServer = value;
    seen.add(name);
  }
  o.notes.push(...settingNotes(seen));
  if (o.bootstrapServer !== null && (env[TARGET_ENV] ?? '').toLowerCase() === 'embedded') {
    o.notes.push(`note: ${TARGET_ENV}=embedded: running against the embedded cluster instead of ${o.bootstrapServer}`);
    o.bootstrapServer = null;
  }
  if (o.engine !== 'sluice' && !KNOWN_PEERS[o.engine].targets.includes(o.bootstrapServer === null ? 'embedded' : 'broker')) {
    throw new UsageError(`--engine ${o.engine} runs against a real broker only: give --bootstrap-server`);
  }
  if (o.engine === THREADS_PEER && o.threads < 2 && !(o.sweep ?? []).some((axis) => axis.name === 'threads')) {
    throw new UsageError(`--engine ${THREADS_PEER} runs N producers, one per thread: give --threads N (N >= 2)`);
  }
  if (o.threads > 1 && o.engine !== 'sluice' && o.engine !== THREADS_PEER) {
    throw new UsageError(`--threads ${o.threads}: --engine ${o.engine} sends from one thread; run it without --threads`);
  }
  if (o.plot !== null && o.sweep === null) throw new UsageError('--plot draws a sweep: add --sweep name=v1,v2 ...');
  if (o.compare !== null) {
    o.compare = o.compare.map((name) => {
      const canonical = PEER_ALIASES[name] ?? name;
      if (!(canonical in KNOWN_PEERS)) {
        const guess = closestName(name, [...Object.keys(KNOWN_PEERS), ...Object.keys(PEER_ALIASES)]);
        throw new UsageError(`--compare: unknown peer ${JSON.stringify(name)}${guess === null ? '' : ` (did you mean ${guess}?)`}; known peers: ${Object.keys(KNOWN_PEERS).join(', ')}`);
      }
      return canonical;
    });
    const others = o.compare.filter((name) => name !== THREADS_PEER);
    if (o.threads > 1 && others.length > 0) {
      throw new UsageError(
        `--threads ${o.threads}: --compare takes ${THREADS_PEER} only (N producers, one per thread); ${others.join(', ')} ${others.length === 1 ? 'sends' : 'send'} from one thread: compare ${others.length === 1 ? 'it' : 'them'} without --threads`,
      );
    }
  }
  if (o.sweep !== null) {
    const axes = new Set<string>();
    for (const axis of o.sweep) {
      const key = canonicalSweepKey(axis.name);
      if (axes.has(key)) throw new UsageError(`--sweep: ${axis.name} given twice`);
      axes.add(key);
      for (const v of axis.values) applySetting({ ...o, producerProps: { ...o.producerProps } }, axis.name, v, `--sweep ${axis.name}`);
    }
  }
  effectiveProducerConfig(o);
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
    case 'threads':
      o.threads = parseIntOption(where, value, 1, MAX_THREADS);
      return;
    case 'record-size':
      o.recordSize = parseIntOption(where, value, 0, 64 * 1024 * 1024);
      o.payloadFile = null;
      o.payloadMonotonic = false;
      return;
    case 'key-size':
      o.keySize = parseIntOption(where, value, 0, 1024 * 1024);
      o.keyDistribution = o.keySize > 0 ? 'fixed' : 'none';
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
    const guess = closestName(name, [...HARNESS_SWEEP_KEYS, ...CONFIG_SPECS.map((s) => s.kafkaName)]);
    throw new UsageError(
      `${where}: unknown setting ${JSON.stringify(name)}${guess === null ? '' : ` (did you mean ${guess}?)`}; a sweep varies ${HARNESS_SWEEP_KEYS.join(', ')} or a producer property (${CONFIG_SPECS.map((s) => s.kafkaName).join(', ')})`,
    );
  }
  o.producerProps[name] = value;
  checkProducerProps(o, where);
}

/**
 * The producer settings as the user gave them (Kafka or camelCase names), with `--workers`
 * as `seal.workers` (0 with `--threads N` unless given) and, against a broker,
 * `bootstrap.servers` from `--bootstrap-server`: what the producer is built from, so that
 * Kafka's rules that depend on what was set explicitly (KIP-679: idempotence) apply as they
 * would. Settings that do not apply to Sluice (see kafka-settings.ts) are left out.
 */
export function producerInput(o: PerfOptions): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o.producerProps)) {
    if (classifySetting(k) === 'producer') input[k] = v;
  }
  if (o.workers !== null) {
    for (const k of ['seal.workers', 'sealWorkers']) delete input[k];
    input['seal.workers'] = o.workers;
  } else if (o.threads > 1 && !('seal.workers' in input) && !('sealWorkers' in input)) {
    // Appender threads compress the batches they close themselves, and N per-thread producers
    // would each start seal threads of their own: none unless asked for.
    input['seal.workers'] = 0;
  }
  if (o.bootstrapServer !== null) input['bootstrap.servers'] = o.bootstrapServer;
  return input;
}

function checkProducerProps(o: PerfOptions, where: string): ProducerConfig {
  const input = producerInput(o);
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

/** The run's target as the report names it. */
export function targetName(o: PerfOptions): string {
  return o.bootstrapServer === null ? 'embedded' : `broker:${o.bootstrapServer}`;
}

/** Every effective setting, harness and producer, for `--json` (Kafka names for the producer's; secrets print as [hidden]). */
export function effectiveSettings(o: PerfOptions, config: ProducerConfig): Record<string, unknown> {
  const producer: Record<string, unknown> = {};
  for (const s of CONFIG_SPECS) producer[s.kafkaName] = config[s.name];
  return {
    target: targetName(o),
    numRecords: o.numRecords,
    warmupRecords: o.warmupRecords,
    recordSize: o.recordSize,
    payloadFile: o.payloadFile,
    payloadMonotonic: o.payloadMonotonic,
    payloadKind: o.payloadKind,
    keySize: o.keySize,
    keyDistribution: o.keyDistribution,
    recordKeyRange: o.recordKeyRange,
    throughput: o.throughput,
    topic: o.topic,
    partitions: o.partitions,
    brokers: o.bootstrapServer === null ? o.brokers : null,
    workers: config.sealWorkers,
    threads: o.threads,
    seed: o.seed,
    partitioning: o.keyDistribution !== 'none' ? 'by key (murmur2, Kafka default partitioner)' : 'uniform sticky (KIP-794)',
    producer,
  };
}

/** The `--help` text: every option, and the producer properties `--producer-props` accepts. */
export function helpText(): string {
  const props = CONFIG_SPECS.map((s) => `    ${s.kafkaName.padEnd(40)} default ${JSON.stringify(s.defaultValue)}  (also ${s.name})`).join('\n');
  return `Usage: sluice-perf [options]

Sluice's producer throughput harness, modelled on Kafka's kafka-producer-perf-test: the same
command lines and .properties files work (replace the tool's name), and the output lines are
Kafka's. By default it targets the embedded in-memory cluster: no set-up at all.

Records:
  --num-records N            records to send (default ${DEFAULTS.numRecords})
  --record-size N            value size in bytes (default ${DEFAULTS.recordSize}); values are drawn from a pool
                             of 1024 payloads generated once (random letters, or --payload-kind json)
  --payload-kind letters|json  random uppercase letters (default) or JSON-like event records
                             (repeated field names, varying ids: compressible as real events are)
  --payload-file FILE        values read from FILE, one record per line, picked at random
  --payload-delimiter S      delimiter of --payload-file (default \\n)
  --payload-monotonic        values are the record's index in decimal (as Kafka's tool)
  --key-size N               keys of N random letters (default: null keys, as Kafka's tool); a
                             record's partition follows its key (murmur2)
  --key-distribution none|range|random  with --record-key-range N: keys are integers in [0, N)
                             as decimal text (Kafka's options)
  --record-key-range N       see --key-distribution
  --throughput N             cap in records/s; -1 = unlimited (default -1)
  --topic NAME               topic (default ${DEFAULTS.topic})
  --partitions N             partitions of the topic (default ${DEFAULTS.partitions}); against a broker, used
                             when sluice-perf creates the topic (an existing topic keeps its own)
  --warmup-records N         the first N records are not measured: Kafka's whole-run line and a
                             "steady state" line for the rest are printed (default 0)
  --seed N, --random-seed N  seed of the payload generator and record choice (default ${DEFAULTS.seed})

Producer:
  --producer-props k=v ...   producer settings by Kafka name (or camelCase); Kafka's Java-only
  --command-property k=v ... settings (key.serializer, value.serializer, partitioner.class ...)
                             are accepted with a note that they do not apply; unknown names and
                             bad values are errors. Security settings (security.protocol, ssl.*,
                             sasl.*, sasl.jaas.config) go to the producer; secrets never print.
                             Accepted:
${props}
  --producer.config FILE     producer settings from a .properties file (--producer-props win)
  --command-config FILE      the same (Kafka 4's name)
  --workers N                seal workers (worker threads that compress and seal batches);
                             0 = seal inline; overrides seal.workers
  --transactional-id, --transaction-duration-ms, transactional.id: refused, Sluice has no
                             transactions

Threads:
  --threads N                N worker threads send through ONE producer on the main thread (default 1:
                             the producer alone on the main thread, as without the option; N up to
                             ${MAX_THREADS}). The producer is built from the settings above (compression, acks,
                             target, TLS/SASL); each thread gets Producer.attach(producer.shareable())
                             and encodes into its batches in shared memory, the main thread drains and
                             sends. --num-records is split evenly, the threads start at one gate,
                             --throughput is the total (1/N per thread), --warmup-records is a first
                             phase. Output: Kafka's lines for all threads together (records/s from the
                             gate to the last acknowledgement; latency sampled, 1 record in 16 of each
                             thread, merged), then a "threads:" line with the main thread's drain/send
                             cost: its busy share of one core and per batch (on the embedded cluster
                             without the broker half, which runs on the same thread). seal.workers
                             defaults to 0 (the threads compress the batches they close).
  --compare per-thread       with --threads N: also run the baseline on the same records — N
                             independent producers, one per thread, over one shared buffer pool — and
                             print both and the ratio. The default peer of --compare with --threads;
                             the other peers send from one thread and are refused with --threads.
                             --engine per-thread runs it alone.

Target:
  (default)                  the embedded in-memory cluster (--brokers N, default ${DEFAULTS.brokers})
  --brokers N                brokers of the embedded cluster; partition leaders are spread over them
  --bootstrap-server H:P     a Kafka broker (or bootstrap.servers in the producer settings; this
                             option wins), over Sluice's wire transport. The topic is created with
                             --partitions when it does not exist (with the producer's TLS/SASL).
                             ${TARGET_ENV}=embedded in the environment runs against the
                             embedded cluster whatever the command line names.

Output:
  (default)                  Kafka's lines: one every --reporting-interval ms with the window's
                             records/s, MB/s, avg and max latency; then the final line with records,
                             records/s (MB/s), avg, max, and p50, p95, p99, p99.9 latency in whole
                             milliseconds, as Kafka prints them (latency = send to acknowledgement;
                             --json has them exact). A progress bar on stderr when it is a terminal.
                             Ctrl-C stops sending, prints the summary of what was acknowledged so
                             far and exits with 130.
  --reporting-interval MS    window length (default ${DEFAULTS.reportingIntervalMs})
  --json                     one JSON object on stdout instead: records, recordsPerSec, mbPerSec,
                             latencyMs {avg,max,p50,p95,p99,p999}, errors, config, machine
                             (wholeRun with --warmup-records; peers with --compare)
  --no-progress              never draw the progress bar
  --print-metrics            print the producer's metrics at the end

Comparison:
  --compare [NAMES]          also run peers on the same records in the same run, and print a table
                             of ratios (Sluice records/s over the peer's). Default peers: ${DEFAULT_PEERS.embedded.join(', ')} on the
                             embedded cluster, ${DEFAULT_PEERS.broker.join(', ')} against a broker.
                             Known: ${Object.entries(KNOWN_PEERS)
                               .map(([n, p]) => `${n} (${p.targets.join(', ')})`)
                               .join('; ')}
  --sweep k=v1,v2 ...        run every combination and print one table; k is one of
                             ${HARNESS_SWEEP_KEYS.join(', ')} or a producer property
                             (e.g. --sweep workers=0,1,2 compression.type=none,lz4,gzip,zstd).
                             Every cell runs --sweep-repeats times in a fresh process, warmed up
                             (--warmup-records, or a quarter of --num-records), in a shuffled
                             order each round; the table shows the median and the range.
  --sweep-repeats N          runs per sweep cell (default ${DEFAULTS.sweepRepeats})
  --engine NAME              measure one peer alone instead of Sluice (same workload and output:
                             a fresh process per producer, as benchmarks/wire-vs-peers.ts runs them)
  --plot FILE.svg|FILE.html  with --sweep: draw records/s against the swept settings

  -h, --help                 this text

Examples:
  npx sluice-perf --topic test --num-records 5000000 --record-size 100 --throughput -1 --compare kafkajs
  npx sluice-perf --topic test --num-records 1000000 --record-size 100 --throughput 200000 --producer-props linger.ms=10 compression.type=lz4
  npx sluice-perf --topic test --num-records 2000000 --record-size 100 --throughput -1 --bootstrap-server localhost:9092 --compare java,librdkafka
  npx sluice-perf --num-records 2000000 --sweep workers=0,1,2 compression.type=none,lz4,gzip,zstd --plot sweep.svg
  npx sluice-perf --num-records 4000000 --record-size 100 --threads 4 --compare per-thread --producer-props compression.type=lz4
`;
}

/** Writes a usage error the way the tool reports them and returns exit code 2. */
export function reportUsageError(err: UsageError, stderr: { write(s: string): unknown } = process.stderr): number {
  stderr.write(`sluice-perf: ${err.message}\nRun 'sluice-perf --help' for the options.\n`);
  return 2;
}

/**
 * Runs the tool.
 * @returns the process exit code
 */
export async function main(argv: readonly string[]): Promise<number> {
  let o: PerfOptions;
  try {
    o = parseArgs(argv, process.env);
  } catch (err) {
    if (err instanceof UsageError) return reportUsageError(err);
    throw err;
  }
  if (o.help) {
    process.stdout.write(helpText());
    return 0;
  }
  for (const note of o.notes) process.stderr.write(`sluice-perf: ${note}\n`);
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
