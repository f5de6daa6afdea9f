import type { PipelinePhase } from '@agent-forge/contracts';
import { queueName, type PhaseJobData } from '@agent-forge/engine';
import type { Logger, Redis } from '@agent-forge/runtime';
import { Worker } from 'bullmq';
import { timeJob } from './metrics';
import type { PhaseJobOutcome, PhaseRunner } from './phase-runner';

export interface PhaseWorkersOptions {
  connection: Redis;
  prefix: string;
  phases: PipelinePhase[];
  concurrency: number;
  lockDurationMs: number;
  stalledIntervalMs: number;
  runner: PhaseRunner;
  logger: Logger;
}

/** One BullMQ worker per phase queue this process serves. */
export class PhaseWorkers {
  private readonly workers: Worker<PhaseJobData, PhaseJobOutcome>[] = [];
  private lastJobAt = Date.now();
  private running = 0;

  constructor(private readonly opts: PhaseWorkersOptions) {}

  start(): void {
    for (const phase of this.opts.phases) {
      const worker = new Worker<PhaseJobData, PhaseJobOutcome>(
        queueName(phase),
        async (job) => {
          this.lastJobAt = Date.now();
          this.running++;
          const done = timeJob(phase);
          try {
            const outcome = await this.opts.runner.run(job);
            done(outcome.outcome);
            return outcome;
          } catch (err) {
            done('error');
            throw err;
          } finally {
            this.running--;
          }
        },
        {
          connection: this.opts.connection,
          prefix: this.opts.prefix,
          concurrency: this.opts.concurrency,
          lockDuration: this.opts.lockDurationMs,
          stalledInterval: this.opts.stalledIntervalMs,
          maxStalledCount: 3,
        },
      );
      worker.on('error', (err) => this.opts.logger.warn({ err: err.message, phase }, 'worker error'));
      worker.on('failed', (job, err) =>
        this.opts.logger.warn({ jobId: job?.id, phase, err: err.message, attemptsMade: job?.attemptsMade }, 'job failed'),
      );
      this.workers.push(worker);
    }
  }

  isRunning(): boolean {
    return this.workers.length > 0 && this.workers.every((w) => w.isRunning());
  }

  lastJobStartedAt(): number {
    return this.lastJobAt;
  }

  /** True when at least one job slot is free. */
  hasFreeSlot(): boolean {
    return this.running < this.opts.concurrency * this.opts.phases.length;
  }

  /** Stop taking jobs and wait for the running ones to finish (BullMQ's graceful close). */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close()));
  }
}
