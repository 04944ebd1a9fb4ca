/**
 * `npm run bench`: every micro benchmark, one table per area, then one line of JSON with
 * all results and the machine. Each suite also runs alone:
 * `node --conditions=source --import tsx benchmarks/micro/<path>.bench.ts [--quick]`.
 *
 * Options:
 *   --quick            short runs (smoke checks; numbers are rough)
 *   --json FILE        also write the JSON to FILE
 *   AREA ...           only the areas whose name contains one of these words
 *                      (e.g. `npm run bench -- ready-drain append-seal`)
 *
 * Order: the core issue's table first (append+seal vs kafkajs), then the areas in data-flow
 * order (format → memory → accumulator → sealing).
 */
import { writeFileSync } from 'node:fs';
import type { BenchSuite, SuiteResult } from './micro/bench-kit.js';
import { printResult } from './micro/bench-kit.js';
import { machineInfo } from './perf/report.js';

const SUITES: (() => Promise<{ benchmark: BenchSuite }>)[] = [
  () => import('./micro/accumulator/append-seal-vs-kafkajs.bench.js'),
  () => import('./micro/format/record-writer.bench.js'),
  () => import('./micro/memory/buffer-pool.bench.js'),
  () => import('./micro/accumulator/append.bench.js'),
  () => import('./micro/accumulator/ready-drain.bench.js'),
  () => import('./micro/sealing/seal-batch.bench.js'),
];

async function main(argv: readonly string[]): Promise<number> {
  const quick = argv.includes('--quick');
  const jsonAt = argv.indexOf('--json');
  const jsonFile = jsonAt >= 0 ? argv[jsonAt + 1] : undefined;
  if (jsonAt >= 0 && (jsonFile === undefined || jsonFile.startsWith('--'))) {
    process.stderr.write('bench: --json needs a file name\n');
    return 2;
  }
  const filters = argv.filter((a, i) => !a.startsWith('--') && !(jsonAt >= 0 && i === jsonAt + 1));
  const machine = machineInfo();
  process.stdout.write(
    `# Sluice micro benchmarks${quick ? ' (--quick)' : ''}\n\n${machine.cpuModel} x${machine.logicalCpus}, ${(machine.totalMemoryBytes / 2 ** 30).toFixed(0)} GiB, ` +
      `${machine.os}, Node ${machine.node} (V8 ${machine.v8}); load average ${machine.loadAverage1m} at start\n`,
  );
  const results: SuiteResult[] = [];
  for (const load of SUITES) {
    const { benchmark } = await load();
    if (filters.length > 0 && !filters.some((f) => benchmark.area.includes(f))) continue;
    const started = performance.now();
    const out = [await benchmark.run({ quick })].flat();
    for (const r of out) {
      printResult(r);
      results.push(r);
    }
    process.stdout.write(`(${benchmark.area}: ${((performance.now() - started) / 1000).toFixed(1)} s)\n`);
  }
  const json = JSON.stringify({ tool: 'sluice-bench', quick, machine, results: results.map((r) => ({ area: r.area, title: r.title, rows: r.json, notes: r.notes })) });
  process.stdout.write(`\n${json}\n`);
  if (jsonFile !== undefined) writeFileSync(jsonFile, `${json}\n`);
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
