import { pipelineConfigSchema } from '@agent-forge/contracts';
import { Job } from 'bullmq';
import {
  DEFAULT_RETRY_POLICY,
  backoffDelayMs,
  configuredExecutor,
  phaseBackoffStrategy,
  phaseNeedsGpu,
  planPhaseJob,
  resolveRetryPolicy,
  retryJobOptions,
  retryPolicyOfJob,
} from './job-policy';
import { phaseJobDefaults, phaseJobEnv } from './job-env';
import { z } from 'zod';

const defaults = { attempts: 3, backoff: { type: 'exponential' as const, delay_ms: 1_000, max_delay_ms: 300_000 } };

describe('retry policy resolution', () => {
  it('without any retry config a phase gets the deployment default', () => {
    expect(resolveRetryPolicy({}, 'training', defaults)).toEqual(defaults);
  });

  it('the pipeline-wide config.retry applies to every phase, field by field', () => {
    const config = { retry: { attempts: 5 } };
    expect(resolveRetryPolicy(config, 'cognate', defaults)).toEqual({ attempts: 5, backoff: defaults.backoff });
    expect(resolveRetryPolicy({ retry: { backoff: { type: 'fixed' } } }, 'adas', defaults).backoff).toEqual({ type: 'fixed', delay_ms: 1_000, max_delay_ms: 300_000 });
  });

  it('config.<phase>.retry beats config.retry, which beats the default', () => {
    const config = {
      retry: { attempts: 2, backoff: { type: 'fixed', delay_ms: 50 } },
      training: { retry: { attempts: 6, backoff: { delay_ms: 200, max_delay_ms: 1_000 } } },
    };
    expect(resolveRetryPolicy(config, 'training', defaults)).toEqual({ attempts: 6, backoff: { type: 'fixed', delay_ms: 200, max_delay_ms: 1_000 } });
    expect(resolveRetryPolicy(config, 'bitnet', defaults)).toEqual({ attempts: 2, backoff: { type: 'fixed', delay_ms: 50, max_delay_ms: 300_000 } });
  });

  it('resolves what the start schema accepted (the config is stored validated)', () => {
    const config = pipelineConfigSchema(['cognate', 'training']).parse({ retry: { attempts: 4 }, training: { retry: { backoff: { type: 'fixed', delay_ms: 5 } } } });
    expect(planPhaseJob(config, 'training', { retry: defaults, gpuPhases: [] }).retry).toEqual({ attempts: 4, backoff: { type: 'fixed', delay_ms: 5, max_delay_ms: 300_000 } });
  });
});

describe('backoff', () => {
  it('exponential doubles from delay_ms and is capped at max_delay_ms', () => {
    const b = { type: 'exponential' as const, delay_ms: 100, max_delay_ms: 350 };
    expect([1, 2, 3, 4, 5].map((n) => backoffDelayMs(b, n))).toEqual([100, 200, 350, 350, 350]);
  });

  it('fixed waits delay_ms every time', () => {
    expect([1, 2, 5].map((n) => backoffDelayMs({ type: 'fixed', delay_ms: 70, max_delay_ms: 1_000 }, n))).toEqual([70, 70, 70]);
  });

  it('the job options carry the policy and BullMQ-side strategy computes the same delays', () => {
    const policy = { attempts: 4, backoff: { type: 'exponential' as const, delay_ms: 100, max_delay_ms: 350 } };
    const opts = retryJobOptions(policy);
    expect(opts.attempts).toBe(4);
    // What BullMQ stores is JSON: the policy must survive the round trip.
    const job = { opts: JSON.parse(JSON.stringify(opts)) } as Pick<Job, 'opts'>;
    expect(retryPolicyOfJob(job)).toEqual(policy);
    expect([1, 2, 3].map((n) => phaseBackoffStrategy(n, (opts.backoff as { type: string }).type, new Error('x'), job as Job))).toEqual([100, 200, 350]);
    expect(retryJobOptions({ attempts: 2, backoff: { type: 'fixed', delay_ms: 40, max_delay_ms: 1_000 } })).toEqual({ attempts: 2, backoff: { type: 'fixed', delay: 40 } });
  });
});

describe('GPU need', () => {
  it('the phase\'s own gpu flag wins; otherwise the deployment\'s GPU_PHASES decide; by default nothing needs a GPU', () => {
    expect(phaseNeedsGpu({}, 'training', [])).toBe(false);
    expect(phaseNeedsGpu({}, 'training', ['training', 'compression'])).toBe(true);
    expect(phaseNeedsGpu({ training: { gpu: false } }, 'training', ['training'])).toBe(false);
    expect(phaseNeedsGpu({ cognate: { gpu: true } }, 'cognate', [])).toBe(true);
  });
});

describe('env defaults', () => {
  const Env = z.object(phaseJobEnv);
  it('documented defaults: 3 attempts, exponential from 1 s capped at 5 min, no GPU phase', () => {
    expect(phaseJobDefaults(Env.parse({}))).toEqual({ retry: DEFAULT_RETRY_POLICY, gpuPhases: [] });
    expect(DEFAULT_RETRY_POLICY).toEqual({ attempts: 3, backoff: { type: 'exponential', delay_ms: 1_000, max_delay_ms: 300_000 } });
  });
  it('parses GPU_PHASES and rejects unknown phases', () => {
    expect(Env.parse({ GPU_PHASES: 'training, compression' }).GPU_PHASES).toEqual(['training', 'compression']);
    expect(Env.parse({ GPU_PHASES: 'none' }).GPU_PHASES).toEqual([]);
    expect(Env.parse({ GPU_PHASES: '' }).GPU_PHASES).toEqual([]);
    expect(Env.safeParse({ GPU_PHASES: 'trainnig' }).success).toBe(false);
    expect(Env.safeParse({ RETRY_BACKOFF_TYPE: 'linear' }).success).toBe(false);
  });
});

describe('configured executor', () => {
  it("the phase's own executor beats the pipeline-wide one; none named: null (the worker's default)", () => {
    expect(configuredExecutor({ executor: 'forge', training: { executor: 'command' } }, 'training')).toBe('command');
    expect(configuredExecutor({ executor: 'forge', training: {} }, 'training')).toBe('forge');
    expect(configuredExecutor({ training: { steps: 3 } }, 'training')).toBeNull();
    expect(configuredExecutor({}, 'cognate')).toBeNull();
  });
});
