/**
 * patchCrc32c: the CRC32C after bytes changed, from the CRC before and the changed bytes
 * alone, equals the CRC computed over the whole message again — for random messages,
 * positions and lengths (fast-check), and for a sealed batch's producer fields.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { crc32c, crc32cPure } from '../../../packages/core/src/format/crc32c.js';
import { patchCrc32c } from '../../../packages/core/src/format/crc32c-patch.js';
import { rewriteProducerState } from '../../../packages/core/src/format/batch-header-writer.js';
import { sealBatch } from '../../../packages/core/src/sealing/seal-batch.js';
import { ATTRIBUTES_OFFSET, CRC_OFFSET, RECORD_BATCH_OVERHEAD } from '../../../packages/core/src/format/record-batch-layout.js';
import { readRecordBatches, verifyBatchCrc } from '../../../packages/core/src/format/record-batch-reader.js';
import { writeRecord, sizeOfRecordBody } from '../../../packages/core/src/format/record-writer.js';

describe('patchCrc32c()', () => {
  it('equals the CRC recomputed over the changed message (random messages, spans, positions)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 5000 }), fc.nat(), fc.integer({ min: 1, max: 20 }), fc.uint8Array({ minLength: 20, maxLength: 20 }), (message, at, length, replacement) => {
        const offset = at % message.length;
        const span = Math.min(length, message.length - offset);
        const before = Buffer.from(message);
        const after = Buffer.from(message);
        for (let i = 0; i < span; i++) after[offset + i] = replacement[i];
        const patched = patchCrc32c(crc32cPure(before), before, offset, after, offset, span, message.length - offset - span);
        expect(patched).to.equal(crc32cPure(after));
      }),
      { numRuns: 300 },
    );
  });

  it('rewriteProducerState patches a sealed batch\'s CRC to the true one (and the batch decodes)', () => {
    for (const records of [1, 7, 150]) {
      const buf = Buffer.alloc(20_000);
      const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
      const base = 8;
      let pos = base + RECORD_BATCH_OVERHEAD;
      for (let i = 0; i < records; i++) {
        const v = `value-${i}-${'x'.repeat(i % 90)}`;
        pos = writeRecord(buf, pos, sizeOfRecordBody(i, i, -1, v.length, 1), i, i, null, -1, v, v.length, null);
      }
      const size = sealBatch(buf, view, base, { recordsLength: pos - base - RECORD_BATCH_OVERHEAD, recordCount: records, baseTimestamp: 1, maxTimestamp: 1 + records, codec: null, producerId: -1, producerEpoch: -1, baseSequence: -1, transactional: false });
      rewriteProducerState(buf, view, base, size, 123456789012, 7, 2147483000);
      expect(view.getUint32(base + CRC_OFFSET)).to.equal(crc32c(buf.subarray(base + ATTRIBUTES_OFFSET, base + size)));
      expect(verifyBatchCrc(buf, base)).to.equal(true);
      const [batch] = readRecordBatches(buf.subarray(base, base + size));
      expect([batch.producerId, batch.producerEpoch, batch.baseSequence, batch.records.length]).to.deep.equal([123456789012, 7, 2147483000, records]);
    }
  });
});
