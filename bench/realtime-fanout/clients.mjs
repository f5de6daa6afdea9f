/**
 * A load-client process: holds its share of the WebSocket clients (never in a server process),
 * receives, checks every event arrived once and in order per client, and records the end-to-end
 * latency (publisher stamp vs the moment the client has the parsed event; one monotonic clock).
 *
 * Commands (IPC from index.mjs): connect {urls, count, concurrency, timeoutMs} (adds clients) ·
 * begin {run, capacity} (new run: counters, histogram and close tally reset) · report {expected} ·
 * hist · close. Env: SYSTEM (ours | socketio | ws), ROOM, JWT_SECRET + TENANT (ours).
 *
 * Clients of each system, the normal way for each:
 *   ours      `ws` client on /ws/pipeline?session_id=<id> with its own token (Authorization:
 *             Bearer); the first frame is the `snapshot` (the client counts as connected when it
 *             has it), then `pipeline_progress` events;
 *   socketio  socket.io-client 4.8, transports ['websocket'], forceNew (one connection per client,
 *             no multiplexing), no reconnection; the server joins it to the room on connect;
 *   ws        `ws` client; every frame is an event.
 * Frames are JSON-parsed by the client in every case (socket.io-client does it itself).
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { ROOT, require } from '../lib/harness.mjs';
import { Histogram, nowUs } from './common.mjs';
import { serveIpc } from './proc.mjs';

const { WebSocket } = createRequire(path.join(ROOT, 'services/realtime/package.json'))('ws');
const SYSTEM = process.env.SYSTEM;

/**
 * Per client: `seen[seq]` marks events received in the current run; `outOfOrder` counts events
 * that did not follow the previous one (a reorder, or the event after a gap).
 * @type {Array<{sock: any, ready: boolean, openAt: number, closed: string|null, seen: Uint8Array, distinct: number, next: number, maxSeq: number, dups: number, outOfOrder: number}>}
 */
const clients = [];
let run = -1;
let capacity = 0;
let hist = new Histogram();
let received = 0;
let stale = 0;
let other = 0;
let firstRecvUs = null;
let lastRecvUs = null;
const closes = {};
/** Latency by publish time, in slots of SLOT_US: slot → [count, sum µs, max µs] (where in the run it was slow). */
const SLOT_US = 250_000;
let series = new Map();

function onEvent(st, m) {
  const t = nowUs();
  if (!m || m.run !== run) {
    stale++;
    return;
  }
  received++;
  firstRecvUs ??= t;
  lastRecvUs = t;
  hist.record(t - m.t);
  const slot = Math.floor(m.t / SLOT_US);
  let cell = series.get(slot);
  if (!cell) series.set(slot, (cell = [0, 0, 0]));
  cell[0]++;
  cell[1] += t - m.t;
  if (t - m.t > cell[2]) cell[2] = t - m.t;
  const seq = m.seq;
  if (seq >= capacity) {
    st.outOfOrder++;
    return;
  }
  if (st.seen[seq]) {
    st.dups++;
    return;
  }
  st.seen[seq] = 1;
  st.distinct++;
  if (seq !== st.next) st.outOfOrder++;
  st.next = seq + 1;
  if (seq > st.maxSeq) st.maxSeq = seq;
}

function noteClose(st, code) {
  if (st.closed !== null) return;
  st.closed = String(code);
  closes[st.closed] = (closes[st.closed] ?? 0) + 1;
}

function openOne(url, st, token) {
  return new Promise((resolve) => {
    let settled = false;
    const done = (ok) => {
      if (settled) return;
      settled = true;
      st.ready = ok;
      resolve(ok);
    };
    if (SYSTEM === 'socketio') {
      const { io } = require('socket.io-client');
      const sock = io(url, { transports: ['websocket'], forceNew: true, reconnection: false, timeout: 20_000, query: { room: process.env.ROOM } });
      st.sock = sock;
      sock.on('connect', () => {
        st.openAt = nowUs();
        done(true);
      });
      sock.on('connect_error', (err) => {
        noteClose(st, `connect_error: ${err.message}`);
        done(false);
      });
      sock.on('disconnect', (reason) => noteClose(st, reason));
      sock.on('event', (msg) => onEvent(st, msg?.data?.metrics));
      return;
    }
    const ws = new WebSocket(url, { perMessageDeflate: false, ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}) });
    st.sock = ws;
    ws.on('error', (err) => {
      if (!settled) noteClose(st, `error: ${err.message}`);
      done(false);
    });
    ws.on('close', (code) => {
      noteClose(st, code);
      done(false);
    });
    ws.on('open', () => {
      st.openAt = nowUs();
      if (SYSTEM === 'ws') done(true);
    });
    ws.on('message', (data) => {
      const msg = JSON.parse(data);
      if (msg.event_type === 'pipeline_progress') onEvent(st, msg.data.metrics);
      else if (msg.event_type === 'snapshot') done(true);
      else other++;
    });
  });
}

