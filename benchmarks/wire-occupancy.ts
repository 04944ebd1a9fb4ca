/**
 * Where Sluice's time goes against a broker: the producer over its wire transport, with the
 * network wrapped to record how many produce requests are in flight over time, their round
 * trips and sizes, beside the event loop's utilization and the main thread's CPU. A benchmark
 * diagnostic: it answers "is the producer waiting for the broker, or the broker for the
 * producer?" without touching core.
 *
 *   node --conditions=source --import tsx benchmarks/wire-occupancy.ts --bootstrap-server H:P \
 *     [--topic occupancy] [--partitions 6] [--records 1500000] [--warmup 500000] \
 *     [--producer-props k=v ...] [--json]
 *
 * Prints, for the measured records: records/s; produce requests sent, batches per request,
 * average requests in flight and the share of time with k in flight (k = 0..5+); average
 * request round trip; event-loop utilization (share of wall time the main thread ran
 * JavaScript or native callbacks rather than waiting in poll); process CPU per record.
 */
import { performance } from 'node:perf_hooks';
import { Producer, resolveConfig } from '@sluice/core';
import type { NetworkClient, ProduceRequest } from '@sluice/core';
import { systemScheduler } from '../packages/core/src/clock.js';
import { createNetworkClient } from '../packages/core/src/network/create-network-client.js';
import { ensureBrokerTopic } from './perf/broker-topic.js';
import { jsonLikeValues } from './perf/json-like-values.js';
import { mulberry32 } from './perf/workload.js';

const argv = process.argv.slice(2);
function arg(name: string, def: string): string {
  const i = argv.indexOf(name);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : def;
}
const bootstrap = arg('--bootstrap-server', '');
if (bootstrap === '') throw new Error('--bootstrap-server host:port is required');
const topic = arg('--topic', 'occupancy');
const partitions = Number(arg('--partitions', '6'));
const records = Number(arg('--records', '1500000'));
const warmup = Number(arg('--warmup', '500000'));
const props: Record<string, string> = {};
const pi = argv.indexOf('--producer-props');
if (pi >= 0) for (let j = pi + 1; j < argv.length && !argv[j].startsWith('--'); j++) props[argv[j].slice(0, argv[j].indexOf('='))] = argv[j].slice(argv[j].indexOf('=') + 1);

/** Time-weighted in-flight accounting around a NetworkClient's `send`. */
class InFlightMeter {
  inFlight = 0;
  #lastMs = performance.now();
  areaMs = 0;
  readonly timeAtMs = new Float64Array(7);
  sends = 0;
  batches = 0;
  rttSumMs = 0;

  tick(): void {
    const t = performance.now();
    const d = t - this.#lastMs;
    this.areaMs += this.inFlight * d;
    this.timeAtMs[Math.min(6, this.inFlight)] += d;
    this.#lastMs = t;
  }

  reset(): void {
    this.tick();
    this.areaMs = 0;
    this.timeAtMs.fill(0);
    this.sends = 0;
    this.batches = 0;
    this.rttSumMs = 0;
  }
}

function wrap(inner: NetworkClient, meter: InFlightMeter): NetworkClient {
  return {
    ready: (nodeId, nowMs) => inner.ready(nodeId, nowMs),
    setWakeupListener: (l) => inner.setWakeupListener(l),
    fetchMetadata: (r) => inner.fetchMetadata(r),
    initProducerId: () => inner.initProducerId(),
    close: () => inner.close(),
    send(request: ProduceRequest) {
      meter.tick();
      meter.inFlight++;
      meter.sends++;
      meter.batches += request.partitions.length;
      const start = performance.now();
      return inner.send(request).finally(() => {
        meter.tick();
        meter.inFlight--;
        meter.rttSumMs += performance.now() - start;
      });
    },
  };
}

const input = { ...props, 'bootstrap.servers': bootstrap };
const config = resolveConfig(input);
await ensureBrokerTopic(config, bootstrap, topic, partitions, (n) => process.stderr.write(`${n}\n`));
const meter = new InFlightMeter();
const network = wrap(createNetworkClient(config, systemScheduler), meter);
const producer = new Producer({ config: input, network });
const next = mulberry32(42);
const values = jsonLikeValues(100, 1024, next);
const keys = Array.from({ length: 1024 }, () => {
  const b = Buffer.allocUnsafe(16);
  for (let i = 0; i < 16; i++) b[i] = 65 + (next() % 26);
  return b;
});
const record = { topic, key: keys[0], value: values[0] } as { topic: string; key: Buffer; value: Buffer };

let startMs = 0;
let elu = performance.eventLoopUtilization();
let cpu = process.cpuUsage();
for (let i = 0; i < records; i++) {
  if (i === warmup) {
    await producer.flush();
    meter.reset();
    elu = performance.eventLoopUtilization();
    cpu = process.cpuUsage();
    startMs = performance.now();
  }
  const j = (i * 2654435761) >>> 22;
  record.key = keys[j];
  record.value = values[j];
  const wait = producer.send(record, null);
  if (wait !== undefined) await wait;
  if ((i & 2047) === 2047) await new Promise((resolve) => setImmediate(resolve));
}
await producer.flush();
meter.tick();
const elapsedMs = performance.now() - startMs;
const loop = performance.eventLoopUtilization(elu);
const used = process.cpuUsage(cpu);
const measured = records - warmup;
const result = {
  recordsPerSec: Math.round((measured * 1000) / elapsedMs),
  sends: meter.sends,
  batchesPerRequest: +(meter.batches / meter.sends).toFixed(2),
  avgInFlight: +(meter.areaMs / elapsedMs).toFixed(2),
  timeWithKInFlightPct: Array.from(meter.timeAtMs, (t) => Math.round((100 * t) / elapsedMs)),
  avgRoundTripMs: +(meter.rttSumMs / meter.sends).toFixed(2),
  eventLoopUtilization: +loop.utilization.toFixed(2),
  cpuNsPerRecord: Math.round(((used.user + used.system) * 1000) / measured),
};
await producer.close();
process.stdout.write(
  argv.includes('--json')
    ? `${JSON.stringify(result)}\n`
    : `${result.recordsPerSec.toLocaleString('en-US')} records/s; ${result.sends} requests of ${result.batchesPerRequest} batches; ` +
        `in flight avg ${result.avgInFlight} (time with 0,1,2,3,4,5,6+ in flight: ${result.timeWithKInFlightPct.join('/')} %); ` +
        `round trip ${result.avgRoundTripMs} ms; event loop busy ${Math.round(result.eventLoopUtilization * 100)} %; CPU ${result.cpuNsPerRecord} ns/record\n`,
);
