import {
  TheaterDetection,
  type GateResult,
  type PhaseMetrics,
  type PipelinePhase,
  type QualityGateResponse,
} from '@agent-forge/contracts';
import { phaseMetrics, requestedPhases, type SessionSnapshot } from '@agent-forge/state';
import { isPlainObject } from '../validate';

/**
 * Quality gates judged only from what was measured for a phase (no invented numbers): each gate
 * is a list of checks, its score the fraction that passed, and it passes at score ≥ threshold.
 * Gates of a phase that has not finished are listed as pending (`passed: false`).
 */
export const DEFAULT_TIME_BUDGET_SECONDS = 3600;
const THRESHOLD = 1;
const FINISHED = new Set(['completed', 'failed', 'cancelled']);

export class GatePhaseError extends Error {
  override readonly name = 'GatePhaseError';
}

/** The phase to judge: the requested one (must belong to the session), else current, else last. */
export function selectGatePhase(snap: SessionSnapshot, requested: PipelinePhase | undefined): PipelinePhase {
  const phases = requestedPhases(snap);
  if (requested) {
    if (!phases.includes(requested)) {
      throw new GatePhaseError(`phase "${requested}" is not part of this session (its phases: ${phases.join(', ')})`);
    }
    return requested;
  }
  const current = snap.session.current_phase as PipelinePhase | undefined;
  if (current && phases.includes(current)) return current;
  const last = phases[phases.length - 1];
  if (!last) throw new GatePhaseError('the session has no phases');
  return last;
}

/** The phase's time budget: `config.quality_gates.time_budget_seconds` (number or per phase), else `config.<phase>.timeout_seconds`, else 3600. */
export function timeBudgetSeconds(config: Record<string, unknown>, phase: PipelinePhase): number {
  const positive = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : null);
  const gates = config.quality_gates;
  if (isPlainObject(gates)) {
    const budget = gates.time_budget_seconds;
    const fromGates = positive(budget) ?? (isPlainObject(budget) ? positive(budget[phase]) : null);
    if (fromGates !== null) return fromGates;
  }
  const section = config[phase];
  if (isPlainObject(section)) {
    const t = positive(section.timeout_seconds);
    if (t !== null) return t;
  }
  return DEFAULT_TIME_BUDGET_SECONDS;
}

interface Check {
  ok: boolean;
  recommendation: string;
}
interface GateSpec {
  name: string;
  blocking: boolean;
  evaluate(m: PhaseMetrics): { checks: Check[]; details: Record<string, unknown> };
}

function gateSpecs(phase: PipelinePhase, budget: number): GateSpec[] {
  return [
    {
      name: 'Phase Completed',
      blocking: true,
      evaluate: (m) => ({
        checks: [
          { ok: m.status === 'completed', recommendation: `phase ${phase} ended ${m.status}; re-run it (load a checkpoint) before relying on its output` },
          { ok: m.error_message === null, recommendation: `phase ${phase} reported an error: ${m.error_message ?? ''}; fix its cause and re-run` },
        ],
        details: { phase_status: m.status, error_message: m.error_message },
      }),
    },
    {
      name: 'Time Budget',
      blocking: false,
      evaluate: (m) => ({
        checks: [
          {
            ok: m.duration_seconds <= budget,
            recommendation: `phase ${phase} took ${m.duration_seconds} s, over its ${budget} s budget; lower its workload or raise config.quality_gates.time_budget_seconds / config.${phase}.timeout_seconds`,
          },
        ],
        details: { duration_seconds: m.duration_seconds, budget_seconds: budget },
      }),
    },
    {
      name: 'Progress Complete',
      blocking: true,
      evaluate: (m) => ({
        checks: [{ ok: m.progress_percent >= 100, recommendation: `phase ${phase} stopped at ${m.progress_percent}% progress; run it to the end` }],
        details: { progress_percent: m.progress_percent },
      }),
    },
    {
      name: 'Metrics Present',
      blocking: false,
      evaluate: (m) => {
        const keys = Object.keys(m.custom_metrics);
        return {
          checks: [{ ok: keys.length > 0, recommendation: `phase ${phase} recorded no metrics; make its executor report custom metrics` }],
          details: { metric_count: keys.length, metric_keys: keys },
        };
      },
    },
  ];
}

