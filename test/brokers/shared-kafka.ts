/**
 * One single-node Kafka per mocha run, shared by every integration test file: the first
 * `sharedKafka()` starts it (about 3 s on the 2-core CI machine), later calls get the same
 * cluster, and a root-level `after` hook registered when this module is first imported stops it.
 * Should mocha never reach that hook, the JVM is still killed at process exit
 * (tracked-process.ts).
 *
 * Tests must not stop or restart its node and should use their own topic names (the broker
 * outlives each file); a test that needs failover starts its own cluster with
 * `startKafkaCluster({ nodes: 3 })`.
 *
 * Usage in test/integration/*.test.ts:
 *
 *   let kafka: KafkaCluster;
 *   before(async function () { this.timeout(120_000); kafka = await sharedKafka(); });
 */
import { startKafkaCluster, type KafkaCluster } from './kafka-broker.js';

let shared: Promise<KafkaCluster> | null = null;

/**
 * The run's shared single-node cluster, started on first use.
 * @throws the start-up error (with the broker's log tail) to every caller when it failed
 */
export function sharedKafka(): Promise<KafkaCluster> {
  shared ??= startKafkaCluster({ nodes: 1 });
  return shared;
}

/** Stops the shared cluster if one was started (the root `after` hook calls this). */
export async function stopSharedKafka(): Promise<void> {
  const current = shared;
  shared = null;
  if (current === null) return;
  try {
    await (await current).stop();
  } catch {
    // Start-up failed; that error was already reported to the tests that asked for it.
  }
}

// Mocha's BDD globals exist only inside a mocha run; at import time of a test file this hook
// lands on the root suite, so it runs once, after every file.
if (typeof after === 'function') {
  after(async function stopSharedKafkaAfterAllTests() {
    this.timeout(30_000);
    await stopSharedKafka();
  });
}
