import type { IncomingMessage, ServerResponse } from 'node:http';
import { errorBody, type WsStatsResponse } from '@agent-forge/contracts';
import { serveMetrics } from '@agent-forge/runtime';
import { CLIENT_PAGE_CSP, CLIENT_PAGE_HTML } from './client-page';
import { channelFromPath, splitUrl } from './upgrade';

export interface HttpRouteDeps {
  stats(): WsStatsResponse;
  /** True when events can reach this replica (Redis subscription live). */
  ready(): boolean;
}

/** Seconds a client should wait before asking a not-ready replica again. */
const RETRY_AFTER_SECONDS = '1';

type Handler = (res: ServerResponse, deps: HttpRouteDeps) => void;

const ROUTES: Record<string, Handler> = {
  '/ws/stats': (res, deps) => sendJson(res, 200, deps.stats()),
  '/ws/client': (res) =>
    send(res, 200, CLIENT_PAGE_HTML, {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': CLIENT_PAGE_CSP,
      'x-content-type-options': 'nosniff',
    }),
  '/health': (res) => sendJson(res, 200, { status: 'ok' }),
  '/metrics': (res) => serveMetrics(res, res.req),
  '/ready': (res, deps) =>
    deps.ready()
      ? sendJson(res, 200, { status: 'ready' })
      : sendJson(res, 503, errorBody('UNAVAILABLE', 'not subscribed to the event channel yet'), {
          'retry-after': RETRY_AFTER_SECONDS,
        }),
};

/** The plain-HTTP side of the realtime service. Every answer is JSON except the client page. */
export function createHttpHandler(deps: HttpRouteDeps): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const path = splitUrl(req.url)?.path ?? null;
    const route = path === null ? undefined : ROUTES[path];
    const isWsChannel = path !== null && channelFromPath(path) !== null;
    if (!route && !isWsChannel) {
      sendJson(res, 404, errorBody('NOT_FOUND', `no route for ${req.method ?? 'GET'} ${path ?? '(invalid path)'}`));
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendJson(res, 405, errorBody('METHOD_NOT_ALLOWED', `${req.method ?? ''} is not allowed here; use GET`), {
        allow: 'GET, HEAD',
      });
      return;
    }
    if (route) {
      route(res, deps);
      return;
    }
    // A channel path reached without an Upgrade header: tell the client what it must do instead.
    sendJson(res, 426, errorBody('UPGRADE_REQUIRED', `${path} is a WebSocket endpoint; connect with a WebSocket client`), {
      upgrade: 'websocket',
      connection: 'Upgrade',
    });
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  send(res, status, JSON.stringify(body), { 'content-type': 'application/json; charset=utf-8', ...headers });
}

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string>): void {
  res.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
