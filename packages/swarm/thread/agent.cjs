'use strict';
/**
 * One swarm agent: a worker thread that runs the task handlers of `workerData.module` and talks to
 * the coordinator (its parent port) and to the agents the topology links it with (MessagePorts the
 * coordinator hands it in a `wire` message). Plain CommonJS with no dependencies so it loads the
 * same way from source and from a build; see src/swarm.ts for the protocol's other side.
 *
 * Every data message this agent sends is counted per destination (`sent`), so the coordinator can
 * report the topology's real message pattern. Latency probes (`echo`) are not data and not counted.
 */
const { parentPort, workerData } = require('node:worker_threads');
const { performance } = require('node:perf_hooks');
const v8 = require('node:v8');
const fs = require('node:fs');

// In development and tests the handler module is TypeScript source: compile it on load with swc
// (the repo's test transformer). A build points at JavaScript and never reaches this branch.
if (workerData.module.endsWith('.ts') && !require.extensions['.ts']) {
  const swc = require('@swc/core');
  require.extensions['.ts'] = (mod, filename) => {
    const out = swc.transformSync(fs.readFileSync(filename, 'utf8'), {
      filename,
      jsc: { target: 'es2022', parser: { syntax: 'typescript' } },
      module: { type: 'commonjs' },
    });
    mod._compile(out.code, filename);
  };
}

const COORDINATOR = workerData.coordinator;
const self = workerData.name;
const handlers = require(workerData.module)[workerData.exportName];
if (!handlers || typeof handlers !== 'object') throw new Error(`${workerData.module} exports no task handlers as ${workerData.exportName}`);

/** name → port; the coordinator is reached over the parent port. */
const ports = new Map([[COORDINATOR, parentPort]]);
let outNeighbours = [];
let inNeighbours = [];
const sent = {};
/** round → Map(from → value): shares received from in-neighbours. */
const inbox = new Map();
const inboxWaiters = new Map();
/** Results a mesh/ring map part computed, kept here until the part is assembled. */
const parts = new Map();
/** Pending replies to messages this agent sent (lead → worker tasks, echo probes). */
const pending = new Map();
let nextId = 0;

function heapUsed() {
  return v8.getHeapStatistics().used_heap_size;
}

function send(to, msg, counted = true) {
  const port = ports.get(to);
  if (!port) throw new Error(`${self} has no link to ${to}`);
  port.postMessage(msg);
  if (counted) sent[to] = (sent[to] || 0) + 1;
}

function serializeError(err) {
  if (err && typeof err === 'object') return { name: err.name || 'Error', message: String(err.message || err), code: err.code };
  return { name: 'Error', message: String(err) };
}

function request(to, msg, counted) {
  const id = `${self}:${nextId++}`;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject, to });
    try {
      send(to, { ...msg, id }, counted);
    } catch (err) {
      pending.delete(id);
      reject(err);
    }
  });
}

function deliverShare(msg) {
  let box = inbox.get(msg.round);
  if (!box) inbox.set(msg.round, (box = new Map()));
  box.set(msg.from, msg.value);
  const waiter = inboxWaiters.get(msg.round);
  if (waiter && box.size >= waiter.expected) {
    inboxWaiters.delete(msg.round);
    inbox.delete(msg.round);
    waiter.resolve(box);
  }
}

/** Values shared with this agent in `round` by every in-neighbour, in in-neighbour order. */
function gather(round, from = inNeighbours) {
  const ordered = (box) => from.map((n) => ({ from: n, value: box.get(n) }));
  const box = inbox.get(round);
  if (box && box.size >= from.length) {
    inbox.delete(round);
    return Promise.resolve(ordered(box));
  }
  return new Promise((resolve) => inboxWaiters.set(round, { expected: from.length, resolve: (b) => resolve(ordered(b)) }));
}

function share(round, value, to = outNeighbours) {
  for (const n of to) send(n, { t: 'share', round, from: self, value });
}

const taskContext = (task) => ({
  agent: self,
  round: task.round,
  /** Send `value` to this agent's out-neighbours (mesh: every peer; ring: the next agent). */
  share: (value) => share(task.round, value),
  /** What every in-neighbour shared in the previous round (mesh: every peer; ring: the previous agent); none in round 0. */
  gather: () => (task.round > 0 ? gather(task.round - 1) : Promise.resolve([])),
});

async function runTask(task) {
  const handler = handlers[task.kind];
  if (typeof handler !== 'function') throw new Error(`no task handler "${task.kind}"`);
  return handler(task.payload, taskContext(task));
}

/**
 * Hierarchical lead: fan the tasks out to the team in the given (priority) order, at most `slots`
 * at once, the team in rotation, and gather. A lost member's task fails; the rest go on.
 */
