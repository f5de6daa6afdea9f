import net from 'node:net';
import path from 'node:path';
import { mkdirSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError, envBoolean, envPort, parseEnv } from '@agent-forge/runtime';
import { createEntryServer, listen, type EntryServer } from './entry';
import { DEFAULT_REDIS_URL, DevstackError, ensureRedis, redactUrl, type RedisHandle } from './redis';
import { ServiceProcess, stopServices, type LogMode, type ServiceSpec } from './services';
import { runDemo } from './demo';
import { DEV_ISSUER, ensureDevSecret, mintDevToken, writeDevToken } from './dev-auth';
import { Terminal } from './ui';

/**
 * `npm start`: Redis (started when none answers), the three services, one entry URL in front of
 * them, and a demo pipeline followed live. Serves until Ctrl-C, then stops everything it started.
 */
const ROOT = path.resolve(__dirname, '..', '..', '..');

const EnvSchema = z.object({
  ENTRY_HOST: z.string().min(1).default('127.0.0.1'),
  ENTRY_PORT: envPort.default(8080),
  GATEWAY_HOST: z.string().min(1).default('127.0.0.1'),
  GATEWAY_PORT: envPort.default(8081),
  REALTIME_HOST: z.string().min(1).default('127.0.0.1'),
  REALTIME_PORT: envPort.default(8082),
  WORKER_HEALTH_PORT: envPort.default(8083),
  REDIS_URL: z.string().default(DEFAULT_REDIS_URL),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).max(600_000).default(10_000),
  AGENT_FORGE_DEMO: envBoolean.default(true),
  AGENT_FORGE_LOGS: z.enum(['file', 'terminal']).default('file'),
  /** How long each service may take to answer its health check. */
  AGENT_FORGE_HEALTH_TIMEOUT_MS: z.coerce.number().int().min(1_000).default(60_000),
  /** `off` runs the services without authentication (explicit, and loudly reported). */
  AUTH_MODE: z.enum(['on', 'off']).default('on'),
  /** A token to use instead of minting one (e.g. from your identity provider). */
  AGENT_FORGE_TOKEN: z.string().optional(),
});
type Env = z.infer<typeof EnvSchema>;

/** A service bound to a wildcard address is still reached over loopback. */
function connectHost(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

/** Fail early, with the variable to change, when a port the stack needs is taken. */
async function assertPortFree(name: string, envVar: string, host: string, port: number): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') {
        reject(new DevstackError(`Port ${port} (${name}) is already in use on ${host}. Is another \`npm start\` running? Stop it, or pick another port: ${envVar}=<port> npm start`));
      } else if (err.code === 'EACCES') {
        reject(new DevstackError(`Not allowed to listen on ${host}:${port} (${name}); choose a port above 1024 with ${envVar}.`));
      } else {
        reject(err);
      }
    });
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}

function serviceSpecs(env: Env, redisUrl: string, authEnv: Record<string, string>): ServiceSpec[] {
  const common = { REDIS_URL: redisUrl, LOG_LEVEL: env.LOG_LEVEL, SHUTDOWN_TIMEOUT_MS: String(env.SHUTDOWN_TIMEOUT_MS), ...authEnv };
  return [
    {
      name: 'gateway',
      script: 'services/gateway/dist/main.js',
      env: { ...common, GATEWAY_HOST: env.GATEWAY_HOST, GATEWAY_PORT: String(env.GATEWAY_PORT) },
      healthUrl: `http://${connectHost(env.GATEWAY_HOST)}:${env.GATEWAY_PORT}/api/v1/pipeline/health`,
      color: 35,
    },
    {
      name: 'realtime',
      script: 'services/realtime/dist/main.js',
      env: { ...common, REALTIME_HOST: env.REALTIME_HOST, REALTIME_PORT: String(env.REALTIME_PORT) },
      healthUrl: `http://${connectHost(env.REALTIME_HOST)}:${env.REALTIME_PORT}/health`,
      color: 34,
    },
    {
      name: 'worker',
      script: 'services/pipeline-worker/dist/main.js',
      env: { ...common, WORKER_HEALTH_HOST: '127.0.0.1', WORKER_HEALTH_PORT: String(env.WORKER_HEALTH_PORT) },
      healthUrl: `http://127.0.0.1:${env.WORKER_HEALTH_PORT}/health`,
      color: 33,
    },
  ];
}

