import { ALL_TENANTS } from '@agent-forge/state';
import { CheckpointResponse, ConfigPresetResponse } from '@agent-forge/contracts';
import { phaseJobId } from '@agent-forge/engine';
import request from 'supertest';
import { publicRedisUri } from './config';
import { expectError } from './test-expect';
import { createTestGateway } from './test-support';

const gw = createTestGateway('gw-cp');
const { app, sessions, queues, t } = gw;
afterAll(() => gw.close());

const P = '/api/v1/pipeline';
const outcome = { customMetrics: { loss: 0.5 }, durationSeconds: 2, memoryMb: 30, gpuUtilization: null, gateResults: [] };

async function start(body: Record<string, unknown> = { phases: ['cognate', 'evomerge'] }): Promise<string> {
  return (await request(app).post(`${P}/start`).send(body).expect(200)).body.session_id as string;
}
async function finishCognate(id: string): Promise<void> {
  await sessions.startPhase(id, 'cognate', 1, 'w1');
  expect(await sessions.completePhase(id, 'cognate', 1, `job-${id}`, outcome)).toMatchObject({ kind: 'next', phase: 'evomerge' });
}

describe('checkpoints', () => {
  it('saves a checkpoint whose size is the real serialized size and whose path is a redis:// URI', async () => {
    const id = await start({ phases: ['cognate', 'evomerge'], config: { cognate: { secret_sauce: 42 } } });
    const res = await request(app).post(`${P}/checkpoint/save`).send({ session_id: id, checkpoint_name: 'first' }).expect(200);
    const cp = CheckpointResponse.parse(res.body);
    expect(cp).toMatchObject({ session_id: id, phase: 'cognate', model_included: true, swarm_included: true, checkpoint_name: 'first' });
    expect(cp.timestamp).toMatch(/Z$/);
    expect(cp.path).toMatch(/^redis:\/\/[^@/]+\//);
    expect(cp.path).toBe(`${publicRedisUri(t.url)}/${t.keys.checkpoint(id, cp.checkpoint_id)}`);
    const stored = await t.redis.hget(t.keys.checkpoint(id, cp.checkpoint_id), 'snapshot');
    expect(cp.size_mb).toBeGreaterThan(0);
    expect(cp.size_mb).toBe(Buffer.byteLength(stored!, 'utf8') / 2 ** 20);
    // unknown config keys travel in the checkpoint as well
    expect(JSON.parse(JSON.parse(stored!).session.config).cognate.secret_sauce).toBe(42);
    expect((await request(app).get(`${P}/status/${id}`)).body.last_checkpoint).toBe(cp.checkpoint_id);
  });

  it('honours include_model_state / include_swarm_state', async () => {
    const id = await start();
    await finishCognate(id);
    const res = await request(app).post(`${P}/checkpoint/save`).send({ session_id: id, include_model_state: false, include_swarm_state: false }).expect(200);
    expect(res.body).toMatchObject({ model_included: false, swarm_included: false, checkpoint_name: null, phase: 'evomerge' });
    const stored = JSON.parse((await t.redis.hget(t.keys.checkpoint(id, res.body.checkpoint_id), 'snapshot'))!);
    expect(stored.phases.cognate).toEqual({ status: 'completed' });
  });

  it('loads into an ended session: same id, next phase enqueued under the new run generation', async () => {
    const id = await start();
    await finishCognate(id);
    const cp = (await request(app).post(`${P}/checkpoint/save`).send({ session_id: id }).expect(200)).body;
    await request(app).post(`${P}/control`).send({ session_id: id, action: 'cancel' }).expect(200);

    const res = await request(app).post(`${P}/checkpoint/load/${cp.checkpoint_id}`).set('x-request-id', 'load-1').expect(200);
    expect(res.body).toEqual({ status: 'loaded', checkpoint_id: cp.checkpoint_id, session_id: id, next_phase: 'evomerge' });
    const status = (await request(app).get(`${P}/status/${id}`).expect(200)).body;
    expect(status).toMatchObject({ status: 'initializing', current_phase: 'evomerge', phases_completed: ['cognate'], total_progress_percent: 50 });
    const job = await queues.queue('evomerge').getJob(phaseJobId(id, 'evomerge', 2));
    expect(job?.data).toEqual({ sessionId: id, phase: 'evomerge', runGen: 2, requestId: 'load-1', executor: null });
  });

  it('loads while the session is live into a new session', async () => {
    const id = await start();
    const cp = (await request(app).post(`${P}/checkpoint/save`).send({ session_id: id }).expect(200)).body;
    const res = await request(app).post(`${P}/checkpoint/load/${cp.checkpoint_id}`).expect(200);
    const newId = res.body.session_id as string;
    expect(newId).not.toBe(id);
    expect(newId).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.body).toMatchObject({ status: 'loaded', checkpoint_id: cp.checkpoint_id, next_phase: 'cognate' });
    const [orig, copy] = await Promise.all([request(app).get(`${P}/status/${id}`), request(app).get(`${P}/status/${newId}`)]);
    expect(orig.body.status).toBe('initializing');
    expect(copy.body).toMatchObject({ session_id: newId, status: 'initializing', current_phase: 'cognate', phases: ['cognate', 'evomerge'] });
    expect(Date.parse(copy.body.created_at)).toBeGreaterThanOrEqual(Date.parse(orig.body.created_at));
    expect(await queues.queue('cognate').getJob(phaseJobId(newId, 'cognate', 2))).toBeDefined();
    const history = (await request(app).get(`${P}/history?limit=100`)).body.map((h: { session_id: string }) => h.session_id);
    expect(history).toContain(newId);
  });

  it('a stop checkpoint resumes the stopped session', async () => {
    const id = await start();
    await finishCognate(id);
    await request(app).post(`${P}/control`).send({ session_id: id, action: 'stop' }).expect(200);
    const { last_checkpoint } = (await request(app).get(`${P}/status/${id}`)).body;
    const res = await request(app).post(`${P}/checkpoint/load/${last_checkpoint}`).expect(200);
    expect(res.body).toMatchObject({ session_id: id, next_phase: 'evomerge' });
    expect((await request(app).get(`${P}/status/${id}`)).body.status).toBe('initializing');
  });

  it('lists checkpoints newest first', async () => {
    const id = await start();
    const a = (await request(app).post(`${P}/checkpoint/save`).send({ session_id: id, checkpoint_name: 'a' })).body;
    await new Promise((r) => setTimeout(r, 3));
    const b = (await request(app).post(`${P}/checkpoint/save`).send({ session_id: id, checkpoint_name: 'b' })).body;
    const list = (await request(app).get(`${P}/checkpoints/${id}`).expect(200)).body;
    expect(list.map((c: { checkpoint_id: string }) => c.checkpoint_id)).toEqual([b.checkpoint_id, a.checkpoint_id]);
    expect(list[0]).toEqual(b);
  });

  it('answers 404 and 422 for unknown ids and bad bodies', async () => {
    expectError(await request(app).post(`${P}/checkpoint/load/no-such-checkpoint`), 404, 'CHECKPOINT_NOT_FOUND');
    expectError(await request(app).post(`${P}/checkpoint/save`).send({ session_id: 'no-such-session' }), 404, 'SESSION_NOT_FOUND');
    expectError(await request(app).get(`${P}/checkpoints/no-such-session`), 404, 'SESSION_NOT_FOUND');
    expect(expectError(await request(app).post(`${P}/checkpoint/save`).send({}), 422, 'VALIDATION_ERROR')).toHaveProperty('session_id');
    expect(expectError(await request(app).post(`${P}/checkpoint/save`).send({ session_id: 'x', include_model_state: 1 }), 422, 'VALIDATION_ERROR')).toHaveProperty('include_model_state');
  });
});

