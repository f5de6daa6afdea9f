'use strict';
/** Executors for the thread-isolation tests (plain CommonJS: they run inside a worker thread). */

/** Cooperative: steps with progress, reads the previous artifact, writes its own. */
exports.stepper = {
  name: 'stepper',
  async run(ctx) {
    const prev = ctx.previous && ctx.previous.artifacts.model;
    const input = prev ? await ctx.artifacts.get(prev) : new Uint8Array([7]);
    const start = (ctx.resumeState && ctx.resumeState.step) || 0;
    for (let step = start; step < 3; step++) {
      await ctx.progress({ percent: ((step + 1) / 3) * 100, message: `step ${step + 1}`, state: { step: step + 1 } });
    }
    const model = await ctx.artifacts.put(ctx.artifactPrefix + 'model.bin', new Uint8Array([...input, 1]));
    ctx.logger.info({ bytes: input.length + 1 }, 'stepper wrote its model');
    return { metrics: { input_bytes: input.length, started_at_step: start }, artifacts: { model } };
  },
};

/** Ignores its AbortSignal and blocks its thread forever: only a kill from outside stops it. */
exports.spinner = {
  name: 'spinner',
  async run(ctx) {
    await ctx.progress({ percent: 1, message: 'about to spin' });
    for (;;) {
      // busy loop, never yields
    }
  },
};

/** Allocates without bound. */
exports.hog = {
  name: 'hog',
  async run() {
    const keep = [];
    for (;;) keep.push(new Array(1_000_000).fill(Math.random()));
  },
};

/** Fails with a typed, non-retryable error. */
exports.broken = {
  name: 'broken',
  async run() {
    const err = new Error('weights are NaN');
    err.name = 'PhaseError';
    err.code = 'NAN_WEIGHTS';
    err.retryable = false;
    throw err;
  },
};

/** Reports one agent per allowed slot (the session's swarm settings arrive in the thread). */
exports.reporter = {
  name: 'reporter',
  async run(ctx) {
    const n = ctx.swarm ? ctx.swarm.maxAgents : 0;
    const agents = Array.from({ length: n }, (_, k) => ({
      agent_id: `a${k}`, role: 'fitness-evaluator', phase: ctx.phase, state: 'executing', current_task: `task ${k}`,
      memory_usage_mb: 1, cpu_usage_percent: 50, uptime_seconds: 0.1,
    }));
    await ctx.agents(agents, 0.25);
    return { metrics: { topology: ctx.swarm ? ctx.swarm.topology : null } };
  },
};
