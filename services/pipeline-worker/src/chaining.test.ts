import { PIPELINE_PHASES, type PipelinePhase } from '@agent-forge/contracts';
import { phaseJobId } from '@agent-forge/engine';
import { ALL_TENANTS, EventReader } from '@agent-forge/state';
import { createWorkerHarness, waitFor } from './test-harness';

/**
 * Phase chaining: a job whose phase completed runs the session's next phase itself instead of
 * handing it to the next queue, while the job is younger than the chain budget (WORKER_CHAIN_MS).
 * What users rely on is unchanged: every phase once, in order, its agent and events as before.
 */
const chained = createWorkerHarness({ label: 'chaining', enableMonitoring: false });
const unchained = createWorkerHarness({ label: 'chaining-off', enableMonitoring: false, chainBudgetMs: 0 });
beforeAll(() => Promise.all([chained.start(), unchained.start()]));
afterAll(() => Promise.all([chained.stop(), unchained.stop()]));

const NOOP = { dry_run: { steps: 1, step_ms: 0 } };
type Harness = typeof chained;

/** The phases of a session that have a BullMQ job (generation 1), in pipeline order. */
async function phasesWithJobs(h: Harness, id: string): Promise<PipelinePhase[]> {
  const found = await Promise.all(PIPELINE_PHASES.map(async (p) => ((await h.queues.queue(p).getJob(phaseJobId(id, p, 1))) ? p : null)));
  return found.filter((p): p is PipelinePhase => p !== null);
}

async function eventsOf(h: Harness, id: string) {
  return new EventReader(h.t.redis, h.t.keys).readAfter(id, '0', 10_000);
}

it('runs a pipeline of short phases in the job of its first phase, every phase once, in order', async () => {
  const id = await chained.startSession([...PIPELINE_PHASES], NOOP);
  const final = await waitFor(() => chained.status(id), (s) => s.status === 'completed');
  expect(final.phases_completed).toEqual([...PIPELINE_PHASES]);
  expect(await phasesWithJobs(chained, id)).toEqual(['cognate']);

  const events = await eventsOf(chained, id);
  expect(events.filter((e) => e.event_type === 'phase_complete').map((e) => e.data.phase)).toEqual([...PIPELINE_PHASES]);
  // Each phase's agent is recorded executing when its phase is claimed and stopped before the
  // phase completes (in the claim and completion scripts for the chained ones).
  const agentStates = events.filter((e) => e.event_type === 'agent_update').map((e) => `${String(e.data.phase)}:${String(e.data.state)}`);
  expect(agentStates).toEqual(PIPELINE_PHASES.flatMap((p) => [`${p}:executing`, `${p}:stopped`]));
  for (const p of PIPELINE_PHASES) {
    const stopped = events.findIndex((e) => e.event_type === 'agent_update' && e.data.phase === p && e.data.state === 'stopped');
    const completed = events.findIndex((e) => e.event_type === 'phase_complete' && e.data.phase === p);
    expect(stopped).toBeLessThan(completed);
  }
  expect(final.active_agents).toEqual([]);
});

it('with boundary checkpoints on, each checkpoint sees the next phase still pending (claimed only after it)', async () => {
  const id = await chained.startSession(['cognate', 'evomerge', 'quietstar'], NOOP, true);
  await waitFor(() => chained.status(id), (s) => s.status === 'completed');
  expect(await phasesWithJobs(chained, id)).toEqual(['cognate']);
  // The harness keeps the newest 2: after-evomerge and after-quietstar.
  const saved = (await chained.checkpoints.listForSession(id, ALL_TENANTS))!;
  const afterEvomerge = saved.find((c) => c.checkpoint_name === 'after-evomerge');
  const cp = await chained.checkpoints.get(afterEvomerge!.checkpoint_id, ALL_TENANTS);
  expect(cp!.snapshot.phases.evomerge!.status).toBe('completed');
  expect(cp!.snapshot.phases.quietstar!.status).toBe('pending');
});

it('with chaining off (WORKER_CHAIN_MS=0) every phase goes through its own queue', async () => {
  const id = await unchained.startSession(['cognate', 'evomerge', 'quietstar'], NOOP);
  await waitFor(() => unchained.status(id), (s) => s.status === 'completed');
  expect(await phasesWithJobs(unchained, id)).toEqual(['cognate', 'evomerge', 'quietstar']);
});