describe('presets', () => {
  it('lists the three built-ins', async () => {
    const res = await request(app).get(`${P}/presets`).expect(200);
    expect(res.body).toEqual(expect.arrayContaining(['quick_test', 'full_pipeline', 'compression_only']));
  });

  it('returns a built-in preset', async () => {
    const res = await request(app).get(`${P}/preset/compression_only`).expect(200);
    expect(ConfigPresetResponse.parse(res.body)).toMatchObject({ preset_name: 'compression_only', config: { phases: ['bitnet', 'compression'], max_agents: 30 }, builtin: true });
  });

  it('saves and returns a preset, and lists it', async () => {
    const config = { phases: ['training', 'baking'], max_agents: 12, swarm_topology: 'ring', config: { training: { batch_size: 16 } }, note: 'kept' };
    const saved = await request(app).post(`${P}/preset/save`).send({ preset_name: 'my.preset-1', config }).expect(200);
    expect(ConfigPresetResponse.parse(saved.body)).toMatchObject({ preset_name: 'my.preset-1', config, usage_count: 0, last_used: null, builtin: false });
    expect((await request(app).get(`${P}/preset/my.preset-1`).expect(200)).body).toEqual(saved.body);
    expect((await request(app).get(`${P}/presets`)).body).toContain('my.preset-1');

    // start from it; request fields override the preset's
    const id = (await request(app).post(`${P}/start`).send({ preset: 'my.preset-1', max_agents: 3 }).expect(200)).body.session_id;
    const status = (await request(app).get(`${P}/status/${id}`)).body;
    expect(status.phases).toEqual(['training', 'baking']);
    expect((await request(app).get(`${P}/swarm/${id}`)).body).toMatchObject({ topology: 'ring', max_agents: 3 });
    const snap = await sessions.snapshot(id, ALL_TENANTS);
    expect(JSON.parse(snap!.session.config!).training.batch_size).toBe(16);
    expect(snap!.session.preset).toBe('my.preset-1');
    expect((await request(app).get(`${P}/preset/my.preset-1`)).body.usage_count).toBe(1);
  });

  it('start with preset quick_test takes its phases and counts the use', async () => {
    const before = (await request(app).get(`${P}/preset/quick_test`).expect(200)).body;
    const res = await request(app).post(`${P}/start`).send({ preset: 'quick_test' }).expect(200);
    const id = res.body.session_id;
    expect((await request(app).get(`${P}/status/${id}`)).body).toMatchObject({ phases: ['cognate', 'evomerge'], current_phase: 'cognate' });
    expect((await request(app).get(`${P}/swarm/${id}`)).body.max_agents).toBe(20);
    expect(await queues.queue('cognate').getJob(phaseJobId(id, 'cognate', 1))).toBeDefined();
    const after = (await request(app).get(`${P}/preset/quick_test`).expect(200)).body;
    expect(after.usage_count).toBe(before.usage_count + 1);
    expect(after.last_used).toEqual(expect.any(String));
    expect(Date.parse(after.last_used)).toBeGreaterThan(0);
  });

  it('merges request config over the preset config and validates the result', async () => {
    await request(app).post(`${P}/preset/save`).send({ preset_name: 'train', config: { phases: ['training'], config: { training: { batch_size: 16, epochs: 2 } } } }).expect(200);
    const id = (await request(app).post(`${P}/start`).send({ preset: 'train', config: { training: { epochs: 5 } } }).expect(200)).body.session_id;
    const cfg = JSON.parse((await sessions.snapshot(id, ALL_TENANTS))!.session.config!);
    expect(cfg.training).toMatchObject({ batch_size: 16, epochs: 5 });
    const bad = await request(app).post(`${P}/start`).send({ preset: 'train', config: { training: { batch_size: 0 } } });
    expect(expectError(bad, 422, 'VALIDATION_ERROR')).toHaveProperty(['config.training.batch_size']);
  });

  it('refuses to overwrite a built-in and validates the preset config', async () => {
    const builtin = await request(app).post(`${P}/preset/save`).send({ preset_name: 'quick_test', config: { phases: ['cognate'] } });
    expect(expectError(builtin, 422, 'VALIDATION_ERROR')).toEqual({ preset_name: 'built-in presets cannot be overwritten' });
    expect((await request(app).get(`${P}/preset/quick_test`)).body.config).toEqual({ phases: ['cognate', 'evomerge'], max_agents: 20 });

    const cases: [Record<string, unknown>, string][] = [
      [{ preset_name: 'p', config: { max_agents: 0 } }, 'config.max_agents'],
      [{ preset_name: 'p', config: { phases: ['cognate', 'cognate'] } }, 'config.phases'],
      [{ preset_name: 'p', config: { phases: ['warp'] } }, 'config.phases.0'],
      [{ preset_name: 'p', config: { phases: ['training'], config: { training: { batch_size: -1 } } } }, 'config.config.training.batch_size'],
      [{ preset_name: 'bad name!', config: {} }, 'preset_name'],
      [{ preset_name: 'p' }, 'config'],
    ];
    for (const [body, field] of cases) {
      expect(expectError(await request(app).post(`${P}/preset/save`).send(body), 422, 'VALIDATION_ERROR')).toHaveProperty([field]);
    }
    expectError(await request(app).get(`${P}/preset/p`), 404, 'PRESET_NOT_FOUND');
  });

  it('answers 404 PRESET_NOT_FOUND for an unknown preset', async () => {
    expectError(await request(app).get(`${P}/preset/no_such_preset`), 404, 'PRESET_NOT_FOUND');
  });
});
