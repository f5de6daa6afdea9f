import { OpenAPIRegistry, OpenApiGeneratorV31, extendZodWithOpenApi } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { ErrorBody } from './errors';
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

extendZodWithOpenApi(z);

export const API_PREFIX = '/api/v1/pipeline';

export interface OpenApiOptions {
  version: string;
  /** Base URLs clients call, e.g. `[{ url: 'http://127.0.0.1:8081' }]`; defaults to the serving origin. */
  servers?: { url: string; description?: string }[];
}

type ErrorStatus = 400 | 404 | 413 | 422 | 503;
const ERROR_TEXT: Record<ErrorStatus, string> = {
  400: 'Malformed JSON (`MALFORMED_JSON`) or an action not allowed in the session status (`INVALID_STATE_TRANSITION`)',
  404: 'Unknown session, checkpoint, preset or route',
  413: 'Body over the size limit (`PAYLOAD_TOO_LARGE`)',
  422: 'Body, query or path failed validation (`VALIDATION_ERROR`; `details` names each bad field)',
  503: 'Redis is unavailable (`UNAVAILABLE`, with `Retry-After`)',
};

/** Build the registry: every route with its request and response schemas and the error shape. */
export function buildOpenApiRegistry(): OpenAPIRegistry {
  const registry = new OpenAPIRegistry();
  const error = registry.register('ErrorBody', ErrorBody);
  const json = (schema: z.ZodType, description: string) => ({ description, content: { 'application/json': { schema } } });
  const errors = (...statuses: ErrorStatus[]) =>
    Object.fromEntries([...statuses, 503 as const].map((s) => [s, json(error, ERROR_TEXT[s])]));
  const body = (schema: z.ZodType) => ({ required: true, content: { 'application/json': { schema } } });
  const sessionParam = z.object({ session_id: z.string().min(1).max(128) });

  const start = registry.register('StartPipelineRequest', StartPipelineRequest);
  const control = registry.register('ControlRequest', ControlRequest);
  const saveCp = registry.register('CheckpointSaveRequest', CheckpointSaveRequest);
  const savePreset = registry.register('PresetSaveRequest', PresetSaveRequest);
  const status = registry.register('StatusResponse', StatusResponse);
  const swarm = registry.register('SwarmStatus', SwarmStatus);
  const gates = registry.register('QualityGateResponse', QualityGateResponse);
  const checkpoint = registry.register('CheckpointResponse', CheckpointResponse);
  const preset = registry.register('ConfigPresetResponse', ConfigPresetResponse);
  const history = registry.register('ExecutionHistory', ExecutionHistory);
  const health = registry.register('HealthResponse', HealthResponse);

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
    responses: { 200: json(z.array(z.string()), 'Preset names') },
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
    responses: { 200: json(health, 'Health') },
  });
  registry.registerPath({
    method: 'get',
    path: '/api/v1/info',
    summary: 'API name, version, features and endpoints',
    responses: { 200: json(InfoResponse, 'Info') },
  });
  registry.registerPath({
    method: 'get',
    path: '/health/live',
    summary: 'Liveness: the process serves HTTP',
    responses: { 200: json(z.object({ status: z.literal('ok') }), 'Alive') },
  });
  registry.registerPath({
    method: 'get',
    path: '/health/ready',
    summary: 'Readiness: Redis answers PING',
    responses: { 200: json(z.object({ status: z.literal('ready') }), 'Ready'), ...errors() },
  });
  return registry;
}

const documents = new Map<string, ReturnType<OpenApiGeneratorV31['generateDocument']>>();

/** The OpenAPI 3.1 document of the REST API (built once per version/servers and cached). */
export function buildOpenApiDocument(opts: OpenApiOptions) {
  const cacheKey = JSON.stringify(opts);
  let doc = documents.get(cacheKey);
  if (!doc) {
    doc = new OpenApiGeneratorV31(buildOpenApiRegistry().definitions).generateDocument({
      openapi: '3.1.0',
      info: {
        title: 'Agent Forge API',
        version: opts.version,
        description: 'Run, steer, checkpoint and watch multi-phase model-building pipelines. Every non-2xx body has the `ErrorBody` shape.',
      },
      ...(opts.servers ? { servers: opts.servers } : {}),
    });
    documents.set(cacheKey, doc);
  }
  return doc;
}
