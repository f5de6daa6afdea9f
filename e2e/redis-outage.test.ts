import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Stack, freePort, waitFor, type RunningService } from './support/stack';

/**
 * Redis restarts during a run (with its data kept, AOF on): every service reconnects by itself;
 * meanwhile the gateway answers 503 UNAVAILABLE with Retry-After, readiness is false and liveness
 * true; nothing crashes; the pipeline completes afterwards.
 */
let redisPort: number;
let redisDir: string;
let redis: ChildProcess | null = null;

async function startRedis(): Promise<void> {
  redis = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--dir', redisDir], { stdio: 'ignore' });
  await waitFor(async () => fetchPing(), (ok) => ok, 10_000, 'redis up');
}
async function stopRedis(): Promise<void> {
  if (!redis) return;
  redis.kill('SIGTERM'); // redis writes its AOF and exits
  await once(redis, 'exit');
  redis = null;
}
async function fetchPing(): Promise<boolean> {
  const { Socket } = await import('node:net');
  return new Promise((resolve) => {
    const s = new Socket();
    s.once('error', () => resolve(false));
    s.connect(redisPort, '127.0.0.1', () => {
      s.write('PING\r\n');
      s.once('data', (d) => {
        s.destroy();
        resolve(d.toString().startsWith('+PONG'));
      });
    });
  });
}

let stack: Stack;
let gateway: RunningService;
let realtime: RunningService;
let worker: RunningService;

beforeAll(async () => {
  redisPort = await freePort();
  redisDir = mkdtempSync(path.join(os.tmpdir(), 'af-redis-outage-'));
  await startRedis();
  stack = new Stack('e2e-outage', `redis://127.0.0.1:${redisPort}`);
  [gateway, realtime, worker] = await Promise.all([stack.start('gateway'), stack.start('realtime'), stack.start('pipeline-worker')]);
}, 30_000);
afterAll(async () => {
  if (!redis) await startRedis(); // let the services and the cleanup finish against a live Redis
  await stack.stopAll();
  await stopRedis();
  rmSync(redisDir, { recursive: true, force: true });
});

it('answers 503 while Redis is down, recovers without help, and the run completes', async () => {
  const res = await fetch(`${gateway.url}/api/v1/pipeline/start`, {
    method: 'POST',
    headers: stack.headers(true),
    body: JSON.stringify({ phases: ['cognate', 'evomerge'], config: { dry_run: { steps: 10, step_ms: 150 } } }),
  });
  const id = ((await res.json()) as { session_id: string }).session_id;
  await waitFor(async () => (await (await fetch(`${gateway.url}/api/v1/pipeline/status/${id}`, { headers: stack.headers() })).json()) as any, (s) => s.total_progress_percent > 10, 10_000, 'running');

  await stopRedis();
  const down = await fetch(`${gateway.url}/api/v1/pipeline/status/${id}`, { headers: stack.headers() });
  expect(down.status).toBe(503);
  expect(down.headers.get('retry-after')).toBeTruthy();
  expect(await down.json()).toMatchObject({ error_code: 'UNAVAILABLE' });
  expect((await fetch(`${gateway.url}/health/ready`)).status).toBe(503);
  expect((await fetch(`${gateway.url}/health/live`)).status).toBe(200);
  expect((await fetch(`${realtime.url}/ready`)).status).toBe(503);
  expect((await fetch(`${worker.url}/health/ready`)).status).toBe(503);
  expect((await fetch(`${worker.url}/health`)).status).toBe(200);
  await sleep(1_000);

  await startRedis();
  await waitFor(async () => (await fetch(`${gateway.url}/health/ready`)).status, (s) => s === 200, 15_000, 'gateway ready again');
  await waitFor(async () => (await fetch(`${realtime.url}/ready`)).status, (s) => s === 200, 20_000, 'realtime ready again');
  const final = await waitFor(
    async () => (await (await fetch(`${gateway.url}/api/v1/pipeline/status/${id}`, { headers: stack.headers() })).json()) as any,
    (s) => s.status === 'completed',
    30_000,
    'completed after the outage',
  );
  expect(final.phases_completed).toEqual(['cognate', 'evomerge']);
  for (const svc of [gateway, realtime, worker]) expect(svc.child.exitCode).toBeNull();
}, 90_000);
