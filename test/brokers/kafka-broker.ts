/**
 * Real Apache Kafka 4.4 clusters for integration tests and benchmarks, started from the jars
 * that test/brokers/kafka/fetch-jars.sh copies out of Maven (no Docker, no distribution tarball).
 *
 * Each node is a KRaft combined-mode process (`process.roles=broker,controller`, one JVM per
 * node) on loopback ports picked at start. A 3-node cluster is a 3-voter static quorum
 * (`controller.quorum.voters`), so one node can be stopped and restarted while the other two
 * keep a majority. Rejected: one dedicated controller plus brokers — a fourth JVM on a 2-core
 * CI machine, and the single controller would be a node the failover tests may not touch.
 *
 * Start-up: `kafka.tools.StorageTool format` per node (in parallel), then `kafka.Kafka
 * server.properties` per node; a node is up when its log says "Kafka Server started" (printed by
 * `KafkaRaftServer.startup` after the broker was unfenced) and the cluster is ready when a
 * Metadata request lists every running node. Each JVM's stdout/stderr goes to a log file whose
 * tail is quoted when start-up fails.
 *
 * Every JVM is a tracked child (tracked-process.ts): killed at process exit even when a test
 * throws, and by a watchdog when Node itself is killed.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { open, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePorts } from './free-ports.js';
import {
  fetchMetadata,
  kafkaErrorName,
  sendCreateTopics,
  type ClusterMetadata,
  type NewTopic,
} from './kafka-admin.js';
import { onProcessExit, runCommand, spawnTracked, tail, type TrackedProcess } from './tracked-process.js';

export type { NewTopic } from './kafka-admin.js';

const HERE = dirname(fileURLToPath(import.meta.url));
/** test/brokers/kafka: pom.xml, fetch-jars.sh and (after fetching) libs/. */
export const KAFKA_PROJECT_DIR = join(HERE, 'kafka');
const LOOPBACK = '127.0.0.1';
/** The client listener every node has; also the inter-broker listener. */
export const PLAINTEXT_LISTENER = 'PLAINTEXT';
const CONTROLLER_LISTENER = 'CONTROLLER';
/** The line `KafkaRaftServer.startup()` logs once the broker is unfenced and serving. */
const STARTED_MARKER = 'Kafka Server started';

/**
 * JVM flags for a broker: a small heap and the serial collector (two cores: no parallel GC
 * threads competing with the broker's own), and C1 only (`TieredStopAtLevel=1`). C1 alone
 * starts a node about 20 % sooner, and on the 2-core CI machine it did not cost broker
 * throughput either: a 2 M-record ProducerPerformance run was faster against a C1-only broker,
 * because C2's compiler threads compete with the broker for the two cores. A benchmark on a
 * bigger machine can pass `jvmOptions` without it.
 */
export const DEFAULT_BROKER_JVM_OPTIONS: readonly string[] = Object.freeze([
  '-Xms256m',
  '-Xmx512m',
  '-XX:+UseSerialGC',
  '-XX:TieredStopAtLevel=1',
  '-XX:-UsePerfData',
  '-XX:+ExitOnOutOfMemoryError',
  '-Djava.awt.headless=true',
]);

/** JVM flags for the one-shot tools (StorageTool): C1 only, the run is too short for C2. */
export const TOOL_JVM_OPTIONS: readonly string[] = Object.freeze([
  '-Xmx256m',
  '-XX:+UseSerialGC',
  '-XX:TieredStopAtLevel=1',
  '-XX:-UsePerfData',
  '-Djava.awt.headless=true',
]);

/** Kafka's listener security protocols (`SecurityProtocol`). */
export type SecurityProtocol = 'PLAINTEXT' | 'SSL' | 'SASL_PLAINTEXT' | 'SASL_SSL';

/**
 * An additional client listener. Each node gets its own free port for it; the listener is added
 * to `listeners`, `advertised.listeners` and `listener.security.protocol.map`. Its TLS/SASL
 * settings (`listener.name.<name lower-case>.…`, `sasl.enabled.mechanisms`, keystores) go in
 * `brokerConfig`/`nodeConfig`.
 */
export interface ListenerSpec {
  /** Listener name, upper-case by Kafka convention, e.g. `SASL_SSL` or `EXTERNAL`. */
  readonly name: string;
  readonly securityProtocol: SecurityProtocol;
}

