import type {
  CheckpointLoadResponse,
  CheckpointResponse,
  CheckpointSaveInput,
  ConfigPresetResponse,
  ControlAction,
  ControlResponse,
  ExecutionHistory,
  HealthResponse,
  HistoryQueryInput,
  InfoResponse,
  PipelinePhase,
  PresetConfig,
  QualityGateResponse,
  StartPipelineInput,
  StartPipelineResponse,
  StatusResponse,
  SwarmStatus,
  WsChannel,
  WsStatsResponse,
} from '@agent-forge/contracts';
import { NetworkError, TimeoutError, apiErrorFrom } from './errors';
import { LiveConnection, type LiveOptions, type WebSocketFactory } from './live';
import { followSession, type FollowOptions } from './follow';

export const API_PREFIX = '/api/v1/pipeline';
export const DEFAULT_URL = 'http://127.0.0.1:8080';

/** A token, or a function asked before each request (e.g. read from a field or refreshed). */
export type TokenSource = string | null | undefined | (() => string | null | undefined);

export interface ClientOptions {
  /** The entry URL (REST under /api, WebSocket under /ws). Default: the page's origin in a browser, else http://127.0.0.1:8080. */
  baseUrl?: string;
  /** Sent as `Authorization: Bearer <token>` (REST) and as the WebSocket credential when set. */
  token?: TokenSource;
  /** fetch implementation (default: the global one). */
  fetch?: typeof fetch;
  /** Opens WebSockets (default: the global WebSocket with `?token=`; the Node entry passes `ws` with a header). */
  webSocket?: WebSocketFactory;
  /** Per-request timeout (default 30 s). */
  timeoutMs?: number;
  /** Retries of idempotent requests (GET) on 503/429/network errors, honouring Retry-After (default 2). */
  retries?: number;
  /** Extra headers on every request. */
  headers?: Record<string, string>;
}

export interface RequestOptions {
  signal?: AbortSignal;
  /** Override the client's timeout for this call. */
  timeoutMs?: number;
}

