/**
 * JSON-like event values for `--payload-kind json`: what a Kafka topic of events holds, so
 * that codecs meet data that compresses as real data does. Field names and enum values repeat
 * from record to record; ids, timestamps, hex session tokens and runs of words vary. Random
 * letters (the default, as Kafka's tool) give lz4 and snappy almost nothing to match, and
 * one payload repeated (what Kafka's tool sends with --record-size) makes every codec look
 * better than it is.
 *
 * Each value is exactly `size` bytes of ASCII without a newline or tab (so the same values
 * can go to kcat and Kafka's tool as lines): the JSON object is cut or padded with spaces.
 */

const WORDS = (
  'order customer product price quantity shipping payment status pending shipped delivered cancelled refund cart ' +
  'session user device browser mobile desktop android ios chrome firefox safari region europe america asia click ' +
  'view purchase search filter category electronics books clothing garden toys sports music video discount coupon'
).split(' ');
const EVENTS = ['page_view', 'click', 'add_to_cart', 'purchase', 'search', 'login', 'logout', 'share'];
const PATHS = ['/', '/products', '/products/item', '/cart', '/checkout', '/account', '/search', '/help'];

/**
 * `count` JSON-like values of exactly `size` bytes.
 * @param next - a uniform uint32 source (the workload's seeded generator)
 */
export function jsonLikeValues(size: number, count: number, next: () => number): Buffer[] {
  const unit = (): number => next() / 4294967296;
  const pick = <T>(a: readonly T[]): T => a[Math.floor(unit() * a.length)];
  const hex = (n: number): string => {
    let s = '';
    for (let i = 0; i < n; i++) s += Math.floor(unit() * 16).toString(16);
    return s;
  };
  const out: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const o: Record<string, unknown> = {
      id: Math.floor(unit() * 1e9),
      ts: 1_700_000_000_000 + Math.floor(unit() * 1e8),
      user: `u${Math.floor(unit() * 50_000)}`,
      event: pick(EVENTS),
      path: `${pick(PATHS)}/${Math.floor(unit() * 5000)}`,
      session: hex(16),
    };
    let s = JSON.stringify(o);
    if (size > s.length + 20) {
      const words: string[] = [];
      let len = s.length + 12;
      while (len < size - 24) {
        const w = pick(WORDS);
        words.push(w);
        len += w.length + 1;
        if (unit() < 0.08) {
          const n = String(Math.floor(unit() * 100000));
          words.push(n);
          len += n.length + 1;
        }
      }
      o.note = words.join(' ');
      o.price = Math.floor(unit() * 100000) / 100;
      s = JSON.stringify(o);
    }
    out.push(Buffer.from(s.length > size ? s.slice(0, size) : s.padEnd(size, ' '), 'latin1'));
  }
  return out;
}
