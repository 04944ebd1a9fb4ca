/**
 * kcat (librdkafka's command-line client) as the independent consumer that checks what Sluice
 * wrote, and as a producer peer for benchmarks. Independent means: another implementation of
 * the record format (librdkafka), with CRC checks on (`check.crcs=true`), reading back through
 * the broker's Fetch path.
 *
 * Output format, parsed by length and not by delimiters, so keys and values may hold any bytes:
 *
 *   -f 'R %p %o %T %K %S %h\n%k%s\n'
 *
 *   "R" partition offset timestampMs keyLength valueLength headers "\n" key-bytes value-bytes "\n"
 *
 * `%K`/`%S` print -1 for a null key/value, and `%k`/`%s` then print nothing (kcat prints the
 * string "NULL" only with -Z, which is not passed). The trailing "\n" after the value is checked
 * as a framing guard.
 *
 * Limitation — headers: kcat has no length token for them; `%h` prints `name=value` pairs joined
 * by ',' and a null value as the text `NULL`. So header names must not contain '=' ',' or a
 * newline, and values must not contain ',' or a newline; a value of exactly `NULL` reads back as
 * null. Tests that need binary headers must check them some other way.
 */
import { spawnTracked, tail, runCommand } from './tracked-process.js';

/** The kcat `-f` format this module parses (see the file header). */
export const KCAT_CONSUME_FORMAT = 'R %p %o %T %K %S %h\\n%k%s\\n';

/** A record as kcat consumed it. */
export interface ConsumedRecord {
  readonly partition: number;
  readonly offset: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  /** Header name/value pairs in record order (see the header limitation above). */
  readonly headers: ReadonlyArray<readonly [string, string | null]>;
  /** The record timestamp; -1 when the broker returned none. */
  readonly timestampMs: number;
}

/** Options of {@link consumeAll}. */
export interface ConsumeAllOptions {
  /** Comma-separated `host:port` list. */
  readonly bootstrap: string;
  readonly topic: string;
  /** Stop after this many records (kcat `-c`). */
  readonly count?: number;
  /** Stop at the end of every partition (kcat `-e`) even when fewer than `count` arrived. */
  readonly exitAtEnd?: boolean;
  /** Only this partition (kcat `-p`); default all. */
  readonly partition?: number;
  /** Start offset (kcat `-o`), default `beginning`. */
  readonly offset?: string;
  /** Deadline (default 30 s); on timeout the error names how many records had arrived. */
  readonly timeoutMs?: number;
  /** librdkafka properties, passed as `-X key=value`. */
  readonly extraProps?: Readonly<Record<string, string>>;
  /** More kcat arguments, e.g. `['-X', 'security.protocol=SASL_SSL', '-X', 'sasl.mechanism=PLAIN', …]`. */
  readonly securityArgs?: readonly string[];
}

function propsToArgs(props: Readonly<Record<string, string>> | undefined): string[] {
  return Object.entries(props ?? {}).flatMap(([key, value]) => ['-X', `${key}=${value}`]);
}

/** Parses `%h` output: `a=1,b=2`, empty for none. */
function parseHeaders(text: string): Array<[string, string | null]> {
  if (text === '') return [];
  return text.split(',').map((pair) => {
    const eq = pair.indexOf('=');
    if (eq < 0) return [pair, null];
    const value = pair.slice(eq + 1);
    return [pair.slice(0, eq), value === 'NULL' ? null : value];
  });
}

/**
 * Parses kcat output written with {@link KCAT_CONSUME_FORMAT}.
 * @returns the complete records and the number of bytes they used (a trailing partial record is
 *   left for the caller)
 * @throws when the bytes do not follow the format (names the byte offset)
 */
export function parseKcatOutput(output: Buffer): { records: ConsumedRecord[]; consumedBytes: number } {
  const records: ConsumedRecord[] = [];
  let pos = 0;
  while (pos < output.length) {
    const lineEnd = output.indexOf(0x0a, pos);
    if (lineEnd < 0) break;
    const line = output.toString('utf8', pos, lineEnd);
    const match = /^R (\d+) (\d+) (-?\d+) (-?\d+) (-?\d+) (.*)$/s.exec(line);
    if (match === null) throw new Error(`kcat output does not match the format at byte ${pos}: ${JSON.stringify(line.slice(0, 200))}`);
    const keyLength = Number(match[4]);
    const valueLength = Number(match[5]);
    const keyStart = lineEnd + 1;
    const valueStart = keyStart + Math.max(keyLength, 0);
    const valueEnd = valueStart + Math.max(valueLength, 0);
    if (valueEnd + 1 > output.length) break;
    if (output[valueEnd] !== 0x0a) throw new Error(`kcat record at byte ${pos} is not followed by a newline after ${keyLength}+${valueLength} key/value bytes`);
    records.push({
      partition: Number(match[1]),
      offset: Number(match[2]),
      timestampMs: Number(match[3]),
      key: keyLength < 0 ? null : Buffer.from(output.subarray(keyStart, valueStart)),
      value: valueLength < 0 ? null : Buffer.from(output.subarray(valueStart, valueEnd)),
      headers: parseHeaders(match[6]),
    });
    pos = valueEnd + 1;
  }
  return { records, consumedBytes: pos };
}

