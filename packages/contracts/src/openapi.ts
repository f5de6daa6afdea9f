import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { PIPELINE_PHASES } from './enums';
import { ApiKeyCreateRequest, ApiKeyCreated, ApiKeyInfo, ApiKeyRevoked, AuditPage, AuditQuery, WhoAmIResponse } from './auth';
import { ErrorBody } from './errors';
import { decorateOpenApiDocument } from './openapi-examples';
import { PHASE_CONFIG_SCHEMAS } from './phase-config';
import {
  CheckpointSaveRequest,
  ControlRequest,
  HistoryQuery,
  PresetSaveRequest,
  QualityGateQuery,
  StartPipelineRequest,
} from './requests';
import {
  CheckpointLoadResponse,
  CheckpointResponse,
  ConfigPresetResponse,
  ControlResponse,
  ExecutionHistory,
  HealthResponse,
  InfoResponse,
  QualityGateResponse,
  StartPipelineResponse,
  StatusResponse,
  SwarmStatus,
} from './responses';

export const API_PREFIX = '/api/v1/pipeline';

export interface OpenApiOptions {
  version: string;
  /** Base URLs clients call, e.g. `[{ url: 'http://127.0.0.1:8081' }]`; defaults to the serving origin. */
  servers?: { url: string; description?: string }[];
}

/**
 * The named component schemas. zod's `.meta({ id })` names a schema for zod-to-openapi without
 * `extendZodWithOpenApi` (which would have to patch zod before any schema of ours is created);
 * ids are unique in zod's global registry, so they are made once per process.
 */
let named: ReturnType<typeof makeNamedSchemas> | null = null;
function makeNamedSchemas() {
  const entries = {
    ErrorBody,
    StartPipelineRequest,
    ControlRequest,
    CheckpointSaveRequest,
    PresetSaveRequest,
    StatusResponse,
    SwarmStatus,
    QualityGateResponse,
    CheckpointResponse,
    ConfigPresetResponse,
    ExecutionHistory,
    HealthResponse,
    ApiKeyCreateRequest,
    ApiKeyInfo,
    ApiKeyCreated,
    AuditPage,
    WhoAmIResponse,
    /** Documentation of `config.<phase>` (the start body keeps `config` an open object). */
    PhaseConfigs: z
      .object(Object.fromEntries(PIPELINE_PHASES.map((p) => [p, PHASE_CONFIG_SCHEMAS[p].optional()])))
      .describe('Known keys of `config.<phase>` in a start request, with their defaults; unknown keys are kept and passed to the phase.'),
  };
  const out = {} as { [K in keyof typeof entries]: z.ZodType };
  for (const id of Object.keys(entries) as (keyof typeof entries)[]) out[id] = entries[id].meta({ id });
  return out;
}
function namedSchemas() {
  named ??= makeNamedSchemas();
  return named;
}

type ErrorStatus = 400 | 401 | 403 | 404 | 413 | 422 | 429 | 503;
const ERROR_TEXT: Record<ErrorStatus, string> = {
  400: 'Malformed JSON (`MALFORMED_JSON`) or an action not allowed in the session status (`INVALID_STATE_TRANSITION`)',
  401: 'No credential, or an invalid, expired or revoked one (`UNAUTHENTICATED`, with `WWW-Authenticate`)',
  403: "The caller's roles lack the permission this route needs (`FORBIDDEN`)",
  404: "Unknown session, checkpoint, preset or route — also another tenant's (no existence leak)",
  429: 'Rate limit exceeded (`RATE_LIMITED`, with `Retry-After` and `RateLimit-*` headers)',
  413: 'Body over the size limit (`PAYLOAD_TOO_LARGE`)',
  422: 'Body, query or path failed validation (`VALIDATION_ERROR`; `details` names each bad field)',
  503: 'Redis is unavailable (`UNAVAILABLE`, with `Retry-After`)',
};

