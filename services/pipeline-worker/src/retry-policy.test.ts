import { attemptOfJob, phaseJobId, PhaseError, type PhaseExecutor } from '@agent-forge/engine';
import { ALL_TENANTS, EventReader } from '@agent-forge/state';
import { createWorkerHarness, settledJob, waitFor } from './test-harness';

/** Fails its first `fail_times` runs (a config key of the phase), then succeeds. */
const flaky: PhaseExecutor = {
  name: 'flaky',
  async run(ctx) {
    if (ctx.attempt <= Number(ctx.config.fail_times ?? 0)) throw new Error(`transient failure #${ctx.attempt}`);
    return { metrics: { succeeded_on_attempt: ctx.attempt } };
  },
};
const broken: PhaseExecutor = {
  name: 'broken',
  async run(ctx) {
    throw new PhaseError('PHASE_FAILED', `diverged on attempt ${ctx.attempt}`);
  },
};

// Deployment default (RETRY_* env in production): 2 attempts, exponential from 10 ms.
const h = createWorkerHarness({ label: 'retry-policy', executors: [flaky, broken] , enableMonitoring: false });
const reader = new EventReader(h.t.redis, h.t.keys);
beforeAll(() => h.start());
afterAll(() => h.stop());

const errorsOf = async (id: string) => (await reader.readAfter(id)).filter((e) => e.event_type === 'error').map((e) => e.data);
const job = (id: string, phase: 'cognate' | 'training', gen = 1) => h.queues.queue(phase).getJob(phaseJobId(id, phase, gen));

/**
 * The backoff BullMQ applied to each retry of a job, from the queue's own event stream: a `delayed`
 * entry carries the time the job becomes due again (`delay`), and its stream id is when Redis moved
 * the failed job to the delayed set. The due time is computed from the worker's clock just before
 * that move, so due − moved is the configured delay minus the call's latency: never more than the
 * delay, and within a generous margin of it (no sleeps, no stopwatch in the test).
 */
async function appliedDelays(phase: string, jobId: string): Promise<number[]> {
  const entries = await h.t.redis.xrange(`${h.t.keys.queuePrefix()}:phase-${phase}:events`, '-', '+');
  return entries
    .map(([streamId, flat]) => ({ movedAt: Number(streamId.split('-')[0]), f: Object.fromEntries(flat.flatMap((_, i) => (i % 2 ? [] : [[flat[i], flat[i + 1]]]))) }))
    .filter(({ f }) => f.event === 'delayed' && f.jobId === jobId)
    .map(({ movedAt, f }) => Number(f.delay) - movedAt);
}

function expectDelays(measured: number[], configured: number[]): void {
  expect(measured).toHaveLength(configured.length);
  measured.forEach((m, i) => {
    expect(m).toBeLessThanOrEqual(configured[i]!);
    expect(m).toBeGreaterThan(configured[i]! - 50);
  });
}

