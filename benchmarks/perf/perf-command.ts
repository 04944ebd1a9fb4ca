/**
 * One sluice-perf run (no sweep): Sluice on the target — the embedded cluster, or a broker
 * over the wire transport — then each `--compare` peer on the same workload, one after the
 * other; then Kafka's final lines (or the `--json` object) and the comparison table.
 *
 * Peers: on the embedded cluster, kafkajs's encoder in-process (peers/kafkajs-peer.ts);
 * against a broker, Kafka's Java tool and kcat as child processes (java-peer.ts,
 * kcat-peer.ts), kafkajs and @platformatic/kafka as in-process clients over their own
 * network code (kafkajs-wire-peer.ts, platformatic-peer.ts).
 *
 * `--threads N` (N ≥ 2): Sluice's run is N appender threads sharing one producer
 * (threaded-run.ts), followed by a "threads:" line; its one peer is `per-thread`, the same
 * threads each with a producer of its own, run after it the way the other peers are.
 *
 * Ctrl-C: the first stops sending, clears the progress bar, waits up to 3 s for what was sent
 * (then gives up on it), prints the summary of what was acknowledged and exits with 130; a
 * child peer is killed. A second Ctrl-C (more than a second later: the bin forwards the
 * terminal's signal once more) exits at once.
 */
import type { PerfOptions } from './cli.js';
import { DEFAULT_PEERS, effectiveProducerConfig, effectiveSettings, KNOWN_PEERS, producerInput, targetName, THREADS_PEER, UsageError } from './cli.js';
import type { ProducerConfig } from '@sluice/core';
import { ensureBrokerTopic } from './broker-topic.js';
import { runPerf } from './perf-run.js';
import type { PerfRunHooks, PerfRunResult } from './perf-run.js';
import { ProgressBar } from './progress-bar.js';
import { findMissingCommands } from './tracked-process.js';
import type { PeerResult, RunTotals, SkippedPeer, ThreadsInfo } from './report.js';
import {
  buildJson,
  formatCompareTable,
  formatSummaryLines,
  formatThreadsLine,
  formatWarmupLine,
  formatWindowLine,
  machineInfo,
  MB,
  ratePerSec,
  STEADY_STATE_LINE,
} from './report.js';
import type { ThreadModel } from './thread-protocol.js';
import { runThreaded, threadsInfo } from './threaded-run.js';
import type { ThreadedRunResult } from './threaded-run.js';
import { buildWorkload } from './workload.js';
import type { Workload } from './workload.js';
import type { ExternalPeerRun } from './peers/external-process.js';
import { KAFKAJS_INSTALL_HINT, loadKafkajs } from './peers/kafkajs-encoder.js';
import { createKafkajsEngine, describeKafkajsPeer } from './peers/kafkajs-peer.js';
import { createKafkajsWireEngine, describeKafkajsWirePeer } from './peers/kafkajs-wire-peer.js';
import { createPlatformaticEngine, describePlatformaticPeer, PLATFORMATIC_INSTALL_HINT, platformaticCodecUnavailable, platformaticVersion } from './peers/platformatic-peer.js';

/** Exit code of an interrupted run (128 + SIGINT), as shells report Ctrl-C. */
export const INTERRUPTED_EXIT_CODE = 130;

