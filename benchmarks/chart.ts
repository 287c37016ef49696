// A hand-written SVG bar chart of the ratios per model, on a log scale with bars growing from 1.0: down is
// better. Float section: onnx2wasm / onnxruntime-web (steady-state latency and cold start), a line at 0.67.
// int8 section: int8 / onnxruntime-web and int8 / onnx2wasm fp32 (and cold start), lines at 0.33 and 0.6.

import type { ModelResult, SuiteResult } from './results.js';
import { ratio } from './format.js';

type Series = { key: keyof ModelResult['ratios']; label: string; color: string };
const CHARTS: Record<SuiteResult['section'], { title: string; parity: string; series: Series[]; targets: { value: number; label: string; color: string }[] }> = {
  float: {
    title: 'onnx2wasm / onnxruntime-web (lower is better, log scale)',
    parity: '1.0 = onnxruntime-web',
    series: [
      { key: 'latency', label: 'steady-state latency', color: '#3b6fb6' },
      { key: 'coldStart', label: 'cold start', color: '#e08a2c' },
    ],
    targets: [{ value: 0.67, label: '0.67 = latency target', color: '#2a9d4b' }],
  },
  zoo: {
    title: 'onnx2wasm / onnxruntime-web, zoo and single operators (lower is better, log scale)',
    parity: '1.0 = onnxruntime-web',
    series: [{ key: 'latency', label: 'steady-state latency', color: '#3b6fb6' }],
    targets: [
      { value: 0.8, label: '0.8 = single-op target', color: '#2a9d4b' },
      { value: 0.5, label: '0.5 = zoo geomean target', color: '#8e5bb5' },
    ],
  },
  int8: {
    title: 'onnx2wasm int8 latency ratios (lower is better, log scale)',
    parity: '1.0 = as fast',
    series: [
      { key: 'latency', label: 'int8 / onnxruntime-web', color: '#3b6fb6' },
      { key: 'int8OverFp32', label: 'int8 / onnx2wasm fp32', color: '#8e5bb5' },
      { key: 'coldStart', label: 'cold start vs ort-web', color: '#e08a2c' },
    ],
    targets: [
      { value: 0.33, label: '0.33 = target vs ort-web', color: '#2a9d4b' },
      { value: 0.6, label: '0.6 = target vs fp32', color: '#8e5bb5' },
    ],
  },
};

const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function ratioChart(r: SuiteResult): string {
  const models = r.models;
  const { title, parity, series, targets } = CHARTS[r.section];
  // Cold start is optional (--cold 0): no empty series then.
  const SERIES = series.filter((s) => s.key !== 'coldStart' || models.some((m) => m.ratios.coldStart !== undefined));
  const zooMean = r.summary.zoo?.zoo.models ? r.summary.zoo.zoo.geomean : undefined;
  const geomean = r.summary.int8 ? r.summary.int8.int8OverOrtWeb.key : zooMean ?? r.summary.geomeanLatencyRatio;
  const values = models.flatMap((m) => SERIES.map((s) => m.ratios[s.key])).filter((v): v is number => v !== undefined && v > 0 && Number.isFinite(v));
  const lo = Math.floor(Math.log10(Math.min(0.3, ...values) / 1.5));
  const hi = Math.ceil(Math.log10(Math.max(2, ...values)));
  const groupW = 96, barW = 30, left = 64, right = 165, top = 76, plotH = 300, bottom = 90;
  const width = Math.max(SERIES.length > 2 ? 640 : 480, left + models.length * groupW + right);
  const height = top + plotH + bottom;
  const y = (v: number) => top + plotH * (hi - Math.log10(v)) / (hi - lo);
  const out: string[] = [];
  const text = (x: number, yy: number, s: string, attrs = '') => out.push(`<text x="${x.toFixed(1)}" y="${yy.toFixed(1)}"${attrs ? ' ' + attrs : ''}>${escapeXml(s)}</text>`);

  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`);
  out.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`);
  text(left, 20, title, 'font-size="14" font-weight="bold"');
  SERIES.forEach((s, i) => {
    const x = left + i * 170;
    out.push(`<rect x="${x}" y="32" width="12" height="12" fill="${s.color}"/>`);
    text(x + 18, 42, s.label);
  });
  text(left, 62, `geometric mean latency ratio${r.summary.int8 ? ' int8 / ort-web' : zooMean !== undefined ? ' of the zoo' : ''}: ${ratio(geomean)}`);
  // Decade grid and axis labels.
  for (let e = lo; e <= hi; e++) {
    const v = 10 ** e;
    out.push(`<line x1="${left}" x2="${width - right}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#e4e4e4"/>`);
    text(left - 6, y(v) + 4, String(v), 'text-anchor="end" fill="#555"');
  }
  out.push(`<line x1="${left}" x2="${left}" y1="${top}" y2="${top + plotH}" stroke="#888"/>`);
  // Bars from 1.0 to the ratio.
  models.forEach((m, i) => {
    const gx = left + i * groupW + (groupW - SERIES.length * barW) / 2;
    SERIES.forEach((s, j) => {
      const v = m.ratios[s.key];
      const x = gx + j * barW;
      if (v === undefined || !(v > 0) || !Number.isFinite(v)) {
        text(x + barW / 2 - 1, y(1) - 4, 'n/a', 'text-anchor="middle" fill="#999" font-size="9"');
        return;
      }
      const y0 = y(1), y1 = y(v);
      out.push(`<rect class="bar" data-model="${escapeXml(m.name)}" data-series="${s.key}" x="${x + 2}" y="${Math.min(y0, y1).toFixed(1)}" width="${barW - 4}" height="${Math.max(1, Math.abs(y1 - y0)).toFixed(1)}" fill="${s.color}"><title>${escapeXml(`${m.name} ${s.label}: ${ratio(v)}`)}</title></rect>`);
      text(x + barW / 2, v < 1 ? y1 + 11 : y1 - 3, ratio(v), 'text-anchor="middle" font-size="9"');
    });
    const cx = left + i * groupW + groupW / 2;
    text(cx, top + plotH + 14, m.name, `text-anchor="end" transform="rotate(-35 ${cx.toFixed(1)} ${(top + plotH + 14).toFixed(1)})"`);
    if (m.compileError) text(cx, top + plotH - 6, 'not compiled', 'text-anchor="middle" fill="#b03030" font-size="9"');
  });
  // Reference lines last so they stay visible over the bars.
  out.push(`<line x1="${left}" x2="${width - right}" y1="${y(1).toFixed(1)}" y2="${y(1).toFixed(1)}" stroke="#222" stroke-width="1.5"/>`);
  text(width - right + 6, y(1) + 4, parity, 'fill="#222"');
  for (const t of targets) {
    out.push(`<line x1="${left}" x2="${width - right}" y1="${y(t.value).toFixed(1)}" y2="${y(t.value).toFixed(1)}" stroke="${t.color}" stroke-width="1.5" stroke-dasharray="6 4"/>`);
    text(width - right + 6, y(t.value) + 4, t.label, `fill="${t.color}"`);
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}
