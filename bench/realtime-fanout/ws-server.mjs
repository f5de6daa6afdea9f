/**
 * Baseline (c), the floor: a bare `ws` + ioredis fan-out replica. One SUBSCRIBE per replica; each
 * message is written as the very same string to every open socket. No filtering, no replay, no
 * buffer bounds, no heartbeat, no auth: only the raw path our service builds on.
 *
 * Env: PORT, REDIS_URL, CHANNEL. GET /health answers 200 once the subscription is confirmed.
 * Uses the `ws` our realtime service depends on (same version), ioredis of bench/.
 */
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { ROOT, require as benchRequire } from '../lib/harness.mjs';

const { WebSocketServer } = createRequire(path.join(ROOT, 'services/realtime/package.json'))('ws');
const { Redis } = benchRequire('ioredis');

const PORT = Number(process.env.PORT);
const CHANNEL = process.env.CHANNEL;
const sockets = new Set();
let subscribed = false;

const server = http.createServer((req, res) => {
  if (req.url === '/health' && subscribed) {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ connections: sockets.size }));
    return;
  }
  res.writeHead(req.url === '/health' ? 503 : 404).end();
});
const wss = new WebSocketServer({ server, perMessageDeflate: false, clientTracking: false });
wss.on('connection', (ws) => {
  sockets.add(ws);
  ws.on('error', () => undefined);
  ws.on('close', () => sockets.delete(ws));
});

const sub = new Redis(process.env.REDIS_URL, { connectionName: 'bench-ws-sub', maxRetriesPerRequest: null });
sub.on('error', (err) => console.error(`redis: ${err.message}`));
sub.on('message', (channel, message) => {
  if (channel !== CHANNEL) return;
  for (const ws of sockets) ws.send(message);
});
await sub.subscribe(CHANNEL);
subscribed = true;
server.listen(PORT, '127.0.0.1', () => console.log(`ws baseline listening on 127.0.0.1:${PORT}`));

process.on('SIGTERM', () => {
  for (const ws of sockets) ws.terminate();
  server.close();
  sub.disconnect();
  setTimeout(() => process.exit(0), 200).unref();
});
