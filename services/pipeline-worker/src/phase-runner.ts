import type { AgentStatus, PipelineConfig, PipelinePhase, RetryPolicy } from '@agent-forge/contracts';
import {
  PhaseAborted,
  PhaseError,
  PhaseParked,
  isAbortError,
  type ArtifactStore,
  type ExecutorRegistry,
  type PreviousPhase,
  type PhaseContext,
  type PhaseJobData,
  type PhaseResult,
  type PhaseQueues,
  type ProgressStep,
  type PhaseGpu,
  attemptOfJob,
  backoffDelayMs,
  configuredExecutor,
  phaseNeedsGpu,
  planPhaseJob,
} from '@agent-forge/engine';
import { CpuMeter, meanUtilization, processMemoryMb, round2, type Logger } from '@agent-forge/runtime';
import { ALL_TENANTS, parseStoredConfig, type EventPublisher, type GpuLease, type KnownSession, type SessionStore, type StartPhaseResult } from '@agent-forge/state';
import { COORDINATOR_ROLE } from '@agent-forge/swarm';
import { UnrecoverableError, type Job } from 'bullmq';
import type { PhaseBoundaryCheckpoints } from './checkpointing';
import type { ControlListener } from './control-listener';
import { PhaseSwarmAgents } from './swarm-agents';
import { judgePhase, type PhaseJudgement } from './quality-gates';

export interface PhaseRunnerDeps {
  store: SessionStore;
  events: EventPublisher;
  queues: PhaseQueues;
  registry: ExecutorRegistry;
  control: ControlListener;
  artifacts: ArtifactStore;
  /** Checkpoint + retention + artifact GC after each completed phase. */
  boundary: PhaseBoundaryCheckpoints;
  logger: Logger;
  workerId: string;
  metricsIntervalMs: number;
  /** Executor of phases whose pipeline config names none. */
  defaultExecutor: string;
  /** Heap limit of each swarm agent thread a phase starts (AGENT_MEMORY_LIMIT_MB). */
  agentMemoryLimitMb: number;
  /** Measured utilisation of one GPU (by UUID), null when it cannot be read. Absent: no GPU here. */
  gpuUtilization?: (uuid: string) => Promise<number | null>;
}

/** The GPU slot a phase job runs on: its lease (renewed while the phase runs) and the device. */
export interface GpuAssignment {
  lease: GpuLease;
  gpu: PhaseGpu;
}

export type PhaseJobOutcome =
  | { outcome: 'completed'; next: PipelinePhase | null }
  | { outcome: 'parked' }
  | { outcome: 'aborted'; reason: string }
  | { outcome: 'skipped'; reason: string }
  | { outcome: 'failed'; code: string }
  /** A phase run inside the previous phase's job failed and will be retried as a job of its own. */
  | { outcome: 'retrying'; code: string };

/** The worker slot one phase runs in: released once, with the phase's outcome. */
export interface PhaseSlot {
  release(outcome: string): void;
  /** Give the slot back unused (the phase it was taken for did not run here). */
  cancel(): void;
}

/**
 * Lets a job run its session's next phase itself instead of handing it to the next queue, which
 * saves the queue round trips of the hand-over (the worker decides when: see PhaseWorkers).
 */
export interface PhaseChaining {
  /** A slot to run `next` in the job that started at `jobStartedMs`, or null: enqueue it. */
  take(next: PipelinePhase, jobStartedMs: number): PhaseSlot | null;
}

export interface RunOptions {
  /** The GPU slot of a GPU job (such a job never runs a further phase: its lease is for this one). */
  gpuSlot?: GpuAssignment | null;
  /** The slot of the job's own phase. */
  slot?: PhaseSlot;
  chaining?: PhaseChaining;
}

/** The next phase a job goes on to run itself, with what the previous claim already read. */
interface ChainedPhase {
  phase: PipelinePhase;
  slot: PhaseSlot;
  /** The session's config and phases, as the previous claim of this run generation returned them. */
  known: KnownSession;
  /** Claimed already, by the script that completed the phase before it (with its agent). */
  claimed?: { claim: StartPhaseResult; agent: AgentStatus };
}

