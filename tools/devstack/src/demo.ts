import WebSocket from 'ws';
import { bar, pct, type Terminal } from './ui';

/**
 * The demo `npm start` runs once the stack is up: start the `quick_test` preset (cognate and
 * evomerge of the built-in forge: a tiny model really created, trained and merged) through the
 * entry URL, follow it live over the WebSocket (a progress bar per phase and the total), then
 * print the final status. GET /status is polled alongside, so nothing is missed when an event
 * arrived before the socket was open, and the run ends even if the socket cannot connect.
 */
export const DEMO_PHASES = ['cognate', 'evomerge'] as const;
export const DEMO_REQUEST = { preset: 'quick_test' };

/** Measured figures worth a line in the summary, when a phase reports them. */
const HEADLINE_METRICS = [
  'val_loss',
  'accuracy',
  'final_fitness',
  'fitness_improvement',
  'accuracy_improvement',
  'p_value',
  'compression_ratio',
  'final_loss',
  'final_accuracy',
  'overall_improvement',
  'pareto_front_size',
  'total_compression_ratio',
  'executor',
];

const TERMINAL_STATUSES = new Set(['completed', 'failed', 'cancelled']);

type PhaseView = { progress: number; state: 'pending' | 'running' | 'done' | 'failed'; duration: number | null; milestone: number };

interface Envelope {
  event_type?: string;
  session_id?: string | null;
  data?: Record<string, unknown>;
}

function num(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function str(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

async function getJson(url: string, init?: RequestInit): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(5_000) });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // keep the text
  }
  return { status: res.status, body };
}

export interface DemoOptions {
  /** e.g. http://127.0.0.1:8080 */
  entryUrl: string;
  term: Terminal;
  /** Give up following after this long (the pipeline keeps running). */
  timeoutMs?: number;
  /** Resolves when the user asked to stop: the demo ends quietly. */
  aborted?: Promise<void>;
  /** Bearer token for REST (Authorization header) and WebSocket (`?token=`); null with AUTH_MODE=off. */
  token?: string | null;
}

