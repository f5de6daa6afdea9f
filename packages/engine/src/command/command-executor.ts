import type { PhaseContext, PhaseExecutor, PhaseResult } from '../executor';
import { CommandRun, type CommandRunTuning } from './command-run';
import { RunDirectory } from './run-directory';
import type { ResolvedCommandSpec } from './spec';

export interface CommandExecutorOptions extends Partial<CommandRunTuning> {
  /** Where run directories are created (default: the OS temp dir). */
  runDirBase?: string;
}

/**
 * Runs a phase as an operator-allow-listed external program speaking the executor protocol
 * (`@agent-forge/contracts` executor-protocol): users bring their own phase code in any language.
 */
export class CommandExecutor implements PhaseExecutor {
  readonly name: string;
  private readonly tuning: CommandRunTuning;

  constructor(
    readonly spec: ResolvedCommandSpec,
    private readonly opts: CommandExecutorOptions = {},
  ) {
    this.name = spec.name;
    this.tuning = { memoryPollMs: opts.memoryPollMs ?? 100, maxLineBytes: opts.maxLineBytes ?? 4 * 1024 * 1024, stderrTailLines: opts.stderrTailLines ?? 20 };
  }

  async run(ctx: PhaseContext): Promise<PhaseResult> {
    const dir = await RunDirectory.create(this.name, ctx, this.opts.runDirBase);
    try {
      return await new CommandRun(this.spec, ctx, dir, this.tuning).run();
    } finally {
      await dir.remove();
    }
  }
}
