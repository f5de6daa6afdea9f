import { QualityGateResponse, type ArtifactRef, type PipelinePhase } from '@agent-forge/contracts';
import { detectTheater, evaluateGates, measureIntegrity, type GateOverrides } from '@agent-forge/forge';
import { cognateFixture, makeTestStore } from '@agent-forge/forge/test-support';
import type { FsArtifactStore, PreviousPhase } from '@agent-forge/engine';
import request from 'supertest';
import { expectError } from './test-expect';
import { createTestGateway } from './test-support';

/**
 * The quality-gates endpoint serves the theater detection the worker stored with the phase's
 * gates, and a forced resume past a failed blocking gate is written to the audit log with what
 * it overrode. The stored gates are made the way the worker makes them: the real detection on
 * real artifacts, judged by the real catalogue.
 */
const gw = createTestGateway('gw-theater');
const { app, sessions } = gw;
const P = '/api/v1/pipeline';

let store: FsArtifactStore;
let cleanup: () => Promise<void>;
let cognate: PreviousPhase;
beforeAll(async () => {
  ({ store, cleanup } = await makeTestStore());
  cognate = await cognateFixture(store, 'gw-theater');
});
afterAll(async () => {
  await cleanup();
  await gw.close();
});

/** What the worker's judgePhase does when a phase ends: measure, detect, judge. */
async function judge(phase: PipelinePhase, metrics: Record<string, unknown>, artifacts: Record<string, ArtifactRef>, input?: ArtifactRef, overrides: GateOverrides = {}) {
  const theater = await detectTheater({ phase, metrics, inputModel: input, outputArtifacts: artifacts, store, seed: 1337, scale: 1 });
  const gates = evaluateGates(phase, metrics, { ...(await measureIntegrity(store, artifacts)), theater }, overrides);
  const failed = gates.filter((g) => g.blocking && !g.passed);
  return { gates, theater, blockedReason: failed.length ? `quality gate failed after ${phase}: ${failed.map((g) => g.gate_name).join('; ')}` : undefined };
}

async function complete(id: string, phase: PipelinePhase, j: Awaited<ReturnType<typeof judge>>, metrics: Record<string, unknown>) {
  expect((await sessions.startPhase(id, phase, 1, 'w1')).kind).toBe('run');
  await sessions.progress(id, phase, 1, { percent: 100, metrics, message: '', memoryMb: 10 });
  return sessions.completePhase(id, phase, 1, `job-${phase}`, {
    customMetrics: metrics,
    durationSeconds: 1,
    memoryMb: 10,
    gpuUtilization: null,
    gateResults: j.gates,
    ...(j.blockedReason ? { blockedReason: j.blockedReason } : {}),
  });
}

it('serves the stored detection; a detected phase cannot proceed until a forced resume, which is audited', async () => {
  const id = (await request(app).post(`${P}/start`).send({ phases: ['cognate', 'training', 'baking'] }).expect(200)).body.session_id as string;

  // cognate: the forge's own, honest output (of a short fixture run: its quality floor is lowered, its honesty is not)
  const honest = await judge('cognate', cognate.metrics, cognate.artifacts, undefined, { model_creation: { val_loss: 10 } });
  expect(honest.gates.map((g) => [g.gate_name, g.passed])).toEqual([['Model Creation', true], ['Integrity', true], ['Theater Elimination', true]]);
  expect(await complete(id, 'cognate', honest, cognate.metrics)).toMatchObject({ kind: 'next', phase: 'training' });
  const ok = QualityGateResponse.parse((await request(app).post(`${P}/quality-gates/${id}?phase=cognate`).expect(200)).body);
  expect(ok.theater_detection).toEqual(honest.theater);
  expect(ok.theater_detection).toMatchObject({ theater_detected: false, theater_score: 0 });
  expect(ok.can_proceed).toBe(true);

  // training: the input model copied unchanged, claiming 0.99 accuracy
  const input = cognate.artifacts.model!;
  const copy = await store.put(`${id}/training/model.bin`, await store.get(input), input.media_type);
  const lie = { total_steps: 900, initial_loss: 2, final_loss: 0.05, final_accuracy: 0.99, initial_val_loss: 2, val_loss: 0.06, loss_curve: [[900, 0.05]] };
  const liar = await judge('training', lie, { model: copy }, input);
  expect(await complete(id, 'training', liar, lie)).toMatchObject({ kind: 'blocked' });

  const res = QualityGateResponse.parse((await request(app).post(`${P}/quality-gates/${id}?phase=training`).expect(200)).body);
  expect(res.theater_detection).toEqual(liar.theater);
  expect(res.theater_detection).toMatchObject({ theater_detected: true, confidence: expect.any(Number) });
  expect(Object.keys(res.theater_detection!.indicators)).toEqual(expect.arrayContaining(['fake_metrics', 'shallow_implementation', 'performance_theater', 'evidence', 'thresholds']));
  expect(res.gate_results.find((g) => g.gate_name === 'Theater Elimination')).toMatchObject({ passed: false, score: 0 });
  expect(res.blocking_failures).toContain('Theater Elimination');
  expect(res.can_proceed).toBe(false);

  // a plain resume is refused; a forced one goes through and the audit log says what it overrode
  expectError(await request(app).post(`${P}/control`).send({ session_id: id, action: 'resume' }), 400, 'INVALID_STATE_TRANSITION');
  await request(app).post(`${P}/control`).set('x-request-id', 'theater-force').send({ session_id: id, action: 'resume', force: true }).expect(200);
  await request(app).post(`${P}/control`).set('x-request-id', 'theater-pause').send({ session_id: id, action: 'pause' }).expect(200);
  const entries = await eventually(
    async () => (await request(app).get('/api/v1/audit?action=pipeline.control&limit=100').expect(200)).body.entries as Record<string, unknown>[],
    (es) => ['theater-force', 'theater-pause'].every((r) => es.some((e) => e.request_id === r)),
  );
  const forced = entries.find((e) => e.request_id === 'theater-force')!;
  expect(forced).toMatchObject({ action: 'pipeline.control', target: id, outcome: 'success' });
  expect(forced.reason).toBe('resume with force: overrode a failed blocking quality gate (quality gate failed after training: Theater Elimination)');
  expect(entries.find((e) => e.request_id === 'theater-pause')!.reason).toBe('pause');
}, 60_000);

async function eventually<T>(fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 3_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (ok(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
}
