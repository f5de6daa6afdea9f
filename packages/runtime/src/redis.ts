import { readFileSync } from 'node:fs';
import type { ConnectionOptions as TlsOptions } from 'node:tls';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import { z } from 'zod';
import { redisErrors } from './metrics';

export type { Redis } from 'ioredis';

/**
 * Where Redis is and how it is laid out. Read from the environment (validated at start-up with
 * the rest of each service's config, see `redisTopologyEnv`):
 *
 * - single node: `REDIS_URL=redis://[user:password@]host:port[/db]`
 * - TLS: the same with `rediss://` (optionally `REDIS_TLS_CA_FILE` for a private CA)
 * - Sentinel: `REDIS_SENTINELS=host:port,host:port` + `REDIS_SENTINEL_NAME` (default `mymaster`);
 *   `REDIS_URL` then only supplies the master's credentials, db and TLS (`rediss://`), its host is
 *   not used. Sentinels with a password: `REDIS_SENTINEL_PASSWORD`.
 * - Cluster: `REDIS_CLUSTER_NODES=host:port,host:port` (seed nodes, one is enough: the rest is
 *   discovered), or a `redis-cluster://` / `rediss-cluster://` `REDIS_URL` whose host is the seed.
 *   `REDIS_URL` supplies credentials and TLS; a db other than 0 is refused (Cluster has only db 0).
 */
export const redisTopologyEnv = {
  REDIS_SENTINELS: z
    .string()
    .default('')
    .refine((v) => v.trim() === '' || parseHostList(v) !== null, 'comma-separated host:port list'),
  REDIS_SENTINEL_NAME: z.string().min(1).default('mymaster'),
  REDIS_SENTINEL_PASSWORD: z.string().default(''),
  REDIS_CLUSTER_NODES: z
    .string()
    .default('')
    .refine((v) => v.trim() === '' || parseHostList(v) !== null, 'comma-separated host:port list'),
  REDIS_TLS_CA_FILE: z.string().default(''),
};

export interface RedisTopologyConfig {
  REDIS_URL: string;
  REDIS_SENTINELS?: string;
  REDIS_SENTINEL_NAME?: string;
  REDIS_SENTINEL_PASSWORD?: string;
  REDIS_CLUSTER_NODES?: string;
  REDIS_TLS_CA_FILE?: string;
}

export type RedisTopology =
  | { kind: 'single'; url: string; tls: boolean }
  | { kind: 'sentinel'; sentinels: HostPort[]; name: string; tls: boolean }
  | { kind: 'cluster'; nodes: HostPort[]; tls: boolean };

export interface HostPort {
  host: string;
  port: number;
}

/** `host:port,host:port` (IPv6 as `[::1]:port`) → list; null when any entry is malformed. */
export function parseHostList(value: string): HostPort[] | null {
  const out: HostPort[] = [];
  for (const raw of value.split(',').map((s) => s.trim()).filter((s) => s.length > 0)) {
    const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(raw);
    const port = m ? Number(m[3]) : NaN;
    if (!m || port < 1 || port > 65_535) return null;
    out.push({ host: (m[1] ?? m[2]) as string, port });
  }
  return out.length > 0 ? out : null;
}

const CLUSTER_SCHEMES = new Set(['redis-cluster:', 'rediss-cluster:']);

/** The topology the settings describe (they were validated by the env schema; this re-checks). */
export function redisTopology(cfg: RedisTopologyConfig): RedisTopology {
  const url = new URL(cfg.REDIS_URL);
  const clusterScheme = CLUSTER_SCHEMES.has(url.protocol);
  const tls = url.protocol === 'rediss:' || url.protocol === 'rediss-cluster:';
  const sentinels = cfg.REDIS_SENTINELS?.trim() ? parseHostList(cfg.REDIS_SENTINELS) : null;
  const clusterNodes = cfg.REDIS_CLUSTER_NODES?.trim() ? parseHostList(cfg.REDIS_CLUSTER_NODES) : null;
  if (cfg.REDIS_SENTINELS?.trim() && !sentinels) throw new Error('REDIS_SENTINELS: expected host:port,host:port');
  if (cfg.REDIS_CLUSTER_NODES?.trim() && !clusterNodes) throw new Error('REDIS_CLUSTER_NODES: expected host:port,host:port');
  if (sentinels && (clusterNodes || clusterScheme)) throw new Error('REDIS_SENTINELS and a Redis Cluster setting exclude each other');
  if (sentinels) return { kind: 'sentinel', sentinels, name: cfg.REDIS_SENTINEL_NAME || 'mymaster', tls };
  if (clusterNodes || clusterScheme) {
    const seeds = [...(clusterScheme && url.hostname ? [{ host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || 6379) }] : []), ...(clusterNodes ?? [])];
    if (seeds.length === 0) throw new Error('Redis Cluster needs at least one seed node');
    if (dbOf(url) !== 0) throw new Error('Redis Cluster has only database 0; remove the /<db> from REDIS_URL');
    return { kind: 'cluster', nodes: seeds, tls };
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw new Error(`REDIS_URL: unsupported scheme ${url.protocol}`);
  return { kind: 'single', url: cfg.REDIS_URL, tls };
}

