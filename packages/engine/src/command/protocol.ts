import { ExecutorOutputLine } from '@agent-forge/contracts';

export type ParsedLine = { ok: true; line: ExecutorOutputLine } | { ok: false; error: string };

/** One stdout line of a phase program → a protocol message, or why it is not one (never throws). */
export function parseOutputLine(raw: string): ParsedLine {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { ok: false, error: 'not JSON' };
  }
  const r = ExecutorOutputLine.safeParse(json);
  if (r.success) return { ok: true, line: r.data };
  return { ok: false, error: r.error.issues.map((i) => `${i.path.join('.') || '(line)'}: ${i.message}`).join('; ') };
}
