import { PIPELINE_PHASES, type PipelinePhase, type QueueStats } from '@agent-forge/contracts';
import type { Keys } from '@agent-forge/state';
import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';

/** What a phase job carries. Everything else is read from Redis when the job starts. */
export interface PhaseJobData {
  sessionId: string;
  phase: PipelinePhase;
  /** The session's run generation when the job was made; a newer generation supersedes it. */
  runGen: number;
  /** Request id of the call that caused the job, for log correlation. */
  requestId?: string;
}

export function queueName(phase: PipelinePhase): string {
  return `phase-${phase}`;
}

/**
 * Job ids are derived from session, phase and run generation, so adding the same job twice (a
 * redelivered completion, a retried request) is a no-op while the first one is kept.
 */
export function phaseJobId(sessionId: string, phase: PipelinePhase, runGen: number): string {
  return `${sessionId}.${phase}.g${runGen}`;
}

export interface RetryPolicy {
  attempts: number;
  backoffMs: number;
  /** Finished jobs are kept this long, then removed (a duplicate add within it is ignored). */
  retentionSeconds?: number;
}
export const DEFAULT_RETRY: RetryPolicy = { attempts: 3, backoffMs: 1_000, retentionSeconds: 24 * 3600 };

/** One BullMQ queue per phase, so a deployment can dedicate workers (e.g. GPU) to some phases. */
export class PhaseQueues {
  private readonly queues = new Map<PipelinePhase, Queue<PhaseJobData>>();

  constructor(
    private readonly connection: ConnectionOptions,
    private readonly keys: Keys,
    private readonly retry: RetryPolicy = DEFAULT_RETRY,
  ) {}

  get prefix(): string {
    return this.keys.queuePrefix();
  }

  queue(phase: PipelinePhase): Queue<PhaseJobData> {
    let q = this.queues.get(phase);
    if (!q) {
      q = new Queue<PhaseJobData>(queueName(phase), { connection: this.connection, prefix: this.prefix });
      this.queues.set(phase, q);
    }
    return q;
  }

  async enqueue(data: PhaseJobData, overrides: Partial<JobsOptions> = {}): Promise<string> {
    const jobId = phaseJobId(data.sessionId, data.phase, data.runGen);
    const opts: JobsOptions = {
      jobId,
      attempts: this.retry.attempts,
      backoff: { type: 'exponential', delay: this.retry.backoffMs },
      // Kept for a while so a duplicate add within that window is recognised and ignored.
      removeOnComplete: { age: this.retry.retentionSeconds ?? 24 * 3600, count: 10_000 },
      removeOnFail: { age: this.retry.retentionSeconds ?? 24 * 3600, count: 10_000 },
      ...overrides,
    };
    await this.queue(data.phase).add(data.phase, data, opts);
    return jobId;
  }

  /** Job counts per phase queue and the age of the oldest waiting job (a stuck queue shows here). */
  async stats(phases: readonly PipelinePhase[] = PIPELINE_PHASES, now = Date.now()): Promise<Record<string, QueueStats>> {
    const out: Record<string, QueueStats> = {};
    await Promise.all(
      phases.map(async (phase) => {
        const q = this.queue(phase);
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

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    this.queues.clear();
  }
}
