import type { ErrorBody, ErrorCode } from '@agent-forge/contracts';

/** Base of every error the SDK throws. */
export class AgentForgeError extends Error {
  override name = 'AgentForgeError';
}

/** Any code the server may answer with: the catalogue's, or a newer one this SDK does not know yet. */
export type AnyErrorCode = ErrorCode | (string & {});

/**
 * The server answered with a non-2xx status. Carries the contract's error body: `error_code`
 * (stable; branch on it), `status`, `details` (e.g. each bad field of a 422) and the request id.
 */
export class ApiError extends AgentForgeError {
  override name = 'ApiError';
  readonly status: number;
  readonly error_code: AnyErrorCode;
  readonly details: Record<string, unknown> | null;
  /** The parsed body when it had the contract's shape, else null. */
  readonly body: ErrorBody | null;
  readonly requestId: string | null;
  /** From `Retry-After` (429, 503), in seconds. */
  readonly retryAfterSeconds: number | null;
  readonly method: string;
  readonly url: string;

  constructor(init: {
    status: number;
    error_code: AnyErrorCode;
    message: string;
    details?: Record<string, unknown> | null;
    body?: ErrorBody | null;
    requestId?: string | null;
    retryAfterSeconds?: number | null;
    method: string;
    url: string;
  }) {
    super(init.message);
    this.status = init.status;
    this.error_code = init.error_code;
    this.details = init.details ?? null;
    this.body = init.body ?? null;
    this.requestId = init.requestId ?? null;
    this.retryAfterSeconds = init.retryAfterSeconds ?? null;
    this.method = init.method;
    this.url = init.url;
  }
}

/** 422 VALIDATION_ERROR: `details` maps each bad field (`config.training.batch_size`) to what is wrong. */
export class ValidationError extends ApiError {
  override name = 'ValidationError';
}
/** 400 MALFORMED_JSON, 413 PAYLOAD_TOO_LARGE, 415: the request itself was unreadable. */
export class BadRequestError extends ApiError {
  override name = 'BadRequestError';
}
/** 400 INVALID_STATE_TRANSITION: the action is not allowed in the session's status (`details.current_status`). */
export class InvalidStateTransitionError extends ApiError {
  override name = 'InvalidStateTransitionError';
}
/** 404: SESSION_NOT_FOUND, CHECKPOINT_NOT_FOUND, PRESET_NOT_FOUND or NOT_FOUND. */
export class NotFoundError extends ApiError {
  override name = 'NotFoundError';
}
/** 401 UNAUTHENTICATED: no, a bad, an expired or a revoked credential. */
export class UnauthenticatedError extends ApiError {
  override name = 'UnauthenticatedError';
}
/** 403 FORBIDDEN: the credential's roles do not allow this. */
export class ForbiddenError extends ApiError {
  override name = 'ForbiddenError';
}
/** 429 RATE_LIMITED (see `retryAfterSeconds`). */
export class RateLimitedError extends ApiError {
  override name = 'RateLimitedError';
}
/** 503 UNAVAILABLE and other 5xx (see `retryAfterSeconds`). */
export class UnavailableError extends ApiError {
  override name = 'UnavailableError';
}

/** The request never got an HTTP answer (connection refused, DNS, reset …). */
export class NetworkError extends AgentForgeError {
  override name = 'NetworkError';
  constructor(
    message: string,
    readonly url: string,
    override readonly cause?: unknown,
  ) {
    super(message);
  }
}

/** No answer within the client's timeout. */
export class TimeoutError extends NetworkError {
  override name = 'TimeoutError';
}

/** A WebSocket was closed by the server in a way that must not be retried (4401, 4403, 1009). */
export class LiveConnectionError extends AgentForgeError {
  override name = 'LiveConnectionError';
  constructor(
    message: string,
    readonly closeCode: number,
    readonly reason: string,
  ) {
    super(message);
  }
}

function isErrorBody(v: unknown): v is ErrorBody {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return typeof o.error === 'string' && typeof o.error_code === 'string';
}

const STATUS_CODES: Record<number, AnyErrorCode> = {
  400: 'MALFORMED_JSON',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  422: 'VALIDATION_ERROR',
  429: 'RATE_LIMITED',
  503: 'UNAVAILABLE',
};

/** Build the typed exception for a non-2xx answer. */
export function apiErrorFrom(init: {
  status: number;
  body: unknown;
  method: string;
  url: string;
  requestId?: string | null;
  retryAfter?: string | null;
}): ApiError {
  const body = isErrorBody(init.body) ? init.body : null;
  const code: AnyErrorCode = body?.error_code ?? STATUS_CODES[init.status] ?? (init.status >= 500 ? 'UNAVAILABLE' : 'HTTP_ERROR');
  const text = typeof init.body === 'string' && init.body.length > 0 ? init.body.slice(0, 200) : `HTTP ${init.status}`;
  const message = body?.error ?? text;
  const retry = init.retryAfter !== undefined && init.retryAfter !== null && /^\d+$/.test(init.retryAfter.trim()) ? Number(init.retryAfter) : null;
  const args = {
    status: init.status,
    error_code: code,
    message: `${init.method} ${init.url}: ${init.status} ${code}: ${message}`,
    details: body?.details ?? null,
    body,
    requestId: init.requestId ?? null,
    retryAfterSeconds: retry,
    method: init.method,
    url: init.url,
  };
  if (code === 'VALIDATION_ERROR') return new ValidationError(args);
  if (code === 'INVALID_STATE_TRANSITION') return new InvalidStateTransitionError(args);
  if (init.status === 404) return new NotFoundError(args);
  if (init.status === 401) return new UnauthenticatedError(args);
  if (init.status === 403) return new ForbiddenError(args);
  if (init.status === 429) return new RateLimitedError(args);
  if (init.status >= 500) return new UnavailableError(args);
  if (init.status === 400 || init.status === 413 || init.status === 415) return new BadRequestError(args);
  return new ApiError(args);
}
