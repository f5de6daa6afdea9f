import { jStat } from 'jstat';
import { mean, sampleStandardDeviation } from 'simple-statistics';

/**
 * Statistics for A/B comparisons and intervals: descriptive statistics from simple-statistics,
 * the Student-t distribution from jstat.
 */

export interface PairedTest {
  n: number;
  /** Mean of b − a. */
  meanDiff: number;
  sdDiff: number;
  t: number;
  df: number;
  /** Two-sided p-value of H0: mean(b − a) = 0. */
  pValue: number;
  /** 95 % confidence interval of the mean difference. */
  ci95: [number, number];
}

/** Paired t-test on per-example results `a[i]` (control) and `b[i]` (treatment). */
export function pairedTTest(a: readonly number[], b: readonly number[]): PairedTest {
  if (a.length !== b.length) throw new Error('paired test needs equally long samples');
  const n = a.length;
  if (n < 2) throw new Error('paired test needs at least two pairs');
  const d = a.map((x, i) => b[i]! - x);
  const md = mean(d);
  const sd = sampleStandardDeviation(d);
  const df = n - 1;
  if (sd === 0) {
    // every pair differs by the same amount: no variance to test against
    const p = md === 0 ? 1 : 0;
    return { n, meanDiff: md, sdDiff: 0, t: md === 0 ? 0 : Math.sign(md) * Infinity, df, pValue: p, ci95: [md, md] };
  }
  const se = sd / Math.sqrt(n);
  const t = md / se;
  const pValue = Math.min(1, 2 * jStat.studentt.cdf(-Math.abs(t), df));
  const q = jStat.studentt.inv(0.975, df);
  return { n, meanDiff: md, sdDiff: sd, t, df, pValue, ci95: [md - q * se, md + q * se] };
}

/** Mean and 95 % t-interval of a sample. */
export function meanCI(xs: readonly number[]): { mean: number; ci95: [number, number] } {
  const m = mean(xs as number[]);
  if (xs.length < 2) return { mean: m, ci95: [m, m] };
  const se = sampleStandardDeviation(xs as number[]) / Math.sqrt(xs.length);
  const q = jStat.studentt.inv(0.975, xs.length - 1);
  return { mean: m, ci95: [m - q * se, m + q * se] };
}

/** Least-squares slope of ys against 0..n-1 (used for "is the loss still falling?"). */
export function slope(ys: readonly number[]): number {
  const n = ys.length;
  if (n < 2) return 0;
  const mx = (n - 1) / 2;
  const my = mean(ys as number[]);
  let num = 0;
  let den = 0;
  ys.forEach((y, i) => {
    num += (i - mx) * (y - my);
    den += (i - mx) * (i - mx);
  });
  return num / den;
}

export function round(x: number, digits = 6): number {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
