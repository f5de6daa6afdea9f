import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { FsArtifactStore } from '../artifacts';
import { PhaseError, PhaseParked, isAbortError } from '../errors';
import type { PhaseContext, ProgressStep } from '../executor';
import { CommandExecutor } from './command-executor';
import { isProcessAlive } from './process-group';

const PROGRAM = path.join(__dirname, '..', '..', 'test-fixtures', 'command', 'program.mjs');
let root: string;
let store: FsArtifactStore;
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'af-cmd-test-'));
  store = new FsArtifactStore(root);
});
afterAll(() => rm(root, { recursive: true, force: true }));

function executor(mode: string, limits: { memoryLimitMb?: number; timeoutMs?: number; killGraceMs?: number } = {}) {
  return new CommandExecutor({
    name: `test-${mode}`,
    argv: [process.execPath, PROGRAM, mode],
    env: {},
    memoryLimitMb: limits.memoryLimitMb ?? 512,
    timeoutMs: limits.timeoutMs ?? 0,
    killGraceMs: limits.killGraceMs ?? 400,
  });
}

/** A context whose progress behaves like the engine's: once `pause()` was called, a step parks the phase. */
function context(overrides: Partial<PhaseContext> = {}) {
  const steps: ProgressStep[] = [];
  const logs: Record<string, unknown>[] = [];
  const parkedStates: unknown[] = [];
  let paused = false;
  const logger = pino({ level: 'trace' }, { write: (s: string) => void logs.push(JSON.parse(s) as Record<string, unknown>) });
  const ctx: PhaseContext = {
    sessionId: 's-cmd',
    phase: 'compression',
    config: {},
    pipelineConfig: {},
    signal: new AbortController().signal,
    resumeState: null,
    attempt: 1,
    logger,
    artifacts: store,
    artifactPrefix: `s-cmd/compression/${Math.random().toString(36).slice(2)}/`,
    previous: null,
    progress: async (step) => {
      steps.push(step);
      if (paused) {
        parkedStates.push(step.state);
        throw new PhaseParked();
      }
    },
    ...overrides,
    gpu: overrides.gpu ?? null,
  };
  return { ctx, steps, logs, parkedStates, pause: () => (paused = true) };
}

