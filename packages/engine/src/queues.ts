import { PIPELINE_PHASES, type PipelinePhase, type QueueStats } from '@agent-forge/contracts';
import type { Keys } from '@agent-forge/state';
import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';
import { DEFAULT_JOB_DEFAULTS, configuredExecutor, planPhaseJob, retryJobOptions, type PhaseJobDefaults } from './job-policy';

/** What a phase job carries. Everything else is read from Redis when the job starts. */
export interface PhaseJobData {
  sessionId: string;
  phase: PipelinePhase;
  /** The session's run generation when the job was made; a newer generation supersedes it. */
  runGen: number;
  /** Request id of the call that caused the job, for log correlation. */
  requestId?: string;
  /**
   * Attempts the phase already used before this job existed (it first ran, and failed, inside the
   * previous phase's job): they count against the phase's retry policy.
   */
  priorAttempts?: number;
  /**
   * The executor the pipeline config names for the phase (null: the worker's default), so the
   * worker knows the phase's agent before its claim and records it in the claim's own round trip.
   * Absent on jobs enqueued before the field existed.
   */
  executor?: string | null;
}

/** The queue of a phase's jobs; `gpu`: the separate queue only workers with GPU slots consume. */
export function queueName(phase: PipelinePhase, gpu = false): string {
  return gpu ? `phase-${phase}-gpu` : `phase-${phase}`;
}

/**
 * Job ids are derived from session, phase and run generation, so adding the same job twice (a
 * redelivered completion, a retried request) is a no-op while the first one is kept.
 */
export function phaseJobId(sessionId: string, phase: PipelinePhase, runGen: number): string {
  return `${sessionId}.${phase}.g${runGen}`;
}

export interface PhaseQueuesOptions extends Partial<PhaseJobDefaults> {
  /** Finished jobs are kept this long, then removed (a duplicate add within it is ignored). */
  retentionSeconds?: number;
}

/** Where a job went: its id and queue. */
export interface EnqueuedJob {
  jobId: string;
  queue: string;
}

/**
 * One BullMQ queue per phase, so a deployment can dedicate workers to some phases, plus one
 * `…-gpu` queue per phase for jobs that need a GPU slot: only workers with slots consume those.
 */
export class PhaseQueues {
  private readonly queues = new Map<string, Queue<PhaseJobData>>();
  readonly defaults: PhaseJobDefaults;
  private readonly retentionSeconds: number;

  constructor(
    private readonly connection: ConnectionOptions,
    private readonly keys: Keys,
    options: PhaseQueuesOptions = {},
  ) {
    this.defaults = { retry: options.retry ?? DEFAULT_JOB_DEFAULTS.retry, gpuPhases: options.gpuPhases ?? DEFAULT_JOB_DEFAULTS.gpuPhases };
    this.retentionSeconds = options.retentionSeconds ?? 24 * 3600;
  }

  get prefix(): string {
    return this.keys.queuePrefix();
  }

  queue(phase: PipelinePhase, gpu = false): Queue<PhaseJobData> {
    const name = queueName(phase, gpu);
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue<PhaseJobData>(name, { connection: this.connection, prefix: this.prefix });
      this.queues.set(name, q);
    }
    return q;
  }

  /**
   * Enqueue a phase job under the policy of that phase in this session's pipeline config (retry
   * attempts and backoff; the GPU queue when the phase needs a GPU). The job id is deterministic,
   * so adding the same job twice is a no-op.
   */
  async enqueue(data: PhaseJobData, pipelineConfig: Record<string, unknown>, overrides: Partial<JobsOptions> = {}): Promise<EnqueuedJob> {
    const plan = planPhaseJob(pipelineConfig, data.phase, this.defaults);
    const jobId = phaseJobId(data.sessionId, data.phase, data.runGen);
    const retry = retryJobOptions(plan.retry);
    const opts: JobsOptions = {
      jobId,
      ...retry,
      attempts: Math.max(1, (retry.attempts ?? 1) - (data.priorAttempts ?? 0)),
      // Kept for a while so a duplicate add within that window is recognised and ignored.
      removeOnComplete: { age: this.retentionSeconds, count: 10_000 },
      removeOnFail: { age: this.retentionSeconds, count: 10_000 },
      ...overrides,
    };
    const queue = this.queue(data.phase, plan.gpu);
    await queue.add(data.phase, { ...data, executor: configuredExecutor(pipelineConfig, data.phase) }, opts);
    return { jobId, queue: queue.name };
  }

  /** Job counts per phase queue and the age of the oldest waiting job (a stuck queue shows here). */
  async stats(phases: readonly PipelinePhase[] = PIPELINE_PHASES, now = Date.now(), gpu = false): Promise<Record<string, QueueStats>> {
    const out: Record<string, QueueStats> = {};
    await Promise.all(
      phases.map(async (phase) => {
        const q = this.queue(phase, gpu);
        const [counts, oldest] = await Promise.all([q.getJobCounts('waiting', 'active', 'delayed', 'failed'), q.getJobs(['wait'], 0, 0, true)]);
        const ts = oldest[0]?.timestamp;
        out[phase] = {
          waiting: counts.waiting ?? 0,
          active: counts.active ?? 0,
          delayed: counts.delayed ?? 0,
          failed: counts.failed ?? 0,
          oldest_waiting_age_seconds: ts ? Math.max(0, Math.round((now - ts) / 10) / 100) : null,
        };
      }),
    );
    return out;
  }

  /**
   * `stats()` of the phase queues plus, keyed `<phase>-gpu`, the GPU queues that matter: those of
   * the deployment's GPU_PHASES and any other that holds jobs (a pipeline asked for a GPU there).
   * A GPU job waiting with no GPU worker to take it shows here.
   */
  async statsWithGpu(now = Date.now()): Promise<Record<string, QueueStats>> {
    const [cpu, gpu] = await Promise.all([this.stats(PIPELINE_PHASES, now), this.stats(PIPELINE_PHASES, now, true)]);
    const out: Record<string, QueueStats> = { ...cpu };
    for (const phase of PIPELINE_PHASES) {
      const s = gpu[phase]!;
      if (this.defaults.gpuPhases.includes(phase) || s.waiting + s.active + s.delayed + s.failed > 0) out[queueName(phase, true).replace(/^phase-/, '')] = s;
    }
    return out;
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    this.queues.clear();
  }
}
