import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { E2E_AUDIENCE, Stack, freePort } from './support/stack';

/**
 * HTTPS served directly: with TLS_CERT and TLS_KEY set, the gateway answers HTTPS and realtime
 * WSS (a self-signed certificate for 127.0.0.1 made with openssl), with auth as usual.
 */
const ROOT = path.resolve(__dirname, '..');
const stack = new Stack('e2e-tls');
const children: ChildProcess[] = [];
const dir = mkdtempSync(path.join(os.tmpdir(), 'af-tls-'));
const cert = path.join(dir, 'cert.pem');
const key = path.join(dir, 'key.pem');

afterAll(async () => {
  for (const c of children) c.kill('SIGTERM');
  await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)))));
  await stack.stopAll();
});

function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca: readFileSync(cert), headers }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

async function startTls(service: 'gateway' | 'realtime', portVar: string): Promise<number> {
  const port = await freePort();
  const child = spawn(process.execPath, [path.join(ROOT, 'services', service, 'dist', 'main.js')], {
    cwd: ROOT,
    env: {
      ...process.env,
      REDIS_URL: stack.redis.url,
      AF_KEY_PREFIX: stack.redis.prefix,
      LOG_LEVEL: 'warn',
      [portVar]: String(port),
      JWT_SECRET: stack.secret,
      JWT_AUDIENCE: E2E_AUDIENCE,
      TLS_CERT: cert,
      TLS_KEY: key,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(child);
  const probe = service === 'gateway' ? '/health/live' : '/health';
  for (let i = 0; i < 150; i++) {
    if (child.exitCode !== null) throw new Error(`${service} exited`);
    try {
      if ((await get(`https://127.0.0.1:${port}${probe}`)).status === 200) return port;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`${service} did not answer over HTTPS`);
}

it('serves HTTPS and WSS directly when TLS_CERT and TLS_KEY are set', async () => {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  const [gatewayPort, realtimePort] = await Promise.all([startTls('gateway', 'GATEWAY_PORT'), startTls('realtime', 'REALTIME_PORT')]);
  expect((await get(`https://127.0.0.1:${gatewayPort}/api/v1/pipeline/history`)).status).toBe(401);
  const history = await get(`https://127.0.0.1:${gatewayPort}/api/v1/pipeline/history`, stack.headers());
  expect(history.status).toBe(200);
  expect(JSON.parse(history.body)).toEqual([]);
  const ws = new WebSocket(`wss://127.0.0.1:${realtimePort}/ws/dashboard?token=${stack.token(['viewer'])}`, { ca: readFileSync(cert) });
  const first = await new Promise<Record<string, unknown>>((resolve, reject) => {
    ws.once('message', (d: Buffer) => resolve(JSON.parse(d.toString()) as Record<string, unknown>));
    ws.once('error', reject);
  });
  expect(first.event_type).toMatch(/metrics|dashboard_update/);
  ws.close();
}, 30_000);