type StoredGate = GateResult & { blocking?: boolean };

function storedGateResults(snap: SessionSnapshot, phase: PipelinePhase): StoredGate[] {
  const raw = snap.phases[phase]?.gate_results;
  if (!raw) return [];
  try {
    const parsed: unknown = JSON.parse(raw);
    return Array.isArray(parsed) ? (parsed as StoredGate[]).filter((g) => isPlainObject(g) && typeof g.gate_name === 'string') : [];
  } catch {
    return [];
  }
}

/**
 * The theater detection the worker ran when the phase ended: it is kept in the details of the
 * phase's Theater Elimination gate. null when no detection ran (the phase has not finished, its
 * session runs without monitoring, or its executor is the dry-run simulator).
 */
function storedTheaterDetection(gates: StoredGate[]): TheaterDetection | null {
  for (const g of gates) {
    const parsed = TheaterDetection.safeParse(isPlainObject(g.details) ? g.details.theater_detection : undefined);
    if (parsed.success) return parsed.data;
  }
  return null;
}

export function evaluateQualityGates(snap: SessionSnapshot, phase: PipelinePhase, nowMs = Date.now()): QualityGateResponse {
  const metrics = phaseMetrics(snap, nowMs).find((m) => m.phase === phase);
  if (!metrics) throw new GatePhaseError(`phase "${phase}" is not part of this session`);
  let config: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(snap.session.config || '{}');
    if (isPlainObject(parsed)) config = parsed;
  } catch {
    /* a session without readable config judges against defaults */
  }
  const finished = FINISHED.has(metrics.status);
  const specs = gateSpecs(phase, timeBudgetSeconds(config, phase));
  const blocking: string[] = [];
  const gateResults: GateResult[] = specs.map((spec) => {
    if (!finished) {
      if (spec.blocking) blocking.push(spec.name);
      return {
        gate_name: spec.name,
        passed: false,
        score: 0,
        threshold: THRESHOLD,
        details: { state: 'pending', phase_status: metrics.status },
        recommendations: [`phase ${phase} has not finished (${metrics.status}); evaluate again once it has`],
      };
    }
    const { checks, details } = spec.evaluate(metrics);
    const score = Math.round((checks.filter((c) => c.ok).length / checks.length) * 1000) / 1000;
    const passed = score >= THRESHOLD;
    if (!passed && spec.blocking) blocking.push(spec.name);
    return {
      gate_name: spec.name,
      passed,
      score,
      threshold: THRESHOLD,
      details: { state: 'evaluated', ...details },
      recommendations: checks.filter((c) => !c.ok).map((c) => c.recommendation),
    };
  });
  // The phase's own gates (e.g. the forge's catalogue), judged by the worker when the phase ended.
  const stored = storedGateResults(snap, phase);
  for (const g of stored) {
    gateResults.push({ gate_name: g.gate_name, passed: g.passed, score: g.score, threshold: g.threshold, details: g.details, recommendations: g.recommendations });
    if (g.blocking && !g.passed) blocking.push(g.gate_name);
  }
  const passedCount = gateResults.filter((g) => g.passed).length;
  const all = passedCount === gateResults.length;
  return {
    phase,
    all_gates_passed: all,
    gates_passed: passedCount,
    gates_failed: gateResults.length - passedCount,
    gate_results: gateResults,
    theater_detection: storedTheaterDetection(stored),
    blocking_failures: blocking,
    can_proceed: blocking.length === 0,
    session_id: snap.session.session_id ?? '',
    overall_passed: all,
    results: gateResults.map((g) => ({ phase, gate_name: g.gate_name, passed: g.passed, score: g.score, threshold: g.threshold, metrics: g.details })),
  };
}
