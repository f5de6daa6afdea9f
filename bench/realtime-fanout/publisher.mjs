/**
 * The publisher, in its own process: on `{cmd: 'run', run, rate, durationMs}` it publishes
 * rate × duration `pipeline_progress` events on a fixed schedule (event k is due at k / rate; a
 * late loop catches up at once, so the rate holds when timers are coarse), each stamped with its
 * publish time, and answers how many it published and how late it ran.
 *
 * How each system is published to (the normal way for each):
 *   ours      EventPublisher of packages/state (XADD to the session's stream + PUBLISH of the
 *             stamped envelope on `<prefix>:events`, one Lua script), as the pipeline worker does;
 *   socketio  a Socket.IO Server that does not listen, with the same redis adapter, doing
 *             `io.to(room).emit('event', envelope)`: the adapter PUBLISHes the msgpack packet on
 *             `socket.io#/#<room>#`, exactly what @socket.io/redis-emitter sends, and both serving
 *             replicas receive it the same way;
 *   ws        PUBLISH of the envelope JSON on one channel.
 * The baselines carry the same envelope as ours (`event_id`, `epoch`, `tenant` of the same shape),
 * so every client receives a frame of the same size.
 *
 * Env: SYSTEM, REDIS_URL, SESSION_ID, TENANT, and AF_KEY_PREFIX (ours) / CHANNEL (ws) / ROOM +
 * SIO_KEY (socketio: the room and the adapter's channel prefix).
 */
import { require } from '../lib/harness.mjs';
import { eventData, nowUs } from './common.mjs';
import { serveIpc } from './proc.mjs';

const { Redis } = require('ioredis');
const { makeEnvelope } = require('@agent-forge/contracts');

const SYSTEM = process.env.SYSTEM;
const SESSION_ID = process.env.SESSION_ID;
/** Publishes awaiting Redis's answer; past it the loop waits (bounded memory at any rate). */
const MAX_INFLIGHT = 2_000;

const redis = new Redis(process.env.REDIS_URL, { connectionName: `bench-pub-${SYSTEM}` });
redis.on('error', (err) => console.error(`redis: ${err.message}`));

let publishOne;
let closeExtra = async () => undefined;
if (SYSTEM === 'ours') {
  const { EventPublisher, Keys } = require('@agent-forge/state');
  const publisher = new EventPublisher(redis, new Keys(process.env.AF_KEY_PREFIX));
  publishOne = (run, seq) => publisher.publish('pipeline_progress', SESSION_ID, eventData(run, seq, nowUs()));
} else if (SYSTEM === 'ws') {
  const channel = process.env.CHANNEL;
  publishOne = (run, seq) => redis.publish(channel, JSON.stringify(baselineEnvelope(run, seq)));
} else if (SYSTEM === 'socketio') {
  const { Server } = require('socket.io');
  const { createAdapter } = require('@socket.io/redis-adapter');
  const sub = redis.duplicate({ connectionName: 'bench-pub-socketio-sub' });
  sub.on('error', (err) => console.error(`redis: ${err.message}`));
  const io = new Server({ serveClient: false });
  io.adapter(createAdapter(redis, sub, { key: process.env.SIO_KEY }));
  const room = process.env.ROOM;
  publishOne = (run, seq) => {
    io.to(room).emit('event', baselineEnvelope(run, seq));
    return null; // the adapter's PUBLISH is fire-and-forget
  };
  closeExtra = async () => {
    io.close();
    sub.disconnect();
  };
} else {
  throw new Error(`unknown SYSTEM ${SYSTEM}`);
}

/** The envelope ours publishes (stamped with event_id, epoch and tenant first), built the same way. */
let fakeId = 0;
function baselineEnvelope(run, seq) {
  return {
    event_id: `${Date.now()}-${fakeId++ % 10}`,
    epoch: '1764069990123456',
    tenant: process.env.TENANT,
    ...makeEnvelope('pipeline_progress', SESSION_ID, eventData(run, seq, nowUs())),
  };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function run({ run, rate, durationMs }) {
  const total = Math.round((rate * durationMs) / 1000);
  const hardStopUs = durationMs * 1000 + 15e6;
  let seq = 0;
  let inflight = 0;
  let errors = 0;
  let lastError = null;
  let maxLagMs = 0;
  const settle = () => {
    inflight--;
  };
  const fail = (err) => {
    inflight--;
    errors++;
    lastError = err.message;
  };
  const start = nowUs();
  let firstUs = null;
  let lastUs = null;
  while (seq < total) {
    const now = nowUs();
    if (now - start > hardStopUs) break;
    const due = Math.min(total, Math.floor(((now - start) * rate) / 1e6) + 1);
    while (seq < due && inflight < MAX_INFLIGHT) {
      const lag = (nowUs() - (start + (seq * 1e6) / rate)) / 1000;
      if (lag > maxLagMs) maxLagMs = lag;
      firstUs ??= nowUs();
      const p = publishOne(run, seq++);
      if (p) {
        inflight++;
        p.then(settle, fail);
      }
      lastUs = nowUs();
    }
    await sleep(seq < due ? 0 : 1);
  }
  for (let i = 0; i < 10_000 && inflight > 0; i++) await sleep(1);
  return { published: seq, total, errors, lastError, firstUs, lastUs, elapsedMs: (nowUs() - start) / 1000, maxLagMs, inflightLeft: inflight };
}

/** A sample frame size: what one event weighs on the wire for the baselines. */
function sample() {
  return { bytes: Buffer.byteLength(JSON.stringify(baselineEnvelope(0, 0))) };
}

const ready = redis.ping();
serveIpc({
  run: async (m) => (await ready, run(m)),
  sample: async () => (await ready, sample()),
  ping: async () => (await ready, {}),
});

process.on('SIGTERM', async () => {
  await closeExtra().catch(() => undefined);
  redis.disconnect();
  process.exit(0);
});
