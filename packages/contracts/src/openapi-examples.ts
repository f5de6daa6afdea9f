import { ERROR_CATALOGUE, errorBody, type ErrorBody, type ErrorCode } from './errors';
import type {
  CheckpointSaveRequest,
  ControlRequest,
  HistoryQuery,
  PresetSaveRequest,
  QualityGateQuery,
  StartPipelineRequest,
} from './requests';
import type {
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

/**
 * What the generated OpenAPI document gets on top of the zod schemas: an operationId, tag and
 * examples for every operation, descriptions and examples for every parameter, an example for
 * every error status (one per `error_code` that status can carry) and the response headers
 * (`X-Request-Id`, `Retry-After`). Every example is typed with the contract's types here, and a
 * test parses each one with its zod schema, so an example can never drift from the wire format.
 */

const SESSION = '6b0c2f4e-9a51-4d1e-8a7e-2f4d3c1b0a99';
const CHECKPOINT = 'ckpt-1764070012345-3f9a';
const AT = '2026-11-25T12:00:00.000Z';

const agent = {
  agent_id: `${SESSION}.evomerge.0`,
  role: 'evomerge-worker',
  phase: 'evomerge',
  state: 'executing',
  current_task: 'generation 4 of 10',
  memory_usage_mb: 212.4,
  cpu_usage_percent: 97.1,
  uptime_seconds: 3.2,
} satisfies StatusResponse['active_agents'][number];

const statusExample = {
  session_id: SESSION,
  status: 'running',
  current_phase: 'evomerge',
  phases_completed: ['cognate'],
  phases_remaining: ['evomerge'],
  total_progress_percent: 70,
  elapsed_seconds: 6.4,
  estimated_remaining_seconds: 2.7,
  phase_metrics: [
    {
      phase: 'cognate',
      status: 'completed',
      progress_percent: 100,
      duration_seconds: 4.1,
      memory_usage_mb: 198.2,
      gpu_utilization_percent: null,
      custom_metrics: { val_loss: 2.31, perplexity: 10.07, accuracy: 0.34, pretrained_val_losses: [2.44, 2.39, 2.41] },
      error_message: null,
      artifacts: {
        model: { uri: `file:///data/artifacts/${SESSION}/cognate/model.bin`, sha256: 'a3f1…', size_bytes: 181_248, media_type: 'application/octet-stream' },
      },
    },
    {
      phase: 'evomerge',
      status: 'running',
      progress_percent: 40,
      duration_seconds: 2.3,
      memory_usage_mb: 212.4,
      gpu_utilization_percent: null,
      custom_metrics: { fitness_scores: [0.091, 0.095, 0.097, 0.099] },
      error_message: null,
      artifacts: {},
    },
  ],
  agent_count: 1,
  active_agents: [agent],
  last_checkpoint: null,
  progress_percent: 70,
  phases: ['cognate', 'evomerge'],
  metrics: { cognate: { val_loss: 2.31, perplexity: 10.07 }, evomerge: { fitness_scores: [0.091, 0.095, 0.097, 0.099] } },
  created_at: AT,
  updated_at: '2026-11-25T12:00:06.400Z',
  status_reason: null,
  heartbeat_age_seconds: 0.4,
  worker_id: 'worker-a-4211',
} satisfies StatusResponse;

const swarmExample = {
  topology: 'hierarchical',
  total_agents: 1,
  active_agents: 1,
  idle_agents: 0,
  agents: [agent],
  memory_usage_mb: 212.4,
  cpu_usage_percent: 97.1,
  gpu_usage_percent: null,
  communication_latency_ms: null,
  session_id: SESSION,
  agent_distribution: { evomerge: 1 },
  max_agents: 20,
} satisfies SwarmStatus;

/** The cognate phase of a default forge run (figures from a real run, seed 1337): every number was measured. */
const theaterExample = {
  theater_detected: false,
  confidence: 0.6667,
  theater_score: 0,
  indicators: {
    fake_metrics: {
      score: 0,
      fired: false,
      measured: true,
      checks: [
        { check: 'val_accuracy vs re-measured accuracy', claimed: 0.527344, measured: 0.567274, tolerance: 0.05, passed: true, severity: 0, detail: "the output model's next-character accuracy on the engine's audit split" },
        { check: 'val_loss vs re-measured loss', claimed: 1.637644, measured: 1.504503, tolerance: 0.15, passed: true, severity: 0, detail: "the output model's held-out loss in nats on the audit split" },
      ],
    },
    shallow_implementation: {
      score: 0,
      fired: false,
      measured: true,
      checks: [{ check: 'no placeholder weights', claimed: null, measured: 'none constant', tolerance: 'no weight matrix or embedding with all values equal', passed: true, severity: 0, detail: 'placeholder outputs (all-zero or constant tensors) are not a trained model' }],
    },
    performance_theater: { score: 0, fired: false, measured: false, checks: [] },
    evidence: { phase: 'cognate', output_audit: { examples: 3954, loss: 1.504503, perplexity: 4.501915, accuracy: 0.567274, inference_ms_per_1k: 34.985 }, input_audit: null },
    thresholds: { accuracy_tolerance: 0.05, loss_tolerance: 0.15, min_weight_change: 0.001, size_tolerance: 0.01, sparsity_tolerance: 0.02, speedup_tolerance: 2, theater_score: 0.3 },
  },
  recommendations: ['performance_theater checked nothing: the phase claimed no sizes, compression ratios, sparsity or speed-ups.'],
};

const gatesExample = {
  phase: 'cognate',
  all_gates_passed: true,
  gates_passed: 3,
  gates_failed: 0,
  gate_results: [
    {
      gate_name: 'Model Creation',
      passed: true,
      score: 1,
      threshold: 1,
      details: { checks: [{ metric: 'val_loss', value: 1.637644, op: '<=', threshold: 3, passed: true }], description: 'Models were created and pre-training reduced every model’s held-out loss.' },
      recommendations: [],
    },
    {
      gate_name: 'Integrity',
      passed: true,
      score: 1,
      threshold: 1,
      details: { checks: [{ metric: 'weights_finite', value: true, op: '==', threshold: true, passed: true }], description: 'No NaN/Inf weights, artifact checksums verify, metrics complete, result reproducible from the seed.', not_run: ['reproducible'] },
      recommendations: [],
    },
    {
      gate_name: 'Theater Elimination',
      passed: true,
      score: 1,
      threshold: 1,
      details: { checks: [{ metric: 'theater_score', value: 0, op: '<=', threshold: 0.3, passed: true }], theater_detection: theaterExample },
      recommendations: [],
    },
  ],
  theater_detection: theaterExample,
  blocking_failures: [],
  can_proceed: true,
  session_id: SESSION,
  overall_passed: true,
  results: [
    { phase: 'cognate', gate_name: 'Model Creation', passed: true, score: 1, threshold: 1, metrics: { checks: [{ metric: 'val_loss', value: 1.637644, op: '<=', threshold: 3, passed: true }] } },
    { phase: 'cognate', gate_name: 'Integrity', passed: true, score: 1, threshold: 1, metrics: { checks: [{ metric: 'weights_finite', value: true, op: '==', threshold: true, passed: true }] } },
    { phase: 'cognate', gate_name: 'Theater Elimination', passed: true, score: 1, threshold: 1, metrics: { checks: [{ metric: 'theater_score', value: 0, op: '<=', threshold: 0.3, passed: true }] } },
  ],
} satisfies QualityGateResponse;

const checkpointExample = {
  checkpoint_id: CHECKPOINT,
  session_id: SESSION,
  phase: 'evomerge',
  timestamp: AT,
  size_mb: 0.0132,
  model_included: true,
  swarm_included: true,
  path: `redis://127.0.0.1:6379/af:{s:${SESSION}}:ckpt:${CHECKPOINT}`,
  checkpoint_name: 'before-evomerge',
} satisfies CheckpointResponse;

const presetExample = {
  preset_name: 'quick_test',
  config: { phases: ['cognate', 'evomerge'], max_agents: 20 },
  created_at: AT,
  last_used: '2026-11-25T12:30:00.000Z',
  usage_count: 3,
  builtin: true,
} satisfies ConfigPresetResponse;

const historyExample = {
  session_id: SESSION,
  start_time: AT,
  end_time: '2026-11-25T12:00:09.100Z',
  status: 'completed',
  phases: ['cognate', 'evomerge'],
  success: true,
  duration_seconds: 9.1,
  final_metrics: { cognate: { val_loss: 2.31 }, evomerge: { final_fitness: 0.101 } },
} satisfies ExecutionHistory;

const healthExample = {
  status: 'healthy',
  version: '0.1.0',
  uptime_seconds: 3600.5,
  active_sessions: 2,
  total_memory_mb: 24_000,
  available_memory_mb: 18_200,
  redis: 'up',
  process_memory_mb: 96.3,
} satisfies HealthResponse;

const infoExample = {
  name: 'Agent Forge API',
  version: '0.1.0',
  description: 'Run, steer, checkpoint and watch multi-phase model-building pipelines.',
  features: ['8-phase pipeline', 'real-time events over WebSocket'],
  endpoints: { start: 'POST /api/v1/pipeline/start', status: 'GET /api/v1/pipeline/status/{session_id}' },
} satisfies InfoResponse;

interface NamedExample<T = unknown> {
  summary: string;
  value: T;
}

/** Request body examples (named), checked against the request schemas by a test. */
export const REQUEST_EXAMPLES = {
  start: {
    preset: { summary: 'A built-in preset', value: { preset: 'quick_test' } },
    phases: {
      summary: 'Chosen phases with per-phase config',
      value: {
        phases: ['cognate', 'evomerge', 'training'],
        config: { seed: 7, cognate: { models_created: 2, pretrain_steps: 200 }, training: { learning_rate: 0.002, optimizer: 'adamw' } },
        swarm_topology: 'hierarchical',
        max_agents: 20,
      },
    },
    dry_run: {
      summary: 'The dry-run executor (orchestration only, 20 steps of 100 ms per phase)',
      value: { phases: ['cognate', 'evomerge'], config: { executor: 'dry-run', dry_run: { steps: 20, step_ms: 100 } } },
    },
  } satisfies Record<string, NamedExample<StartPipelineRequest | Record<string, unknown>>>,
  control: {
    pause: { summary: 'Pause a running session', value: { action: 'pause', session_id: SESSION } },
    cancel: { summary: 'Cancel even if its worker does not answer', value: { action: 'cancel', session_id: SESSION, force: true } },
  } satisfies Record<string, NamedExample<Partial<ControlRequest>>>,
  checkpointSave: {
    named: { summary: 'A named checkpoint', value: { session_id: SESSION, checkpoint_name: 'before-evomerge' } },
  } satisfies Record<string, NamedExample<Partial<CheckpointSaveRequest>>>,
  presetSave: {
    mine: {
      summary: 'A preset of two phases with config',
      value: { preset_name: 'my_fast', config: { phases: ['cognate', 'evomerge'], max_agents: 10, config: { evomerge: { generations: 5 } } } },
    },
  } satisfies Record<string, NamedExample<PresetSaveRequest>>,
};

/** Response examples by operationId (2xx), checked against the response schemas by a test. */
export const RESPONSE_EXAMPLES: Record<string, unknown> = {
  whoami: { sub: 'alice', tenant: 'acme', roles: ['operator'], via: 'jwt', permissions: ['pipeline:read', 'pipeline:write', 'checkpoints:write', 'presets:write', 'quality_gates:run'], scope: 'acme' },
  createApiKey: { ...{ key_id: 'k_4f1c2a9e', name: 'ci-runner', tenant: 'acme', roles: ['operator'], created_at: '2026-11-25T12:00:00.000Z', created_by: 'alice', last_used_at: null, expires_at: null }, key: 'afk_k_4f1c2a9e_Zx8Qm1v0yT3pL6rN2sW9bE5hJ7cK4dA0' },
  listApiKeys: [{ key_id: 'k_4f1c2a9e', name: 'ci-runner', tenant: 'acme', roles: ['operator'], created_at: '2026-11-25T12:00:00.000Z', created_by: 'alice', last_used_at: null, expires_at: null }],
  revokeApiKey: { key_id: 'k_4f1c2a9e', revoked: true },
  listAuditEntries: {
    entries: [{ id: '1795611598612-0', time: '2026-11-25T12:00:00.000Z', actor: 'alice', tenant: 'acme', action: 'pipeline.start', target: '', outcome: 'success', status: 200, request_id: 'req-1', ip: '127.0.0.1', reason: '' }],
    next_cursor: null,
  },
  startPipeline: { session_id: SESSION, status: 'started' } satisfies StartPipelineResponse,
  controlPipeline: { status: 'success', action: 'pause', session_id: SESSION, pipeline_status: 'paused' } satisfies ControlResponse,
  getStatus: statusExample,
  getSwarm: swarmExample,
  runQualityGates: gatesExample,
  saveCheckpoint: checkpointExample,
  loadCheckpoint: { status: 'loaded', checkpoint_id: CHECKPOINT, session_id: SESSION, next_phase: 'evomerge' } satisfies CheckpointLoadResponse,
  listCheckpoints: [checkpointExample],
  listPresets: ['compression_only', 'full_pipeline', 'my_fast', 'quick_test'],
  getPreset: presetExample,
  savePreset: { ...presetExample, preset_name: 'my_fast', builtin: false, usage_count: 0, last_used: null },
  listHistory: [historyExample],
  getHealth: healthExample,
  getInfo: infoExample,
  live: { status: 'ok' },
  ready: { status: 'ready' },
};

/** Which schema each response example must satisfy (for the test). */
export const RESPONSE_EXAMPLE_SCHEMAS = {
  startPipeline: 'StartPipelineResponse',
  controlPipeline: 'ControlResponse',
  getStatus: 'StatusResponse',
  getSwarm: 'SwarmStatus',
  runQualityGates: 'QualityGateResponse',
  saveCheckpoint: 'CheckpointResponse',
  loadCheckpoint: 'CheckpointLoadResponse',
  getPreset: 'ConfigPresetResponse',
  savePreset: 'ConfigPresetResponse',
  getHealth: 'HealthResponse',
  getInfo: 'InfoResponse',
} as const;

/** One example body per error code, as the gateway words them. */
export const ERROR_EXAMPLES: Record<ErrorCode, ErrorBody> = {
  VALIDATION_ERROR: errorBody('VALIDATION_ERROR', 'request validation failed', { phases: 'at least one phase is required', max_agents: 'Too big: expected number to be <=100' }, new Date(AT)),
  MALFORMED_JSON: errorBody('MALFORMED_JSON', 'request body is not valid JSON', null, new Date(AT)),
  PAYLOAD_TOO_LARGE: errorBody('PAYLOAD_TOO_LARGE', 'request body exceeds the size limit', null, new Date(AT)),
  MALFORMED_REQUEST: errorBody('MALFORMED_REQUEST', 'the HTTP request could not be parsed', null, new Date(AT)),
  REQUEST_TIMEOUT: errorBody('REQUEST_TIMEOUT', 'the request was not received in time', null, new Date(AT)),
  HEADERS_TOO_LARGE: errorBody('HEADERS_TOO_LARGE', 'request headers exceed the size limit (16 KiB)', null, new Date(AT)),
  INVALID_STATE_TRANSITION: errorBody(
    'INVALID_STATE_TRANSITION',
    'cannot resume a session that is running; resume is allowed only when the session is paused',
    { current_status: 'running', action: 'resume' },
    new Date(AT),
  ),
  SESSION_NOT_FOUND: errorBody('SESSION_NOT_FOUND', `session ${SESSION} does not exist`, { session_id: SESSION }, new Date(AT)),
  CHECKPOINT_NOT_FOUND: errorBody('CHECKPOINT_NOT_FOUND', `checkpoint ${CHECKPOINT} does not exist`, { checkpoint_id: CHECKPOINT }, new Date(AT)),
  PRESET_NOT_FOUND: errorBody('PRESET_NOT_FOUND', 'preset "nightly" does not exist', { preset_name: 'nightly' }, new Date(AT)),
  NOT_FOUND: errorBody('NOT_FOUND', 'no route for GET /api/v1/pipeline/nope', null, new Date(AT)),
  METHOD_NOT_ALLOWED: errorBody('METHOD_NOT_ALLOWED', 'method not allowed', null, new Date(AT)),
  UNSUPPORTED_MEDIA_TYPE: errorBody('UNSUPPORTED_MEDIA_TYPE', 'unsupported charset "latin-1"', null, new Date(AT)),
  UPGRADE_REQUIRED: errorBody('UPGRADE_REQUIRED', 'this endpoint speaks WebSocket', null, new Date(AT)),
  UNAUTHENTICATED: errorBody('UNAUTHENTICATED', 'a bearer token or API key is required', null, new Date(AT)),
  FORBIDDEN: errorBody('FORBIDDEN', 'your roles do not grant pipeline:write', { required: 'pipeline:write' }, new Date(AT)),
  RATE_LIMITED: errorBody('RATE_LIMITED', 'rate limit exceeded; retry after 2 s', { retry_after_seconds: 2 }, new Date(AT)),
  UNAVAILABLE: errorBody('UNAVAILABLE', 'a dependency (Redis) is unavailable; retry shortly', null, new Date(AT)),
  INTERNAL_ERROR: errorBody('INTERNAL_ERROR', 'internal server error', null, new Date(AT)),
};

export interface OperationInfo {
  operationId: string;
  tag: 'Pipeline' | 'Checkpoints' | 'Presets' | 'System' | 'Auth';
  /** The 404 codes this operation answers with (default: all of them). */
  notFound?: ErrorCode[];
  /** The 400 codes this operation answers with (default: all of them). */
  badRequest?: ErrorCode[];
  /** Named request body examples. */
  requestExamples?: Record<string, NamedExample>;
}

const P = '/api/v1/pipeline';
/** Every documented operation, by `<method> <path>`. The coverage test fails on a route missing here. */
export const OPERATIONS: Record<string, OperationInfo> = {
  [`post ${P}/start`]: { operationId: 'startPipeline', tag: 'Pipeline', notFound: ['PRESET_NOT_FOUND'], badRequest: ['MALFORMED_JSON'], requestExamples: REQUEST_EXAMPLES.start },
  [`post ${P}/control`]: { operationId: 'controlPipeline', tag: 'Pipeline', notFound: ['SESSION_NOT_FOUND'], requestExamples: REQUEST_EXAMPLES.control },
  [`get ${P}/status/{session_id}`]: { operationId: 'getStatus', tag: 'Pipeline', notFound: ['SESSION_NOT_FOUND'] },
  [`get ${P}/swarm/{session_id}`]: { operationId: 'getSwarm', tag: 'Pipeline', notFound: ['SESSION_NOT_FOUND'] },
  [`post ${P}/quality-gates/{session_id}`]: { operationId: 'runQualityGates', tag: 'Pipeline', notFound: ['SESSION_NOT_FOUND'] },
  [`post ${P}/checkpoint/save`]: {
    operationId: 'saveCheckpoint',
    tag: 'Checkpoints',
    notFound: ['SESSION_NOT_FOUND'],
    badRequest: ['MALFORMED_JSON'],
    requestExamples: REQUEST_EXAMPLES.checkpointSave,
  },
  [`post ${P}/checkpoint/load/{checkpoint_id}`]: { operationId: 'loadCheckpoint', tag: 'Checkpoints', notFound: ['CHECKPOINT_NOT_FOUND'] },
  [`get ${P}/checkpoints/{session_id}`]: { operationId: 'listCheckpoints', tag: 'Checkpoints', notFound: ['SESSION_NOT_FOUND'] },
  [`get ${P}/presets`]: { operationId: 'listPresets', tag: 'Presets' },
  [`get ${P}/preset/{name}`]: { operationId: 'getPreset', tag: 'Presets', notFound: ['PRESET_NOT_FOUND'] },
  [`post ${P}/preset/save`]: { operationId: 'savePreset', tag: 'Presets', badRequest: ['MALFORMED_JSON'], requestExamples: REQUEST_EXAMPLES.presetSave },
  [`get ${P}/history`]: { operationId: 'listHistory', tag: 'Pipeline' },
  [`get ${P}/health`]: { operationId: 'getHealth', tag: 'System' },
  'get /api/v1/info': { operationId: 'getInfo', tag: 'System' },
  'get /health/live': { operationId: 'live', tag: 'System' },
  'get /health/ready': { operationId: 'ready', tag: 'System' },
  'get /openapi.json': { operationId: 'getOpenApiDocument', tag: 'System' },
  'get /docs': { operationId: 'apiDocs', tag: 'System' },
  'get /': { operationId: 'root', tag: 'System' },
  'get /metrics': { operationId: 'metrics', tag: 'System' },
  'get /dashboard': { operationId: 'dashboard', tag: 'System' },
  'get /api/v1/auth/whoami': { operationId: 'whoami', tag: 'Auth' },
  'post /api/v1/auth/api-keys': {
    operationId: 'createApiKey',
    tag: 'Auth',
    badRequest: ['MALFORMED_JSON'],
    requestExamples: { operator: { summary: 'A key for a CI runner of tenant acme', value: { name: 'ci-runner', roles: ['operator'], tenant: 'acme' } } },
  },
  'get /api/v1/auth/api-keys': { operationId: 'listApiKeys', tag: 'Auth' },
  'delete /api/v1/auth/api-keys/{key_id}': { operationId: 'revokeApiKey', tag: 'Auth', notFound: ['NOT_FOUND'] },
  'get /api/v1/audit': { operationId: 'listAuditEntries', tag: 'Auth' },
};

/** Descriptions and examples of parameters, by name (query and path). */
export const PARAMETER_DOCS: Record<string, { description: string; example: unknown }> = {
  key_id: { description: 'An API key id, as `POST /api/v1/auth/api-keys` or its listing give it.', example: 'k_4f1c2a9e' },
  tenant: { description: 'Only this tenant (admins; other callers always see their own).', example: 'acme' },
  actor: { description: 'Only entries by this subject (a token `sub` or `apikey:<id>`).', example: 'alice' },
  action: { description: 'Only entries of this action (a route id such as `pipeline.start`).', example: 'pipeline.start' },
  outcome: { description: 'Only entries with this outcome.', example: 'success' },
  since: { description: 'Entries at or after this time (ISO-8601).', example: '2026-11-25T00:00:00.000Z' },
  until: { description: 'Entries at or before this time (ISO-8601).', example: '2026-11-25T23:59:59.000Z' },
  cursor: { description: "The previous page's `next_cursor`.", example: '1795611598612-0' },
  session_id: { description: 'The session id `POST /start` answered with (a UUID v4).', example: SESSION },
  checkpoint_id: { description: 'A checkpoint id, as `POST /checkpoint/save` or `GET /checkpoints/{session_id}` give it.', example: CHECKPOINT },
  name: { description: 'A preset name: a built-in one (`quick_test`, `full_pipeline`, `compression_only`) or a saved one.', example: 'quick_test' },
  limit: { description: 'How many entries at most (1..100).', example: 10 satisfies HistoryQuery['limit'] },
  status: { description: 'Only sessions in this status (applied before the limit).', example: 'completed' },
  phase: {
    description: "The phase whose gates to judge; default: the session's current phase, else its last.",
    example: 'cognate' satisfies NonNullable<QualityGateQuery['phase']>,
  },
};

const RESPONSE_HEADERS = {
  'X-Request-Id': {
    description: 'The request id: the one the client sent when sane, else a new UUID. It is in every log line about the request.',
    schema: { type: 'string' },
  },
};
const RETRY_AFTER = { description: 'Seconds to wait before retrying.', schema: { type: 'integer', minimum: 0 } };

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Error codes a response of `status` can carry for this operation. */
function codesFor(status: number, op: OperationInfo | undefined): ErrorCode[] {
  if (status === 404 && op?.notFound) return op.notFound;
  if (status === 400 && op?.badRequest) return op.badRequest;
  return (Object.keys(ERROR_CATALOGUE) as ErrorCode[]).filter((c) => ERROR_CATALOGUE[c] === status && c !== 'METHOD_NOT_ALLOWED');
}

/**
 * Add operationIds, tags, examples, parameter docs and response headers to a generated document
 * (in place). Operations not in OPERATIONS still get error examples, headers and parameter docs.
 */
export function decorateOpenApiDocument(doc: { paths?: Record<string, Record<string, unknown>>; tags?: unknown; components?: Record<string, unknown> }): void {
  // The credentials a server with authentication on accepts (the security issue registers the
  // same schemes and the requirement per route; this only fills them in where absent).
  doc.components ??= {};
  doc.components.securitySchemes ??= {
    bearer: {
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT or API key',
      description: 'When authentication is on: `Authorization: Bearer <token>`, a JWT (claims `sub`, `tenant`, `roles`) or an API key. `npm start` writes a local admin token to `.agent-forge/dev-token`. WebSocket clients that cannot set headers pass `?token=<token>`.',
    },
    apiKey: { type: 'apiKey', in: 'header', name: 'X-Api-Key', description: 'When authentication is on: an API key, as an alternative to the bearer header.' },
  };
  doc.tags = [
    { name: 'Pipeline', description: 'Start, steer and watch pipeline sessions.' },
    { name: 'Checkpoints', description: 'Save and restore consistent snapshots of a session.' },
    { name: 'Presets', description: 'Named start configurations, built-in and saved.' },
    { name: 'System', description: 'Health, probes, metrics, documentation and the dashboard.' },
  ];
  for (const [path, ops] of Object.entries(doc.paths ?? {})) {
    for (const [method, raw] of Object.entries(ops)) {
      if (!isObject(raw)) continue;
      const op = OPERATIONS[`${method} ${path}`];
      if (op) {
        raw.operationId ??= op.operationId;
        raw.tags ??= [op.tag];
      }
      if (Array.isArray(raw.parameters)) {
        for (const param of raw.parameters) {
          if (!isObject(param) || typeof param.name !== 'string') continue;
          const docs = PARAMETER_DOCS[param.name];
          if (!docs) continue;
          param.description ??= docs.description;
          param.example ??= docs.example;
        }
      }
      const body = isObject(raw.requestBody) ? raw.requestBody : null;
      const bodyJson = body && isObject(body.content) ? body.content['application/json'] : null;
      if (isObject(bodyJson) && op?.requestExamples) bodyJson.examples ??= op.requestExamples;
      const responses = isObject(raw.responses) ? raw.responses : {};
      for (const [code, response] of Object.entries(responses)) {
        if (!isObject(response)) continue;
        const status = Number(code);
        response.headers = { ...RESPONSE_HEADERS, ...(status === 429 || status === 503 ? { 'Retry-After': RETRY_AFTER } : {}), ...(isObject(response.headers) ? response.headers : {}) };
        const media = isObject(response.content) ? response.content['application/json'] : null;
        if (!isObject(media)) continue;
        if (status >= 400) {
          const examples = Object.fromEntries(codesFor(status, op).map((c) => [c, { summary: c, value: ERROR_EXAMPLES[c] }]));
          if (Object.keys(examples).length > 0) media.examples ??= examples;
        } else if (op && op.operationId in RESPONSE_EXAMPLES) {
          media.example ??= RESPONSE_EXAMPLES[op.operationId];
        }
      }
    }
  }
}
