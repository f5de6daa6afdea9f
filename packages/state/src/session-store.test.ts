import { ALL_TENANTS } from '@agent-forge/state';
import { type PipelinePhase, type ControlAction, type PipelineStatus, CONTROL_TRANSITIONS } from '@agent-forge/contracts';
import { randomUUID } from 'node:crypto';
import { EventReader } from './events';
import { SessionStore } from './session-store';
import { createTestRedis } from './test-support';
import { toStatusResponse } from './views';

const t = createTestRedis('state');
const store = new SessionStore(t.redis, t.keys);
const reader = new EventReader(t.redis, t.keys);
afterAll(() => t.cleanup());

async function newSession(phases: PipelinePhase[] = ['cognate', 'evomerge']) {
  const sessionId = randomUUID();
  await store.create({
    sessionId,
    tenant: 'default',
    phases: [...phases],
    config: {},
    enableMonitoring: true,
    enableCheckpoints: true,
    topology: 'hierarchical',
    maxAgents: 10,
    preset: null,
  });
  return sessionId;
}
const outcome = { customMetrics: { steps: 3 }, durationSeconds: 1.5, memoryMb: 50, gpuUtilization: null, gateResults: [] };

describe('SessionStore', () => {
  it('keeps the active-agent count in step with every agent record, and emits each as agent_update', async () => {
    const id = await newSession();
    const agent = (agent_id: string, state: 'idle' | 'active' | 'executing' | 'error' | 'stopped') => ({
      // An idle agent whose task reads like an active state: the count must not be fooled by it.
      agent_id, role: 'worker', phase: 'cognate' as const, state, current_task: state === 'executing' ? 'merge "a" \u0022' : state === 'idle' ? '"state":"executing"' : null,
      memory_usage_mb: 10, cpu_usage_percent: 5, uptime_seconds: 1,
    });
    const steps = [
      [agent('a1', 'executing'), 1],
      [agent('a1', 'executing'), 1], // the same state again counts once
      [agent('a2', 'active'), 2],
      [agent('a3', 'idle'), 2],
      [agent('a1', 'stopped'), 1],
      [agent('a2', 'error'), 0],
      [agent('a3', 'executing'), 1],
    ] as const;
    for (const [a, expected] of steps) {
      await store.updateAgent(id, a);
      expect((await store.summary(id))!.active_agents).toBe(expected);
    }
    const events = (await reader.readAfter(id)).filter((e) => e.event_type === 'agent_update');
    expect(events.map((e) => `${String(e.data.agent_id)}:${String(e.data.state)}`)).toEqual(steps.map(([a]) => `${a.agent_id}:${a.state}`));
    expect(events[0]!.data).toEqual({ agent_id: 'a1', role: 'worker', phase: 'cognate', state: 'executing', task: 'merge "a" \u0022', memory_usage_mb: 10, cpu_usage_percent: 5 });
    const snap = await store.snapshot(id, ALL_TENANTS);
    expect(snap!.agents.filter((a) => a.state === 'active' || a.state === 'executing').map((a) => a.agent_id)).toEqual(['a3']);
  });

  it('creates a session at its first phase, listed as active and in history', async () => {
    const id = await newSession();
    const snap = await store.snapshot(id, ALL_TENANTS);
    const status = toStatusResponse(snap!);
    expect(status.status).toBe('initializing');
    expect(status.current_phase).toBe('cognate');
    expect(status.phases_remaining).toEqual(['cognate', 'evomerge']);
    expect(await store.activeSessionIds(ALL_TENANTS)).toContain(id);
    expect(await t.redis.zscore(t.keys.history(), id)).not.toBeNull();
  });

  it('keeps the active count exact through claims and chained completions, which write it once per script', async () => {
    const id = await newSession(['cognate', 'evomerge']);
    const agent = (phase: PipelinePhase, state: 'executing' | 'stopped') => ({
      agent_id: `${phase}-runner`, role: 'coordinator', phase, state, current_task: null, memory_usage_mb: 1, cpu_usage_percent: 0, uptime_seconds: 0,
    });
    const active = async () => (await store.summary(id))!.active_agents;
    const claim = await store.startPhase(id, 'cognate', 1, 'w1', agent('cognate', 'executing'));
    expect(await active()).toBe(1);
    // cognate's agent stops and evomerge's starts in the same script: still one active.
    const known = { config: (claim as { config: Record<string, unknown> }).config, phases: ['cognate', 'evomerge'] as PipelinePhase[] };
    const next = await store.completePhase(id, 'cognate', 1, 'job-a', { ...outcome, agent: agent('cognate', 'stopped') }, { workerId: 'w1', agent: agent('evomerge', 'executing'), known });
    expect(next).toMatchObject({ kind: 'next', phase: 'evomerge', claim: { kind: 'run' } });
    expect(await active()).toBe(1);
    await store.completePhase(id, 'evomerge', 1, 'job-a', { ...outcome, agent: agent('evomerge', 'stopped') });
    expect(await active()).toBe(0);
    const states = (await reader.readAfter(id)).filter((e) => e.event_type === 'agent_update').map((e) => `${String(e.data.agent_id)}:${String(e.data.state)}`);
    expect(states).toEqual(['cognate-runner:executing', 'cognate-runner:stopped', 'evomerge-runner:executing', 'evomerge-runner:stopped']);
  });

  it('keeps total progress exact from its completed-phase count: redelivered completions, a restore to an earlier point, a session stored before the count existed', async () => {
    const phases: PipelinePhase[] = ['cognate', 'evomerge', 'quietstar', 'bitnet'];
    const total = async (id: string) => toStatusResponse((await store.snapshot(id, ALL_TENANTS))!).total_progress_percent;
    const id = await newSession(phases);
    await store.startPhase(id, 'cognate', 1, 'w1');
    await store.completePhase(id, 'cognate', 1, 'job-a', outcome);
    await store.completePhase(id, 'cognate', 1, 'job-a', outcome); // redelivered: counted once
    const afterOne = (await store.snapshot(id, ALL_TENANTS))!;
    await store.startPhase(id, 'evomerge', 1, 'w1');
    await store.progress(id, 'evomerge', 1, { percent: 40, metrics: {}, message: '', memoryMb: 1 });
    expect(await total(id)).toBe(35); // (100 + 40) / 4
    // Back to the point after the first phase: the count is the snapshot's, not the live one.
    await store.completePhase(id, 'evomerge', 1, 'job-b', outcome);
    await store.control(id, 'stop', 'test', ALL_TENANTS);
    expect((await store.restore(afterOne)).kind).toBe('ok');
    expect(await total(id)).toBe(25);
    await store.startPhase(id, 'evomerge', 2, 'w1');
    await store.progress(id, 'evomerge', 2, { percent: 50, metrics: {}, message: '', memoryMb: 1 });
    expect(await total(id)).toBe(37.5);
    // A session written before the count existed: counted from its phase hashes once, then kept.
    await t.redis.hdel(t.keys.session(id), 'completed_count');
    await store.completePhase(id, 'evomerge', 2, 'job-c', outcome);
    expect(await total(id)).toBe(50);
    await store.startPhase(id, 'quietstar', 2, 'w1');
    await store.completePhase(id, 'quietstar', 2, 'job-d', outcome);
    expect(await total(id)).toBe(75);
  });

  it('runs phases to completion exactly once, ignoring a redelivered completion', async () => {
    const id = await newSession();
    expect((await store.startPhase(id, 'cognate', 1, 'w1')).kind).toBe('run');
    expect(await store.progress(id, 'cognate', 1, { percent: 50, metrics: { step: 1 }, message: 'half', memoryMb: 10 })).toBe('running');
    expect(toStatusResponse((await store.snapshot(id, ALL_TENANTS))!).total_progress_percent).toBe(25);
    expect(await store.completePhase(id, 'cognate', 1, 'job-a', outcome)).toEqual({ kind: 'next', phase: 'evomerge', runGen: 1 });
    expect(await store.completePhase(id, 'cognate', 1, 'job-a', outcome)).toEqual({ kind: 'dup' });
    expect((await store.startPhase(id, 'cognate', 1, 'w1')).kind).toBe('skip');
    expect((await store.startPhase(id, 'evomerge', 1, 'w1')).kind).toBe('run');
    expect(await store.completePhase(id, 'evomerge', 1, 'job-b', outcome)).toEqual({ kind: 'completed' });
    const status = toStatusResponse((await store.snapshot(id, ALL_TENANTS))!);
    expect(status.status).toBe('completed');
    expect(status.total_progress_percent).toBe(100);
    expect(status.phases_completed).toEqual(['cognate', 'evomerge']);
    expect(await store.activeSessionIds(ALL_TENANTS)).not.toContain(id);
    const events = await reader.readAfter(id);
    expect(events.filter((e) => e.event_type === 'phase_complete').map((e) => e.data.phase)).toEqual(['cognate', 'evomerge']);
    // event ids are the stream ids, strictly increasing
    const ids = events.map((e) => e.event_id!);
    expect([...ids].sort((a, b) => (a.localeCompare(b, 'en', { numeric: true })))).toEqual(ids);
  });

  it('parks a paused phase and resumes it in a new run generation', async () => {
    const id = await newSession();
    await store.startPhase(id, 'cognate', 1, 'w1');
    expect((await store.control(id, 'pause', 'user', ALL_TENANTS)).kind).toBe('ok');
    expect(await store.progress(id, 'cognate', 1, { percent: 60, metrics: {}, message: '', memoryMb: 1 })).toBe('paused');
    expect(await store.park(id, 'cognate', 1, { step: 3 })).toBe('parked');
    const resumed = await store.control(id, 'resume', 'user', ALL_TENANTS);
    expect(resumed).toMatchObject({ kind: 'ok', to: 'running', enqueue: true, runGen: 2, currentPhase: 'cognate' });
    // the old generation can no longer touch the session
    expect(await store.progress(id, 'cognate', 1, { percent: 70, metrics: {}, message: '', memoryMb: 1 })).toBe('stale');
    const start = await store.startPhase(id, 'cognate', 2, 'w2');
    expect(start).toMatchObject({ kind: 'run', resumeState: { step: 3 } });
  });

  it('resume before the worker parked lets the running job continue without a second job', async () => {
    const id = await newSession();
    await store.startPhase(id, 'cognate', 1, 'w1');
    await store.control(id, 'pause', 'user', ALL_TENANTS);
    expect(await store.control(id, 'resume', 'user', ALL_TENANTS)).toMatchObject({ kind: 'ok', enqueue: false, runGen: 1 });
    expect(await store.park(id, 'cognate', 1, null)).toBe('continue');
  });

  it('applies the transition table for every status × action', async () => {
    const statuses: PipelineStatus[] = ['idle', 'initializing', 'running', 'paused', 'completed', 'failed', 'cancelled'];
    for (const from of statuses) {
      for (const action of Object.keys(CONTROL_TRANSITIONS) as ControlAction[]) {
        const id = await newSession();
        await t.redis.hset(t.keys.session(id), 'status', from);
        const r = await store.control(id, action, 'test', ALL_TENANTS);
        const rule = CONTROL_TRANSITIONS[action];
        if (rule.from.includes(from)) expect(r).toMatchObject({ kind: 'ok', from, to: rule.to });
        else expect(r).toEqual({ kind: 'invalid', from });
        expect(await store.status(id)).toBe(rule.from.includes(from) ? rule.to : from);
      }
    }
  });

  it('fails a session with the error kept on the phase', async () => {
    const id = await newSession(['training']);
    await store.startPhase(id, 'training', 1, 'w1');
    expect(await store.failPhase(id, 'training', 1, { code: 'PHASE_FAILED', message: 'boom', durationSeconds: 0.2 })).toBe('failed');
    const status = toStatusResponse((await store.snapshot(id, ALL_TENANTS))!);
    expect(status.status).toBe('failed');
    expect(status.phase_metrics[0]).toMatchObject({ phase: 'training', status: 'failed', error_message: 'boom' });
    const events = await reader.readAfter(id);
    expect(events.find((e) => e.event_type === 'error')?.data).toMatchObject({ error_code: 'PHASE_FAILED', recoverable: false });
  });

});
