import { StatusResponse, SwarmStatus, QualityGateResponse, ControlResponse, type PipelinePhase } from '@agent-forge/contracts';
import { phaseJobId } from '@agent-forge/engine';
import { ALL_TENANTS, EventReader } from '@agent-forge/state';
import request from 'supertest';
import { expectError } from './test-expect';
import { createTestGateway } from './test-support';

const gw = createTestGateway('gw-pipe');
const { app, sessions, queues } = gw;
afterAll(() => gw.close());

const P = '/api/v1/pipeline';
const outcome = { customMetrics: { loss: 0.25, steps: 3 }, durationSeconds: 1.5, memoryMb: 40, gpuUtilization: null, gateResults: [] };

async function start(body: Record<string, unknown> = { phases: ['cognate', 'evomerge'] }): Promise<string> {
  const res = await request(app).post(`${P}/start`).send(body).expect(200);
  expect(res.body).toEqual({ session_id: expect.stringMatching(/^[0-9a-f-]{36}$/), status: 'started' });
  return res.body.session_id as string;
}
const control = (session_id: string, action: string, extra: Record<string, unknown> = {}) =>
  request(app).post(`${P}/control`).send({ session_id, action, ...extra });

describe('POST /start', () => {
  it('creates the session at its first phase and really enqueues the first phase job', async () => {
    const res = await request(app).post(`${P}/start`).set('x-request-id', 'req-start-1').send({ phases: ['evomerge', 'training'], max_agents: 7, swarm_topology: 'mesh' }).expect(200);
    const id = res.body.session_id as string;
    expect(res.headers['x-request-id']).toBe('req-start-1');

    const job = await queues.queue('evomerge').getJob(phaseJobId(id, 'evomerge', 1));
    expect(job).toBeDefined();
    expect(job?.data).toEqual({ sessionId: id, phase: 'evomerge', runGen: 1, requestId: 'req-start-1', executor: null });
    expect(await queues.queue('training').getJob(phaseJobId(id, 'training', 1))).toBeUndefined();

    const status = await request(app).get(`${P}/status/${id}`).expect(200);
    expect(StatusResponse.parse(status.body)).toBeTruthy();
    expect(status.body).toMatchObject({
      session_id: id,
      status: 'initializing',
      current_phase: 'evomerge',
      phases_completed: [],
      phases_remaining: ['evomerge', 'training'],
      total_progress_percent: 0,
      progress_percent: 0,
      phases: ['evomerge', 'training'],
      metrics: { evomerge: {}, training: {} },
      estimated_remaining_seconds: null,
      last_checkpoint: null,
    });
    const swarm = await request(app).get(`${P}/swarm/${id}`).expect(200);
    expect(SwarmStatus.parse(swarm.body)).toBeTruthy();
    expect(swarm.body).toMatchObject({ session_id: id, topology: 'mesh', total_agents: 0, agent_distribution: {}, max_agents: 7 });
  });

  it('defaults max_agents to 50 and the topology to hierarchical', async () => {
    const id = await start({ phases: ['cognate'] });
    const swarm = await request(app).get(`${P}/swarm/${id}`).expect(200);
    expect(swarm.body).toMatchObject({ topology: 'hierarchical', max_agents: 50 });
  });

  it('keeps unknown config keys and fills documented defaults (what the worker reads)', async () => {
    const id = await start({ phases: ['cognate', 'training'], config: { cognate: { foo: 'bar', base_models: ['m1'] }, training: { batch_size: 8 }, my_knob: 3 } });
    const snap = await sessions.snapshot(id, ALL_TENANTS);
    const config = JSON.parse(snap!.session.config!) as Record<string, Record<string, unknown>>;
    expect(config.cognate).toMatchObject({ foo: 'bar', base_models: ['m1'], init_strategy: 'xavier_uniform' });
    expect(config.training).toMatchObject({ batch_size: 8, learning_rate: 0.001 });
    expect(config.my_knob).toBe(3);
    expect(config.executor).toBeUndefined(); // unset: the worker's DEFAULT_EXECUTOR decides
  });

  it.each([
    ['missing phases', {}, 'phases'],
    ['phases of the wrong type', { phases: 'cognate' }, 'phases'],
    ['empty phases', { phases: [] }, 'phases'],
    ['duplicate phases', { phases: ['cognate', 'cognate'] }, 'phases'],
    ['an unknown phase', { phases: ['cognate', 'warp'] }, 'phases.1'],
    ['max_agents 0', { phases: ['cognate'], max_agents: 0 }, 'max_agents'],
    ['max_agents 101', { phases: ['cognate'], max_agents: 101 }, 'max_agents'],
    ['a fractional max_agents', { phases: ['cognate'], max_agents: 2.5 }, 'max_agents'],
    ['a wrong boolean', { phases: ['cognate'], enable_monitoring: 'yes' }, 'enable_monitoring'],
    ['an unknown topology', { phases: ['cognate'], swarm_topology: 'blob' }, 'swarm_topology'],
    ['config not an object', { phases: ['cognate'], config: 'x' }, 'config'],
    ['config.training.batch_size -1', { phases: ['training'], config: { training: { batch_size: -1 } } }, 'config.training.batch_size'],
    ['config.evomerge.population_size "x"', { phases: ['evomerge'], config: { evomerge: { population_size: 'x' } } }, 'config.evomerge.population_size'],
    ['a bad section of a phase not requested', { phases: ['cognate'], config: { training: { learning_rate: 0 } } }, 'config.training.learning_rate'],
  ])('answers 422 for %s', async (_name, body, field) => {
    const res = await request(app).post(`${P}/start`).send(body);
    const details = expectError(res, 422, 'VALIDATION_ERROR');
    expect(details).toHaveProperty([field]);
    expect(typeof details[field]).toBe('string');
  });

  it('answers 422 for a body that is not a JSON object', async () => {
    for (const body of ['[]', '"x"', '12', 'null']) {
      const res = await request(app).post(`${P}/start`).set('content-type', 'application/json').send(body);
      expect(expectError(res, 422, 'VALIDATION_ERROR')).toEqual({ body: 'expected a JSON object' });
    }
  });

  it('answers 400 MALFORMED_JSON for a body that is not JSON', async () => {
    const res = await request(app).post(`${P}/start`).set('content-type', 'application/json').send('{"phases": [');
    expectError(res, 400, 'MALFORMED_JSON');
  });

  it('answers 404 PRESET_NOT_FOUND for an unknown preset', async () => {
    expectError(await request(app).post(`${P}/start`).send({ preset: 'nope' }), 404, 'PRESET_NOT_FOUND');
  });
});

