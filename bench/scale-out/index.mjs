/**
 * Benchmark: pipeline throughput with 1 vs 2 pipeline-worker processes, same run, same machine.
 *
 * For each worker count n (1, then 2), with a key prefix of its own:
 *   1. start the built gateway; create BENCH_PIPELINES pipelines of all 8 phases with no-op dry-run
 *      phases (`dry_run.steps: 1, step_ms: 0`), so the work measured is the platform's own:
 *      claiming the job, the phase scripts, events, metrics, enqueuing the next phase;
 *   2. only then start n workers (loopback; WORKER_CONCURRENCY each), so the gateway is idle
 *      while they work (on 2 cores it would otherwise take CPU from them);
 *   3. poll the number of unfinished sessions (SCARD of the active set) every 50 ms until all
 *      completed; the rate is pipelines / (last completion − first worker ready) → pipelines/min;
 *   4. check every pipeline completed (none failed), stop everything, delete the keys.
 * Prints both rates and the 2-vs-1 ratio, writes results/scale-out-<time>.json.
 *
 * 1 and 2 workers alternate BENCH_REPEAT times (3); the medians and their ratio are reported.
 *
 * Knobs: BENCH_PIPELINES (400), BENCH_REPEAT (3), BENCH_WORKER_CONCURRENCY (8), BENCH_CHECKPOINTS (1; 0 = no
 * phase-boundary checkpoints), BENCH_STEP_MS (0 = no-op phases; > 0: each phase waits that long), REDIS_URL.
 */
import { existsSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { Child, ROOT, envNumber, freePort, machine, require, round, sleep, waitHealthy, writeResult, deleteKeysMatching } from '../lib/harness.mjs';

const { Redis } = require('ioredis');
const { mintToken } = require('@agent-forge/auth');

const NAME = 'scale-out';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const PIPELINES = envNumber('BENCH_PIPELINES', 400);
const CONCURRENCY = envNumber('BENCH_WORKER_CONCURRENCY', 8);
const PHASES = ['cognate', 'evomerge', 'quietstar', 'bitnet', 'training', 'baking', 'adas', 'compression'];
// BENCH_CHECKPOINTS=0 turns the phase-boundary checkpoints off (on by default, as for users).
const CHECKPOINTS = (process.env.BENCH_CHECKPOINTS ?? '1') !== '0';
// BENCH_STEP_MS > 0 makes each phase wait that long (one dry-run step) instead of being a no-op:
// the workers are then bound by their job slots, not by the CPU the machine has.
const STEP_MS = envNumber('BENCH_STEP_MS', 0);
const START_BODY = { phases: PHASES, enable_checkpoints: CHECKPOINTS, config: { executor: 'dry-run', dry_run: { steps: 1, step_ms: STEP_MS } } };
const TIMEOUT_MS = 240_000;
const REPEAT = envNumber('BENCH_REPEAT', 3);

const children = [];
const prefixes = [];

/** CPU seconds (user + system) a process used so far, from /proc (Linux); null elsewhere. */
function procCpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return null;
  }
}

/** Busy and total CPU time of the whole host (all cores), ms. */
function hostCpu() {
  let busy = 0;
  let total = 0;
  for (const c of os.cpus()) {
    const t = c.times;
    busy += t.user + t.nice + t.sys + t.irq;
    total += t.user + t.nice + t.sys + t.irq + t.idle;
  }
  return { busy, total };
}

async function redisCpuSeconds(redis) {
  const info = await redis.info('cpu');
  const get = (k) => Number(new RegExp(`${k}:([0-9.]+)`).exec(info)?.[1] ?? 0);
  return get('used_cpu_user') + get('used_cpu_sys');
}

function deleteKeys(prefix) {
  return deleteKeysMatching(REDIS_URL, `${prefix}:*`);
}

async function cleanup(redis) {
  await Promise.all(children.map((c) => c.stop()));
  for (const p of prefixes) await deleteKeys(p).catch(() => 0);
}

