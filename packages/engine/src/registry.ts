import { DryRunExecutor } from './dry-run';
import { UnknownExecutorError } from './errors';
import type { PhaseExecutor } from './executor';

/** Executors by name; a pipeline picks one with `config.executor` (per phase: `config.<phase>.executor`). */
export class ExecutorRegistry {
  private readonly executors = new Map<string, PhaseExecutor>();

  register(executor: PhaseExecutor): this {
    this.executors.set(executor.name, executor);
    return this;
  }

  get(name: string): PhaseExecutor {
    const e = this.executors.get(name);
    if (!e) throw new UnknownExecutorError(name, this.names());
    return e;
  }

  names(): string[] {
    return [...this.executors.keys()];
  }
}

export function defaultRegistry(): ExecutorRegistry {
  return new ExecutorRegistry().register(new DryRunExecutor());
}