describe('status, swarm and quality gates', () => {
  it('shows measured progress, the alias fields and the swarm of a running session', async () => {
    const id = await start();
    expect((await sessions.startPhase(id, 'cognate', 1, 'w1')).kind).toBe('run');
    await sessions.progress(id, 'cognate', 1, { percent: 50, metrics: { step: 5 }, message: 'half', memoryMb: 12 });
    await sessions.updateAgent(id, { agent_id: 'a1', role: 'builder', phase: 'cognate', state: 'executing', current_task: 'merge', memory_usage_mb: 10, cpu_usage_percent: 20, uptime_seconds: 1 });
    await sessions.updateAgent(id, { agent_id: 'a2', role: 'checker', phase: 'cognate', state: 'idle', current_task: null, memory_usage_mb: 5, cpu_usage_percent: 0, uptime_seconds: 1 });
    const status = (await request(app).get(`${P}/status/${id}`).expect(200)).body;
    expect(status).toMatchObject({ status: 'running', current_phase: 'cognate', total_progress_percent: 25, progress_percent: 25, phases: ['cognate', 'evomerge'], metrics: { cognate: { step: 5 }, evomerge: {} }, agent_count: 2 });
    expect(status.active_agents.map((a: { agent_id: string }) => a.agent_id)).toEqual(['a1']);
    expect(status.phase_metrics[0]).toMatchObject({ phase: 'cognate', status: 'running', progress_percent: 50, custom_metrics: { step: 5 } });
    const swarm = (await request(app).get(`${P}/swarm/${id}`).expect(200)).body;
    expect(swarm).toMatchObject({ session_id: id, total_agents: 2, active_agents: 1, idle_agents: 1, agent_distribution: { cognate: 2 }, memory_usage_mb: 15, cpu_usage_percent: 20 });
  });

  it('judges quality gates of a finished phase and lists the current phase as pending', async () => {
    const id = await start();
    await sessions.startPhase(id, 'cognate', 1, 'w1');
    await sessions.progress(id, 'cognate', 1, { percent: 100, metrics: { loss: 0.25 }, message: '', memoryMb: 12 });
    expect(await sessions.completePhase(id, 'cognate', 1, 'job-1', outcome)).toMatchObject({ kind: 'next', phase: 'evomerge' });

    const done = await request(app).post(`${P}/quality-gates/${id}?phase=cognate`).expect(200);
    expect(QualityGateResponse.parse(done.body)).toBeTruthy();
    expect(done.body).toMatchObject({ phase: 'cognate', session_id: id, all_gates_passed: true, overall_passed: true, gates_passed: 4, gates_failed: 0, can_proceed: true, theater_detection: null });
    expect(done.body.results).toHaveLength(4);
    expect(done.body.results[0]).toEqual({ phase: 'cognate', gate_name: 'Phase Completed', passed: true, score: 1, threshold: 1, metrics: expect.objectContaining({ state: 'evaluated' }) });
    expect(done.body.gate_results.find((g: { gate_name: string }) => g.gate_name === 'Time Budget').details).toEqual({ state: 'evaluated', duration_seconds: 1.5, budget_seconds: 3600 });

    const current = await request(app).post(`${P}/quality-gates/${id}`).expect(200);
    expect(current.body.phase).toBe('evomerge');
    expect(current.body.overall_passed).toBe(false);
    for (const g of current.body.gate_results) expect(g).toMatchObject({ passed: false, details: { state: 'pending' } });
  });

  it('answers 422 for an unknown phase or one that is not part of the session', async () => {
    const id = await start();
    expect(expectError(await request(app).post(`${P}/quality-gates/${id}?phase=warp`), 422, 'VALIDATION_ERROR')).toHaveProperty('phase');
    const res = await request(app).post(`${P}/quality-gates/${id}?phase=training`);
    expect(expectError(res, 422, 'VALIDATION_ERROR').phase).toMatch(/not part of this session/);
    expect(res.body.error).toMatch(/training.*not part of this session/);
  });

  it('answers 404 SESSION_NOT_FOUND for unknown ids', async () => {
    expectError(await request(app).get(`${P}/status/no-such-session`), 404, 'SESSION_NOT_FOUND');
    expectError(await request(app).get(`${P}/swarm/no-such-session`), 404, 'SESSION_NOT_FOUND');
    expectError(await request(app).post(`${P}/quality-gates/no-such-session`), 404, 'SESSION_NOT_FOUND');
    expectError(await control('no-such-session', 'pause'), 404, 'SESSION_NOT_FOUND');
  });
});

