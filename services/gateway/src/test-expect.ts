import type { Response } from 'supertest';

/** Assert a response is the contract's error shape with this status and code. */
export function expectError(res: Response, status: number, code: string): Record<string, unknown> {
  if (res.status !== status) throw new Error(`expected ${status} ${code}, got ${res.status}: ${JSON.stringify(res.body)}`);
  const body = res.body as Record<string, unknown>;
  expect(Object.keys(body).sort()).toEqual(['detail', 'details', 'error', 'error_code', 'timestamp']);
  expect(body.error_code).toBe(code);
  expect(typeof body.error).toBe('string');
  expect(body.detail).toBe(body.error);
  expect(body.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
  expect(body.details === null || typeof body.details === 'object').toBe(true);
  expect(JSON.stringify(body)).not.toMatch(/\bat .+\.(ts|js):\d+/); // never a stack trace
  return (body.details ?? {}) as Record<string, unknown>;
}
