/** Small formatting helpers shared by the CLI, the `npm start` demo and the dashboard. */

/** `4.2 s`, `1 min 05 s`, `2 h 03 min`; `—` for null. */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—';
  const s = Math.max(0, seconds);
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(Math.floor(s % 60)).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

export function clampPercent(percent: number): number {
  return Math.max(0, Math.min(100, Number.isFinite(percent) ? percent : 0));
}

/** `██████░░░░` */
export function progressBar(percent: number, width = 24): string {
  const full = Math.round((clampPercent(percent) / 100) * width);
  return `${'█'.repeat(full)}${'░'.repeat(width - full)}`;
}

/** ` 42%` (4 wide). */
export function formatPercent(percent: number): string {
  return `${Math.round(clampPercent(percent))}%`.padStart(4);
}

/** Measured figures worth a summary line, when a phase reports them (in this order). */
export const HEADLINE_METRICS = [
  'val_loss',
  'accuracy',
  'final_fitness',
  'fitness_improvement',
  'accuracy_improvement',
  'p_value',
  'compression_ratio',
  'final_loss',
  'final_accuracy',
  'overall_improvement',
  'pareto_front_size',
  'total_compression_ratio',
  'executor',
] as const;

function short(value: number): number {
  return Number(value.toPrecision(4));
}

/** Up to `max` headline metrics of a phase as `[name, text]`. */
export function headlineMetrics(custom: Record<string, unknown>, max = 4): [string, string][] {
  const out: [string, string][] = [];
  for (const k of HEADLINE_METRICS) {
    const v = custom[k];
    if (typeof v === 'number' && Number.isFinite(v)) out.push([k, String(short(v))]);
    else if (typeof v === 'string') out.push([k, v]);
    if (out.length >= max) break;
  }
  return out;
}

/** Numeric series in a phase's custom metrics (e.g. `loss_curve`, `fitness_scores`): arrays of ≥ 2 numbers that are not all equal. */
export function numericSeries(custom: Record<string, unknown>): { name: string; values: number[] }[] {
  const out: { name: string; values: number[] }[] = [];
  for (const [name, v] of Object.entries(custom)) {
    if (!Array.isArray(v) || v.length < 2) continue;
    if (v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
      if (new Set(v).size > 1) out.push({ name, values: v as number[] });
    }
    // [{step, loss}] style series: take the first numeric field other than a step/index.
    else if (v.every((x) => typeof x === 'object' && x !== null)) {
      const first = v[0] as Record<string, unknown>;
      const key = Object.keys(first).find((k) => !/^(step|steps|index|i|generation|iteration|epoch)$/.test(k) && typeof first[k] === 'number');
      if (key && v.every((x) => typeof (x as Record<string, unknown>)[key] === 'number')) {
        const values = v.map((x) => (x as Record<string, number>)[key] as number);
        if (new Set(values).size > 1) out.push({ name: `${name}.${key}`, values });
      }
    }
  }
  return out;
}
