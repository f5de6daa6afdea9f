import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipelineConfigSchema, type PipelinePhase, type SwarmTopology, PIPELINE_PHASES } from '@agent-forge/contracts';
import { ExecutorRegistry, DryRunExecutor, FsArtifactStore, PhaseQueues, type PhaseExecutor } from '@agent-forge/engine';
import { createLogger } from '@agent-forge/runtime';
import { ALL_TENANTS, CheckpointStore, createTestRedis, EventPublisher, SessionStore, toStatusResponse, type SessionStoreOptions } from '@agent-forge/state';
import { Redis } from 'ioredis';
import { PhaseBoundaryCheckpoints } from './checkpointing';
import { ControlListener } from './control-listener';
import { PhaseRunner } from './phase-runner';
import { PhaseWorkers } from './worker';

export interface HarnessOptions {
  label: string;
  executors?: PhaseExecutor[];
  store?: SessionStoreOptions;
  retry?: { attempts: number; backoffMs: number; retentionSeconds?: number };
  checkpointsKept?: number;
  concurrency?: number;
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
  const queues = new PhaseQueues(conn, t.keys, opts.retry ?? { attempts: 2, backoffMs: 10 });
  const artifactRoot = mkdtempSync(path.join(os.tmpdir(), `af-${opts.label}-`));
  const artifacts = new FsArtifactStore(artifactRoot);
  const checkpoints = new CheckpointStore(t.redis, t.keys, store);
  const registry = new ExecutorRegistry().register(new DryRunExecutor());
  for (const e of opts.executors ?? []) registry.register(e);
  const control = new ControlListener(sub, t.keys, logger);
  const boundary = new PhaseBoundaryCheckpoints({ checkpoints, artifacts, keep: opts.checkpointsKept ?? 2, uriBase: 'redis://127.0.0.1:6379', logger });
  const workers = new PhaseWorkers({
    connection: conn,
    prefix: t.keys.queuePrefix(),
    phases: [...PIPELINE_PHASES],
    concurrency: opts.concurrency ?? 4,
    lockDurationMs: 30_000,
    stalledIntervalMs: 30_000,
    runner: new PhaseRunner({ store, events: new EventPublisher(t.redis, t.keys), queues, registry, control, artifacts, boundary, logger, workerId: 'w-test', metricsIntervalMs: 200, defaultExecutor: 'dry-run', agentMemoryLimitMb: 64 }),
    logger,
  });

  return {
    t,
    store,
    queues,
    artifacts,
    checkpoints,
    logger,
    async start() {
      await control.start();
      workers.start();
    },
    async stop() {
      await workers.close();
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
      options: { enableMonitoring?: boolean; swarm?: { topology: SwarmTopology; maxAgents: number } } = {},
    ): Promise<string> {
      const sessionId = randomUUID();
      const config = pipelineConfigSchema(phases).parse(rawConfig);
      const swarm = options.swarm ?? { topology: 'hierarchical', maxAgents: 10 };
      await store.create({ sessionId, tenant: 'default', phases, config, enableMonitoring: options.enableMonitoring ?? true, enableCheckpoints, topology: swarm.topology, maxAgents: swarm.maxAgents, preset: null });
      await queues.enqueue({ sessionId, phase: phases[0]!, runGen: 1 });
      return sessionId;
    },
    async status(id: string) {
      return toStatusResponse((await store.snapshot(id, ALL_TENANTS))!);
    },
  };
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
