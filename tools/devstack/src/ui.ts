/**
 * The devstack prints through the CLI's Terminal (plain lines plus one live block of progress
 * bars redrawn in place on a TTY, so service warnings never tear the bars apart) and the SDK's
 * bar/percent formatting; this module adds only the service-log formatting.
 */
export { Terminal } from '@agent-forge/cli/term';
export { formatPercent as pct, progressBar as bar } from '@agent-forge/sdk';

const PINO_LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
/** pino's standard fields, shown in their own place or not at all. */
const PINO_STD = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'service', 'name', 'v']);

export interface LogLine {
  /** pino level number; 30 (info) for lines that are not pino JSON */
  level: number;
  json: boolean;
  text: string;
}

/**
 * Turn one line of a service's output into something readable: pino JSON becomes
 * `HH:MM:SS LEVEL msg key=value …`; anything else (a crash's stack trace) stays as is and counts
 * as an error when it came from stderr.
 */
export function formatLogLine(raw: string, fromStderr: boolean, maxLength = 400): LogLine {
  let parsed: Record<string, unknown> | null = null;
  if (raw.startsWith('{')) {
    try {
      const value = JSON.parse(raw) as unknown;
      if (value && typeof value === 'object' && !Array.isArray(value)) parsed = value as Record<string, unknown>;
    } catch {
      parsed = null;
    }
  }
  if (!parsed || typeof parsed.level !== 'number') {
    return { level: fromStderr ? 50 : 30, json: false, text: raw };
  }
  const level = parsed.level;
  const time = typeof parsed.time === 'string' ? parsed.time.slice(11, 19) : typeof parsed.time === 'number' ? new Date(parsed.time).toISOString().slice(11, 19) : '';
  const fields = { ...parsed };
  const extras: string[] = [];
  // pino-http's access line: its request and response objects shrink to "GET /x → 404 (2 ms)".
  const req = fields.req as Record<string, unknown> | undefined;
  const res = fields.res as Record<string, unknown> | undefined;
  if (req && typeof req === 'object' && typeof req.method === 'string') {
    const status = res && typeof res === 'object' ? res.statusCode : undefined;
    const ms = typeof fields.responseTime === 'number' ? ` (${fields.responseTime} ms)` : '';
    extras.push(`${req.method} ${String(req.url ?? '')}${status !== undefined ? ` → ${String(status)}` : ''}${ms}`);
    delete fields.req;
    delete fields.res;
    delete fields.responseTime;
  }
  for (const [key, value] of Object.entries(fields)) {
    if (PINO_STD.has(key)) continue;
    if (key === 'err' && value && typeof value === 'object' && 'message' in value) {
      extras.push(`err=${String((value as { message: unknown }).message)}`);
      continue;
    }
    extras.push(`${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
  }
  let text = [time, PINO_LEVELS[level] ?? String(level), String(parsed.msg ?? ''), ...extras].filter(Boolean).join(' ');
  if (text.length > maxLength) text = `${text.slice(0, maxLength - 1)}…`;
  return { level, json: true, text };
}
