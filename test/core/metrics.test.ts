import { expect } from 'chai';
import { ManualClock } from '../../packages/core/src/clock.js';
import { BufferPool } from '../../packages/core/src/memory/buffer-pool.js';
import { METRICS_SAMPLE_WINDOW_MS, ProducerMetrics, WindowedStat } from '../../packages/core/src/metrics.js';

describe('metrics', () => {
  describe('WindowedStat', () => {
    it('averages and maxes the observations of the live samples; NaN without any (as Kafka)', () => {
      const s = new WindowedStat(0, 1000, 2);
      expect(s.avg(0)).to.be.NaN;
      expect(s.max(0)).to.be.NaN;
      s.record(10, 0);
      s.record(30, 500);
      s.record(20, 1200);
      expect(s.avg(1200)).to.equal(20);
      expect(s.max(1200)).to.equal(30);
      // At 2100 the first sample (started at 0) is older than 2 windows: forgotten.
      expect(s.avg(2100)).to.equal(20);
      expect(s.max(2100)).to.equal(20);
      expect(s.avg(5000)).to.be.NaN;
    });

    it('gives a rate per second over the elapsed window, at least (samples - 1) windows (Kafka Rate)', () => {
      const s = new WindowedStat(0, 30_000, 2);
      s.record(300, 1000);
      expect(s.ratePerSecond(1000)).to.equal(10); // 300 / 30 s
      s.record(600, 45_000);
      expect(s.ratePerSecond(45_000)).to.equal(20); // 900 / 45 s
    });
  });

  describe('ProducerMetrics', () => {
    it('records queue time, batch sizes, compression rate, records per request, retries and errors under Kafka names', () => {
      const clock = new ManualClock(0);
      const pool = new BufferPool({ totalMemoryBytes: 8192, poolableSizeBytes: 1024, clock });
      const m = new ProducerMetrics(clock);
      let inFlight = 2;
      m.bind({ pool, requestsInFlight: () => inFlight });
      m.recordQueueTime(5, 0);
      m.recordQueueTime(15, 0);
      m.recordRequest([{ sizeBytes: 561, recordsLength: 1000, recordCount: 10 }, { sizeBytes: 161, recordsLength: 100, recordCount: 2 }], 0);
      m.recordRetries(2, 0);
      m.recordErrors(3, 0);
      m.recordSplit(0);
      clock.advance(METRICS_SAMPLE_WINDOW_MS);
      const s = m.snapshot();
      expect(s['record-queue-time-avg']).to.equal(10);
      expect(s['record-queue-time-max']).to.equal(15);
      expect(s['batch-size-avg']).to.equal(361);
      expect(s['batch-size-max']).to.equal(561);
      expect(s['compression-rate-avg']).to.be.closeTo((561 / 1061 + 1) / 2, 1e-9);
      expect(s['records-per-request-avg']).to.equal(12);
      expect(s['record-send-total']).to.equal(12);
      expect(s['record-send-rate']).to.equal(12 / 30);
      expect(s['record-retry-total']).to.equal(2);
      expect(s['record-error-total']).to.equal(3);
      expect(s['record-error-rate']).to.equal(3 / 30);
      expect(s['batch-split-total']).to.equal(1);
      expect(s['buffer-available-bytes']).to.equal(8192);
      expect(s['buffer-total-bytes']).to.equal(8192);
      expect(s['bufferpool-wait-ratio']).to.equal(0);
      expect(s['requests-in-flight']).to.equal(2);
      inFlight = 0;
      expect(m.snapshot()['requests-in-flight']).to.equal(0);
      pool.close();
    });
  });
});
