import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { EXECUTOR_PROTOCOL_VERSION, type ExecutorStartContext } from '@agent-forge/contracts';
import type { PhaseContext } from '../executor';

/**
 * The private directory of one program run: `context.json` (the start context), `inputs/` (the
 * previous phase's artifacts, checksum-verified on the way out of the store) and `output/` (where
 * the program writes the files it reports as artifacts). Removed when the run ends.
 */
export class RunDirectory {
  private constructor(
    readonly root: string,
    readonly contextFile: string,
    readonly outputDir: string,
  ) {}

  static async create(executor: string, ctx: PhaseContext, baseDir = os.tmpdir()): Promise<RunDirectory> {
    const root = await realpath(await mkdtemp(path.join(baseDir, `af-cmd-${ctx.phase}-`)));
    const inputsDir = path.join(root, 'inputs');
    const outputDir = path.join(root, 'output');
    await mkdir(inputsDir);
    await mkdir(outputDir);
    const inputs: ExecutorStartContext['inputs'] = {};
    for (const [name, ref] of Object.entries(ctx.previous?.artifacts ?? {})) {
      // The stored file's extension tells the program the format (model.bin …); the name is the artifact's.
      const file = path.join(inputsDir, `${safeName(name)}${path.extname(new URL(ref.uri).pathname)}`);
      await writeFile(file, await ctx.artifacts.get(ref));
      inputs[name] = { path: file, sha256: ref.sha256, size_bytes: ref.size_bytes, media_type: ref.media_type };
    }
    const context: ExecutorStartContext = {
      protocol: EXECUTOR_PROTOCOL_VERSION,
      executor,
      session_id: ctx.sessionId,
      phase: ctx.phase,
      attempt: ctx.attempt,
      config: ctx.config,
      resume_state: (ctx.resumeState ?? null) as ExecutorStartContext['resume_state'],
      inputs,
      previous: ctx.previous ? { phase: ctx.previous.phase, metrics: ctx.previous.metrics } : null,
      output_dir: outputDir,
    };
    const contextFile = path.join(root, 'context.json');
    await writeFile(contextFile, JSON.stringify(context, null, 2));
    return new RunDirectory(root, contextFile, outputDir);
  }

  /**
   * The real path of a file the program reported, if it lies inside the output directory. A
   * program must not be able to publish arbitrary worker files (keys, /etc) as artifacts, so
   * symlinks are resolved before the check.
   */
  async outputFile(reported: string): Promise<string> {
    const candidate = path.resolve(this.outputDir, reported);
    const real = await realpath(candidate).catch(() => {
      throw new Error(`artifact file ${reported} does not exist`);
    });
    const rel = path.relative(this.outputDir, real);
    if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) throw new Error(`artifact file ${reported} is outside the output directory`);
    return real;
  }

  async remove(): Promise<void> {
    await rm(this.root, { recursive: true, force: true });
  }
}

function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9_.-]/g, '_');
}