/** The Ctrl-C state of one command. */
class Interrupt {
  stopped = false;
  #firstMs = 0;
  #onStop: (() => void)[] = [];
  readonly #handler = (): void => {
    const now = performance.now();
    if (!this.stopped) {
      this.stopped = true;
      this.#firstMs = now;
      for (const f of this.#onStop) f();
      return;
    }
    // The terminal's SIGINT reaches the child and the bin, which forwards it: one Ctrl-C can
    // arrive twice within milliseconds. A later one means "now".
    if (now - this.#firstMs > 1000) process.exit(INTERRUPTED_EXIT_CODE);
  };

  install(): void {
    process.on('SIGINT', this.#handler);
  }

  uninstall(): void {
    process.off('SIGINT', this.#handler);
  }

  onStop(f: () => void): void {
    this.#onStop.push(f);
  }
}

/**
 * Runs one producer with Kafka-style window lines and the progress bar (unless `--json`).
 * @param run - the measured run, given the hooks: {@link runPerf} with an engine, or a threaded run
 */
async function runOne<R extends PerfRunResult>(
  o: PerfOptions,
  w: Workload,
  label: string,
  run: (hooks: PerfRunHooks) => Promise<R>,
  out: NodeJS.WritableStream,
  interrupt: Interrupt,
): Promise<R> {
  const bar = o.json || o.progress === 'never' ? null : new ProgressBar({ total: w.numRecords, label });
  const hooks: PerfRunHooks = { shouldStop: () => interrupt.stopped };
  interrupt.onStop(() => bar?.clear());
  if (!o.json) {
    hooks.onWindow = (win) => {
      bar?.clear();
      out.write(`${formatWindowLine(win)}\n`);
    };
    if (w.warmupRecords > 0) {
      hooks.onSteadyState = () => {
        bar?.clear();
        out.write(`${STEADY_STATE_LINE}\n`);
      };
    }
  }
  if (bar !== null && bar.enabled) hooks.onProgress = (n) => bar.update(n);
  try {
    return await run(hooks);
  } finally {
    bar?.finish();
  }
}

/** The run of `--threads N` in `model`, with the command line's producer settings. */
function runThreadedModel(o: PerfOptions, w: Workload, config: ProducerConfig, model: ThreadModel, hooks: PerfRunHooks): Promise<ThreadedRunResult> {
  return runThreaded({ model, threads: o.threads, workload: w, config, input: producerInput(o) }, hooks);
}

/** What the `per-thread` peer is, in words. */
function describePerThreadPeer(o: PerfOptions): string {
  return `${o.threads} Sluice producers, one per thread, over one buffer pool`;
}

function measuredRate(t: RunTotals): number {
  return ratePerSec(t.records, t.elapsedMs);
}

/** A peer's in-process result against Sluice's. */
function peerResult(name: string, sluice: PerfRunResult, peer: PerfRunResult, description: string): PeerResult {
  const rate = measuredRate(peer.totals);
  return {
    name,
    recordsPerSec: rate,
    mbPerSec: ratePerSec(peer.totals.bytes, peer.totals.elapsedMs) / MB,
    ratio: rate > 0 ? measuredRate(sluice.totals) / rate : Infinity,
    description,
    latencyMs: peer.totals.latencyMs,
    errors: peer.totals.errors,
  };
}

/** An external peer's result against Sluice's. */
function externalResult(name: string, sluice: PerfRunResult, run: ExternalPeerRun): PeerResult {
  return {
    name,
    recordsPerSec: run.recordsPerSec,
    mbPerSec: run.mbPerSec,
    ratio: run.recordsPerSec > 0 ? measuredRate(sluice.totals) / run.recordsPerSec : Infinity,
    description: run.description,
    ...(run.latencyMs === null ? {} : { latencyMs: run.latencyMs }),
    errors: run.errors,
  };
}

function commandMissing(name: string): boolean {
  return findMissingCommands([name]).length > 0;
}

/** Runs the peers asked for; returns results and skipped ones (with why, and how to get them). */
async function runPeers(
  o: PerfOptions,
  w: Workload,
  config: ProducerConfig,
  sluice: PerfRunResult,
  interrupt: Interrupt,
): Promise<{ results: PeerResult[]; skipped: SkippedPeer[]; failed: boolean }> {
  const target = o.bootstrapServer === null ? 'embedded' : 'broker';
  const names = o.compare!.length > 0 ? o.compare! : o.threads > 1 ? [THREADS_PEER] : [...DEFAULT_PEERS[target]];
  const results: PeerResult[] = [];
  const skipped: SkippedPeer[] = [];
  let failed = false;
  const bootstrap = o.bootstrapServer;
  const say = (line: string): void => {
    if (!o.json) process.stdout.write(line);
  };
  for (const name of names) {
    if (interrupt.stopped) break;
    const known = KNOWN_PEERS[name];
    if (name === THREADS_PEER && o.threads < 2) {
      skipped.push({ name, reason: `${name} is N producers, one per thread: give --threads N (N >= 2)` });
      continue;
    }
    if (!known.targets.includes(target)) {
      skipped.push({ name, reason: `${name} runs against a real broker only (${known.about}); give --bootstrap-server` });
      continue;
    }
    const missing = await peerMissing(name);
    if (missing !== null) {
      skipped.push({ name, reason: missing });
      continue;
    }
    try {
      if (name === THREADS_PEER) {
        const description = describePerThreadPeer(o);
        say(`\n--- peer ${name} (${description}) ---\n`);
        const r = await runOne(o, w, name, (hooks) => runThreadedModel(o, w, config, 'per-thread', hooks), process.stdout, interrupt);
        const threads = threadsInfo(r);
        if (!o.json) for (const line of [...formatSummaryLines(r.totals, w.warmupRecords > 0 ? r.wholeRun : null), formatThreadsLine(threads)]) say(`${line}\n`);
        results.push({ ...peerResult(name, sluice, r, description), threads });
        reportFailures(name, r);
        if (r.totals.errors > 0) failed = true;
      } else if (name === 'kafkajs') {
        const k = loadKafkajs()!;
        const description = bootstrap === null ? describeKafkajsPeer(k, config) : describeKafkajsWirePeer(k, config);
        say(`\n--- peer ${name} (${description}) ---\n`);
        const r = await runOne(
          o,
          w,
          name,
          (hooks) =>
            runPerf(w, (tracker) => (bootstrap === null ? createKafkajsEngine(k, w, config, tracker) : createKafkajsWireEngine(k, w, config, bootstrap, tracker)), hooks),
          process.stdout,
          interrupt,
        );
        if (!o.json) for (const line of formatSummaryLines(r.totals, w.warmupRecords > 0 ? r.wholeRun : null)) say(`${line}\n`);
        results.push(peerResult(name, sluice, r, description));
        reportFailures(name, r);
        if (r.totals.errors > 0) failed = true;
      } else if (name === 'platformatic') {
        const version = platformaticVersion()!;
        const unavailable = platformaticCodecUnavailable(config.compressionType);
        if (unavailable !== null) {
          skipped.push({ name, reason: unavailable });
          continue;
        }
        const description = describePlatformaticPeer(version, config);
        say(`\n--- peer ${name} (${description}) ---\n`);
        const r = await runOne(o, w, name, (hooks) => runPerf(w, (tracker) => createPlatformaticEngine(w, config, bootstrap!, tracker), hooks), process.stdout, interrupt);
        if (!o.json) for (const line of formatSummaryLines(r.totals, w.warmupRecords > 0 ? r.wholeRun : null)) say(`${line}\n`);
        results.push(peerResult(name, sluice, r, description));
        reportFailures(name, r);
        if (r.totals.errors > 0) failed = true;
      } else if (name === 'java') {
        const { runJavaPeer } = await import('./peers/java-peer.js');
        say(`\n--- peer ${name} (Kafka's ProducerPerformance) ---\n`);
        const run = await runJavaPeer(o, w, bootstrap!, () => interrupt.stopped);
        say(`${run.records} records sent, ${run.recordsPerSec.toFixed(6)} records/sec (${run.mbPerSec.toFixed(2)} MB/sec) [${run.description}]\n`);
        results.push(externalResult(name, sluice, run));
      } else if (name === 'librdkafka') {
        say(`\n--- peer ${name} (kcat -P -l) ---\n`);
        const { runKcatPeer } = await import('./peers/kcat-peer.js');
        const run = await runKcatPeer(w, config, new Set(Object.keys(o.producerProps)), bootstrap!, () => interrupt.stopped);
        say(`${run.records} records sent, ${run.recordsPerSec.toFixed(6)} records/sec (${run.mbPerSec.toFixed(2)} MB/sec) [${run.description}]\n`);
        results.push(externalResult(name, sluice, run));
      }
    } catch (err) {
      if (interrupt.stopped) break;
      failed = true;
      skipped.push({ name, reason: `failed: ${(err as Error).message.split('\n')[0].slice(0, 500)}` });
    }
  }
  return { results, skipped, failed };
}

/** Prints the failed-record count and the first error (stderr: Kafka's lines stay parseable). */
function reportFailures(name: string, r: PerfRunResult): void {
  if (r.totals.errors > 0 || r.wholeRun.errors > 0) {
    process.stderr.write(`sluice-perf: ${name}: ${r.wholeRun.errors} records failed${r.firstError === null ? '' : `; first error: ${r.firstError.message}`}\n`);
  } else if (r.firstError !== null) {
    process.stderr.write(`sluice-perf: ${name}: first error: ${r.firstError.message}\n`);
  }
}

/** `--engine NAME`: one peer alone, with Sluice's output (lines or `--json`). */
async function runPeerAlone(o: PerfOptions, w: Workload, config: ProducerConfig, interrupt: Interrupt): Promise<number> {
  const bootstrap = o.bootstrapServer;
  const name = o.engine;
  let line: string[];
  let json: Record<string, unknown>;
  let failed = false;
  if (name === 'java' || name === 'librdkafka') {
    const run =
      name === 'java'
        ? await (await import('./peers/java-peer.js')).runJavaPeer(o, w, bootstrap!, () => interrupt.stopped)
        : await (await import('./peers/kcat-peer.js')).runKcatPeer(w, config, new Set(Object.keys(o.producerProps)), bootstrap!, () => interrupt.stopped);
    line = [`${run.records} records sent, ${run.recordsPerSec.toFixed(6)} records/sec (${run.mbPerSec.toFixed(2)} MB/sec) [${run.description}]`];
    json = { records: run.records, recordsPerSec: run.recordsPerSec, mbPerSec: run.mbPerSec, latencyMs: run.latencyMs, errors: run.errors, description: run.description, wallMs: run.wallMs };
  } else {
    let run: (hooks: PerfRunHooks) => Promise<PerfRunResult>;
    let description: string;
    if (name === THREADS_PEER) {
      description = describePerThreadPeer(o);
      run = (hooks) => runThreadedModel(o, w, config, 'per-thread', hooks);
    } else if (name === 'kafkajs') {
      const k = loadKafkajs()!;
      description = bootstrap === null ? describeKafkajsPeer(k, config) : describeKafkajsWirePeer(k, config);
      run = (hooks) =>
        runPerf(w, (tracker) => (bootstrap === null ? createKafkajsEngine(k, w, config, tracker) : createKafkajsWireEngine(k, w, config, bootstrap, tracker)), hooks);
    } else {
      const version = platformaticVersion()!;
      description = describePlatformaticPeer(version, config);
      run = (hooks) => runPerf(w, (tracker) => createPlatformaticEngine(w, config, bootstrap!, tracker), hooks);
    }
    if (!o.json && o.warmupRecords > 0) process.stdout.write(`${formatWarmupLine(o.warmupRecords)}\n`);
    const r = await runOne(o, w, name, run, process.stdout, interrupt);
    const threads = 'model' in r ? threadsInfo(r as ThreadedRunResult) : null;
    line = formatSummaryLines(r.totals, o.warmupRecords > 0 ? r.wholeRun : null);
    if (threads !== null) line.push(formatThreadsLine(threads));
    reportFailures(name, r);
    failed = r.totals.errors > 0;
    json = {
      records: r.totals.records,
      recordsPerSec: measuredRate(r.totals),
      mbPerSec: ratePerSec(r.totals.bytes, r.totals.elapsedMs) / MB,
      latencyMs: r.totals.latencyMs,
      errors: r.totals.errors,
      description,
      ...(threads === null ? {} : { threads }),
    };
  }
  if (o.json) process.stdout.write(`${JSON.stringify({ tool: 'sluice-perf', engine: name, target: targetName(o), ...json, config: effectiveSettings(o, config), machine: machineInfo() })}\n`);
  else for (const l of line) process.stdout.write(`${l}\n`);
  if (interrupt.stopped) return INTERRUPTED_EXIT_CODE;
  return failed ? 1 : 0;
}

/**
 * Why peer `name` cannot run on this machine — its npm package (an optional peer dependency of
 * @sluice/perf) is not installed, or the program it runs is missing — with how to get it; null
 * when it can.
 */
async function peerMissing(name: string): Promise<string | null> {
  switch (name) {
    case 'kafkajs':
      return loadKafkajs() !== null ? null : `kafkajs is not installed; install it with \`${KAFKAJS_INSTALL_HINT}\` (an optional peer dependency of @sluice/perf)`;
    case 'platformatic':
      return platformaticVersion() !== null
        ? null
        : `@platformatic/kafka is not installed; install it with \`${PLATFORMATIC_INSTALL_HINT}\` (an optional peer dependency of @sluice/perf)`;
    case 'java':
      if (commandMissing('java')) return `java is not on PATH (${KNOWN_PEERS.java.install})`;
      return (await import('./peers/java-peer.js')).javaPeerUnavailable();
    case 'librdkafka':
      return commandMissing('kcat') ? `kcat is not on PATH (${KNOWN_PEERS.librdkafka.install})` : null;
    default:
      return null;
  }
}

/**
 * Fails before anything runs when a peer named on the command line (`--compare kafkajs`,
 * `--engine platformatic`) cannot run here. Peers `--compare` picks by itself (no names
 * given) are skipped with the same reason instead, and so are named peers for another target.
 * @throws UsageError naming the option, what is missing and how to install it
 */
async function checkNamedPeers(o: PerfOptions): Promise<void> {
  const target = o.bootstrapServer === null ? 'embedded' : 'broker';
  const named = o.engine !== 'sluice' ? [o.engine] : (o.compare ?? []).filter((n) => KNOWN_PEERS[n].targets.includes(target));
  for (const name of named) {
    const missing = await peerMissing(name);
    if (missing !== null) throw new UsageError(`${o.engine !== 'sluice' ? '--engine' : '--compare'} ${name}: ${missing}`);
  }
}

/** Runs the command; @returns the exit code (1 when records failed, 130 when interrupted). */
export async function runPerfCommand(o: PerfOptions): Promise<number> {
  await checkNamedPeers(o);
  const config = effectiveProducerConfig(o);
  if (o.bootstrapServer !== null) {
    const topic = await ensureBrokerTopic(config, o.bootstrapServer, o.topic, o.partitions, (note) => process.stderr.write(`sluice-perf: ${note}\n`));
    o.partitions = topic.partitions;
  }
  const w = buildWorkload(o);
  const input = producerInput(o);
  const interrupt = new Interrupt();
  interrupt.install();
  interrupt.onStop(() => process.stderr.write('\nsluice-perf: interrupted: sending stopped; the summary below covers what was acknowledged\n'));
  try {
    if (o.engine !== 'sluice') return await runPeerAlone(o, w, config, interrupt);
    if (!o.json && o.warmupRecords > 0) process.stdout.write(`${formatWarmupLine(o.warmupRecords)}\n`);
    let sluice: PerfRunResult;
    let threads: ThreadsInfo | null = null;
    if (o.threads > 1) {
      const r = await runOne(o, w, 'sluice', (hooks) => runThreadedModel(o, w, config, 'shared', hooks), process.stdout, interrupt);
      threads = threadsInfo(r);
      sluice = r;
    } else {
      // Loaded here, not at the top: a peer run (--engine) does not need Sluice's worker package.
      const { createSluiceEngine } = await import('./sluice-engine.js');
      sluice = await runOne(o, w, 'sluice', (hooks) => runPerf(w, (tracker) => createSluiceEngine(w, config, input, tracker), hooks), process.stdout, interrupt);
    }
    const wholeRun = o.warmupRecords > 0 ? sluice.wholeRun : null;
    if (!o.json) {
      for (const line of formatSummaryLines(sluice.totals, wholeRun)) process.stdout.write(`${line}\n`);
      if (threads !== null) process.stdout.write(`${formatThreadsLine(threads)}\n`);
    }
    if (!sluice.interrupted) reportFailures('sluice', sluice);
    let peers: { results: PeerResult[]; skipped: SkippedPeer[]; failed: boolean } | undefined;
    if (o.compare !== null && !interrupt.stopped) {
      peers = await runPeers(o, w, config, sluice, interrupt);
      if (!o.json) {
        for (const s of peers.skipped) process.stdout.write(`peer ${s.name} skipped: ${s.reason}\n`);
        if (peers.results.length > 0) {
          process.stdout.write(
            `\n${formatCompareTable(
              {
                recordsPerSec: measuredRate(sluice.totals),
                mbPerSec: ratePerSec(sluice.totals.bytes, sluice.totals.elapsedMs) / MB,
                latencyMs: sluice.totals.latencyMs,
              },
              peers.results,
              threads === null ? 'sluice' : `sluice (${threads.threads} threads, shared)`,
            )}\n`,
          );
        }
      }
    }
    if (o.printMetrics && !o.json) process.stdout.write(`\nproducer metrics:\n${JSON.stringify(sluice.metrics ?? {}, null, 2)}\n`);
    if (o.json) {
      const json = buildJson(sluice.totals, targetName(o), effectiveSettings(o, config), machineInfo(), peers, wholeRun);
      const out: Record<string, unknown> = { ...json };
      if (threads !== null) out.threads = threads;
      if (interrupt.stopped) out.interrupted = true;
      if (o.printMetrics) out.metrics = sluice.metrics;
      process.stdout.write(`${JSON.stringify(out)}\n`);
    }
    if (interrupt.stopped) return INTERRUPTED_EXIT_CODE;
    const peerErrors = peers?.failed ?? false;
    return sluice.totals.errors > 0 || peerErrors ? 1 : 0;
  } finally {
    interrupt.uninstall();
  }
}