function dbOf(url: URL): number {
  const db = url.pathname.replace(/^\/+|\/+$/g, '');
  return db === '' ? 0 : Number(db);
}

/** Credentials, db and TLS from REDIS_URL, for the topologies where its host is not the server. */
function urlAuth(cfg: RedisTopologyConfig): Pick<RedisOptions, 'username' | 'password' | 'db' | 'tls'> {
  const url = new URL(cfg.REDIS_URL);
  const out: Pick<RedisOptions, 'username' | 'password' | 'db' | 'tls'> = {};
  if (url.username) out.username = decodeURIComponent(url.username);
  if (url.password) out.password = decodeURIComponent(url.password);
  const db = dbOf(url);
  if (Number.isInteger(db) && db > 0) out.db = db;
  const tls = tlsOptions(cfg);
  if (tls) out.tls = tls;
  return out;
}

function tlsOptions(cfg: RedisTopologyConfig): TlsOptions | undefined {
  const protocol = new URL(cfg.REDIS_URL).protocol;
  if (protocol !== 'rediss:' && protocol !== 'rediss-cluster:') return undefined;
  return cfg.REDIS_TLS_CA_FILE ? { ca: readFileSync(cfg.REDIS_TLS_CA_FILE) } : {};
}

function topologyFromProcessEnv(url: string): RedisTopologyConfig {
  const env = process.env;
  return {
    REDIS_URL: url,
    REDIS_SENTINELS: env.REDIS_SENTINELS ?? '',
    REDIS_SENTINEL_NAME: env.REDIS_SENTINEL_NAME ?? 'mymaster',
    REDIS_SENTINEL_PASSWORD: env.REDIS_SENTINEL_PASSWORD ?? '',
    REDIS_CLUSTER_NODES: env.REDIS_CLUSTER_NODES ?? '',
    REDIS_TLS_CA_FILE: env.REDIS_TLS_CA_FILE ?? '',
  };
}

export interface RedisConnectOptions {
  url: string;
  /** Connection name shown by CLIENT LIST; helps when many replicas share one Redis. */
  name: string;
  logger?: Logger;
  /**
   * BullMQ workers and blocking readers need `null` (retry forever); request-path clients keep a
   * small bound so a down Redis fails the request quickly (and the gateway answers 503).
   */
  maxRetriesPerRequest?: number | null;
  /**
   * Sentinel / Cluster / TLS settings. Default: read from the process environment (the services
   * validated those variables at start-up with `redisTopologyEnv`), with `url` as REDIS_URL.
   */
  topology?: RedisTopologyConfig;
  extra?: RedisOptions;
  /** Called on every connection error (metrics count them); the log line is once per distinct error. */
  onError?: (err: Error) => void;
}

/** Reconnect forever with capped backoff: a Redis restart must never need a manual action. */
const retryStrategy = (times: number) => Math.min(100 * 2 ** Math.min(times, 6), 3_000);

/**
 * After a failover a client may still be connected to a node that became a replica: reconnect
 * (and resend the command) instead of failing writes with READONLY until the socket drops.
 */
const reconnectOnError = (err: Error) => (/^(READONLY|LOADING|MASTERDOWN)/.test(err.message) ? 2 : false);

/**
 * One Redis connection for the given topology. On Redis Cluster this is an ioredis `Cluster`,
 * handed out under the `Redis` type: the code of the services only uses what both share (the
 * command interface incl. `defineCommand` scripts, single-slot MULTI/pipelines, subscribe,
 * `status`, `quit`/`disconnect`), and BullMQ accepts either. `isCluster()` tells them apart.
 */
