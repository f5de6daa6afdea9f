/**
 * Benchmark: GET /api/v1/pipeline/status/{id} of the real gateway against a bare node:http server
 * doing only the HGETALL of the session hash, same Redis, same session, same load.
 *
 *   1. start the built gateway (loopback, its own port, its own AF_KEY_PREFIX so nothing else is
 *      touched) with no worker: the session it starts stays `initializing`, and its status answers
 *      200 for the whole run;
 *   2. POST /start a dry-run pipeline through it, check GET /status answers 200;
 *   3. start the raw baseline (raw-server.mjs) on another port;
 *   4. autocannon each: warm-up, then the measured run (loopback, bounded);
 *   5. print req/s, p50/p99 and the gateway/raw ratios, write results/status-endpoint-<time>.json;
 *   6. always: stop both servers, delete every key under the prefix.
 *
 * Knobs: BENCH_CONNECTIONS (10), BENCH_DURATION_S (10), BENCH_WARMUP_S (2), REDIS_URL.
 * Exits 1 when a request failed or answered non-2xx (the figures would not mean anything).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Child, ROOT, envNumber, freePort, load, machine, require, round, waitHealthy, writeResult } from '../lib/harness.mjs';

const { Redis } = require('ioredis');

const NAME = 'status-endpoint';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const connections = envNumber('BENCH_CONNECTIONS', 10);
const durationS = envNumber('BENCH_DURATION_S', 10);
const warmupS = envNumber('BENCH_WARMUP_S', 2);
const prefix = `afbench-${process.pid}-${Date.now().toString(36)}`;
const START_BODY = {
  phases: ['cognate', 'evomerge', 'quietstar'],
  config: { executor: 'dry-run', dry_run: { steps: 10, step_ms: 100 } },
};

const children = [];
let cleaning = null;

async function deleteKeys() {
  const redis = new Redis(REDIS_URL, { connectionName: 'bench-cleanup', maxRetriesPerRequest: 1 });
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      cursor = next;
      if (batch.length > 0) deleted += await redis.unlink(...batch);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return deleted;
}

function cleanup() {
  cleaning ??= (async () => {
    await Promise.all(children.map((c) => c.stop()));
    const deleted = await deleteKeys().catch((err) => {
      console.error(`could not delete the keys under ${prefix}: ${err.message}`);
      return 0;
    });
    console.log(`cleaned up: servers stopped, ${deleted} keys under ${prefix}:* deleted`);
  })();
  return cleaning;
}

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    console.error(`\n${signal}: stopping`);
    cleanup().finally(() => process.exit(130));
  });
}

function line(label, r) {
  const codes = Object.entries(r.status_codes).map(([c, n]) => `${c}×${n}`).join(' ');
  const cols = [r.requests_per_s.toFixed(0), r.latency_ms.mean.toFixed(2), String(r.latency_ms.p50), String(r.latency_ms.p99)];
  return `${label.padEnd(9)} ${cols.map((c, i) => c.padStart(i === 0 ? 8 : 9)).join('')}   ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts  [${codes}]`;
}

async function main() {
  const gatewayMain = path.join(ROOT, 'services/gateway/dist/main.js');
  if (!existsSync(gatewayMain)) throw new Error(`${path.relative(ROOT, gatewayMain)} is missing: run \`pnpm build\` (npm run bench does).`);

  const [gatewayPort, rawPort] = [await freePort(), await freePort()];
  const common = { REDIS_URL, AF_KEY_PREFIX: prefix, LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn' };
  const gateway = new Child('gateway', [gatewayMain], { ...common, GATEWAY_HOST: '127.0.0.1', GATEWAY_PORT: String(gatewayPort) });
  children.push(gateway);
  const gw = `http://127.0.0.1:${gatewayPort}`;
  await waitHealthy(`${gw}/api/v1/pipeline/health`, gateway);

  const started = await fetch(`${gw}/api/v1/pipeline/start`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(START_BODY),
  });
  const startBody = await started.json().catch(() => null);
  if (!started.ok || !startBody?.session_id) throw new Error(`POST /start answered ${started.status}: ${JSON.stringify(startBody)}`);
  const sessionId = startBody.session_id;
  const statusPath = `/api/v1/pipeline/status/${sessionId}`;

  const raw = new Child('raw-status-server', [path.join(ROOT, 'bench/status-endpoint/raw-server.mjs')], { ...common, RAW_PORT: String(rawPort) });
  children.push(raw);
  const rw = `http://127.0.0.1:${rawPort}`;
  await waitHealthy(`${rw}/health`, raw);

  const sample = {};
  for (const [label, base] of [['gateway', gw], ['raw', rw]]) {
    const res = await fetch(`${base}${statusPath}`);
    const body = await res.text();
    if (res.status !== 200) throw new Error(`${label} GET ${statusPath} answered ${res.status} before the run: ${body.slice(0, 300)}`);
    sample[label] = { status: res.status, bytes: Buffer.byteLength(body) };
  }
  const sessionStatus = JSON.parse(await (await fetch(`${gw}${statusPath}`)).text()).status;
  console.log(`session ${sessionId} (${sessionStatus}); response sizes: gateway ${sample.gateway.bytes} B, raw ${sample.raw.bytes} B`);
  console.log(`load: ${connections} connections, ${warmupS} s warm-up + ${durationS} s measured, per server, loopback\n`);

  const results = {};
  for (const [label, base] of [['gateway', gw], ['raw', rw]]) {
    await load(`${base}${statusPath}`, { connections, durationS: warmupS, title: `${label} warm-up` });
    results[label] = await load(`${base}${statusPath}`, { connections, durationS, title: label });
  }
  // The session must still answer 200 after the run (nothing expired or moved under us).
  const after = await fetch(`${gw}${statusPath}`);
  await after.arrayBuffer();

  const ratio = {
    requests_per_s: round(results.gateway.requests_per_s / results.raw.requests_per_s, 3),
    latency_mean: results.raw.latency_ms.mean > 0 ? round(results.gateway.latency_ms.mean / results.raw.latency_ms.mean, 3) : null,
    latency_p50: results.raw.latency_ms.p50 > 0 ? round(results.gateway.latency_ms.p50 / results.raw.latency_ms.p50, 3) : null,
    latency_p99: results.raw.latency_ms.p99 > 0 ? round(results.gateway.latency_ms.p99 / results.raw.latency_ms.p99, 3) : null,
  };
  console.log(`${'server'.padEnd(9)} ${'req/s'.padStart(8)}${'mean ms'.padStart(9)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}   (autocannon reports p50/p99 in whole ms)`);
  console.log(line('gateway', results.gateway));
  console.log(line('raw', results.raw));
  console.log(
    `\ngateway/raw: throughput ×${ratio.requests_per_s} (the gateway serves ${Math.round(ratio.requests_per_s * 100)}% of the raw rate); latency mean ×${ratio.latency_mean}, p50 ×${ratio.latency_p50}, p99 ×${ratio.latency_p99}`,
  );

  const failures = [];
  for (const [label, r] of Object.entries(results)) {
    if (r.non2xx > 0 || r.errors > 0 || r.timeouts > 0) failures.push(`${label}: ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts`);
  }
  if (after.status !== 200) failures.push(`gateway status answered ${after.status} after the run`);

  const file = writeResult(NAME, {
    bench: NAME,
    timestamp: new Date().toISOString(),
    machine: machine(),
    params: { connections, duration_s: durationS, warmup_s: warmupS, redis_url: REDIS_URL.replace(/\/\/[^@]*@/, '//***@'), key_prefix: prefix },
    session: { id: sessionId, status: sessionStatus, response_bytes: { gateway: sample.gateway.bytes, raw: sample.raw.bytes } },
    gateway: results.gateway,
    raw: results.raw,
    ratio_gateway_over_raw: ratio,
    ok: failures.length === 0,
    failures,
  });
  console.log(`result: ${path.relative(ROOT, file)}`);
  if (failures.length > 0) {
    console.error(`FAILED: ${failures.join('; ')}`);
    return 1;
  }
  return 0;
}

let code = 1;
try {
  code = await main();
} catch (err) {
  console.error(`${NAME} failed: ${err.message}`);
} finally {
  await cleanup();
}
process.exit(code);
