import type { StatusResponse, WsChannel } from '@agent-forge/contracts';
import type { AgentForgeClient } from './client';
import { AgentForgeError, ForbiddenError, NotFoundError, UnauthenticatedError } from './errors';
import type { LiveConnection, LiveState } from './live';
import { SessionTracker, type SessionView } from './tracker';

export interface FollowOptions {
  /** Called on every change (event, poll, clock tick) with the folded view. */
  onUpdate?: (view: SessionView, info: FollowInfo) => void;
  /** Channel to listen on (default `pipeline`; `dashboard` adds agent updates and metrics). */
  channel?: WsChannel;
  /** GET /status every this often besides the socket (default 1000 ms; 0 = only at start and end). */
  pollIntervalMs?: number;
  /** Redraw clock-derived figures (elapsed, ETA) this often (default 500 ms). */
  tickMs?: number;
  /** Stop following (the pipeline keeps running) when aborted. */
  signal?: AbortSignal;
  /** Give up after this long (default: no limit): rejects with FollowTimeoutError. */
  timeoutMs?: number;
  /** Also stop once the session is paused (resolves with that status). */
  untilPaused?: boolean;
}

export interface FollowInfo {
  /** The WebSocket's state (`open`, `reconnecting` …). */
  socket: LiveState;
  reconnects: number;
  /** The live connection (for its lastEventId/epoch). */
  live: LiveConnection;
}

export class FollowTimeoutError extends AgentForgeError {
  override name = 'FollowTimeoutError';
  constructor(
    readonly sessionId: string,
    readonly lastView: SessionView,
    timeoutMs: number,
  ) {
    super(`session ${sessionId} still ${lastView.status ?? 'unknown'} after ${Math.round(timeoutMs / 1000)} s`);
  }
}

/**
 * Follow a session to its end: a resuming WebSocket for the live events plus a GET /status poll
 * (so nothing is missed when the socket is down or an event came before it opened), folded into
 * one SessionView. Resolves with the final GET /status once the session is completed, failed or
 * cancelled (or paused with `untilPaused`).
 */
export async function followSession(client: AgentForgeClient, sessionId: string, opts: FollowOptions = {}): Promise<StatusResponse> {
  const tracker = new SessionTracker(sessionId);
  const live = client.live(opts.channel ?? 'pipeline', { sessionId });
  let socketState: LiveState = 'connecting';
  const info = (): FollowInfo => ({ socket: socketState, reconnects: live.reconnects, live });
  const update = (): void => opts.onUpdate?.(tracker.view, info());

  let settle: (outcome: { kind: 'done' } | { kind: 'error'; error: unknown }) => void = () => {};
  const settled = new Promise<{ kind: 'done' } | { kind: 'error'; error: unknown }>((resolve) => {
    settle = resolve;
  });
  const check = (): void => {
    if (tracker.terminal || (opts.untilPaused && tracker.view.status === 'paused')) settle({ kind: 'done' });
  };

  live.on('snapshot', (s) => {
    tracker.applySnapshot(s);
    update();
    check();
  });
  live.on('event', (e) => {
    tracker.applyEvent(e);
    update();
    check();
  });
  live.on('state', (state) => {
    socketState = state;
    update();
  });
  // A socket that cannot be used (e.g. 4401) is not fatal: the poll carries on.
  live.on('error', () => update());

  const poll = async (): Promise<void> => {
    try {
      tracker.applyStatus(await client.status(sessionId, { signal: opts.signal }));
      update();
      check();
    } catch (err) {
      // A session that is gone, or a credential that is not accepted, will not get better by waiting.
      if (err instanceof NotFoundError || err instanceof UnauthenticatedError || err instanceof ForbiddenError) settle({ kind: 'error', error: err });
      // transient failures: the next poll (or the socket) will do
    }
  };

  const timers: ReturnType<typeof setInterval>[] = [];
  const pollMs = opts.pollIntervalMs ?? 1000;
  if (pollMs > 0) timers.push(setInterval(() => void poll(), pollMs));
  timers.push(
    setInterval(() => {
      tracker.tick();
      update();
    }, opts.tickMs ?? 500),
  );
  let timeout: ReturnType<typeof setTimeout> | undefined;
  if (opts.timeoutMs !== undefined) timeout = setTimeout(() => settle({ kind: 'error', error: new FollowTimeoutError(sessionId, tracker.view, opts.timeoutMs ?? 0) }), opts.timeoutMs);
  const onAbort = (): void => settle({ kind: 'error', error: opts.signal?.reason ?? new AgentForgeError('aborted') });
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  if (opts.signal?.aborted) onAbort();

  // The first status right away (the socket's snapshot may come later, or never without realtime).
  try {
    tracker.applyStatus(await client.status(sessionId, { signal: opts.signal }));
    update();
    check();
  } catch (err) {
    settle({ kind: 'error', error: err });
  }

  const outcome = await settled;
  for (const t of timers) clearInterval(t);
  clearTimeout(timeout);
  opts.signal?.removeEventListener('abort', onAbort);
  live.close();
  if (outcome.kind === 'error') throw outcome.error;
  // The final word comes from GET /status.
  const final = await client.status(sessionId);
  tracker.applyStatus(final);
  update();
  return final;
}
