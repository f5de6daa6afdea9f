import { spawn } from 'node:child_process';
import { accessSync, constants, mkdirSync, openSync, closeSync, readFileSync, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { connect as tlsConnect } from 'node:tls';

/** A failure the user can act on: its message is printed as is (no stack) and the CLI exits 1. */
export class DevstackError extends Error {
  override readonly name = 'DevstackError';
}

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

export interface RedisTarget {
  host: string;
  port: number;
  username: string | null;
  password: string | null;
  tls: boolean;
}

export function parseRedisUrl(url: string): RedisTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new DevstackError(`REDIS_URL is not a URL: ${url}`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') {
    throw new DevstackError(`REDIS_URL must start with redis:// or rediss:// (got ${u.protocol}//)`);
  }
  return {
    host: u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port: u.port ? Number(u.port) : 6379,
    username: u.username ? decodeURIComponent(u.username) : null,
    password: u.password ? decodeURIComponent(u.password) : null,
    tls: u.protocol === 'rediss:',
  };
}

/** The URL with any password masked, for printing. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString().replace(/\/$/, '');
  } catch {
    return url;
  }
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

export type RedisProbe = { state: 'up' } | { state: 'down'; reason: string } | { state: 'rejects'; reason: string };

function resp(args: string[]): string {
  return `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
}

/**
 * Does a Redis answer PING at `url`? One connection, no retries, nothing left running afterwards
 * (a client library would keep reconnect and timeout timers alive). `rejects` means something
 * answers on that port but turns us away (wrong credentials) or is not Redis at all.
 */
export async function probeRedis(url: string, timeoutMs = 1_500): Promise<RedisProbe> {
  const target = parseRedisUrl(url);
  const commands: string[][] = [];
  if (target.password !== null) commands.push(target.username ? ['AUTH', target.username, target.password] : ['AUTH', target.password]);
  commands.push(['PING']);
  return new Promise<RedisProbe>((resolve) => {
    const socket = target.tls
      ? tlsConnect({ host: target.host, port: target.port, servername: net.isIP(target.host) ? undefined : target.host })
      : net.connect({ host: target.host, port: target.port });
    let settled = false;
    let buffer = '';
    let replies = 0;
    const done = (result: RedisProbe): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done({ state: 'down', reason: `no answer within ${timeoutMs} ms` }), timeoutMs);
    socket.on('error', (err: NodeJS.ErrnoException) => done({ state: 'down', reason: err.code ?? err.message }));
    socket.on('close', () => done({ state: 'down', reason: 'connection closed' }));
    socket.once(target.tls ? 'secureConnect' : 'connect', () => socket.write(commands.map(resp).join('')));
    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      let eol: number;
      while ((eol = buffer.indexOf('\r\n')) >= 0) {
        const line = buffer.slice(0, eol);
        buffer = buffer.slice(eol + 2);
        if (line.startsWith('-')) return done({ state: 'rejects', reason: line.slice(1) });
        if (!line.startsWith('+')) return done({ state: 'rejects', reason: `the server there does not speak Redis (answered ${JSON.stringify(line.slice(0, 40))})` });
        if (++replies === commands.length) return done({ state: 'up' });
      }
      if (buffer.length > 4_096) done({ state: 'rejects', reason: 'the server there does not speak Redis' });
    });
  });
}

export function findOnPath(name: string, envPath = process.env.PATH ?? ''): string | null {
  const exts = process.platform === 'win32' ? ['.exe', '.cmd', ''] : [''];
  for (const dir of envPath.split(path.delimiter)) {
    if (!dir) continue;
    for (const ext of exts) {
      const candidate = path.join(dir, name + ext);
      try {
        if (!statSync(candidate).isFile()) continue;
        accessSync(candidate, constants.X_OK);
        return candidate;
      } catch {
        // not here
      }
    }
  }
  return null;
}

export const NO_REDIS_HELP = [
  'No Redis answers and there is no `redis-server` on PATH to start one. Either:',
  '  • install Redis:  Debian/Ubuntu  sudo apt-get install redis-server',
  '                    macOS          brew install redis',
  '    (the devstack then starts its own, bound to 127.0.0.1, nothing saved to disk), or',
  '  • point REDIS_URL at a Redis you already run, e.g. REDIS_URL=redis://127.0.0.1:6380 npm start',
].join('\n');

export interface RedisHandle {
  url: string;
  /** True when this process started the server (and stops it in `stop`). */
  started: boolean;
  pid: number | null;
  logFile: string | null;
  stop(): Promise<void>;
}

