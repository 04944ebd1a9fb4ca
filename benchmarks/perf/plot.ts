/**
 * Draws a sweep as a grouped bar chart (SVG, or an HTML page holding the SVG and the table):
 * records/s on the y axis; one group of bars per combination of the other swept settings
 * (e.g. one group per codec); one bar colour per value of the first swept setting (e.g. per
 * worker count); peers, when compared, as grey bars at the end of each group. Every bar is
 * labelled with its value, so the chart reads without the table.
 *
 * Hand-written SVG (no chart library): it is ~200 lines and renders the same in a browser,
 * in GitHub's Markdown preview and through `rsvg-convert`/ImageMagick.
 */
import { writeFileSync } from 'node:fs';
import type { SweepRow } from './report.js';

/** Text above the chart. */
export interface PlotLabels {
  title: string;
  subtitle?: string;
}

/** Colour-blind-safe palette (Okabe–Ito), then repeats. */
const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#D55E00', '#CC79A7', '#56B4E9', '#F0E442', '#000000'];
const PEER_COLOUR = '#9a9a9a';

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Short form of a rate: 3.41M, 512k, 950. */
export function shortNumber(x: number): string {
  if (!Number.isFinite(x)) return '-';
  if (x >= 1e9) return `${(x / 1e9).toFixed(2)}G`;
  if (x >= 1e6) return `${(x / 1e6).toFixed(x >= 1e7 ? 1 : 2)}M`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(x >= 1e4 ? 0 : 1)}k`;
  return x.toFixed(0);
}

/** A "nice" axis maximum and tick step for values up to `max`. */
export function niceScale(max: number, targetTicks = 5): { max: number; step: number } {
  if (!(max > 0)) return { max: 1, step: 0.2 };
  const raw = max / targetTicks;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  const step = (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 2.5 ? 2.5 : norm <= 5 ? 5 : 10) * mag;
  return { max: Math.ceil(max / step) * step, step };
}

interface Bar {
  series: string;
  value: number;
  colour: string;
  label: string;
}

interface Group {
  label: string;
  bars: Bar[];
}

/**
 * Arranges sweep rows into groups of bars: series = the first axis's values (in the order
 * given), groups = combinations of the other axes (in the order run).
 */
export function arrangeBars(axes: readonly string[], rows: readonly SweepRow[]): { groups: Group[]; series: { name: string; colour: string }[] } {
  const seriesAxis = axes[0];
  const groupAxes = axes.slice(1);
  const seriesValues = [...new Set(rows.map((r) => r.settings[seriesAxis]))];
  const series = seriesValues.map((v, i) => ({ name: `${seriesAxis}=${v}`, colour: PALETTE[i % PALETTE.length] }));
  const peerNames = [...new Set(rows.flatMap((r) => (r.peers ?? []).map((p) => p.name)))];
  for (const p of peerNames) series.push({ name: `${p} (peer)`, colour: PEER_COLOUR });
  const groups = new Map<string, Group>();
  const peerSums = new Map<string, Map<string, { sum: number; n: number }>>();
  for (const r of rows) {
    const key = groupAxes.length === 0 ? 'all' : groupAxes.map((a) => `${a}=${r.settings[a]}`).join(', ');
    let g = groups.get(key);
    if (g === undefined) {
      g = { label: groupAxes.length === 0 ? '' : groupAxes.map((a) => (groupAxes.length === 1 ? r.settings[a] : `${a}=${r.settings[a]}`)).join(' '), bars: [] };
      groups.set(key, g);
    }
    const si = seriesValues.indexOf(r.settings[seriesAxis]);
    g.bars.push({
      series: series[si].name,
      value: r.recordsPerSec > 0 ? r.recordsPerSec : NaN,
      colour: series[si].colour,
      label: r.recordsPerSec > 0 ? shortNumber(r.recordsPerSec) : 'failed',
    });
    for (const p of r.peers ?? []) {
      let m = peerSums.get(key);
      if (m === undefined) peerSums.set(key, (m = new Map()));
      const s = m.get(p.name) ?? { sum: 0, n: 0 };
      s.sum += p.recordsPerSec;
      s.n++;
      m.set(p.name, s);
    }
  }
  for (const [key, g] of groups) {
    const m = peerSums.get(key);
    if (m === undefined) continue;
    for (const p of peerNames) {
      const s = m.get(p);
      if (s === undefined) continue;
      const v = s.sum / s.n;
      g.bars.push({ series: `${p} (peer)`, value: v, colour: PEER_COLOUR, label: shortNumber(v) });
    }
  }
  return { groups: [...groups.values()], series };
}

/**
 * Renders the sweep as an SVG grouped bar chart.
 * @param axes - the swept settings, in command-line order (the first one gives the colours)
 */
export function renderSweepSvg(axes: readonly string[], rows: readonly SweepRow[], labels: PlotLabels): string {
  const { groups, series } = arrangeBars(axes, rows);
  const maxBars = Math.max(1, ...groups.map((g) => g.bars.length));
  const barW = 34;
  const barGap = 4;
  const groupGap = 36;
  const groupW = maxBars * (barW + barGap) - barGap;
  const left = 92;
  const right = 24;
  const top = labels.subtitle === undefined ? 64 : 84;
  const plotH = 360;
  const legendRowH = 22;
  const legendCols = Math.max(1, Math.min(series.length, 4));
  const legendRows = Math.ceil(series.length / legendCols);
  // Wide enough for the bars and for the title (~0.58 em per character of 18 px bold text).
  const titleW = Math.max(labels.title.length * 10.5, (labels.subtitle?.length ?? 0) * 7) + 40;
  const plotW = Math.max(420, groups.length * (groupW + groupGap) + groupGap, titleW - left - right);
  const width = left + plotW + right;
  const bottomAxis = 64;
  const height = top + plotH + bottomAxis + legendRows * legendRowH + 24;
  const maxVal = Math.max(0, ...groups.flatMap((g) => g.bars.map((b) => (Number.isFinite(b.value) ? b.value : 0))));
  const scale = niceScale(maxVal * 1.08);
  const y = (v: number): number => top + plotH - (v / scale.max) * plotH;

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif">`,
  );
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(`<text x="${width / 2}" y="30" text-anchor="middle" font-size="18" font-weight="bold" fill="#222">${esc(labels.title)}</text>`);
  if (labels.subtitle !== undefined) {
    out.push(`<text x="${width / 2}" y="54" text-anchor="middle" font-size="12" fill="#555">${esc(labels.subtitle)}</text>`);
  }
  // Grid and y axis.
  for (let v = 0; v <= scale.max + scale.step / 2; v += scale.step) {
    const yy = y(v).toFixed(1);
    out.push(`<line x1="${left}" y1="${yy}" x2="${left + plotW}" y2="${yy}" stroke="${v === 0 ? '#333' : '#e3e3e3'}" stroke-width="1"/>`);
    out.push(`<text x="${left - 8}" y="${yy}" text-anchor="end" dominant-baseline="middle" font-size="12" fill="#333">${shortNumber(v)}</text>`);
  }
  out.push(`<line x1="${left}" y1="${top}" x2="${left}" y2="${top + plotH}" stroke="#333" stroke-width="1"/>`);
  out.push(
    `<text transform="translate(22 ${top + plotH / 2}) rotate(-90)" text-anchor="middle" font-size="13" fill="#222">records/s (append → acknowledged)</text>`,
  );
  // Bars.
  // Spread the groups over the plot width.
  const slotW = (plotW - groupGap) / Math.max(1, groups.length);
  let gx = left + groupGap / 2 + (slotW - groupW) / 2;
  for (const g of groups) {
    const start = gx + (groupW - (g.bars.length * (barW + barGap) - barGap)) / 2;
    g.bars.forEach((b, i) => {
      const x = start + i * (barW + barGap);
      if (Number.isFinite(b.value)) {
        const yy = y(b.value);
        out.push(
          `<rect x="${x.toFixed(1)}" y="${yy.toFixed(1)}" width="${barW}" height="${(top + plotH - yy).toFixed(1)}" fill="${b.colour}"><title>${esc(`${g.label} ${b.series}: ${Math.round(b.value)} records/s`)}</title></rect>`,
        );
        out.push(
          `<text x="${(x + barW / 2).toFixed(1)}" y="${(yy - 5).toFixed(1)}" text-anchor="middle" font-size="10.5" fill="#222">${esc(b.label)}</text>`,
        );
      } else {
        out.push(`<text x="${(x + barW / 2).toFixed(1)}" y="${top + plotH - 6}" text-anchor="middle" font-size="10" fill="#c00">${esc(b.label)}</text>`);
      }
    });
    out.push(
      `<text x="${(gx + groupW / 2).toFixed(1)}" y="${top + plotH + 20}" text-anchor="middle" font-size="13" fill="#222">${esc(g.label)}</text>`,
    );
    gx += slotW;
  }
  const groupAxes = axes.slice(1);
  if (groupAxes.length > 0) {
    out.push(
      `<text x="${left + plotW / 2}" y="${top + plotH + 44}" text-anchor="middle" font-size="13" fill="#222">${esc(groupAxes.join(', '))}</text>`,
    );
  }
  // Legend.
  const legendTop = top + plotH + bottomAxis;
  const colW = Math.min(220, plotW / legendCols);
  series.forEach((s, i) => {
    const lx = left + (i % legendCols) * colW;
    const ly = legendTop + Math.floor(i / legendCols) * legendRowH;
    out.push(`<rect x="${lx}" y="${ly}" width="14" height="14" fill="${s.colour}"/>`);
    out.push(`<text x="${lx + 20}" y="${ly + 11}" font-size="12.5" fill="#222">${esc(s.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}

/** Renders the sweep as a standalone HTML page: the chart, then the table. */
export function renderSweepHtml(axes: readonly string[], rows: readonly SweepRow[], labels: PlotLabels, tableMarkdown: string): string {
  const svg = renderSweepSvg(axes, rows, labels);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(labels.title)}</title>
<style>body{font-family:Helvetica,Arial,sans-serif;margin:24px;color:#222}pre{background:#f6f6f6;padding:12px;overflow:auto}</style>
</head><body>
${svg}
<h2>Table</h2>
<pre>${esc(tableMarkdown)}</pre>
<script type="application/json" id="sweep-data">${JSON.stringify({ axes, rows }).replace(/</g, '\\u003c')}</script>
</body></html>
`;
}

/** Writes the chart to `file` (.svg or .html). */
export function writePlot(file: string, axes: readonly string[], rows: readonly SweepRow[], labels: PlotLabels, tableMarkdown: string): void {
  const text = /\.html?$/i.test(file) ? renderSweepHtml(axes, rows, labels, tableMarkdown) : renderSweepSvg(axes, rows, labels);
  writeFileSync(file, text);
}
