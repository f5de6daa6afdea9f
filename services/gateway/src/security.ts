import { actorOf, can, credentialFrom, leastRoleFor, type Authenticator } from '@agent-forge/auth';
import { errorBody } from '@agent-forge/contracts';
import type { AuditOutcome } from '@agent-forge/state';
import type { Request, RequestHandler, Response } from 'express';
import type { Auditor } from './audit';
import { HttpError, toHttpError } from './errors';
import './http-types';
import type { RateLimits, RateState } from './rate-limit';
import type { RouteSpec } from './route-table';

export interface GuardDeps {
  auth: Authenticator;
  limits: RateLimits | null;
  auditor: Auditor;
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

function setRateHeaders(res: Response, state: RateState): void {
  res.setHeader('RateLimit-Limit', state.limit);
  res.setHeader('RateLimit-Remaining', Math.max(0, state.remaining));
  res.setHeader('RateLimit-Reset', state.resetSeconds);
  res.setHeader('RateLimit-Policy', state.policy);
}

/**
 * Hold the route's JSON answer (success or error: every answer of a read route is `res.json`)
 * until the rate-limit verdict is in: within budget, it goes out with the RateLimit headers; over
 * budget (or the limiter failed), the 429 (or the error) goes out instead of it.
 */
function answerAfter(res: Response, verdict: Promise<RateState>): void {
  verdict.catch(() => undefined); // handled below, when the answer is ready
  const json = res.json;
  res.json = function held(body: unknown) {
    res.json = json;
    verdict.then(
      (state) => {
        setRateHeaders(res, state);
        json.call(res, body);
      },
      (err: unknown) => {
        const http = toHttpError(err) ?? new HttpError('INTERNAL_ERROR', 'internal server error');
        for (const [name, value] of Object.entries(http.headers)) res.setHeader(name, value);
        res.locals.errorCode = http.code;
        json.call(res.status(http.status), errorBody(http.code, http.message, http.details));
      },
    );
    return res;
  };
}

function outcomeOf(status: number): AuditOutcome {
  if (status < 400) return 'success';
  return status === 401 || status === 403 ? 'denied' : 'failure';
}

/**
 * The one guard every non-public route runs (its row of the route table decides): authenticate
 * (JWT or API key), check the route's permission, spend the rate budget, and write the audit entry
 * once the answer is known (state-changing routes always; any route on 401/403).
 */
export function guard(spec: RouteSpec, deps: GuardDeps): RequestHandler {
  const permission = spec.access;
  /** Side-effect-free reads may run while their rate budget is being spent. */
  const overlap = spec.method === 'get' && spec.rate === 'read';
  const writeAudit = (req: Request, res: Response, status: number, code?: string): void => {
    if (!spec.audit && status !== 401 && status !== 403) return;
    const principal = req.principal;
    const errorCode = code ?? (typeof res.locals.errorCode === 'string' ? res.locals.errorCode : '');
    deps.auditor.record({
      actor: principal ? actorOf(principal) : '',
      tenant: principal?.tenant ?? '',
      action: status === 401 ? 'auth.failure' : spec.id,
      target: auditTarget(req, res),
      outcome: outcomeOf(status),
      status,
      request_id: req.id ?? '',
      ip: req.ip ?? '',
      // a failure's code, else what the route says happened (e.g. a control action and whether it was forced)
      reason: status === 401 ? (req.authFailure ?? errorCode) : errorCode || (typeof res.locals.auditReason === 'string' ? res.locals.auditReason : ''),
    });
  };
  const handler: RequestHandler & { routeSpec?: RouteSpec } = async (req, res, next) => {
    // State-changing routes are audited once the answer is known; on read routes only refusals
    // are, written right where they happen (no per-request listener on the hot read path).
    if (spec.audit) res.once('finish', () => writeAudit(req, res, res.statusCode));
    const ip = req.ip ?? 'unknown';
    const result = await deps.auth.authenticate(credentialFrom(req.headers));
    if (!result.ok) {
      req.authFailure = result.reason;
      if (!spec.audit) writeAudit(req, res, 401);
      // Failed attempts spend the caller's address budget: guessing keys gets a 429 soon.
      if (deps.limits && spec.rate) await deps.limits.consume(spec.rate, null, ip);
      throw new UnauthenticatedError(result.message);
    }
    const principal = result.principal;
    req.principal = principal;
    const allowed = permission === 'authenticated' || permission === 'public' || can(principal, permission);
    if (deps.limits && spec.rate) {
      if (overlap && allowed) {
        // A read: spend the budget while the handler reads (one Redis round trip on the critical
        // path instead of two); its answer waits for the verdict. Known-over-budget callers are
        // refused from memory before any read.
        const blocked = deps.limits.blocked(spec.rate, principal.actor, ip);
        if (blocked) throw blocked;
        answerAfter(res, deps.limits.consume(spec.rate, principal.actor, ip));
        next();
        return;
      }
      setRateHeaders(res, await deps.limits.consume(spec.rate, principal.actor, ip));
    }
    if (!allowed) {
      if (!spec.audit) writeAudit(req, res, 403, 'FORBIDDEN');
      throw new HttpError('FORBIDDEN', `this needs the ${permission} permission (role ${leastRoleFor(permission)} or above)`, { required_permission: permission });
    }
    next();
  };
  // Lets the route-table test check that every registered route starts with its own row's guard.
  handler.routeSpec = spec;
  return handler;
}
