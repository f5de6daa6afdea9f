'use strict';
/**
 * Runs one phase executor inside a worker thread (see src/thread-executor.ts). Plain CommonJS with
 * no dependencies, so it loads the same way from source and from a build. Everything the executor
 * needs from the engine (progress, artifacts) is a call to the main thread over the message port.
 */
const { parentPort, workerData } = require('node:worker_threads');

let nextCall = 0;
const pending = new Map();

function call(method, args, transfer) {
  const id = nextCall++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    parentPort.postMessage({ type: 'call', id, method, args }, transfer || []);
  });
}

function revive(error) {
  const err = new Error(error.message);
  err.name = error.name;
  if (error.code) err.code = error.code;
  if (error.retryable !== undefined) err.retryable = error.retryable;
  return err;
}

function serialize(err) {
  if (err && typeof err === 'object') {
    return { name: err.name || 'Error', message: String(err.message || err), code: err.code, retryable: err.retryable };
  }
  return { name: 'Error', message: String(err) };
}

const controller = new AbortController();
parentPort.on('message', (msg) => {
  if (msg.type === 'reply') {
    const p = pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id);
    if (msg.ok) p.resolve(msg.value);
    else p.reject(revive(msg.error));
  } else if (msg.type === 'abort') {
    const reason = new Error(msg.reason);
    reason.name = 'AbortError';
    controller.abort(reason);
  }
});

const log = (level) => (obj, message) => {
  if (typeof obj === 'string') parentPort.postMessage({ type: 'log', level, message: obj, fields: {} });
  else parentPort.postMessage({ type: 'log', level, message: message || '', fields: obj || {} });
};
const logger = { trace: log('trace'), debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error'), fatal: log('fatal') };
logger.child = () => logger;

async function main() {
  const mod = require(workerData.module);
  const exported = mod[workerData.exportName];
  const executor = typeof exported === 'function' && !exported.prototype?.run ? exported() : typeof exported === 'function' ? new exported() : exported;
  if (!executor || typeof executor.run !== 'function') throw new Error(`${workerData.module} does not export an executor as ${workerData.exportName}`);
  const ctx = {
    ...workerData.ctx,
    signal: controller.signal,
    logger,
    progress: (step) => call('progress', [step]),
    agents: (agents, latencyMs) => call('agents', [agents, latencyMs]),
    artifacts: {
      put: (key, data, mediaType) => call('artifacts.put', [key, data, mediaType]),
      get: async (ref) => new Uint8Array(await call('artifacts.get', [ref])),
      delete: (ref) => call('artifacts.delete', [ref]),
    },
  };
  return executor.run(ctx);
}

main().then(
  (result) => parentPort.postMessage({ type: 'result', result }),
  (err) => parentPort.postMessage({ type: 'error', error: serialize(err) }),
);
