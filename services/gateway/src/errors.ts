import { ERROR_CATALOGUE, errorBody, type ErrorCode } from '@agent-forge/contracts';
import type { Logger } from '@agent-forge/runtime';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { ServerResponse } from 'node:http';
import { z } from 'zod';

/** An error the client is told about: contract status, code, message and details. */
export class HttpError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Record<string, unknown> | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.status = ERROR_CATALOGUE[code];
  }
}

export type NotFoundCode = 'SESSION_NOT_FOUND' | 'CHECKPOINT_NOT_FOUND' | 'PRESET_NOT_FOUND' | 'NOT_FOUND';

export class NotFoundError extends HttpError {
  override readonly name = 'NotFoundError';
  constructor(code: NotFoundCode, message: string, details: Record<string, unknown> | null = null) {
    super(code, message, details);
  }
}

/** 422: `details` maps each bad field's path (`config.training.batch_size`) to what is wrong. */
export class ValidationError extends HttpError {
  override readonly name = 'ValidationError';
  constructor(details: Record<string, string>, message = 'request validation failed') {
    super('VALIDATION_ERROR', message, details);
  }
}

export class InvalidTransitionError extends HttpError {
  override readonly name = 'InvalidTransitionError';
  constructor(reason: string, details: { current_status: string; action: string }) {
    super('INVALID_STATE_TRANSITION', reason, details);
  }
}

export const RETRY_AFTER_SECONDS = 5;

export class UnavailableError extends HttpError {
  override readonly name = 'UnavailableError';
  constructor(message = 'a dependency (Redis) is unavailable; retry shortly') {
    super('UNAVAILABLE', message, null, { 'Retry-After': String(RETRY_AFTER_SECONDS) });
  }
}

/** zod issues → `{ "<field.path>": "<message>" }` (messages of one field joined). */
export function zodDetails(error: z.ZodError, prefix: string[] = []): Record<string, string> {
  const details: Record<string, string> = {};
  for (const issue of error.issues) {
    const path = [...prefix, ...issue.path.map(String)].join('.') || 'body';
    details[path] = details[path] ? `${details[path]}; ${issue.message}` : issue.message;
  }
  return details;
}

const REDIS_DOWN_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH']);
const REDIS_DOWN_MESSAGES = [
  'Connection is closed',
  "Stream isn't writeable",
  'Reached the max retries per request limit',
  'LOADING',
  'MASTERDOWN',
  'CLUSTERDOWN',
  'READONLY',
];

/** Is this a Redis/BullMQ connectivity failure (the dependency is down, not our bug)? */
export function isRedisDownError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err.name === 'MaxRetriesPerRequestError') return true;
  const code = (err as NodeJS.ErrnoException).code;
  if (code && REDIS_DOWN_CODES.has(code)) return true;
  return REDIS_DOWN_MESSAGES.some((m) => err.message.startsWith(m));
}

interface BodyParserError extends Error {
  type?: string;
  status?: number;
  statusCode?: number;
  expose?: boolean;
}

/** Turn anything thrown into the contract's error shape; logs server-side faults with the request id. */
export function toHttpError(err: unknown): HttpError | null {
  if (err instanceof HttpError) return err;
  if (err instanceof z.ZodError) return new ValidationError(zodDetails(err));
  const e = err as BodyParserError;
  switch (e?.type) {
    case 'entity.parse.failed':
      return new HttpError('MALFORMED_JSON', 'request body is not valid JSON');
    case 'entity.too.large':
      return new HttpError('PAYLOAD_TOO_LARGE', 'request body exceeds the size limit');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new HttpError('UNSUPPORTED_MEDIA_TYPE', e.message);
    case 'request.aborted':
    case 'request.size.invalid':
      return new HttpError('MALFORMED_JSON', 'request body could not be read');
    default:
      break;
  }
  if (isRedisDownError(err)) return new UnavailableError();
  // A path with broken percent-encoding (the router could not decode a parameter).
  if (err instanceof URIError || (e?.status === 400 && typeof e.message === 'string' && /decode/i.test(e.message))) {
    return new ValidationError({ path: 'not valid percent-encoding' }, 'the request path could not be decoded');
  }
  return null;
}

/**
 * What the client is told about anything thrown, in one place for every way an answer leaves
 * (Express's error handler, a read's held answer, the fast lane): the mapped HttpError, or a
 * 500 for what we do not know — logged server-side with the request id, never shown.
 */
export function resolveError(err: unknown, logger: Logger, reqId: string | undefined): HttpError {
  const http = toHttpError(err);
  if (!http) {
    logger.error({ err, req_id: reqId }, 'unhandled error');
    return new HttpError('INTERNAL_ERROR', 'internal server error');
  }
  if (http.status >= 500) logger.warn({ err, req_id: reqId, error_code: http.code }, 'dependency failure');
  return http;
}

/** The error's own headers (WWW-Authenticate, Retry-After, RateLimit-*). */
export function setErrorHeaders(res: ServerResponse, http: HttpError): void {
  for (const name in http.headers) res.setHeader(name, http.headers[name] as string);
}

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    const http = resolveError(err, logger, req.id);
    setErrorHeaders(res, http);
    res.locals.errorCode = http.code;
    res.status(http.status).json(errorBody(http.code, http.message, http.details));
  };
}

export const notFoundHandler: RequestHandler = (req) => {
  throw new NotFoundError('NOT_FOUND', `no route for ${req.method ?? 'GET'} ${req.path}`);
};
