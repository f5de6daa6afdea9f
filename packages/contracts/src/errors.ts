import { z } from 'zod';

/**
 * The error catalogue: every error_code the service answers with, and its HTTP status.
 * Codes are stable; clients branch on them.
 */
export const ERROR_CATALOGUE = {
  VALIDATION_ERROR: 422,
  MALFORMED_JSON: 400,
  /** The HTTP request itself could not be parsed (answered before any route sees it). */
  MALFORMED_REQUEST: 400,
  REQUEST_TIMEOUT: 408,
  PAYLOAD_TOO_LARGE: 413,
  HEADERS_TOO_LARGE: 431,
  INVALID_STATE_TRANSITION: 400,
  SESSION_NOT_FOUND: 404,
  CHECKPOINT_NOT_FOUND: 404,
  PRESET_NOT_FOUND: 404,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  UNSUPPORTED_MEDIA_TYPE: 415,
  UPGRADE_REQUIRED: 426,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  RATE_LIMITED: 429,
  UNAVAILABLE: 503,
  INTERNAL_ERROR: 500,
} as const;
export type ErrorCode = keyof typeof ERROR_CATALOGUE;
export const ErrorCodeSchema = z.enum(Object.keys(ERROR_CATALOGUE) as [ErrorCode, ...ErrorCode[]]);

/** Codes that only ever travel over WebSocket or inside phase results, never as an HTTP status. */
export const EVENT_ERROR_CODES = [
  'INVALID_MESSAGE',
  'UNKNOWN_MESSAGE_TYPE',
  'PHASE_FAILED',
  'PHASE_TIMEOUT',
  'HISTORY_GAP',
  'AGENT_MEMORY_LIMIT',
  'WORKER_LOST',
] as const;

/** Every non-2xx body. `detail` repeats `error` for clients written against FastAPI. */
export const ErrorBody = z.object({
  error: z.string(),
  error_code: z.string(),
  details: z.record(z.string(), z.unknown()).nullable(),
  timestamp: z.string(),
  detail: z.string(),
});
export type ErrorBody = z.infer<typeof ErrorBody>;

export function errorBody(
  code: string,
  message: string,
  details: Record<string, unknown> | null = null,
  now: Date = new Date(),
): ErrorBody {
  return { error: message, error_code: code, details, timestamp: now.toISOString(), detail: message };
}
