/**
 * `compression.lz4.level`, measured: compressed size and CPU per raw byte of Sluice's lz4
 * codec (`@sluice/worker` lz4LevelCodec: as Kafka, the fast compressor at the default level 9, LZ4-HC at any other) at each level, beside
 * core's `lz4-napi` codec (lz4_flex, one level), on the same JSON-like batches (16 KiB and
 * 64 KiB of ~200-byte event lines, as batches are sealed). Every frame is decoded back and
 * compared.
 *
 *   node --conditions=source --import tsx benchmarks/lz4-levels.ts [--ms 400]
 */
import { codecFor } from '../packages/core/src/compression/codecs.js';
import { seededRandom } from '../packages/core/src/embedded/seeded-random.js';
import { lz4LevelCodec } from '../packages/worker/src/lz4-level-codec.js';

const args = process.argv.slice(2);
const MS = args.includes('--ms') ? Number(args[args.indexOf('--ms') + 1]) : 400;
const EVENTS = ['page_view', 'click', 'add_to_cart', 'purchase', 'search', 'login'];
const WORDS = 'order customer product price quantity shipping payment status pending shipped delivered region click view'.split(' ');

function lines(bytes: number, seed: number): Buffer {
  const rnd = seededRandom(seed);
  const out: string[] = [];
  let n = 0;
  while (n < bytes) {
    const words = Array.from({ length: 6 }, () => WORDS[Math.floor(rnd() * WORDS.length)]).join(' ');
    const s = JSON.stringify({ id: Math.floor(rnd() * 1e9), ts: 1_700_000_000_000 + Math.floor(rnd() * 1e8), user: `u${Math.floor(rnd() * 50_000)}`, event: EVENTS[Math.floor(rnd() * EVENTS.length)], session: Math.floor(rnd() * 2 ** 48).toString(16), note: words });
    out.push(s);
    n += s.length + 1;
  }
  return Buffer.from(out.join('\n')).subarray(0, bytes);
}

const napi = codecFor(3)!;
const rows: string[] = [];
for (const size of [16 * 1024, 64 * 1024]) {
  const inputs = Array.from({ length: 16 }, (_, i) => lines(size, 100 + i));
  const run = (name: string, compress: (b: Buffer) => Uint8Array): void => {
    let raw = 0;
    let packed = 0;
    for (const b of inputs) {
      const c = compress(b);
      if (!Buffer.from(napi.decompress(c)).equals(b)) throw new Error(`${name}: decoded bytes differ`);
    }
    const end = performance.now() + MS;
    const t0 = performance.now();
    let i = 0;
    while (performance.now() < end) {
      const b = inputs[i++ % inputs.length];
      packed += compress(b).length;
      raw += b.length;
    }
    const ns = (performance.now() - t0) * 1e6;
    rows.push(`| ${size / 1024} KiB | ${name} | ${(ns / raw).toFixed(2)} | ${(packed / raw).toFixed(3)} |`);
  };
  run('lz4-napi (core, no levels)', (b) => napi.compress(b));
  for (const level of [1, 3, 6, 9, 12]) run(`lz4LevelCodec level ${level}${level === 9 ? " (Kafka default: fast compressor)" : " (LZ4-HC)"}`, (b) => lz4LevelCodec.compress(b, level));
}
console.log('| batch | codec | ns per raw byte | compressed / raw |');
console.log('|---|---|---:|---:|');
for (const r of rows) console.log(r);
