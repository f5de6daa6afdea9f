/**
 * Benchmark: GET /api/v1/pipeline/status/{id} of the real gateway — as deployed, with
 * authentication (a JWT on every request) and Redis rate limiting on — against a bare node:http
 * server doing only the HGETALL of the same session hash, same Redis, same session, same load.
 * A second gateway with AUTH_MODE=off and rate limits off shows what security itself costs.
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
import { randomBytes } from 'node:crypto';
import { Child, ROOT, envNumber, freePort, load, machine, require, round, waitHealthy, writeResult, deleteKeysMatching } from '../lib/harness.mjs';

const { mintToken } = require('@agent-forge/auth');

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

function deleteKeys() {
  return deleteKeysMatching(REDIS_URL, `${prefix}:*`);
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

function ratioOf(a, b) {
  return {
    requests_per_s: round(a.requests_per_s / b.requests_per_s, 3),
    latency_mean: b.latency_ms.mean > 0 ? round(a.latency_ms.mean / b.latency_ms.mean, 3) : null,
    latency_p50: b.latency_ms.p50 > 0 ? round(a.latency_ms.p50 / b.latency_ms.p50, 3) : null,
    latency_p99: b.latency_ms.p99 > 0 ? round(a.latency_ms.p99 / b.latency_ms.p99, 3) : null,
  };
}

function line(label, r) {
  const codes = Object.entries(r.status_codes).map(([c, n]) => `${c}×${n}`).join(' ');
  const cols = [r.requests_per_s.toFixed(0), r.latency_ms.mean.toFixed(2), String(r.latency_ms.p50), String(r.latency_ms.p99)];
  return `${label.padEnd(14)} ${cols.map((c, i) => c.padStart(i === 0 ? 8 : 9)).join('')}   ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts  [${codes}]`;
}

async function main() {
  const gatewayMain = path.join(ROOT, 'services/gateway/dist/main.js');
  if (!existsSync(gatewayMain)) throw new Error(`${path.relative(ROOT, gatewayMain)} is missing: run pnpm build (npm run bench does).`);

  const [securePort, openPort, rawPort] = [await freePort(), await freePort(), await freePort()];
  const common = { REDIS_URL, AF_KEY_PREFIX: prefix, LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn' };
  const secret = randomBytes(32).toString('hex');
  // As deployed: auth on, rate limits on (budgets far above the load, so every request is checked
  // against Redis and none is refused: a 429 would fail the run).
  const secureEnv = {
    ...common,
    GATEWAY_HOST: '127.0.0.1',
    GATEWAY_PORT: String(securePort),
    JWT_SECRET: secret,
    RATE_LIMIT_READ_PER_SUBJECT: '1000000000',
    RATE_LIMIT_READ_PER_IP: '1000000000',
  };
  const openEnv = { ...common, GATEWAY_HOST: '127.0.0.1', GATEWAY_PORT: String(openPort), AUTH_MODE: 'off', RATE_LIMIT_ENABLED: 'false' };
  const secure = new Child('gateway', [gatewayMain], secureEnv);
  const open = new Child('gateway-open', [gatewayMain], openEnv);
  children.push(secure, open);
  const gw = `http://127.0.0.1:${securePort}`;
  const gwOpen = `http://127.0.0.1:${openPort}`;
  await Promise.all([waitHealthy(`${gw}/api/v1/pipeline/health`, secure), waitHealthy(`${gwOpen}/api/v1/pipeline/health`, open)]);
  const token = mintToken({ secret, sub: 'bench', tenant: 'default', roles: ['operator'], audience: 'agent-forge', ttlSeconds: 3600 });
  const auth = { authorization: `Bearer ${token}` };

  const started = await fetch(`${gw}/api/v1/pipeline/start`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...auth },
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

  const targets = [
    ['gateway', gw, auth, secure],
    ['gateway-open', gwOpen, {}, open],
    ['raw', rw, {}, raw],
  ];
  const unauthenticated = await fetch(`${gw}${statusPath}`);
  await unauthenticated.arrayBuffer();
  if (unauthenticated.status !== 401) throw new Error(`the secure gateway answered ${unauthenticated.status} without a token (expected 401)`);
  const sample = {};
  for (const [label, base, headers] of targets) {
    const res = await fetch(`${base}${statusPath}`, { headers });
    const body = await res.text();
    if (res.status !== 200) throw new Error(`${label} GET ${statusPath} answered ${res.status} before the run: ${body.slice(0, 300)}`);
    sample[label] = { status: res.status, bytes: Buffer.byteLength(body), ratelimit_remaining: res.headers.get('ratelimit-remaining') };
  }
  if (!sample.gateway.ratelimit_remaining) throw new Error('the secure gateway sent no RateLimit-Remaining: rate limiting is not on');
  const sessionStatus = JSON.parse(await (await fetch(`${gw}${statusPath}`, { headers: auth })).text()).status;
  console.log(`session ${sessionId} (${sessionStatus}); response sizes: gateway ${sample.gateway.bytes} B, raw ${sample.raw.bytes} B`);
  console.log(`gateway: AUTH_MODE=on (JWT HS256 per request), rate limits on (Redis); gateway-open: AUTH_MODE=off, RATE_LIMIT_ENABLED=false`);
  console.log(`load: ${connections} connections, ${warmupS} s warm-up + ${durationS} s measured, per server, loopback\n`);

  const results = {};
  for (const [label, base, headers, child] of targets) {
    await load(`${base}${statusPath}`, { connections, durationS: warmupS, title: `${label} warm-up`, headers });
    // CPU the server process spent per request: unlike req/s, barely moved by other load on the machine.
    const cpuBefore = child.cpuSeconds();
    results[label] = await load(`${base}${statusPath}`, { connections, durationS, title: label, headers });
    const cpuAfter = child.cpuSeconds();
    results[label].server_cpu_us_per_request =
      cpuBefore === null || cpuAfter === null || results[label].requests_total === 0 ? null : round(((cpuAfter - cpuBefore) * 1e6) / results[label].requests_total, 1);
  }
  // The session must still answer 200 after the run (nothing expired or moved under us).
  const after = await fetch(`${gw}${statusPath}`, { headers: auth });
  await after.arrayBuffer();

  const ratio = ratioOf(results.gateway, results.raw);
  const ratioOpen = ratioOf(results['gateway-open'], results.raw);
  console.log(`${'server'.padEnd(14)} ${'req/s'.padStart(8)}${'mean ms'.padStart(9)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}   (autocannon reports p50/p99 in whole ms)`);
  for (const [label] of targets) console.log(`${line(label, results[label])}  cpu ${results[label].server_cpu_us_per_request ?? '?'} µs/req`);
  console.log(
    `\ngateway (auth + rate limits)/raw: throughput ×${ratio.requests_per_s} (goal ≥ 0.6); latency mean ×${ratio.latency_mean}, p50 ×${ratio.latency_p50}, p99 ×${ratio.latency_p99} (goal ≤ 2)`,
  );
  console.log(`gateway-open/raw: throughput ×${ratioOpen.requests_per_s}; p99 ×${ratioOpen.latency_p99}`);
  const cpu = (l) => results[l].server_cpu_us_per_request;
  if (cpu('gateway') && cpu('gateway-open') && cpu('raw')) {
    console.log(`server CPU per request: gateway ${cpu('gateway')} µs, gateway-open ${cpu('gateway-open')} µs, raw ${cpu('raw')} µs (security costs ${round(cpu('gateway') - cpu('gateway-open'), 1)} µs)`);
  }

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
    gateway_open: results['gateway-open'],
    raw: results.raw,
    ratio_gateway_over_raw: ratio,
    ratio_gateway_open_over_raw: ratioOpen,
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
