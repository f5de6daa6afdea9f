import { errorBody } from '@agent-forge/contracts';
import { writeTogether, type Logger, type Redis } from '@agent-forge/runtime';
import type { Application } from 'express';
import type { IncomingMessage, ServerResponse } from 'node:http';
import proxyaddr from 'proxy-addr';
import { logAccess } from './access-log';
import type { NodeMiddleware } from './cors';
import { resolveError, setErrorHeaders, type HttpError } from './errors';
import './http-types';
import type { HttpMetrics } from './observability';
import { genReqId } from './request-id';
import type { ParamRead } from './routes/pipeline';
import { ROUTES, type RouteSpec } from './route-table';
import type { RouteGuard } from './security';
import { applyStaticHeaders, type RecordedHeaders } from './static-headers';

/**
 * The fast lane: the hot reads (route-table rows marked `fastLane`, e.g. GET /status/{id}) answered
 * on plain node:http, in front of Express, because Express's per-request work (prototype swaps,
 * the router's layer walk, `res.json`'s generality) was the floor of the status endpoint's cost.
 *
 * It is not a second implementation of anything a client can see: it runs the same RouteGuard as
 * the Express route (authentication, the row's permission, rate limit, audit of refusals), the
 * same read function (tenant scoping, 404s, projection), the same error mapping, helmet headers,
 * CORS middleware, request id, access-log line and HTTP metrics, in the same order. Only what it is
 * sure Express would route to the same row is taken; everything else — other methods (HEAD, OPTIONS
 * preflights), other paths, odd spellings (case, characters outside a plain path segment, broken
 * percent-encoding), conditional requests (Express may answer those 304) — falls through to the
 * Express app untouched.
 */
export interface FastLaneDeps {
  logger: Logger;
  /** The connection the guard's rate spends and the reads use. */
  redis: Redis;
  metrics: HttpMetrics;
  headers: RecordedHeaders;
  cors: NodeMiddleware | null;
  /** The RouteGuard of each guarded row: the very instances Express's routes run. */
  guards: ReadonlyMap<string, RouteGuard>;
  /** The read of each fast-lane row, by route id. */
  reads: Readonly<Record<string, ParamRead | undefined>>;
}

interface Lane {
  spec: RouteSpec;
  /** The path up to its parameter, e.g. `/api/v1/pipeline/status/`. */
  prefix: string;
  guard: RouteGuard;
  read: ParamRead;
}

/**
 * A path segment Express's router matches as this one parameter with no surprises: unreserved
 * characters and percent-escapes only (nothing parseurl or path-to-regexp would treat specially).
 */
const PLAIN_SEGMENT = /^[\w.~%-]+$/;

function lanesOf(deps: FastLaneDeps): Lane[] {
  const lanes: Lane[] = [];
  const rows = ROUTES as readonly RouteSpec[];
  for (const spec of rows) {
    if (!spec.fastLane) continue;
    const at = spec.path.indexOf(':');
    if (spec.method !== 'get' || at < 0 || spec.path.indexOf('/', at) >= 0 || spec.path.indexOf(':', at + 1) >= 0) {
      throw new Error(`fast-lane route ${spec.id} must be a GET whose path ends in its only parameter`);
    }
    const prefix = spec.path.slice(0, at);
    // Express tries rows in table order: no earlier row may claim these paths.
    const earlier = rows.slice(0, rows.indexOf(spec)).find((r) => (r.method === 'use' && prefix.startsWith(r.path)) || (r.method === 'get' && r.path.startsWith(prefix)));
    if (earlier) throw new Error(`fast-lane route ${spec.id} is shadowed by ${earlier.id}`);
    const guard = deps.guards.get(spec.id);
    const read = deps.reads[spec.id];
    if (!guard || !read) throw new Error(`fast-lane route ${spec.id} needs a guard and a read`);
    lanes.push({ spec, prefix, guard, read });
  }
  return lanes;
}

/** What Express's `res.json` sends for a GET (no ETag: the app disables it). */
function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}