describe('POST /control', () => {
  it('pauses once, refuses a second pause with the reason, resumes, cancels, then refuses everything', async () => {
    const id = await start();
    const paused = await control(id, 'pause').expect(200);
    expect(ControlResponse.parse(paused.body)).toEqual({ status: 'success', action: 'pause', session_id: id, pipeline_status: 'paused' });

    const again = await control(id, 'pause');
    expect(expectError(again, 400, 'INVALID_STATE_TRANSITION')).toEqual({ current_status: 'paused', action: 'pause' });
    expect(again.body.error).toBe('cannot pause a session that is paused; pause is allowed only when the session is initializing or running');

    expect((await control(id, 'resume').expect(200)).body.pipeline_status).toBe('running');
    const resumeRunning = await control(id, 'resume');
    expect(expectError(resumeRunning, 400, 'INVALID_STATE_TRANSITION')).toEqual({ current_status: 'running', action: 'resume' });
    expect(resumeRunning.body.error).toMatch(/cannot resume a session that is running/);

    expect((await control(id, 'cancel').expect(200)).body).toMatchObject({ action: 'cancel', pipeline_status: 'cancelled' });
    for (const action of ['pause', 'resume', 'stop', 'cancel']) {
      expect(expectError(await control(id, action), 400, 'INVALID_STATE_TRANSITION')).toEqual({ current_status: 'cancelled', action });
    }
    expect((await request(app).get(`${P}/status/${id}`)).body.status).toBe('cancelled');
  });

  it('refuses to resume a session that is already running (worker started it)', async () => {
    const id = await start();
    await sessions.startPhase(id, 'cognate', 1, 'w1');
    expectError(await control(id, 'resume'), 400, 'INVALID_STATE_TRANSITION');
  });

  it('re-enqueues a parked phase under the next run generation on resume', async () => {
    const id = await start();
    await sessions.startPhase(id, 'cognate', 1, 'w1');
    await control(id, 'pause').expect(200);
    expect(await sessions.park(id, 'cognate', 1, { step: 2 })).toBe('parked');
    await control(id, 'resume').set('x-request-id', 'resume-1').expect(200);
    const job = await queues.queue('cognate').getJob(phaseJobId(id, 'cognate', 2));
    expect(job?.data).toEqual({ sessionId: id, phase: 'cognate', runGen: 2, requestId: 'resume-1', executor: null });
  });

  it('stop checkpoints the session (graceful) and ends it cancelled', async () => {
    const id = await start();
    expect((await control(id, 'stop').expect(200)).body.pipeline_status).toBe('cancelled');
    const status = (await request(app).get(`${P}/status/${id}`).expect(200)).body;
    expect(status.status).toBe('cancelled');
    expect(status.last_checkpoint).toEqual(expect.any(String));
    const list = (await request(app).get(`${P}/checkpoints/${id}`).expect(200)).body;
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ checkpoint_id: status.last_checkpoint, session_id: id, checkpoint_name: 'stop' });
  });

  it('cancel with force ends the session without a worker', async () => {
    const id = await start();
    await sessions.startPhase(id, 'cognate', 1, 'w-dead');
    expect((await control(id, 'cancel', { force: true }).expect(200)).body).toMatchObject({ action: 'cancel', pipeline_status: 'cancelled' });
    const events = await new EventReader(gw.t.redis, gw.t.keys).readAfter(id);
    expect(events.at(-1)?.data).toMatchObject({ status: 'cancelled', message: 'cancel: cancel (force) requested via API' });
  });

  it('validates the control body', async () => {
    expect(expectError(await control('x', 'explode'), 422, 'VALIDATION_ERROR')).toHaveProperty('action');
    expect(expectError(await request(app).post(`${P}/control`).send({ action: 'pause' }), 422, 'VALIDATION_ERROR')).toHaveProperty('session_id');
    expect(expectError(await control('x', 'pause', { force: 'yes' }), 422, 'VALIDATION_ERROR')).toHaveProperty('force');
  });
});