it("a job carries the executor its config names, so each phase's agent is recorded by its claim; a job without it (enqueued before) still records its agent", async () => {
  // Agent records made outside the claim and completion scripts, per session.
  const separateAgentWrites = jest.spyOn(unchained.store, 'updateAgent');
  const writesFor = (session: string) => separateAgentWrites.mock.calls.filter(([s]) => s === session).length;
  const id = await unchained.startSession(['cognate', 'evomerge'], { ...NOOP, executor: 'dry-run', evomerge: { executor: 'dry-run', steps: 1, step_ms: 0 } });
  await waitFor(() => unchained.status(id), (s) => s.status === 'completed');
  expect(writesFor(id)).toBe(0);
  const jobs = await Promise.all((['cognate', 'evomerge'] as const).map((p) => unchained.queues.queue(p).getJob(phaseJobId(id, p, 1))));
  expect(jobs.map((j) => j!.data.executor)).toEqual(['dry-run', 'dry-run']);
  const agentStates = (await eventsOf(unchained, id)).filter((e) => e.event_type === 'agent_update').map((e) => `${String(e.data.phase)}:${String(e.data.state)}`);
  expect(agentStates).toEqual(['cognate:executing', 'cognate:stopped', 'evomerge:executing', 'evomerge:stopped']);

  // Config naming no executor: null (the worker's default applies).
  const byDefault = await unchained.startSession(['cognate'], NOOP);
  await waitFor(() => unchained.status(byDefault), (s) => s.status === 'completed');
  expect((await unchained.queues.queue('cognate').getJob(phaseJobId(byDefault, 'cognate', 1)))!.data.executor).toBeNull();

  // A job as enqueued before jobs carried their executor.
  const again = await unchained.startSession(['evomerge'], NOOP, false, { enqueue: false });
  await unchained.queues.queue('evomerge').add('evomerge', { sessionId: again, phase: 'evomerge', runGen: 1 }, { jobId: phaseJobId(again, 'evomerge', 1) });
  await waitFor(() => unchained.status(again), (s) => s.status === 'completed');
  const legacyStates = (await eventsOf(unchained, again)).filter((e) => e.event_type === 'agent_update').map((e) => String(e.data.state));
  expect(legacyStates).toEqual(['executing', 'stopped']);
  expect(writesFor(again)).toBe(1); // its executing record, written after the claim
  separateAgentWrites.mockRestore();
});

it('a phase that needs a GPU is never chained: it waits in its GPU queue for a worker with a slot', async () => {
  const id = await chained.startSession(['cognate', 'evomerge'], { ...NOOP, evomerge: { gpu: true } });
  await waitFor(() => chained.status(id), (s) => s.current_phase === 'evomerge' && s.phases_completed.length === 1);
  const gpuJob = await chained.queues.queue('evomerge', true).getJob(phaseJobId(id, 'evomerge', 1));
  expect(gpuJob).toBeDefined();
  expect(await gpuJob!.getState()).toBe('waiting');
  await chained.store.control(id, 'cancel', 'test', ALL_TENANTS);
});

it('a chained phase pauses, parks without holding the job, and resumes as a job of its own', async () => {
  const id = await chained.startSession(['cognate', 'evomerge'], { dry_run: { steps: 40, step_ms: 25 }, cognate: { steps: 1, step_ms: 0 } });
  await waitFor(() => chained.status(id), (s) => s.current_phase === 'evomerge' && s.status === 'running');
  expect(await phasesWithJobs(chained, id)).toEqual(['cognate']);
  expect((await chained.store.control(id, 'pause', 'test', ALL_TENANTS)).kind).toBe('ok');
  // cognate's job ends once the chained evomerge has parked: no worker slot is held while paused.
  await waitFor(async () => (await chained.queues.queue('cognate').getJob(phaseJobId(id, 'cognate', 1)))!.getState(), (s) => s === 'completed');
  const paused = await chained.store.sessionFields(id, ['status', 'parked']);
  expect(paused).toEqual({ status: 'paused', parked: '1' });

  expect(await chained.store.control(id, 'resume', 'test', ALL_TENANTS)).toMatchObject({ kind: 'ok', enqueue: true, runGen: 2 });
  await chained.queues.enqueue({ sessionId: id, phase: 'evomerge', runGen: 2 }, {});
  const final = await waitFor(() => chained.status(id), (s) => s.status === 'completed', 15_000);
  const evomerge = final.phase_metrics.find((m) => m.phase === 'evomerge')!;
  expect(Number(evomerge.custom_metrics.resumed_from_step)).toBeGreaterThan(0);
  expect(Number(evomerge.custom_metrics.resumed_from_step) + Number(evomerge.custom_metrics.steps_run)).toBe(40);
});

describe('when a job may run the next phase itself', () => {
  it('only for a phase this worker serves, within the budget, with a free slot, and not while closing', async () => {
    const cognateOnly = chained.addWorker({ workerId: 'w-cognate-only', gpuSlots: 0, phases: ['cognate'] });
    expect(cognateOnly.chaining.take('evomerge', Date.now())).toBeNull();

    const all = chained.addWorker({ workerId: 'w-all', gpuSlots: 0 });
    // the budget (1 s by default) counts from the start of the job
    expect(all.chaining.take('evomerge', Date.now() - 1_500)).toBeNull();
    // concurrency 4 per phase: a fifth run of evomerge waits for its queue
    const slots = [1, 2, 3, 4].map(() => all.chaining.take('evomerge', Date.now()));
    expect(slots.every((s) => s !== null)).toBe(true);
    expect(all.chaining.take('evomerge', Date.now())).toBeNull();
    slots[0]!.release('completed');
    const again = all.chaining.take('evomerge', Date.now());
    expect(again).not.toBeNull();
    for (const s of [...slots.slice(1), again]) s!.release('completed');

    await all.close();
    expect(all.chaining.take('evomerge', Date.now())).toBeNull();
    await cognateOnly.close();
  });
});