/** Build the registry: every route with its request and response schemas and the error shape. */
export function buildOpenApiRegistry(): OpenAPIRegistry {
  const registry = new OpenAPIRegistry();
  const s = namedSchemas();
  const error = s.ErrorBody;
  const json = (schema: z.ZodType, description: string) => ({ description, content: { 'application/json': { schema } } });
  /** Errors of a protected route: its own plus 401, 403, 429 and 503. */
  const errors = (...statuses: ErrorStatus[]) =>
    Object.fromEntries([...statuses, 401 as const, 403 as const, 429 as const, 503 as const].sort().map((s) => [s, json(error, ERROR_TEXT[s])]));
  const publicErrors = (...statuses: ErrorStatus[]) => Object.fromEntries([...statuses, 503 as const].map((s) => [s, json(error, ERROR_TEXT[s])]));
  registry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT or API key',
    description: 'A JWT from your identity provider (HS256/RS256/ES256; claims `sub`, `tenant`, `roles`) or an API key (`afk_…`).',
  });
  registry.registerComponent('securitySchemes', 'apiKey', { type: 'apiKey', in: 'header', name: 'X-Api-Key', description: 'An API key (`afk_…`).' });
  const body = (schema: z.ZodType) => ({ required: true, content: { 'application/json': { schema } } });
  const sessionParam = z.object({ session_id: z.string().min(1).max(128) });

  const start = s.StartPipelineRequest;
  const control = s.ControlRequest;
  const saveCp = s.CheckpointSaveRequest;
  const savePreset = s.PresetSaveRequest;
  const status = s.StatusResponse;
  const swarm = s.SwarmStatus;
  const gates = s.QualityGateResponse;
  const checkpoint = s.CheckpointResponse;
  const preset = s.ConfigPresetResponse;
  const history = s.ExecutionHistory;
  const health = s.HealthResponse;

  const p = API_PREFIX;
  registry.registerPath({
    method: 'post',
    path: `${p}/start`,
    summary: 'Start a pipeline (returns at once; the first phase is queued)',
    description: 'Give `phases`, or `preset` (its fields apply unless the request sets them). Per-phase config sits under `config.<phase>`.',
    request: { body: body(start) },
    responses: { 200: json(StartPipelineResponse, 'Session created'), ...errors(400, 404, 413, 422) },
  });
  registry.registerPath({
    method: 'post',
    path: `${p}/control`,
    summary: 'Pause, resume, stop (checkpoint, then end) or cancel a session',
    request: { body: body(control) },
    responses: { 200: json(ControlResponse, 'Action applied'), ...errors(400, 404, 413, 422) },
  });
  registry.registerPath({
    method: 'get',
    path: `${p}/status/{session_id}`,
    summary: 'Session status, progress, ETA and per-phase metrics',
    request: { params: sessionParam },
    responses: { 200: json(status, 'Session status'), ...errors(404) },
  });
  registry.registerPath({
    method: 'get',
    path: `${p}/swarm/{session_id}`,
    summary: "The session's agent swarm",
    request: { params: sessionParam },
    responses: { 200: json(swarm, 'Swarm status'), ...errors(404) },
  });
  registry.registerPath({
    method: 'post',
    path: `${p}/quality-gates/{session_id}`,
    summary: "Judge a phase's quality gates from measured data (default: current phase, else the last)",
    request: { params: sessionParam, query: QualityGateQuery },
    responses: { 200: json(gates, 'Gate results'), ...errors(404, 422) },
  });
  registry.registerPath({
    method: 'post',
    path: `${p}/checkpoint/save`,
    summary: "Save a consistent snapshot of a session's state",
    request: { body: body(saveCp) },
    responses: { 200: json(checkpoint, 'Checkpoint saved'), ...errors(400, 404, 413, 422) },
  });
  registry.registerPath({
    method: 'post',
    path: `${p}/checkpoint/load/{checkpoint_id}`,
    summary: 'Restore a checkpoint (into a new session when the original is still live) and continue it',
    request: { params: z.object({ checkpoint_id: z.string().min(1).max(128) }) },
    responses: { 200: json(CheckpointLoadResponse, 'Checkpoint loaded'), ...errors(404) },
  });
  registry.registerPath({
    method: 'get',
    path: `${p}/checkpoints/{session_id}`,
    summary: "A session's checkpoints, newest first (our addition)",
    request: { params: sessionParam },
    responses: { 200: json(z.array(checkpoint), 'Checkpoints'), ...errors(404) },
  });
  registry.registerPath({
    method: 'get',
    path: `${p}/presets`,
    summary: 'Names of the built-in and saved presets',
    responses: { 200: json(z.array(z.string()), 'Preset names'), ...errors() },
  });
  registry.registerPath({
    method: 'get',
    path: `${p}/preset/{name}`,
    summary: 'One preset',
    request: { params: z.object({ name: z.string().min(1).max(64) }) },
    responses: { 200: json(preset, 'Preset'), ...errors(404) },
  });
  registry.registerPath({
    method: 'post',
    path: `${p}/preset/save`,
    summary: 'Save (or replace) a user preset; built-in names are refused',
    request: { body: body(savePreset) },
    responses: { 200: json(preset, 'Preset saved'), ...errors(400, 413, 422) },
  });
  registry.registerPath({
    method: 'get',
    path: `${p}/history`,
    summary: 'Sessions newest first; the status filter applies before the limit',
    request: { query: HistoryQuery },
    responses: { 200: json(z.array(history), 'History'), ...errors(422) },
  });
  registry.registerPath({
    method: 'get',
    path: `${p}/health`,
    summary: 'Measured health (answers 200 even when degraded)',
    security: [],
    responses: { 200: json(health, 'Health') },
  });
  registry.registerPath({
    method: 'get',
    path: '/api/v1/info',
    summary: 'API name, version, features and endpoints',
    security: [],
    responses: { 200: json(InfoResponse, 'Info') },
  });
  registry.registerPath({
    method: 'get',
    path: '/health/live',
    summary: 'Liveness: the process serves HTTP',
    security: [],
    responses: { 200: json(z.object({ status: z.literal('ok') }), 'Alive') },
  });
  registry.registerPath({
    method: 'get',
    path: '/health/ready',
    summary: 'Readiness: Redis answers PING',
    security: [],
    responses: { 200: json(z.object({ status: z.literal('ready') }), 'Ready'), ...publicErrors() },
  });
  registry.registerPath({
    method: 'get',
    path: '/api/v1/auth/whoami',
    summary: 'Who the credential identifies: subject, tenant, roles, permissions (any valid credential)',
    responses: { 200: json(s.WhoAmIResponse, 'The caller'), ...errors() },
  });
  registry.registerPath({
    method: 'post',
    path: '/api/v1/auth/api-keys',
    summary: 'Create an API key (admin). The key is in this answer only; only its SHA-256 is stored.',
    request: { body: body(s.ApiKeyCreateRequest) },
    responses: { 201: json(s.ApiKeyCreated, 'Key created'), ...errors(400, 413, 422) },
  });
  registry.registerPath({
    method: 'get',
    path: '/api/v1/auth/api-keys',
    summary: 'List API keys (admin; no secrets), newest first',
    request: { query: z.object({ tenant: z.string().optional() }) },
    responses: { 200: json(z.array(s.ApiKeyInfo), 'Keys'), ...errors(422) },
  });
  registry.registerPath({
    method: 'delete',
    path: '/api/v1/auth/api-keys/{key_id}',
    summary: 'Revoke an API key (admin); effective on the next request on every replica',
    request: { params: z.object({ key_id: z.string() }) },
    responses: { 200: json(ApiKeyRevoked, 'Key revoked'), ...errors(404) },
  });
  registry.registerPath({
    method: 'get',
    path: '/api/v1/audit',
    summary: 'Page through the audit log (admin), newest first, with filters',
    request: { query: AuditQuery },
    responses: { 200: json(s.AuditPage, 'One page of entries'), ...errors(422) },
  });
  registerSiteRoutes(registry);
  return registry;
}

