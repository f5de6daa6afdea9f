import { FsArtifactStore, PhaseQueues, phaseJobDefaults } from '@agent-forge/engine';
import { closeRedis, createLogger, createRedis, initMetrics, installShutdown, probeGpus, publicRedisUri } from '@agent-forge/runtime';
import { CheckpointStore, EventPublisher, GpuSlots, Keys, SessionStore } from '@agent-forge/state';
import { gpuUtilizationReader, planGpuSlots } from './gpu';
import { PhaseBoundaryCheckpoints } from './checkpointing';
import { ArtifactReaper } from './reaper';
import { loadWorkerConfig } from './config';
import { ControlListener } from './control-listener';
import { buildExecutorRegistry } from './executors';
import { createHealthServer } from './health';
import { registerQueueGauges } from './metrics';
import { PhaseRunner } from './phase-runner';
import { PhaseWorkers } from './worker';

async function main(): Promise<void> {
  const config = loadWorkerConfig();
  const logger = createLogger('pipeline-worker', config.LOG_LEVEL).child({ workerId: config.WORKER_ID });
  initMetrics('pipeline-worker');
  const keys = new Keys(config.AF_KEY_PREFIX);
  const redis = createRedis({ url: config.REDIS_URL, name: `af-worker-${config.WORKER_ID}`, logger, maxRetriesPerRequest: null });
  const subscriber = createRedis({ url: config.REDIS_URL, name: `af-worker-ctl-${config.WORKER_ID}`, logger, maxRetriesPerRequest: null });
  const store = new SessionStore(redis, keys, { retentionSeconds: config.SESSION_RETENTION_SECONDS, historyMax: config.HISTORY_MAX_ENTRIES });
  const events = new EventPublisher(redis, keys);
  const queues = new PhaseQueues(redis, keys, { ...phaseJobDefaults(config), retentionSeconds: config.JOB_RETENTION_SECONDS });
  registerQueueGauges(queues);
  const control = new ControlListener(subscriber, keys, logger);
  await control.start();
  const registry = buildExecutorRegistry(config);
  const artifacts = new FsArtifactStore(config.ARTIFACT_ROOT);
  const boundary = new PhaseBoundaryCheckpoints({ checkpoints: new CheckpointStore(redis, keys, store),
    artifacts,
    keep: config.CHECKPOINT_RETENTION,
    uriBase: publicRedisUri(config.REDIS_URL),
    logger,
  });
  // GPU slots: detected with nvidia-smi (none without it), or the count WORKER_GPUS declares.
  const detectedGpus = await probeGpus();
  const gpuPlan = planGpuSlots(config.WORKER_GPUS, config.WORKER_ID, detectedGpus);
  const gpuSlots = new GpuSlots(redis, keys, gpuPlan.slotIds, { ttlMs: config.GPU_LEASE_TTL_MS });
  const runner = new PhaseRunner({
    store,
    events,
    queues,
    registry,
    control,
    artifacts,
    boundary,
    logger,
    workerId: config.WORKER_ID,
    metricsIntervalMs: config.METRICS_INTERVAL_MS,
    agentMemoryLimitMb: config.AGENT_MEMORY_LIMIT_MB,
    defaultExecutor: config.DEFAULT_EXECUTOR,
    ...(gpuPlan.devices.size > 0 ? { gpuUtilization: gpuUtilizationReader() } : {}),
  });
  const workers = new PhaseWorkers({
    connection: redis,
    prefix: keys.queuePrefix(),
    phases: config.WORKER_PHASES,
    concurrency: config.WORKER_CONCURRENCY,
    lockDurationMs: config.WORKER_LOCK_MS,
    stalledIntervalMs: config.WORKER_STALLED_INTERVAL_MS,
    runner,
    logger,
    workerId: config.WORKER_ID,
    gpu: { slots: gpuSlots, devices: gpuPlan.devices },
    chainBudgetMs: config.WORKER_CHAIN_MS,
  });
  workers.start();
  const reaper = new ArtifactReaper({ artifacts, sessions: store, logger, intervalMs: config.REAPER_INTERVAL_MS, tempFileAgeMs: 3_600_000 });
  reaper.start();
  const health = createHealthServer(redis, workers, config.WORKER_ID, { queues, phases: config.WORKER_PHASES, afterMs: config.WORKER_STUCK_AFTER_MS });
  await new Promise<void>((resolve) => health.listen(config.WORKER_HEALTH_PORT, config.WORKER_HEALTH_HOST, resolve));
  logger.info(
    {
      executors: registry.names(),
      phases: config.WORKER_PHASES,
      concurrency: config.WORKER_CONCURRENCY,
      gpuSlots: gpuPlan.slotIds,
      gpusDetected: detectedGpus.map((g) => `${g.index}:${g.name}`),
      health: health.address(),
    },
    'pipeline worker ready',
  );

  installShutdown(
    logger,
    [
      { name: 'finish running jobs', run: () => workers.close() },
      { name: 'stop the artifact reaper', run: () => reaper.stop() },
      { name: 'close queues', run: () => queues.close() },
      { name: 'close health server', run: () => new Promise<void>((r) => health.close(() => r())) },
      { name: 'close redis', run: async () => Promise.all([closeRedis(subscriber), closeRedis(redis)]).then(() => undefined) },
    ],
    config.SHUTDOWN_TIMEOUT_MS,
  );
}

main().catch((err: unknown) => {
  // The logger may not exist yet (bad config): stderr is the only place left to say why.
  process.stderr.write(`pipeline-worker failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
