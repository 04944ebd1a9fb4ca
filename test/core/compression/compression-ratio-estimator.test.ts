import { expect } from 'chai';
import {
  COMPRESSION_RATIO_DETERIORATE_STEP,
  COMPRESSION_RATIO_IMPROVING_STEP,
  CompressionRatioEstimator,
  MAX_COMPRESSED_BATCH_SLOTS,
  compressedBatchAllocationBytes,
} from '../../../packages/core/src/compression/compression-ratio-estimator.js';

describe('CompressionRatioEstimator', () => {
  it("uses Kafka's steps: improving 0.005, deteriorating 0.05", () => {
    expect(COMPRESSION_RATIO_IMPROVING_STEP).to.equal(0.005);
    expect(COMPRESSION_RATIO_DETERIORATE_STEP).to.equal(0.05);
  });

  it('starts every topic and codec at 1.0', () => {
    const e = new CompressionRatioEstimator();
    expect(e.estimation('t', 1)).to.equal(1);
    expect(e.estimation('t', 4)).to.equal(1);
  });

  it('moves down by 0.005 per better batch, whatever the observed ratio (float32 as Java)', () => {
    const e = new CompressionRatioEstimator();
    expect(e.updateEstimation('t', 1, 0.2)).to.equal(Math.fround(1 - 0.005));
    let r = 0;
    for (let i = 0; i < 99; i++) r = e.updateEstimation('t', 1, 0.2);
    let expected = Math.fround(1);
    for (let i = 0; i < 100; i++) expected = Math.fround(expected - 0.005);
    expect(r).to.equal(expected);
    expect(r).to.be.closeTo(0.5, 1e-4);
  });

  it('moves up at once by at least 0.05, or to the observed ratio when higher', () => {
    const e = new CompressionRatioEstimator();
    e.setEstimation('t', 4, 0.3);
    expect(e.updateEstimation('t', 4, 0.31)).to.be.closeTo(0.35, 1e-6);
    expect(e.updateEstimation('t', 4, 0.9)).to.be.closeTo(0.9, 1e-6);
    expect(e.updateEstimation('t', 4, 0.9)).to.be.closeTo(0.9, 1e-6); // equal: unchanged
  });

  it('keeps topics and codecs apart, and forgets a removed topic', () => {
    const e = new CompressionRatioEstimator();
    e.setEstimation('a', 1, 0.4);
    expect(e.estimation('a', 4)).to.equal(1);
    expect(e.estimation('b', 1)).to.equal(1);
    e.removeEstimation('a');
    expect(e.estimation('a', 1)).to.equal(1);
  });
});

describe('compressedBatchAllocationBytes()', () => {
  const B = 16384;
  it('gives one slot while the estimate is 1.0 or close', () => {
    expect(compressedBatchAllocationBytes(B, 1, 4)).to.equal(B);
    expect(compressedBatchAllocationBytes(B, 0.6, 4)).to.equal(B);
  });

  it('gives whole slots for about batch.size after compression, rounding down (5 % head-room)', () => {
    expect(compressedBatchAllocationBytes(B, 0.45, 4)).to.equal(2 * B);
    expect(compressedBatchAllocationBytes(B, 0.3, 4)).to.equal(3 * B);
    expect(compressedBatchAllocationBytes(B, 0.25, 4)).to.equal(3 * B);
  });

  it('caps at maxSlots', () => {
    expect(compressedBatchAllocationBytes(B, 0.05, MAX_COMPRESSED_BATCH_SLOTS)).to.equal(4 * B);
    expect(compressedBatchAllocationBytes(B, 0.05, 2)).to.equal(2 * B);
    expect(compressedBatchAllocationBytes(B, 0, 1)).to.equal(B);
  });
});