async function runWith(redis, workers) {
  const prefix = `afbench-scale-${workers}-${process.pid}-${Date.now().toString(36)}`;
  prefixes.push(prefix);
  const common = { REDIS_URL, AF_KEY_PREFIX: prefix, LOG_LEVEL: 'warn' };
  const gwPort = await freePort();
  // As deployed (auth on), with write budgets above the BENCH_PIPELINES starts made at once.
  const secret = randomBytes(32).toString('hex');
  const gateway = new Child(`${NAME}-gateway-${workers}`, [path.join(ROOT, 'services/gateway/dist/main.js')], {
    ...common,
    GATEWAY_HOST: '127.0.0.1',
    GATEWAY_PORT: String(gwPort),
    JWT_SECRET: secret,
    RATE_LIMIT_WRITE_PER_SUBJECT: '1000000',
    RATE_LIMIT_WRITE_PER_IP: '1000000',
  });
  const token = mintToken({ secret, sub: 'bench', tenant: 'default', roles: ['operator'], audience: 'agent-forge', ttlSeconds: 3600 });
  children.push(gateway);
  await waitHealthy(`http://127.0.0.1:${gwPort}/health/ready`, gateway);
  // Create the pipelines (10 requests in flight) with no worker yet, then start the workers and
  // watch them drain the queues.
  const t0 = Date.now();
  let next = 0;
  const ids = [];
  await Promise.all(
    Array.from({ length: 10 }, async () => {
      while (next < PIPELINES) {
        next++;
        const res = await fetch(`http://127.0.0.1:${gwPort}/api/v1/pipeline/start`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify(START_BODY),
        });
        if (res.status !== 200) throw new Error(`start answered ${res.status}: ${await res.text()}`);
        ids.push((await res.json()).session_id);
      }
    }),
  );
  const createdMs = Date.now() - t0;
  // Only now the workers: the gateway is idle while they drain the queues (it shares the cores).
  const started = [];
  const workerProcs = [];
  const redisCpu0 = await redisCpuSeconds(redis);
  const host0 = hostCpu();
  for (let i = 0; i < workers; i++) {
    const port = await freePort();
    const w = new Child(`${NAME}-worker-${workers}-${i}`, [path.join(ROOT, 'services/pipeline-worker/dist/main.js')], {
      ...common,
      WORKER_HEALTH_HOST: '127.0.0.1',
      WORKER_HEALTH_PORT: String(port),
      WORKER_CONCURRENCY: String(CONCURRENCY),
      WORKER_ID: `bench-${workers}-${i}`,
    });
    children.push(w);
    workerProcs.push(w);
    started.push(waitHealthy(`http://127.0.0.1:${port}/health/ready`, w).then(() => Date.now() - t0));
  }
  const ready = Promise.all(started);
  ready.catch(() => undefined); // a worker that dies is reported by the loop below

  const activeKey = `${prefix}:active`;
  const samples = [];
  const deadline = Date.now() + TIMEOUT_MS;
  for (;;) {
    const left = await redis.scard(activeKey);
    samples.push([Date.now() - t0, PIPELINES - left]);
    if (left === 0) break;
    if (Date.now() > deadline) throw new Error(`${left} pipelines still unfinished after ${TIMEOUT_MS} ms`);
    for (const c of children) if (!c.running) throw new Error(c.describe());
    await sleep(50);
  }
  const readyAt = await ready;
  const workerCpuS = workerProcs.reduce((sum, c) => sum + (procCpuSeconds(c.proc.pid) ?? NaN), 0);
  const redisCpuS = (await redisCpuSeconds(redis)) - redisCpu0;
  const host1 = hostCpu();
  const hostBusyPct = ((host1.busy - host0.busy) / Math.max(1, host1.total - host0.total)) * 100;
  // From the first worker ready (it starts on the waiting jobs at once; a second one joins a
  // moment later, which counts against the 2-worker figure) to the last pipeline completed.
  // (Pipelines advance phase by phase together, so completions come in a burst at the end: a
  // 10–90 %-of-completions window would measure that burst, not the throughput.)
  const tStart = Math.min(...readyAt);
  const tEnd = samples[samples.length - 1][0];
  const perMinute = (PIPELINES / Math.max(1, tEnd - tStart)) * 60_000;
  // Every pipeline completed (none failed or was cancelled).
  let completed = 0;
  for (const id of ids) if ((await redis.hget(`${prefix}:{s:${id}}:session`, 'status')) === 'completed') completed++;
  if (completed !== PIPELINES) throw new Error(`${PIPELINES - completed} pipelines did not complete`);
  await Promise.all(children.splice(0).map((c) => c.stop()));
  return {
    workers,
    pipelines: PIPELINES,
    phase_jobs: PIPELINES * PHASES.length,
    created_ms: createdMs,
    workers_ready_ms: readyAt,
    window_ms: tEnd - tStart,
    pipelines_per_minute: round(perMinute, 0),
    phase_jobs_per_s: round((perMinute * PHASES.length) / 60, 0),
    // Where the CPU went while the workers ran (start-up included): the workers' own, Redis's,
    // and how busy the whole host was (other load on the machine shows up here).
    worker_cpu_ms_per_pipeline: round((workerCpuS * 1000) / PIPELINES, 1),
    redis_cpu_ms_per_pipeline: round((redisCpuS * 1000) / PIPELINES, 1),
    host_busy_percent: round(hostBusyPct, 0),
    // Cores the rest of the machine (other processes) kept busy meanwhile: host busy minus what
    // the workers and Redis used. Non-zero means the figures are contaminated by other load.
    other_load_cores: round(
      (hostBusyPct / 100) * os.cpus().length - (workerCpuS + redisCpuS) / Math.max(0.001, (Date.now() - t0 - createdMs) / 1000),
      2,
    ),
  };
}

