/**
 * Child processes of this benchmark: like lib/harness.mjs's Child (output to results/<name>.log,
 * `stop()` always ends the process: SIGTERM, then SIGKILL), plus an IPC channel so the
 * orchestrator can ask each process for figures (`call`), and /proc readings (RSS, CPU time).
 */
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT, RESULTS_DIR, sleep } from '../lib/harness.mjs';

export class Proc {
  /**
   * @param {string} name log name (results/<name>.log)
   * @param {string[]} args node arguments (flags, script, ...)
   * @param {Record<string,string>} env added to process.env
   */
  constructor(name, args, env = {}) {
    mkdirSync(RESULTS_DIR, { recursive: true });
    this.name = name;
    this.logFile = path.join(RESULTS_DIR, `${name}.log`);
    const log = createWriteStream(this.logFile, { flags: 'w' });
    this.recent = [];
    this.exit = null;
    this.nextId = 1;
    this.pending = new Map();
    this.proc = spawn(process.execPath, args, {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    this.pid = this.proc.pid;
    for (const stream of [this.proc.stdout, this.proc.stderr]) {
      stream.on('data', (chunk) => {
        log.write(chunk);
        this.recent.push(...String(chunk).trimEnd().split('\n'));
        this.recent.splice(0, Math.max(0, this.recent.length - 20));
      });
    }
    this.proc.on('message', (m) => {
      const waiter = m && this.pending.get(m.id);
      if (!waiter) return;
      this.pending.delete(m.id);
      clearTimeout(waiter.timer);
      if (m.error) waiter.reject(new Error(`${this.name}: ${m.error}`));
      else waiter.resolve(m);
    });
    this.exited = new Promise((resolve) => {
      const done = (how) => {
        if (this.exit === null) this.exit = how;
        log.end();
        for (const w of this.pending.values()) {
          clearTimeout(w.timer);
          w.reject(new Error(`${this.name} exited (${how}) during a call`));
        }
        this.pending.clear();
        resolve();
      };
      this.proc.on('close', (code, signal) => done(signal ?? `exit ${code}`));
      this.proc.on('error', (err) => done(err.message));
    });
  }

  get running() {
    return this.exit === null;
  }

  /** Send `{cmd, ...args}` over IPC and wait for the answer with the same id (bounded in time). */
  call(cmd, args = {}, timeoutMs = 30_000) {
    if (!this.running) return Promise.reject(new Error(`${this.describe()}`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${this.name}: no answer to ${cmd} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.proc.send({ id, cmd, ...args }, (err) => {
        if (!err) return;
        clearTimeout(timer);
        this.pending.delete(id);
        reject(err);
      });
    });
  }

  async stop(graceMs = 8_000) {
    if (!this.running) return;
    this.proc.kill('SIGTERM');
    const done = await Promise.race([this.exited.then(() => true), sleep(graceMs).then(() => false)]);
    if (!done) {
      this.proc.kill('SIGKILL');
      await this.exited;
    }
  }

  describe() {
    return `${this.name} (${this.exit ?? 'running'}); last lines of ${path.relative(ROOT, this.logFile)}:\n  ${this.recent.join('\n  ')}`;
  }
}

/** VmRSS and VmHWM (peak RSS) of a process, bytes; null when /proc cannot be read. */
export function procRss(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field) => {
      const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
      return m ? Number(m[1]) * 1024 : null;
    };
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return null;
  }
}

/** CPU seconds (user + system) a process used so far (Linux /proc; USER_HZ 100). */
export function procCpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

/** Answer the orchestrator's calls in a child: `handlers[cmd](message)` → reply with the same id. */
export function serveIpc(handlers) {
  process.on('message', async (m) => {
    if (!m || typeof m.id !== 'number') return;
    try {
      const handler = handlers[m.cmd];
      if (!handler) throw new Error(`unknown command ${m.cmd}`);
      const result = (await handler(m)) ?? {};
      process.send?.({ id: m.id, ...result });
    } catch (err) {
      process.send?.({ id: m.id, error: err?.stack ?? String(err) });
    }
  });
  // The orchestrator went away (crash, kill): do not outlive it.
  process.on('disconnect', () => process.exit(0));
}
