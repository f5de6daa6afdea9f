/**
 * Benchmark: wall time of the `quick_test` and `full_pipeline` presets on the built-in forge at
 * default scale, through the real gateway and worker processes (loopback, own key prefix), one run
 * at a time, and the share of that time spent in orchestration (queueing, state, hand-over
 * between phases) vs inside the phases themselves (sum of the phases' measured durations).
 * Knobs: BENCH_RUNS (1 per preset).
 */
import path from 'node:path';
import { Child, ROOT, envNumber, freePort, machine, require, round, waitHealthy, writeResult, deleteKeysMatching } from '../lib/harness.mjs';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const RUNS = envNumber('BENCH_RUNS', 1);
const prefix = `afbench-forge-${process.pid}`;
const children = [];

async function main() {
  const gatewayPort = await freePort();
  const workerPort = await freePort();
  const common = { REDIS_URL, AF_KEY_PREFIX: prefix, LOG_LEVEL: 'warn', ARTIFACT_ROOT: path.join(ROOT, '.agent-forge', 'bench-artifacts') };
  const gateway = new Child('forge-gateway', [path.join(ROOT, 'services/gateway/dist/main.js')], { ...common, GATEWAY_PORT: String(gatewayPort) });
  const worker = new Child('forge-worker', [path.join(ROOT, 'services/pipeline-worker/dist/main.js')], { ...common, WORKER_HEALTH_PORT: String(workerPort), DEFAULT_EXECUTOR: 'forge' });
  children.push(gateway, worker);
  const api = `http://127.0.0.1:${gatewayPort}/api/v1/pipeline`;
  await waitHealthy(`${api}/health`, gateway);
  await waitHealthy(`http://127.0.0.1:${workerPort}/health`, worker);

  const results = {};
  for (const preset of ['quick_test', 'full_pipeline']) {
    const runs = [];
    for (let i = 0; i < RUNS; i++) {
      const t0 = performance.now();
      const res = await fetch(`${api}/start`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ preset }) });
      const { session_id: id } = await res.json();
      let s;
      for (;;) {
        s = await (await fetch(`${api}/status/${id}`)).json();
        if (['completed', 'failed', 'cancelled'].includes(s.status)) break;
        if (performance.now() - t0 > 600_000) throw new Error(`${preset} did not finish in 10 minutes`);
        await new Promise((r) => setTimeout(r, 100));
      }
      if (s.status !== 'completed') throw new Error(`${preset} ended ${s.status}: ${s.status_reason}`);
      const wall = (performance.now() - t0) / 1000;
      const inPhases = s.phase_metrics.reduce((n, m) => n + m.duration_seconds, 0);
      runs.push({ wall_s: round(wall, 2), in_phases_s: round(inPhases, 2), orchestration_s: round(wall - inPhases, 2), orchestration_share: round((wall - inPhases) / wall, 4), phases: Object.fromEntries(s.phase_metrics.map((m) => [m.phase, m.duration_seconds])) });
    }
    results[preset] = runs;
  }
  return results;
}

async function cleanup() {
  await Promise.all(children.map((c) => c.stop()));
  await deleteKeysMatching(REDIS_URL, `${prefix}:*`);
}

let code = 0;
try {
  const r = await main();
  for (const [preset, runs] of Object.entries(r)) {
    for (const run of runs) {
      console.log(`${preset.padEnd(14)} wall ${run.wall_s.toFixed(2)} s · inside phases ${run.in_phases_s.toFixed(2)} s · orchestration ${run.orchestration_s.toFixed(2)} s (${(run.orchestration_share * 100).toFixed(1)} %)`);
      console.log(`${''.padEnd(14)} ${Object.entries(run.phases).map(([p, s]) => `${p} ${s.toFixed(2)} s`).join(' · ')}`);
    }
  }
  const file = writeResult('forge-pipelines', { machine: machine(), results: r });
  console.log(`result: ${path.relative(ROOT, file)}`);
} catch (err) {
  console.error(err);
  code = 1;
} finally {
  await cleanup();
}
process.exit(code);
