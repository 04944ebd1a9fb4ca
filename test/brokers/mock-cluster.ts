/**
 * librdkafka's mock cluster (rdkafka_mock.h) driven from tests: test/brokers/mock/mock-cluster.c
 * is compiled on first use, runs as a child process, prints its bootstrap servers and then obeys
 * one command per stdin line (the protocol is documented at the top of the C file). Use it for
 * faults a real Kafka cannot stage on demand; use kafka-broker.ts for everything else.
 *
 * What this mock is — measured against librdkafka 2.0.2 (Debian's librdkafka-dev):
 * - it advertises Produce v0-v7 and Metadata v0-v2 only;
 * - partition leaders are random unless set with `setPartitionLeader`;
 * - a broker set down refuses connections but keeps its leaderships (no failover);
 * - it keeps only about 5 MB per partition log (older batches disappear);
 * - it neither checks CRCs nor decompresses batches, so it cannot vouch for batch bytes — read
 *   them back with kcat (which checks CRCs) or use the real broker for that;
 * - it does check idempotent producer sequences.
 */
import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { runCommand, spawnTracked, tail, type TrackedProcess } from './tracked-process.js';

const HERE = dirname(fileURLToPath(import.meta.url));
/** The C source of the mock-cluster program. */
export const MOCK_CLUSTER_SOURCE = join(HERE, 'mock', 'mock-cluster.c');
/** Where the compiled program goes (gitignored). */
export const MOCK_CLUSTER_BUILD_DIR = join(HERE, 'mock', 'build');
const BINARY = join(MOCK_CLUSTER_BUILD_DIR, 'mock-cluster');

/** Kafka API keys the fault commands take (Kafka's `ApiKeys`). */
export const MockApiKey = Object.freeze({
  PRODUCE: 0,
  FETCH: 1,
  LIST_OFFSETS: 2,
  METADATA: 3,
  FIND_COORDINATOR: 10,
  API_VERSIONS: 18,
  INIT_PRODUCER_ID: 22,
});

/**
 * librdkafka's internal error that makes a mock broker drop the connection instead of
 * answering (`RD_KAFKA_RESP_ERR__TRANSPORT`), usable wherever an error code is taken.
 */
export const MOCK_ERR_TRANSPORT = -195;

/** A topic to create at start-up. */
export interface MockTopicSpec {
  readonly name: string;
  readonly partitions: number;
  /** Default 1. */
  readonly replicationFactor?: number;
}

/** Options of {@link startMockCluster}. */
export interface MockClusterOptions {
  /** Number of brokers, ids 1..brokers (default 3). */
  readonly brokers?: number;
  readonly topics?: readonly MockTopicSpec[];
  /** Deadline for build and start (default 60 s). */
  readonly startTimeoutMs?: number;
}

/** One error (or 0 for a success) and the delay before the broker answers with it. */
export interface MockErrorWithRtt {
  readonly code: number;
  readonly rttMs: number;
}

let built: Promise<string> | null = null;

/**
 * Compiles mock-cluster.c with gcc (-lrdkafka) unless the binary is newer than the source.
 * @returns the binary's path
 * @throws with gcc's output when compilation fails (e.g. librdkafka-dev missing)
 */
export function buildMockClusterBinary(): Promise<string> {
  built ??= (async () => {
    if (existsSync(BINARY) && statSync(BINARY).mtimeMs >= statSync(MOCK_CLUSTER_SOURCE).mtimeMs) return BINARY;
    mkdirSync(MOCK_CLUSTER_BUILD_DIR, { recursive: true });
    // Build under a private name and rename: a concurrent run never executes a half-written file.
    const temp = `${BINARY}.${process.pid}.tmp`;
    await runCommand('gcc', ['-O2', '-Wall', '-Wextra', '-std=gnu11', '-o', temp, MOCK_CLUSTER_SOURCE, '-lrdkafka'], { timeoutMs: 120_000 });
    renameSync(temp, BINARY);
    return BINARY;
  })();
  built.catch(() => {
    built = null;
  });
  return built;
}

function checkToken(what: string, value: string): string {
  if (value === '' || /\s/.test(value)) throw new Error(`mock cluster ${what} '${value}' must be non-empty without whitespace`);
  return value;
}