describe('per-phase retry policy (real BullMQ)', () => {
  it('attempts=3: a phase that fails twice then succeeds completes, after two recoverable error events', async () => {
    const id = await h.startSession(['training'], {
      executor: 'flaky',
      training: { fail_times: 2, retry: { attempts: 3, backoff: { type: 'exponential', delay_ms: 150, max_delay_ms: 1_000 } } },
    });
    const final = await waitFor(() => h.status(id), (s) => s.status === 'completed');
    expect(final.phase_metrics[0]!.custom_metrics.succeeded_on_attempt).toBe(3);
    expect(await errorsOf(id)).toEqual([
      { error_code: 'PHASE_FAILED', error_message: 'transient failure #1', phase: 'training', recoverable: true, attempt: 1, max_attempts: 3, retry_in_ms: 150 },
      { error_code: 'PHASE_FAILED', error_message: 'transient failure #2', phase: 'training', recoverable: true, attempt: 2, max_attempts: 3, retry_in_ms: 300 },
    ]);
    // BullMQ finishes the job just after the phase is recorded.
    await waitFor(async () => (await job(id, 'training'))!.getState(), (s) => s === 'completed');
    const j = (await job(id, 'training'))!;
    expect(j.opts.attempts).toBe(3);
    // Exponential from 150 ms: the first retry was due 150 ms after the failure, the second 300 ms.
    expectDelays(await appliedDelays('training', j.id!), [150, 300]);
  });

  it('attempts=2 on an always-failing phase: session failed, error on the phase, one final non-recoverable error, history entry', async () => {
    const id = await h.startSession(['training'], { executor: 'broken', training: { retry: { attempts: 2, backoff: { type: 'fixed', delay_ms: 120 } } } });
    const final = await waitFor(() => h.status(id), (s) => s.status === 'failed');
    expect(final.phase_metrics[0]).toMatchObject({ phase: 'training', status: 'failed', error_message: 'diverged on attempt 2' });
    expect(final.status_reason).toBe('PHASE_FAILED: diverged on attempt 2');
    const errors = await errorsOf(id);
    expect(errors.map((e) => e.recoverable)).toEqual([true, false]);
    expect(errors[0]).toMatchObject({ attempt: 1, max_attempts: 2, retry_in_ms: 120 });
    expect(errors[1]).toEqual({ error_code: 'PHASE_FAILED', error_message: 'diverged on attempt 2', phase: 'training', recoverable: false });
    const history = await waitFor(() => h.store.historyEntry(id, ALL_TENANTS), (e) => e?.status === 'failed');
    expect(history).toMatchObject({ session_id: id, status: 'failed', success: false, phases: ['training'] });
    await waitFor(async () => (await job(id, 'training'))!.getState(), (s) => s === 'failed');
    const j = (await job(id, 'training'))!;
    expect(j.attemptsMade).toBe(2);
    expectDelays(await appliedDelays('training', j.id!), [120]);
  });

  it('exponential backoff is capped at max_delay_ms', async () => {
    const id = await h.startSession(['training'], {
      executor: 'flaky',
      training: { fail_times: 3, retry: { attempts: 4, backoff: { type: 'exponential', delay_ms: 100, max_delay_ms: 160 } } },
    });
    await waitFor(() => h.status(id), (s) => s.status === 'completed');
    // Uncapped it would be 100, 200, 400.
    expect((await errorsOf(id)).map((e) => e.retry_in_ms)).toEqual([100, 160, 160]);
    expectDelays(await appliedDelays('training', (await job(id, 'training'))!.id!), [100, 160, 160]);
  });

  it('the per-phase policy beats the pipeline-wide one, which beats the worker default (also for the next phase the worker enqueues)', async () => {
    const config = { executor: 'flaky', retry: { attempts: 1 }, training: { fail_times: 2, retry: { attempts: 3, backoff: { delay_ms: 5 } } } };
    const id = await h.startSession(['cognate', 'training'], config);
    const final = await waitFor(() => h.status(id), (s) => s.status === 'completed');
    expect(final.phase_metrics.map((m) => m.custom_metrics.succeeded_on_attempt)).toEqual([1, 3]);
    // cognate: the pipeline-wide policy (1 attempt, not the worker's 2); training (enqueued by the
    // worker after cognate): its own 3 attempts, its own delay, the rest of the backoff from the default.
    expect((await job(id, 'cognate'))!.opts).toMatchObject({ attempts: 1 });
    // training ran first inside cognate's job (phase chaining); its failure there was attempt 1 of
    // its own policy, and its retries are a job of its own carrying that attempt.
    expect((await errorsOf(id)).map((e) => [e.phase, e.attempt, e.max_attempts, e.retry_in_ms])).toEqual([
      ['training', 1, 3, 5],
      ['training', 2, 3, 10],
    ]);
    const training = await settledJob(h.queues.queue('training'), phaseJobId(id, 'training', 1));
    expect(training.data.priorAttempts).toBe(1);
    expect(training.opts).toMatchObject({ attempts: 2, backoff: { type: 'capped-exponential', delay: 5, maxDelay: 1_000 } });
    // The job itself ran twice (attempts 2 and 3 of the phase's policy of 3).
    expect(training.attemptsMade).toBe(2);
    expect(attemptOfJob(training).policy).toEqual({ attempts: 3, backoff: { type: 'exponential', delay_ms: 5, max_delay_ms: 1_000 } });

    // Without the per-phase override the pipeline-wide single attempt applies: no retry at all.
    const strict = await h.startSession(['cognate', 'training'], { executor: 'flaky', retry: { attempts: 1 }, training: { fail_times: 2 } });
    const failed = await waitFor(() => h.status(strict), (s) => s.status === 'failed');
    expect(failed.phase_metrics[1]).toMatchObject({ status: 'failed', error_message: 'transient failure #1' });
    expect((await errorsOf(strict)).map((e) => e.recoverable)).toEqual([false]);
  });
});