function sendError(res: ServerResponse, http: HttpError): void {
  sendJson(res, http.status, errorBody(http.code, http.message, http.details));
}

const laneIp = (req: IncomingMessage): string | undefined => req.clientIp;

/**
 * Put the fast lane in front of `app`'s router: `app` (what main.ts serves and tests call) answers
 * the fast-lane rows itself and hands every other request to Express as before.
 */
export function installFastLane(app: Application, deps: FastLaneDeps): void {
  const lanes = lanesOf(deps);
  if (lanes.length === 0) return;
  const { logger, metrics, headers, cors, redis } = deps;
  // Express's own compiled TRUST_PROXY setting, so the client address is the one req.ip gives.
  const trust = app.get('trust proxy fn') as (addr: string, i: number) => boolean;
  const expressHandle = (app as unknown as { handle: ExpressHandle }).handle.bind(app);

  /** The lane and decoded parameter of a request Express would route to that lane's row, else null. */
  const match = (req: IncomingMessage): { lane: Lane; param: string } | null => {
    if (req.method !== 'GET') return null;
    const url = req.url ?? '';
    for (const lane of lanes) {
      if (!url.startsWith(lane.prefix)) continue;
      if (req.headers['if-none-match'] !== undefined || req.headers['if-modified-since'] !== undefined) return null;
      const q = url.indexOf('?', lane.prefix.length);
      let segment = url.slice(lane.prefix.length, q < 0 ? url.length : q);
      // Express is not strict about a trailing slash.
      if (segment.endsWith('/')) segment = segment.slice(0, -1);
      if (!PLAIN_SEGMENT.test(segment)) return null;
      try {
        return { lane, param: segment.includes('%') ? decodeURIComponent(segment) : segment };
      } catch {
        return null; // Express answers broken percent-encoding
      }
    }
    return null;
  };

  const answer = async (lane: Lane, param: string, req: IncomingMessage, res: ServerResponse): Promise<void> => {
    let failure: HttpError | null = null;
    let body: unknown;
    try {
      const pending = await lane.guard.admit(req, res, req.clientIp, () => param.slice(0, 256));
      const principal = req.principal as NonNullable<IncomingMessage['principal']>;
      // The rate spend and the read leave in one write to Redis (one syscall, answered together).
      const [verdict, reading] = writeTogether(redis, () => [pending?.spend() ?? null, lane.read(param, principal)] as const);
      try {
        body = await reading;
      } catch (err) {
        failure = resolveError(err, logger, req.id);
        setErrorHeaders(res, failure);
      }
      if (verdict) {
        const refused = await lane.guard.settleRate(res, verdict, req.id);
        if (refused) {
          failure = refused;
          setErrorHeaders(res, refused);
        }
      }
    } catch (err) {
      failure = resolveError(err, logger, req.id);
      setErrorHeaders(res, failure);
    }
    if (failure) sendError(res, failure);
    else sendJson(res, 200, body);
  };

  const serve = (lane: Lane, param: string, req: IncomingMessage, res: ServerResponse): void => {
    const started = performance.now();
    req.id = genReqId(req, res);
    applyStaticHeaders(res, headers);
    res.once('finish', () => {
      logAccess(logger, req, res.statusCode, req.url ?? '', started, laneIp);
      metrics.observe('GET', lane.spec.path, res.statusCode, started);
    });
    req.clientIp = proxyaddr(req, trust);
    const go = (): void => {
      answer(lane, param, req, res).catch((err: unknown) => {
        logger.error({ err, req_id: req.id }, 'fast lane failed');
        if (!res.headersSent) sendError(res, resolveError(err, logger, req.id));
        else res.destroy();
      });
    };
    if (cors) cors(req, res, go);
    else go();
  };

  (app as unknown as { handle: ExpressHandle }).handle = (req, res, next) => {
    const hit = match(req);
    if (hit) serve(hit.lane, hit.param, req, res);
    else expressHandle(req, res, next);
  };
}

type ExpressHandle = (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void) => void;
