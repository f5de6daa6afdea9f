import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { errorBody, WsChannel } from '@agent-forge/contracts';

/** Session filters are UUIDs in practice; anything outside this shape cannot name a session. */
const SESSION_FILTER = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * Path (without trailing slash) and query of a request target. Parsed by hand rather than with
 * `new URL(target, base)`, which would read a target like `//host/x` as another host.
 */
export function splitUrl(target: string | undefined): { path: string; query: URLSearchParams } | null {
  const raw = target ?? '/';
  if (!raw.startsWith('/')) return null;
  const q = raw.indexOf('?');
  const rawPath = q >= 0 ? raw.slice(0, q) : raw;
  const path = rawPath.length > 1 ? rawPath.replace(/\/+$/, '') || '/' : rawPath;
  return { path, query: new URLSearchParams(q >= 0 ? raw.slice(q + 1) : '') };
}

/** `/ws/<channel>` → the channel; anything else → null. */
export function channelFromPath(path: string): WsChannel | null {
  if (!path.startsWith('/ws/')) return null;
  const parsed = WsChannel.safeParse(path.slice('/ws/'.length));
  return parsed.success ? parsed.data : null;
}

export type UpgradeTarget =
  | { ok: true; channel: WsChannel; sessionId: string | null }
  | { ok: false; status: number; code: string; message: string; details?: Record<string, unknown> };

/** Which channel and session filter an upgrade request asks for. An empty `session_id` means none. */
export function parseUpgradeTarget(req: IncomingMessage): UpgradeTarget {
  const url = splitUrl(req.url);
  const channel = url ? channelFromPath(url.path) : null;
  if (!url || !channel) {
    return { ok: false, status: 404, code: 'NOT_FOUND', message: `no WebSocket endpoint at ${url?.path ?? '(invalid path)'}` };
  }
  const sessionId = url.query.get('session_id')?.trim() ?? '';
  if (sessionId === '') return { ok: true, channel, sessionId: null };
  if (!SESSION_FILTER.test(sessionId)) {
    return {
      ok: false,
      status: 422,
      code: 'VALIDATION_ERROR',
      message: 'session_id is not a valid session id',
      details: { session_id: 'expected 1-128 letters, digits, "-" or "_"' },
    };
  }
  return { ok: true, channel, sessionId };
}

const REASONS: Record<number, string> = { 404: 'Not Found', 422: 'Unprocessable Entity', 503: 'Service Unavailable' };

/** Answer an upgrade request with a plain HTTP error (the contract's error body) and hang up. */
export function rejectUpgrade(
  socket: Duplex,
  status: number,
  code: string,
  message: string,
  details: Record<string, unknown> | null = null,
  extraHeaders: Record<string, string> = {},
): void {
  const body = JSON.stringify(errorBody(code, message, details));
  const headers = {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(body)),
    Connection: 'close',
    ...extraHeaders,
  };
  const head = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}`)
    .join('\r\n');
  if (socket.writable) socket.end(`HTTP/1.1 ${status} ${REASONS[status] ?? 'Error'}\r\n${head}\r\n\r\n${body}`);
  else socket.destroy();
}