/** Options of {@link startKafkaCluster}. */
export interface KafkaClusterOptions {
  /** Number of nodes (default 1); 3 gives a 3-voter quorum with replication factor 3 defaults. */
  readonly nodes?: 1 | 3;
  /** Client listeners besides PLAINTEXT (which stays, as the inter-broker listener). */
  readonly listeners?: readonly ListenerSpec[];
  /** Extra server.properties for every node; applied last, so they override the defaults. */
  readonly brokerConfig?: Readonly<Record<string, string>>;
  /** Per-node server.properties (keystore paths…), applied after `brokerConfig`. */
  readonly nodeConfig?: (node: { id: number; ports: Readonly<Record<string, number>> }) => Readonly<Record<string, string>>;
  /** Directory for the nodes' log files, kept after stop() (default: inside the temp dir). */
  readonly logDir?: string;
  /** Replaces {@link DEFAULT_BROKER_JVM_OPTIONS}. */
  readonly jvmOptions?: readonly string[];
  /** Deadline for the whole start-up and for each startNode() (default 90 s). */
  readonly startTimeoutMs?: number;
}

/** A node of a {@link KafkaCluster}. */
export interface KafkaNode {
  readonly id: number;
  readonly host: string;
  /** The PLAINTEXT client port. */
  readonly port: number;
  /** Port per listener name, PLAINTEXT and CONTROLLER included. */
  readonly ports: Readonly<Record<string, number>>;
  /** The node's server.log (JVM stdout and stderr). */
  readonly logFile: string;
  /** The node's server.properties. */
  readonly propertiesFile: string;
  /** True while the node's JVM runs. */
  readonly running: boolean;
}

/** A running cluster from {@link startKafkaCluster}. */
export interface KafkaCluster {
  /** PLAINTEXT `host:port` of every node, comma-separated. */
  readonly bootstrapServers: string;
  readonly nodes: readonly KafkaNode[];
  /** The cluster's temp directory (data, configs; logs unless `logDir` was given). */
  readonly dir: string;
  /** Start-up time of the whole cluster, formatting included. */
  readonly startupMs: number;
  /**
   * `host:port` of every node for `listener`.
   * @throws when the cluster has no such listener
   */
  bootstrapFor(listener: string): string;
  /**
   * Creates one topic and waits until every running node reports a leader for each partition.
   * @throws on any CreateTopics error (TOPIC_ALREADY_EXISTS included) or the deadline
   */
  createTopic(name: string, partitions?: number, replicationFactor?: number, configs?: Readonly<Record<string, string>>): Promise<void>;
  /** {@link KafkaCluster.createTopic} for many topics in one request. */
  createTopics(topics: readonly NewTopic[], timeoutMs?: number): Promise<void>;
  /**
   * Waits until every running node reports every partition of `topics` led by a running node
   * (after a stopNode: until the controller has moved the leaders).
   * @throws with the last metadata seen when `timeoutMs` passes
   */
  waitForTopics(topics: readonly string[], timeoutMs?: number): Promise<void>;
  /** Metadata v4 from the first running node (`topics` null: all). */
  metadata(topics?: readonly string[] | null): Promise<ClusterMetadata>;
  /**
   * Stops one node: SIGKILL (default — a crash; its leaders move after
   * `broker.session.timeout.ms`) or SIGTERM (controlled shutdown; leaders move first).
   */
  stopNode(id: number, signal?: 'SIGKILL' | 'SIGTERM'): Promise<void>;
  /** Restarts a stopped node on the same ports and data directory and waits until it serves. */
  startNode(id: number): Promise<void>;
  /** Kills every node and removes the temp directory. Idempotent; never throws. */
  stop(): Promise<void>;
}

let jarsReady: Promise<string> | null = null;

/**
 * The directory holding the Kafka jars, fetching them first with fetch-jars.sh when libs/ is
 * missing or older than the pom (memoized per process).
 * @throws when Maven is unavailable and the jars are missing
 */
export function ensureKafkaJars(): Promise<string> {
  jarsReady ??= (async () => {
    const libs = join(KAFKA_PROJECT_DIR, 'libs');
    const stamp = join(libs, '.fetched');
    if (existsSync(stamp) && statSync(stamp).mtimeMs > statSync(join(KAFKA_PROJECT_DIR, 'pom.xml')).mtimeMs) return libs;
    await runCommand('bash', [join(KAFKA_PROJECT_DIR, 'fetch-jars.sh')], { timeoutMs: 600_000 });
    return libs;
  })();
  jarsReady.catch(() => {
    jarsReady = null;
  });
  return jarsReady;
}

