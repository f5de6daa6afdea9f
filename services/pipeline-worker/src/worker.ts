import type { PipelinePhase } from '@agent-forge/contracts';
import { phaseBackoffStrategy, queueName, type PhaseGpu, type PhaseJobData } from '@agent-forge/engine';
import type { Logger, Redis } from '@agent-forge/runtime';
import type { GpuSlots } from '@agent-forge/state';
import { DelayedError, Worker, type Job } from 'bullmq';
import { timeJob } from './metrics';
import type { PhaseChaining, PhaseJobOutcome, PhaseRunner, PhaseSlot } from './phase-runner';

export interface WorkerGpuOptions {
  slots: GpuSlots;
  /** The device behind each slot id (slots that are not a detected GPU have none). */
  devices: ReadonlyMap<string, Omit<PhaseGpu, 'slot'>>;
  /** A GPU job taken while every slot is held goes back to the queue for this long. */
  busyRetryMs?: number;
}

export interface PhaseWorkersOptions {
  connection: Redis;
  prefix: string;
  phases: PipelinePhase[];
  concurrency: number;
  lockDurationMs: number;
  stalledIntervalMs: number;
  runner: PhaseRunner;
  logger: Logger;
  workerId?: string;
  /** GPU slots: with at least one, this worker also consumes the `…-gpu` queues of its phases. */
  gpu?: WorkerGpuOptions;
  /**
   * A job goes on to run its session's next phase itself (no queue hand-over) while it has run
   * less than this long; 0: every phase goes through its queue. See `chaining`.
   */
  chainBudgetMs?: number;
}

const DEFAULT_BUSY_RETRY_MS = 1_000;

/**
 * One BullMQ worker per phase queue this process serves, plus — on a worker with GPU slots — one
 * per phase's GPU queue, each job of which runs only while holding a GPU slot lease.
 */
export class PhaseWorkers {
  private readonly workers: Worker<PhaseJobData, PhaseJobOutcome>[] = [];
  private lastJobAt = Date.now();
  private readonly runningByPhase = new Map<PipelinePhase, number>();
  /** BullMQ jobs held per queue: a job holds its queue's slot until its last chained phase ends. */
  private readonly heldByQueue = new Map<string, number>();
  private closing = false;

  constructor(private readonly opts: PhaseWorkersOptions) {}

  get gpuSlotCount(): number {
    return this.opts.gpu?.slots.count ?? 0;
  }

  start(): void {
    for (const phase of this.opts.phases) {
      this.startWorker(phase, false, this.opts.concurrency);
      // As many GPU jobs at once as there are slots; the lease decides which one really runs.
      if (this.gpuSlotCount > 0) this.startWorker(phase, true, this.gpuSlotCount);
    }
  }

  private startWorker(phase: PipelinePhase, gpu: boolean, concurrency: number): void {
    const queue = queueName(phase, gpu);
    const worker = new Worker<PhaseJobData, PhaseJobOutcome>(
      queue,
      async (job, token) => {
        this.heldByQueue.set(queue, (this.heldByQueue.get(queue) ?? 0) + 1);
        const slot = this.occupy(phase);
        try {
          return gpu ? await this.runOnGpu(job, token, slot) : await this.opts.runner.run(job, { slot, chaining: this.chaining });
        } catch (err) {
          // The runner released the slot with its outcome already, unless the job never reached it.
          slot.release(err instanceof DelayedError ? 'gpu_busy' : 'error');
          throw err;
        } finally {
          this.heldByQueue.set(queue, (this.heldByQueue.get(queue) ?? 1) - 1);
        }
      },
      {
        connection: this.opts.connection,
        prefix: this.opts.prefix,
        concurrency,
        lockDuration: this.opts.lockDurationMs,
        stalledInterval: this.opts.stalledIntervalMs,
        maxStalledCount: 3,
        // Exponential retry delays are capped per job (its retry policy), which BullMQ's own lacks.
        settings: { backoffStrategy: phaseBackoffStrategy },
      },
    );
    worker.on('error', (err) => this.opts.logger.warn({ err: err.message, phase, gpu }, 'worker error'));
    worker.on('failed', (job, err) =>
      this.opts.logger.warn({ jobId: job?.id, phase, gpu, err: err.message, attemptsMade: job?.attemptsMade }, 'job failed'),
    );
    this.workers.push(worker);
  }