function defaultBaseUrl(): string {
  const loc = (globalThis as { location?: { origin?: string; protocol?: string } }).location;
  if (loc?.origin && /^https?:$/.test(loc.protocol ?? '')) return loc.origin;
  return DEFAULT_URL;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Typed client of every REST endpoint of Agent Forge, plus the WebSocket channels (`live`) and a
 * session follower (`follow`). Every method resolves with the contract's response type or throws
 * an `ApiError` subclass carrying `error_code`, `status` and `details`.
 */
export class AgentForgeClient {
  readonly baseUrl: string;
  private readonly fetchImpl: typeof fetch;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly extraHeaders: Record<string, string>;
  readonly webSocket: WebSocketFactory | undefined;
  private readonly tokenSource: TokenSource;

  constructor(opts: ClientOptions = {}) {
    this.baseUrl = (opts.baseUrl ?? defaultBaseUrl()).replace(/\/+$/, '');
    const f = opts.fetch ?? (globalThis as { fetch?: typeof fetch }).fetch;
    if (!f) throw new Error('no fetch implementation: pass `fetch` in the client options');
    this.fetchImpl = f.bind(globalThis);
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.retries = opts.retries ?? 2;
    this.extraHeaders = opts.headers ?? {};
    this.webSocket = opts.webSocket;
    this.tokenSource = opts.token;
  }

  /** The current token (null when none is configured). */
  token(): string | null {
    const t = typeof this.tokenSource === 'function' ? this.tokenSource() : this.tokenSource;
    return t && t.trim() ? t.trim() : null;
  }

  /** ws(s):// URL of a channel, with its query (no credential: the socket factory adds it). */
  wsUrl(channel: WsChannel, query: Record<string, string | undefined> = {}): string {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) q.set(k, v);
    const qs = q.toString();
    return `${this.baseUrl.replace(/^http/, 'ws')}/ws/${channel}${qs ? `?${qs}` : ''}`;
  }

  /** One HTTP call; JSON in and out; non-2xx → a typed ApiError. */
  async request<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown, opts: RequestOptions = {}): Promise<T> {
    const url = `${this.baseUrl}${path}`;
    const headers: Record<string, string> = { accept: 'application/json', ...this.extraHeaders };
    const token = this.token();
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const attempts = method === 'GET' ? this.retries + 1 : 1;
    for (let attempt = 1; ; attempt++) {
      const timeout = AbortSignal.timeout(opts.timeoutMs ?? this.timeoutMs);
      const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
      let res: Response;
      try {
        res = await this.fetchImpl(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal });
      } catch (err) {
        if (opts.signal?.aborted) throw opts.signal.reason;
        const timedOut = timeout.aborted;
        const e = timedOut
          ? new TimeoutError(`${method} ${url}: no answer within ${opts.timeoutMs ?? this.timeoutMs} ms`, url, err)
          : new NetworkError(`${method} ${url}: ${(err as Error)?.cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error)?.message ?? String(err)}`, url, err);
        if (attempt < attempts && !timedOut) {
          await sleep(200 * attempt, opts.signal);
          continue;
        }
        throw e;
      }
      const text = await res.text();
      let parsed: unknown = text;
      if (text.length > 0) {
        try {
          parsed = JSON.parse(text);
        } catch {
          // not JSON: keep the text (an HTML error page of a proxy, …)
        }
      }
      if (res.ok) return parsed as T;
      const error = apiErrorFrom({
        status: res.status,
        body: parsed,
        method,
        url,
        requestId: res.headers.get('x-request-id'),
        retryAfter: res.headers.get('retry-after'),
      });
      if (attempt < attempts && (res.status === 503 || res.status === 429)) {
        await sleep(Math.min(5_000, (error.retryAfterSeconds ?? 0) * 1000 || 250 * attempt), opts.signal);
        continue;
      }
      throw error;
    }
  }

  // ---- pipeline ------------------------------------------------------------------------------

  /** POST /start: `phases` or `preset`, plus config. Returns at once; the first phase is queued. */
  start(req: StartPipelineInput, opts?: RequestOptions): Promise<StartPipelineResponse> {
    return this.request('POST', `${API_PREFIX}/start`, req, opts);
  }

  /** POST /control. */
  control(sessionId: string, action: ControlAction, options: { force?: boolean } & RequestOptions = {}): Promise<ControlResponse> {
    const { force, ...opts } = options;
    return this.request('POST', `${API_PREFIX}/control`, { action, session_id: sessionId, ...(force !== undefined ? { force } : {}) }, opts);
  }
  pause(sessionId: string, opts?: RequestOptions): Promise<ControlResponse> {
    return this.control(sessionId, 'pause', opts);
  }
  resume(sessionId: string, opts?: RequestOptions): Promise<ControlResponse> {
    return this.control(sessionId, 'resume', opts);
  }
  /** Graceful: checkpoint (named `stop`), then end as `cancelled`. */
  stop(sessionId: string, opts?: RequestOptions): Promise<ControlResponse> {
    return this.control(sessionId, 'stop', opts);
  }
  /** Abort now; `force` ends the session even if its worker does not answer. */
  cancel(sessionId: string, options: { force?: boolean } & RequestOptions = {}): Promise<ControlResponse> {
    return this.control(sessionId, 'cancel', options);
  }

  /** GET /status/{id}. */
  status(sessionId: string, opts?: RequestOptions): Promise<StatusResponse> {
    return this.request('GET', `${API_PREFIX}/status/${encodeURIComponent(sessionId)}`, undefined, opts);
  }

  /** GET /swarm/{id}. */
  swarm(sessionId: string, opts?: RequestOptions): Promise<SwarmStatus> {
    return this.request('GET', `${API_PREFIX}/swarm/${encodeURIComponent(sessionId)}`, undefined, opts);
  }

  /** POST /quality-gates/{id}?phase= (default: the current phase, else the last). */
  qualityGates(sessionId: string, options: { phase?: PipelinePhase } & RequestOptions = {}): Promise<QualityGateResponse> {
    const { phase, ...opts } = options;
    const q = phase ? `?phase=${encodeURIComponent(phase)}` : '';
    return this.request('POST', `${API_PREFIX}/quality-gates/${encodeURIComponent(sessionId)}${q}`, undefined, opts);
  }

  /** GET /history?limit=&status=, newest first. */
  history(query: HistoryQueryInput = {}, opts?: RequestOptions): Promise<ExecutionHistory[]> {
    const q = new URLSearchParams();
    if (query.limit !== undefined) q.set('limit', String(query.limit));
    if (query.status !== undefined) q.set('status', query.status);
    const qs = q.toString();
    return this.request('GET', `${API_PREFIX}/history${qs ? `?${qs}` : ''}`, undefined, opts);
  }

  /** GET /health. */
  health(opts?: RequestOptions): Promise<HealthResponse> {
    return this.request('GET', `${API_PREFIX}/health`, undefined, opts);
  }

  /** GET /api/v1/info. */
  info(opts?: RequestOptions): Promise<InfoResponse> {
    return this.request('GET', '/api/v1/info', undefined, opts);
  }

  /** GET /openapi.json. */
  openApi(opts?: RequestOptions): Promise<Record<string, unknown>> {
    return this.request('GET', '/openapi.json', undefined, opts);
  }

  /** GET /ws/stats (realtime). */
  wsStats(opts?: RequestOptions): Promise<WsStatsResponse> {
    return this.request('GET', '/ws/stats', undefined, opts);
  }

  // ---- checkpoints ---------------------------------------------------------------------------

  /** POST /checkpoint/save. */
  saveCheckpoint(req: CheckpointSaveInput, opts?: RequestOptions): Promise<CheckpointResponse> {
    return this.request('POST', `${API_PREFIX}/checkpoint/save`, req, opts);
  }

  /** POST /checkpoint/load/{id}: continues the run (in a new session when the original is live: see `session_id`). */
  loadCheckpoint(checkpointId: string, opts?: RequestOptions): Promise<CheckpointLoadResponse> {
    return this.request('POST', `${API_PREFIX}/checkpoint/load/${encodeURIComponent(checkpointId)}`, undefined, opts);
  }

  /** GET /checkpoints/{session_id}, newest first. */
  checkpoints(sessionId: string, opts?: RequestOptions): Promise<CheckpointResponse[]> {
    return this.request('GET', `${API_PREFIX}/checkpoints/${encodeURIComponent(sessionId)}`, undefined, opts);
  }

  // ---- presets -------------------------------------------------------------------------------

  /** GET /presets: names. */
  presets(opts?: RequestOptions): Promise<string[]> {
    return this.request('GET', `${API_PREFIX}/presets`, undefined, opts);
  }

  /** GET /preset/{name}. */
  preset(name: string, opts?: RequestOptions): Promise<ConfigPresetResponse> {
    return this.request('GET', `${API_PREFIX}/preset/${encodeURIComponent(name)}`, undefined, opts);
  }

  /** POST /preset/save. */
  savePreset(name: string, config: PresetConfig, opts?: RequestOptions): Promise<ConfigPresetResponse> {
    return this.request('POST', `${API_PREFIX}/preset/save`, { preset_name: name, config }, opts);
  }

  // ---- live ----------------------------------------------------------------------------------

  /**
   * A WebSocket channel that reconnects by itself; with `sessionId` it resumes from the last event
   * id (no gap, no duplicate) and reloads from a snapshot on HISTORY_GAP.
   */
  live(channel: WsChannel, opts: Omit<LiveOptions, 'channel' | 'client'> = {}): LiveConnection {
    return new LiveConnection({ ...opts, channel, client: this });
  }

  /**
   * Follow a session until it ends: live events plus a status poll, folded into a SessionView the
   * callback gets on every change. Resolves with the final GET /status.
   */
  follow(sessionId: string, opts: FollowOptions = {}): Promise<StatusResponse> {
    return followSession(this, sessionId, opts);
  }
}