/** Returns true when the pipeline completed. */
export async function runDemo(opts: DemoOptions): Promise<boolean> {
  const { entryUrl, term } = opts;
  const t = term;
  const auth: Record<string, string> = opts.token ? { authorization: `Bearer ${opts.token}` } : {};
  t.line(t.bold('Demo: the quick_test preset (forge: cognate → evomerge, a tiny model really trained and merged), followed live'));
  const start = await getJson(`${entryUrl}/api/v1/pipeline/start`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...auth },
    body: JSON.stringify(DEMO_REQUEST),
  });
  const sessionId = str((start.body as Record<string, unknown> | null)?.session_id);
  if (start.status >= 300 || !sessionId) {
    t.line(t.red(`  POST /api/v1/pipeline/start answered ${start.status}: ${JSON.stringify(start.body)}`));
    return false;
  }
  // Browsers cannot set headers on a WebSocket, so the token travels as ?token= (as here).
  const wsUrl = `${entryUrl.replace(/^http/, 'ws')}/ws/pipeline?session_id=${sessionId}${opts.token ? `&token=${encodeURIComponent(opts.token)}` : ''}`;
  t.line(`  POST ${entryUrl}/api/v1/pipeline/start → session ${t.cyan(sessionId)}`);
  t.line(`  watching ${wsUrl.replace(/([?&]token=)[^&]*/, "$1…")}`);

  const phases = new Map<string, PhaseView>(DEMO_PHASES.map((p) => [p, { progress: 0, state: 'pending', duration: null, milestone: 0 }]));
  let total = 0;
  let status = 'initializing';
  let events = 0;
  let wsState = 'connecting';

  const render = (): void => {
    const lines = [...phases].map(([name, v]) => {
      const mark = v.state === 'done' ? t.green('✓') : v.state === 'failed' ? t.red('✗') : v.state === 'running' ? t.cyan('›') : ' ';
      const tailText = v.state === 'done' && v.duration !== null ? t.dim(`${v.duration.toFixed(1)} s`) : t.dim(v.state);
      return `  ${mark} ${name.padEnd(10)} ${bar(v.progress)} ${pct(v.progress)}  ${tailText}`;
    });
    lines.push(`    ${'total'.padEnd(10)} ${bar(total)} ${pct(total)}  ${t.dim(`${status} · ${events} events via WebSocket (${wsState})`)}`);
    t.setLive(lines);
  };

  /** Without a TTY: one line per 25 % step and per finished phase. */
  const milestone = (name: string, v: PhaseView): void => {
    if (t.tty) return;
    // 100 is kept for "done", which comes with the phase's duration.
    const step = v.state === 'done' ? 100 : Math.min(75, Math.floor(v.progress / 25) * 25);
    if (step <= v.milestone) return;
    v.milestone = step;
    const what = v.state === 'done' ? `done${v.duration !== null ? ` in ${v.duration.toFixed(1)} s` : ''}` : `${step}%`;
    t.line(`  ${name.padEnd(10)} ${what.padEnd(14)} (total ${Math.round(total)}%)`);
  };

  const update = (name: string | null, patch: Partial<PhaseView>): void => {
    if (name === null) return;
    const v = phases.get(name);
    if (!v) return;
    if (patch.progress !== undefined) v.progress = Math.max(v.progress, patch.progress);
    if (patch.state && v.state !== 'done' && v.state !== 'failed') v.state = patch.state;
    if (patch.duration !== undefined && patch.duration !== null) v.duration = patch.duration;
    // Phases before a running one are finished even if their event was missed.
    if (v.state === 'running') {
      for (const [other, ov] of phases) {
        if (other === name) break;
        if (ov.state === 'pending' || ov.state === 'running') {
          ov.state = 'done';
          ov.progress = 100;
          milestone(other, ov);
        }
      }
    }
    milestone(name, v);
  };

  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const setStatus = (s: string | null): void => {
    if (!s) return;
    status = s;
    if (TERMINAL_STATUSES.has(s)) finish();
  };

  const ws = new WebSocket(wsUrl);
  ws.on('open', () => {
    wsState = 'open';
    render();
  });
  ws.on('error', (err) => {
    wsState = `error: ${err.message}`;
    render();
  });
  ws.on('close', () => {
    if (wsState === 'open') wsState = 'closed';
    render();
  });
  ws.on('message', (raw) => {
    let env: Envelope;
    try {
      env = JSON.parse(String(raw)) as Envelope;
    } catch {
      return;
    }
    if (!env.event_type || (env.session_id && env.session_id !== sessionId)) return;
    const d = env.data ?? {};
    if (env.event_type === 'pipeline_progress') {
      events++;
      total = Math.max(total, num(d.total_progress_percent) ?? total);
      // A phase is done on its phase_complete (or GET /status saying so), which carries the duration.
      update(str(d.phase), { progress: num(d.progress_percent) ?? undefined, state: 'running' });
      setStatus(str(d.status));
    } else if (env.event_type === 'phase_complete') {
      events++;
      const ok = d.success !== false;
      update(str(d.phase), { progress: ok ? 100 : undefined, state: ok ? 'done' : 'failed', duration: num(d.duration_seconds) });
    } else if (env.event_type === 'error') {
      events++;
      t.line(t.red(`  error event: ${str(d.error_code) ?? ''} ${str(d.error_message) ?? ''}`));
    } else {
      events++;
    }
    render();
  });

  const statusUrl = `${entryUrl}/api/v1/pipeline/status/${sessionId}`;
  const applyStatus = (body: Record<string, unknown>): void => {
    total = Math.max(total, num(body.total_progress_percent) ?? 0);
    const metrics = Array.isArray(body.phase_metrics) ? (body.phase_metrics as Record<string, unknown>[]) : [];
    for (const m of metrics) {
      const st = str(m.status);
      const state = st === 'completed' ? 'done' : st === 'failed' ? 'failed' : st === 'running' ? 'running' : undefined;
      update(str(m.phase), {
        progress: num(m.progress_percent) ?? undefined,
        ...(state ? { state } : {}),
        duration: state === 'done' ? num(m.duration_seconds) : null,
      });
    }
    setStatus(str(body.status));
    render();
  };
  const poll = setInterval(() => {
    getJson(statusUrl, { headers: auth })
      .then((r) => {
        if (r.status === 200 && r.body && typeof r.body === 'object') applyStatus(r.body as Record<string, unknown>);
      })
      .catch(() => {});
  }, 1_000);
  render();

  const timeoutMs = opts.timeoutMs ?? 120_000;
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    finished.then(() => 'done' as const),
    new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    }),
    (opts.aborted ?? new Promise<never>(() => {})).then(() => 'aborted' as const),
  ]);
  clearTimeout(timer);
  clearInterval(poll);
  ws.removeAllListeners('close');
  ws.on('error', () => {});
  ws.close();
  if (outcome === 'aborted') {
    t.endLive();
    return false;
  }

  // The final word comes from GET /status (after a last redraw with it).
  const final = await getJson(statusUrl, { headers: auth }).catch((err: unknown) => ({ status: 0, body: String(err) }));
  if (final.status === 200 && final.body && typeof final.body === 'object') applyStatus(final.body as Record<string, unknown>);
  t.endLive();
  if (outcome === 'timeout') {
    t.line(t.yellow(`  still ${status} after ${Math.round(timeoutMs / 1000)} s; stopped following. Check: curl -s ${statusUrl}`));
    return false;
  }
  if (final.status !== 200 || !final.body || typeof final.body !== 'object') {
    t.line(t.red(`  GET ${statusUrl} answered ${final.status}: ${JSON.stringify(final.body)}`));
    return false;
  }
  printSummary(t, final.body as Record<string, unknown>, events, statusUrl, Boolean(opts.token));
  return str((final.body as Record<string, unknown>).status) === 'completed';
}