/** What the gateway serves besides the JSON API: this document, the docs, the dashboard, metrics. */
function registerSiteRoutes(registry: OpenAPIRegistry): void {
  const html = (description: string) => ({ description, content: { 'text/html': { schema: z.string() } } });
  registry.registerPath({
    method: 'get',
    path: '/openapi.json',
    summary: 'This OpenAPI 3.1 document',
    responses: { 200: { description: 'The document', content: { 'application/json': { schema: z.record(z.string(), z.unknown()) } } } },
  });
  registry.registerPath({ method: 'get', path: '/docs', summary: 'Interactive API documentation (Swagger UI, served offline)', responses: { 200: html('Swagger UI') } });
  registry.registerPath({
    method: 'get',
    path: '/dashboard',
    summary: 'The live dashboard (static page; its script talks to this API and the WebSocket channels)',
    description: 'Served under `/dashboard/` with a strict Content-Security-Policy (no inline script or style).',
    responses: { 200: html('The dashboard page'), 301: { description: 'Redirect from `/dashboard` to `/dashboard/`' } },
  });
  registry.registerPath({ method: 'get', path: '/', summary: 'Redirects to the API docs', responses: { 302: { description: 'Redirect to `/docs`' } } });
  registry.registerPath({
    method: 'get',
    path: '/metrics',
    summary: 'Prometheus metrics of this gateway process (text exposition format)',
    responses: { 200: { description: 'Metrics', content: { 'text/plain': { schema: z.string() } } } },
  });
}

