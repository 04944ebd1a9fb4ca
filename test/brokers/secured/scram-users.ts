/**
 * SCRAM credentials created the way a Kafka operator creates them: Kafka's own
 * `org.apache.kafka.tools.ConfigCommand` (what bin/kafka-configs.sh runs), from the jars,
 * against a running broker's PLAINTEXT listener (in KRaft the credentials are metadata records,
 * written through the AlterUserScramCredentials API that the tool calls).
 *
 * One JVM per user and mechanism, run in parallel: the tool alters one entity per run, and
 * Kafka refuses two credentials of one user in one AlterUserScramCredentials request
 * ("A user credential cannot be altered twice in the same request"). The tool returns once the
 * controller committed the record; on a multi-node cluster a client that authenticates at once
 * against another broker may still race the metadata propagation (on one combined node the
 * controller and the broker are one process).
 */
import { TOOL_JVM_OPTIONS, ensureKafkaJars, kafkaClasspath } from '../kafka-broker.js';
import { runCommand } from '../tracked-process.js';

/** The SCRAM mechanisms Kafka stores credentials for. */
export type ScramMechanismName = 'SCRAM-SHA-256' | 'SCRAM-SHA-512';

/** Options of {@link createScramUser}. */
export interface ScramUserOptions {
  /** A PLAINTEXT `host:port` of the cluster (ConfigCommand `--bootstrap-server`). */
  readonly bootstrap: string;
  readonly username: string;
  readonly password: string;
  /** Mechanisms to store a credential for; default both. */
  readonly mechanisms?: readonly ScramMechanismName[];
  /** PBKDF2 iterations (Kafka's minimum and default: 4096). */
  readonly iterations?: number;
  /** Deadline for the tool (default 60 s). */
  readonly timeoutMs?: number;
}

/**
 * Stores SCRAM credentials for a user with `ConfigCommand --alter --add-config`.
 * @returns the wall time of the tool runs (one JVM per mechanism, in parallel; under a second each on an idle 2-core machine)
 * @throws when the tool exits non-zero (its stderr quoted; the password appears in the quoted command line only)
 */
export async function createScramUser(options: ScramUserOptions): Promise<{ elapsedMs: number }> {
  const libs = await ensureKafkaJars();
  const mechanisms = options.mechanisms ?? ['SCRAM-SHA-256', 'SCRAM-SHA-512'];
  const iterations = options.iterations ?? 4096;
  if (/[,\]=[]/.test(options.password)) throw new Error('createScramUser: the password must not contain , = [ or ] (ConfigCommand list syntax)');
  const classpath = kafkaClasspath(libs);
  const startMs = performance.now();
  await Promise.all(
    mechanisms.map((mechanism) =>
      runCommand(
        'java',
        [
          ...TOOL_JVM_OPTIONS,
          '-cp',
          classpath,
          'org.apache.kafka.tools.ConfigCommand',
          '--bootstrap-server',
          options.bootstrap,
          '--alter',
          '--add-config',
          `${mechanism}=[iterations=${iterations},password=${options.password}]`,
          '--entity-type',
          'users',
          '--entity-name',
          options.username,
        ],
        { timeoutMs: options.timeoutMs ?? 60_000 },
      ),
    ),
  );
  return { elapsedMs: performance.now() - startMs };
}
