import { readFileSync, statSync } from 'node:fs';
import { CommandExecutorAllowList } from '@agent-forge/engine';
import { z } from 'zod';

/**
 * `WORKER_COMMAND_EXECUTORS`: the allow-list of phase programs, as inline JSON (starts with `{`)
 * or the absolute path of a JSON file. Checked once at start-up; a bad entry stops the worker with
 * an error naming the entry and the field.
 */
export const commandExecutorsEnv = z
  .string()
  .default('')
  .transform((raw, ctx) => {
    const v = raw.trim();
    if (v === '') return {};
    let text = v;
    if (!v.startsWith('{')) {
      try {
        text = readFileSync(v, 'utf8');
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: `cannot read the allow-list file ${v}: ${(err as Error).message}` });
        return z.NEVER;
      }
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `not valid JSON: ${(err as Error).message}` });
      return z.NEVER;
    }
    const parsed = CommandExecutorAllowList.safeParse(json);
    if (!parsed.success) {
      for (const i of parsed.error.issues) {
        const [name, ...field] = i.path.map(String);
        ctx.addIssue({ code: 'custom', message: name ? `executor "${name}"${field.length ? ` ${field.join('.')}` : ''}: ${i.message}` : i.message });
      }
      return z.NEVER;
    }
    for (const [name, spec] of Object.entries(parsed.data)) {
      if (spec.cwd && !isDirectory(spec.cwd)) ctx.addIssue({ code: 'custom', message: `executor "${name}" cwd: ${spec.cwd} is not a directory` });
    }
    return parsed.data;
  });

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}
