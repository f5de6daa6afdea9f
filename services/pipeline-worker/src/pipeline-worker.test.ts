import { randomUUID } from 'node:crypto';
import { pipelineConfigSchema, type PipelinePhase } from '@agent-forge/contracts';
import { ExecutorRegistry, DryRunExecutor, FsArtifactStore, PhaseError, PhaseQueues, type PhaseExecutor } from '@agent-forge/engine';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '@agent-forge/runtime';
import { ALL_TENANTS, CheckpointStore, createTestRedis, EventPublisher, EventReader, SessionStore, toStatusResponse } from '@agent-forge/state';
import { PhaseBoundaryCheckpoints } from './checkpointing';
import { Redis } from 'ioredis';
import { ControlListener } from './control-listener';
import { PhaseRunner } from './phase-runner';
import { waitFor } from './test-harness';
import { PhaseWorkers } from './worker';

const t = createTestRedis('worker');
const logger = createLogger('test-worker', 'silent');
const conn = new Redis(t.url, { maxRetriesPerRequest: null });
const sub = new Redis(t.url, { maxRetriesPerRequest: null });
const store = new SessionStore(t.redis, t.keys);
const reader = new EventReader(t.redis, t.keys);
const queues = new PhaseQueues(conn, t.keys, { retry: { attempts: 2, backoff: { type: 'exponential', delay_ms: 10, max_delay_ms: 1_000 } } });

let failures = 0;
const flaky: PhaseExecutor = {
  name: 'flaky',
  async run(ctx) {
    if (ctx.attempt === 1) {
      failures++;
      throw new Error('transient failure');
    }
    return { metrics: { attempt: ctx.attempt } };
  },
};
const broken: PhaseExecutor = {
  name: 'broken',
  async run() {
    throw new PhaseError('PHASE_FAILED', 'model diverged');
  },
};
const artifactRoot = mkdtempSync(path.join(os.tmpdir(), 'af-worker-test-'));
const artifacts = new FsArtifactStore(artifactRoot);
/** Writes a model artifact derived from the previous phase's one: the hand-over between phases. */
const chained: PhaseExecutor = {
  name: 'chained',
  async run(ctx) {
    const prev = ctx.previous?.artifacts.model;
    const input = prev ? await ctx.artifacts.get(prev) : new Uint8Array([0]);
    const model = await ctx.artifacts.put(`${ctx.artifactPrefix}model.bin`, new Uint8Array([...input, input.length]));
    return { metrics: { input_bytes: input.length, previous_phase: ctx.previous?.phase ?? null }, artifacts: { model } };
  },
};
const registry = new ExecutorRegistry().register(new DryRunExecutor()).register(flaky).register(broken).register(chained);
const control = new ControlListener(sub, t.keys, logger);
const checkpoints = new CheckpointStore(t.redis, t.keys, store);
const boundary = new PhaseBoundaryCheckpoints({ checkpoints, artifacts, keep: 2, uriBase: 'redis://127.0.0.1:6379', logger });
const workers = new PhaseWorkers({
  connection: conn,
  prefix: t.keys.queuePrefix(),
  phases: ['cognate', 'evomerge', 'quietstar', 'training'],
  concurrency: 4,
  lockDurationMs: 30_000,
  stalledIntervalMs: 30_000,
  runner: new PhaseRunner({ store, events: new EventPublisher(t.redis, t.keys), queues, registry, control, artifacts, boundary, logger, workerId: 'w-test', metricsIntervalMs: 200, defaultExecutor: 'dry-run', agentMemoryLimitMb: 64 }),
  logger,
});

beforeAll(async () => {
  await control.start();
  workers.start();
});
afterAll(async () => {
  await workers.close();
  await queues.close();
  await conn.quit();
  await sub.quit();
  await t.cleanup();
  rmSync(artifactRoot, { recursive: true, force: true });
});

/**
 * Monitoring off: these executors exercise orchestration (retries, hand-over, checkpoints) with
 * toy artifacts that are no model, and the quality gates — which judge every executor but the
 * dry-run simulator — would rightly stop them (gates are quality-gates.test.ts's subject).
 */