function printSummary(t: Terminal, body: Record<string, unknown>, events: number, statusUrl: string, withToken = false): void {
  const status = str(body.status) ?? '?';
  const paint = status === 'completed' ? t.green.bind(t) : t.red.bind(t);
  const elapsed = num(body.elapsed_seconds);
  t.line();
  t.line(`  Final status (GET /api/v1/pipeline/status): ${paint(t.bold(status))}${elapsed !== null ? ` in ${elapsed.toFixed(1)} s` : ''}, total ${Math.round(num(body.total_progress_percent) ?? 0)}%`);
  const metrics = Array.isArray(body.phase_metrics) ? (body.phase_metrics as Record<string, unknown>[]) : [];
  for (const m of metrics) {
    const duration = num(m.duration_seconds);
    const error = str(m.error_message);
    t.line(
      `    ${String(m.phase).padEnd(10)} ${String(m.status ?? '').padEnd(10)} ${pct(num(m.progress_percent) ?? 0)}  ${duration !== null ? `${duration.toFixed(2)} s` : ''}${error ? `  ${t.red(error)}` : ''}`,
    );
    const custom = (m.custom_metrics ?? {}) as Record<string, unknown>;
    const shown = HEADLINE_METRICS.filter((k) => typeof custom[k] === 'number' || typeof custom[k] === 'string')
      .slice(0, 4)
      .map((k) => `${k} ${typeof custom[k] === 'number' ? Number((custom[k] as number).toPrecision(4)) : String(custom[k])}`);
    if (shown.length > 0) t.line(t.dim(`               ${shown.join(' · ')}`));
  }
  const completed = Array.isArray(body.phases_completed) ? body.phases_completed.join(', ') : '';
  t.line(`    phases completed: ${completed || 'none'} · ${events} events received live over the WebSocket`);
  t.line(t.dim(`    again: curl -s${withToken ? ' -H "Authorization: Bearer $(cat .agent-forge/dev-token)"' : ''} ${statusUrl}`));
}
