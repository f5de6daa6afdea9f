/**
 * Tolerances of theater detection and its threshold. Overridable per pipeline in
 * `config.quality_gates.theater_elimination` (same object as the gate's threshold `theater_score`).
 *
 * Calibrated on the eight built-in phases at default config, seed 1337, scale 1 (full_pipeline
 * and compression_only chains, measured 2026-11-25):
 * - claims vs re-measurement: the audit split is easier than the validation split the phases
 *   report on, so every honest claim came out *worse* than the re-measurement (accuracy by
 *   0.004–0.065, loss by 0.006–0.26 nats); the check is one-sided, and 0.05 / 0.15 is the margin
 *   a claim may be better than measured (seeds and scales move the splits a little);
 * - improvements: claimed gains were at most 0.007 nats above the measured one (evomerge);
 * - cross-checked at seed 42 (scale 1), seed 7 (scale 0.5) and scale 2 (cognate → evomerge →
 *   bitnet → compression): every claim again worse than measured (loss by 0.09–0.37 nats), claimed
 *   gains at most 0.059 nats (compression, seed 42) or 0.014 accuracy (bitnet, scale 2) above
 *   the measured ones, all scores 0;
 * - relative weight change: smallest 0.05 (evomerge), then 0.26 (training); quietstar and adas
 *   change the architecture. 0.001 is 50× below the smallest honest change;
 * - sizes, ratios and sparsity: exact (the forge reports the real bytes); 1 % covers rounding;
 * - a lie looks like: claiming 0.99 accuracy for a model that measures ~0.5 (gap ~0.5), a
 *   compression ratio of 30 for an artifact 7.9× smaller.
 */
export interface TheaterTolerances {
  /** How much better than re-measured a claimed held-out next-character accuracy may be (absolute). */
  accuracy_tolerance: number;
  /** How much lower than re-measured a claimed held-out loss may be, in nats; perplexity and fitness (exp(−loss)) are compared as loss. */
  loss_tolerance: number;
  /** Below this relative L2 change ‖out − in‖ / ‖in‖ the output is "the input, barely touched". */
  min_weight_change: number;
  /** Relative gap allowed between claimed and real byte sizes / compression ratios. */
  size_tolerance: number;
  /** |claimed − measured| fraction of zero weights. */
  sparsity_tolerance: number;
  /** Claimed speed-up may exceed the measured one by this factor (timing on a shared machine is noisy). */
  speedup_tolerance: number;
  /** The detection fires above this theater score (also the Theater Elimination gate's threshold). */
  theater_score: number;
}

export const DEFAULT_THEATER_TOLERANCES: TheaterTolerances = {
  accuracy_tolerance: 0.05,
  loss_tolerance: 0.15,
  min_weight_change: 0.001,
  size_tolerance: 0.01,
  sparsity_tolerance: 0.02,
  speedup_tolerance: 2,
  theater_score: 0.3,
};

/** Defaults with the numeric overrides of `config.quality_gates.theater_elimination` applied. */
export function theaterTolerances(overrides: Record<string, unknown> | undefined): TheaterTolerances {
  const out = { ...DEFAULT_THEATER_TOLERANCES };
  for (const k of Object.keys(out) as (keyof TheaterTolerances)[]) {
    const v = overrides?.[k];
    if (typeof v === 'number' && Number.isFinite(v) && v >= 0) out[k] = v;
  }
  return out;
}
