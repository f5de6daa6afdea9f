import { actorOf, can, credentialFrom, leastRoleFor, type Authenticator } from '@agent-forge/auth';
import { errorBody } from '@agent-forge/contracts';
import type { AuditOutcome } from '@agent-forge/state';
import type { Logger } from '@agent-forge/runtime';
import type { Request, RequestHandler, Response } from 'express';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Auditor } from './audit';
import { HttpError, resolveError, setErrorHeaders } from './errors';
import './http-types';
import type { RateLimits, RateState } from './rate-limit';
import type { RouteSpec } from './route-table';

export interface GuardDeps {
  auth: Authenticator;
  limits: RateLimits | null;
  auditor: Auditor;
  logger: Logger;
}

class UnauthenticatedError extends HttpError {
  constructor(message: string) {
    super('UNAUTHENTICATED', message, null, { 'WWW-Authenticate': 'Bearer realm="agent-forge"' });
  }
}

/** Who the audit entry names as the target: the id the call acted on. */
function auditTarget(req: Request, res: Response): string {
  const local = res.locals.auditTarget;
  if (typeof local === 'string' && local) return local;
  const params = req.params as Record<string, string | undefined>;
  const fromParams = params.session_id ?? params.checkpoint_id ?? params.key_id ?? params.name;
  if (fromParams) return fromParams.slice(0, 256);
  const body = req.body as Record<string, unknown> | undefined;
  const fromBody = body && typeof body === 'object' ? (body.session_id ?? body.preset_name) : undefined;
  return typeof fromBody === 'string' ? fromBody.slice(0, 256) : `${req.method} ${req.path}`.slice(0, 256);
}

function setRateHeaders(res: ServerResponse, state: RateState): void {
  res.setHeader('RateLimit-Limit', state.limit);
  res.setHeader('RateLimit-Remaining', Math.max(0, state.remaining));
  res.setHeader('RateLimit-Reset', state.resetSeconds);
  res.setHeader('RateLimit-Policy', state.policy);
}

function outcomeOf(status: number): AuditOutcome {
  if (status < 400) return 'success';
  return status === 401 || status === 403 ? 'denied' : 'failure';
}

/**
 * The access decision of one route-table row, independent of how the request arrived (Express's
 * router or the fast lane, see fast-lane.ts): both call the same `admit`, so authentication, the
 * row's permission, the rate budget and the audit of refusals cannot differ between them.
 */
export class RouteGuard {
  readonly permission: RouteSpec['access'];
  /** Side-effect-free reads may run while their rate budget is being spent. */
  readonly overlap: boolean;

  constructor(
    readonly spec: RouteSpec,
    private readonly deps: GuardDeps,
  ) {
    this.permission = spec.access;
    this.overlap = spec.method === 'get' && spec.rate === 'read';
  }

  /** The audit entry of an answer: state-changing routes always, any route on 401/403. */
  audit(req: IncomingMessage, ip: string | undefined, target: string, status: number, errorCode: string, reason: string): void {
    if (!this.spec.audit && status !== 401 && status !== 403) return;
    const principal = req.principal;
    this.deps.auditor.record({
      actor: principal ? actorOf(principal) : '',
      tenant: principal?.tenant ?? '',
      action: status === 401 ? 'auth.failure' : this.spec.id,
      target,
      outcome: outcomeOf(status),
      status,
      request_id: req.id ?? '',
      ip: ip ?? '',
      // a failure's code, else what the route says happened (e.g. a control action and whether it was forced)
      reason: status === 401 ? (req.authFailure ?? errorCode) : errorCode || reason,
    });
  }