async function main() {
  for (const svc of ['gateway', 'pipeline-worker']) {
    if (!existsSync(path.join(ROOT, 'services', svc, 'dist', 'main.js'))) throw new Error(`services/${svc} is not built: run pnpm build`);
  }
  const redis = new Redis(REDIS_URL, { connectionName: 'bench-scale-out', maxRetriesPerRequest: 2 });
  let onSignal;
  const interrupted = new Promise((resolve) => {
    onSignal = () => resolve('interrupted');
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
  try {
    const line = (r) =>
      `${r.pipelines_per_minute} pipelines/min (${r.phase_jobs_per_s} phase jobs/s); CPU per pipeline: workers ${r.worker_cpu_ms_per_pipeline} ms, Redis ${r.redis_cpu_ms_per_pipeline} ms; host ${r.host_busy_percent} % busy, of which other processes ≈ ${r.other_load_cores} cores`;
    // Alternate 1 and 2 workers REPEAT times, so drifting background load hits both alike; report medians.
    const runs = { 1: [], 2: [] };
    console.log(`${PIPELINES} pipelines of 8 ${STEP_MS > 0 ? `${STEP_MS} ms` : 'no-op'} phases, WORKER_CONCURRENCY=${CONCURRENCY}, checkpoints ${CHECKPOINTS ? 'on' : 'off'}`);
    for (let i = 0; i < REPEAT; i++) {
      for (const n of [1, 2]) {
        const r = await runWith(redis, n);
        runs[n].push(r);
        console.log(`${n === 1 ? '1 worker ' : '2 workers'} #${i + 1}: ${line(r)}`);
      }
    }
    const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const one = median(runs[1].map((r) => r.pipelines_per_minute));
    const two = median(runs[2].map((r) => r.pipelines_per_minute));
    const ratio = round(two / one, 2);
    const perRun = runs[1].map((r, i) => round(runs[2][i].pipelines_per_minute / r.pipelines_per_minute, 2));
    console.log(`median: 1 worker ${one}/min, 2 workers ${two}/min → scale-out ratio ×${ratio} (per pair: ${perRun.map((x) => `×${x}`).join(', ')}; goal ≥ 1.7 on 2 cores)`);
    const file = writeResult(NAME, { name: NAME, at: new Date().toISOString(), machine: machine(), concurrency: CONCURRENCY, checkpoints: CHECKPOINTS, step_ms: STEP_MS, runs, median: { one, two }, ratio, per_pair: perRun });
    console.log(`results: ${path.relative(ROOT, file)}`);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await cleanup(redis);
    redis.disconnect();
  }
  void interrupted;
}

main().catch((err) => {
  console.error(`${NAME} failed: ${err.stack ?? err.message}`);
  process.exitCode = 1;
});