const API_DESCRIPTION = [
  'Run, steer, checkpoint and watch multi-phase model-building pipelines. Every non-2xx body has the `ErrorBody` shape; clients branch on `error_code`.',
  '',
  '**Live events** are served by the realtime service on the same entry URL: `ws(s)://<host>/ws/{agents|tasks|metrics|pipeline|dashboard}?session_id=<id>` (resume with `last_event_id` and `epoch`; see PROTOCOL.md).',
  '',
  '**Authentication**: when the server runs with authentication on, send `Authorization: Bearer <token>` (a JWT or an API key) on every call and `?token=<token>` on WebSocket URLs; without it, no credential is needed.',
  '',
  '**Clients**: the TypeScript SDK `@agent-forge/sdk` and the `agent-forge` CLI cover every operation here; the dashboard is at `/dashboard`.',
].join('\n');

/** The parts of an OpenAPI 3.1 document callers look at (the full object is plain JSON). */
export interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string; description?: string };
  paths?: Record<string, Record<string, unknown>>;
  components?: { schemas?: Record<string, unknown>; [key: string]: unknown };
  [key: string]: unknown;
}

const documents = new Map<string, OpenApiDocument>();

/** The OpenAPI 3.1 document of the REST API (built once per version/servers and cached). */
export function buildOpenApiDocument(opts: OpenApiOptions): OpenApiDocument {
  const cacheKey = JSON.stringify(opts);
  let doc = documents.get(cacheKey);
  if (!doc) {
    // PhaseConfigs is referenced by no route (config stays an open object), so it is listed explicitly.
    doc = new OpenApiGeneratorV31([...buildOpenApiRegistry().definitions, { type: 'schema', schema: namedSchemas().PhaseConfigs }]).generateDocument({
      openapi: '3.1.0',
      info: {
        title: 'Agent Forge API',
        version: opts.version,
        description: API_DESCRIPTION,
      },
      ...(opts.servers ? { servers: opts.servers } : {}),
      security: [{ bearer: [] }, { apiKey: [] }],
    }) as OpenApiDocument;
    decorateOpenApiDocument(doc);
    documents.set(cacheKey, doc);
  }
  return doc;
}