  /**
   * Authenticate (JWT or API key), check the row's permission and spend its rate budget; a refusal
   * is thrown as an HttpError (401, 403, 429). Sets `req.principal`. A read's budget is not spent
   * yet: the caller calls `spend` when it starts reading (so the read and the spend share one Redis
   * round trip) and must await the verdict (see settleRate) before its answer goes out. Otherwise
   * null: the budget is already spent.
   */
  async admit(req: IncomingMessage, res: ServerResponse, ip: string | undefined, target: () => string): Promise<{ spend(): Promise<RateState> } | null> {
    const { spec, deps, permission } = this;
    const limitIp = ip ?? 'unknown';
    const result = await deps.auth.authenticate(credentialFrom(req.headers));
    if (!result.ok) {
      req.authFailure = result.reason;
      // Audited routes write their entry once the answer is known; the others right here.
      if (!spec.audit) this.audit(req, ip, target(), 401, '', '');
      // Failed attempts spend the caller's address budget: guessing keys gets a 429 soon.
      if (deps.limits && spec.rate) await deps.limits.consume(spec.rate, null, limitIp);
      throw new UnauthenticatedError(result.message);
    }
    const principal = result.principal;
    req.principal = principal;
    const allowed = permission === 'authenticated' || permission === 'public' || can(principal, permission);
    if (deps.limits && spec.rate) {
      if (this.overlap && allowed) {
        // Known-over-budget callers are refused from memory before any read.
        const { limits } = deps;
        const budget = spec.rate;
        const blocked = limits.blocked(budget, principal.actor, limitIp);
        if (blocked) throw blocked;
        return {
          spend: () => {
            const verdict = limits.consume(budget, principal.actor, limitIp);
            verdict.catch(() => undefined); // handled by settleRate, when the answer is ready
            return verdict;
          },
        };
      }
      setRateHeaders(res, await deps.limits.consume(spec.rate, principal.actor, limitIp));
    }
    if (!allowed) {
      if (!spec.audit) this.audit(req, ip, target(), 403, 'FORBIDDEN', '');
      throw new HttpError('FORBIDDEN', `this needs the ${permission} permission (role ${leastRoleFor(permission)} or above)`, { required_permission: permission });
    }
    return null;
  }

  /**
   * A read's rate verdict, once its answer is ready: within budget, the RateLimit headers are set
   * and null comes back (send the answer); over budget (or the limiter failed), the error to send
   * instead of the answer.
   */
  async settleRate(res: ServerResponse, verdict: Promise<RateState>, reqId: string | undefined): Promise<HttpError | null> {
    try {
      setRateHeaders(res, await verdict);
      return null;
    } catch (err) {
      return resolveError(err, this.deps.logger, reqId);
    }
  }
}

/**
 * Hold the route's JSON answer (success or error: every answer of a read route is `res.json`)
 * until the rate-limit verdict is in: within budget, it goes out with the RateLimit headers; over
 * budget (or the limiter failed), the 429 (or the error) goes out instead of it.
 */
function answerAfter(guard: RouteGuard, req: Request, res: Response, verdict: Promise<RateState>): void {
  const json = res.json;
  res.json = function held(body: unknown) {
    res.json = json;
    void guard.settleRate(res, verdict, req.id).then((refused) => {
      if (!refused) {
        json.call(res, body);
        return;
      }
      setErrorHeaders(res, refused);
      res.locals.errorCode = refused.code;
      json.call(res.status(refused.status), errorBody(refused.code, refused.message, refused.details));
    });
    return res;
  };
}

/**
 * The Express middleware of a non-public row (its guard runs first on the route): the row's
 * RouteGuard, plus the audit entry of state-changing routes once their answer is known.
 */
export function guard(routeGuard: RouteGuard): RequestHandler {
  const spec = routeGuard.spec;
  const handler: RequestHandler & { routeSpec?: RouteSpec } = async (req, res, next) => {
    // State-changing routes are audited once the answer is known; on read routes only refusals
    // are, written right where they happen (no per-request listener on the hot read path).
    if (spec.audit) {
      res.once('finish', () => {
        const errorCode = typeof res.locals.errorCode === 'string' ? res.locals.errorCode : '';
        const reason = typeof res.locals.auditReason === 'string' ? res.locals.auditReason : '';
        routeGuard.audit(req, req.ip, auditTarget(req, res), res.statusCode, errorCode, reason);
      });
    }
    const pending = await routeGuard.admit(req, res, req.ip, () => auditTarget(req, res));
    if (pending) answerAfter(routeGuard, req, res, pending.spend());
    next();
  };
  // Lets the route-table test check that every registered route starts with its own row's guard.
  handler.routeSpec = spec;
  return handler;
}
