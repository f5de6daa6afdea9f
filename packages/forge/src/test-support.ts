import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AgentStatus, PhaseSwarmSettings, PipelineConfig, PipelinePhase } from '@agent-forge/contracts';
import { FsArtifactStore, PhaseParked, type PhaseContext, type PhaseResult, type PreviousPhase, type ProgressStep } from '@agent-forge/engine';
import { createLogger } from '@agent-forge/runtime';
import { runCognate } from './phases/cognate';

/**
 * A PhaseContext for tests of the forge executors: a real FsArtifactStore in a temp dir and a
 * `progress` that records every step (our own seam, not a Redis mock). With `interruptAfter: k`
 * the k-th progress call records its step and then throws `PhaseParked`, as the engine does when
 * the session was paused at that step.
 */
export interface TestContextOptions {
  phase: PipelinePhase;
  config?: Record<string, unknown>;
  pipelineConfig?: Partial<PipelineConfig>;
  previous?: PreviousPhase | null;
  resumeState?: unknown;
  interruptAfter?: number;
  store?: FsArtifactStore;
  sessionId?: string;
  /** The session's swarm (without it the phase computes in its own thread, as outside a session). */
  swarm?: PhaseSwarmSettings;
}

export interface TestContext {
  ctx: PhaseContext;
  steps: ProgressStep[];
  store: FsArtifactStore;
  /** Every `ctx.agents` report, in order. */
  agentReports: { agents: AgentStatus[]; latencyMs: number | null }[];
  /** The state of the last recorded step (what the engine would hand back as resumeState). */
  lastState(): unknown;
}

export async function makeTestStore(): Promise<{ store: FsArtifactStore; cleanup(): Promise<void> }> {
  const root = await mkdtemp(path.join(tmpdir(), 'forge-test-'));
  return { store: new FsArtifactStore(root), cleanup: () => rm(root, { recursive: true, force: true }) };
}

export function makeTestContext(o: TestContextOptions & { store: FsArtifactStore }): TestContext {
  const steps: ProgressStep[] = [];
  const agentReports: TestContext['agentReports'] = [];
  const controller = new AbortController();
  const sessionId = o.sessionId ?? 'test-session';
  const ctx: PhaseContext = {
    sessionId,
    phase: o.phase,
    config: o.config ?? {},
    pipelineConfig: { executor: 'forge', ...o.pipelineConfig } as PipelineConfig,
    signal: controller.signal,
    resumeState: o.resumeState ?? null,
    gpu: null,
    attempt: 1,
    logger: createLogger('forge-test', 'silent'),
    artifacts: o.store,
    artifactPrefix: `${sessionId}/${o.phase}/`,
    previous: o.previous ?? null,
    ...(o.swarm ? { swarm: o.swarm, agents: async (agents: AgentStatus[], latencyMs: number | null) => void agentReports.push({ agents: structuredClone(agents), latencyMs }) } : {}),
    async progress(step: ProgressStep) {
      steps.push(structuredClone(step));
      if (o.interruptAfter !== undefined && steps.length >= o.interruptAfter) throw new PhaseParked();
    },
  };
  return {
    ctx,
    steps,
    store: o.store,
    agentReports,
    lastState: () => {
      for (let i = steps.length - 1; i >= 0; i--) if (steps[i]!.state !== undefined) return steps[i]!.state;
      return null;
    },
  };
}

/** The PreviousPhase a phase hands to the next one. */
export function asPrevious(phase: PipelinePhase, result: PhaseResult): PreviousPhase {
  return { phase, metrics: result.metrics, artifacts: result.artifacts ?? {} };
}

/** A small trained model to feed a phase under test: a tiny cognate run (two models, merged). */
export async function cognateFixture(store: FsArtifactStore, sessionId = 'fixture'): Promise<PreviousPhase> {
  const t = makeTestContext({
    phase: 'cognate',
    store,
    sessionId,
    config: { models_created: 2, pretrain_steps: 80, merge_strategy: 'average' },
  });
  return asPrevious('cognate', await runCognate(t.ctx));
}

/**
 * Run a phase uninterrupted, then again interrupted after `k` progress calls and resumed from the
 * last recorded state: returns both results (they must be equal for a deterministic phase).
 */
export async function runInterrupted(
  run: (ctx: PhaseContext) => Promise<PhaseResult>,
  o: TestContextOptions & { store: FsArtifactStore },
  k: number,
): Promise<{ full: PhaseResult; resumed: PhaseResult; interruptedSteps: number; resumedSteps: number }> {
  const full = await run(makeTestContext({ ...o, sessionId: `${o.sessionId ?? 's'}-full` }).ctx);
  const first = makeTestContext({ ...o, sessionId: `${o.sessionId ?? 's'}-resume`, interruptAfter: k });
  await expectParked(run(first.ctx));
  const state = first.lastState();
  if (state === null) throw new Error(`no state was recorded in the first ${k} steps`);
  const again = makeTestContext({ ...o, sessionId: `${o.sessionId ?? 's'}-resume`, resumeState: state });
  const resumed = await run(again.ctx);
  return { full, resumed, interruptedSteps: first.steps.length, resumedSteps: again.steps.length };
}

async function expectParked(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (err instanceof PhaseParked) return;
    throw err;
  }
  throw new Error('the phase finished although it should have been interrupted');
}

/** Metrics without the wall-clock ones (which differ between runs). */
export function measured(r: PhaseResult): Record<string, unknown> {
  const { wall_seconds: _w, examples_per_second: _e, ...rest } = r.metrics;
  return rest;
}