/** Ours: one token per client, as each user has their own (minted before the clock starts). */
function tokens(count) {
  if (SYSTEM !== 'ours' || !process.env.JWT_SECRET) return [];
  const { mintToken } = require('@agent-forge/auth');
  const base = clients.length;
  return Array.from({ length: count }, (_, i) =>
    mintToken({ secret: process.env.JWT_SECRET, sub: `bench-${process.pid}-${base + i}`, tenant: process.env.TENANT, roles: ['viewer'], audience: 'agent-forge', ttlSeconds: 3600 }),
  );
}

async function connect({ urls, count, concurrency, timeoutMs }) {
  const creds = tokens(count);
  const t0 = nowUs();
  const mine = [];
  let ready = 0;
  let failed = 0;
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const st = { sock: null, ready: false, openAt: 0, closed: null, seen: new Uint8Array(0), distinct: 0, next: 0, maxSeq: -1, dups: 0, outOfOrder: 0 };
      mine.push(st);
      clients.push(st);
      const ok = await Promise.race([openOne(urls[i % urls.length], st, creds[i]), new Promise((r) => setTimeout(() => r(false), timeoutMs).unref())]);
      if (ok) ready++;
      else failed++;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  const readyAt = nowUs();
  const lastOpen = Math.max(...mine.map((st) => st.openAt));
  return { ready, failed, readyMs: (readyAt - t0) / 1000, openMs: (lastOpen - t0) / 1000, closes: { ...closes } };
}

function begin({ run: r, capacity: cap }) {
  run = r;
  capacity = cap;
  hist = new Histogram();
  series = new Map();
  received = 0;
  stale = 0;
  other = 0;
  firstRecvUs = null;
  lastRecvUs = null;
  for (const code of Object.keys(closes)) delete closes[code]; // closes during this run only
  for (const st of clients) {
    st.seen = new Uint8Array(cap);
    st.distinct = 0;
    st.next = 0;
    st.maxSeq = -1;
    st.dups = 0;
    st.outOfOrder = 0;
  }
  return {};
}

/**
 * Where each client stands against `expected` events. A missing event is a *hole* when the client
 * already has a later one (it will never come: lost) and *pending* when it is after the newest one
 * the client has (not delivered yet: late, or lost if the run drained). Counted separately for
 * clients the server closed (ours closes slow consumers with 4408; they would resume).
 */
function report({ expected }) {
  const r = { clients: clients.length, complete: 0, closedClients: 0, holesOpen: 0, pendingOpen: 0, holesClosed: 0, pendingClosed: 0, dups: 0, outOfOrder: 0 };
  for (const st of clients) {
    r.dups += st.dups;
    r.outOfOrder += st.outOfOrder;
    const missing = Math.max(0, expected - st.distinct);
    if (missing === 0) r.complete++;
    const pending = Math.max(0, expected - 1 - st.maxSeq);
    const holes = missing - pending;
    if (st.closed !== null) {
      r.closedClients++;
      r.holesClosed += holes;
      r.pendingClosed += pending;
    } else {
      r.holesOpen += holes;
      r.pendingOpen += pending;
    }
  }
  r.missingOpen = r.holesOpen + r.pendingOpen;
  r.missingClosed = r.holesClosed + r.pendingClosed;
  return { ...r, received, stale, other, firstRecvUs, lastRecvUs, closes: { ...closes } };
}

async function close() {
  for (const st of clients) {
    if (SYSTEM === 'socketio') st.sock?.disconnect();
    else st.sock?.terminate();
  }
  return {};
}

serveIpc({ connect, begin, report, hist: () => ({ hist: hist.toJSON(), series: [...series.entries()], slotUs: SLOT_US }), close });
process.on('SIGTERM', async () => {
  await close();
  process.exit(0);
});
