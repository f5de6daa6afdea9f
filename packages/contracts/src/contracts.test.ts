import {
  CONTROL_TRANSITIONS,
  ControlAction,
  EVENT_CHANNELS,
  PIPELINE_STATUSES,
  StartPipelineRequest,
  HistoryQuery,
  PresetConfig,
  decideTransition,
  errorBody,
  makeEnvelope,
  pipelineConfigSchema,
  type PipelineStatus,
} from './index';

describe('transition table', () => {
  const expected: Record<string, PipelineStatus[]> = {
    pause: ['initializing', 'running'],
    resume: ['paused'],
    stop: ['idle', 'initializing', 'running', 'paused'],
    cancel: ['idle', 'initializing', 'running', 'paused'],
  };
  for (const action of ControlAction.options) {
    for (const from of PIPELINE_STATUSES) {
      const allowed = expected[action]!.includes(from);
      it(`${action} from ${from} is ${allowed ? 'allowed' : 'refused with a reason'}`, () => {
        const d = decideTransition(action, from);
        expect(d.allowed).toBe(allowed);
        if (d.allowed) expect(d.to).toBe(action === 'pause' ? 'paused' : action === 'resume' ? 'running' : 'cancelled');
        else expect(d.reason).toContain(`cannot ${action} a session that is ${from}`);
      });
    }
  }
  it('never allows leaving a terminal status', () => {
    for (const rule of Object.values(CONTROL_TRANSITIONS)) {
      expect(rule.from).not.toContain('completed');
      expect(rule.from).not.toContain('failed');
      expect(rule.from).not.toContain('cancelled');
    }
  });
});

describe('StartPipelineRequest', () => {
  it('fills the documented defaults', () => {
    const r = StartPipelineRequest.parse({ phases: ['cognate'] });
    expect(r).toMatchObject({ enable_monitoring: true, enable_checkpoints: true, swarm_topology: 'hierarchical', config: {} });
    expect(r.max_agents).toBeUndefined(); // the gateway applies 50 or the preset's value
  });
  it.each([
    [{ phases: [] }, 'phases'],
    [{ phases: ['cognate', 'cognate'] }, 'phases'],
    [{ phases: ['alchemy'] }, 'phases.0'],
    [{ phases: ['cognate'], max_agents: 0 }, 'max_agents'],
    [{ phases: ['cognate'], max_agents: 101 }, 'max_agents'],
    [{ phases: ['cognate'], max_agents: 2.5 }, 'max_agents'],
    [{ phases: ['cognate'], swarm_topology: 'blob' }, 'swarm_topology'],
    [{ phases: ['cognate'], enable_monitoring: 'yes' }, 'enable_monitoring'],
    [{}, 'phases'],
  ])('rejects %j at %s', (body, path) => {
    const r = StartPipelineRequest.safeParse(body);
    expect(r.success).toBe(false);
    expect(r.error!.issues.map((i) => i.path.join('.'))).toContain(path);
  });
  it('accepts a preset instead of phases', () => {
    expect(StartPipelineRequest.safeParse({ preset: 'quick_test' }).success).toBe(true);
  });
});

describe('pipeline config', () => {
  it('defaults the known keys of every requested phase and keeps unknown keys', () => {
    const c = pipelineConfigSchema(['cognate', 'training']).parse({ training: { batch_size: 8, my_knob: 'x' } });
    expect(c.training).toMatchObject({ batch_size: 8, learning_rate: 0.001, optimizer: 'adamw', my_knob: 'x' });
    expect(c.cognate).toMatchObject({ init_strategy: 'xavier_uniform', models_created: 3 });
    expect(c.executor).toBeUndefined(); // the worker's DEFAULT_EXECUTOR decides
    expect(c.dry_run).toEqual({ steps: 10, step_ms: 100 });
  });
  it.each([
    [{ training: { batch_size: -1 } }, 'training.batch_size'],
    [{ training: { learning_rate: 'fast' } }, 'training.learning_rate'],
    [{ evomerge: { population_size: 'x' } }, 'evomerge.population_size'],
    [{ cognate: { init_strategy: 'zeros' } }, 'cognate.init_strategy'],
    [{ compression: { target_sparsity: 1.5 } }, 'compression.target_sparsity'],
    [{ dry_run: { steps: 0 } }, 'dry_run.steps'],
  ])('rejects %j at %s', (config, path) => {
    const r = pipelineConfigSchema(['cognate', 'evomerge', 'training']).safeParse(config);
    expect(r.success).toBe(false);
    expect(r.error!.issues.map((i) => i.path.join('.'))).toContain(path);
  });
});