export function createRedis(opts: RedisConnectOptions): Redis {
  const cfg = opts.topology ?? topologyFromProcessEnv(opts.url);
  const topology = redisTopology({ ...cfg, REDIS_URL: cfg.REDIS_URL || opts.url });
  const common: RedisOptions = {
    connectionName: opts.name,
    maxRetriesPerRequest: opts.maxRetriesPerRequest === undefined ? 2 : opts.maxRetriesPerRequest,
    reconnectOnError,
  };
  let client: Redis;
  if (topology.kind === 'cluster') {
    const { db: _db, ...auth } = urlAuth(cfg);
    const clusterOptions: ClusterOptions = {
      clusterRetryStrategy: retryStrategy,
      enableOfflineQueue: true,
      scaleReads: 'master',
      // Failovers and resharding: retry MOVED/ASK/CLUSTERDOWN for a while before failing a command.
      retryDelayOnFailover: 200,
      retryDelayOnClusterDown: 300,
      // Managed clusters behind TLS announce IPs while their certificates name hosts: keep the name.
      ...(topology.tls ? { dnsLookup: (address: string, cb: (err: null, address: string) => void) => cb(null, address) } : {}),
      redisOptions: { ...common, ...auth, ...(opts.extra as ClusterOptions['redisOptions']) },
    };
    client = new Cluster(topology.nodes, clusterOptions) as unknown as Redis;
  } else if (topology.kind === 'sentinel') {
    const auth = urlAuth(cfg);
    client = new Redis({
      ...common,
      ...auth,
      sentinels: topology.sentinels,
      name: topology.name,
      ...(cfg.REDIS_SENTINEL_PASSWORD ? { sentinelPassword: cfg.REDIS_SENTINEL_PASSWORD } : {}),
      ...(topology.tls ? { enableTLSForSentinelMode: true, sentinelTLS: auth.tls ?? {} } : {}),
      enableOfflineQueue: true,
      retryStrategy,
      // Ask the sentinels again on every reconnect (not the last master): that is how a failover is followed.
      sentinelRetryStrategy: retryStrategy,
      ...opts.extra,
    });
  } else {
    const tls = tlsOptions(cfg);
    client = new Redis(topology.url, {
      ...common,
      ...(tls && cfg.REDIS_TLS_CA_FILE ? { tls } : {}),
      enableOfflineQueue: true,
      retryStrategy,
      ...opts.extra,
    });
  }
  const errors = redisErrors().labels(opts.name);
  {
    const log = opts.logger?.child({ redis: opts.name });
    let lastError = '';
    client.on('error', (err: Error) => {
      errors.inc();
      opts.onError?.(err);
      // ioredis repeats the same error on every retry; log each distinct one once.
      if (err.message !== lastError) log?.warn({ err: err.message }, 'redis connection error');
      lastError = err.message;
    });
    // A Cluster reports errors of single nodes (a failed-over master, say) separately.
    if (topology.kind === 'cluster') client.on('node error', () => errors.inc());
    client.on('ready', () => {
      if (lastError) log?.info('redis connection restored');
      lastError = '';
    });
  }
  return client;
}

/** Whether a client made by createRedis talks to a Redis Cluster. */
export function isCluster(client: Redis): boolean {
  return (client as unknown as { isCluster?: boolean }).isCluster === true || client instanceof Cluster;
}

/**
 * Run `issue` (which sends commands without awaiting them) with the connection's socket corked, so
 * that everything it sends leaves in one write: one syscall, and Redis reads (and answers) them
 * together. Only for synchronous sections — nothing may wait for a reply while the socket is corked.
 * Plain single-node/Sentinel connections only; on a Cluster (no one socket) it just runs `issue`.
 */
export function writeTogether<T>(client: Redis, issue: () => T): T {
  const stream = (client as { stream?: { cork(): void; uncork(): void } }).stream;
  if (!stream || isCluster(client)) return issue();
  stream.cork();
  try {
    return issue();
  } finally {
    stream.uncork();
  }
}

/** Wait until the client is ready or throw after `timeoutMs`. */
export async function waitForRedis(client: Redis, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await client.ping();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** The Redis URL without credentials, as the base of `redis://` URIs we hand to clients. */
export function publicRedisUri(redisUrl: string): string {
  const u = new URL(redisUrl);
  const db = u.pathname && u.pathname !== '/' ? u.pathname.replace(/\/+$/, '') : '';
  return `${u.protocol}//${u.host}${db}`;
}

export async function closeRedis(client: Redis): Promise<void> {
  try {
    await client.quit();
  } catch {
    client.disconnect();
  }
}
