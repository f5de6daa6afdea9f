import { CONTROL_TRANSITIONS, ControlAction, PIPELINE_PHASES, PIPELINE_STATUSES, makeEnvelope, type StatusResponse } from '@agent-forge/contracts';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  AgentForgeClient,
  InvalidStateTransitionError,
  NotFoundError,
  PHASE_ORDER,
  RateLimitedError,
  SessionTracker,
  UnauthenticatedError,
  ValidationError,
  allowedActions,
  apiErrorFrom,
  compareEventIds,
  numericSeries,
  type LiveEvent,
} from './index';
import { ConfigFileError, resolveConnection } from './node';

describe('tables mirrored from the contract', () => {
  it('allowedActions follows CONTROL_TRANSITIONS for every status', () => {
    for (const status of PIPELINE_STATUSES) {
      const expected = ControlAction.options.filter((a) => CONTROL_TRANSITIONS[a].from.includes(status));
      expect(allowedActions(status)).toEqual(expected);
    }
  });
  it('PHASE_ORDER is PIPELINE_PHASES', () => {
    expect([...PHASE_ORDER]).toEqual([...PIPELINE_PHASES]);
  });
});

describe('errors', () => {
  const body = (code: string, details: Record<string, unknown> | null = null) => ({ error: 'x', error_code: code, details, timestamp: 't', detail: 'x' });
  it.each([
    [422, 'VALIDATION_ERROR', ValidationError],
    [400, 'INVALID_STATE_TRANSITION', InvalidStateTransitionError],
    [404, 'SESSION_NOT_FOUND', NotFoundError],
    [401, 'UNAUTHENTICATED', UnauthenticatedError],
    [429, 'RATE_LIMITED', RateLimitedError],
  ])('%i %s is a %p carrying error_code, status and details', (status, code, Cls) => {
    const e = apiErrorFrom({ status, body: body(code, { field: 'bad' }), method: 'GET', url: 'u', retryAfter: '3' });
    expect(e).toBeInstanceOf(Cls);
    expect(e).toMatchObject({ status, error_code: code, details: { field: 'bad' }, retryAfterSeconds: 3 });
  });
  it('keeps a non-JSON answer readable', () => {
    const e = apiErrorFrom({ status: 502, body: '<html>bad gateway</html>', method: 'GET', url: 'u' });
    expect(e.error_code).toBe('UNAVAILABLE');
    expect(e.message).toContain('bad gateway');
  });
});

describe('event ids', () => {
  it('compare numerically, part by part', () => {
    expect(compareEventIds('9-0', '10-0')).toBe(-1);
    expect(compareEventIds('10-2', '10-10')).toBe(-1);
    expect(compareEventIds('10-1', '10-1')).toBe(0);
    expect(compareEventIds('11-0', '10-99')).toBe(1);
  });
});

describe('SessionTracker', () => {
  const status = (over: Partial<StatusResponse> = {}): StatusResponse => ({
    session_id: 's',
    status: 'running',
    current_phase: 'cognate',
    phases_completed: [],
    phases_remaining: ['cognate', 'evomerge'],
    total_progress_percent: 10,
    elapsed_seconds: 2,
    estimated_remaining_seconds: 18,
    phase_metrics: [
      { phase: 'cognate', status: 'running', progress_percent: 20, duration_seconds: 2, memory_usage_mb: 1, gpu_utilization_percent: null, custom_metrics: {}, error_message: null, artifacts: {} },
      { phase: 'evomerge', status: 'pending', progress_percent: 0, duration_seconds: 0, memory_usage_mb: 0, gpu_utilization_percent: null, custom_metrics: {}, error_message: null, artifacts: {} },
    ],
    agent_count: 1,
    active_agents: [],
    last_checkpoint: null,
    progress_percent: 10,
    phases: ['cognate', 'evomerge'],
    metrics: {},
    created_at: 't',
    updated_at: 't',
    status_reason: null,
    heartbeat_age_seconds: 0,
    worker_id: null,
    ...over,
  });
  const ev = (e: ReturnType<typeof makeEnvelope>): LiveEvent => e as unknown as LiveEvent;

  it('folds status, progress, phase completion, metrics and errors; ETA from elapsed and progress', () => {
    let now = 1_000_000;
    const t = new SessionTracker('s', { now: () => now });
    t.applyStatus(status());
    expect(t.view.phases.map((p) => [p.phase, p.status])).toEqual([['cognate', 'running'], ['evomerge', 'pending']]);
    now += 2000; // 4 s elapsed at 10 % → 36 s left
    t.tick();
    expect(t.view.elapsed_seconds).toBeCloseTo(4);
    expect(t.view.eta_seconds).toBeCloseTo(36);
    t.applyEvent(ev(makeEnvelope('pipeline_progress', 's', { phase: 'evomerge', progress_percent: 30, total_progress_percent: 65, status: 'running', metrics: {} })));
    expect(t.view.phases[0]).toMatchObject({ status: 'completed', progress_percent: 100 }); // missed phase_complete
    expect(t.view.total_progress_percent).toBe(65);
    // an older frame never moves progress back
    t.applyEvent(ev(makeEnvelope('pipeline_progress', 's', { phase: 'evomerge', progress_percent: 10, total_progress_percent: 55, status: 'running', metrics: {} })));
    expect(t.view.total_progress_percent).toBe(65);
    expect(t.view.phases[1]!.progress_percent).toBe(30);
    t.applyEvent(ev(makeEnvelope('metrics', 's', { metrics: { cpu_percent: 50, memory_mb: 100, gpu_utilization: null, throughput_ops: 1, worker_id: 'w' }, phase: 'evomerge' })));
    expect(t.view.samples[0]).toMatchObject({ source: 'worker', cpu_percent: 50, memory_mb: 100 });
    t.applyEvent(ev(makeEnvelope('phase_complete', 's', { phase: 'evomerge', success: true, duration_seconds: 3, metrics: { fitness_scores: [0.1, 0.2] } })));
    t.applyEvent(ev(makeEnvelope('pipeline_progress', 's', { phase: 'evomerge', progress_percent: 100, total_progress_percent: 100, status: 'completed', metrics: {} })));
    expect(t.terminal).toBe(true);
    expect(t.view.eta_seconds).toBe(0);
    expect(numericSeries(t.view.phases[1]!.custom_metrics)).toEqual([{ name: 'fitness_scores', values: [0.1, 0.2] }]);
    // a late running frame cannot undo the end
    t.applyEvent(ev(makeEnvelope('pipeline_progress', 's', { phase: 'evomerge', progress_percent: 90, total_progress_percent: 95, status: 'running', metrics: {} })));
    expect(t.view.status).toBe('completed');
  });
});