/** Where a failed run stands in its phase's retry policy. */
interface RetryPosition {
  policy: RetryPolicy;
  attempt: number;
  /** Chained into another phase's job: a retry becomes a job of its own instead of a rethrow. */
  chained: boolean;
}

/** The process's CPU meter: agents run in this process, so they report its measured usage. */
const processCpu = new CpuMeter();

/**
 * Runs one phase job: claim the phase (atomically, guarded by run generation), run its executor
 * with progress/pause/cancel wired to Redis, then record the outcome and enqueue the next phase.
 * Every effect is idempotent, so a redelivered job changes nothing twice.
 */
export class PhaseRunner {
  constructor(private readonly deps: PhaseRunnerDeps) {}

  /**
   * Run the job's phase and, while the worker's chaining allows, the session's following phases in
   * the same job. The job stays active (its lock renewed) until the last of them ends, so a crash
   * anywhere in the chain redelivers it, and the redelivery finds the phase the chain had reached.
   */
  async run(job: Job<PhaseJobData>, opts: RunOptions = {}): Promise<PhaseJobOutcome> {
    const jobStartedMs = Date.now();
    let phase = job.data.phase;
    let slot = opts.slot;
    let chainedFrom: KnownSession | null = null;
    let claimed: ChainedPhase['claimed'];
    for (;;) {
      let result: { outcome: PhaseJobOutcome; chained?: ChainedPhase };
      try {
        result = await this.runPhase(job, phase, {
          gpuSlot: opts.gpuSlot ?? null,
          chainedFrom,
          claimed,
          chain: opts.gpuSlot ? undefined : opts.chaining && ((next) => opts.chaining!.take(next, jobStartedMs)),
        });
      } catch (err) {
        slot?.release('error');
        throw err;
      }
      slot?.release(result.outcome.outcome);
      if (!result.chained) return result.outcome;
      ({ phase, slot, known: chainedFrom, claimed } = result.chained);
    }
  }

