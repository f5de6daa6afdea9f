import { h, svg } from './dom';

export interface Series {
  label: string;
  /** y values; x is the index unless `xs` is given. */
  values: number[];
  xs?: number[];
}

const W = 320;
const H = 140;
const PAD = { l: 44, r: 10, t: 10, b: 22 };

function fmt(v: number, range = Math.abs(v)): string {
  const a = Math.abs(v);
  if (a === 0) return '0';
  if (a >= 10_000 && range >= 1000) return `${(v / 1000).toFixed(1)}k`;
  // Enough decimals to tell the ticks apart (a range of 0.002 needs 4), at most 6.
  const decimals = Math.min(6, Math.max(0, Math.ceil(-Math.log10(Math.max(range, 1e-9))) + 1, a < 1 ? 2 : 0));
  return a >= 100 && range >= 10 ? v.toFixed(0) : v.toFixed(decimals);
}

/**
 * A small SVG line chart (no library): min/max y labels, first/last x labels, one polyline per
 * series, the last value in the title.
 */
export function lineChart(title: string, series: Series[], opts: { unit?: string; xLabel?: (x: number) => string; testid?: string } = {}): HTMLElement {
  const all = series.flatMap((s) => s.values).filter((v) => Number.isFinite(v));
  const box = h('figure', { class: 'chart', 'data-testid': opts.testid });
  const last = series[0]?.values[series[0].values.length - 1];
  const span = all.length > 1 ? Math.max(...all) - Math.min(...all) : Math.abs(last ?? 0);
  box.appendChild(h('figcaption', {}, title, last !== undefined ? h('span', { class: 'chart-last' }, `${fmt(last, span)}${opts.unit ?? ''}`) : null));
  if (all.length < 2) {
    box.appendChild(h('div', { class: 'chart-empty' }, 'waiting for data…'));
    return box;
  }
  let min = Math.min(...all);
  let max = Math.max(...all);
  if (min === max) {
    min -= 1;
    max += 1;
  }
  const xsAll = series.flatMap((s) => s.xs ?? s.values.map((_, i) => i));
  const xmin = Math.min(...xsAll);
  const xmax = Math.max(...xsAll) === xmin ? xmin + 1 : Math.max(...xsAll);
  const x = (v: number): number => PAD.l + ((v - xmin) / (xmax - xmin)) * (W - PAD.l - PAD.r);
  const y = (v: number): number => H - PAD.b - ((v - min) / (max - min)) * (H - PAD.t - PAD.b);
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart-svg', role: 'img', 'aria-label': title });
  root.appendChild(svg('line', { x1: PAD.l, y1: H - PAD.b, x2: W - PAD.r, y2: H - PAD.b, class: 'axis' }));
  root.appendChild(svg('line', { x1: PAD.l, y1: PAD.t, x2: PAD.l, y2: H - PAD.b, class: 'axis' }));
  for (const v of [min, (min + max) / 2, max]) {
    root.appendChild(svg('line', { x1: PAD.l, y1: y(v), x2: W - PAD.r, y2: y(v), class: 'grid' }));
    root.appendChild(svg('text', { x: PAD.l - 4, y: y(v) + 3, class: 'tick', 'text-anchor': 'end' }, fmt(v, max - min)));
  }
  const xl = opts.xLabel ?? ((v: number) => String(Math.round(v)));
  root.appendChild(svg('text', { x: PAD.l, y: H - 6, class: 'tick', 'text-anchor': 'start' }, xl(xmin)));
  root.appendChild(svg('text', { x: W - PAD.r, y: H - 6, class: 'tick', 'text-anchor': 'end' }, xl(xmax)));
  series.forEach((s, i) => {
    const xs = s.xs ?? s.values.map((_, j) => j);
    const points = s.values.map((v, j) => `${x(xs[j] ?? j).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
    root.appendChild(svg('polyline', { points, class: `line line-${i % 4}` }));
  });
  box.appendChild(root);
  if (series.length > 1) box.appendChild(h('div', { class: 'legend' }, ...series.map((s, i) => h('span', { class: `legend-item line-${i % 4}` }, s.label))));
  return box;
}
