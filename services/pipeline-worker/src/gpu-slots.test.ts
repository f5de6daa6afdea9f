import { phaseJobId, type PhaseExecutor } from '@agent-forge/engine';
import { ALL_TENANTS, EventReader, runScript } from '@agent-forge/state';
import { setTimeout as sleep } from 'node:timers/promises';
import { createWorkerHarness, settledJob, waitFor } from './test-harness';

/** What the GPU phases saw: how many ran at once, on which slot, and who held the slot's lease. */
let running = 0;
let maxRunning = 0;
const seen = new Map<string, { slot: string | null; leaseHolder: string | null }>();
let harness: ReturnType<typeof createWorkerHarness> | null = null;

const gpuProbe: PhaseExecutor = {
  name: 'gpu-probe',
  async run(ctx) {
    running++;
    maxRunning = Math.max(maxRunning, running);
    try {
      const slot = ctx.gpu?.slot ?? null;
      const leaseHolder = slot && harness ? await harness.t.redis.get(harness.t.keys.gpuLease(slot)) : null;
      seen.set(ctx.sessionId, { slot, leaseHolder });
      for (let i = 1; i <= 4; i++) {
        await sleep(30, undefined, { signal: ctx.signal });
        await ctx.progress({ percent: i * 25 });
      }
      return { metrics: { on_gpu_slot: slot } };
    } finally {
      running--;
    }
  },
};

