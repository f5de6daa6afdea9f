import type { z } from 'zod';
import { ValidationError, zodDetails } from './errors';

/**
 * Parse a value with a schema or throw a 422 whose details name each bad field. `prefix` roots the
 * paths (e.g. ['config'] so a nested failure reads `config.training.batch_size`).
 */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown, prefix: string[] = []): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new ValidationError(zodDetails(result.error, prefix));
}

/** A JSON request body must be an object: `[]`, `"x"` or `null` are 422, an absent body reads as `{}`. */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  if (body === undefined) return parseWith(schema, {});
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ValidationError({ body: 'expected a JSON object' });
  }
  return parseWith(schema, body);
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
