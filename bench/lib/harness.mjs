/**
 * Shared plumbing of the benchmarks: free loopback ports, child processes that are always
 * stopped, waiting for a URL, autocannon runs reduced to the figures we report, results files,
 * and deleting a run's Redis keys afterwards.
 */
import { readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync, createWriteStream } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

export const BENCH_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const ROOT = path.resolve(BENCH_DIR, '..');
export const RESULTS_DIR = path.join(BENCH_DIR, 'results');
export const require = createRequire(path.join(BENCH_DIR, 'package.json'));

export function envNumber(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number (got ${raw})`);
  return n;
}

export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A child process whose output goes to results/<name>.log; `stop()` is safe to call twice. */
export class Child {
  constructor(name, args, env) {
    mkdirSync(RESULTS_DIR, { recursive: true });
    this.name = name;
    this.logFile = path.join(RESULTS_DIR, `${name}.log`);
    const log = createWriteStream(this.logFile, { flags: 'w' });
    this.recent = [];
    this.exit = null;
    this.proc = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    for (const stream of [this.proc.stdout, this.proc.stderr]) {
      stream.on('data', (chunk) => {
        log.write(chunk);
        this.recent.push(...String(chunk).trimEnd().split('\n'));
        this.recent.splice(0, Math.max(0, this.recent.length - 20));
      });
    }
    this.exited = new Promise((resolve) => {
      // 'close' comes after the exit and after the last output was read.
      this.proc.on('close', (code, signal) => {
        this.exit = signal ?? `exit ${code}`;
        log.end();
        resolve();
      });
      this.proc.on('error', (err) => {
        this.exit = err.message;
        log.end();
        resolve();
      });
    });
  }

  get running() {
    return this.exit === null;
  }

  /** CPU seconds (user + system) the process has used so far, from /proc (Linux); null elsewhere. */
  cpuSeconds() {
    try {
      const stat = readFileSync(`/proc/${this.proc.pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks (USER_HZ = 100)
    } catch {
      return null;
    }
  }

  async stop() {
    if (!this.running) return;
    this.proc.kill('SIGTERM');
    const done = await Promise.race([this.exited.then(() => true), sleep(8_000).then(() => false)]);
    if (!done) {
      this.proc.kill('SIGKILL');
      await this.exited;
    }
  }

  describe() {
    return `${this.name} (${this.exit ?? 'running'}); last lines of ${path.relative(ROOT, this.logFile)}:\n  ${this.recent.join('\n  ')}`;
  }
}

/** Poll until `url` answers 2xx; fails early when `child` exits. */
export async function waitHealthy(url, child, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (child && !child.running) throw new Error(`${child.describe()}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer();
      if (res.ok) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = err.cause?.message ?? err.message;
    }
    await sleep(200);
  }
  throw new Error(`${url} did not answer 2xx within ${timeoutMs} ms (${last})${child ? `\n${child.describe()}` : ''}`);
}

/** One autocannon run reduced to what we report (latencies in ms). */
export async function load(url, { connections, durationS, title, headers = {} }) {
  const autocannon = require('autocannon');
  const r = await autocannon({ url, connections, duration: durationS, title, timeout: 10, headers });
  const statusCodes = Object.fromEntries(Object.entries(r.statusCodeStats ?? {}).map(([code, v]) => [code, Number(v.count)]));
  return {
    requests_total: r.requests.total,
    requests_per_s: round(r.requests.average),
    latency_ms: { p50: r.latency.p50, p90: r.latency.p90, p99: r.latency.p99, max: r.latency.max, mean: round(r.latency.average) },
    throughput_bytes_per_s: round(r.throughput.average),
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    status_codes: statusCodes,
    duration_s: r.duration,
  };
}

export function round(n, digits = 2) {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

export function machine() {
  const cpus = os.cpus();
  return { node: process.version, platform: `${process.platform}-${process.arch}`, cpu: cpus[0]?.model ?? 'unknown', cores: cpus.length, memory_gb: round(os.totalmem() / 2 ** 30, 1) };
}

export function writeResult(name, result) {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const file = path.join(RESULTS_DIR, `${name}-${stamp}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  return file;
}

/**
 * Delete every key matching `pattern` (a run's own prefix), in bounded SCAN batches; returns the
 * count. Its own short-lived connection, so it works while the run's connections are closing.
 */
export async function deleteKeysMatching(redisUrl, pattern) {
  const { Redis } = require('ioredis');
  const redis = new Redis(redisUrl, { connectionName: 'bench-cleanup', maxRetriesPerRequest: 1 });
  let deleted = 0;
  try {
    let cursor = '0';
    for (let i = 0; i < 100_000; i++) {
      const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      if (batch.length > 0) deleted += await redis.unlink(...batch);
      if (cursor === '0') break;
    }
  } finally {
    redis.disconnect();
  }
  return deleted;
}
