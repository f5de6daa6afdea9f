import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { EXECUTOR_CONTEXT_ENV, type ArtifactRef, type ExecutorOutputLine } from '@agent-forge/contracts';
import { PhaseError, PhaseParked, isAbortError } from '../errors';
import type { PhaseContext, PhaseResult, ProgressStep } from '../executor';
import { parseOutputLine } from './protocol';
import type { RunDirectory } from './run-directory';
import type { ResolvedCommandSpec } from './spec';
import { ProcessSupervisor, type ProcessExit } from './supervisor';

const HOLD_AT = 256;
const RELEASE_AT = 32;

export interface CommandRunTuning {
  memoryPollMs: number;
  maxLineBytes: number;
  /** stderr lines kept for the error message of a failed run. */
  stderrTailLines: number;
}

/** Why the engine is ending the run before the program finished on its own. */
type Ending =
  | { kind: 'parked'; error: unknown }
  | { kind: 'aborted'; error: unknown }
  | { kind: 'timeout'; error: PhaseError }
  | { kind: 'failed'; error: unknown };

/**
 * One run of a phase program: its stdout lines become progress steps, checkpoints, metrics and
 * artifacts; pause, cancel and timeouts become control words and signals; its exit becomes the
 * phase's result or a typed error. Lines are handled strictly in order.
 */
export class CommandRun {
  private percent = 0;
  /** The metrics of the last progress line: a checkpoint step shows them too instead of blanking them. */
  private progressMetrics: Record<string, unknown> = {};
  private readonly reported: Record<string, unknown> = {};
  private readonly artifacts: Record<string, ArtifactRef> = {};
  private result: Record<string, unknown> | null = null;
  private protocolErrors = 0;
  private readonly stderrTail: string[] = [];
  private ending: Ending | null = null;
  /** A checkpoint the program wrote after it was asked to pause: it replaces the parked state. */
  private checkpointAfterPause: { state: unknown } | null = null;
  private lines: Promise<void> = Promise.resolve();
  /** Lines read but not handled yet; past HOLD_AT, stdout is not read until they drop to RELEASE_AT. */
  private pending = 0;
  private readonly supervisor: ProcessSupervisor;

