import { CommandExecutor, ThreadedExecutor, defaultRegistry, resolveCommandSpec, type ExecutorRegistry } from '@agent-forge/engine';
import { FORGE_EXECUTOR_NAME } from '@agent-forge/forge';
import { ConfigError } from '@agent-forge/runtime';
import type { WorkerConfig } from './config';

/**
 * Every executor this worker offers: dry-run, the built-in forge phases (in a thread), the
 * operator's thread modules and the operator's allow-listed command programs. Names are unique:
 * a clash would silently run something else than the pipeline asked for, so it stops start-up.
 */
export function buildExecutorRegistry(config: Pick<WorkerConfig, 'AGENT_MEMORY_LIMIT_MB' | 'EXECUTOR_KILL_GRACE_MS' | 'WORKER_EXECUTOR_MODULES' | 'WORKER_COMMAND_EXECUTORS'>): ExecutorRegistry {
  const limits = { memoryLimitMb: config.AGENT_MEMORY_LIMIT_MB, killGraceMs: config.EXECUTOR_KILL_GRACE_MS };
  // The built-in phases compute in a thread of their own: the event loop stays free, memory is capped.
  const registry = defaultRegistry().register(
    new ThreadedExecutor({ name: FORGE_EXECUTOR_NAME, module: require.resolve('@agent-forge/forge'), exportName: 'ForgeExecutor', ...limits }),
  );
  const add = (name: string, make: () => Parameters<ExecutorRegistry['register']>[0]) => {
    if (registry.names().includes(name)) throw new ConfigError(`invalid configuration: executor name "${name}" is used twice (taken: ${registry.names().join(', ')})`);
    registry.register(make());
  };
  for (const m of config.WORKER_EXECUTOR_MODULES) add(m.name, () => new ThreadedExecutor({ ...m, ...limits }));
  for (const [name, spec] of Object.entries(config.WORKER_COMMAND_EXECUTORS)) add(name, () => new CommandExecutor(resolveCommandSpec(name, spec, limits)));
  return registry;
}
