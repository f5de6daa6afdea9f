/**
 * What one theater indicator reports: each check compares a claim with what the engine measured,
 * names the tolerance it used, and carries a severity in [0, 1]. The indicator's score is its
 * most severe check (one clear lie is enough; honest checks do not dilute it). An indicator with
 * no check had nothing to measure: score 0, and it lowers the detection's confidence.
 */
export type Value = number | boolean | string | null;

export interface IndicatorCheck {
  check: string;
  claimed: Value;
  measured: Value;
  tolerance: Value;
  passed: boolean;
  severity: number;
  detail: string;
}

export interface IndicatorReport {
  score: number;
  fired: boolean;
  /** False when there was nothing to compare (no claim of this kind, no model to measure). */
  measured: boolean;
  checks: IndicatorCheck[];
}

export function report(checks: IndicatorCheck[]): IndicatorReport {
  const score = checks.reduce((s, c) => Math.max(s, c.severity), 0);
  return { score, fired: checks.some((c) => !c.passed), measured: checks.length > 0, checks };
}

/**
 * Severity of a numeric gap: 0 within tolerance, 0.5 just beyond it, 1 at twice the tolerance or
 * more — a marginal miss alone does not make a phase theater, a gross one does.
 */
export function gapSeverity(gap: number, tolerance: number): number {
  if (!(gap > tolerance)) return 0;
  if (tolerance <= 0) return 1;
  return Math.min(1, 0.5 + (0.5 * (gap - tolerance)) / tolerance);
}

/**
 * Which side of the measurement a claim must stay on. Theater is claiming *more* than was done:
 * a claim that undersells (a smaller compression ratio than the bytes show, say, computed on a
 * different basis) is not held against a phase. `both` for figures where any gap is a false claim.
 */
export type ClaimSide = 'both' | 'not-above' | 'not-below';

function signedGap(claimed: number, measured: number, side: ClaimSide): number {
  const d = claimed - measured;
  return side === 'both' ? Math.abs(d) : side === 'not-above' ? Math.max(0, d) : Math.max(0, -d);
}

/** A numeric check: |claimed − measured| ≤ tolerance (absolute), on the side that matters. */
export function closeTo(check: string, claimed: number, measured: number, tolerance: number, detail: string, side: ClaimSide = 'both'): IndicatorCheck {
  const gap = signedGap(claimed, measured, side);
  const severity = gapSeverity(gap, tolerance);
  return { check, claimed, measured: round(measured), tolerance, passed: severity === 0, severity, detail };
}

/** A numeric check on the relative gap: |claimed − measured| / measured ≤ tolerance, on the side that matters. */
export function relativelyClose(check: string, claimed: number, measured: number, tolerance: number, detail: string, side: ClaimSide = 'both'): IndicatorCheck {
  const gap = measured === 0 ? (signedGap(claimed, 0, side) === 0 ? 0 : Infinity) : signedGap(claimed, measured, side) / Math.abs(measured);
  const severity = gapSeverity(gap, tolerance);
  return { check, claimed, measured: round(measured), tolerance, passed: severity === 0, severity, detail };
}

export function flag(check: string, ok: boolean, claimed: Value, measured: Value, tolerance: Value, detail: string): IndicatorCheck {
  return { check, claimed, measured, tolerance, passed: ok, severity: ok ? 0 : 1, detail };
}

export function round(x: number, digits = 6): number {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** `a.b.c` lookup in a metrics object. */
export function metric(m: Record<string, unknown>, path: string): number | null {
  return num(path.split('.').reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), m));
}