describe('client', () => {
  it('sends the bearer token and JSON, and throws typed errors', async () => {
    const calls: { url: string; init: RequestInit }[] = [];
    const fakeFetch = (async (url: string, init: RequestInit) => {
      calls.push({ url, init });
      return new Response(JSON.stringify({ error: 'no', error_code: 'SESSION_NOT_FOUND', details: { session_id: 'x' }, timestamp: 't', detail: 'no' }), { status: 404, headers: { 'x-request-id': 'r1' } });
    }) as unknown as typeof fetch;
    const c = new AgentForgeClient({ baseUrl: 'http://h:1/', token: () => 'tok', fetch: fakeFetch });
    await expect(c.status('x')).rejects.toMatchObject({ name: 'NotFoundError', error_code: 'SESSION_NOT_FOUND', status: 404, requestId: 'r1' });
    expect(calls[0]!.url).toBe('http://h:1/api/v1/pipeline/status/x');
    expect((calls[0]!.init.headers as Record<string, string>).authorization).toBe('Bearer tok');
    expect(c.wsUrl('pipeline', { session_id: 'x', last_event_id: undefined })).toBe('ws://h:1/ws/pipeline?session_id=x');
  });
});

describe('resolveConnection', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'af-sdk-'));
  const project = path.join(dir, 'project');
  const nested = path.join(project, 'a', 'b');
  mkdirSync(path.join(project, '.agent-forge'), { recursive: true });
  mkdirSync(nested, { recursive: true });
  writeFileSync(path.join(project, '.agent-forge', 'dev-token'), 'dev-tok\n');
  const home = path.join(dir, 'home');

  it('defaults to 127.0.0.1:8080 and picks up the local dev token from a parent directory', () => {
    expect(resolveConnection({ env: {}, cwd: nested, home })).toMatchObject({ url: 'http://127.0.0.1:8080', token: 'dev-tok', urlSource: 'default', tokenSource: 'dev-token' });
  });
  it('never sends the dev token to a remote URL', () => {
    expect(resolveConnection({ env: { AGENT_FORGE_URL: 'https://forge.example.com' }, cwd: nested, home })).toMatchObject({ token: null, urlSource: 'env' });
  });
  it('flag > env > config file', () => {
    const cfg = path.join(dir, 'c.yaml');
    writeFileSync(cfg, 'url: http://10.0.0.1:9000\ntoken: file-tok\n');
    expect(resolveConnection({ env: { AGENT_FORGE_CONFIG: cfg }, cwd: dir, home })).toMatchObject({ url: 'http://10.0.0.1:9000', token: 'file-tok', tokenSource: 'config' });
    expect(resolveConnection({ env: { AGENT_FORGE_CONFIG: cfg, AGENT_FORGE_TOKEN: 'env-tok' }, cwd: dir, home })).toMatchObject({ token: 'env-tok', tokenSource: 'env' });
    expect(resolveConnection({ url: 'http://127.0.0.1:1', token: 'flag-tok', env: { AGENT_FORGE_CONFIG: cfg, AGENT_FORGE_TOKEN: 'env-tok' }, cwd: dir, home })).toMatchObject({ url: 'http://127.0.0.1:1', token: 'flag-tok', urlSource: 'flag', tokenSource: 'flag' });
  });
  it('reports a bad config file or URL', () => {
    const bad = path.join(dir, 'bad.json');
    writeFileSync(bad, '{"url": 5}');
    expect(() => resolveConnection({ configFile: bad, env: {}, cwd: dir, home })).toThrow(ConfigFileError);
    expect(() => resolveConnection({ url: 'ftp://x', env: {}, cwd: dir, home })).toThrow(/invalid endpoint URL/);
  });
});
