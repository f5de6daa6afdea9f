import type { PipelinePhase } from '@agent-forge/contracts';
import { QualityGateResponse } from '@agent-forge/contracts';
import type { SessionSnapshot } from '@agent-forge/state';
import { DEFAULT_TIME_BUDGET_SECONDS, GatePhaseError, evaluateQualityGates, selectGatePhase, timeBudgetSeconds } from './quality-gates';

function snapshot(
  phases: Partial<Record<PipelinePhase, Record<string, string>>>,
  opts: { current?: string; config?: Record<string, unknown>; requested?: PipelinePhase[] } = {},
): SessionSnapshot {
  return {
    session: {
      session_id: 'sess-1',
      status: 'running',
      phases: JSON.stringify(opts.requested ?? ['cognate', 'evomerge']),
      current_phase: opts.current ?? 'evomerge',
      config: JSON.stringify(opts.config ?? {}),
    },
    phases,
    agents: [],
  };
}

const done = { status: 'completed', progress: '100', duration_seconds: '12.5', custom_metrics: JSON.stringify({ loss: 0.1 }) };

describe('quality gates (pure)', () => {
  it('passes every gate of a completed phase with metrics inside its budget', () => {
    const r = evaluateQualityGates(snapshot({ cognate: done, evomerge: { status: 'running', progress: '10' } }), 'cognate');
    expect(QualityGateResponse.parse(r)).toEqual(r);
    expect(r).toMatchObject({ phase: 'cognate', all_gates_passed: true, overall_passed: true, gates_passed: 4, gates_failed: 0, can_proceed: true, session_id: 'sess-1', theater_detection: null, blocking_failures: [] });
    expect(r.gate_results.map((g) => g.gate_name)).toEqual(['Phase Completed', 'Time Budget', 'Progress Complete', 'Metrics Present']);
    for (const g of r.gate_results) expect(g).toMatchObject({ passed: true, score: 1, threshold: 1, recommendations: [] });
    expect(r.gate_results[1]?.details).toEqual({ state: 'evaluated', duration_seconds: 12.5, budget_seconds: DEFAULT_TIME_BUDGET_SECONDS });
    expect(r.gate_results[3]?.details).toEqual({ state: 'evaluated', metric_count: 1, metric_keys: ['loss'] });
    expect(r.results).toEqual(r.gate_results.map((g) => ({ phase: 'cognate', gate_name: g.gate_name, passed: g.passed, score: g.score, threshold: g.threshold, metrics: g.details })));
  });

  it('scores a failed phase by the fraction of checks passed, with specific recommendations', () => {
    const failed = { status: 'failed', progress: '60', duration_seconds: '90', error_message: 'out of memory', custom_metrics: '{}' };
    const r = evaluateQualityGates(snapshot({ cognate: failed }, { config: { cognate: { timeout_seconds: 30 } } }), 'cognate');
    const byName = Object.fromEntries(r.gate_results.map((g) => [g.gate_name, g]));
    expect(byName['Phase Completed']).toMatchObject({ passed: false, score: 0, details: { phase_status: 'failed', error_message: 'out of memory' } });
    expect(byName['Phase Completed']?.recommendations).toHaveLength(2);
    expect(byName['Phase Completed']?.recommendations[1]).toContain('out of memory');
    expect(byName['Time Budget']).toMatchObject({ passed: false, score: 0, details: { duration_seconds: 90, budget_seconds: 30 } });
    expect(byName['Time Budget']?.recommendations[0]).toContain('over its 30 s budget');
    expect(byName['Progress Complete']).toMatchObject({ passed: false, details: { progress_percent: 60 } });
    expect(byName['Metrics Present']).toMatchObject({ passed: false, details: { metric_count: 0 } });
    expect(r).toMatchObject({ all_gates_passed: false, gates_passed: 0, gates_failed: 4, can_proceed: false, blocking_failures: ['Phase Completed', 'Progress Complete'] });
  });

  it('gives half a score when one of two checks passes', () => {
    const r = evaluateQualityGates(snapshot({ cognate: { ...done, error_message: 'warned' } }), 'cognate');
    expect(r.gate_results[0]).toMatchObject({ gate_name: 'Phase Completed', passed: false, score: 0.5 });
  });

  it('lists the gates of an unfinished phase as pending', () => {
    const r = evaluateQualityGates(snapshot({ cognate: done, evomerge: { status: 'running', progress: '40' } }), 'evomerge');
    for (const g of r.gate_results) expect(g).toMatchObject({ passed: false, score: 0, details: { state: 'pending', phase_status: 'running' } });
    expect(r.can_proceed).toBe(false);
    // a requested phase with no hash yet (never started) is pending too
    const never = evaluateQualityGates(snapshot({}), 'evomerge');
    expect(never.gate_results[0]?.details).toEqual({ state: 'pending', phase_status: 'pending' });
  });

  it('takes the time budget from quality_gates, then the phase timeout, then the default', () => {
    expect(timeBudgetSeconds({ quality_gates: { time_budget_seconds: 10 }, cognate: { timeout_seconds: 20 } }, 'cognate')).toBe(10);
    expect(timeBudgetSeconds({ quality_gates: { time_budget_seconds: { cognate: 15 } } }, 'cognate')).toBe(15);
    expect(timeBudgetSeconds({ quality_gates: { time_budget_seconds: { evomerge: 15 } }, cognate: { timeout_seconds: 20 } }, 'cognate')).toBe(20);
    expect(timeBudgetSeconds({}, 'cognate')).toBe(DEFAULT_TIME_BUDGET_SECONDS);
    expect(timeBudgetSeconds({ quality_gates: { time_budget_seconds: -1 } }, 'cognate')).toBe(DEFAULT_TIME_BUDGET_SECONDS);
  });

  it('selects the requested phase, else the current one, else the last requested', () => {
    expect(selectGatePhase(snapshot({}, { current: 'cognate' }), undefined)).toBe('cognate');
    expect(selectGatePhase(snapshot({}, { current: '' }), undefined)).toBe('evomerge');
    expect(selectGatePhase(snapshot({}), 'cognate')).toBe('cognate');
    expect(() => selectGatePhase(snapshot({}), 'training')).toThrow(GatePhaseError);
    expect(() => selectGatePhase(snapshot({}), 'training')).toThrow(/not part of this session/);
  });
});
