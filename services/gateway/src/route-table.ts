import type { Permission } from '@agent-forge/auth';
import { API_PREFIX } from '@agent-forge/contracts';

/**
 * THE place where access is decided: every route the gateway serves, with the permission it needs
 * and the rate-limit budget it spends. The app registers exactly these routes (app.ts) and guards
 * each with its row; a test walks the Express router and fails on any route missing here, and the
 * authorization matrix test is generated from this table.
 *
 * - `public`: no credential needed (health, readiness, info, docs, OpenAPI).
 * - `authenticated`: any valid credential, whatever its roles.
 * - a permission: the caller's roles must grant it (viewer < operator < admin, see @agent-forge/auth).
 */
export type Access = Permission | 'public' | 'authenticated';
export type RateBudget = 'read' | 'write';
export type Method = 'get' | 'post' | 'delete' | 'use';

export interface RouteSpec {
  /** Also the audit action name. */
  id: string;
  method: Method;
  /** Express path (`:param`); `use` mounts a sub-app under the path. */
  path: string;
  access: Access;
  /** Which budget a call spends (per subject and per IP); null: not limited (probes, docs). */
  rate: RateBudget | null;
  /** State-changing: every call is written to the audit log (auth failures always are). */
  audit: boolean;
  /** The tenant-owned resource the call names (path parameter or body): another tenant's reads as 404. */
  resource?: 'session' | 'checkpoint' | 'preset' | 'api_key';
  /**
   * Hot read answered on the fast lane (fast-lane.ts: plain node:http in front of Express, same
   * guard, headers, errors, log and metrics); must be a `get` whose path ends in its one parameter.
   */
  fastLane?: true;
}

const P = API_PREFIX;

export const ROUTES = [
  { id: 'pipeline.start', method: 'post', path: `${P}/start`, access: 'pipeline:write', rate: 'write', audit: true },
  { id: 'pipeline.control', method: 'post', path: `${P}/control`, access: 'pipeline:write', rate: 'write', audit: true, resource: 'session' },
  { id: 'pipeline.status', method: 'get', path: `${P}/status/:session_id`, access: 'pipeline:read', rate: 'read', audit: false, resource: 'session', fastLane: true },
  { id: 'pipeline.swarm', method: 'get', path: `${P}/swarm/:session_id`, access: 'pipeline:read', rate: 'read', audit: false, resource: 'session', fastLane: true },
  { id: 'quality_gates.run', method: 'post', path: `${P}/quality-gates/:session_id`, access: 'quality_gates:run', rate: 'read', audit: true, resource: 'session' },
  { id: 'checkpoint.save', method: 'post', path: `${P}/checkpoint/save`, access: 'checkpoints:write', rate: 'write', audit: true, resource: 'session' },
  { id: 'checkpoint.load', method: 'post', path: `${P}/checkpoint/load/:checkpoint_id`, access: 'checkpoints:write', rate: 'write', audit: true, resource: 'checkpoint' },
  { id: 'checkpoint.list', method: 'get', path: `${P}/checkpoints/:session_id`, access: 'pipeline:read', rate: 'read', audit: false, resource: 'session' },
  { id: 'preset.list', method: 'get', path: `${P}/presets`, access: 'pipeline:read', rate: 'read', audit: false },
  { id: 'preset.get', method: 'get', path: `${P}/preset/:name`, access: 'pipeline:read', rate: 'read', audit: false, resource: 'preset' },
  { id: 'preset.save', method: 'post', path: `${P}/preset/save`, access: 'presets:write', rate: 'write', audit: true },
  { id: 'pipeline.history', method: 'get', path: `${P}/history`, access: 'pipeline:read', rate: 'read', audit: false },
  { id: 'pipeline.health', method: 'get', path: `${P}/health`, access: 'public', rate: null, audit: false },
  { id: 'auth.whoami', method: 'get', path: '/api/v1/auth/whoami', access: 'authenticated', rate: 'read', audit: false },
  { id: 'auth.api_key.create', method: 'post', path: '/api/v1/auth/api-keys', access: 'api_keys:manage', rate: 'write', audit: true },
  { id: 'auth.api_key.list', method: 'get', path: '/api/v1/auth/api-keys', access: 'api_keys:manage', rate: 'read', audit: false },
  { id: 'auth.api_key.revoke', method: 'delete', path: '/api/v1/auth/api-keys/:key_id', access: 'api_keys:manage', rate: 'write', audit: true, resource: 'api_key' },
  { id: 'audit.list', method: 'get', path: '/api/v1/audit', access: 'audit:read', rate: 'read', audit: false },
  { id: 'info', method: 'get', path: '/api/v1/info', access: 'public', rate: null, audit: false },
  { id: 'openapi', method: 'get', path: '/openapi.json', access: 'public', rate: null, audit: false },
  { id: 'docs', method: 'use', path: '/docs', access: 'public', rate: null, audit: false },
  /** The live dashboard's static files (its API calls carry the user's token). */
  { id: 'dashboard', method: 'use', path: '/dashboard', access: 'public', rate: null, audit: false },
  { id: 'root', method: 'get', path: '/', access: 'public', rate: null, audit: false },
  { id: 'health.live', method: 'get', path: '/health/live', access: 'public', rate: null, audit: false },
  { id: 'health.ready', method: 'get', path: '/health/ready', access: 'public', rate: null, audit: false },
  /** Prometheus metrics (scrape from inside the cluster; restrict at the ingress). */
  { id: 'metrics', method: 'get', path: '/metrics', access: 'public', rate: null, audit: false },
  /** bull-board queue view (QUEUE_DASHBOARD=on): admins only. */
  { id: 'admin.queues', method: 'use', path: '/admin/queues', access: 'tenants:all', rate: 'read', audit: false },
] as const satisfies readonly RouteSpec[];

export type RouteId = (typeof ROUTES)[number]['id'];