async function waitUntil(ok: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('CommandExecutor', () => {
  it('turns protocol lines into progress, metrics, checkpoints, artifacts and the result; bad lines are counted, not fatal', async () => {
    const input = await store.put('s-cmd/bitnet/model.bin', new Uint8Array([1, 2, 3]));
    const { ctx, steps, logs } = context({ config: { knob: 'x' }, previous: { phase: 'bitnet', metrics: {}, artifacts: { model: input } } });
    const result = await executor('flow').run(ctx);

    // not JSON, percent 250, unknown type, three artifact paths leading outside output/ (one a symlink), a second result
    expect(result.metrics).toMatchObject({ answer: 42, config_seen: 'x', attempt: 1, input_bytes: 3, protocol_errors: 7 });
    // A program this short may end before the first /proc sample: then its peak is unmeasured
    // (null), never invented. The long-running program below is always sampled.
    const peak = result.metrics.executor_peak_rss_mb;
    expect(peak === null || (typeof peak === 'number' && peak > 0)).toBe(true);
    expect(steps.map((s) => s.percent)).toEqual([50, 50]);
    expect(steps[0]).toMatchObject({ message: 'half way', metrics: { seen: 3 } });
    expect(steps[1]).toMatchObject({ state: { step: 1 }, metrics: { input_bytes: 3 } });
    expect(Object.keys(result.artifacts ?? {})).toEqual(['model']);
    const out = await store.get(result.artifacts!.model!);
    expect([...out]).toEqual([1, 2, 3, 42]);
    expect(result.artifacts!.model!.uri).toContain(`${ctx.artifactPrefix}model.bin`);

    const stderr = logs.filter((l) => l.stream === 'stderr').map((l) => l.msg);
    expect(stderr).toEqual(['warming up', 'still warming']);
    expect(logs.find((l) => l.stream === 'program')).toMatchObject({ msg: 'hello from compression', level: 30 });
    const bad = logs.filter((l) => l.msg === 'phase program wrote a line that is not protocol; ignored');
    expect(bad.map((l) => l.line)).toContain('this is not json');
    expect(bad.map((l) => String(l.error)).join(' ')).toContain('outside the output directory');
  });

  it('takes every line of a program that writes faster than progress is recorded, in order', async () => {
    const { ctx, steps } = context({
      config: { lines: 3000 },
      // a slow recorder: the program outpaces it and is held back by the pipe
      progress: async (step) => {
        steps.push(step);
        await new Promise((r) => setImmediate(r));
      },
    });
    const result = await executor('chatty').run(ctx);
    expect(result.metrics).toMatchObject({ lines: 3000, protocol_errors: 0 });
    expect(result.metrics.executor_peak_rss_mb).toBeGreaterThan(5); // a Node process, sampled while it ran
    expect(steps.map((s) => (s.metrics as { i: number }).i)).toEqual(Array.from({ length: 3000 }, (_, k) => k + 1));
  });

  it('pause sends `pause`, parks with the checkpoint the program wrote, and the restart receives it', async () => {
    const first = context({ config: { steps: 200, step_ms: 20 } });
    const run = executor('steps').run(first.ctx);
    await waitUntil(() => first.steps.length >= 6);
    first.pause();
    await expect(run).rejects.toBeInstanceOf(PhaseParked);
    // the last park carries the program's answer to `pause`
    const parked = first.parkedStates.at(-1) as { step: number; via: string };
    expect(parked.via).toBe('pause');
    expect(parked.step).toBeGreaterThanOrEqual(3);

    const second = context({ config: { steps: parked.step + 3, step_ms: 1 }, resumeState: parked });
    const result = await executor('steps').run(second.ctx);
    expect(result.metrics).toMatchObject({ started_at_step: parked.step, steps_done: parked.step + 3, protocol_errors: 0 });
  });

  it('cancel kills the whole process group within the grace period, even when it ignores SIGTERM and `stop`', async () => {
    const controller = new AbortController();
    const { ctx, logs } = context({ signal: controller.signal });
    const run = executor('stubborn', { killGraceMs: 600 }).run(ctx);
    await waitUntil(() => logs.some((l) => l.stream === 'program'));
    const { pid, helper } = JSON.parse(String(logs.find((l) => l.stream === 'program')!.msg)) as { pid: number; helper: number };
    expect(await isProcessAlive(helper)).toBe(true);
    controller.abort(new Error('session cancel'));
    const err: unknown = await run.catch((e: unknown) => e);
    expect(isAbortError(err)).toBe(true);
    expect(await isProcessAlive(pid)).toBe(false);
    await waitUntil(async () => !(await isProcessAlive(helper)), 2_000);
  });

  it('a program over its memory limit is killed and fails the phase with AGENT_MEMORY_LIMIT (not retryable)', async () => {
    const { ctx } = context();
    const err = (await executor('hog', { memoryLimitMb: 150 }).run(ctx).catch((e: unknown) => e)) as PhaseError;
    expect(err).toBeInstanceOf(PhaseError);
    expect(err.code).toBe('AGENT_MEMORY_LIMIT');
    expect(err.retryable).toBe(false);
  });

  it('the executor timeout ends the run with PHASE_TIMEOUT', async () => {
    const { ctx } = context();
    const err = (await executor('sleeper', { timeoutMs: 300 }).run(ctx).catch((e: unknown) => e)) as PhaseError;
    expect(err).toBeInstanceOf(PhaseError);
    expect(err.code).toBe('PHASE_TIMEOUT');
  });

  it('the phase timeout (an abort of ctx.signal) stops a polite program with `stop`', async () => {
    const controller = new AbortController();
    const { ctx, steps } = context({ signal: controller.signal });
    const run = executor('sleeper', { killGraceMs: 5_000 }).run(ctx);
    await waitUntil(() => steps.length > 0);
    const t0 = Date.now();
    controller.abort(new Error('phase timeout'));
    const err: unknown = await run.catch((e: unknown) => e);
    expect(isAbortError(err)).toBe(true);
    // it left on the control word, long before SIGTERM was due
    expect(Date.now() - t0).toBeLessThan(2_500);
  });

  it('a non-zero exit fails the phase (retryable) with its last stderr lines', async () => {
    const { ctx } = context();
    const err = (await executor('crash').run(ctx).catch((e: unknown) => e)) as PhaseError;
    expect(err.code).toBe('EXECUTOR_FAILED');
    expect(err.retryable).toBe(true);
    expect(err.message).toContain('exited with code 3');
    expect(err.message).toContain('ValueError: shapes (3,4) and (5,6) not aligned');
  });

  it('exit 0 without a result line is a protocol error', async () => {
    const { ctx } = context();
    const err = (await executor('no-result').run(ctx).catch((e: unknown) => e)) as PhaseError;
    expect(err.code).toBe('EXECUTOR_PROTOCOL_ERROR');
    expect(err.retryable).toBe(false);
  });

  it('a program that cannot start fails with EXECUTOR_START_FAILED', async () => {
    const { ctx } = context();
    const e = new CommandExecutor({ name: 'missing', argv: ['/nonexistent/program'], env: {}, memoryLimitMb: 64, timeoutMs: 0, killGraceMs: 100 });
    const err = (await e.run(ctx).catch((x: unknown) => x)) as PhaseError;
    expect(err.code).toBe('EXECUTOR_START_FAILED');
  });
});
