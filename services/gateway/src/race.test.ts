import { CONTROL_TRANSITIONS, type ControlAction, type PipelineStatus } from '@agent-forge/contracts';
import { PhaseQueues } from '@agent-forge/engine';
import { createLogger } from '@agent-forge/runtime';
import { EventReader } from '@agent-forge/state';
import { Redis } from 'ioredis';
import type { Server } from 'node:http';
import request from 'supertest';
import { createGatewayApp } from './app';
import { loadConfig } from './config';
import { bullConnection, createTestGateway, testEnv, withDefaultToken } from './test-support';

/**
 * Two gateway replicas (own Redis connections and queues, one key prefix) receive concurrent
 * control actions for the same session. The Lua transition script is the only arbiter, so every
 * answer must be a success or a clean 400, and the recorded history must be a legal walk through
 * the transition table that stops at `cancelled`.
 */
const gw = createTestGateway('gw-race');
const logger = createLogger('gateway-test', 'silent');
const config = loadConfig({ REDIS_URL: gw.t.url, AF_KEY_PREFIX: gw.t.prefix, ...testEnv(gw.secret) });
const redisB = new Redis(gw.t.url, { maxRetriesPerRequest: 2 });
const queuesB = new PhaseQueues(bullConnection(gw.t.url), gw.t.keys);
const appB = withDefaultToken(createGatewayApp({ redis: redisB, keys: gw.t.keys, queues: queuesB, logger, config, startedAt: Date.now() }), () => gw.token());
const servers: Server[] = [];
const reader = new EventReader(gw.t.redis, gw.t.keys);
const P = '/api/v1/pipeline';

beforeAll(async () => {
  for (const app of [gw.app, appB]) {
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    servers.push(server);
  }
});
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  await queuesB.close();
  await redisB.quit();
  await gw.close();
});

/** Deterministic pseudo-random sequence (mulberry32), so a failure can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const legal = (from: PipelineStatus, to: PipelineStatus) =>
  (Object.values(CONTROL_TRANSITIONS) as { from: readonly PipelineStatus[]; to: PipelineStatus }[]).some((r) => r.from.includes(from) && r.to === to);

async function hammer(seed: number, count: number, weights: Partial<Record<ControlAction, number>>) {
  const started = await request(servers[0]!).post(`${P}/start`).send({ phases: ['cognate', 'evomerge'] }).expect(200);
  const id = started.body.session_id as string;
  const rnd = prng(seed);
  const table = Object.entries(weights) as [ControlAction, number][];
  const total = table.reduce((s, [, w]) => s + w, 0);
  const pick = (): ControlAction => {
    let x = rnd() * total;
    for (const [a, w] of table) if ((x -= w) < 0) return a;
    return table[table.length - 1]![0];
  };
  const plan = Array.from({ length: count }, (_, i) => ({ action: pick(), server: servers[i % 2]! }));
  const responses = await Promise.all(plan.map(({ action, server }) => request(server).post(`${P}/control`).send({ session_id: id, action })));

  const ok: ControlAction[] = [];
  responses.forEach((res, i) => {
    if (res.status === 200) {
      expect(res.body).toMatchObject({ status: 'success', action: plan[i]!.action, session_id: id });
      ok.push(plan[i]!.action);
    } else {
      expect({ status: res.status, code: res.body.error_code }).toEqual({ status: 400, code: 'INVALID_STATE_TRANSITION' });
      expect(res.body.details).toMatchObject({ action: plan[i]!.action });
    }
  });

  // One control event per successful action, each a legal step from the previous status.
  const events = (await reader.readAfter(id, '0', 10_000)).filter((e) => e.event_type === 'pipeline_progress');
  expect(events).toHaveLength(ok.length);
  let status: PipelineStatus = 'initializing';
  for (const e of events) {
    const next = e.data.status as PipelineStatus;
    expect({ from: status, to: next, legal: legal(status, next) }).toEqual({ from: status, to: next, legal: true });
    status = next;
  }
  const cancelledAt = events.findIndex((e) => e.data.status === 'cancelled');
  if (cancelledAt >= 0) expect(cancelledAt).toBe(events.length - 1); // nothing succeeded after cancel
  expect(ok.filter((a) => a === 'cancel')).toHaveLength(cancelledAt >= 0 ? 1 : 0);

  // Both replicas read the same final state, and it matches the recorded history.
  const [a, b] = await Promise.all(servers.map((s) => request(s).get(`${P}/status/${id}`).expect(200)));
  expect(a!.body.status).toBe(status);
  expect(b!.body.status).toBe(status);
  expect(['initializing', 'running', 'paused', 'cancelled']).toContain(status);
  const active = await gw.t.redis.sismember(gw.t.keys.active(), id);
  expect(active).toBe(status === 'cancelled' ? 0 : 1);
  return { ok, status };
}

describe('concurrent control through two replicas', () => {
  it('pause/resume/cancel × 200: only legal transitions, nothing after cancel', async () => {
    const r = await hammer(7, 200, { pause: 5, resume: 5, cancel: 1 });
    expect(r.ok.length).toBeGreaterThan(0);
  });

  it('pause/resume × 200 never loses or duplicates a transition', async () => {
    const r = await hammer(11, 200, { pause: 1, resume: 1 });
    // pauses and resumes strictly alternate: at most one more pause than resumes
    const pauses = r.ok.filter((a) => a === 'pause').length;
    const resumes = r.ok.filter((a) => a === 'resume').length;
    expect(pauses - resumes).toBe(r.status === 'paused' ? 1 : 0);
  });
});