  private async runPhase(
    job: Job<PhaseJobData>,
    phase: PipelinePhase,
    o: {
      gpuSlot: GpuAssignment | null;
      chainedFrom: KnownSession | null;
      claimed: ChainedPhase['claimed'];
      chain: ((next: PipelinePhase) => PhaseSlot | null) | undefined;
    },
  ): Promise<{ outcome: PhaseJobOutcome; chained?: ChainedPhase }> {
    const { store, logger } = this.deps;
    const { sessionId, runGen } = job.data;
    const gpuSlot = o.gpuSlot;
    const log = logger.child({ sessionId, phase, runGen, jobId: job.id, requestId: job.data.requestId, ...(o.chainedFrom ? { chained: true } : {}) });
    const knownAgent = o.claimed?.agent ?? this.agentBeforeClaim(job, phase, o.chainedFrom);
    const claim =
      o.claimed?.claim ??
      (await store.startPhase(
        sessionId,
        phase,
        runGen,
        this.deps.workerId,
        knownAgent ? this.agentRecord({ ...knownAgent, state: 'executing' }) : undefined,
        o.chainedFrom ?? undefined,
      ));
    // An agent recorded ahead of a claim that did not run was never started.
    if (claim.kind !== 'run' && knownAgent) this.agentStarted.delete(knownAgent.agent_id);
    if (claim.kind === 'parked') {
      log.info('session paused before the phase started; parked');
      return { outcome: { outcome: 'parked' } };
    }
    if (claim.kind === 'skip') {
      log.info({ reason: claim.reason }, 'phase job skipped');
      await this.ensureNextEnqueued(sessionId, log);
      return { outcome: { outcome: 'skipped', reason: claim.reason } };
    }

    // The claim returned everything the phase needs (config, previous outputs): no further reads.
    const pipelineConfig = claim.config as PipelineConfig;
    const previous: PreviousPhase | null = claim.previous;
    const phaseConfig = (pipelineConfig[phase] ?? {}) as Record<string, unknown>;
    const executorName = this.executorOf(pipelineConfig, phase);
    const started = Date.now();

    const controller = new AbortController();
    const timeoutSeconds = Number(phaseConfig.timeout_seconds ?? 0);
    let timedOut = false;
    const timeout =
      timeoutSeconds > 0
        ? setTimeout(() => {
            timedOut = true;
            controller.abort(new Error('phase timeout'));
          }, timeoutSeconds * 1000)
        : null;
    // A GPU lease that could not be renewed may already be someone else's: stop using the GPU now.
    let gpuLeaseLost = false;
    const onLeaseLost = () => {
      gpuLeaseLost = true;
      controller.abort(new Error('GPU slot lease lost'));
    };
    gpuSlot?.lease.lost.addEventListener('abort', onLeaseLost, { once: true });
    const unregister = this.deps.control.register(sessionId, controller);
    const agent = knownAgent ?? this.agentFor(sessionId, phase, executorName);
    const swarm = new PhaseSwarmAgents({ store, sessionId, phase, maxAgents: claim.maxAgents, log });
    let stepsSinceTick = 0;
    let lastMetrics: Record<string, unknown> = {};
    // Utilisation samples of this phase's GPU (only when it is a detected device): the phase's
    // figure is their mean, the last one is shown live.
    const gpuSamples: (number | null)[] = [];
    const sampleGpu = async (): Promise<number | null> => {
      const uuid = gpuSlot?.gpu.uuid;
      if (!uuid || !this.deps.gpuUtilization) return null;
      const v = await this.deps.gpuUtilization(uuid).catch(() => null);
      gpuSamples.push(v);
      return v;
    };
    let tickInFlight: Promise<void> = Promise.resolve();
    const ticker = setInterval(() => {
      tickInFlight = this.tick(sessionId, phase, agent, stepsSinceTick, sampleGpu).catch((err) => log.warn({ err }, 'metrics tick failed'));
      stepsSinceTick = 0;
    }, this.deps.metricsIntervalMs);

    // Stop the metrics ticker and wait for a tick in flight, so the agent's final state is last.
    const stopWatching = async () => {
      clearInterval(ticker);
      if (timeout) clearTimeout(timeout);
      gpuSlot?.lease.lost.removeEventListener('abort', onLeaseLost);
      unregister();
      await tickInFlight;
      // Whatever the executor left running (it was killed, or failed before stopping its agents) is stopped now.
      await swarm.retire();
    };

    const ctx: PhaseContext = {
      sessionId,
      phase,
      config: phaseConfig,
      pipelineConfig,
      signal: controller.signal,
      resumeState: claim.resumeState,
      attempt: claim.attempt,
      logger: log,
      artifacts: this.deps.artifacts,
      // Unique per run generation and attempt: a re-run never overwrites what a checkpoint references.
      artifactPrefix: `${sessionId}/${phase}/g${runGen}a${claim.attempt}/`,
      previous,
      swarm: { topology: claim.topology, maxAgents: claim.maxAgents, agentMemoryLimitMb: this.deps.agentMemoryLimitMb },
      agents: (agents, latencyMs) => swarm.report(agents, latencyMs),
      gpu: gpuSlot?.gpu ?? null,
      progress: async (step: ProgressStep) => {
        if (controller.signal.aborted) throw new PhaseAborted(String(controller.signal.reason ?? 'aborted'));
        stepsSinceTick += 1;
        lastMetrics = step.metrics ?? lastMetrics;
        agent.current_task = step.message ?? agent.current_task;
        const status = await store.progress(sessionId, phase, runGen, {
          percent: step.percent,
          metrics: lastMetrics,
          message: step.message ?? '',
          memoryMb: processMemoryMb(),
          resumeState: step.state,
          gpuUtilization: gpuSamples.at(-1) ?? null,
        });
        if (status === 'running') return;
        if (status === 'paused') {
          const parked = await store.park(sessionId, phase, runGen, step.state);
          if (parked === 'parked') throw new PhaseParked();
          if (parked === 'continue') return;
          throw new PhaseAborted(`session ${parked}`);
        }
        throw new PhaseAborted(`session ${status}`);
      },
    };

    let result: PhaseResult;
    let judgement: PhaseJudgement = { gates: [] };
    try {
      if (!knownAgent) await this.publishAgent(sessionId, { ...agent, state: 'executing' });
      const executor = this.deps.registry.get(executorName);
      result = await executor.run(ctx);
      if (claim.enableMonitoring) {
        agent.current_task = 'quality gates';
        judgement = await judgePhase({ phase, executorName, executor, result, ctx, pipelineConfig, artifacts: this.deps.artifacts });
      }
    } catch (err) {
      await stopWatching();
      const retry: RetryPosition = o.chainedFrom
        ? { policy: planPhaseJob(pipelineConfig, phase, this.deps.queues.defaults).retry, attempt: 1, chained: true }
        : { ...attemptOfJob(job), chained: false };
      const outcome = await this.handleFailure(job, phase, pipelineConfig, err, retry, { timedOut, gpuLeaseLost, cancelled: controller.signal.aborted, started, agent, log });
      return { outcome };
    }
    // A phase shorter than one metrics interval was never sampled: its GPU figure stays null
    // (a reading taken after the work ended would show an idle GPU, not the phase's use of it).
    await stopWatching();
    // The executor is done: its agent stops in the completion script, before the phase is recorded
    // complete, so a reader who sees the session completed never sees the agent still executing.
    const stoppedAgent = this.agentRecord({ ...agent, state: 'stopped', current_task: null });
    // Without a boundary checkpoint to save in between (it must see the session as the phase left
    // it), the completion script claims the next phase for this job too: one round trip.
    const known: KnownSession = { config: claim.config, phases: claim.phases };
    const nextPhase = claim.phases[claim.phases.indexOf(phase) + 1];
    const early = nextPhase && !claim.enableCheckpoints && !judgement.blockedReason ? this.takeChain(o.chain, pipelineConfig, sessionId, nextPhase) : null;
    const outcome = await store.completePhase(sessionId, phase, runGen, String(job.id), {
      agent: stoppedAgent,
      customMetrics: result.metrics,
      durationSeconds: round2((Date.now() - started) / 1000),
      memoryMb: processMemoryMb(),
      gpuUtilization: meanUtilization(gpuSamples),
      gateResults: judgement.gates,
      artifacts: result.artifacts ?? {},
      ...(judgement.blockedReason ? { blockedReason: judgement.blockedReason } : {}),
    }, early ? { workerId: this.deps.workerId, agent: this.agentRecord({ ...early.agent, state: 'executing' }), known } : undefined);
    if (early && !(outcome.kind === 'next' && outcome.claim)) {
      early.slot.cancel();
      this.agentStarted.delete(early.agent.agent_id);
    }
    if (outcome.kind === 'blocked') log.warn({ reason: judgement.blockedReason }, 'blocking quality gate failed; session paused');
    if (outcome.kind === 'next' || outcome.kind === 'completed' || outcome.kind === 'parked' || outcome.kind === 'blocked') {
      if (claim.enableCheckpoints) await this.deps.boundary.afterPhase(sessionId, phase).catch((err) => log.warn({ err }, 'phase boundary checkpoint failed'));
    }
    if (outcome.kind === 'next') {
      const completed: PhaseJobOutcome = { outcome: 'completed', next: outcome.phase };
      if (early && outcome.claim) {
        log.info({ next: outcome.phase }, 'phase completed; this job runs the next phase');
        return { outcome: completed, chained: { phase: outcome.phase, slot: early.slot, known, claimed: { claim: outcome.claim, agent: early.agent } } };
      }
      const chained = this.takeChain(o.chain, pipelineConfig, sessionId, outcome.phase);
      if (chained) {
        log.info({ next: outcome.phase }, 'phase completed; this job runs the next phase');
        return { outcome: completed, chained: { phase: outcome.phase, slot: chained.slot, known } };
      }
      await this.deps.queues.enqueue({ sessionId, phase: outcome.phase, runGen: outcome.runGen, requestId: job.data.requestId }, pipelineConfig);
      log.info({ next: outcome.phase }, 'phase completed; next phase enqueued');
      return { outcome: completed };
    }
    if (outcome.kind === 'dup' || outcome.kind === 'stale') {
      // The completion changed nothing, so neither did the agent it carried.
      await this.publishAgent(sessionId, stoppedAgent);
      await this.ensureNextEnqueued(sessionId, log);
    }
    log.info({ result: outcome.kind }, 'phase finished');
    return { outcome: outcome.kind === 'stale' ? { outcome: 'aborted', reason: outcome.reason } : { outcome: 'completed', next: null } };
  }