async function startSession(phases: PipelinePhase[], rawConfig: Record<string, unknown>): Promise<string> {
  const sessionId = randomUUID();
  const config = pipelineConfigSchema(phases).parse(rawConfig);
  await store.create({ sessionId, tenant: 'default', phases, config, enableMonitoring: false, enableCheckpoints: rawConfig.__checkpoints === true, topology: 'hierarchical', maxAgents: 10, preset: null });
  await queues.enqueue({ sessionId, phase: phases[0]!, runGen: 1 }, config);
  return sessionId;
}

const statusOf = async (id: string) => toStatusResponse((await store.snapshot(id, ALL_TENANTS))!);

describe('pipeline worker', () => {
  it('runs a 3-phase dry-run pipeline to completion with one phase_complete per phase', async () => {
    const id = await startSession(['cognate', 'evomerge', 'quietstar'], { dry_run: { steps: 4, step_ms: 10 } });
    const final = await waitFor(() => statusOf(id), (s) => s.status === 'completed');
    expect(final.total_progress_percent).toBe(100);
    expect(final.phase_metrics.map((m) => m.custom_metrics.executor)).toEqual(['dry-run', 'dry-run', 'dry-run']);
    expect(final.phase_metrics.every((m) => m.custom_metrics.steps_run === 4)).toBe(true);
    const events = await reader.readAfter(id);
    expect(events.filter((e) => e.event_type === 'phase_complete').map((e) => e.data.phase)).toEqual(['cognate', 'evomerge', 'quietstar']);
    const progress = events.filter((e) => e.event_type === 'pipeline_progress').map((e) => e.data.total_progress_percent as number);
    expect([...progress].sort((a, b) => a - b)).toEqual(progress);
    // the agent ran and was stopped when its phase ended
    expect(final.active_agents).toEqual([]);
  });

  it('pause parks the phase (no progress while paused) and resume continues from the saved step', async () => {
    const id = await startSession(['cognate'], { dry_run: { steps: 20, step_ms: 30 } });
    await waitFor(() => statusOf(id), (s) => s.phase_metrics[0]!.progress_percent >= 20);
    expect((await store.control(id, 'pause', 'test', ALL_TENANTS)).kind).toBe('ok');
    await waitFor(() => store.sessionFields(id, ['parked']), (f) => f.parked === '1');
    const lastBefore = (await reader.readAfter(id)).at(-1)!.event_id!;
    await new Promise((r) => setTimeout(r, 300));
    const during = (await reader.readAfter(id, lastBefore)).filter((e) => e.event_type === 'pipeline_progress');
    expect(during).toEqual([]);
    const resumed = await store.control(id, 'resume', 'test', ALL_TENANTS);
    expect(resumed).toMatchObject({ kind: 'ok', enqueue: true, runGen: 2 });
    await queues.enqueue({ sessionId: id, phase: 'cognate', runGen: 2 }, await store.pipelineConfig(id));
    const final = await waitFor(() => statusOf(id), (s) => s.status === 'completed');
    const m = final.phase_metrics[0]!.custom_metrics;
    expect(m.resumed_from_step as number).toBeGreaterThan(0);
    expect((m.resumed_from_step as number) + (m.steps_run as number)).toBe(20);
  });

  it('cancel aborts the running phase at once', async () => {
    const id = await startSession(['cognate'], { dry_run: { steps: 5, step_ms: 5_000 } });
    await waitFor(() => statusOf(id), (s) => s.phase_metrics[0]!.status === 'running');
    const t0 = Date.now();
    await store.control(id, 'cancel', 'test', ALL_TENANTS);
    await waitFor(() => store.snapshot(id, ALL_TENANTS), (s) => s!.agents.length > 0 && s!.agents.every((a) => a.state === 'stopped'), 2_000);
    expect(Date.now() - t0).toBeLessThan(1_000);
    expect((await statusOf(id)).status).toBe('cancelled');
  });

  it('retries a transient failure with a recoverable error event, then completes', async () => {
    const id = await startSession(['training'], { executor: 'flaky' });
    const final = await waitFor(() => statusOf(id), (s) => s.status === 'completed');
    expect(final.phase_metrics[0]!.custom_metrics.attempt).toBe(2);
    const errors = (await reader.readAfter(id)).filter((e) => e.event_type === 'error');
    expect(errors.map((e) => e.data.recoverable)).toEqual([true]);
    expect(failures).toBe(1);
  });

  it('a phase that keeps failing ends the session failed with the error on the phase', async () => {
    const id = await startSession(['training'], { executor: 'broken' });
    const final = await waitFor(() => statusOf(id), (s) => s.status === 'failed');
    expect(final.phase_metrics[0]).toMatchObject({ status: 'failed', error_message: 'model diverged' });
    const errors = (await reader.readAfter(id)).filter((e) => e.event_type === 'error');
    expect(errors.at(-1)!.data).toMatchObject({ error_code: 'PHASE_FAILED', recoverable: false });
  });

  it('a phase over its timeout fails the session with PHASE_TIMEOUT', async () => {
    const id = await startSession(['quietstar'], { quietstar: { timeout_seconds: 0.3 }, dry_run: { steps: 3, step_ms: 1_000 } });
    const final = await waitFor(() => statusOf(id), (s) => s.status === 'failed');
    expect(final.status_reason).toMatch(/^PHASE_TIMEOUT/);
  });

  it('hands each phase the previous phase\'s artifacts, stored by reference with checksums', async () => {
    const id = await startSession(['cognate', 'evomerge', 'quietstar'], { executor: 'chained' });
    const final = await waitFor(() => statusOf(id), (s) => s.status === 'completed');
    expect(final.phase_metrics.map((m) => m.custom_metrics)).toEqual([
      { input_bytes: 1, previous_phase: null },
      { input_bytes: 2, previous_phase: 'cognate' },
      { input_bytes: 3, previous_phase: 'evomerge' },
    ]);
    const last = final.phase_metrics[2]!.artifacts.model!;
    expect(last.size_bytes).toBe(4);
    expect(Array.from(await artifacts.get(last))).toEqual([0, 1, 2, 3]);
  });

  it('checkpoints every phase boundary, keeps the newest K, and collects artifacts nothing references', async () => {
    const id = await startSession(['cognate', 'evomerge', 'quietstar'], { executor: 'chained', __checkpoints: true });
    // an orphan from a crashed attempt: no checkpoint and no live phase references it
    const orphan = await artifacts.put(`${id}/cognate/g0a9/model.bin`, new Uint8Array([42]));
    await waitFor(() => statusOf(id), (s) => s.status === 'completed');
    // the boundary checkpoint of the last phase is written right after its completion is recorded,
    // then the older ones are pruned and unreferenced artifacts collected: wait for all of it
    const kept = (await waitFor(() => checkpoints.listForSession(id, ALL_TENANTS), (c) => c?.[0]?.checkpoint_name === 'after-quietstar' && c.length <= 2))!;
    const final = await statusOf(id);
    expect(kept.map((c) => c.checkpoint_name)).toEqual(['after-quietstar', 'after-evomerge']);
    expect(final.last_checkpoint).toBe(kept[0]!.checkpoint_id);
    // size_mb is what the checkpoint holds: its snapshot plus the model artifacts it references
    const full = await checkpoints.get(kept[0]!.checkpoint_id, ALL_TENANTS);
    const modelBytes = final.phase_metrics.reduce((n, m) => n + m.artifacts.model!.size_bytes, 0);
    const snapshotBytes = Buffer.byteLength(JSON.stringify(full!.snapshot), 'utf8');
    expect(kept[0]!.size_mb * 1024 * 1024).toBeCloseTo(snapshotBytes + modelBytes, 3);
    const onDisk = await waitFor(() => artifacts.list(`${id}/`), (uris) => !uris.includes(orphan.uri));
    expect(onDisk).not.toContain(orphan.uri);
    expect(onDisk.sort()).toEqual(final.phase_metrics.map((m) => m.artifacts.model!.uri).sort());
  });

  it('an unknown executor fails the session without retrying', async () => {
    const id = await startSession(['evomerge'], { executor: 'no-such-executor' });
    const final = await waitFor(() => statusOf(id), (s) => s.status === 'failed');
    expect(final.phase_metrics[0]!.error_message).toMatch(/no executor named "no-such-executor"/);
  });
});
