import { ApiError, FollowTimeoutError, createNodeClient, formatDuration, headlineMetrics, isTerminal, type SessionView, type StatusResponse } from '@agent-forge/sdk/node';
import { bar, pct, type Terminal } from './ui';

/**
 * The demo `npm start` runs once the stack is up: start the `quick_test` preset (cognate and
 * evomerge of the built-in forge: a tiny model really created, trained and merged) through the
 * entry URL, follow it live over the WebSocket (a progress bar per phase and the total), then
 * print the final status. The following is the SDK's (`client.follow`, as `agent-forge follow`
 * does it): a resuming WebSocket plus a GET /status poll, so nothing is missed when an event
 * arrived before the socket was open, and the run ends even if the socket cannot connect.
 */
export const DEMO_PHASES = ['cognate', 'evomerge'] as const;
export const DEMO_REQUEST = { preset: 'quick_test' };

export interface DemoOptions {
  /** e.g. http://127.0.0.1:8080 */
  entryUrl: string;
  term: Terminal;
  /** Give up following after this long (the pipeline keeps running). */
  timeoutMs?: number;
  /** Resolves when the user asked to stop: the demo ends quietly. */
  aborted?: Promise<void>;
  /** Bearer token for REST (Authorization header) and WebSocket; null when auth is off. */
  token?: string | null;
}

/** Returns true when the pipeline completed. */
export async function runDemo(opts: DemoOptions): Promise<boolean> {
  const { entryUrl, term } = opts;
  const t = term;
  const client = createNodeClient({ baseUrl: entryUrl, token: opts.token ?? null, timeoutMs: 5_000 });
  t.line(t.bold('Demo: the quick_test preset (forge: cognate → evomerge, a tiny model really trained and merged), followed live'));
  let sessionId: string;
  try {
    sessionId = (await client.start(DEMO_REQUEST)).session_id;
  } catch (err) {
    const what = err instanceof ApiError ? `${err.status}: ${JSON.stringify(err.body ?? err.message)}` : err instanceof Error ? err.message : String(err);
    t.line(t.red(`  POST /api/v1/pipeline/start answered ${what}`));
    return false;
  }
  const wsUrl = client.wsUrl('pipeline', { session_id: sessionId });
  const statusUrl = `${entryUrl}/api/v1/pipeline/status/${sessionId}`;
  t.line(`  POST ${entryUrl}/api/v1/pipeline/start → session ${t.cyan(sessionId)}`);
  t.line(`  watching ${wsUrl}`);
  t.line(`  dashboard ${entryUrl}/dashboard/#/sessions/${sessionId}`);

  /** Without a TTY: one line per 25 % step and per finished phase (100 is kept for "done"). */
  const milestones = new Map<string, number>();
  const milestone = (v: SessionView): void => {
    for (const p of v.phases) {
      const done = p.status === 'completed';
      const step = done ? 100 : Math.min(75, Math.floor(p.progress_percent / 25) * 25);
      if (step <= (milestones.get(p.phase) ?? 0)) continue;
      milestones.set(p.phase, step);
      const what = done ? `done${p.duration_seconds !== null ? ` in ${p.duration_seconds.toFixed(1)} s` : ''}` : `${step}%`;
      t.line(`  ${p.phase.padEnd(10)} ${what.padEnd(14)} (total ${Math.round(v.total_progress_percent)}%)`);
    }
  };
  const render = (v: SessionView, socket: string): void => {
    if (!t.tty) return milestone(v);
    const lines = v.phases.map((p) => {
      const state = p.status === 'completed' ? 'done' : p.status;
      const mark = state === 'done' ? t.green('✓') : state === 'failed' ? t.red('✗') : state === 'running' ? t.cyan('›') : ' ';
      const tailText = state === 'done' && p.duration_seconds !== null ? t.dim(`${p.duration_seconds.toFixed(1)} s`) : t.dim(state);
      return `  ${mark} ${p.phase.padEnd(10)} ${bar(p.progress_percent)} ${pct(p.progress_percent)}  ${tailText}`;
    });
    const eta = isTerminal(v.status) || v.eta_seconds === null ? '' : ` · ETA ${formatDuration(v.eta_seconds)}`;
    lines.push(`    ${'total'.padEnd(10)} ${bar(v.total_progress_percent)} ${pct(v.total_progress_percent)}  ${t.dim(`${v.status ?? 'initializing'}${eta} · ${v.events} events via WebSocket (${socket})`)}`);
    t.setLive(lines);
  };

  const stop = new AbortController();
  void opts.aborted?.then(() => stop.abort());
  const timeoutMs = opts.timeoutMs ?? 120_000;
  let events = 0;
  let final: StatusResponse;
  try {
    final = await client.follow(sessionId, {
      signal: stop.signal,
      timeoutMs,
      onUpdate: (v, info) => {
        events = v.events;
        render(v, info.socket);
      },
    });
  } catch (err) {
    t.endLive();
    if (stop.signal.aborted) return false;
    if (err instanceof FollowTimeoutError) {
      t.line(t.yellow(`  still ${err.lastView.status ?? 'initializing'} after ${Math.round(timeoutMs / 1000)} s; stopped following. Check: curl -s ${statusUrl}`));
      return false;
    }
    t.line(t.red(`  GET ${statusUrl} failed: ${err instanceof Error ? err.message : String(err)}`));
    return false;
  }
  t.endLive();
  printSummary(t, final, events, statusUrl);
  return final.status === 'completed';
}

function printSummary(t: Terminal, body: StatusResponse, events: number, statusUrl: string): void {
  const paint = body.status === 'completed' ? t.green.bind(t) : t.red.bind(t);
  t.line();
  t.line(`  Final status (GET /api/v1/pipeline/status): ${paint(t.bold(body.status))} in ${body.elapsed_seconds.toFixed(1)} s, total ${Math.round(body.total_progress_percent)}%`);
  for (const m of body.phase_metrics) {
    t.line(
      `    ${m.phase.padEnd(10)} ${m.status.padEnd(10)} ${pct(m.progress_percent)}  ${m.status !== 'pending' ? `${m.duration_seconds.toFixed(2)} s` : ''}${m.error_message ? `  ${t.red(m.error_message)}` : ''}`,
    );
    const shown = headlineMetrics(m.custom_metrics, 4).map(([k, v]) => `${k} ${v}`);
    if (shown.length > 0) t.line(t.dim(`               ${shown.join(' · ')}`));
  }
  t.line(`    phases completed: ${body.phases_completed.join(', ') || 'none'} · ${events} events received live over the WebSocket`);
  t.line(t.dim(`    again: curl -s ${statusUrl}   or: npx agent-forge status ${body.session_id}`));
}