  /**
   * The phase's agent when it is known before the claim, which then records it in the same round
   * trip: a chained phase's from the config the previous claim returned, the job's own phase's
   * from the executor the job carries. Null for a job enqueued before jobs carried it: its agent is
   * recorded after the claim.
   */
  private agentBeforeClaim(job: Job<PhaseJobData>, phase: PipelinePhase, chainedFrom: KnownSession | null): AgentStatus | null {
    if (chainedFrom) return this.agentFor(job.data.sessionId, phase, this.executorOf(chainedFrom.config as PipelineConfig, phase));
    if (phase === job.data.phase && job.data.executor !== undefined) return this.agentFor(job.data.sessionId, phase, job.data.executor ?? this.deps.defaultExecutor);
    return null;
  }

  /** A slot for running `next` in this job (never a phase that needs a GPU), with its agent. */
  private takeChain(
    chain: ((next: PipelinePhase) => PhaseSlot | null) | undefined,
    pipelineConfig: PipelineConfig,
    sessionId: string,
    next: PipelinePhase,
  ): { slot: PhaseSlot; agent: AgentStatus } | null {
    if (!chain || phaseNeedsGpu(pipelineConfig, next, this.deps.queues.defaults.gpuPhases)) return null;
    const slot = chain(next);
    return slot ? { slot, agent: this.agentFor(sessionId, next, this.executorOf(pipelineConfig, next)) } : null;
  }

