import { setTimeout as sleep } from 'node:timers/promises';
import { CpuMeter, processMemoryMb, round2 } from '@agent-forge/runtime';
import type { PhaseContext, PhaseExecutor, PhaseResult } from './executor';

interface DryRunState {
  step: number;
}

/**
 * Walks a phase in N timed steps without computing a model. It exists for tests, benchmarks and
 * demos of the orchestration itself, so everything it reports is about the worker (real CPU,
 * memory, wall time) and it says `executor: "dry-run"` — it never invents model numbers.
 */
export class DryRunExecutor implements PhaseExecutor {
  readonly name = 'dry-run';

  async run(ctx: PhaseContext): Promise<PhaseResult> {
    const dry = ctx.pipelineConfig.dry_run ?? { steps: 10, step_ms: 100 };
    const steps = Number(ctx.config.steps ?? dry.steps);
    const stepMs = Number(ctx.config.step_ms ?? dry.step_ms);
    const resumed = (ctx.resumeState as DryRunState | null)?.step ?? 0;
    const start = Math.min(Math.max(0, resumed), steps);
    const cpu = new CpuMeter();
    const began = Date.now();
    for (let step = start; step < steps; step++) {
      await sleep(stepMs, undefined, { signal: ctx.signal });
      const done = step + 1;
      await ctx.progress({
        percent: (done / steps) * 100,
        message: `dry-run step ${done}/${steps}`,
        metrics: { executor: 'dry-run', steps_done: done, steps_total: steps, cpu_percent: cpu.sample(), memory_mb: processMemoryMb() },
        state: { step: done } satisfies DryRunState,
      });
    }
    return {
      metrics: {
        executor: 'dry-run',
        steps_total: steps,
        steps_run: steps - start,
        resumed_from_step: start,
        step_ms: stepMs,
        wall_seconds: round2((Date.now() - began) / 1000),
        worker_cpu_seconds: round2(cpu.cpuSeconds()),
        worker_memory_mb: processMemoryMb(),
      },
    };
  }
}