  /** Count a phase run against this worker's slots and time it; released once, with its outcome. */
  private occupy(phase: PipelinePhase): PhaseSlot {
    this.lastJobAt = Date.now();
    this.runningByPhase.set(phase, (this.runningByPhase.get(phase) ?? 0) + 1);
    const done = timeJob(phase);
    let released = false;
    const free = (): boolean => {
      if (released) return false;
      released = true;
      this.runningByPhase.set(phase, (this.runningByPhase.get(phase) ?? 1) - 1);
      return true;
    };
    return {
      release: (outcome) => {
        if (free()) done(outcome);
      },
      cancel: () => void free(),
    };
  }

  /**
   * Phase chaining: a job whose phase completed runs the session's next phase itself, saving the
   * hand-over through the next queue (an add, a blocked pop and a move to active — most of what a
   * short phase costs). Only while the job is young (the chain budget), for a phase this worker
   * serves without a GPU, with a free slot of that phase here, and not while shutting down. The
   * cost: the job keeps its first phase's slot until its chain ends, so the budget keeps chains to
   * short phases (a phase started within the budget may still turn out long).
   */
  readonly chaining: PhaseChaining = {
    take: (next, jobStartedMs) => {
      const budget = this.opts.chainBudgetMs ?? 0;
      if (this.closing || budget <= 0 || Date.now() - jobStartedMs >= budget) return null;
      if (!this.opts.phases.includes(next) || (this.runningByPhase.get(next) ?? 0) >= this.opts.concurrency) return null;
      return this.occupy(next);
    },
  };

  /**
   * Run a GPU job holding a slot lease, released on every exit path (a crash leaves it to expire).
   * With every slot held, the job goes back to the queue (delayed, not counted as an attempt), so
   * another worker with a free slot — or this one, later — takes it.
   */
  private async runOnGpu(job: Job<PhaseJobData>, token: string | undefined, slot: PhaseSlot): Promise<PhaseJobOutcome> {
    const gpu = this.opts.gpu!;
    const lease = await gpu.slots.acquire(`${this.opts.workerId ?? 'worker'}/${job.id}`);
    if (!lease) {
      await job.moveToDelayed(Date.now() + (gpu.busyRetryMs ?? DEFAULT_BUSY_RETRY_MS), token);
      throw new DelayedError();
    }
    try {
      const device = gpu.devices.get(lease.slot) ?? { uuid: null, index: null, name: null };
      return await this.opts.runner.run(job, { slot, gpuSlot: { lease, gpu: { slot: lease.slot, ...device } } });
    } finally {
      await lease.release().catch((err: unknown) => this.opts.logger.warn({ err, slot: lease.slot }, 'GPU slot release failed; its lease will expire'));
    }
  }

  isRunning(): boolean {
    return this.workers.length > 0 && this.workers.every((w) => w.isRunning());
  }

  lastJobStartedAt(): number {
    return this.lastJobAt;
  }

  /**
   * Whether this worker's consumer of the phase's queue could take a job now: it serves the phase
   * and holds fewer of its jobs than its concurrency (a job running a chain of later phases still
   * holds its own queue's slot).
   */
  canTake(phase: PipelinePhase): boolean {
    return this.opts.phases.includes(phase) && (this.heldByQueue.get(queueName(phase)) ?? 0) < this.opts.concurrency;
  }

  /** Stop taking jobs and wait for the running ones to finish (BullMQ's graceful close). */
  async close(): Promise<void> {
    // Jobs running now finish their own phase and enqueue the next one for another worker.
    this.closing = true;
    await Promise.all(this.workers.map((w) => w.close()));
  }
}