  constructor(
    private readonly spec: ResolvedCommandSpec,
    private readonly ctx: PhaseContext,
    private readonly dir: RunDirectory,
    tuning: CommandRunTuning,
  ) {
    this.supervisor = new ProcessSupervisor({
      argv: spec.argv,
      // Only what the operator configured: the worker's own env (Redis credentials …) stays with the worker.
      env: { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin', ...spec.env, [EXECUTOR_CONTEXT_ENV]: dir.contextFile },
      cwd: spec.cwd ?? dir.root,
      memoryLimitMb: spec.memoryLimitMb,
      memoryPollMs: tuning.memoryPollMs,
      maxLineBytes: tuning.maxLineBytes,
      onStdoutLine: (line) => this.enqueue(line),
      onStdoutOverflow: (prefix) => this.protocolError(prefix, `line longer than ${tuning.maxLineBytes} bytes`),
      onStderrLine: (line) => {
        this.stderrTail.push(line);
        if (this.stderrTail.length > tuning.stderrTailLines) this.stderrTail.shift();
        ctx.logger.info({ executor: spec.name, stream: 'stderr' }, line);
      },
    });
  }

  async run(): Promise<PhaseResult> {
    const onAbort = () => this.end({ kind: 'aborted', error: abortError(this.ctx.signal.reason) });
    if (this.ctx.signal.aborted) onAbort();
    else this.ctx.signal.addEventListener('abort', onAbort, { once: true });
    const timer =
      this.spec.timeoutMs > 0
        ? setTimeout(
            () => this.end({ kind: 'timeout', error: new PhaseError('PHASE_TIMEOUT', `executor ${this.spec.name} exceeded its ${this.spec.timeoutMs / 1000}s limit`, false) }),
            this.spec.timeoutMs,
          )
        : null;
    try {
      const exit = await this.supervisor.exited;
      await this.lines;
      return await this.outcome(exit);
    } finally {
      if (timer) clearTimeout(timer);
      this.ctx.signal.removeEventListener('abort', onAbort);
    }
  }

  private async outcome(exit: ProcessExit): Promise<PhaseResult> {
    const name = this.spec.name;
    if (exit.spawnError) throw new PhaseError('EXECUTOR_START_FAILED', `executor ${name} could not start ${this.spec.argv[0]}: ${exit.spawnError}`, false);
    if (this.ending) return this.endedByEngine(this.ending);
    if (exit.memoryExceeded) {
      throw new PhaseError('AGENT_MEMORY_LIMIT', `executor ${name} exceeded its memory limit of ${this.spec.memoryLimitMb} MB (RSS of its process group)`, false);
    }
    if (exit.code !== 0) {
      const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
      throw new PhaseError('EXECUTOR_FAILED', `executor ${name} ${how}${this.stderrSummary()}`, true);
    }
    if (this.result === null) throw new PhaseError('EXECUTOR_PROTOCOL_ERROR', `executor ${name} exited 0 without a result line${this.stderrSummary()}`, false);
    return {
      metrics: { ...this.reported, ...this.result, protocol_errors: this.protocolErrors, executor_peak_rss_mb: exit.peakRssMb === null ? null : Math.round(exit.peakRssMb * 10) / 10 },
      artifacts: { ...this.artifacts },
    };
  }

  private async endedByEngine(ending: Ending): Promise<never> {
    if (ending.kind === 'parked' && this.checkpointAfterPause) {
      // The phase was parked with the checkpoint known at the time; the one the program wrote in
      // answer to `pause` is newer. Parking again (still paused, same run) records it.
      // It throws PhaseParked again (or an abort when the session moved on meanwhile): either way the run ends.
      await this.ctx.progress({ percent: this.percent, message: 'checkpoint on pause', state: this.checkpointAfterPause.state });
    }
    throw ending.error;
  }

  private end(ending: Ending): void {
    if (this.ending) return;
    this.ending = ending;
    this.ctx.logger.info({ executor: this.spec.name, reason: ending.kind }, 'ending phase program');
    void this.supervisor.terminate(ending.kind === 'parked' ? 'pause' : 'stop', this.spec.killGraceMs);
  }

  private enqueue(raw: string): void {
    if (++this.pending === HOLD_AT) this.supervisor.holdOutput(true);
    this.lines = this.lines
      .then(() => this.handle(raw))
      .catch((err: unknown) => this.end({ kind: 'failed', error: err }))
      .finally(() => {
        if (--this.pending === RELEASE_AT) this.supervisor.holdOutput(false);
      });
  }

  private async handle(raw: string): Promise<void> {
    if (raw.trim() === '') return;
    const parsed = parseOutputLine(raw);
    if (!parsed.ok) return this.protocolError(raw, parsed.error);
    const line = parsed.line;
    if (this.ending) return this.afterEnding(line);
    switch (line.type) {
      case 'progress':
        this.percent = line.percent;
        this.progressMetrics = line.metrics ?? this.progressMetrics;
        return this.step({ percent: line.percent, ...(line.message !== undefined ? { message: line.message } : {}), metrics: { ...this.reported, ...this.progressMetrics } });
      case 'metric':
        this.reported[line.name] = line.value;
        return;
      case 'checkpoint':
        return this.step({ percent: this.percent, message: 'checkpoint', metrics: { ...this.reported, ...this.progressMetrics }, state: line.state });
      case 'artifact':
        return this.storeArtifact(line, raw);
      case 'result':
        if (this.result !== null) return this.protocolError(raw, 'a second result line');
        this.result = line.metrics;
        return;
      case 'log':
        this.ctx.logger[line.level]({ executor: this.spec.name, stream: 'program' }, line.message);
        return;
    }
  }

  /** While the engine ends the run only a checkpoint (the answer to `pause`) and logs still matter. */
  private afterEnding(line: ExecutorOutputLine): void {
    if (line.type === 'checkpoint' && this.ending?.kind === 'parked') this.checkpointAfterPause = { state: line.state };
    if (line.type === 'log') this.ctx.logger[line.level]({ executor: this.spec.name, stream: 'program' }, line.message);
  }

  private async step(step: ProgressStep): Promise<void> {
    try {
      await this.ctx.progress(step);
    } catch (err) {
      if (err instanceof PhaseParked) this.end({ kind: 'parked', error: err });
      else if (isAbortError(err)) this.end({ kind: 'aborted', error: err });
      else this.end({ kind: 'failed', error: err });
    }
  }

  private async storeArtifact(line: Extract<ExecutorOutputLine, { type: 'artifact' }>, raw: string): Promise<void> {
    let file: string;
    let data: Buffer;
    try {
      file = await this.dir.outputFile(line.path);
      data = await readFile(file);
    } catch (err) {
      return this.protocolError(raw, (err as Error).message);
    }
    this.artifacts[line.name] = await this.ctx.artifacts.put(`${this.ctx.artifactPrefix}${line.name}${path.extname(file)}`, data, line.media_type);
  }

  private protocolError(raw: string, error: string): void {
    this.protocolErrors += 1;
    this.ctx.logger.warn({ executor: this.spec.name, line: raw.slice(0, 500), error }, 'phase program wrote a line that is not protocol; ignored');
  }

  private stderrSummary(): string {
    return this.stderrTail.length ? `; last stderr lines:\n${this.stderrTail.join('\n')}` : '';
  }
}

function abortError(reason: unknown): Error {
  const err = new Error(reason instanceof Error ? reason.message : String(reason ?? 'aborted'));
  err.name = 'AbortError';
  return err;
}