describe('GPU slots: a one-slot worker', () => {
  const h = createWorkerHarness({ label: 'gpu-one-slot', executors: [gpuProbe], gpuSlots: 1, gpuLeaseTtlMs: 2_000 , enableMonitoring: false });
  beforeAll(async () => {
    harness = h;
    await h.start();
  });
  afterAll(() => h.stop());

  it('runs two phases that need a GPU one after the other, each holding the slot, and frees it after', async () => {
    maxRunning = 0;
    // Two different phases: two GPU queues, each consumed with one job at a time, so both jobs are
    // taken at once — only the slot lease makes the second wait for the first.
    const phases = ['training', 'compression'] as const;
    const ids = await Promise.all(phases.map((p) => h.startSession([p], { executor: 'gpu-probe', [p]: { gpu: true } })));
    for (const id of ids) await waitFor(() => h.status(id), (s) => s.status === 'completed');
    expect(maxRunning).toBe(1);
    for (const [i, id] of ids.entries()) {
      const phase = phases[i]!;
      expect(seen.get(id)!.slot).toBe('w-test.slot0');
      expect(seen.get(id)!.leaseHolder).toMatch(new RegExp(`^w-test/${id}\\.${phase}\\.g1#`));
      // The job went through the phase's GPU queue, not the plain one.
      expect(await h.queues.queue(phase, true).getJob(phaseJobId(id, phase, 1))).toBeDefined();
      expect(await h.queues.queue(phase).getJob(phaseJobId(id, phase, 1))).toBeUndefined();
    }
    // The job that found the slot held went back to the queue (delayed) and was started again later,
    // without that costing it a retry attempt.
    const jobs = await Promise.all(ids.map((id, i) => settledJob(h.queues.queue(phases[i]!, true), phaseJobId(id, phases[i]!, 1))));
    expect(Math.max(...jobs.map((j) => j!.attemptsStarted))).toBeGreaterThanOrEqual(2);
    expect(jobs.map((j) => j!.attemptsMade)).toEqual([1, 1]); // one run each: the completion
    // Freed right after the phase is recorded (the worker releases it on its way out).
    await waitFor(() => h.t.redis.exists(h.t.keys.gpuLease('w-test.slot0')), (n) => n === 0);
  });

  it('a slot whose holder crashed (lease taken, never renewed) is taken again once its TTL runs out', async () => {
    // The crashed holder: took the slot's lease for 400 ms, then died (no renewal, no release).
    const key = h.t.keys.gpuLease('w-test.slot0');
    expect(await runScript<number>(h.t.redis, 'gpuLeaseAcquire', [key], ['crashed-worker/some-job#dead', 400])).toBe(1);
    const id = await h.startSession(['training'], { executor: 'gpu-probe', training: { gpu: true } });
    const done = await waitFor(() => h.status(id), (s) => s.status === 'completed');
    expect(done.phase_metrics[0]!.custom_metrics.on_gpu_slot).toBe('w-test.slot0');
    // It ran holding the slot itself: the dead holder's lease had expired, nobody stole a live one.
    expect(seen.get(id)!.leaseHolder).toMatch(/^w-test\//);
    await waitFor(() => h.t.redis.exists(key), (n) => n === 0);
  });

  it('a phase that does not need a GPU runs without a slot', async () => {
    const id = await h.startSession(['training'], { executor: 'gpu-probe' });
    await waitFor(() => h.status(id), (s) => s.status === 'completed');
    expect(seen.get(id)).toEqual({ slot: null, leaseHolder: null });
  });
});

describe('GPU slots: GPU_PHASES and GPU-less workers', () => {
  // The deployment lists training in GPU_PHASES; this harness's own worker has no GPU.
  const h = createWorkerHarness({ label: 'gpu-less', executors: [gpuProbe], gpuSlots: 0, gpuPhases: ['training'] , enableMonitoring: false });
  beforeAll(async () => {
    await h.start();
  });
  afterAll(() => h.stop());

  it('a GPU-less worker never takes a GPU phase; a worker with a slot that joins later does', async () => {
    harness = h;
    const gpuId = await h.startSession(['training'], { executor: 'gpu-probe' });
    // The GPU-less worker is busy and healthy: a phase without GPU need (gpu: false) runs to the end…
    const cpuId = await h.startSession(['training'], { executor: 'gpu-probe', training: { gpu: false } });
    await waitFor(() => h.status(cpuId), (s) => s.status === 'completed');
    expect(seen.get(cpuId)!.slot).toBeNull();
    // …while the GPU phase still waits in the GPU queue, untouched.
    const gpuJob = await h.queues.queue('training', true).getJob(phaseJobId(gpuId, 'training', 1));
    expect(await gpuJob!.getState()).toBe('waiting');
    expect(gpuJob!.attemptsStarted ?? 0).toBe(0);
    expect((await h.status(gpuId)).status).toBe('initializing');

    h.addWorker({ workerId: 'w-gpu', gpuSlots: 1, phases: ['training'] });
    const done = await waitFor(() => h.status(gpuId), (s) => s.status === 'completed');
    expect(seen.get(gpuId)!.slot).toBe('w-gpu.slot0');
    expect((await h.store.snapshot(gpuId, ALL_TENANTS))!.phases.training!.status).toBe('completed');
  });
});

describe('GPU slots: a lease lost while its phase runs', () => {
  /** Walks 20 steps of 50 ms, honouring its abort signal like any executor should. */
  const attemptStartedAt: number[] = [];
  const gpuSlow: PhaseExecutor = {
    name: 'gpu-slow',
    async run(ctx) {
      attemptStartedAt.push(Date.now());
      for (let i = 1; i <= 20; i++) {
        await sleep(50, undefined, { signal: ctx.signal });
        await ctx.progress({ percent: i * 5 });
      }
      return { metrics: { attempt: ctx.attempt } };
    },
  };
  // Renewed every 200 ms: a lease taken away is noticed within one renewal.
  const h = createWorkerHarness({ label: 'gpu-lease-lost', executors: [gpuSlow], gpuSlots: 1, gpuLeaseTtlMs: 600, enableMonitoring: false });
  beforeAll(() => h.start());
  afterAll(() => h.stop());

  it('stops using the GPU at once, reports GPU_LEASE_LOST as recoverable, and retries the phase on a fresh lease', async () => {
    const slotKey = h.t.keys.gpuLease('w-test.slot0');
    const id = await h.startSession(['training'], { executor: 'gpu-slow', training: { gpu: true } });
    await waitFor(() => h.t.redis.get(slotKey), (v) => v !== null);
    // The lease expires (or, the same to its holder, someone else's replaces it) mid-phase.
    const takenAt = Date.now();
    await h.t.redis.set(slotKey, 'someone-else', 'PX', 600);
    const final = await waitFor(() => h.status(id), (s) => s.status === 'completed', 15_000);
    expect(final.phase_metrics[0]!.custom_metrics.attempt).toBe(2);
    const errors = (await new EventReader(h.t.redis, h.t.keys).readAfter(id)).filter((e) => e.event_type === 'error').map((e) => e.data);
    expect(errors).toEqual([expect.objectContaining({ error_code: 'GPU_LEASE_LOST', phase: 'training', recoverable: true, attempt: 1 })]);
    const job = await settledJob(h.queues.queue('training', true), phaseJobId(id, 'training', 1));
    expect(job.attemptsMade).toBe(2);
    // The retry waited for the slot: it started only once the other holder's lease had run out.
    expect(attemptStartedAt).toHaveLength(2);
    expect(attemptStartedAt[1]! - takenAt).toBeGreaterThanOrEqual(550);
  });
});