/**
 * Reads a topic from the beginning with `kcat -C … -X check.crcs=true` and decodes every record.
 * Records come in arrival order: ordered per partition, interleaved across partitions.
 * @throws when kcat fails, or on timeout, naming the records seen and quoting kcat's stderr
 */
export async function consumeAll(options: ConsumeAllOptions): Promise<ConsumedRecord[]> {
  const { count, exitAtEnd = false, timeoutMs = 30_000 } = options;
  if (count === undefined && !exitAtEnd) throw new Error('consumeAll needs count, exitAtEnd, or both');
  const args = [
    '-C',
    '-b',
    options.bootstrap,
    '-t',
    options.topic,
    '-o',
    options.offset ?? 'beginning',
    '-X',
    'check.crcs=true',
    '-f',
    KCAT_CONSUME_FORMAT,
    ...(count === undefined ? [] : ['-c', String(count)]),
    ...(exitAtEnd ? ['-e'] : []),
    ...(options.partition === undefined ? [] : ['-p', String(options.partition)]),
    ...propsToArgs(options.extraProps),
    ...(options.securityArgs ?? []),
  ];
  const proc = spawnTracked('kcat', args, { stdio: ['ignore', 'pipe', 'pipe'], watchdog: true });
  const chunks: Buffer[] = [];
  let stderr = '';
  proc.child.stdout!.on('data', (chunk: Buffer) => chunks.push(chunk));
  proc.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void proc.kill('SIGKILL');
  }, timeoutMs);
  const closed = new Promise<void>((resolve) => proc.child.once('close', () => resolve()));
  const { code, signal } = await proc.exited;
  await closed;
  clearTimeout(timer);
  const output = Buffer.concat(chunks);
  const { records, consumedBytes } = parseKcatOutput(output);
  const shown = `kcat ${args.join(' ')}`;
  if (timedOut) {
    throw new Error(
      `${shown}: timed out after ${timeoutMs} ms with ${records.length}` +
        `${count === undefined ? '' : ` of ${count}`} records; stderr:\n${tail(stderr)}`,
    );
  }
  if (code !== 0) throw new Error(`${shown}: exited with ${code ?? signal} after ${records.length} records; stderr:\n${tail(stderr)}`);
  if (consumedBytes !== output.length) throw new Error(`${shown}: ${output.length - consumedBytes} trailing bytes after ${records.length} records`);
  if (count !== undefined && !exitAtEnd && records.length !== count) {
    throw new Error(`${shown}: expected ${count} records, kcat printed ${records.length}; stderr:\n${tail(stderr)}`);
  }
  return records;
}

/** Options of {@link produceLines}. */
export interface ProduceLinesOptions {
  readonly bootstrap: string;
  readonly topic: string;
  /** One record value per line (kcat `-l`; empty lines are skipped by kcat). */
  readonly file: string;
  /** Target partition (kcat `-p`); default: librdkafka's partitioner. */
  readonly partition?: number;
  /** Split each line into key and value at this delimiter (kcat `-K`). */
  readonly keyDelimiter?: string;
  /** librdkafka producer properties (`-X key=value`), e.g. `{ 'linger.ms': '5', acks: 'all' }`. */
  readonly extraProps?: Readonly<Record<string, string>>;
  readonly securityArgs?: readonly string[];
  /** Deadline (default 60 s). */
  readonly timeoutMs?: number;
}

/**
 * Produces every line of `file` with `kcat -P -l`, waiting until kcat has flushed and exited.
 * @returns the wall time kcat took, start-up and final flush included
 * @throws when kcat exits non-zero (a failed delivery included), or on timeout
 */
export async function produceLines(options: ProduceLinesOptions): Promise<{ elapsedMs: number }> {
  const args = [
    '-P',
    '-b',
    options.bootstrap,
    '-t',
    options.topic,
    '-l',
    ...(options.partition === undefined ? [] : ['-p', String(options.partition)]),
    ...(options.keyDelimiter === undefined ? [] : ['-K', options.keyDelimiter]),
    ...propsToArgs(options.extraProps),
    ...(options.securityArgs ?? []),
    options.file,
  ];
  // kcat exits 1 when any delivery report failed (kcat.c producer_run: `if (stats.tx_err_dr)
  // conf.exitcode = 1`). Its "% ERROR: …" stderr lines are informational (a dropped connection
  // it retries through), so stderr is not a failure signal.
  const result = await runCommand('kcat', args, { timeoutMs: options.timeoutMs ?? 60_000 });
  return { elapsedMs: result.elapsedMs };
}
