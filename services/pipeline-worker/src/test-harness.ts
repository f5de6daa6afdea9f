import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipelineConfigSchema, type PipelinePhase, type RetryPolicy, type SwarmTopology, PIPELINE_PHASES } from '@agent-forge/contracts';
import { ExecutorRegistry, DryRunExecutor, FsArtifactStore, PhaseQueues, type PhaseExecutor } from '@agent-forge/engine';
import { createLogger, probeGpus, type GpuDevice } from '@agent-forge/runtime';
import { ALL_TENANTS, CheckpointStore, createTestRedis, EventPublisher, GpuSlots, SessionStore, toStatusResponse, type SessionStoreOptions } from '@agent-forge/state';
import type { Job, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { PhaseBoundaryCheckpoints } from './checkpointing';
import { ControlListener } from './control-listener';
import { gpuUtilizationReader, planGpuSlots } from './gpu';
import { PhaseRunner } from './phase-runner';
import { DEFAULT_CHAIN_MS } from './config';
import { PhaseWorkers } from './worker';

export interface HarnessOptions {
  label: string;
  executors?: PhaseExecutor[];
  store?: SessionStoreOptions;
  /** The deployment's default retry policy (RETRY_* env); default: 2 attempts, 10 ms backoff. */
  retry?: RetryPolicy;
  /** Phases that need a GPU unless the pipeline says otherwise (GPU_PHASES). */
  gpuPhases?: PipelinePhase[];
  /** Finished BullMQ jobs are kept this long (JOB_RETENTION_SECONDS). */
  jobRetentionSeconds?: number;
  checkpointsKept?: number;
  concurrency?: number;
  /**
   * Quality gates for the sessions it starts (default true). Suites whose executors write toy
   * artifacts or none — orchestration, retries, GPU slots — turn them off: theater detection would
   * rightly flag those outputs and pause every session.
   */
  enableMonitoring?: boolean;
  /** GPU slots of the harness's worker (WORKER_GPUS); 0 = a GPU-less worker. */
  gpuSlots?: number;
  gpuLeaseTtlMs?: number;
  /**
   * An nvidia-smi program for the harness's worker (tests have no GPU: a script printing the
   * documented output format): its GPUs become the worker's slots and its figures the phases' GPU
   * utilisation, through the same code as production.
   */
  nvidiaSmi?: string;
  /** WORKER_CHAIN_MS of the harness's workers (default: the deployment default; 0 = no chaining). */
  chainBudgetMs?: number;
}

export interface ExtraWorkerOptions {
  workerId: string;
  gpuSlots: number;
  phases?: PipelinePhase[];
  gpuLeaseTtlMs?: number;
  nvidiaSmi?: string;
}

/**
 * A pipeline worker in this process on the real Redis and real BullMQ, under a key prefix of its
 * own: sessions are created and enqueued the way the gateway does it.
 */
export function createWorkerHarness(opts: HarnessOptions) {
  const t = createTestRedis(opts.label);
  const logger = createLogger(`test-${opts.label}`, 'silent');
  const conn = new Redis(t.url, { maxRetriesPerRequest: null });
  const sub = new Redis(t.url, { maxRetriesPerRequest: null });
  const store = new SessionStore(t.redis, t.keys, opts.store);
  const queues = new PhaseQueues(conn, t.keys, {
    retry: opts.retry ?? { attempts: 2, backoff: { type: 'exponential', delay_ms: 10, max_delay_ms: 1_000 } },
    gpuPhases: opts.gpuPhases ?? [],
    ...(opts.jobRetentionSeconds ? { retentionSeconds: opts.jobRetentionSeconds } : {}),
  });
  const artifactRoot = mkdtempSync(path.join(os.tmpdir(), `af-${opts.label}-`));
  const artifacts = new FsArtifactStore(artifactRoot);
  const checkpoints = new CheckpointStore(t.redis, t.keys, store);
  const registry = new ExecutorRegistry().register(new DryRunExecutor());
  for (const e of opts.executors ?? []) registry.register(e);
  const control = new ControlListener(sub, t.keys, logger);
  const boundary = new PhaseBoundaryCheckpoints({ checkpoints, artifacts, keep: opts.checkpointsKept ?? 2, uriBase: 'redis://127.0.0.1:6379', logger });
  const events = new EventPublisher(t.redis, t.keys);
  // A worker on this prefix: its own GPU slots (named after it: there is no GPU here), shared queues.
  const makeWorkers = (w: ExtraWorkerOptions, detected: GpuDevice[] = []) => {
    const plan = planGpuSlots(w.gpuSlots, w.workerId, detected);
    return new PhaseWorkers({
      connection: conn,
      prefix: t.keys.queuePrefix(),
      phases: w.phases ?? [...PIPELINE_PHASES],
      concurrency: opts.concurrency ?? 4,
      lockDurationMs: 30_000,
      stalledIntervalMs: 30_000,
      runner: new PhaseRunner({
        store,
        events,
        queues,
        registry,
        control,
        artifacts,
        boundary,
        logger,
        workerId: w.workerId,
        metricsIntervalMs: 200,
        defaultExecutor: 'dry-run',
        agentMemoryLimitMb: 64,
        ...(w.nvidiaSmi ? { gpuUtilization: gpuUtilizationReader({ command: w.nvidiaSmi }) } : {}),
      }),
      logger,
      workerId: w.workerId,
      gpu: { slots: new GpuSlots(t.redis, t.keys, plan.slotIds, { ttlMs: w.gpuLeaseTtlMs ?? 10_000 }), devices: plan.devices, busyRetryMs: 50 },
      chainBudgetMs: opts.chainBudgetMs ?? DEFAULT_CHAIN_MS,
    });
  };
  const mainWorker: ExtraWorkerOptions = {
    workerId: 'w-test',
    gpuSlots: opts.gpuSlots ?? 0,
    ...(opts.gpuLeaseTtlMs ? { gpuLeaseTtlMs: opts.gpuLeaseTtlMs } : {}),
    ...(opts.nvidiaSmi ? { nvidiaSmi: opts.nvidiaSmi } : {}),
  };
  let workers: PhaseWorkers | null = null;
  const extra: PhaseWorkers[] = [];

  return {
    t,
    store,
    queues,
    artifacts,
    checkpoints,
    logger,
    async start() {
      await control.start();
      workers = makeWorkers(mainWorker, mainWorker.nvidiaSmi ? await probeGpus({ command: mainWorker.nvidiaSmi }) : []);
      workers.start();
    },
    /** Another worker process on the same Redis prefix (e.g. one with GPU slots), started at once. */
    addWorker(w: ExtraWorkerOptions): PhaseWorkers {
      const more = makeWorkers(w);
      extra.push(more);
      more.start();
      return more;
    },
    async stop() {
      await Promise.all([...(workers ? [workers] : []), ...extra].map((w) => w.close()));
      await queues.close();
      await conn.quit();
      await sub.quit();
      await t.cleanup();
      rmSync(artifactRoot, { recursive: true, force: true });
    },
    /**
     * `enableMonitoring: false` skips the quality gates (for executors that write toy artifacts,
     * not models); `swarm` sets the session's topology and max_agents.
     */
    async startSession(
      phases: PipelinePhase[],
      rawConfig: Record<string, unknown>,
      enableCheckpoints = false,
      /** enqueue: false leaves the first job to the test. */
      options: { enableMonitoring?: boolean; swarm?: { topology: SwarmTopology; maxAgents: number }; enqueue?: boolean } = {},
    ): Promise<string> {
      const sessionId = randomUUID();
      const config = pipelineConfigSchema(phases).parse(rawConfig);
      const swarm = options.swarm ?? { topology: 'hierarchical', maxAgents: 10 };
      await store.create({ sessionId, tenant: 'default', phases, config, enableMonitoring: options.enableMonitoring ?? opts.enableMonitoring ?? true, enableCheckpoints, topology: swarm.topology, maxAgents: swarm.maxAgents, preset: null });
      if (options.enqueue !== false) await queues.enqueue({ sessionId, phase: phases[0]!, runGen: 1 }, config);
      return sessionId;
    },
    async status(id: string) {
      return toStatusResponse((await store.snapshot(id, ALL_TENANTS))!);
    },
  };
}

/**
 * A phase job once BullMQ has recorded how it ended. The session's status is written inside the
 * processor, before BullMQ moves the job to completed/failed and counts the attempt, so a test that
 * saw the session finish must still wait for this before reading `attemptsMade`.
 */
export async function settledJob(queue: Queue, jobId: string, timeoutMs = 10_000): Promise<Job> {
  await waitFor(async () => (await queue.getJob(jobId))?.getState(), (s) => s === 'completed' || s === 'failed', timeoutMs);
  return (await queue.getJob(jobId))!;
}

export async function waitFor<T>(fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out; last value ${JSON.stringify(v)?.slice(0, 400)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