/** The `-cp` value for the Kafka jars in `libs`. */
export function kafkaClasspath(libs: string): string {
  return `${libs}/*`;
}

/** A cluster id as Kafka's `Uuid.randomUuid()` makes them: 16 random bytes, base64url, no padding. */
function randomClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    // Kafka rejects the zero and metadata-topic ids and avoids a leading '-' (it reads as an option).
    if (!id.startsWith('-') && !/^A{21}[AQ]$/.test(id)) return id;
  }
}

/** Escapes a java.util.Properties key or value. */
function escapeProperty(text: string, isKey: boolean): string {
  let out = text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t');
  if (isKey) out = out.replace(/([ =:#!])/g, '\\$1');
  else out = out.replace(/^ /, '\\ ');
  return out;
}

function renderProperties(properties: Readonly<Record<string, string>>): string {
  return Object.entries(properties)
    .map(([key, value]) => `${escapeProperty(key, true)}=${escapeProperty(value, false)}\n`)
    .join('');
}

const LOG4J2_PROPERTIES = `# Generated by test/brokers/kafka-broker.ts: everything to stdout, which goes to the node's log file.
status = warn
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = out
# The full config dump on every start; a bad value still fails loudly as a ConfigException.
logger.config.name = org.apache.kafka.common.config.AbstractConfig
logger.config.level = WARN
logger.state.name = state.change.logger
logger.state.level = WARN
logger.request.name = kafka.request.logger
logger.request.level = WARN
`;

/**
 * The defaults every node gets (before `brokerConfig`). Sizes are small so 1-3 JVMs fit a 2-core
 * CI machine; internal topics have one partition because each partition costs start-up time
 * and tests use one consumer group at most.
 */
function defaultBrokerConfig(nodeCount: number): Record<string, string> {
  const rf = String(nodeCount);
  const minIsr = nodeCount === 1 ? '1' : '2';
  return {
    'auto.create.topics.enable': 'true',
    'num.partitions': '1',
    'default.replication.factor': rf,
    'min.insync.replicas': '1',
    'offsets.topic.replication.factor': rf,
    'offsets.topic.num.partitions': '1',
    'transaction.state.log.replication.factor': rf,
    'transaction.state.log.min.isr': minIsr,
    'transaction.state.log.num.partitions': '1',
    'share.coordinator.state.topic.replication.factor': rf,
    'share.coordinator.state.topic.min.isr': minIsr,
    'share.coordinator.state.topic.num.partitions': '1',
    'group.initial.rebalance.delay.ms': '0',
    'num.network.threads': '2',
    'num.io.threads': '2',
    'num.replica.fetchers': '1',
    'background.threads': '2',
    'log.segment.bytes': String(16 * 1024 * 1024),
    'log.index.size.max.bytes': String(1024 * 1024),
    'log.cleaner.threads': '1',
    'log.cleaner.dedupe.buffer.size': String(8 * 1024 * 1024),
    // A killed node is fenced (and its leaders move) after 4 s instead of 9 s; heartbeats every
    // 0.5 s keep that margin on a loaded CI machine.
    'broker.heartbeat.interval.ms': '500',
    'broker.session.timeout.ms': '4000',
    'controlled.shutdown.enable': 'true',
    'delete.topic.enable': 'true',
  };
}

interface NodeState {
  readonly id: number;
  readonly ports: Record<string, number>;
  readonly dataDir: string;
  readonly propertiesFile: string;
  readonly logFile: string;
  process: TrackedProcess | null;
}

const sleep = (ms: number): Promise<void> => new Promise((resolveSleep) => setTimeout(resolveSleep, ms));

async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

async function logTail(path: string, maxChars = 6000): Promise<string> {
  try {
    return tail(await readFile(path, 'utf8'), maxChars);
  } catch {
    return '(no log file)';
  }
}

/**
 * Starts a Kafka 4.4 KRaft cluster on loopback (see the file header) and waits until it serves.
 * @returns the running cluster; call `stop()` in an `after` hook
 * @throws with the failing node's log tail when a node does not start within `startTimeoutMs`
 */
export async function startKafkaCluster(options: KafkaClusterOptions = {}): Promise<KafkaCluster> {
  const startMs = performance.now();
  const nodeCount = options.nodes ?? 1;
  const extraListeners = options.listeners ?? [];
  const startTimeoutMs = options.startTimeoutMs ?? 90_000;
  const jvmOptions = options.jvmOptions ?? DEFAULT_BROKER_JVM_OPTIONS;
  for (const listener of extraListeners) {
    if (listener.name === PLAINTEXT_LISTENER || listener.name === CONTROLLER_LISTENER || !/^[A-Z][A-Z0-9_]*$/.test(listener.name)) {
      throw new Error(`listener name '${listener.name}' must be upper-case [A-Z0-9_] and not PLAINTEXT or CONTROLLER`);
    }
  }
  const libs = await ensureKafkaJars();
  const classpath = kafkaClasspath(libs);

  const dir = mkdtempSync(join(tmpdir(), 'sluice-kafka-'));
  const unregisterCleanup = onProcessExit(() => rmSync(dir, { recursive: true, force: true }));
  const logDir = options.logDir === undefined ? dir : resolve(options.logDir);
  mkdirSync(logDir, { recursive: true });
  const log4jFile = join(dir, 'log4j2.properties');
  await writeFile(log4jFile, LOG4J2_PROPERTIES);

  const listenerNames = [PLAINTEXT_LISTENER, CONTROLLER_LISTENER, ...extraListeners.map((l) => l.name)];
  const allPorts = await freePorts(nodeCount * listenerNames.length, LOOPBACK);
  const nodes: NodeState[] = [];
  for (let i = 0; i < nodeCount; i++) {
    const id = i + 1;
    const ports: Record<string, number> = {};
    listenerNames.forEach((name, j) => {
      ports[name] = allPorts[i * listenerNames.length + j];
    });
    const nodeDir = join(dir, `node-${id}`);
    mkdirSync(nodeDir, { recursive: true });
    nodes.push({
      id,
      ports,
      dataDir: join(nodeDir, 'data'),
      propertiesFile: join(nodeDir, 'server.properties'),
      logFile: join(logDir, `kafka-node-${id}.log`),
      process: null,
    });
  }
  const voters = nodes.map((n) => `${n.id}@${LOOPBACK}:${n.ports[CONTROLLER_LISTENER]}`).join(',');
  const protocolMap = [
    `${PLAINTEXT_LISTENER}:PLAINTEXT`,
    `${CONTROLLER_LISTENER}:PLAINTEXT`,
    ...extraListeners.map((l) => `${l.name}:${l.securityProtocol}`),
  ].join(',');
  for (const node of nodes) {
    const clientListeners = listenerNames.filter((name) => name !== CONTROLLER_LISTENER);
    const properties: Record<string, string> = {
      'process.roles': 'broker,controller',
      'node.id': String(node.id),
      'controller.quorum.voters': voters,
      'controller.listener.names': CONTROLLER_LISTENER,
      'inter.broker.listener.name': PLAINTEXT_LISTENER,
      listeners: listenerNames.map((name) => `${name}://${LOOPBACK}:${node.ports[name]}`).join(','),
      'advertised.listeners': clientListeners.map((name) => `${name}://${LOOPBACK}:${node.ports[name]}`).join(','),
      'listener.security.protocol.map': protocolMap,
      'log.dirs': node.dataDir,
      ...defaultBrokerConfig(nodeCount),
      ...options.brokerConfig,
      ...options.nodeConfig?.({ id: node.id, ports: { ...node.ports } }),
    };
    await writeFile(node.propertiesFile, `# Generated by test/brokers/kafka-broker.ts\n${renderProperties(properties)}`);
  }

  let stopped = false;
  const stopAll = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await Promise.all(nodes.map((node) => node.process?.kill('SIGKILL')));
    rmSync(dir, { recursive: true, force: true });
    unregisterCleanup();
  };

  const launch = async (node: NodeState): Promise<{ proc: TrackedProcess; logOffset: number }> => {
    const logOffset = await fileSize(node.logFile);
    const log = await open(node.logFile, 'a');
    try {
      const proc = spawnTracked(
        'java',
        [...jvmOptions, `-Dlog4j2.configurationFile=${log4jFile}`, '-cp', classpath, 'kafka.Kafka', node.propertiesFile],
        { stdio: ['ignore', log.fd, log.fd], watchdog: true },
      );
      node.process = proc;
      return { proc, logOffset };
    } finally {
      await log.close();
    }
  };

  /** Waits for the started marker in the log written since `logOffset`. */
  const awaitStarted = async (node: NodeState, proc: TrackedProcess, logOffset: number, deadlineMs: number): Promise<void> => {
    for (;;) {
      const handle = await open(node.logFile, 'r');
      try {
        const size = (await handle.stat()).size;
        // Only the end can hold a new marker; re-read a margin for a marker split across polls.
        const from = Math.max(logOffset, size - 64 * 1024);
        const { buffer, bytesRead } = await handle.read(Buffer.alloc(size - from), 0, size - from, from);
        if (buffer.toString('utf8', 0, bytesRead).includes(STARTED_MARKER)) return;
      } finally {
        await handle.close();
      }
      if (!proc.running) {
        const { code, signal } = await proc.exited;
        throw new Error(`Kafka node ${node.id} exited (${code ?? signal}) during start-up; ${node.logFile} ends with:\n${await logTail(node.logFile)}`);
      }
      if (performance.now() > deadlineMs) {
        throw new Error(`Kafka node ${node.id} did not log '${STARTED_MARKER}' within ${startTimeoutMs} ms; ${node.logFile} ends with:\n${await logTail(node.logFile)}`);
      }
      await sleep(100);
    }
  };

  /** Waits until node `askId` lists every running node in Metadata. */
  const awaitRegistered = async (askId: number, deadlineMs: number): Promise<void> => {
    const ask = nodes[askId - 1];
    let last = '';
    for (;;) {
      const expected = nodes.filter((n) => n.process?.running).map((n) => n.id);
      try {
        const metadata = await fetchMetadata(`${LOOPBACK}:${ask.ports[PLAINTEXT_LISTENER]}`, [], 5_000);
        const listed = new Set(metadata.brokers.map((b) => b.nodeId));
        if (expected.every((id) => listed.has(id))) return;
        last = `lists brokers [${[...listed].join(', ')}], expected [${expected.join(', ')}]`;
      } catch (error) {
        last = (error as Error).message;
      }
      if (performance.now() > deadlineMs) {
        throw new Error(`Kafka node ${askId} did not see every node within ${startTimeoutMs} ms: ${last}; its log ends with:\n${await logTail(ask.logFile)}`);
      }
      await sleep(100);
    }
  };

  const startNodeNow = async (node: NodeState): Promise<void> => {
    const deadlineMs = performance.now() + startTimeoutMs;
    const { proc, logOffset } = await launch(node);
    await awaitStarted(node, proc, logOffset, deadlineMs);
    await awaitRegistered(node.id, deadlineMs);
  };

  try {
    const clusterId = randomClusterId();
    await Promise.all(
      nodes.map((node) =>
        runCommand(
          'java',
          [...TOOL_JVM_OPTIONS, `-Dlog4j2.configurationFile=${log4jFile}`, '-cp', classpath, 'kafka.tools.StorageTool', 'format', '--cluster-id', clusterId, '--config', node.propertiesFile],
          { timeoutMs: startTimeoutMs },
        ),
      ),
    );
    // All nodes at once: a 3-voter quorum elects a leader only when two are up.
    await Promise.all(nodes.map((node) => startNodeNow(node)));
  } catch (error) {
    await stopAll();
    throw error;
  }

  const runningNodes = (): NodeState[] => nodes.filter((n) => n.process?.running);
  const firstRunningAddress = (): string => {
    const node = runningNodes()[0];
    if (node === undefined) throw new Error('no Kafka node is running');
    return `${LOOPBACK}:${node.ports[PLAINTEXT_LISTENER]}`;
  };
  const nodeById = (id: number): NodeState => {
    const node = nodes[id - 1];
    if (node === undefined) throw new Error(`no Kafka node ${id}; nodes are 1..${nodes.length}`);
    return node;
  };

  const waitForTopics = async (topics: readonly string[], timeoutMs = 30_000): Promise<void> => {
    const deadlineMs = performance.now() + timeoutMs;
    let last = '';
    for (;;) {
      const running = runningNodes();
      const live = new Set(running.map((n) => n.id));
      let ready = running.length > 0;
      for (const node of running) {
        try {
          const metadata = await fetchMetadata(`${LOOPBACK}:${node.ports[PLAINTEXT_LISTENER]}`, topics, 5_000);
          for (const topic of metadata.topics) {
            const bad = topic.partitions.filter((p) => p.errorCode !== 0 || !live.has(p.leaderId));
            if (topic.errorCode !== 0 || topic.partitions.length === 0 || bad.length > 0) {
              ready = false;
              last =
                `node ${node.id}: topic ${topic.name} ` +
                (topic.errorCode !== 0
                  ? kafkaErrorName(topic.errorCode)
                  : `partitions without a running leader: ${bad.map((p) => `${p.partition}->${p.leaderId}`).join(', ') || 'none listed'}`);
            }
          }
        } catch (error) {
          ready = false;
          last = `node ${node.id}: ${(error as Error).message}`;
        }
        if (!ready) break;
      }
      if (ready) return;
      if (performance.now() > deadlineMs) throw new Error(`topics ${topics.join(', ')} not ready within ${timeoutMs} ms: ${last}`);
      await sleep(50);
    }
  };

  const createTopics = async (topics: readonly NewTopic[], timeoutMs = 30_000): Promise<void> => {
    const deadlineMs = performance.now() + timeoutMs;
    let pending = [...topics];
    for (;;) {
      const results = await sendCreateTopics(firstRunningAddress(), pending, Math.max(1_000, Math.round(deadlineMs - performance.now())));
      // NOT_CONTROLLER and REQUEST_TIMED_OUT happen while a quorum elects; retry just those.
      const retriable = results.filter((r) => r.errorCode === 41 || r.errorCode === 7);
      const failed = results.filter((r) => r.errorCode !== 0 && r.errorCode !== 41 && r.errorCode !== 7);
      if (failed.length > 0) {
        throw new Error(`CreateTopics failed: ${failed.map((r) => `${r.name}: ${kafkaErrorName(r.errorCode)} ${r.errorMessage ?? ''}`).join('; ')}`);
      }
      if (retriable.length === 0) break;
      if (performance.now() > deadlineMs) throw new Error(`CreateTopics still failing after ${timeoutMs} ms: ${retriable.map((r) => `${r.name}: ${kafkaErrorName(r.errorCode)}`).join('; ')}`);
      pending = pending.filter((t) => retriable.some((r) => r.name === t.name));
      await sleep(200);
    }
    await waitForTopics(
      topics.map((t) => t.name),
      Math.max(1_000, Math.round(deadlineMs - performance.now())),
    );
  };

  const publicNodes: KafkaNode[] = nodes.map((node) => ({
    id: node.id,
    host: LOOPBACK,
    port: node.ports[PLAINTEXT_LISTENER],
    ports: Object.freeze({ ...node.ports }),
    logFile: node.logFile,
    propertiesFile: node.propertiesFile,
    get running() {
      return node.process?.running ?? false;
    },
  }));

  return {
    bootstrapServers: nodes.map((n) => `${LOOPBACK}:${n.ports[PLAINTEXT_LISTENER]}`).join(','),
    nodes: publicNodes,
    dir,
    startupMs: performance.now() - startMs,
    bootstrapFor(listener: string): string {
      if (!listenerNames.includes(listener) || listener === CONTROLLER_LISTENER) {
        throw new Error(`no client listener '${listener}'; the cluster has ${listenerNames.filter((n) => n !== CONTROLLER_LISTENER).join(', ')}`);
      }
      return nodes.map((n) => `${LOOPBACK}:${n.ports[listener]}`).join(',');
    },
    createTopic(name, partitions = 1, replicationFactor = 1, configs = {}) {
      return createTopics([{ name, partitions, replicationFactor, configs }]);
    },
    createTopics,
    waitForTopics,
    metadata(topics = null) {
      return fetchMetadata(firstRunningAddress(), topics);
    },
    async stopNode(id, signal = 'SIGKILL') {
      const node = nodeById(id);
      // Controlled shutdown waits for the controller to move leaders; 30 s covers a slow CI.
      await node.process?.kill(signal, 30_000);
    },
    async startNode(id) {
      const node = nodeById(id);
      if (node.process?.running) throw new Error(`Kafka node ${id} is already running`);
      if (stopped) throw new Error('the cluster was stopped');
      await startNodeNow(node);
    },
    stop: stopAll,
  };
}
