import { formatDuration, formatPercent, headlineMetrics, isTerminal, progressBar, type SessionView, type StatusResponse } from '@agent-forge/sdk';

/** Where the CLI writes; tests pass their own. */
export interface Io {
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  env: NodeJS.ProcessEnv;
  cwd: string;
}

/**
 * A stream with colours and one "live" block redrawn in place on a TTY (the progress bars); lines
 * printed meanwhile go above it. Without a TTY there is no live block: callers print milestones.
 */
export class Terminal {
  readonly tty: boolean;
  readonly color: boolean;
  private live: string[] = [];

  constructor(
    private readonly out: NodeJS.WritableStream & { isTTY?: boolean },
    env: NodeJS.ProcessEnv,
    colorFlag = true,
  ) {
    this.tty = Boolean(out.isTTY) && env.TERM !== 'dumb';
    this.color = this.tty && colorFlag && !('NO_COLOR' in env);
  }

  line(text = ''): void {
    this.clearLive();
    this.out.write(`${text}\n`);
    this.drawLive();
  }

  setLive(lines: string[]): void {
    if (!this.tty) return;
    this.clearLive();
    this.live = lines;
    this.drawLive();
  }

  /** Leave the live block on screen as ordinary output. */
  endLive(): void {
    this.live = [];
  }

  paint(code: number, text: string): string {
    return this.color ? `\x1b[${code}m${text}\x1b[0m` : text;
  }
  bold = (t: string): string => this.paint(1, t);
  dim = (t: string): string => this.paint(2, t);
  red = (t: string): string => this.paint(31, t);
  green = (t: string): string => this.paint(32, t);
  yellow = (t: string): string => this.paint(33, t);
  cyan = (t: string): string => this.paint(36, t);

  status(status: string | null | undefined): string {
    const s = status ?? 'unknown';
    if (s === 'completed') return this.green(s);
    if (s === 'failed') return this.red(s);
    if (s === 'cancelled' || s === 'paused') return this.yellow(s);
    if (s === 'running' || s === 'initializing') return this.cyan(s);
    return s;
  }

  private clearLive(): void {
    if (this.live.length > 0) this.out.write(`\x1b[${this.live.length}F\x1b[0J`);
  }
  private drawLive(): void {
    if (this.live.length > 0) this.out.write(`${this.live.join('\n')}\n`);
  }
}

/** A plain text table (columns padded; the last one not). */
export function table(rows: string[][], header?: string[]): string[] {
  const all = header ? [header, ...rows] : rows;
  // eslint-disable-next-line no-control-regex
  const visible = (s: string): number => s.replace(/\x1b\[[0-9;]*m/g, '').length;
  const widths: number[] = [];
  for (const r of all) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, visible(c))));
  const fmt = (r: string[]): string =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c + ' '.repeat((widths[i] ?? 0) - visible(c))))
      .join('  ')
      .trimEnd();
  const out = all.map(fmt);
  if (header) out.splice(1, 0, widths.map((w) => '─'.repeat(w)).join('  '));
  return out;
}

const PHASE_MARK: Record<string, string> = { completed: '✓', failed: '✗', running: '›', paused: '‖', cancelled: '–', pending: ' ' };

/** The live block of `follow`: a bar per phase, the total with ETA, agents and socket state. */
export function liveLines(t: Terminal, v: SessionView, socket: string): string[] {
  const lines = v.phases.map((p) => {
    const mark = PHASE_MARK[p.status] ?? ' ';
    const paintMark = p.status === 'completed' ? t.green(mark) : p.status === 'failed' ? t.red(mark) : p.status === 'running' ? t.cyan(mark) : mark;
    const tail = p.status === 'completed' || p.status === 'failed' ? t.dim(formatDuration(p.duration_seconds)) : p.status === 'running' && p.message ? t.dim(p.message.slice(0, 48)) : t.dim(p.status);
    return `  ${paintMark} ${p.phase.padEnd(11)} ${progressBar(p.progress_percent)} ${formatPercent(p.progress_percent)}  ${tail}`;
  });
  const eta = isTerminal(v.status) ? '' : v.status === 'paused' ? ' · paused' : ` · ETA ${formatDuration(v.eta_seconds)}`;
  lines.push(`    ${'total'.padEnd(11)} ${progressBar(v.total_progress_percent)} ${formatPercent(v.total_progress_percent)}  ${t.status(v.status)} · ${formatDuration(v.elapsed_seconds)} elapsed${eta} · ${v.agent_count} agent${v.agent_count === 1 ? '' : 's'}`);
  lines.push(t.dim(`    ${v.events} events over WebSocket (${socket})`));
  return lines;
}

/** The summary table printed after `follow` and by `status`. */
export function summaryLines(t: Terminal, s: StatusResponse): string[] {
  const out: string[] = [];
  const eta = s.estimated_remaining_seconds !== null && s.status !== 'completed' ? ` · ETA ${formatDuration(s.estimated_remaining_seconds)}` : '';
  out.push(`Session ${t.bold(s.session_id)}: ${t.bold(t.status(s.status))} · ${Math.round(s.total_progress_percent)}% · ${formatDuration(s.elapsed_seconds)}${eta} · ${s.agent_count} agent${s.agent_count === 1 ? '' : 's'}${s.status_reason ? ` · ${s.status_reason}` : ''}`);
  const rows = s.phase_metrics.map((m) => [
    m.phase,
    t.status(m.status),
    formatPercent(m.progress_percent).trim(),
    m.status === 'pending' ? '—' : formatDuration(m.duration_seconds),
    m.error_message ? t.red(m.error_message) : headlineMetrics(m.custom_metrics, 3).map(([k, v]) => `${k} ${v}`).join(' · '),
  ]);
  out.push(...table(rows, ['phase', 'status', 'progress', 'duration', 'metrics']).map((l) => `  ${l}`));
  if (s.last_checkpoint) out.push(t.dim(`  last checkpoint ${s.last_checkpoint}`));
  return out;
}
