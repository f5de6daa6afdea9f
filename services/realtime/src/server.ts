import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ClientMessage, WsStatsResponse } from '@agent-forge/contracts';
import { answerClientErrors, type Logger, type Redis } from '@agent-forge/runtime';
import { ConnectionQuota, EventReader, SessionStore, type Admission, type ConnectionLease, type Keys, type TenantScope } from '@agent-forge/state';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import type { RealtimeServerConfig } from './config';
import { CLOSE_TOO_MANY, Connection, type DropHandler, type OutboundLimits } from './connection';
import type { DashboardSource } from './dashboard-source';
import { EventRouter } from './event-router';
import { wsDropped, wsInboundDropped } from './metrics';
import { ConnectionHub } from './hub';
import { clientErrorFrame, parseClientFrame, pongFrame, type InboundError } from './protocol';
import { createHttpHandler } from './routes';
import { errorFrame, SessionSync } from './session-sync';
import { parseStreamId } from './stream-id';
import { Ticker } from './ticker';
import { parseUpgradeTarget, rejectUpgrade, type UpgradeTarget } from './upgrade';
import type { UpgradeAuthenticator, UpgradeFailure } from './auth';

export type AcceptedTarget = Extract<UpgradeTarget, { ok: true }>;
export type { UpgradeAuthenticator } from './auth';

