/**
 * Benchmark: what our orchestration costs on top of BullMQ. 8-phase pipelines of no-op phases
 * through the real worker path (atomic state scripts, events to streams + pub/sub, agents, the
 * next-phase enqueue; checkpoints off and on) vs a raw BullMQ chain of 8 jobs (job i+1 added when
 * job i is processed), side by side in one process on one Redis:
 *   1. serial latency: one pipeline at a time → ms per phase;
 *   2. throughput: 100 pipelines in flight on one worker, 500 in all → phase jobs/s (median of 3,
 *      raw and ours taking turns);
 *   3. 1,000 concurrent sessions (dry-run phases with real steps) on one worker: all complete, and
 *      the latency of control calls (pause/resume) made while they run, p50/p99.
 * Knobs: BENCH_SERIAL (40), BENCH_CONCURRENT (100 in flight), BENCH_ROUNDS (5: ROUNDS × CONCURRENT in all per
 * measurement), BENCH_THROUGHPUT_REPEAT (3 measurements of each path, taking turns; medians compared), BENCH_SESSIONS (1000), BENCH_CHAIN_MS (the
 * worker's WORKER_CHAIN_MS default; 0 = every phase through its queue).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ROOT, envNumber, machine, require, round, writeResult, deleteKeysMatching } from '../lib/harness.mjs';

const { Redis } = require('ioredis');
const { Queue, Worker } = require('bullmq');
const contracts = require(path.join(ROOT, 'packages/contracts/dist'));
const engine = require(path.join(ROOT, 'packages/engine/dist'));
const state = require(path.join(ROOT, 'packages/state/dist'));
const runtime = require(path.join(ROOT, 'packages/runtime/dist'));
const { PhaseRunner } = require(path.join(ROOT, 'services/pipeline-worker/dist/phase-runner.js'));
const { PhaseWorkers } = require(path.join(ROOT, 'services/pipeline-worker/dist/worker.js'));
const { ControlListener } = require(path.join(ROOT, 'services/pipeline-worker/dist/control-listener.js'));
const { PhaseBoundaryCheckpoints } = require(path.join(ROOT, 'services/pipeline-worker/dist/checkpointing.js'));
const { DEFAULT_CHAIN_MS } = require(path.join(ROOT, 'services/pipeline-worker/dist/config.js'));

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const SERIAL = envNumber('BENCH_SERIAL', 40);
const CONCURRENT = envNumber('BENCH_CONCURRENT', 100);
const ROUNDS = envNumber('BENCH_ROUNDS', 5);
const SESSIONS = envNumber('BENCH_SESSIONS', 1000);
const THROUGHPUT_REPEAT = envNumber('BENCH_THROUGHPUT_REPEAT', 3);
// The worker's WORKER_CHAIN_MS (phase chaining); the deployment default unless set.
const CHAIN_MS = process.env.BENCH_CHAIN_MS === '0' ? 0 : envNumber('BENCH_CHAIN_MS', DEFAULT_CHAIN_MS);
const PHASES = contracts.PIPELINE_PHASES;
const prefix = `afbench-orch-${process.pid}`;
const connections = [];
const conn = () => {
  const c = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  connections.push(c);
  return c;
};
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : null;
};

// ── raw BullMQ chain ──────────────────────────────────────────────────────────────────────────
async function rawChain(concurrency) {
  const c = conn();
  const queue = new Queue('raw-chain', { connection: c, prefix: `${prefix}:{raw}` });
  const done = new Map();
  const worker = new Worker(
    'raw-chain',
    async (job) => {
      const { chain, i } = job.data;
      if (i + 1 < PHASES.length) await queue.add('phase', { chain, i: i + 1 }, { jobId: `${chain}.${i + 1}`, removeOnComplete: true });
      else done.get(chain)?.();
    },
    { connection: c, prefix: `${prefix}:{raw}`, concurrency },
  );
  const run = (chain) =>
    new Promise((resolve) => {
      done.set(chain, resolve);
      void queue.add('phase', { chain, i: 0 }, { jobId: `${chain}.0`, removeOnComplete: true });
    });
  return { run, close: async () => (await worker.close(), await queue.close()) };
}

// Quality gates are off: a no-op phase writes no model, so theater detection would rightly pause
// every pipeline; what is measured is the orchestration (state, events, enqueue, checkpoints).
// ── our worker path ───────────────────────────────────────────────────────────────────────────
// Completion is seen where the raw chain sees its own: in the worker, as the job that ran the
// session's last phase returns (by then the session is finalized).
class CompletionWatchingRunner extends PhaseRunner {
  constructor(done, deps) {
    super(deps);
    this.done = done;
  }
  async run(job, opts) {
    const outcome = await super.run(job, opts);
    if (outcome.outcome === 'completed' && outcome.next === null) this.done.get(job.data.sessionId)?.();
    return outcome;
  }
}

// The events still go to a subscriber, as deployed: Redis pays the fan-out to the realtime
// replicas. This one stands in for them and reads and discards the bytes: decoding the events is
// the realtime service's work (measured by the realtime-fanout bench), never a worker's.
async function discardingSubscriber(channel) {
  const { hostname, port } = new URL(REDIS_URL);
  const socket = net.connect(Number(port || 6379), hostname);
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.on('data', () => {});
  socket.write(`SUBSCRIBE ${channel}\r\n`);
  return socket;
}

async function ourPath(concurrency, label, executors = []) {
  const done = new Map();
  const keys = new state.Keys(`${prefix}-${label}`);
  const redis = conn();
  const store = new state.SessionStore(redis, keys);
  const queues = new engine.PhaseQueues(conn(), keys, { retry: { attempts: 1, backoff: { type: 'fixed', delay_ms: 10, max_delay_ms: 10 } }, retentionSeconds: 60 });
  const artifactRoot = mkdtempSync(path.join(os.tmpdir(), 'af-bench-'));
  const artifacts = new engine.FsArtifactStore(artifactRoot);
  const logger = runtime.createLogger('bench', 'silent');
  const registry = engine.defaultRegistry().register({ name: 'noop', run: async () => ({ metrics: {} }) });
  for (const e of executors) registry.register(e);
  const control = new ControlListener(conn(), keys, logger);
  await control.start();
  const boundary = new PhaseBoundaryCheckpoints({ checkpoints: new state.CheckpointStore(redis, keys, store), artifacts, keep: 2, uriBase: REDIS_URL, logger });
  const workerConn = conn();
  const workers = new PhaseWorkers({
    connection: workerConn,
    prefix: keys.queuePrefix(),
    phases: [...PHASES],
    concurrency,
    lockDurationMs: 30_000,
    stalledIntervalMs: 30_000,
    chainBudgetMs: CHAIN_MS,
    runner: new CompletionWatchingRunner(done, { store, events: new state.EventPublisher(redis, keys), queues, registry, control, artifacts, boundary, logger, workerId: 'bench', metricsIntervalMs: 1_000, defaultExecutor: 'dry-run', agentMemoryLimitMb: 256 }),
    logger,
  });
  workers.start();
  const fanOut = await discardingSubscriber(keys.eventsChannel());
  const run = (phases, config, enableCheckpoints) =>
    new Promise((resolve) => {
      const sessionId = randomUUID();
      done.set(sessionId, resolve);
      void (async () => {
        const parsed = contracts.pipelineConfigSchema(phases).parse(config);
        await store.create({ sessionId, tenant: 'default', phases, config: parsed, enableMonitoring: false, enableCheckpoints, topology: 'hierarchical', maxAgents: 10, preset: null });
        await queues.enqueue({ sessionId, phase: phases[0], runGen: 1 }, parsed);
      })();
      return sessionId;
    });
  const start = (phases, config, enableCheckpoints) => {
    const sessionId = randomUUID();
    const finished = new Promise((resolve) => done.set(sessionId, resolve));
    const created = (async () => {
      const parsed = contracts.pipelineConfigSchema(phases).parse(config);
      await store.create({ sessionId, tenant: 'default', phases, config: parsed, enableMonitoring: false, enableCheckpoints, topology: 'hierarchical', maxAgents: 10, preset: null });
      await queues.enqueue({ sessionId, phase: phases[0], runGen: 1 }, parsed);
    })();
    return { sessionId, created, finished };
  };
  return {
    store,
    queues,
    run,
    start,
    close: async () => {
      await workers.close();
      await queues.close();
      fanOut.destroy();
      rmSync(artifactRoot, { recursive: true, force: true });
    },
  };
}

async function serial(runOne) {
  const t0 = performance.now();
  for (let i = 0; i < SERIAL; i++) await runOne(i);
  return (performance.now() - t0) / (SERIAL * PHASES.length);
}
// CONCURRENT pipelines in flight at all times (a new one starts as one completes) until
// ROUNDS × CONCURRENT have run: one batch of 100 is a fraction of a second, too short to read
// through the noise of a shared machine, and batches with a barrier between them would measure
// their own ramp-up and tail rather than the path.
async function concurrent(runOne, rounds = ROUNDS) {
  const total = rounds * CONCURRENT;
  let started = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENT }, async () => {
      while (started < total) await runOne(String(started++));
    }),
  );
  return (total * PHASES.length) / ((performance.now() - t0) / 1000);
}

function deleteKeys() {
  return deleteKeysMatching(REDIS_URL, `${prefix}*`);
}

async function main() {
  const noop = { executor: 'noop' };
  const results = {};
  // warm-up both paths so JIT and script caches are equal
  {
    const raw = await rawChain(1);
    for (let i = 0; i < 5; i++) await raw.run(`warm-${i}`);
    await raw.close();
  }
  {
    const raw = await rawChain(1);
    results.raw_serial_ms_per_phase = await serial((i) => raw.run(`s-${i}`));
    await raw.close();
  }
  for (const checkpoints of [false, true]) {
    const ours = await ourPath(1, `serial-${checkpoints}`);
    for (let i = 0; i < 3; i++) await ours.run([...PHASES], noop, checkpoints);
    results[`ours_serial_ms_per_phase_checkpoints_${checkpoints ? 'on' : 'off'}`] = await serial(() => ours.run([...PHASES], noop, checkpoints));
    await ours.close();
  }
  // Throughput: the raw chain and ours (checkpoints off, then on) take turns, THROUGHPUT_REPEAT
  // times, each path warmed up first; the medians are compared. One measurement is a second or two,
  // and on a 2-core machine shared with Redis a single pair swings by ±20 % with whatever else the
  // machine did in that second.
  {
    const raw = await rawChain(CONCURRENT);
    const paths = [
      { key: 'raw_jobs_per_s', run: (i) => raw.run(`c-${i}`) },
      ...(await Promise.all([false, true].map(async (checkpoints) => {
        const ours = await ourPath(CONCURRENT, `conc-${checkpoints}`);
        return { key: `ours_jobs_per_s_checkpoints_${checkpoints ? 'on' : 'off'}`, ours, run: () => ours.run([...PHASES], noop, checkpoints) };
      }))),
    ];
    for (const p of paths) await concurrent(p.run, 1);
    const samples = Object.fromEntries(paths.map((p) => [p.key, []]));
    for (let r = 0; r < THROUGHPUT_REPEAT; r++) for (const p of paths) samples[p.key].push(await concurrent(p.run));
    for (const p of paths) results[p.key] = pct(samples[p.key], 50);
    results.throughput_samples = samples;
    await raw.close();
    for (const p of paths) if (p.ours) await p.ours.close();
  }

  // 1,000 concurrent sessions with real (dry-run) steps; control calls while they run
  {
    const ours = await ourPath(SESSIONS, 'thousand');
    const t0 = performance.now();
    const runs = Array.from({ length: SESSIONS }, () => ours.start(['cognate', 'evomerge'], { dry_run: { steps: 4, step_ms: 250 } }, false));
    await Promise.all(runs.map((r) => r.created));
    const latencies = [];
    const sample = runs.slice(0, Math.min(200, SESSIONS));
    for (const action of ['pause', 'resume']) {
      await Promise.all(
        sample.map(async (r) => {
          const c0 = performance.now();
          const res = await ours.store.control(r.sessionId, action, 'bench', state.ALL_TENANTS);
          latencies.push(performance.now() - c0);
          // a parked phase continues in a new job, as the gateway enqueues it
          if (res.kind === 'ok' && res.enqueue && res.currentPhase) await ours.queues.enqueue({ sessionId: r.sessionId, phase: res.currentPhase, runGen: res.runGen }, await ours.store.pipelineConfig(r.sessionId));
        }),
      );
      if (action === 'pause') await new Promise((r) => setTimeout(r, 500)); // let the running ones park
    }
    const completed = await Promise.race([
      Promise.all(runs.map((r) => r.finished)).then(() => true),
      new Promise((r) => setTimeout(() => r(false), 120_000)),
    ]);
    results.thousand = {
      sessions: SESSIONS,
      all_completed: completed,
      wall_s: round((performance.now() - t0) / 1000, 2),
      control_calls: latencies.length,
      control_p50_ms: round(pct(latencies, 50), 2),
      control_p99_ms: round(pct(latencies, 99), 2),
    };
    await ours.close();
  }
  return results;
}

let exitCode = 0;
try {
  const r = await main();
  const ratioSerial = (on) => r[`ours_serial_ms_per_phase_checkpoints_${on}`] / r.raw_serial_ms_per_phase;
  const ratioThroughput = (on) => r[`ours_jobs_per_s_checkpoints_${on}`] / r.raw_jobs_per_s;
  console.log(`8-phase pipelines of no-op phases, one worker (WORKER_CHAIN_MS=${CHAIN_MS}), Redis ${REDIS_URL}`);
  console.log(`serial (${SERIAL} pipelines one at a time), ms per phase:`);
  console.log(`  raw BullMQ chain            ${r.raw_serial_ms_per_phase.toFixed(3)}`);
  for (const on of ['off', 'on']) console.log(`  ours, checkpoints ${on.padEnd(3)}      ${r[`ours_serial_ms_per_phase_checkpoints_${on}`].toFixed(3)}   (×${ratioSerial(on).toFixed(2)} raw; goal ≤ ×1.5)`);
  console.log(`throughput (${CONCURRENT} pipelines in flight, ${ROUNDS * CONCURRENT} in all, median of ${THROUGHPUT_REPEAT} taking turns), phase jobs/s:`);
  console.log(`  raw BullMQ chain            ${r.raw_jobs_per_s.toFixed(0)}`);
  for (const on of ['off', 'on']) console.log(`  ours, checkpoints ${on.padEnd(3)}      ${r[`ours_jobs_per_s_checkpoints_${on}`].toFixed(0)}   (×${ratioThroughput(on).toFixed(2)} raw; goal ≥ ×0.67)`);
  console.log(`  each turn: ${Object.entries(r.throughput_samples).map(([k, xs]) => `${k.replace('_jobs_per_s', '').replace('_checkpoints_', ' ')} ${xs.map((x) => x.toFixed(0)).join(' · ')}`).join('; ')}`);
  const t = r.thousand;
  console.log(`${t.sessions} concurrent sessions (2 dry-run phases × 4 steps × 250 ms): all completed: ${t.all_completed} in ${t.wall_s} s; control calls during the run: p50 ${t.control_p50_ms} ms, p99 ${t.control_p99_ms} ms (goal p99 < 250 ms)`);
  const file = writeResult('orchestration', { machine: machine(), params: { SERIAL, CONCURRENT, ROUNDS, THROUGHPUT_REPEAT, SESSIONS, CHAIN_MS }, results: r, ratios: { serial_off: ratioSerial('off'), serial_on: ratioSerial('on'), throughput_off: ratioThroughput('off'), throughput_on: ratioThroughput('on') } });
  console.log(`result: ${path.relative(ROOT, file)}`);
  if (!t.all_completed) exitCode = 1;
} catch (err) {
  console.error(err);
  exitCode = 1;
} finally {
  await deleteKeys().catch(() => {});
  for (const c of connections) c.disconnect();
}
process.exit(exitCode);