  private executorOf(pipelineConfig: PipelineConfig, phase: PipelinePhase): string {
    return configuredExecutor(pipelineConfig, phase) ?? this.deps.defaultExecutor;
  }

  private async handleFailure(
    job: Job<PhaseJobData>,
    phase: PipelinePhase,
    pipelineConfig: PipelineConfig,
    err: unknown,
    retry: RetryPosition,
    c: { timedOut: boolean; gpuLeaseLost: boolean; cancelled: boolean; started: number; agent: AgentStatus; log: Logger },
  ): Promise<PhaseJobOutcome> {
    const { sessionId, runGen } = job.data;
    const { store, events } = this.deps;
    if (err instanceof PhaseParked) {
      await this.publishAgent(sessionId, { ...c.agent, state: 'idle', current_task: 'parked: session paused' });
      c.log.info('phase parked; the worker slot is free');
      return { outcome: 'parked' };
    }
    const durationSeconds = round2((Date.now() - c.started) / 1000);
    if (c.timedOut) {
      await this.publishAgent(sessionId, { ...c.agent, state: 'error', current_task: null });
      await store.failPhase(sessionId, phase, runGen, { code: 'PHASE_TIMEOUT', message: `phase ${phase} exceeded its timeout`, durationSeconds });
      c.log.warn('phase timed out; session failed');
      return { outcome: 'failed', code: 'PHASE_TIMEOUT' };
    }
    // Not a cancel: the phase lost its GPU slot (its worker stalled past the lease TTL) and is retried.
    if (c.gpuLeaseLost) err = new PhaseError('GPU_LEASE_LOST', `phase ${phase} lost its GPU slot lease before it finished`);
    else if (c.cancelled || isAbortError(err)) {
      await this.publishAgent(sessionId, { ...c.agent, state: 'stopped', current_task: null });
      const reason = err instanceof Error ? err.message : String(err);
      c.log.info({ reason }, 'phase aborted');
      return { outcome: 'aborted', reason };
    }
    const code = err instanceof PhaseError ? err.code : 'PHASE_FAILED';
    const message = err instanceof Error ? err.message : String(err);
    const retryable = !(err instanceof PhaseError) || err.retryable;
    // The policy this job was enqueued with (the phase's own, the pipeline's, or the worker default).
    const { policy, attempt } = retry;
    const lastAttempt = attempt >= policy.attempts;
    if (retryable && !lastAttempt) {
      // BullMQ computes the same delay from the job's backoff options when this error reaches it.
      const retryInMs = backoffDelayMs(policy.backoff, attempt);
      await events.publish('error', sessionId, {
        error_code: code,
        error_message: message,
        phase,
        recoverable: true,
        attempt,
        max_attempts: policy.attempts,
        retry_in_ms: retryInMs,
      });
      await this.publishAgent(sessionId, { ...c.agent, state: 'error', current_task: `retrying in ${retryInMs} ms after: ${message}` });
      c.log.warn({ err, attempt, attempts: policy.attempts, retryInMs }, 'phase failed; will retry');
      if (!retry.chained) throw err;
      // The job belongs to the phase before: the retry is a job of this phase, counting this attempt.
      await this.deps.queues.enqueue({ sessionId, phase, runGen, requestId: job.data.requestId, priorAttempts: attempt }, pipelineConfig, { delay: retryInMs });
      return { outcome: 'retrying', code };
    }
    await this.publishAgent(sessionId, { ...c.agent, state: 'error', current_task: null });
    await store.failPhase(sessionId, phase, runGen, { code, message, durationSeconds });
    c.log.error({ err, code }, 'phase failed; session failed');
    // A chained phase's failure is not the job's own phase's: that one completed.
    if (retry.chained) return { outcome: 'failed', code };
    throw new UnrecoverableError(`${code}: ${message}`);
  }

