import { expect } from 'chai';
import fc from 'fast-check';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { crc32c, crc32cBinding, crc32cImplementation, crc32cPure } from '../../../packages/core/src/format/crc32c.js';

const require = createRequire(import.meta.url);
// kafkajs ships its own table-driven CRC32C (kafkajs/src/protocol/recordBatch/crc32C).
const kafkajsCrc32c = require('kafkajs/src/protocol/recordBatch/crc32C/index.js') as (buf: Buffer) => number;

const CRC32C_MODULE_URL = new URL('../../../packages/core/src/format/crc32c.ts', import.meta.url).href;

const ascending = Uint8Array.from({ length: 32 }, (_, i) => i);
const descending = Uint8Array.from({ length: 32 }, (_, i) => 31 - i);

/** RFC 3720 (iSCSI) appendix B.4 vectors, plus the classic check value. */
const VECTORS: readonly [string, Uint8Array, number][] = [
  ['empty', new Uint8Array(0), 0],
  ['"123456789"', Buffer.from('123456789', 'ascii'), 0xe3069283],
  ['32 zero bytes', new Uint8Array(32), 0x8a9136aa],
  ['32 0xff bytes', new Uint8Array(32).fill(0xff), 0x62a8ab43],
  ['ascending 0..31', ascending, 0x46dd794e],
  ['descending 31..0', descending, 0x113fdb5c],
];

const IMPLEMENTATIONS = [
  ['crc32c', crc32c],
  ['crc32cPure', crc32cPure],
] as const;

describe('crc32c', () => {
  for (const [name, fn] of IMPLEMENTATIONS) {
    describe(`${name}()`, () => {
      for (const [label, data, expected] of VECTORS) {
        it(`gives 0x${expected.toString(16).padStart(8, '0')} for ${label}`, () => {
          expect(fn(data)).to.equal(expected);
        });
      }

      it('continues a running CRC: crc(b, crc(a)) === crc(a ‖ b)', () => {
        fc.assert(
          fc.property(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 300 }), (a, b) => {
            expect(fn(b, fn(a))).to.equal(fn(Buffer.concat([a, b])));
          }),
          { numRuns: 200 },
        );
      });

      it('reads only the view it is given (subarray of a larger buffer, any alignment)', () => {
        const big = Uint8Array.from({ length: 100 }, (_, i) => (i * 37) & 0xff);
        for (let start = 0; start < 9; start++) {
          const view = big.subarray(start, start + 50);
          expect(fn(view), `start ${start}`).to.equal(crc32cPure(Uint8Array.from(view)));
        }
      });

      it('returns an unsigned 32-bit integer', () => {
        const v = fn(new Uint8Array(32).fill(0xff));
        expect(v).to.be.at.least(0).and.below(2 ** 32);
        expect(Number.isInteger(v)).to.equal(true);
      });
    });
  }

  it('native and pure agree on random buffers of every length 0..1100 and a few large ones', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 1100 }), fc.nat(0xffffffff), (data, initial) => {
        expect(crc32c(data)).to.equal(crc32cPure(data));
        expect(crc32c(data, initial)).to.equal(crc32cPure(data, initial));
      }),
      { numRuns: 300 },
    );
    const big = new Uint8Array(1 << 20);
    for (let i = 0; i < big.length; i++) big[i] = (i * 2654435761) >>> 24;
    for (const len of [0, 1, 7, 8, 9, 63, 64, 65, 4095, 4096, 65537, big.length]) {
      expect(crc32c(big.subarray(0, len)), `length ${len}`).to.equal(crc32cPure(big.subarray(0, len)));
    }
  });

  it('accepts views over a SharedArrayBuffer (pool memory)', () => {
    const shared = new Uint8Array(new SharedArrayBuffer(64));
    shared.set(ascending, 16);
    expect(crc32c(shared.subarray(16, 48))).to.equal(0x46dd794e);
    expect(crc32cPure(shared.subarray(16, 48))).to.equal(0x46dd794e);
  });

  it('agrees with kafkajs crc32C on random buffers', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), (data) => {
        expect(crc32c(data)).to.equal(kafkajsCrc32c(Buffer.from(data)));
      }),
      { numRuns: 200 },
    );
  });

  describe('crc32cImplementation', () => {
    it("reports 'native' when a native binding loads (sse4_crc32 first, with SSE4.2), and then does not use the fallback", () => {
      const loads = (name: string): boolean => {
        try {
          const mod = require(name) as { hardware_support?: boolean };
          return name !== 'sse4_crc32' || mod.hardware_support === true;
        } catch {
          return false;
        }
      };
      const expected = loads('sse4_crc32') ? 'sse4_crc32' : loads('@node-rs/crc32') ? '@node-rs/crc32' : 'pure';
      expect(crc32cBinding).to.equal(expected);
      expect(crc32cImplementation).to.equal(expected === 'pure' ? 'pure' : 'native');
      expect(crc32c === crc32cPure).to.equal(expected === 'pure');
    });

    it('gives the same CRCs through @node-rs/crc32 (SLUICE_CRC32C=node-rs): vectors, continuation, random data', function () {
      this.timeout(20_000);
      const script =
        `const m = await import(${JSON.stringify(CRC32C_MODULE_URL)});` +
        'const out = [m.crc32cBinding];' +
        "out.push(m.crc32c(Buffer.from('123456789')), m.crc32c(new Uint8Array(32).fill(0xff)));" +
        "const a = Buffer.from('hello, '), b = Buffer.from('kafka batches');" +
        'out.push(m.crc32c(b, m.crc32c(a)) === m.crc32c(Buffer.concat([a, b])));' +
        'let same = true; for (let n = 0; n < 3000; n += 7) { const d = Buffer.alloc(n); for (let i = 0; i < n; i++) d[i] = (i * 131 + n) & 255; if (m.crc32c(d) !== m.crc32cPure(d)) same = false; }' +
        'out.push(same); console.log(JSON.stringify(out));';
      const stdout = execFileSync(
        process.execPath,
        ['--conditions=source', '--import=tsx', '--input-type=module', '-e', script],
        { env: { ...process.env, SLUICE_CRC32C: 'node-rs' }, encoding: 'utf8' },
      );
      const [binding, ...rest] = JSON.parse(stdout.trim()) as [string, ...unknown[]];
      expect(binding).to.be.oneOf(['@node-rs/crc32', 'pure']);
      expect(rest).to.deep.equal([0xe3069283, 0x62a8ab43, true, true]);
    });

    it("reports 'pure' and uses the fallback when SLUICE_CRC32C=pure", function () {
      this.timeout(20_000);
      const script =
        `const m = await import(${JSON.stringify(CRC32C_MODULE_URL)});` +
        "console.log(JSON.stringify([m.crc32cImplementation, m.crc32c === m.crc32cPure, m.crc32c(Buffer.from('123456789'))]));";
      const stdout = execFileSync(
        process.execPath,
        ['--conditions=source', '--import=tsx', '--input-type=module', '-e', script],
        { env: { ...process.env, SLUICE_CRC32C: 'pure' }, encoding: 'utf8' },
      );
      expect(JSON.parse(stdout.trim())).to.deep.equal(['pure', true, 0xe3069283]);
    });
  });
});
