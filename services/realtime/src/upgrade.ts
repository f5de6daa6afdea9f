import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { errorBody, StreamEpoch, WsChannel } from '@agent-forge/contracts';
import type { ResumePoint } from './session-sync';
import { parseStreamId } from './stream-id';

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

export type UpgradeRefusal = { ok: false; status: number; code: string; message: string; details?: Record<string, unknown> };
export type UpgradeTarget =
  | {
      ok: true;
      channel: WsChannel;
      sessionId: string | null;
      /** `?last_event_id=` (and `&epoch=`): replay from there instead of starting with a snapshot. */
      resume: ResumePoint | null;
    }
  | UpgradeRefusal;

function invalidQuery(field: string, message: string, expected: string): UpgradeRefusal {
  return { ok: false, status: 422, code: 'VALIDATION_ERROR', message, details: { [field]: expected } };
}

/**
 * Which channel, session filter and resume point an upgrade request asks for. An empty
 * `session_id` means none; `last_event_id` needs a `session_id` (a stream is per session).
 */
export function parseUpgradeTarget(req: IncomingMessage): UpgradeTarget {
  const url = splitUrl(req.url);
  const channel = url ? channelFromPath(url.path) : null;
  if (!url || !channel) {
    return { ok: false, status: 404, code: 'NOT_FOUND', message: `no WebSocket endpoint at ${url?.path ?? '(invalid path)'}` };
  }
  const sessionId = url.query.get('session_id')?.trim() ?? '';
  const lastEventId = url.query.get('last_event_id')?.trim() ?? '';
  if (sessionId === '') {
    if (lastEventId !== '') {
      return invalidQuery('last_event_id', 'last_event_id needs a session_id', 'resume is per session: add ?session_id=');
    }
    return { ok: true, channel, sessionId: null, resume: null };
  }
  if (!SESSION_FILTER.test(sessionId)) {
    return invalidQuery('session_id', 'session_id is not a valid session id', 'expected 1-128 letters, digits, "-" or "_"');
  }
  if (lastEventId === '') return { ok: true, channel, sessionId, resume: null };
  const id = parseStreamId(lastEventId);
  if (id === null) {
    return invalidQuery('last_event_id', 'last_event_id is not a valid event id', 'expected the event_id of an earlier envelope, like "1700000000000-0"');
  }
  const epoch = url.query.get('epoch');
  if (epoch !== null && !StreamEpoch.safeParse(epoch).success) {
    return invalidQuery('epoch', 'epoch is not a valid epoch', 'expected the epoch of an earlier envelope (digits)');
  }
  return { ok: true, channel, sessionId, resume: { lastEventId: id, epoch } };
}

const REASONS: Record<number, string> = {
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  503: 'Service Unavailable',
};

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
