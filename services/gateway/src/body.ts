import express, { type RequestHandler } from 'express';
import type { IncomingMessage } from 'node:http';
import { ValidationError } from './errors';

/**
 * JSON is parsed when the request says so (`application/json`, `*+json`) or says nothing, as
 * FastAPI did; any other content type is refused with a 422 naming the content type.
 */
export function isJsonRequest(req: IncomingMessage): boolean {
  const type = req.headers['content-type'];
  if (!type) return true;
  const mime = (type.split(';')[0] ?? '').trim().toLowerCase();
  return mime === 'application/json' || mime.endsWith('+json');
}

/** Deepest JSON nesting a body may have (config sections need a handful of levels). */
export const MAX_BODY_DEPTH = 32;

/**
 * Reject what no legitimate body needs and what would hurt us later: nesting past MAX_BODY_DEPTH
 * (recursive code further on — merges, serializers — must never overflow the stack) and
 * `__proto__` keys (an assignment with that key replaces an object's prototype). Iterative, so a
 * deep body cannot overflow this check either. Returns the path of the problem, or null.
 */
export function unsafeJson(value: unknown): { path: string; problem: string } | null {
  const stack: Array<{ v: unknown; depth: number; path: string }> = [{ v: value, depth: 0, path: '' }];
  while (stack.length > 0) {
    const { v, depth, path } = stack.pop() as { v: unknown; depth: number; path: string };
    if (typeof v !== 'object' || v === null) continue;
    if (depth >= MAX_BODY_DEPTH) return { path: path || 'body', problem: `nested deeper than ${MAX_BODY_DEPTH} levels` };
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) stack.push({ v: v[i], depth: depth + 1, path: path ? `${path}.${i}` : String(i) });
      continue;
    }
    for (const key of Object.keys(v)) {
      const at = path ? `${path}.${key}` : key;
      if (key === '__proto__') return { path: at, problem: 'the key "__proto__" is not allowed' };
      stack.push({ v: (v as Record<string, unknown>)[key], depth: depth + 1, path: at });
    }
  }
  return null;
}

/** The body parsing of routes that take one: JSON only, size-limited, then checked for safety. */
export function jsonBody(limitBytes: number): RequestHandler[] {
  const parse = express.json({ limit: limitBytes, strict: false, type: isJsonRequest });
  const check: RequestHandler = (req, _res, next) => {
    const hasBody = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
    if (req.body === undefined && hasBody && !isJsonRequest(req)) {
      const type = req.headers['content-type'] ?? '';
      throw new ValidationError({ body: `expected a JSON object sent as application/json, got ${type}` }, 'request body is not JSON');
    }
    const bad = unsafeJson(req.body);
    if (bad) throw new ValidationError({ [bad.path]: bad.problem }, 'request body rejected');
    next();
  };
  return [parse, check];
}