async function main(): Promise<number> {
  const term = new Terminal(process.stdout, process.env);
  const say = (line: string): void => term.line(line);
  let env: Env;
  try {
    env = parseEnv(EnvSchema, process.env);
  } catch (err) {
    if (err instanceof ConfigError) throw new DevstackError(err.message);
    throw err;
  }
  const logMode: LogMode = env.AGENT_FORGE_LOGS;
  mkdirSync(path.join(ROOT, '.agent-forge', 'logs'), { recursive: true });

  let redis: RedisHandle | null = null;
  let entry: EntryServer | null = null;
  const services: ServiceProcess[] = [];
  let stopping: Promise<number> | null = null;
  let firstSignalAt = 0;
  let resolveAborted: () => void = () => {};
  const aborted = new Promise<void>((resolve) => {
    resolveAborted = resolve;
  });

  /** Stop what we started, in reverse order: entry, services, Redis. */
  const shutdown = (code: number, servicesAlreadySignalled: boolean): Promise<number> => {
    if (stopping) return stopping;
    resolveAborted();
    term.endLive();
    stopping = (async () => {
      if (services.length === 0 && !redis?.started) return code; // nothing of ours is running
      say(term.dim('Stopping the stack…'));
      await entry?.close().catch(() => {});
      await stopServices(services, env.SHUTDOWN_TIMEOUT_MS + 2_000, servicesAlreadySignalled ? 750 : 0);
      for (const svc of services) say(term.dim(`  ${svc.spec.name} stopped (${svc.exitDescription ?? 'not started'})`));
      if (redis?.started) {
        await redis.stop();
        say(term.dim('  redis-server stopped'));
      }
      say(term.dim('Bye.'));
      return code;
    })();
    return stopping;
  };

  let exitWith: (code: number) => void = () => {};
  const done = new Promise<number>((resolve) => {
    exitWith = resolve;
  });

  const onSignal = (signal: NodeJS.Signals): void => {
    const now = Date.now();
    if (firstSignalAt === 0) {
      firstSignalAt = now;
      say('');
      say(term.dim(`${signal} received.`));
      void shutdown(0, true).then(exitWith);
      return;
    }
    // The same keypress arrives through npm and the bootstrap too; only a later one means "now".
    if (now - firstSignalAt < 1_500) return;
    say(term.yellow('Second signal: killing the services now.'));
    for (const svc of services) svc.signal('SIGKILL');
    void redis?.stop();
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const startup = async (): Promise<void> => {
    say(term.bold('Agent Forge local stack'));
    await assertPortFree('entry', 'ENTRY_PORT', env.ENTRY_HOST, env.ENTRY_PORT);
    await assertPortFree('gateway', 'GATEWAY_PORT', env.GATEWAY_HOST, env.GATEWAY_PORT);
    await assertPortFree('realtime', 'REALTIME_PORT', env.REALTIME_HOST, env.REALTIME_PORT);
    await assertPortFree('pipeline-worker health', 'WORKER_HEALTH_PORT', '127.0.0.1', env.WORKER_HEALTH_PORT);

    redis = await ensureRedis({ root: ROOT, url: env.REDIS_URL, log: (l) => say(`  ${l}`) });
    if (stopping) return;

    // Security is on by default, locally too: a signing secret (made once, kept in .agent-forge/),
    // an admin token for you and the demo. AUTH_MODE=off must be asked for, and is shouted about.
    let token: string | null = null;
    let authEnv: Record<string, string>;
    if (env.AUTH_MODE === 'off') {
      authEnv = { AUTH_MODE: 'off' };
      say(term.red(term.bold('  AUTH_MODE=off: the services accept every request as an admin of every tenant. Local development only!')));
    } else {
      const source = ensureDevSecret(ROOT);
      authEnv = { ...source.env, AUTH_MODE: 'on', ...(process.env.JWT_ISSUER ? {} : { JWT_ISSUER: DEV_ISSUER }) };
      if (source.origin === 'generated') say(`  generated a local signing secret in ${path.relative(ROOT, source.file ?? '')} (git-ignored)`);
      token = env.AGENT_FORGE_TOKEN ?? mintDevToken({ secret: source.secret, audience: process.env.JWT_AUDIENCE || undefined, issuer: process.env.JWT_ISSUER || DEV_ISSUER });
      writeDevToken(ROOT, token);
    }

    for (const spec of serviceSpecs(env, redis.url, authEnv)) {
      const svc = new ServiceProcess(spec, ROOT, term, logMode);
      svc.onUnexpectedExit = (s, how) => {
        if (stopping) return;
        term.endLive();
        say(term.red(`${s.spec.name} exited unexpectedly (${how}). Last lines of ${path.relative(ROOT, s.logFile)}:`));
        for (const l of s.lastLines(15)) say(`  ${l}`);
        void shutdown(1, false).then(exitWith);
      };
      services.push(svc);
      svc.start();
    }
    say(`  starting gateway, realtime and pipeline-worker (logs in .agent-forge/logs/${logMode === 'terminal' ? ', also shown here' : '; warnings shown here'})…`);
    const t0 = Date.now();
    await Promise.all(services.map((s) => s.waitHealthy(env.AGENT_FORGE_HEALTH_TIMEOUT_MS)));
    if (stopping) return;
    say(`  all three services healthy in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    const gatewayUrl = `http://${connectHost(env.GATEWAY_HOST)}:${env.GATEWAY_PORT}`;
    const realtimeUrl = `http://${connectHost(env.REALTIME_HOST)}:${env.REALTIME_PORT}`;
    entry = createEntryServer({ gateway: gatewayUrl, realtime: realtimeUrl });
    const address = await listen(entry.server, env.ENTRY_HOST, env.ENTRY_PORT);
    const entryUrl = `http://${connectHost(env.ENTRY_HOST)}:${address.port}`;

    const row = (label: string, value: string): string => `  ${label.padEnd(24)} ${value}`;
    say('');
    say(term.bold(term.green('Agent Forge is up.')));
    say(row('Entry (API + WebSocket)', term.cyan(entryUrl)));
    say(row('Dashboard', term.cyan(`${entryUrl}/dashboard`)));
    say(row('API docs', `${entryUrl}/docs`));
    say(row('WebSocket test client', `${entryUrl}/ws/client`));
    say(row('Pipeline WebSocket', `${entryUrl.replace(/^http/, 'ws')}/ws/pipeline?session_id=<id>`));
    say(row('gateway', `${gatewayUrl}  ${term.dim('(health /api/v1/pipeline/health)')}`));
    say(row('realtime', `${realtimeUrl}  ${term.dim('(health /health)')}`));
    say(row('pipeline-worker', `http://127.0.0.1:${env.WORKER_HEALTH_PORT}/health`));
    say(row('Redis', `${redactUrl(redis.url)}  ${term.dim(redis.started ? '(started by npm start; nothing saved)' : '(already running)')}`));
    say(row('Logs', `.agent-forge/logs/{gateway,realtime,worker}.log`));
    if (token) {
      say(row('Admin token (tenant default)', `${term.dim('in .agent-forge/dev-token:')}`));
      say(`    ${token}`);
      say(term.dim(`    curl -H "Authorization: Bearer $(cat .agent-forge/dev-token)" ${entryUrl}/api/v1/pipeline/history`));
      say(term.dim('    more tokens: node tools/devstack/dist/mint-token.js --tenant <t> --roles viewer|operator|admin'));
    } else {
      say(row('Auth', term.red('OFF (AUTH_MODE=off)')));
    }
    say('');

    if (env.AGENT_FORGE_DEMO) {
      try {
        await runDemo({ entryUrl, term, aborted, token });
      } catch (err) {
        term.endLive();
        say(term.red(`  demo failed: ${err instanceof Error ? err.message : String(err)}`));
      }
      if (!stopping) say('');
    }
    if (!stopping) say(`Serving on ${term.cyan(entryUrl)}. Press Ctrl-C to stop.`);
  };

  startup().catch((err: unknown) => {
    if (stopping) return;
    term.endLive();
    if (err instanceof DevstackError) say(term.red(err.message));
    else say(term.red(`npm start failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`));
    void shutdown(1, false).then(exitWith);
  });
  return done;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${err instanceof DevstackError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