describe('history query and presets', () => {
  it('coerces the limit from the query string and bounds it', () => {
    expect(HistoryQuery.parse({ limit: '5' }).limit).toBe(5);
    expect(HistoryQuery.parse({}).limit).toBe(10);
    expect(HistoryQuery.safeParse({ limit: '0' }).success).toBe(false);
    expect(HistoryQuery.safeParse({ limit: '101' }).success).toBe(false);
    expect(HistoryQuery.safeParse({ status: 'sleeping' }).success).toBe(false);
  });
  it('checks the known keys of a preset and keeps the rest', () => {
    expect(PresetConfig.parse({ phases: ['bitnet'], note: 'mine' })).toEqual({ phases: ['bitnet'], note: 'mine' });
    expect(PresetConfig.safeParse({ phases: ['bitnet', 'bitnet'] }).success).toBe(false);
  });
});

describe('envelopes and errors', () => {
  it('puts metrics at the top level of a metrics event too', () => {
    const m = { cpu_percent: 1, memory_mb: 2, gpu_utilization: null, throughput_ops: 0 };
    const e = makeEnvelope('metrics', null, { metrics: m, phase: null });
    expect(e.metrics).toEqual(m);
    expect(e.data.metrics).toEqual(m);
  });
  it('routes error events to every channel', () => {
    expect(EVENT_CHANNELS.error).toEqual(['agents', 'tasks', 'metrics', 'pipeline', 'dashboard']);
  });
  it('repeats the message in `detail` for FastAPI clients', () => {
    const b = errorBody('SESSION_NOT_FOUND', 'no such session');
    expect(b).toMatchObject({ error: 'no such session', detail: 'no such session', error_code: 'SESSION_NOT_FOUND', details: null });
    expect(b.timestamp).toMatch(/Z$/);
  });
});

describe('retry policy and GPU keys in the pipeline config', () => {
  const schema = pipelineConfigSchema(['cognate', 'training']);
  const issues = (config: unknown) => {
    const r = schema.safeParse(config);
    return r.success ? [] : r.error.issues.map((i) => i.path.join('.'));
  };

  it('accepts a pipeline-wide and a per-phase policy, and a per-phase gpu flag', () => {
    const c = schema.parse({
      retry: { attempts: 5, backoff: { type: 'fixed', delay_ms: 100 } },
      training: { gpu: true, retry: { attempts: 2, backoff: { type: 'exponential', delay_ms: 500, max_delay_ms: 4_000 } } },
    });
    expect(c.retry).toEqual({ attempts: 5, backoff: { type: 'fixed', delay_ms: 100 } });
    expect(c.training).toMatchObject({ gpu: true, retry: { attempts: 2 } });
  });

  it('rejects bad values, naming where they are', () => {
    expect(issues({ retry: { attempts: 0 } })).toEqual(['retry.attempts']);
    expect(issues({ retry: { attempts: 2.5 } })).toEqual(['retry.attempts']);
    expect(issues({ training: { retry: { backoff: { type: 'linear' } } } })).toEqual(['training.retry.backoff.type']);
    expect(issues({ training: { retry: { backoff: { delay_ms: -1 } } } })).toEqual(['training.retry.backoff.delay_ms']);
    expect(issues({ cognate: { retry: { backoff: { delay_ms: 5_000, max_delay_ms: 1_000 } } } })).toEqual(['cognate.retry.backoff.delay_ms']);
    expect(issues({ training: { gpu: 'yes' } })).toEqual(['training.gpu']);
  });

  it('rejects unknown keys in a retry policy (a typo would silently keep the default)', () => {
    expect(issues({ retry: { attempt: 3 } })).toEqual(['retry']);
    expect(issues({ training: { retry: { backoff: { delay: 100 } } } })).toEqual(['training.retry.backoff']);
  });
});
