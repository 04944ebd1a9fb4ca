import { expect } from 'chai';
import {
  buildJson,
  formatCompareTable,
  formatFinalLine,
  formatSweepTable,
  formatTable,
  formatThreadsLine,
  formatWindowLine,
  machineInfo,
} from '../../../benchmarks/perf/report.js';
import type { RunTotals } from '../../../benchmarks/perf/report.js';
import { ProgressBar } from '../../../benchmarks/perf/progress-bar.js';
import { arrangeBars, niceScale, renderSweepSvg, shortNumber } from '../../../benchmarks/perf/plot.js';

const totals: RunTotals = {
  records: 5_000_000,
  errors: 0,
  bytes: 500_000_000,
  elapsedMs: 1_600,
  latencyMs: { avg: 3.4567, max: 80.25, p50: 2.5, p95: 9.125, p99: 17.0, p999: 55.5 },
};

describe('sluice-perf report', () => {
  describe('formatWindowLine()', () => {
    it('prints Kafka ProducerPerformance’s window line', () => {
      const line = formatWindowLine({ records: 1_000_000, bytes: 100 * 1_000_000, elapsedMs: 5000, latencySumMs: 2_500_000, latencyMaxMs: 12.34 });
      expect(line).to.equal('1000000 records sent, 200000.0 records/sec (19.07 MB/sec), 2.5 ms avg latency, 12.3 ms max latency.');
    });

    it('prints zeros for an empty window', () => {
      expect(formatWindowLine({ records: 0, bytes: 0, elapsedMs: 0, latencySumMs: 0, latencyMaxMs: 0 })).to.equal(
        '0 records sent, 0.0 records/sec (0.00 MB/sec), 0.0 ms avg latency, 0.0 ms max latency.',
      );
    });
  });

  describe('formatFinalLine()', () => {
    it('prints Kafka’s final line with whole-millisecond percentiles, as Kafka does', () => {
      expect(formatFinalLine(totals)).to.equal(
        '5000000 records sent, 3125000.000000 records/sec (298.02 MB/sec), 3.46 ms avg latency, 80.25 ms max latency, ' +
          '3 ms 50th, 9 ms 95th, 17 ms 99th, 56 ms 99.9th.',
      );
    });

    it('prints Kafka’s steady-state line', () => {
      expect(formatFinalLine(totals, true)).to.match(/^5000000 steady state records sent, 3125000\.000000 records\/sec/);
    });

    it('keeps failures out of the line (scripts anchor on "99.9th.")', () => {
      expect(formatFinalLine({ ...totals, errors: 12 })).to.match(/ ms 99\.9th\.$/);
    });
  });

  describe('formatThreadsLine()', () => {
    it('says how the threads produced and what draining cost the owner thread', () => {
      expect(
        formatThreadsLine({
          model: 'shared',
          threads: 4,
          latencySampleEvery: 16,
          latencySamples: 25000,
          owner: { coreShare: 0.4123, usPerBatch: 12.345, batches: 1500, brokerMs: 210.4 },
        }),
      ).to.equal(
        'threads: 4 appender threads sharing one producer; owner thread drain/send: 41.2% of a core, 12.3 us per batch (1500 batches, embedded broker half excluded: 210 ms); latency sampled: 1 record in 16 (25000 samples).',
      );
      expect(formatThreadsLine({ model: 'shared', threads: 2, latencySampleEvery: 16, latencySamples: 10, owner: { coreShare: 0.1, usPerBatch: 5, batches: 3, brokerMs: 0 } })).to.equal(
        'threads: 2 appender threads sharing one producer; owner thread drain/send: 10.0% of a core, 5.0 us per batch (3 batches); latency sampled: 1 record in 16 (10 samples).',
      );
      expect(formatThreadsLine({ model: 'per-thread', threads: 2, latencySampleEvery: 16, latencySamples: 10, owner: null })).to.equal(
        'threads: 2 producers, one per thread, over one buffer pool; latency sampled: 1 record in 16 (10 samples).',
      );
    });
  });

  describe('buildJson()', () => {
    it('has the figures scripts need, every setting, the machine and the peers with ratios', () => {
      const j = buildJson(totals, 'embedded', { numRecords: 5_000_000, producer: { 'linger.ms': 5 } }, machineInfo(), {
        results: [{ name: 'kafkajs', recordsPerSec: 125_000, mbPerSec: 11.92, ratio: 25 }],
        skipped: [{ name: 'node-rdkafka', reason: 'real broker only' }],
      });
      expect(j).to.include({ tool: 'sluice-perf', target: 'embedded', records: 5_000_000, recordsPerSec: 3_125_000, errors: 0 });
      expect(j.mbPerSec).to.be.closeTo(298.023, 0.001);
      expect(j.latencyMs).to.deep.equal({ avg: 3.4567, max: 80.25, p50: 2.5, p95: 9.125, p99: 17, p999: 55.5 });
      expect(j.config).to.deep.equal({ numRecords: 5_000_000, producer: { 'linger.ms': 5 } });
      expect(j.machine).to.have.keys(['cpuModel', 'logicalCpus', 'totalMemoryBytes', 'os', 'arch', 'node', 'v8', 'loadAverage1m']);
      expect(j.peers).to.deep.equal([{ name: 'kafkajs', recordsPerSec: 125_000, mbPerSec: 11.92, ratio: 25 }]);
      expect(j.skippedPeers).to.have.length(1);
      // One line of JSON.
      expect(JSON.stringify(j)).not.to.contain('\n');
    });

    it('has no peers key without --compare', () => {
      expect(buildJson(totals, 'embedded', {}, machineInfo())).not.to.have.property('peers');
    });
  });

  describe('tables', () => {
    it('formats a Markdown table with numbers right-aligned', () => {
      const t = formatTable([
        ['name', 'records/s'],
        ['a', 1234567],
        ['bb', 12.5],
      ]);
      expect(t.split('\n')).to.deep.equal(['| name | records/s |', '|------|----------:|', '| a    | 1,234,567 |', '| bb   |     12.50 |']);
    });

    it('prints Sluice and each peer with Sluice’s ratio', () => {
      const t = formatCompareTable({ recordsPerSec: 3_000_000, mbPerSec: 286.1, latencyMs: totals.latencyMs }, [
        { name: 'kafkajs', recordsPerSec: 150_000, mbPerSec: 14.3, ratio: 20, latencyMs: totals.latencyMs },
      ]);
      expect(t).to.contain('| sluice   | 3,000,000 |');
      expect(t).to.match(/\| kafkajs +\| +150,000 \|.*\| 20\.00x +\|/);
    });

    it('names Sluice’s row as given (a --threads run: which model)', () => {
      const t = formatCompareTable({ recordsPerSec: 900_000, mbPerSec: 85.8, latencyMs: totals.latencyMs }, [
        { name: 'per-thread', recordsPerSec: 600_000, mbPerSec: 57.2, ratio: 1.5, latencyMs: totals.latencyMs },
      ], 'sluice (2 threads, shared)');
      expect(t).to.match(/\| sluice \(2 threads, shared\) +\| +900,000 \|/);
      expect(t).to.match(/\| per-thread +\| +600,000 \|.*\| 1\.50x +\|/);
    });

    it('prints one sweep row per combination, with peer ratios and failures', () => {
      const t = formatSweepTable(
        ['workers', 'compression.type'],
        [
          { settings: { workers: '0', 'compression.type': 'none' }, recordsPerSec: 3e6, mbPerSec: 286, latencyMs: totals.latencyMs, errors: 0, peers: [{ name: 'kafkajs', recordsPerSec: 1.5e5, mbPerSec: 14, ratio: 20 }] },
          {
            settings: { workers: '1', 'compression.type': 'none' },
            recordsPerSec: NaN,
            mbPerSec: NaN,
            latencyMs: { avg: NaN, max: NaN, p50: NaN, p95: NaN, p99: NaN, p999: NaN },
            errors: NaN,
            failure: 'exit 1: boom',
          },
        ],
      );
      const lines = t.split('\n');
      expect(lines[0].split('|').map((c) => c.trim()).filter((c) => c !== '')).to.deep.equal([
        'workers',
        'compression.type',
        'records/s',
        'MB/s',
        'avg ms',
        'p99 ms',
        'errors',
        'kafkajs records/s',
        'vs kafkajs',
      ]);
      expect(lines[2]).to.contain('3,000,000').and.contain('20.00x');
      expect(lines[3]).to.contain('exit 1: boom');
    });
  });

  describe('ProgressBar', () => {
    it('draws nothing when the stream is not a terminal', () => {
      const writes: string[] = [];
      const bar = new ProgressBar({ total: 100, stream: { isTTY: false, write: (s: string) => writes.push(s) } });
      bar.update(50);
      bar.finish();
      expect(bar.enabled).to.equal(false);
      expect(writes).to.deep.equal([]);
    });

    it('puts the label before the bar', () => {
      const bar = new ProgressBar({ total: 10, label: 'kafkajs', stream: { isTTY: false, write: () => true } });
      expect(bar.render(5, 1000, 100)).to.match(/^kafkajs \[#+\.+\]  50%  5\/10  5 rec\/s  ETA 1\.0s$/);
    });

    it('draws in place on a terminal and erases itself', () => {
      const writes: string[] = [];
      let now = 0;
      const bar = new ProgressBar({ total: 1000, stream: { isTTY: true, columns: 120, write: (s: string) => writes.push(s) }, nowMs: () => now });
      now = 1000;
      bar.update(500);
      expect(writes[0]).to.match(/^\r\[#{20}\.{20}\]  50%  500\/1,000  500 rec\/s  ETA 1\.0s$/);
      now = 1050;
      bar.update(600); // within 100 ms: not redrawn
      expect(writes).to.have.length(1);
      bar.finish();
      expect(writes[1]).to.match(/^\r +\r$/);
    });
  });

  describe('plot', () => {
    const rows = [
      { settings: { workers: '0', 'compression.type': 'none' }, recordsPerSec: 3.2e6, mbPerSec: 300, latencyMs: totals.latencyMs, errors: 0 },
      { settings: { workers: '0', 'compression.type': 'lz4' }, recordsPerSec: 1.1e6, mbPerSec: 100, latencyMs: totals.latencyMs, errors: 0 },
      { settings: { workers: '1', 'compression.type': 'none' }, recordsPerSec: 3.1e6, mbPerSec: 290, latencyMs: totals.latencyMs, errors: 0 },
      { settings: { workers: '1', 'compression.type': 'lz4' }, recordsPerSec: 1.6e6, mbPerSec: 150, latencyMs: totals.latencyMs, errors: 0 },
    ];

    it('groups bars by the other axes and colours them by the first', () => {
      const { groups, series } = arrangeBars(['workers', 'compression.type'], rows);
      expect(series.map((s) => s.name)).to.deep.equal(['workers=0', 'workers=1']);
      expect(groups.map((g) => g.label)).to.deep.equal(['none', 'lz4']);
      expect(groups[1].bars.map((b) => b.value)).to.deep.equal([1.1e6, 1.6e6]);
    });

    it('renders an SVG with axes, labels and a legend', () => {
      const svg = renderSweepSvg(['workers', 'compression.type'], rows, { title: 'sweep <test>' });
      expect(svg.startsWith('<svg')).to.equal(true);
      expect(svg).to.contain('sweep &lt;test&gt;');
      expect(svg).to.contain('records/s');
      expect(svg).to.contain('workers=1');
      expect(svg).to.contain('3.20M');
      expect((svg.match(/<rect /g) ?? []).length).to.equal(1 + 4 + 2); // background, bars, legend swatches
    });

    it('picks readable scales and short numbers', () => {
      expect(niceScale(3.3e6)).to.deep.equal({ max: 4e6, step: 1e6 });
      expect(shortNumber(3_412_877)).to.equal('3.41M');
      expect(shortNumber(512_000)).to.equal('512k');
    });
  });
});
