import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { AgentStatus } from '@agent-forge/contracts';
import { createLogger } from '@agent-forge/runtime';
import { FsArtifactStore } from './artifacts';
import { PhaseError, PhaseParked, isAbortError } from './errors';
import type { PhaseContext, ProgressStep } from './executor';
import { ThreadedExecutor } from './thread-executor';

const FIXTURES = path.join(__dirname, '..', 'test-fixtures', 'executors.cjs');
let root: string;
let store: FsArtifactStore;
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'af-thread-'));
  store = new FsArtifactStore(root);
});
afterAll(() => rm(root, { recursive: true, force: true }));

function executor(exportName: string, memoryLimitMb = 64) {
  return new ThreadedExecutor({ name: exportName, module: FIXTURES, exportName, memoryLimitMb, killGraceMs: 300 });
}

function context(overrides: Partial<PhaseContext> = {}): PhaseContext & { steps: ProgressStep[] } {
  const steps: ProgressStep[] = [];
  return {
    sessionId: 's-thread',
    phase: 'training',
    config: {},
    pipelineConfig: { executor: 'x' },
    signal: new AbortController().signal,
    resumeState: null,
    attempt: 1,
    logger: createLogger('thread-test', 'silent'),
    artifacts: store,
    artifactPrefix: 's-thread/training/',
    previous: null,
    gpu: null,
    progress: async (step) => {
      steps.push(step);
    },
    steps,
    ...overrides,
  };
}

describe('ThreadedExecutor', () => {
  it('runs an executor in a thread with progress, resume state and artifacts served by the main thread', async () => {
    const prev = await store.put('s-thread/bitnet/model.bin', new Uint8Array([1, 2]));
    const ctx = context({ resumeState: { step: 1 }, previous: { phase: 'bitnet', metrics: {}, artifacts: { model: prev } } });
    const result = await executor('stepper').run(ctx);
    expect(result.metrics).toEqual({ input_bytes: 2, started_at_step: 1 });
    expect(ctx.steps.map((s) => s.state)).toEqual([{ step: 2 }, { step: 3 }]);
    expect(Array.from(await store.get(result.artifacts!.model!))).toEqual([1, 2, 1]);
  });

  it('kills a phase that ignores its abort signal, while the main event loop keeps running', async () => {
    const controller = new AbortController();
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 20);
    const ctx = context({ signal: controller.signal, progress: async () => void setTimeout(() => controller.abort(new Error('phase timeout')), 200) });
    const t0 = Date.now();
    const err = await executor('spinner').run(ctx).catch((e: unknown) => e);
    clearInterval(ticker);
    expect(isAbortError(err)).toBe(true);
    expect((err as Error).message).toMatch(/killed after ignoring abort/);
    const elapsed = Date.now() - t0;
    expect(elapsed).toBeGreaterThanOrEqual(450); // 200 ms until the abort + 300 ms grace
    expect(elapsed).toBeLessThan(3_000);
    expect(ticks).toBeGreaterThan(10); // the spin never blocked this thread
  });

  it('fails a phase that exceeds its memory limit with AGENT_MEMORY_LIMIT, and only that phase', async () => {
    const err = await executor('hog', 32).run(context()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PhaseError);
    expect(err).toMatchObject({ code: 'AGENT_MEMORY_LIMIT', retryable: false });
    // this process is fine and can run the next phase
    expect((await executor('stepper').run(context())).metrics.input_bytes).toBe(1);
  }, 20_000);

  it('rethrows the engine\'s own control error (parked) thrown by ctx.progress', async () => {
    const parked = new PhaseParked();
    const err = await executor('stepper').run(context({ progress: async () => { throw parked; } })).catch((e: unknown) => e);
    expect(err).toBe(parked);
  });

  it('passes the swarm settings into the thread and relays the agents it reports', async () => {
    const reported: { agents: AgentStatus[]; latency: number | null }[] = [];
    const ctx = context({
      swarm: { topology: 'ring', maxAgents: 3, agentMemoryLimitMb: 64 },
      agents: async (agents, latency) => void reported.push({ agents, latency }),
    });
    const result = await executor('reporter').run(ctx);
    expect(result.metrics).toEqual({ topology: 'ring' });
    expect(reported).toHaveLength(1);
    expect(reported[0]!.latency).toBe(0.25);
    expect(reported[0]!.agents.map((a) => a.current_task)).toEqual(['task 0', 'task 1', 'task 2']);
  });

  it('keeps the code and retryability of a typed executor error', async () => {
    const err = await executor('broken').run(context()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PhaseError);
    expect(err).toMatchObject({ code: 'NAN_WEIGHTS', retryable: false, message: 'weights are NaN' });
  });
});