/** A running librdkafka mock cluster; see the file header for what it does and does not do. */
export class MockCluster {
  /** Comma-separated `host:port` of every mock broker. */
  readonly bootstrapServers: string;
  /** Broker ids, 1..brokers. */
  readonly brokerIds: readonly number[];
  readonly #proc: TrackedProcess;
  readonly #waiters: Array<{ resolve: (line: string) => void; reject: (error: Error) => void; command: string }> = [];
  #stderr = '';
  #closed = false;

  /** Use {@link startMockCluster}. */
  constructor(proc: TrackedProcess, bootstrapServers: string, lines: AsyncIterator<string>, readStderr: () => string) {
    this.#proc = proc;
    this.bootstrapServers = bootstrapServers;
    this.brokerIds = Object.freeze(bootstrapServers.split(',').map((_, i) => i + 1));
    void this.#pump(lines, readStderr);
  }

  async #pump(lines: AsyncIterator<string>, readStderr: () => string): Promise<void> {
    for (;;) {
      const next = await lines.next();
      if (next.done === true) break;
      const waiter = this.#waiters.shift();
      if (waiter === undefined) continue;
      if (next.value.startsWith('OK')) waiter.resolve(next.value.slice(2).trim());
      else waiter.reject(new Error(`mock cluster: '${waiter.command}' failed: ${next.value.replace(/^ERR /, '')}`));
    }
    this.#closed = true;
    const info = await this.#proc.exited;
    for (const waiter of this.#waiters.splice(0)) {
      waiter.reject(new Error(`mock cluster exited (${info.code ?? info.signal}) before answering '${waiter.command}'; stderr:\n${tail(readStderr())}`));
    }
  }

  /**
   * Sends one raw command line (see mock-cluster.c) and waits for its answer.
   * @returns the text after "OK" (empty for most commands)
   * @throws the "ERR …" reason, or when the process has exited
   */
  command(line: string): Promise<string> {
    if (this.#closed || !this.#proc.running) return Promise.reject(new Error(`mock cluster is not running; cannot send '${line}'`));
    if (line.includes('\n')) return Promise.reject(new Error('one command per call'));
    return new Promise((resolve, reject) => {
      this.#waiters.push({ resolve, reject, command: line });
      this.#proc.child.stdin!.write(`${line}\n`);
    });
  }

  /** Round trip without effect. */
  async ping(): Promise<void> {
    await this.command('ping');
  }

  /** Creates a topic (`rd_kafka_mock_topic_create`). */
  async createTopic(name: string, partitions: number, replicationFactor = 1): Promise<void> {
    await this.command(`topic ${checkToken('topic', name)} ${partitions} ${replicationFactor}`);
  }

  /** Moves a partition's leadership to `brokerId` (-1: leaderless); creates the topic if needed. */
  async setPartitionLeader(topic: string, partition: number, brokerId: number): Promise<void> {
    await this.command(`leader ${checkToken('topic', topic)} ${partition} ${brokerId}`);
  }

  /** Sets a partition's preferred follower (`rd_kafka_mock_partition_set_follower`). */
  async setPartitionFollower(topic: string, partition: number, brokerId: number): Promise<void> {
    await this.command(`follower ${checkToken('topic', topic)} ${partition} ${brokerId}`);
  }

  /** Sets the follower's low/high watermarks (-1: the leader's). */
  async setPartitionFollowerWatermarks(topic: string, partition: number, lo: number, hi: number): Promise<void> {
    await this.command(`follower_wmarks ${checkToken('topic', topic)} ${partition} ${lo} ${hi}`);
  }

  /** Disconnects a broker (-1: all) and refuses new connections; its leaderships stay. */
  async setBrokerDown(brokerId: number): Promise<void> {
    await this.command(`down ${brokerId}`);
  }

  /** Lets a broker (-1: all) accept connections again. */
  async setBrokerUp(brokerId: number): Promise<void> {
    await this.command(`up ${brokerId}`);
  }

  /** Delays every answer of a broker (-1: all) by `rttMs`. */
  async setBrokerRtt(brokerId: number, rttMs: number): Promise<void> {
    await this.command(`rtt ${brokerId} ${rttMs}`);
  }

  /** Sets the rack a broker (-1: all) reports in Metadata. */
  async setBrokerRack(brokerId: number, rack: string): Promise<void> {
    await this.command(`rack ${brokerId} ${checkToken('rack', rack)}`);
  }

  /**
   * Makes the next `codes.length` requests of `apiKey`, to any broker, fail with these codes in
   * order (`rd_kafka_mock_push_request_errors`); {@link MOCK_ERR_TRANSPORT} drops the connection.
   */
  async pushRequestErrors(apiKey: number, codes: readonly number[]): Promise<void> {
    await this.command(`errors ${apiKey} ${codes.length} ${codes.join(' ')}`);
  }

  /**
   * Like {@link MockCluster.pushRequestErrors} for one broker, each answer delayed by its
   * `rttMs` (code 0: a delayed success). Broker errors take precedence over cluster errors.
   */
  async pushBrokerRequestErrors(brokerId: number, apiKey: number, errors: readonly MockErrorWithRtt[]): Promise<void> {
    await this.command(`broker_errors ${brokerId} ${apiKey} ${errors.map((e) => `${e.code}:${e.rttMs}`).join(' ')}`);
  }

  /** How many pushed errors for `apiKey` a broker has not used yet. */
  async brokerErrorStackCount(brokerId: number, apiKey: number): Promise<number> {
    return Number(await this.command(`error_stack_count ${brokerId} ${apiKey}`));
  }

  /** Drops the cluster-wide pushed errors of `apiKey`. */
  async clearRequestErrors(apiKey: number): Promise<void> {
    await this.command(`clear_errors ${apiKey}`);
  }

  /** Makes Metadata report `code` for a topic (0 clears it). */
  async setTopicError(topic: string, code: number): Promise<void> {
    await this.command(`topic_error ${checkToken('topic', topic)} ${code}`);
  }

  /** Pins the group or transaction coordinator for `key`. */
  async setCoordinator(keyType: 'group' | 'transaction', key: string, brokerId: number): Promise<void> {
    await this.command(`coordinator ${keyType} ${checkToken('key', key)} ${brokerId}`);
  }

  /**
   * Narrows the version range the brokers advertise for `apiKey` (-1, -1: disable the API). The
   * mock does not check `max` against what it implements; keep it within its range.
   */
  async setApiVersion(apiKey: number, minVersion: number, maxVersion: number): Promise<void> {
    await this.command(`apiversion ${apiKey} ${minVersion} ${maxVersion}`);
  }

  /**
   * Closes stdin (the program then destroys the cluster and exits; librdkafka takes about 1 s)
   * and waits, killing it after 5 s. Idempotent.
   */
  async stop(): Promise<void> {
    if (!this.#proc.running) return;
    this.#proc.child.stdin!.end();
    const timer = setTimeout(() => void this.#proc.kill('SIGKILL'), 5_000);
    await this.#proc.exited;
    clearTimeout(timer);
  }
}

/**
 * Builds (if needed) and starts a mock cluster, creating `topics`.
 * @throws with the program's stderr when it exits or stays silent before printing BOOTSTRAP
 */
export async function startMockCluster(options: MockClusterOptions = {}): Promise<MockCluster> {
  const brokers = options.brokers ?? 3;
  const timeoutMs = options.startTimeoutMs ?? 60_000;
  const binary = await buildMockClusterBinary();
  const args = [
    String(brokers),
    ...(options.topics ?? []).map((t) => `${checkToken('topic', t.name)}:${t.partitions}:${t.replicationFactor ?? 1}`),
  ];
  const proc = spawnTracked(binary, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  proc.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  // The program exits on stdin EOF, which also happens when this process dies: no watchdog.
  const lines = createInterface({ input: proc.child.stdout!, crlfDelay: Infinity })[Symbol.asyncIterator]();
  let timer: NodeJS.Timeout | undefined;
  try {
    const first = await Promise.race([
      lines.next(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`mock cluster printed no BOOTSTRAP line within ${timeoutMs} ms; stderr:\n${tail(stderr)}`)), timeoutMs);
      }),
    ]);
    if (first.done === true || !first.value.startsWith('BOOTSTRAP ')) {
      const info = first.done === true ? await proc.exited : null;
      throw new Error(
        `mock cluster ${binary} ${args.join(' ')} ${info === null ? `printed '${first.value}'` : `exited (${info.code ?? info.signal})`} instead of BOOTSTRAP; stderr:\n${tail(stderr)}`,
      );
    }
    return new MockCluster(proc, first.value.slice('BOOTSTRAP '.length).trim(), lines, () => stderr);
  } catch (error) {
    await proc.kill('SIGKILL');
    throw error;
  } finally {
    clearTimeout(timer);
  }
}
