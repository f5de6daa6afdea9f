import { Authenticator, resolveAuthSettings } from '@agent-forge/auth';
import type { Logger, Redis } from '@agent-forge/runtime';
import type { PhaseQueues } from '@agent-forge/engine';
import { ApiKeyStore, CheckpointStore, PresetStore, SessionStore, type Keys } from '@agent-forge/state';
import { Auditor } from './audit';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { publicRedisUri, type GatewayConfig } from './config';
import { RateLimits } from './rate-limit';

/** What the app is built from; tests pass their own Redis prefix and queues. */
export interface GatewayDeps {
  redis: Redis;
  keys: Keys;
  queues: PhaseQueues;
  logger: Logger;
  config: GatewayConfig;
  /** When this process started serving (ms since epoch); health reports uptime from it. */
  startedAt: number;
}

/** Everything a route needs; all state lives in Redis, so any replica answers identically. */
export interface GatewayContext extends GatewayDeps {
  sessions: SessionStore;
  checkpoints: CheckpointStore;
  presets: PresetStore;
  apiKeys: ApiKeyStore;
  /** Verifies credentials (JWT, API keys); shared logic with the realtime service. */
  auth: Authenticator;
  /** Rate budgets in Redis (null when RATE_LIMIT_ENABLED is off). */
  limits: RateLimits | null;
  auditor: Auditor;
  /** REDIS_URL without credentials: the base of checkpoint URIs. */
  uriBase: string;
  version: string;
}

function readVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

export const GATEWAY_VERSION = readVersion();

export function createContext(deps: GatewayDeps): GatewayContext {
  const sessions = new SessionStore(deps.redis, deps.keys, {
    retentionSeconds: deps.config.SESSION_RETENTION_SECONDS,
    historyMax: deps.config.HISTORY_MAX_ENTRIES,
  });
  const apiKeys = new ApiKeyStore(deps.redis, deps.keys);
  return {
    ...deps,
    sessions,
    checkpoints: new CheckpointStore(deps.redis, deps.keys, sessions),
    presets: new PresetStore(deps.redis, deps.keys),
    apiKeys,
    auth: new Authenticator(resolveAuthSettings(deps.config), apiKeys),
    limits: deps.config.RATE_LIMIT_ENABLED ? new RateLimits(deps.redis, deps.keys, deps.config) : null,
    auditor: new Auditor(deps.redis, deps.keys, deps.config, deps.logger),
    uriBase: publicRedisUri(deps.config.REDIS_URL),
    version: GATEWAY_VERSION,
  };
}

/** The request id of the access log (honouring a sane incoming `x-request-id`). */
export function requestIdOf(req: { id?: unknown }): string | undefined {
  return typeof req.id === 'string' ? req.id : req.id === undefined ? undefined : String(req.id);
}
