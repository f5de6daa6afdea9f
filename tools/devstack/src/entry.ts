import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { errorBody } from '@agent-forge/contracts';
import httpProxy from 'http-proxy';

/**
 * The one entry URL of the local stack: `/ws` and `/ws/*` (plain HTTP such as /ws/client and
 * /ws/stats, and WebSocket upgrades) go to realtime; everything else (/api/*, /docs,
 * /openapi.json, /) goes to the gateway. A service that is down or breaks mid-answer becomes a
 * 503/502 in the contract's error shape; the proxy itself never crashes.
 */
export interface EntryTargets {
  /** e.g. http://127.0.0.1:8081 */
  gateway: string;
  /** e.g. http://127.0.0.1:8082 */
  realtime: string;
}

export type Upstream = keyof EntryTargets;

export function routeFor(url: string | undefined): Upstream {
  const pathname = (url ?? '/').split('?', 1)[0] ?? '/';
  return pathname === '/ws' || pathname.startsWith('/ws/') ? 'realtime' : 'gateway';
}

/** Upstream unreachable (503, try again soon) vs. broke while answering (502). */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ETIMEDOUT']);

export function proxyFailure(upstream: Upstream, err: NodeJS.ErrnoException): { status: number; body: string; headers: Record<string, string> } {
  const unreachable = UNREACHABLE.has(err.code ?? '');
  const status = unreachable ? 503 : 502;
  const message = unreachable
    ? `The ${upstream} service is not reachable; it may still be starting. Try again shortly.`
    : `The ${upstream} service failed to answer.`;
  const body = JSON.stringify(errorBody('UNAVAILABLE', message, { upstream, cause: err.code ?? 'ERROR' }));
  const headers: Record<string, string> = {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    'cache-control': 'no-store',
  };
  if (unreachable) headers['retry-after'] = '1';
  return { status, body, headers };
}

/** An HTTP response written on a raw socket (before any WebSocket upgrade happened). */
function writeRawResponse(socket: Duplex, status: number, body: string, headers: Record<string, string>): void {
  if (!socket.writable) return;
  const lines = [`HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), 'connection: close'];
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
}

export interface EntryServer {
  server: http.Server;
  /** Stop accepting, drop open HTTP keep-alive and WebSocket connections. */
  close(): Promise<void>;
}

export function createEntryServer(targets: EntryTargets): EntryServer {
  const proxy = httpProxy.createProxyServer({ xfwd: true });
  const upgraded = new WeakSet<Duplex>();
  const sockets = new Set<Duplex>();

  // Every call passes its own error callback; this only keeps a stray error from being thrown.
  proxy.on('error', () => {});
  proxy.on('proxyReqWs', (proxyReq, _req, socket) => {
    proxyReq.on('upgrade', () => upgraded.add(socket));
  });

  const server = http.createServer((req, res) => {
    const upstream = routeFor(req.url);
    proxy.web(req, res, { target: targets[upstream] }, (err) => {
      if (res.headersSent || res.writableEnded || res.destroyed) {
        res.destroy();
        return;
      }
      const failure = proxyFailure(upstream, err);
      res.writeHead(failure.status, failure.headers);
      res.end(failure.body);
    });
  });

  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    const upstream = routeFor(req.url);
    if (upstream !== 'realtime') {
      const body = JSON.stringify(errorBody('NOT_FOUND', `No WebSocket endpoint at ${(req.url ?? '/').split('?')[0]}; channels live under /ws/.`));
      writeRawResponse(socket, 404, body, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(body)) });
      return;
    }
    proxy.ws(req, socket, head, { target: targets.realtime }, (err) => {
      if (upgraded.has(socket)) return; // mid-conversation: http-proxy ends the socket
      const failure = proxyFailure(upstream, err);
      writeRawResponse(socket, failure.status, failure.body, failure.headers);
    });
  });

  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    else socket.destroy();
  });

  const close = async (): Promise<void> => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    for (const socket of sockets) socket.destroy();
    proxy.close();
    await closed;
  };
  return { server, close };
}

/** Listen on host:port; resolves with the bound address (port 0 picks a free one). */
export async function listen(server: http.Server, host: string, port: number): Promise<AddressInfo> {
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  return server.address() as AddressInfo;
}
