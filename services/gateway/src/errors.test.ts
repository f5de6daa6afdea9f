import request from 'supertest';
import { z } from 'zod';
import { HttpError, InvalidTransitionError, NotFoundError, ValidationError, isRedisDownError, toHttpError, zodDetails } from './errors';
import { expectError } from './test-expect';
import { createTestGateway } from './test-support';

describe('error mapping', () => {
  it('names each bad field by its path', () => {
    const schema = z.object({ config: z.object({ training: z.object({ batch_size: z.int().min(1) }) }), phases: z.array(z.string()) });
    const r = schema.safeParse({ config: { training: { batch_size: -1 } }, phases: [1] });
    expect(r.success).toBe(false);
    const details = zodDetails(r.error!);
    expect(Object.keys(details).sort()).toEqual(['config.training.batch_size', 'phases.0']);
    expect(zodDetails(z.object({ a: z.string() }).safeParse('x').error!)).toEqual({ body: expect.any(String) });
  });

  it('maps typed errors, body-parser errors and Redis outages to contract codes', () => {
    expect(toHttpError(new NotFoundError('SESSION_NOT_FOUND', 'x'))).toMatchObject({ status: 404, code: 'SESSION_NOT_FOUND' });
    expect(toHttpError(new ValidationError({ a: 'b' }))).toMatchObject({ status: 422, code: 'VALIDATION_ERROR', details: { a: 'b' } });
    expect(toHttpError(new InvalidTransitionError('no', { current_status: 'paused', action: 'pause' }))).toMatchObject({ status: 400, code: 'INVALID_STATE_TRANSITION' });
    expect(toHttpError(Object.assign(new Error('x'), { type: 'entity.parse.failed' }))).toMatchObject({ status: 400, code: 'MALFORMED_JSON' });
    expect(toHttpError(Object.assign(new Error('x'), { type: 'entity.too.large' }))).toMatchObject({ status: 413, code: 'PAYLOAD_TOO_LARGE' });
    expect(toHttpError(Object.assign(new Error('x'), { type: 'charset.unsupported' }))).toMatchObject({ status: 415 });
    const down = toHttpError(Object.assign(new Error('Reached the max retries per request limit (which is 2).'), { name: 'MaxRetriesPerRequestError' }));
    expect(down).toMatchObject({ status: 503, code: 'UNAVAILABLE', headers: { 'Retry-After': '5' } });
    expect(isRedisDownError(new Error('Connection is closed.'))).toBe(true);
    expect(isRedisDownError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isRedisDownError(new Error('boom'))).toBe(false);
    expect(toHttpError(new TypeError('x is undefined'))).toBeNull();
    expect(new HttpError('RATE_LIMITED', 'slow down').status).toBe(429);
  });
});

describe('unexpected faults', () => {
  const gw = createTestGateway('gw-err');
  afterAll(() => gw.close());

  it('answer 500 INTERNAL_ERROR without internals', async () => {
    const id = (await request(gw.app).post('/api/v1/pipeline/start').send({ phases: ['cognate'] }).expect(200)).body.session_id;
    await gw.t.redis.hset(gw.t.keys.agents(id), 'a1', '{not json'); // corrupt data: a real server-side fault
    const res = await request(gw.app).get(`/api/v1/pipeline/status/${id}`);
    expectError(res, 500, 'INTERNAL_ERROR');
    expect(res.body.error).toBe('internal server error');
    expect(JSON.stringify(res.body)).not.toMatch(/JSON|token|position/i);
  });
});
