import { expect } from 'chai';
import fc from 'fast-check';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { crc32c, crc32cBinding, crc32cImplementation, crc32cPure } from '../../../packages/core/src/format/crc32c.js';

const require = createRequire(import.meta.url);
// kafkajs ships its own table-driven CRC32C (kafkajs/src/protocol/recordBatch/crc32C).
const kafkajsCrc32c = require('kafkajs/src/protocol/recordBatch/crc32C/index.js') as (buf: Buffer) => number;

const CRC32C_MODULE_URL = new URL('../../../packages/core/src/format/crc32c.ts', import.meta.url).href;
const OWN_BINDING = new URL('../../../packages/core/build/Release/sluice_crc32c.node', import.meta.url).pathname;

/** Whether the install step can build Sluice's own binding here: x86-64 with SSE4.2 and a C compiler. */
function ownBindingExpected(): boolean {
  if (process.arch !== 'x64' || process.platform !== 'linux') return false;
  if (!/\bsse4_2\b/.test(readFileSync('/proc/cpuinfo', 'utf8'))) return false;
  return spawnSync('cc', ['--version']).status === 0;
}

/** The binding and some CRCs, in a child process with SLUICE_CRC32C set. */
function viaEnv(choice: string): [string, ...unknown[]] {
  const script =
    `const m = await import(${JSON.stringify(CRC32C_MODULE_URL)});` +
    'const out = [m.crc32cBinding];' +
    "out.push(m.crc32c(Buffer.from('123456789')), m.crc32c(new Uint8Array(32).fill(0xff)));" +
    "const a = Buffer.from('hello, '), b = Buffer.from('kafka batches');" +
    'out.push(m.crc32c(b, m.crc32c(a)) === m.crc32c(Buffer.concat([a, b])));' +
    'let same = true; for (let n = 0; n < 3000; n += 7) { const d = Buffer.alloc(n); for (let i = 0; i < n; i++) d[i] = (i * 131 + n) & 255; if (m.crc32c(d) !== m.crc32cPure(d)) same = false; }' +
    'out.push(same); console.log(JSON.stringify(out));';
  const stdout = execFileSync(process.execPath, ['--conditions=source', '--import=tsx', '--input-type=module', '-e', script], {
    env: { ...process.env, SLUICE_CRC32C: choice },
    encoding: 'utf8',
  });
  return JSON.parse(stdout.trim()) as [string, ...unknown[]];
}

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
    it("reports 'native' when a native binding loads (Sluice's own first, then sse4_crc32 with SSE4.2), and then does not use the fallback", () => {
      const loads = (name: string): boolean => {
        try {
          const mod = require(name) as { hardware_support?: boolean; supported?: boolean };
          return name === 'sse4_crc32' ? mod.hardware_support === true : name === OWN_BINDING ? mod.supported === true : true;
        } catch {
          return false;
        }
      };
      // Where the install step can build it, it must have: a broken build fails here.
      if (ownBindingExpected()) expect(existsSync(OWN_BINDING), `${OWN_BINDING} was not built by the install step`).to.equal(true);
      const expected = loads(OWN_BINDING) ? 'sluice' : loads('sse4_crc32') ? 'sse4_crc32' : loads('@node-rs/crc32') ? '@node-rs/crc32' : 'pure';
      expect(crc32cBinding).to.equal(expected);
      expect(crc32cImplementation).to.equal(expected === 'pure' ? 'pure' : 'native');
      expect(crc32c === crc32cPure).to.equal(expected === 'pure');
    });

    it('gives the same CRCs through @node-rs/crc32 (SLUICE_CRC32C=node-rs): vectors, continuation, random data', function () {
      this.timeout(20_000);
      const [binding, ...rest] = viaEnv('node-rs');
      expect(binding).to.be.oneOf(['@node-rs/crc32', 'pure']);
      expect(rest).to.deep.equal([0xe3069283, 0x62a8ab43, true, true]);
    });

    it('gives the same CRCs through sse4_crc32 (SLUICE_CRC32C=sse4_crc32 skips only Sluice\'s own binding)', function () {
      this.timeout(20_000);
      const [binding, ...rest] = viaEnv('sse4_crc32');
      expect(binding).to.be.oneOf(['sse4_crc32', '@node-rs/crc32', 'pure']);
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

  describe("Sluice's own binding (native/crc32c.c: three interleaved streams)", () => {
    let own: { supported: boolean; crc32c(data: Uint8Array, initial?: number): number } | null = null;
    before(function () {
      if (!existsSync(OWN_BINDING)) {
        if (ownBindingExpected()) throw new Error(`${OWN_BINDING} was not built by the install step`);
        this.skip(); // no compiler or not x86-64: the other bindings are tested above
      }
      own = require(OWN_BINDING) as NonNullable<typeof own>;
      if (!own.supported) this.skip();
    });

    it('agrees with the pure implementation on every length 0..26k at every alignment, from shared memory, with continuation', () => {
      // Lengths cross the three-stream rounds (3 x 4096 and 3 x 256 bytes) and the 8-byte tail.
      const sab = new SharedArrayBuffer(32 * 1024);
      const buf = new Uint8Array(sab);
      for (let i = 0; i < buf.length; i++) buf[i] = (i * 2654435761) >>> 24;
      const lengths = [0, 1, 7, 8, 9, 255, 767, 768, 769, 1000, 3 * 4096 - 1, 3 * 4096, 3 * 4096 + 1, 16384, 16384 + 768 + 5, 26_000];
      for (const n of lengths) {
        for (let offset = 0; offset < 8; offset++) {
          const view = buf.subarray(offset, offset + n);
          const initial = (n * 0x9e3779b1 + offset) >>> 0;
          expect(own!.crc32c(view), `length ${n} offset ${offset}`).to.equal(crc32cPure(view));
          expect(own!.crc32c(view, initial), `length ${n} offset ${offset} continued`).to.equal(crc32cPure(view, initial));
        }
      }
    });

    it('agrees with the pure implementation on random data, splits and initial values (fast-check)', () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 40_000 }), fc.nat(), (data, cut) => {
          const at = data.length === 0 ? 0 : cut % data.length;
          const whole = own!.crc32c(data);
          expect(whole).to.equal(crc32cPure(data));
          expect(own!.crc32c(data.subarray(at), own!.crc32c(data.subarray(0, at)))).to.equal(whole);
        }),
        { numRuns: 150 },
      );
    });

    it('rejects what is not a Uint8Array with a TypeError naming the argument', () => {
      expect(() => own!.crc32c('abc' as unknown as Uint8Array)).to.throw(TypeError, /data must be a Uint8Array/);
      expect(() => own!.crc32c(new Uint16Array(4) as unknown as Uint8Array)).to.throw(TypeError, /data must be a Uint8Array/);
      expect(() => own!.crc32c(new Uint8Array(4), 'x' as unknown as number)).to.throw(TypeError, /initial must be a number/);
    });
  });
});
