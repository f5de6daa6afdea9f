import { phaseJobId } from '@agent-forge/engine';
import request from 'supertest';
import { expectError } from './test-expect';
import { createTestGateway } from './test-support';

/** Every path of the gateway that enqueues a phase applies that phase's retry policy and GPU need. */
const gw = createTestGateway('gw-retry');
const { app, sessions, queues } = gw;
afterAll(() => gw.close());

const P = '/api/v1/pipeline';
const outcome = { customMetrics: {}, durationSeconds: 1, memoryMb: 1, gpuUtilization: null, gateResults: [] };
const config = {
  retry: { attempts: 4, backoff: { type: 'fixed', delay_ms: 250 } },
  evomerge: { gpu: true, retry: { attempts: 6, backoff: { type: 'exponential', delay_ms: 100, max_delay_ms: 2_000 } } },
};

async function start(body: Record<string, unknown>): Promise<string> {
  return (await request(app).post(`${P}/start`).send(body).expect(200)).body.session_id as string;
}

describe('retry policy and GPU need at start', () => {
  it.each([
    ['attempts 0', { retry: { attempts: 0 } }, 'config.retry.attempts'],
    ['an unknown backoff type', { cognate: { retry: { backoff: { type: 'linear' } } } }, 'config.cognate.retry.backoff.type'],
    ['a negative delay', { retry: { backoff: { delay_ms: -5 } } }, 'config.retry.backoff.delay_ms'],
    ['a delay above its cap', { retry: { backoff: { delay_ms: 10_000, max_delay_ms: 1_000 } } }, 'config.retry.backoff.delay_ms'],
    ['a typo in the policy', { retry: { attempt: 3 } }, 'config.retry'],
    ['a non-boolean gpu flag', { cognate: { gpu: 'yes' } }, 'config.cognate.gpu'],
  ])('answers 422 in the contract error shape for %s', async (_name, bad, field) => {
    const details = expectError(await request(app).post(`${P}/start`).send({ phases: ['cognate'], config: bad }), 422, 'VALIDATION_ERROR');
    expect(typeof details[field]).toBe('string');
  });

  it('enqueues the first phase under its policy (the pipeline-wide one here)', async () => {
    const id = await start({ phases: ['cognate', 'evomerge'], config });
    const job = await queues.queue('cognate').getJob(phaseJobId(id, 'cognate', 1));
    expect(job!.opts).toMatchObject({ attempts: 4, backoff: { type: 'fixed', delay: 250 } });
  });

  it('without a policy the deployment default applies (RETRY_* env: 3 attempts, exponential from 1 s)', async () => {
    const id = await start({ phases: ['cognate'] });
    const job = await queues.queue('cognate').getJob(phaseJobId(id, 'cognate', 1));
    expect(job!.opts).toMatchObject({ attempts: 3, backoff: { type: 'capped-exponential', delay: 1_000, maxDelay: 300_000 } });
  });

  it('a first phase that needs a GPU goes to its GPU queue', async () => {
    const id = await start({ phases: ['evomerge'], config });
    expect(await queues.queue('evomerge').getJob(phaseJobId(id, 'evomerge', 1))).toBeUndefined();
    const job = await queues.queue('evomerge', true).getJob(phaseJobId(id, 'evomerge', 1));
    expect(job!.opts).toMatchObject({ attempts: 6, backoff: { type: 'capped-exponential', delay: 100, maxDelay: 2_000 } });
    // No GPU worker here: health shows the job waiting in the GPU queue (GPU queues without jobs are left out).
    const health = (await request(app).get(`${P}/health`).expect(200)).body;
    expect(health.queues['evomerge-gpu'].waiting).toBeGreaterThanOrEqual(1);
    expect(health.queues['bitnet-gpu']).toBeUndefined();
    expect(Object.keys(health.queues)).toEqual(expect.arrayContaining(['cognate', 'evomerge', 'training']));
  });
});

describe('retry policy and GPU need on resume and checkpoint load', () => {
  it('resume re-enqueues the parked phase under its own policy, on its GPU queue', async () => {
    const id = await start({ phases: ['cognate', 'evomerge'], config });
    await sessions.startPhase(id, 'cognate', 1, 'w1');
    expect(await sessions.completePhase(id, 'cognate', 1, 'j1', outcome)).toMatchObject({ kind: 'next', phase: 'evomerge' });
    await sessions.startPhase(id, 'evomerge', 1, 'w1');
    await request(app).post(`${P}/control`).send({ session_id: id, action: 'pause' }).expect(200);
    expect(await sessions.park(id, 'evomerge', 1, { step: 1 })).toBe('parked');
    await request(app).post(`${P}/control`).send({ session_id: id, action: 'resume' }).expect(200);
    const job = await queues.queue('evomerge', true).getJob(phaseJobId(id, 'evomerge', 2));
    expect(job!.opts).toMatchObject({ attempts: 6 });
  });

  it('loading a checkpoint enqueues the next phase under the policy the session was started with', async () => {
    const id = await start({ phases: ['cognate', 'evomerge', 'training'], config });
    await sessions.startPhase(id, 'cognate', 1, 'w1');
    await sessions.completePhase(id, 'cognate', 1, 'j1', outcome);
    await sessions.startPhase(id, 'evomerge', 1, 'w1');
    await sessions.completePhase(id, 'evomerge', 1, 'j2', outcome);
    const cp = (await request(app).post(`${P}/checkpoint/save`).send({ session_id: id }).expect(200)).body;
    await request(app).post(`${P}/control`).send({ session_id: id, action: 'cancel' }).expect(200);
    const loaded = (await request(app).post(`${P}/checkpoint/load/${cp.checkpoint_id}`).expect(200)).body;
    expect(loaded).toMatchObject({ session_id: id, next_phase: 'training' });
    const job = await queues.queue('training').getJob(phaseJobId(id, 'training', 2));
    expect(job!.opts).toMatchObject({ attempts: 4, backoff: { type: 'fixed', delay: 250 } });
  });
});