  /**
   * A redelivered job whose phase had completed: the earlier attempt may have died between
   * recording the completion and enqueuing the next phase. Enqueue it again (idempotent job id).
   */
  private async ensureNextEnqueued(sessionId: string, log: Logger): Promise<void> {
    const f = await this.deps.store.sessionFields(sessionId, ['status', 'current_phase', 'run_gen', 'parked']);
    if (!(f.status === 'running' || f.status === 'initializing') || !f.current_phase || f.parked === '1') return;
    const snap = await this.deps.store.snapshot(sessionId, ALL_TENANTS);
    const phase = f.current_phase as PipelinePhase;
    // `running` too: the phase may have been run by this same job (chained) on a worker that died,
    // which left no job of its own to redeliver. Where it has one, the add is a no-op (same id).
    const st = snap?.phases[phase]?.status;
    if (!snap || (st !== 'pending' && st !== 'running')) return;
    await this.deps.queues.enqueue({ sessionId, phase, runGen: Number(f.run_gen) }, parseStoredConfig(snap.session.config));
    log.info({ phase }, 'ensured the next phase is enqueued');
  }

  private agentFor(sessionId: string, phase: PipelinePhase, executorName: string): AgentStatus {
    return {
      agent_id: `${phase}-${executorName}-${sessionId.slice(0, 8)}`,
      // The runner is the hub of the phase's swarm (the agents an executor reports hang off it).
      role: COORDINATOR_ROLE,
      phase,
      state: 'active',
      current_task: `run phase ${phase}`,
      memory_usage_mb: processMemoryMb(),
      cpu_usage_percent: 0,
      uptime_seconds: 0,
    };
  }

  private readonly agentStarted = new Map<string, number>();

  /** The agent as recorded now: its uptime since it first ran, this process's memory. */
  private agentRecord(agent: AgentStatus): AgentStatus {
    const started = this.agentStarted.get(agent.agent_id) ?? Date.now();
    if (agent.state === 'stopped' || agent.state === 'error') this.agentStarted.delete(agent.agent_id);
    else this.agentStarted.set(agent.agent_id, started);
    return { ...agent, uptime_seconds: round2((Date.now() - started) / 1000), memory_usage_mb: processMemoryMb() };
  }

  private async publishAgent(sessionId: string, agent: AgentStatus): Promise<void> {
    await this.deps.store.updateAgent(sessionId, this.agentRecord(agent));
  }

  /** Once per interval while the phase runs: measured metrics event and the agent's figures. */
  private async tick(sessionId: string, phase: PipelinePhase, agent: AgentStatus, steps: number, sampleGpu: () => Promise<number | null>): Promise<void> {
    const cpu = processCpu.sample();
    const memory = processMemoryMb();
    const gpu = await sampleGpu();
    agent.cpu_usage_percent = cpu;
    await this.deps.events.publish('metrics', sessionId, {
      metrics: {
        cpu_percent: cpu,
        memory_mb: memory,
        gpu_utilization: gpu,
        throughput_ops: round2(steps / (this.deps.metricsIntervalMs / 1000)),
        worker_id: this.deps.workerId,
      },
      phase,
    });
    await this.publishAgent(sessionId, { ...agent, state: 'executing' });
  }
}
