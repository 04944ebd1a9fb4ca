/**
 * One sluice-perf run (no sweep): Sluice on the embedded cluster, then each `--compare`
 * peer on the same workload, in the same process, one after the other; then Kafka's final
 * line (or the `--json` object) and the comparison table.
 */
import type { PerfOptions } from './cli.js';
import { DEFAULT_PEERS, effectiveProducerConfig, effectiveSettings, KNOWN_PEERS, producerInput } from './cli.js';
import type { ProducerConfig } from '@sluice/core';
import { runPerf } from './perf-run.js';
import type { PerfRunHooks, PerfRunResult } from './perf-run.js';
import { ProgressBar } from './progress-bar.js';
import type { PeerResult, SkippedPeer } from './report.js';
import { buildJson, formatCompareTable, formatFinalLine, formatWindowLine, machineInfo, MB, ratePerSec } from './report.js';
import { createSluiceEngine } from './sluice-engine.js';
import { buildWorkload } from './workload.js';
import type { Workload } from './workload.js';
import { KAFKAJS_INSTALL_HINT, loadKafkajs } from './peers/kafkajs-encoder.js';
import { createKafkajsEngine, describeKafkajsPeer } from './peers/kafkajs-peer.js';

/** Runs one engine with Kafka-style window lines and the progress bar (unless `--json`). */
async function runOne(
  o: PerfOptions,
  w: Workload,
  label: string,
  make: Parameters<typeof runPerf>[1],
  out: NodeJS.WritableStream,
): Promise<PerfRunResult> {
  const bar = o.json || o.progress === 'never' ? null : new ProgressBar({ total: w.numRecords, label });
  const hooks: PerfRunHooks = {};
  if (!o.json) {
    hooks.onWindow = (win) => {
      bar?.clear();
      out.write(`${formatWindowLine(win)}\n`);
    };
  }
  if (bar !== null && bar.enabled) hooks.onProgress = (n) => bar.update(n);
  try {
    return await runPerf(w, make, hooks);
  } finally {
    bar?.finish();
  }
}

/** A peer's result against Sluice's. */
function peerResult(name: string, sluice: PerfRunResult, peer: PerfRunResult, description: string): PeerResult {
  const sluiceRate = ratePerSec(sluice.totals.records, sluice.totals.elapsedMs);
  const rate = ratePerSec(peer.totals.records, peer.totals.elapsedMs);
  return {
    name,
    recordsPerSec: rate,
    mbPerSec: ratePerSec(peer.totals.bytes, peer.totals.elapsedMs) / MB,
    ratio: rate > 0 ? sluiceRate / rate : Infinity,
    description,
    latencyMs: peer.totals.latencyMs,
    errors: peer.totals.errors,
  };
}

/** Runs the peers asked for; returns results and skipped ones (with how to get them). */
async function runPeers(o: PerfOptions, w: Workload, config: ProducerConfig, sluice: PerfRunResult): Promise<{ results: PeerResult[]; skipped: SkippedPeer[] }> {
  const names = o.compare!.length > 0 ? o.compare! : [...DEFAULT_PEERS.embedded];
  const results: PeerResult[] = [];
  const skipped: SkippedPeer[] = [];
  for (const name of names) {
    const known = KNOWN_PEERS[name];
    if (!known.targets.includes('embedded')) {
      skipped.push({ name, reason: `${name} runs against a real broker only (${known.about}); it joins when Sluice's wire transport lands (--bootstrap-server)` });
      continue;
    }
    if (name === 'kafkajs') {
      const k = loadKafkajs();
      if (k === null) {
        skipped.push({ name, reason: `kafkajs is not installed; install it with \`${KAFKAJS_INSTALL_HINT}\` and run again` });
        continue;
      }
      const description = describeKafkajsPeer(k, config);
      if (!o.json) process.stdout.write(`\n--- peer ${name} (${description}) ---\n`);
      const r = await runOne(o, w, name, (tracker) => createKafkajsEngine(k, w, config, tracker), process.stdout);
      if (!o.json) process.stdout.write(`${formatFinalLine(r.totals)}\n`);
      results.push(peerResult(name, sluice, r, description));
    }
  }
  return { results, skipped };
}

/** Runs the command; @returns the exit code (1 when records failed). */
export async function runPerfCommand(o: PerfOptions): Promise<number> {
  const config = effectiveProducerConfig(o);
  const w = buildWorkload(o);
  const input = producerInput(o);
  const sluice = await runOne(o, w, 'sluice', (tracker) => createSluiceEngine(w, config, input, tracker), process.stdout);
  let peers: { results: PeerResult[]; skipped: SkippedPeer[] } | undefined;
  if (!o.json) {
    process.stdout.write(`${formatFinalLine(sluice.totals)}\n`);
    if (sluice.firstError !== null) process.stderr.write(`sluice-perf: first error: ${sluice.firstError.message}\n`);
  }
  if (o.compare !== null) {
    peers = await runPeers(o, w, config, sluice);
    if (!o.json) {
      for (const s of peers.skipped) process.stdout.write(`peer ${s.name} skipped: ${s.reason}\n`);
      if (peers.results.length > 0) {
        process.stdout.write(
          `\n${formatCompareTable(
            {
              recordsPerSec: ratePerSec(sluice.totals.records, sluice.totals.elapsedMs),
              mbPerSec: ratePerSec(sluice.totals.bytes, sluice.totals.elapsedMs) / MB,
              latencyMs: sluice.totals.latencyMs,
            },
            peers.results,
          )}\n`,
        );
      }
    }
  }
  if (o.printMetrics && !o.json) process.stdout.write(`\nproducer metrics:\n${JSON.stringify(sluice.metrics ?? {}, null, 2)}\n`);
  if (o.json) {
    const json = buildJson(sluice.totals, 'embedded', effectiveSettings(o, config), machineInfo(), peers);
    const out: Record<string, unknown> = { ...json };
    if (o.printMetrics) out.metrics = sluice.metrics;
    process.stdout.write(`${JSON.stringify(out)}\n`);
  }
  const peerErrors = peers?.results.some((p) => (p.errors ?? 0) > 0) ?? false;
  return sluice.totals.errors > 0 || peerErrors ? 1 : 0;
}