export interface RealtimeServerDeps {
  /** Command connection (session state reads, stream reads, canary publishes). */
  redis: Redis;
  /** A dedicated connection: once it SUBSCRIBEs it can run nothing else. */
  subscriber: Redis;
  keys: Keys;
  logger: Logger;
  config: RealtimeServerConfig;
  /** Live session state for metrics/dashboard frames; defaults to reading Redis via `redis`. */
  dashboardSource?: DashboardSource;
  /**
   * Authentication on upgrade (required: `authOff` must be chosen explicitly). A refused upgrade
   * is completed and closed at once with 4401/4403, so browsers can read why.
   */
  authenticate: UpgradeAuthenticator;
  /** Serve HTTPS/WSS with this certificate and key (PEM); plain HTTP otherwise. */
  tls?: { cert: Buffer; key: Buffer } | null;
  /** Called for every refused upgrade (the audit log). */
  onAuthFailure?: (failure: UpgradeFailure) => void;
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
  const store = new SessionStore(deps.redis, deps.keys);
  const sync = new SessionSync({
    reader: new EventReader(deps.redis, deps.keys),
    snapshot: (sessionId, scope) => store.snapshot(sessionId, scope),
    logger,
  });
  const router = new EventRouter(deps.subscriber, deps.keys, hub, logger, {
    publisher: deps.redis,
    canaryIntervalMs: config.CANARY_INTERVAL_MS,
    onRestored,
  });
  const ticker = new Ticker({
    hub,
    source: deps.dashboardSource ?? store,
    config,
    logger,
    takeEventsRouted: () => router.takeEventsRouted(),
  });
  const limits: OutboundLimits = {
    maxBufferedBytes: config.WS_MAX_BUFFERED_BYTES,
    maxBufferedMessages: config.WS_MAX_BUFFERED_MESSAGES,
  };
  // maxPayload: a frame above the limit makes ws close that socket with 1009 (Message Too Big)
  // before buffering it; the 'error' it emits is handled per socket, so the server keeps serving.
  // No compression: frames are small and deflate per socket would cost CPU on every fan-out.
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: config.WS_MAX_PAYLOAD_BYTES,
    perMessageDeflate: false,
    clientTracking: false,
  });
  /** Open sockets per peer address (WS_MAX_CONNECTIONS_PER_IP). */
  const perIp = new Map<string, number>();
  /** Open sockets per tenant across all replicas (WS_MAX_CONNECTIONS_PER_TENANT), leased in Redis. */
  const quota = new ConnectionQuota(deps.redis, deps.keys, randomBytes(8).toString('hex'), config.WS_CONNECTION_LEASE_MS);
  let leaseRenewal: NodeJS.Timeout | undefined;
  let closing = false;
  let heartbeat: NodeJS.Timeout | undefined;
  const ready = () => !closing && router.ready;

  const handler = createHttpHandler({ stats: () => hub.stats(), ready });
  const server: http.Server = deps.tls ? https.createServer(deps.tls, handler) : http.createServer(handler);
  answerClientErrors(server, logger);

  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    // A client that resets mid-handshake must not become an unhandled 'error'.
    socket.on('error', (err) => logger.debug({ err: err.message }, 'upgrade socket error'));
    upgrade(req, socket, head).catch((err: unknown) => {
      logger.error({ err }, 'upgrade failed');
      rejectUpgrade(socket, 503, 'UNAVAILABLE', 'the upgrade could not be completed', null, { 'Retry-After': '1' });
    });
  });

  /** Refuse early and cheaply; each step may answer with the contract's error body. */
  async function upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    if (closing) {
      rejectUpgrade(socket, 503, 'UNAVAILABLE', 'this replica is shutting down', null, { 'Retry-After': '1' });
      return;
    }
    const target = parseUpgradeTarget(req);
    if (!target.ok) {
      rejectUpgrade(socket, target.status, target.code, target.message, target.details ?? null);
      return;
    }
    const ip = req.socket.remoteAddress ?? 'unknown';
    const verdict = await deps.authenticate(req, target);
    if (socket.destroyed) return;
    if (!verdict.ok) {
      deps.onAuthFailure?.({
        code: verdict.code,
        reason: verdict.reason,
        ip,
        sessionId: target.sessionId,
        actor: verdict.principal?.actor ?? '',
        tenant: verdict.principal?.tenant ?? '',
      });
      logger.info({ code: verdict.code, reason: verdict.reason, ip, channel: target.channel }, 'websocket refused');
      wss.handleUpgrade(req, socket, head, (ws) => {
        ws.on('error', () => undefined);
        ws.close(verdict.code, verdict.message);
      });
      return;
    }
    const scope = verdict.principal.scope;
    const admission = await admitForTenant(verdict.principal.tenant);
    if (socket.destroyed) {
      if (admission?.admitted) releaseLease(admission.lease);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      if (admission && !admission.admitted) {
        ws.on('error', () => undefined);
        logger.info({ tenant: verdict.principal.tenant, open: admission.open, ip }, 'websocket refused: tenant connection limit');
        ws.close(CLOSE_TOO_MANY, 'too many connections for this tenant');
        return;
      }
      accept(ws, target, ip, scope, admission?.lease ?? null, socket);
    });
  }

  /**
   * A lease for one more connection of the tenant, or a refusal at the limit. When Redis cannot
   * be asked, the connection is let in (null): readiness already reports the outage, and refusing
   * every client would turn a Redis blip into an outage of the live view.
   */
  async function admitForTenant(tenant: string): Promise<Admission | null> {
    try {
      return await quota.admit(tenant, randomUUID(), config.WS_MAX_CONNECTIONS_PER_TENANT);
    } catch (err) {
      logger.warn({ err, tenant }, 'tenant connection quota unavailable; connection admitted uncounted');
      return null;
    }
  }

  function releaseLease(lease: ConnectionLease): void {
    quota.release(lease).catch((err: unknown) => logger.warn({ err, tenant: lease.tenant }, 'could not release a connection lease; it lapses by itself'));
  }

  function accept(socket: WebSocket, target: AcceptedTarget, ip: string, scope: TenantScope, lease: ConnectionLease | null, transport: Duplex): void {
    const { channel, sessionId } = target;
    socket.on('error', (err: Error & { code?: string }) => {
      // ws reports protocol violations (e.g. WS_ERR_UNSUPPORTED_MESSAGE_LENGTH for oversize frames)
      // here and closes the socket itself; the listener keeps the error from crashing the process.
      logger.debug({ err: err.message, code: err.code, channel, session_id: sessionId }, 'websocket error');
    });
    const open = perIp.get(ip) ?? 0;
    if (open >= config.WS_MAX_CONNECTIONS_PER_IP) {
      // Closed right after the upgrade (not refused with 429) so that browsers, which cannot read
      // the status of a failed upgrade, see the reason in the close code.
      socket.close(CLOSE_TOO_MANY, 'too many connections');
      if (lease) releaseLease(lease);
      return;
    }
    perIp.set(ip, open + 1);
    const connection = new Connection(socket, channel, sessionId, ip, limits, onDrop, transport);
    connection.scope = scope;
    connection.lease = lease;
    hub.add(connection);
    socket.on('pong', () => {
      connection.alive = true;
    });
    socket.on('message', (data: RawData, isBinary: boolean) => onClientFrame(connection, data, isBinary));
    socket.on('close', () => {
      connection.dispose();
      hub.remove(connection);
      const left = (perIp.get(ip) ?? 1) - 1;
      if (left > 0) perIp.set(ip, left);
      else perIp.delete(ip);
      if (lease) releaseLease(lease);
    });
    logger.debug({ channel, session_id: sessionId, connections: hub.size }, 'websocket connected');
    if (sessionId !== null) {
      // Before its first live event, a session subscriber gets the snapshot or the replay it asked for.
      void (target.resume ? sync.resume(connection, target.resume) : sync.subscribe(connection));
    }
  }

  /** A socket we gave up on (slow consumer, too many frames, no history): out of the index at once. */
  const onDrop: DropHandler = (connection, code, reason) => {
    hub.remove(connection);
    wsDropped().inc({ code: String(code) });
    logger.warn(
      { channel: connection.channel, session_id: connection.sessionId, ip: connection.ip, code, reason, buffered: connection.socket.bufferedAmount },
      'closing websocket',
    );
  };

  function onClientFrame(connection: Connection, data: RawData, isBinary: boolean): void {
    connection.alive = true;
    const verdict = connection.admitInbound(config.WS_MAX_FRAMES_PER_SECOND);
    if (verdict === 'close') {
      connection.drop(CLOSE_TOO_MANY, 'too many frames');
      return;
    }
    if (verdict !== 'ok') {
      wsInboundDropped().inc();
      if (verdict === 'warn') {
        const message = `more than ${config.WS_MAX_FRAMES_PER_SECOND} frames per second; frames are dropped, and the socket closed (4429) if this goes on`;
        connection.reply(clientErrorFrame({ code: 'RATE_LIMITED', message }));
      }
      return;
    }
    const inbound = parseClientFrame(data, isBinary);
    if (inbound.kind === 'error') {
      connection.reply(clientErrorFrame(inbound));
      return;
    }
    const message: ClientMessage = inbound.message;
    switch (message.type) {
      case 'ping':
        connection.reply(pongFrame());
        return;
      case 'resume':
        onResume(connection, message);
        return;
    }
  }

  function onResume(connection: Connection, message: Extract<ClientMessage, { type: 'resume' }>): void {
    const invalid = (text: string) => connection.reply(clientErrorFrame({ code: 'INVALID_MESSAGE', message: text } satisfies Omit<InboundError, 'kind'>));
    if (connection.sessionId === null) {
      invalid('resume: this socket has no session filter; connect with ?session_id= (and &last_event_id=)');
      return;
    }
    if (message.session_id !== undefined && message.session_id !== connection.sessionId) {
      invalid("resume: session_id is not this socket's ?session_id= filter");
      return;
    }
    const lastEventId = parseStreamId(message.last_event_id);
    if (lastEventId === null) {
      invalid('resume: last_event_id is out of range');
      return;
    }
    void sync.resume(connection, { lastEventId, epoch: message.epoch ?? null });
  }

  /**
   * The subscription was interrupted: live events of that time never reached this replica.
   * Session sockets are brought up to date from the streams (no gap); unfiltered sockets cannot
   * be (they span every session), so they are told instead of silently missing events.
   */
  function onRestored(since: number): void {
    const missedMs = Date.now() - since;
    for (const connection of [...hub.filteredConnections()]) void sync.resync(connection);
    const notice = errorFrame(
      null,
      'HISTORY_GAP',
      `this replica's event subscription was interrupted for about ${missedMs} ms; events of that time were not delivered here. Reload the state you show (GET /status), or watch one session with ?session_id= to have missed events replayed`,
    );
    for (const connection of hub.unfilteredConnections()) connection.reply(notice);
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

  /** Keep this replica's connections counted against their tenants (leases lapse otherwise). */
  function renewLeases(): void {
    const leases: ConnectionLease[] = [];
    for (const connection of hub.connections()) if (connection.lease) leases.push(connection.lease);
    if (leases.length === 0) return;
    quota.renew(leases).catch((err: unknown) => logger.warn({ err, leases: leases.length }, 'could not renew connection leases'));
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
    leaseRenewal = setInterval(renewLeases, Math.floor(config.WS_CONNECTION_LEASE_MS / 3));
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
    clearInterval(leaseRenewal);
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
