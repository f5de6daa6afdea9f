import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { WsChannel, WsStatsResponse } from '@agent-forge/contracts';
import type { Logger, Redis } from '@agent-forge/runtime';
import { SessionStore, type Keys } from '@agent-forge/state';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import type { RealtimeServerConfig } from './config';
import type { DashboardSource } from './dashboard-source';
import { EventRouter } from './event-router';
import { ConnectionHub, type Connection } from './hub';
import { clientErrorFrame, parseClientFrame, pongFrame } from './protocol';
import { createHttpHandler } from './routes';
import { Ticker } from './ticker';
import { parseUpgradeTarget, rejectUpgrade } from './upgrade';

export interface RealtimeServerDeps {
  /** Command connection (session state reads). */
  redis: Redis;
  /** A dedicated connection: once it SUBSCRIBEs it can run nothing else. */
  subscriber: Redis;
  keys: Keys;
  logger: Logger;
  config: RealtimeServerConfig;
  /** Live session state for metrics/dashboard frames; defaults to reading Redis via `redis`. */
  dashboardSource?: DashboardSource;
}

export interface RealtimeServer {
  server: http.Server;
  /** Listen, then subscribe; resolves once events can flow (HTTP answers /ready 503 until then). */
  listen(port: number, host: string): Promise<AddressInfo>;
  /** Stop accepting, close every socket with 1012 "service restart", unsubscribe. */
  close(): Promise<void>;
  stats(): WsStatsResponse;
  ready(): boolean;
}

/** WebSocket close code sent to clients when the replica goes away: reconnect (to another one). */
export const CLOSE_SERVICE_RESTART = 1012;
/** How long clients get to answer our close frame before their sockets are cut. */
const CLOSE_GRACE_MS = 1_000;

export function createRealtimeServer(deps: RealtimeServerDeps): RealtimeServer {
  const { config, logger } = deps;
  const hub = new ConnectionHub(logger);
  const router = new EventRouter(deps.subscriber, deps.keys, hub, logger);
  const ticker = new Ticker({
    hub,
    source: deps.dashboardSource ?? new SessionStore(deps.redis, deps.keys),
    config,
    logger,
    takeEventsRouted: () => router.takeEventsRouted(),
  });
  // maxPayload: a frame above the limit makes ws close that socket with 1009 (Message Too Big)
  // before buffering it; the 'error' it emits is handled per socket, so the server keeps serving.
  // No compression: frames are small and deflate per socket would cost CPU on every fan-out.
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: config.WS_MAX_PAYLOAD_BYTES,
    perMessageDeflate: false,
    clientTracking: false,
  });
  let closing = false;
  let heartbeat: NodeJS.Timeout | undefined;
  const ready = () => !closing && router.ready;

  const server = http.createServer(createHttpHandler({ stats: () => hub.stats(), ready }));

  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    // A client that resets mid-handshake must not become an unhandled 'error'.
    socket.on('error', (err) => logger.debug({ err: err.message }, 'upgrade socket error'));
    if (closing) {
      rejectUpgrade(socket, 503, 'UNAVAILABLE', 'this replica is shutting down', null, { 'Retry-After': '1' });
      return;
    }
    const target = parseUpgradeTarget(req);
    if (!target.ok) {
      rejectUpgrade(socket, target.status, target.code, target.message, target.details ?? null);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => accept(ws, target.channel, target.sessionId));
  });

  function accept(socket: WebSocket, channel: WsChannel, sessionId: string | null): void {
    const connection = hub.add(socket, channel, sessionId);
    socket.on('pong', () => {
      connection.alive = true;
    });
    socket.on('message', (data: RawData, isBinary: boolean) => onClientFrame(connection, data, isBinary));
    socket.on('error', (err: Error & { code?: string }) => {
      // ws reports protocol violations (e.g. WS_ERR_UNSUPPORTED_MESSAGE_LENGTH for oversize frames)
      // here and closes the socket itself; the listener keeps the error from crashing the process.
      logger.debug({ err: err.message, code: err.code, channel, session_id: sessionId }, 'websocket error');
    });
    socket.on('close', () => hub.remove(connection));
    logger.debug({ channel, session_id: sessionId, connections: hub.size }, 'websocket connected');
  }

  function onClientFrame(connection: Connection, data: RawData, isBinary: boolean): void {
    connection.alive = true;
    const inbound = parseClientFrame(data, isBinary);
    const reply = inbound.kind === 'message' ? pongFrame() : clientErrorFrame(inbound);
    if (connection.socket.readyState === WebSocket.OPEN) connection.socket.send(reply);
  }

  /** Protocol pings reap connections whose peer vanished without a FIN (NAT timeouts, dead hosts). */
  function beat(): void {
    for (const connection of hub.connections()) {
      if (!connection.alive) {
        connection.socket.terminate();
        continue;
      }
      connection.alive = false;
      if (connection.socket.readyState === WebSocket.OPEN) connection.socket.ping();
    }
  }

  async function listen(port: number, host: string): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    // Host metrics and heartbeats need no Redis: start them before (possibly) waiting for it.
    ticker.start();
    heartbeat = setInterval(beat, config.WS_HEARTBEAT_MS);
    await router.start();
    const address = server.address() as AddressInfo;
    logger.info({ host: address.address, port: address.port }, 'realtime listening');
    return address;
  }

  async function close(): Promise<void> {
    if (closing) return;
    closing = true;
    ticker.stop();
    clearInterval(heartbeat);
    const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
    await closeSockets([...hub.connections()].map((c) => c.socket));
    server.closeAllConnections();
    await router.stop();
    await withTimeout(stopped, CLOSE_GRACE_MS);
    wss.close();
    logger.info('realtime closed');
  }

  return { server, listen, close, stats: () => hub.stats(), ready };
}

/** Close with 1012 and give clients a short grace to answer; cut whatever is still open after it. */
async function closeSockets(sockets: WebSocket[]): Promise<void> {
  const closed = sockets.map(
    (socket) =>
      new Promise<void>((resolve) => {
        if (socket.readyState === WebSocket.CLOSED) return resolve();
        socket.once('close', () => resolve());
      }),
  );
  for (const socket of sockets) {
    if (socket.readyState === WebSocket.OPEN) socket.close(CLOSE_SERVICE_RESTART, 'service restart');
  }
  await withTimeout(Promise.all(closed), CLOSE_GRACE_MS);
  for (const socket of sockets) if (socket.readyState !== WebSocket.CLOSED) socket.terminate();
  await withTimeout(Promise.all(closed), CLOSE_GRACE_MS);
}

function withTimeout(promise: Promise<unknown>, ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    void promise.then(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