async function lead(msg) {
  const outcomes = new Array(msg.tasks.length);
  if (msg.team.length === 0) {
    // A lead without a team computes the batch itself (documented: hierarchical with one agent).
    for (let k = 0; k < msg.tasks.length; k++) {
      try {
        outcomes[k] = { ok: true, value: await runTask(msg.tasks[k]), agent: self };
      } catch (err) {
        outcomes[k] = { ok: false, error: serializeError(err), agent: self };
      }
    }
    return outcomes;
  }
  const free = msg.team.slice();
  let next = 0;
  const lane = async () => {
    while (next < msg.tasks.length) {
      const worker = free.shift();
      if (!worker) return;
      const k = next++;
      try {
        outcomes[k] = await request(worker, { t: 'task', task: msg.tasks[k] }, true);
        free.push(worker);
      } catch (err) {
        outcomes[k] = { ok: false, error: serializeError(err), agent: worker };
        if (!err || err.code !== 'AGENT_LOST') free.push(worker);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(msg.slots, free.length)) }, lane));
  for (let k = 0; k < msg.tasks.length; k++) {
    if (!outcomes[k]) outcomes[k] = { ok: false, error: { name: 'AgentLost', message: 'no team member left', code: 'AGENT_LOST' }, agent: self };
  }
  return outcomes;
}

/** Mesh/ring map, step 2: assemble every part's results at the gatherer. */
async function assemble(msg) {
  const own = parts.get(msg.part) || [];
  parts.delete(msg.part);
  const round = `part:${msg.part}`;
  if (msg.topology === 'mesh') {
    // all-gather: every peer sends its results to every other peer; the gatherer answers the coordinator
    const peers = msg.order.filter((n) => n !== self);
    share(round, own, peers);
    if (self !== msg.order[0]) return null;
    const got = await gather(round, peers);
    return [...own, ...got.flatMap((g) => g.value)];
  }
  // ring: the results travel along the ring, each agent adding its own; the last one answers
  const i = msg.order.indexOf(self);
  const before = i === 0 ? [] : (await gather(round, [msg.order[i - 1]]))[0].value;
  const acc = [...before, ...own];
  if (i === msg.order.length - 1) return acc;
  share(round, acc, [msg.order[i + 1]]);
  return null;
}

function listen(from, port) {
  port.on('message', (msg) => {
    switch (msg.t) {
      case 'task':
        runTask(msg.task).then(
          (value) => send(from, { t: 'reply', id: msg.id, ok: true, value, heap: heapUsed(), agent: self }),
          (err) => send(from, { t: 'reply', id: msg.id, ok: false, error: serializeError(err), heap: heapUsed(), agent: self }),
        );
        break;
      case 'reply': {
        const p = pending.get(msg.id);
        if (!p) return;
        pending.delete(msg.id);
        p.resolve(msg);
        break;
      }
      case 'share':
        deliverShare(msg);
        break;
      case 'echo':
        send(from, { t: 'reply', id: msg.id, ok: true }, false);
        break;
      case 'lead':
        lead(msg).then((outcomes) => send(from, { t: 'reply', id: msg.id, ok: true, value: outcomes, heap: heapUsed(), agent: self }));
        break;
      case 'part':
        // Mesh/ring map, step 1: compute this agent's part and keep the results for assembly.
        (async () => {
          const out = [];
          for (const task of msg.tasks) {
            try {
              out.push({ index: task.index, ok: true, value: await runTask(task), agent: self });
            } catch (err) {
              out.push({ index: task.index, ok: false, error: serializeError(err), agent: self });
            }
          }
          parts.set(msg.part, out);
        })().then(() => send(from, { t: 'reply', id: msg.id, ok: true, value: null, heap: heapUsed(), agent: self }));
        break;
      case 'assemble':
        assemble(msg).then(
          (value) => send(from, { t: 'reply', id: msg.id, ok: true, value, heap: heapUsed(), agent: self }),
          (err) => send(from, { t: 'reply', id: msg.id, ok: false, error: serializeError(err), heap: heapUsed(), agent: self }),
        );
        break;
      case 'probe': {
        // Round trip to a linked agent, timed here: the latency the coordinator reports.
        const t0 = performance.now();
        request(msg.to, { t: 'echo' }, false).then(
          () => send(from, { t: 'reply', id: msg.id, ok: true, value: performance.now() - t0 }, false),
          (err) => send(from, { t: 'reply', id: msg.id, ok: false, error: serializeError(err) }, false),
        );
        break;
      }
      case 'stats':
        send(from, { t: 'reply', id: msg.id, ok: true, value: { heap: heapUsed(), sent: { ...sent } } }, false);
        break;
    }
  });
  if (port !== parentPort) {
    // The other side's thread is gone: fail what is waiting on it.
    port.on('close', () => {
      for (const [id, p] of pending) {
        if (p.to !== from) continue;
        pending.delete(id);
        const err = new Error(`${from} was lost`);
        err.code = 'AGENT_LOST';
        p.reject(err);
      }
    });
  }
}

parentPort.on('message', (msg) => {
  if (msg.t !== 'wire') return;
  for (const { name, port } of msg.links) {
    ports.set(name, port);
    listen(name, port);
  }
  outNeighbours = msg.out;
  inNeighbours = msg.in;
  parentPort.postMessage({ t: 'reply', id: msg.id, ok: true, value: null });
});
listen(COORDINATOR, parentPort);
parentPort.postMessage({ t: 'ready' });
