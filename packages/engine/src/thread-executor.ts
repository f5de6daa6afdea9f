import path from 'node:path';
import type { AgentStatus } from '@agent-forge/contracts';
import { Worker } from 'node:worker_threads';
import { PhaseError } from './errors';
import type { PhaseContext, PhaseExecutor, PhaseResult } from './executor';

export interface ThreadedExecutorOptions {
  /** Name pipelines select it by (`config.executor`). */
  name: string;
  /** Absolute path of a CommonJS module exporting the executor (an object, a class or a factory). */
  module: string;
  exportName: string;
  /** Heap cap of the thread (V8 old generation), MB: the agent's memory limit, enforced. */
  memoryLimitMb: number;
  /** After an abort (cancel, timeout), how long the executor may take to stop before its thread is killed. */
  killGraceMs: number;
}

const ENTRY = path.join(__dirname, '..', 'thread', 'entry.cjs');

type ThreadMessage =
  | { type: 'call'; id: number; method: string; args: unknown[] }
  | { type: 'log'; level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal'; message: string; fields: Record<string, unknown> }
  | { type: 'result'; result: PhaseResult }
  | { type: 'error'; error: { name: string; message: string; code?: string; retryable?: boolean } };

/**
 * Runs an executor in a worker thread: CPU-heavy phase work never blocks the worker's event loop
 * (job locks keep renewing, control messages arrive), the thread's heap is capped (exceeding it
 * fails the phase with AGENT_MEMORY_LIMIT, not the worker), and a phase that ignores its
 * AbortSignal is killed from outside — the watchdog does not rely on the phase's own code.
 */
export class ThreadedExecutor implements PhaseExecutor {
  readonly name: string;

  constructor(private readonly opts: ThreadedExecutorOptions) {
    this.name = opts.name;
  }

  run(ctx: PhaseContext): Promise<PhaseResult> {
    const worker = new Worker(ENTRY, {
      workerData: {
        module: this.opts.module,
        exportName: this.opts.exportName,
        ctx: {
          sessionId: ctx.sessionId,
          phase: ctx.phase,
          config: ctx.config,
          pipelineConfig: ctx.pipelineConfig,
          resumeState: ctx.resumeState,
          attempt: ctx.attempt,
          artifactPrefix: ctx.artifactPrefix,
          previous: ctx.previous,
          swarm: ctx.swarm,
          gpu: ctx.gpu,
        },
      },
      resourceLimits: { maxOldGenerationSizeMb: this.opts.memoryLimitMb, maxYoungGenerationSizeMb: Math.min(64, Math.max(4, this.opts.memoryLimitMb / 8)) },
      stdout: false,
      stderr: false,
    });

    return new Promise<PhaseResult>((resolve, reject) => {
      let settled = false;
      let killTimer: NodeJS.Timeout | null = null;
      // The engine's own errors (parked, aborted) thrown by ctx.progress in this thread; when the
      // executor lets one propagate, the original object is rethrown so the runner recognises it.
      const controlErrors = new Map<string, unknown>();
      const finish = (fn: () => void) => {
        if (settled) return;
        settled = true;
        if (killTimer) clearTimeout(killTimer);
        ctx.signal.removeEventListener('abort', onAbort);
        fn();
        void worker.terminate();
      };
      const onAbort = () => {
        const reason = ctx.signal.reason instanceof Error ? ctx.signal.reason.message : 'aborted';
        worker.postMessage({ type: 'abort', reason });
        killTimer = setTimeout(() => {
          ctx.logger.warn({ graceMs: this.opts.killGraceMs }, 'executor ignored its abort signal; killing its thread');
          finish(() => reject(abortError(`killed after ignoring abort (${reason})`)));
        }, this.opts.killGraceMs);
      };
      if (ctx.signal.aborted) onAbort();
      else ctx.signal.addEventListener('abort', onAbort, { once: true });

      worker.on('message', (msg: ThreadMessage) => {
        switch (msg.type) {
          case 'call':
            void this.serve(ctx, msg.method, msg.args).then(
              ({ value, transfer }) => worker.postMessage({ type: 'reply', id: msg.id, ok: true, value }, transfer),
              (err: unknown) => {
                const e = err instanceof Error ? err : new Error(String(err));
                controlErrors.set(`${e.name}:${e.message}`, err);
                worker.postMessage({ type: 'reply', id: msg.id, ok: false, error: { name: e.name, message: e.message, code: (e as { code?: string }).code } });
              },
            );
            break;
          case 'log':
            ctx.logger[msg.level](msg.fields, msg.message);
            break;
          case 'result':
            finish(() => resolve(msg.result));
            break;
          case 'error': {
            const original = controlErrors.get(`${msg.error.name}:${msg.error.message}`);
            if (original !== undefined) finish(() => reject(original));
            else if (msg.error.name === 'AbortError') finish(() => reject(abortError(msg.error.message)));
            else finish(() => reject(new PhaseError(msg.error.code ?? 'PHASE_FAILED', msg.error.message, msg.error.retryable ?? true)));
            break;
          }
        }
      });
      worker.on('error', (err: Error & { code?: string }) => {
        if (err.code === 'ERR_WORKER_OUT_OF_MEMORY') {
          finish(() => reject(new PhaseError('AGENT_MEMORY_LIMIT', `phase ${ctx.phase} exceeded its memory limit of ${this.opts.memoryLimitMb} MB`, false)));
        } else {
          finish(() => reject(new PhaseError('PHASE_FAILED', err.message)));
        }
      });
      worker.on('exit', (code) => {
        finish(() => reject(ctx.signal.aborted ? abortError('thread stopped') : new PhaseError('PHASE_FAILED', `executor thread exited with code ${code}`)));
      });
    });
  }

  private async serve(ctx: PhaseContext, method: string, args: unknown[]): Promise<{ value: unknown; transfer: ArrayBuffer[] }> {
    switch (method) {
      case 'progress':
        await ctx.progress(args[0] as Parameters<PhaseContext['progress']>[0]);
        return { value: null, transfer: [] };
      case 'agents':
        await ctx.agents?.(args[0] as AgentStatus[], args[1] as number | null);
        return { value: null, transfer: [] };
      case 'artifacts.put':
        return { value: await ctx.artifacts.put(args[0] as string, args[1] as Uint8Array, args[2] as string | undefined), transfer: [] };
      case 'artifacts.get': {
        const data = await ctx.artifacts.get(args[0] as Parameters<PhaseContext['artifacts']['get']>[0]);
        const copy = data.slice().buffer as ArrayBuffer;
        return { value: copy, transfer: [copy] };
      }
      case 'artifacts.delete':
        await ctx.artifacts.delete(args[0] as { uri: string });
        return { value: null, transfer: [] };
      default:
        throw new Error(`unknown call ${method}`);
    }
  }
}

function abortError(message: string): Error {
  const err = new Error(message);
  err.name = 'AbortError';
  return err;
}
