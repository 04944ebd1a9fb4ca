import { expect } from 'chai';
import fc from 'fast-check';
import { ProtocolError } from '../../../../packages/core/src/errors.js';
import { DEFAULT_MAX_FRAME_BYTES, FrameDecoder } from '../../../../packages/core/src/protocol/primitives/frame-decoder.js';
import { hex, toHex } from '../fixture-bytes.js';

function drain(d: FrameDecoder): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let f = d.tryReadFrame(); f !== null; f = d.tryReadFrame()) out.push(f);
  return out;
}

/** The stream bytes of `frames`: each behind its int32 size prefix. */
function stream(frames: readonly Uint8Array[]): Uint8Array {
  const total = frames.reduce((n, f) => n + 4 + f.byteLength, 0);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let pos = 0;
  for (const f of frames) {
    view.setInt32(pos, f.byteLength);
    out.set(f, pos + 4);
    pos += 4 + f.byteLength;
  }
  return out;
}

describe('FrameDecoder', () => {
  describe('tryReadFrame()', () => {
    it('returns frames lying inside one chunk as views of that chunk (zero copy)', () => {
      const chunk = hex('00000003', 'aabbcc', '00000002', 'ddee');
      const d = new FrameDecoder();
      d.push(chunk);
      const [a, b, ...rest] = drain(d);
      expect(rest).to.have.length(0);
      expect(toHex(a)).to.equal('aabbcc');
      expect(a.buffer).to.equal(chunk.buffer);
      expect(a.byteOffset).to.equal(chunk.byteOffset + 4);
      expect(toHex(b)).to.equal('ddee');
      expect(b.buffer).to.equal(chunk.buffer);
      expect(b.byteOffset).to.equal(chunk.byteOffset + 11);
      expect(d.bufferedBytes).to.equal(0);
    });

    it('returns null until a frame has fully arrived, and copies a frame that spans chunks', () => {
      const d = new FrameDecoder();
      d.push(hex('00000005', 'aa'));
      expect(d.tryReadFrame()).to.equal(null);
      d.push(hex('bbcc'));
      expect(d.tryReadFrame()).to.equal(null);
      const last = hex('ddee', '00000001');
      d.push(last);
      const f = d.tryReadFrame();
      expect(toHex(f!)).to.equal('aabbccddee');
      expect(f!.buffer).to.not.equal(last.buffer);
      expect(d.tryReadFrame()).to.equal(null);
      expect(d.bufferedBytes).to.equal(0);
      d.push(hex('ff'));
      expect(toHex(d.tryReadFrame()!)).to.equal('ff');
    });

    it('assembles a size prefix split across chunks, one byte at a time', () => {
      const d = new FrameDecoder();
      for (const b of ['00', '00', '00', '02']) {
        expect(d.tryReadFrame()).to.equal(null);
        d.push(hex(b));
      }
      d.push(hex('0102'));
      expect(toHex(d.tryReadFrame()!)).to.equal('0102');
    });

    it('accepts an empty frame and ignores empty chunks', () => {
      const d = new FrameDecoder();
      d.push(new Uint8Array(0));
      d.push(hex('00000000'));
      const f = d.tryReadFrame();
      expect(f).to.not.equal(null);
      expect(f!.byteLength).to.equal(0);
    });

    it('rejects a negative frame size, and stays failed', () => {
      const d = new FrameDecoder({ context: 'connection to node 1' });
      d.push(hex('ffffffff', '00'));
      expect(() => d.tryReadFrame()).to.throw(
        ProtocolError,
        'connection to node 1: frame size -1 at stream offset 0 is outside 0..104857600',
      );
      expect(() => d.tryReadFrame()).to.throw(ProtocolError);
      d.reset();
      d.push(hex('00000001', '07'));
      expect(toHex(d.tryReadFrame()!)).to.equal('07');
    });

    it('rejects a frame larger than maxFrameBytes before waiting for its bytes', () => {
      const d = new FrameDecoder({ maxFrameBytes: 16 });
      d.push(hex('00000001', 'aa', '00000011'));
      expect(toHex(d.tryReadFrame()!)).to.equal('aa');
      expect(() => d.tryReadFrame()).to.throw(ProtocolError, 'frame size 17 at stream offset 5 is outside 0..16');
      // "HTTP" read as a size: 0x48545450.
      const http = new FrameDecoder();
      http.push(new Uint8Array(Buffer.from('HTTP/1.1 400', 'latin1')));
      expect(() => http.tryReadFrame()).to.throw(ProtocolError, 'frame size 1213486160');
      expect(DEFAULT_MAX_FRAME_BYTES).to.equal(104857600);
    });
  });

  describe('split-anywhere (property)', () => {
    it('yields the same frames however the stream is cut into chunks', () => {
      fc.assert(
        fc.property(
          fc.array(fc.uint8Array({ maxLength: 50 }), { maxLength: 12 }),
          fc.array(fc.nat(), { maxLength: 30 }),
          (frames, cutSeeds) => {
            const bytes = stream(frames);
            const cuts = [...new Set(cutSeeds.map((c) => (bytes.byteLength === 0 ? 0 : c % bytes.byteLength)))].sort(
              (a, b) => a - b,
            );
            const d = new FrameDecoder();
            const got: Uint8Array[] = [];
            let from = 0;
            for (const cut of [...cuts, bytes.byteLength]) {
              d.push(bytes.subarray(from, cut));
              from = cut;
              got.push(...drain(d));
            }
            expect(got.map(toHex)).to.deep.equal(frames.map(toHex));
            expect(d.bufferedBytes).to.equal(0);
          },
        ),
        { numRuns: 500 },
      );
    });
  });
});
