import http from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { createEntryServer, listen, routeFor, type EntryServer } from './entry';

/** A stand-in upstream that answers every request with its own name and the path it saw. */
async function fakeUpstream(name: string): Promise<{ server: http.Server; url: string; wss: WebSocketServer }> {
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ upstream: name, url: req.url, forwardedFor: req.headers['x-forwarded-for'] ?? null }));
  });
  const wss = new WebSocketServer({ server });
  wss.on('connection', (socket, req) => socket.send(JSON.stringify({ upstream: name, url: req.url })));
  const { port } = await listen(server, '127.0.0.1', 0);
  return { server, url: `http://127.0.0.1:${port}`, wss };
}

async function closed(server: http.Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** A loopback port nothing listens on. */
async function deadPort(): Promise<number> {
  const s = http.createServer();
  const { port } = await listen(s, '127.0.0.1', 0);
  await closed(s);
  return port;
}

describe('routeFor', () => {
  it.each([
    ['/ws/pipeline?session_id=x', 'realtime'],
    ['/ws/client', 'realtime'],
    ['/ws', 'realtime'],
    ['/ws?x=1', 'realtime'],
    ['/wsx', 'gateway'],
    ['/api/v1/pipeline/health', 'gateway'],
    ['/docs', 'gateway'],
    ['/openapi.json', 'gateway'],
    ['/', 'gateway'],
    [undefined, 'gateway'],
  ])('%s → %s', (url, upstream) => {
    expect(routeFor(url)).toBe(upstream);
  });
});

describe('entry proxy', () => {
  let gateway: Awaited<ReturnType<typeof fakeUpstream>>;
  let realtime: Awaited<ReturnType<typeof fakeUpstream>>;
  let entry: EntryServer;
  let base: string;

  beforeAll(async () => {
    gateway = await fakeUpstream('gateway');
    realtime = await fakeUpstream('realtime');
    entry = createEntryServer({ gateway: gateway.url, realtime: realtime.url });
    const { port } = (await listen(entry.server, '127.0.0.1', 0)) as AddressInfo;
    base = `http://127.0.0.1:${port}`;
  });

  afterAll(async () => {
    await entry.close();
    for (const u of [gateway, realtime]) {
      for (const c of u.wss.clients) c.terminate();
      u.wss.close();
      await closed(u.server);
    }
  });

  it('sends /api, /docs and / to the gateway and /ws/* over HTTP to realtime', async () => {
    for (const [p, upstream] of [
      ['/api/v1/pipeline/health', 'gateway'],
      ['/docs', 'gateway'],
      ['/', 'gateway'],
      ['/ws/client', 'realtime'],
      ['/ws/stats', 'realtime'],
    ] as const) {
      const res = await fetch(`${base}${p}`);
      expect(res.status).toBe(200);
      const body = (await res.json()) as { upstream: string; url: string; forwardedFor: string | null };
      expect(body).toMatchObject({ upstream, url: p });
      expect(body.forwardedFor).toBeTruthy();
    }
  });

  it('passes POST bodies through', async () => {
    const echo = http.createServer((req, res) => req.pipe(res));
    const { port } = await listen(echo, '127.0.0.1', 0);
    const e = createEntryServer({ gateway: `http://127.0.0.1:${port}`, realtime: realtime.url });
    const addr = await listen(e.server, '127.0.0.1', 0);
    try {
      const res = await fetch(`http://127.0.0.1:${addr.port}/api/v1/pipeline/start`, { method: 'POST', body: '{"preset":"quick_test"}' });
      expect(await res.text()).toBe('{"preset":"quick_test"}');
    } finally {
      await e.close();
      await closed(echo);
    }
  });

  it('upgrades /ws/* WebSockets to realtime, query string intact', async () => {
    const ws = new WebSocket(`${base.replace('http', 'ws')}/ws/pipeline?session_id=abc`);
    const first = await new Promise<string>((resolve, reject) => {
      ws.once('message', (m) => resolve(String(m)));
      ws.once('error', reject);
    });
    expect(JSON.parse(first)).toEqual({ upstream: 'realtime', url: '/ws/pipeline?session_id=abc' });
    ws.close();
  });

  it('refuses a WebSocket upgrade outside /ws with a 404 in the error shape', async () => {
    const ws = new WebSocket(`${base.replace('http', 'ws')}/api/v1/pipeline/health`);
    const status = await new Promise<number>((resolve) => {
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.once('error', () => resolve(-1));
    });
    expect(status).toBe(404);
  });

  it('answers 503 UNAVAILABLE in the contract error shape when an upstream is down, and keeps serving', async () => {
    const port = await deadPort();
    const e = createEntryServer({ gateway: `http://127.0.0.1:${port}`, realtime: `http://127.0.0.1:${port}` });
    const addr = await listen(e.server, '127.0.0.1', 0);
    const url = `http://127.0.0.1:${addr.port}`;
    try {
      for (let i = 0; i < 2; i++) {
        const res = await fetch(`${url}/api/v1/pipeline/health`);
        expect(res.status).toBe(503);
        expect(res.headers.get('retry-after')).toBe('1');
        const body = (await res.json()) as Record<string, unknown>;
        expect(body).toMatchObject({ error_code: 'UNAVAILABLE', details: { upstream: 'gateway', cause: 'ECONNREFUSED' } });
        expect(body.detail).toBe(body.error);
        expect(typeof body.timestamp).toBe('string');
      }
      const ws = new WebSocket(`${url.replace('http', 'ws')}/ws/pipeline`);
      const status = await new Promise<number>((resolve) => {
        ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.once('error', () => resolve(-1));
      });
      expect(status).toBe(503);
    } finally {
      await e.close();
    }
  });

  it('answers 502 when the upstream drops the connection mid-request', async () => {
    const rude = http.createServer((req) => req.socket.destroy());
    const { port } = await listen(rude, '127.0.0.1', 0);
    const e = createEntryServer({ gateway: `http://127.0.0.1:${port}`, realtime: realtime.url });
    const addr = await listen(e.server, '127.0.0.1', 0);
    try {
      const res = await fetch(`http://127.0.0.1:${addr.port}/api/v1/info`);
      expect(res.status).toBe(502);
      expect(await res.json()).toMatchObject({ error_code: 'UNAVAILABLE' });
    } finally {
      await e.close();
      await closed(rude);
    }
  });
});