export interface EnsureRedisOptions {
  /** Repository root: the server's dir is `<root>/.agent-forge/redis`, its log `<root>/.agent-forge/logs/redis-<port>.log`. */
  root: string;
  url?: string;
  log?: (line: string) => void;
  /** How long a started server may take to answer PING. */
  startTimeoutMs?: number;
  /** The PING probe (tests replace it so they never connect anywhere). */
  probe?: (url: string, timeoutMs?: number) => Promise<RedisProbe>;
}

function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

/**
 * Make sure a Redis answers PING on REDIS_URL. When nothing answers and the URL points at this
 * machine, start `redis-server` as a child on that port (127.0.0.1 only, no persistence, files
 * under `.agent-forge/redis`). The child gets its own process group so a Ctrl-C in the terminal
 * does not take Redis down before the services have drained; `stop()` (or this process exiting)
 * ends it.
 */
export async function ensureRedis(opts: EnsureRedisOptions): Promise<RedisHandle> {
  const url = opts.url ?? process.env.REDIS_URL ?? DEFAULT_REDIS_URL;
  const log = opts.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const probeFn = opts.probe ?? probeRedis;
  const target = parseRedisUrl(url);
  const probe = await probeFn(url);
  if (probe.state === 'up') {
    log(`Redis answers at ${redactUrl(url)}; using it.`);
    return { url, started: false, pid: null, logFile: null, stop: async () => {} };
  }
  if (probe.state === 'rejects') {
    throw new DevstackError(`Something answers at ${redactUrl(url)} but refuses us (${probe.reason}). Fix REDIS_URL (credentials?) or free the port.`);
  }
  if (!isLoopback(target.host)) {
    throw new DevstackError(
      `Nothing answers at ${redactUrl(url)} (${probe.reason}). That is not this machine, so no Redis is started for it: start it, or unset REDIS_URL to get a local one.`,
    );
  }
  const bin = findOnPath('redis-server');
  if (!bin) throw new DevstackError(NO_REDIS_HELP);

  const dir = path.join(opts.root, '.agent-forge', 'redis');
  const logDir = path.join(opts.root, '.agent-forge', 'logs');
  mkdirSync(dir, { recursive: true });
  mkdirSync(logDir, { recursive: true });
  const logFile = path.join(logDir, `redis-${target.port}.log`);
  // `localhost` may resolve to ::1 first; listen there too when the URL says localhost ("-" = if available).
  const bind = target.host === 'localhost' ? ['127.0.0.1', '-::1'] : [target.host === '::1' ? '::1' : '127.0.0.1'];
  const args = [
    '--bind', ...bind,
    '--port', String(target.port),
    '--save', '',
    '--appendonly', 'no',
    '--dir', dir,
    '--daemonize', 'no',
    '--logfile', '',
    ...(target.password ? ['--requirepass', target.password] : []),
  ];
  const fd = openSync(logFile, 'w');
  const child = spawn(bin, args, { stdio: ['ignore', fd, fd], detached: true });
  closeSync(fd);
  log(`Nothing answers at ${redactUrl(url)}; started ${bin} on port ${target.port} (pid ${child.pid}, log ${path.relative(opts.root, logFile)}).`);

  let exited: string | null = null;
  const exitPromise = new Promise<void>((resolve) => {
    child.on('exit', (code, signal) => {
      exited = signal ?? `exit ${code}`;
      resolve();
    });
    child.on('error', (err) => {
      exited = err.message;
      resolve();
    });
  });
  // Last resort: never leave our Redis behind, whatever path ends this process.
  const onExit = (): void => {
    if (exited === null && child.pid) {
      try {
        process.kill(child.pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
  };
  process.on('exit', onExit);

  const stop = async (): Promise<void> => {
    process.off('exit', onExit);
    if (exited !== null) return;
    child.kill('SIGTERM');
    const killed = await Promise.race([exitPromise.then(() => true), sleep(5_000).then(() => false)]);
    if (!killed) {
      child.kill('SIGKILL');
      await exitPromise;
    }
  };

  const deadline = Date.now() + (opts.startTimeoutMs ?? 10_000);
  for (;;) {
    if (exited !== null) {
      process.off('exit', onExit);
      throw new DevstackError(`redis-server stopped right away (${exited}). Last lines of ${logFile}:\n${tail(logFile)}`);
    }
    if ((await probeFn(url, 500)).state === 'up') break;
    if (Date.now() > deadline) {
      await stop();
      throw new DevstackError(`redis-server did not answer PING within ${opts.startTimeoutMs ?? 10_000} ms. Last lines of ${logFile}:\n${tail(logFile)}`);
    }
    await sleep(100);
  }
  return { url, started: true, pid: child.pid ?? null, logFile, stop };
}
