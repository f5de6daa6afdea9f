import { PIPELINE_PHASES, type PipelinePhase } from '@agent-forge/contracts';
import type { PhaseQueues } from '@agent-forge/engine';
import { DURATION_BUCKETS, counter, gauge, histogram, type Counter, type Histogram } from '@agent-forge/runtime';

/** Job states reported per phase queue (BullMQ's counts). */
const STATES = ['waiting', 'active', 'delayed', 'failed'] as const;
/** A scrape never waits longer than this on Redis; on timeout the previous values stay. */
const COLLECT_TIMEOUT_MS = 2_000;

export const phaseDuration = (): Histogram<'phase' | 'outcome'> =>
  histogram({
    name: 'af_phase_duration_seconds',
    help: 'Wall time of one phase job on this worker, by phase and outcome (completed, parked, aborted, skipped, failed, error)',
    labelNames: ['phase', 'outcome'] as const,
    buckets: DURATION_BUCKETS,
  });

export const jobsTotal = (): Counter<'phase' | 'outcome'> =>
  counter({ name: 'af_worker_jobs_total', help: 'Phase jobs this worker ran, by phase and outcome', labelNames: ['phase', 'outcome'] as const });

export const controlMessages = (): Counter =>
  counter({ name: 'af_worker_control_messages_total', help: 'Control messages this worker heard on the control channel', labelNames: [] as const });

/**
 * Queue depth per phase and state, read from Redis when Prometheus scrapes (one getJobCounts per
 * phase queue), so every worker replica reports the same shared queues: aggregate with max(), not sum().
 */
export function registerQueueGauges(queues: PhaseQueues): void {
  // One read of the queues per scrape serves both gauges.
  let pending: Promise<Awaited<ReturnType<PhaseQueues['stats']>> | null> | null = null;
  const read = () => {
    pending ??= (async () => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<null>((resolve) => {
        timer = setTimeout(() => resolve(null), COLLECT_TIMEOUT_MS);
      });
      try {
        return await Promise.race([queues.stats().catch(() => null), timeout]);
      } finally {
        clearTimeout(timer);
        setTimeout(() => (pending = null), 100).unref();
      }
    })();
    return pending;
  };
  gauge({
    name: 'af_queue_jobs',
    help: 'Jobs in each phase queue by state (shared queues: every worker reports the same numbers; aggregate with max)',
    labelNames: ['phase', 'state'] as const,
    async collect() {
      const stats = await read();
      if (!stats) return;
      for (const phase of PIPELINE_PHASES) {
        for (const state of STATES) this.set({ phase, state }, stats[phase]?.[state] ?? 0);
      }
    },
  });
  gauge({
    name: 'af_queue_oldest_waiting_age_seconds',
    help: 'Age of the oldest waiting job of each phase queue (0 when none waits)',
    labelNames: ['phase'] as const,
    async collect() {
      const stats = await read();
      if (!stats) return;
      for (const phase of PIPELINE_PHASES) this.set({ phase }, stats[phase]?.oldest_waiting_age_seconds ?? 0);
    },
  });
}

/** Time one job: call the returned function with its outcome. */
export function timeJob(phase: PipelinePhase): (outcome: string) => void {
  const end = phaseDuration().startTimer({ phase });
  return (outcome) => {
    end({ outcome });
    jobsTotal().inc({ phase, outcome });
  };
}
