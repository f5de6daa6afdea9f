/**
 * The baseline of the status-endpoint benchmark: a bare node:http server answering
 * GET /api/v1/pipeline/status/<id> with the session hash (one HGETALL of keys.session(id)) as JSON.
 * No validation, no shaping, no middleware: the floor the gateway's number is compared with.
 */
import http from 'node:http';
import { require } from '../lib/harness.mjs';

const { Redis } = require('ioredis');
const { Keys } = require('@agent-forge/state');

const port = Number(process.env.RAW_PORT);
const keys = new Keys(process.env.AF_KEY_PREFIX ?? 'af');
const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { connectionName: 'bench-raw' });
const PREFIX = '/api/v1/pipeline/status/';

const server = http.createServer((req, res) => {
  if (req.url === '/health') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"status":"healthy"}');
    return;
  }
  if (req.method !== 'GET' || !req.url?.startsWith(PREFIX)) {
    res.writeHead(404).end();
    return;
  }
  const id = decodeURIComponent(req.url.slice(PREFIX.length));
  redis.hgetall(keys.session(id)).then(
    (hash) => {
      const found = Object.keys(hash).length > 0;
      const body = JSON.stringify(found ? hash : { error: 'not found' });
      res.writeHead(found ? 200 : 404, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    },
    () => {
      res.writeHead(503).end();
    },
  );
});
server.listen(port, '127.0.0.1', () => console.log(`raw status server on 127.0.0.1:${port}`));

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  server.close();
  server.closeAllConnections();
  redis.quit().finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
