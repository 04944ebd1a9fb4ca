import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  UsageError,
  effectiveProducerConfig,
  effectiveSettings,
  helpText,
  parseArgs,
  producerInput,
} from '../../../benchmarks/perf/cli.js';
import { CONFIG_SPECS } from '@sluice/core';
import { childArgs, combinations } from '../../../benchmarks/perf/sweep.js';

function usageError(argv: string[]): string {
  try {
    parseArgs(argv);
  } catch (err) {
    expect(err).to.be.instanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error(`expected a UsageError for ${argv.join(' ')}`);
}

describe('sluice-perf cli', () => {
  describe('parseArgs()', () => {
    it('fills Kafka-like defaults: embedded target, null keys, unlimited throughput', () => {
      const o = parseArgs([]);
      expect(o).to.include({ numRecords: 1_000_000, recordSize: 100, keySize: 0, throughput: -1, bootstrapServer: null, json: false, compare: null });
      expect(o.producerProps).to.deep.equal({});
    });

    it('reads the options Kafka’s perf test has, in both --name value and --name=value forms', () => {
      const o = parseArgs([
        '--num-records=5_000_000',
        '--record-size',
        '200',
        '--throughput',
        '100000',
        '--topic',
        'events',
        '--partitions',
        '12',
        '--producer-props',
        'batch.size=65536',
        'linger.ms=10',
        'compression.type=lz4',
        '--workers',
        '2',
        '--key-size',
        '16',
        '--json',
      ]);
      expect(o).to.include({ numRecords: 5_000_000, recordSize: 200, throughput: 100_000, topic: 'events', partitions: 12, workers: 2, keySize: 16, json: true });
      expect(o.producerProps).to.deep.equal({ 'batch.size': '65536', 'linger.ms': '10', 'compression.type': 'lz4' });
      const c = effectiveProducerConfig(o);
      expect(c).to.include({ batchSize: 65536, lingerMs: 10, compressionType: 'lz4', sealWorkers: 2 });
    });

    it('accepts camelCase producer properties too', () => {
      expect(effectiveProducerConfig(parseArgs(['--producer-props', 'lingerMs=7']))).to.include({ lingerMs: 7 });
    });

    it('rejects an unknown producer property, naming it and the accepted ones', () => {
      const msg = usageError(['--producer-props', 'batch.sise=100']);
      expect(msg).to.contain('unknown producer property "batch.sise"');
      expect(msg).to.contain('batch.size');
      expect(msg).to.contain('compression.type');
    });

    it('rejects a malformed producer property', () => {
      expect(usageError(['--producer-props', 'linger.ms'])).to.match(/expected name=value, got "linger.ms"/);
      expect(usageError(['--producer-props', '=5'])).to.match(/expected name=value/);
      expect(usageError(['--producer-props', 'linger.ms=ten'])).to.match(/linger.ms: must be an integer, got "ten"/);
      expect(usageError(['--producer-props', 'compression.type=brotli'])).to.match(/must be one of none, gzip, snappy, lz4, zstd/);
      expect(usageError(['--producer-props'])).to.match(/needs at least one name=value/);
    });

    it('rejects contradictory settings the producer would reject', () => {
      expect(usageError(['--producer-props', 'buffer.memory=1024', 'batch.size=16384'])).to.match(/buffer.memory \(1024\) must be >= batch.size/);
      expect(usageError(['--producer-props', 'acks=1', 'enable.idempotence=true'])).to.match(/enable.idempotence=true conflicts/);
    });

    it('turns idempotence off silently when acks=1 is set without it (KIP-679)', () => {
      const o = parseArgs(['--producer-props', 'acks=1']);
      expect(effectiveProducerConfig(o).enableIdempotence).to.equal(false);
      expect(producerInput(o)).to.deep.equal({ acks: '1' });
    });

    it('lets --workers override seal.workers', () => {
      const o = parseArgs(['--producer-props', 'seal.workers=4', '--workers', '1']);
      expect(producerInput(o)).to.deep.equal({ 'seal.workers': 1 });
      expect(effectiveProducerConfig(o).sealWorkers).to.equal(1);
    });

    it('rejects bad numbers, unknown options and stray arguments', () => {
      expect(usageError(['--num-records', 'lots'])).to.match(/--num-records must be an integer, got "lots"/);
      expect(usageError(['--num-records', '0'])).to.match(/--num-records must be an integer in \[1,/);
      expect(usageError(['--num-records'])).to.match(/--num-records needs a value/);
      expect(usageError(['--throughput', '0'])).to.match(/--throughput must be a positive records\/s cap, or -1/);
      expect(usageError(['--partitions', '-3'])).to.match(/--partitions must be an integer in \[1,/);
      expect(usageError(['--frobnicate'])).to.match(/unknown option --frobnicate/);
      expect(usageError(['batch.size=5'])).to.match(/unexpected argument "batch.size=5" \(producer properties go after --producer-props\)/);
      expect(usageError(['--topic', 'bad topic'])).to.match(/--topic must be 1-249 characters/);
    });

    it('takes either --record-size or --payload-file', () => {
      const dir = mkdtempSync(join(tmpdir(), 'sluice-perf-'));
      const file = join(dir, 'payloads.txt');
      writeFileSync(file, 'a\nbb\nccc\n');
      expect(parseArgs(['--payload-file', file])).to.include({ payloadFile: file, recordSize: null });
      expect(usageError(['--payload-file', file, '--record-size', '10'])).to.match(/exactly one of --record-size, --payload-file or --payload-monotonic/);
    });

    it('reads --producer.config files, with --producer-props winning', () => {
      const dir = mkdtempSync(join(tmpdir(), 'sluice-perf-'));
      const file = join(dir, 'producer.properties');
      writeFileSync(file, '# comment\nlinger.ms=20\nbatch.size : 32768\n\nacks all\n');
      const o = parseArgs(['--producer-props', 'linger.ms=1', '--producer.config', file]);
      expect(o.producerProps).to.deep.equal({ 'linger.ms': '1', 'batch.size': '32768', acks: 'all' });
    });

    it('checks --warmup-records against --num-records', () => {
      expect(usageError(['--num-records', '100', '--warmup-records', '100'])).to.match(/--warmup-records \(100\) must be less than --num-records \(100\)/);
    });

    it('parses --compare with and without names, and rejects unknown peers', () => {
      expect(parseArgs(['--compare']).compare).to.deep.equal([]);
      expect(parseArgs(['--compare', 'kafkajs', '--json']).compare).to.deep.equal(['kafkajs']);
      expect(parseArgs(['--compare', 'kafkajs,java']).compare).to.deep.equal(['kafkajs', 'java']);
      expect(parseArgs(['--compare', 'platformatic-kafka,kcat']).compare).to.deep.equal(['platformatic', 'librdkafka']);
      expect(usageError(['--compare', 'franz'])).to.match(/unknown peer "franz"; known peers: kafkajs/);
    });

    it('parses --sweep axes and checks every value up front', () => {
      const o = parseArgs(['--sweep', 'workers=0,1,2', 'compression.type=none,lz4', '--plot', 'out.svg']);
      expect(o.sweep).to.deep.equal([
        { name: 'workers', values: ['0', '1', '2'] },
        { name: 'compression.type', values: ['none', 'lz4'] },
      ]);
      expect(o.plot).to.equal('out.svg');
      expect(usageError(['--sweep', 'compression.type=none,brotli'])).to.match(/--sweep compression.type: .*must be one of/);
      expect(usageError(['--sweep', 'colour=red'])).to.match(/unknown setting "colour"/);
      expect(usageError(['--sweep', 'workers=1', 'seal.workers=2'])).to.match(/given twice/);
      expect(usageError(['--plot', 'out.png', '--sweep', 'workers=1'])).to.match(/\.svg or \.html/);
      expect(usageError(['--plot', 'out.svg'])).to.match(/--plot draws a sweep/);
    });

    it('takes --threads N: 1 by default, an integer in [1, 63] otherwise, named in the error', () => {
      expect(parseArgs([]).threads).to.equal(1);
      expect(parseArgs(['--threads', '4']).threads).to.equal(4);
      expect(parseArgs(['--threads=63']).threads).to.equal(63);
      expect(usageError(['--threads', '0'])).to.equal('--threads must be an integer in [1, 63], got 0');
      expect(usageError(['--threads', 'x'])).to.equal('--threads must be an integer, got "x"');
      expect(usageError(['--threads', '64'])).to.equal('--threads must be an integer in [1, 63], got 64');
      expect(usageError(['--threads'])).to.equal('--threads needs a value');
      expect(usageError(['--thread', '2'])).to.match(/unknown option --thread; did you mean --threads\?/);
    });

    it('with --threads N, compares with per-thread only, and runs no other peer alone', () => {
      expect(parseArgs(['--threads', '2', '--compare', 'per-thread']).compare).to.deep.equal(['per-thread']);
      expect(parseArgs(['--threads', '2', '--compare']).compare).to.deep.equal([]);
      expect(usageError(['--threads', '2', '--compare', 'kafkajs'])).to.match(/^--threads 2: --compare takes per-thread only .*kafkajs sends from one thread: compare it without --threads$/);
      expect(usageError(['--threads', '2', '--engine', 'kafkajs'])).to.match(/^--threads 2: --engine kafkajs sends from one thread/);
      expect(parseArgs(['--threads', '3', '--engine', 'per-thread']).engine).to.equal('per-thread');
      expect(usageError(['--engine', 'per-thread'])).to.match(/--engine per-thread runs N producers, one per thread: give --threads N/);
    });

    it('with --threads N, seal.workers is 0 unless given (the threads compress their own batches)', () => {
      expect(producerInput(parseArgs(['--threads', '2']))).to.deep.equal({ 'seal.workers': 0 });
      expect(effectiveProducerConfig(parseArgs(['--threads', '2'])).sealWorkers).to.equal(0);
      expect(producerInput(parseArgs(['--threads', '2', '--workers', '2']))).to.deep.equal({ 'seal.workers': 2 });
      expect(producerInput(parseArgs(['--threads', '2', '--producer-props', 'seal.workers=1']))).to.deep.equal({ 'seal.workers': '1' });
      expect(producerInput(parseArgs([])), 'one thread: unchanged').to.deep.equal({});
    });

    it('takes the broker from --bootstrap-server or bootstrap.servers', () => {
      expect(parseArgs(['--bootstrap-server', 'localhost:9092']).bootstrapServer).to.equal('localhost:9092');
      expect(parseArgs(['--producer-props', 'bootstrap.servers=k:9092']).bootstrapServer).to.equal('k:9092');
      expect(parseArgs(['--bootstrap-server', 'a:1', '--producer-props', 'bootstrap.servers=b:2']).bootstrapServer, 'Kafka: the option wins').to.equal('a:1');
      expect(producerInput(parseArgs(['--bootstrap-server', 'a:1']))).to.include({ 'bootstrap.servers': 'a:1' });
    });
  });

  describe('helpText()', () => {
    it('lists every option and every producer property', () => {
      const text = helpText();
      for (const opt of [
        '--num-records',
        '--record-size',
        '--payload-file',
        '--throughput',
        '--topic',
        '--partitions',
        '--producer-props',
        '--workers',
        '--key-size',
        '--bootstrap-server',
        '--json',
        '--compare',
        '--sweep',
        '--plot',
        '--warmup-records',
        '--reporting-interval',
        '--threads',
        'per-thread',
      ]) {
        expect(text).to.contain(opt);
      }
      for (const s of CONFIG_SPECS) expect(text).to.contain(s.kafkaName);
    });
  });

  describe('effectiveSettings()', () => {
    it('reports every producer setting under its Kafka name and the harness settings', () => {
      const o = parseArgs(['--producer-props', 'linger.ms=3']);
      const s = effectiveSettings(o, effectiveProducerConfig(o));
      expect(s).to.include({ target: 'embedded', numRecords: 1_000_000, partitions: 6, threads: 1 });
      const producer = s.producer as Record<string, unknown>;
      expect(Object.keys(producer)).to.have.length(CONFIG_SPECS.length);
      expect(producer['linger.ms']).to.equal(3);
    });
  });

  describe('sweep', () => {
    it('runs every combination, first axis slowest', () => {
      const combos = combinations([
        { name: 'workers', values: ['0', '1'] },
        { name: 'compression.type', values: ['none', 'lz4', 'zstd'] },
      ]);
      expect(combos).to.have.length(6);
      expect(combos[0]).to.deep.equal({ workers: '0', 'compression.type': 'none' });
      expect(combos[5]).to.deep.equal({ workers: '1', 'compression.type': 'zstd' });
    });

    it('builds each child command line from the original one without sweep, plot and json', () => {
      const args = childArgs(
        ['--num-records', '1000', '--sweep', 'workers=0,1', 'linger.ms=1,5', '--plot=x.svg', '--compare', 'kafkajs', '--sweep-repeats', '5'],
        { workers: '1', 'linger.ms': '5' },
      );
      expect(args).to.deep.equal(['--num-records', '1000', '--compare', 'kafkajs', '--workers', '1', '--producer-props', 'linger.ms=5', '--json', '--no-progress']);
      // The child's options parse, and its later --producer-props win.
      const o = parseArgs(args);
      expect(o.workers).to.equal(1);
      expect(o.producerProps['linger.ms']).to.equal('5');
    });

    it('sweeps --threads like the other harness settings', () => {
      const args = childArgs(['--num-records', '1000', '--sweep', 'threads=1,2', 'compression.type=none,lz4'], { threads: '2', 'compression.type': 'lz4' });
      expect(args).to.deep.equal(['--num-records', '1000', '--threads', '2', '--producer-props', 'compression.type=lz4', '--json', '--no-progress']);
      expect(parseArgs(args).threads).to.equal(2);
      expect(usageError(['--sweep', 'threads=1,64'])).to.equal('--sweep threads must be an integer in [1, 63], got 64');
    });
  });
});