describe('GET /history', () => {
  const hist = createTestGateway('gw-hist');
  afterAll(() => hist.close());
  const ids: string[] = [];

  beforeAll(async () => {
    // a, b cancelled; c, d live — created a few ms apart so "newest first" is well defined
    for (let i = 0; i < 4; i++) {
      const res = await request(hist.app).post(`${P}/start`).send({ phases: ['cognate', 'evomerge'] as PipelinePhase[] }).expect(200);
      ids.push(res.body.session_id);
      await new Promise((r) => setTimeout(r, 5));
    }
    for (const id of ids.slice(0, 2)) await request(hist.app).post(`${P}/control`).send({ session_id: id, action: 'cancel' }).expect(200);
  });

  it('lists sessions newest first with the limit', async () => {
    const res = await request(hist.app).get(`${P}/history?limit=2`).expect(200);
    expect(res.body.map((h: { session_id: string }) => h.session_id)).toEqual([ids[3], ids[2]]);
    expect(res.body[0]).toMatchObject({ status: 'initializing', phases: ['cognate', 'evomerge'], success: false, end_time: null, duration_seconds: null, final_metrics: null });
    const all = await request(hist.app).get(`${P}/history`).expect(200);
    expect(all.body.map((h: { session_id: string }) => h.session_id)).toEqual([...ids].reverse());
  });

  it('applies the status filter before the limit', async () => {
    const res = await request(hist.app).get(`${P}/history?status=cancelled&limit=1`).expect(200);
    expect(res.body).toHaveLength(1);
    expect(res.body[0]).toMatchObject({ session_id: ids[1], status: 'cancelled', success: false, end_time: expect.any(String), duration_seconds: expect.any(Number), final_metrics: {} });
    expect((await request(hist.app).get(`${P}/history?status=completed`).expect(200)).body).toEqual([]);
  });

  it('skips sessions that vanished and validates the query', async () => {
    await hist.t.redis.zadd(hist.t.keys.history(), Date.now() + 60_000, 'ghost-session');
    const res = await request(hist.app).get(`${P}/history?limit=1`).expect(200);
    expect(res.body[0].session_id).toBe(ids[3]);
    expect(expectError(await request(hist.app).get(`${P}/history?limit=0`), 422, 'VALIDATION_ERROR')).toHaveProperty('limit');
    expect(expectError(await request(hist.app).get(`${P}/history?limit=101`), 422, 'VALIDATION_ERROR')).toHaveProperty('limit');
    expect(expectError(await request(hist.app).get(`${P}/history?status=bogus`), 422, 'VALIDATION_ERROR')).toHaveProperty('status');
  });
});
