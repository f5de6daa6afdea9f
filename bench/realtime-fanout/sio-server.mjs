/**
 * Baseline (b): a Socket.IO 4.8 replica with `@socket.io/redis-adapter` (ioredis pub + sub
 * clients, the adapter's defaults), WebSocket transport only. A client joins the room named in its
 * handshake query (`?room=`); events reach it via the adapter (PSUBSCRIBE `socket.io#/#*`) and
 * Socket.IO's room broadcast (packet encoded once per broadcast, written to every socket).
 *
 * Env: PORT, REDIS_URL, SIO_KEY (the adapter's channel prefix, so runs never mix). GET /health answers 200 once both Redis clients are ready.
 */
import http from 'node:http';
import { require } from '../lib/harness.mjs';

const { Server } = require('socket.io');
const { createAdapter } = require('@socket.io/redis-adapter');
const { Redis } = require('ioredis');

const PORT = Number(process.env.PORT);
const pub = new Redis(process.env.REDIS_URL, { connectionName: 'bench-sio-pub' });
const sub = pub.duplicate({ connectionName: 'bench-sio-sub' });
for (const c of [pub, sub]) c.on('error', (err) => console.error(`redis: ${err.message}`));

const server = http.createServer((req, res) => {
  if (req.url === '/health' && pub.status === 'ready' && sub.status === 'ready') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ connections: io.engine.clientsCount }));
    return;
  }
  res.writeHead(req.url === '/health' ? 503 : 404).end();
});
const io = new Server(server, { transports: ['websocket'], serveClient: false, perMessageDeflate: false });
io.adapter(createAdapter(pub, sub, { key: process.env.SIO_KEY }));
io.on('connection', (socket) => {
  const room = socket.handshake.query.room;
  if (typeof room === 'string' && room.length > 0) socket.join(room);
});
server.listen(PORT, '127.0.0.1', () => console.log(`socket.io listening on 127.0.0.1:${PORT}`));

process.on('SIGTERM', () => {
  io.disconnectSockets(true);
  io.close();
  pub.disconnect();
  sub.disconnect();
  setTimeout(() => process.exit(0), 200).unref();
});
