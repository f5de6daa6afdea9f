import { z } from 'zod';
import {
  CheckpointLoadResponse,
  CheckpointResponse,
  CheckpointSaveRequest,
  ConfigPresetResponse,
  ControlRequest,
  ControlResponse,
  ERROR_CATALOGUE,
  ERROR_EXAMPLES,
  ErrorBody,
  ExecutionHistory,
  HealthResponse,
  InfoResponse,
  PresetSaveRequest,
  QualityGateResponse,
  REQUEST_EXAMPLES,
  RESPONSE_EXAMPLES,
  RESPONSE_EXAMPLE_SCHEMAS,
  StartPipelineRequest,
  StartPipelineResponse,
  StatusResponse,
  SwarmStatus,
  buildOpenApiDocument,
  pipelineConfigSchema,
  type ErrorCode,
} from './index';

const SCHEMAS: Record<string, z.ZodType> = {
  StartPipelineResponse,
  ControlResponse,
  StatusResponse,
  SwarmStatus,
  QualityGateResponse,
  CheckpointResponse,
  CheckpointLoadResponse,
  ConfigPresetResponse,
  HealthResponse,
  InfoResponse,
};

describe('OpenAPI examples are valid wire data', () => {
  it.each(Object.entries(RESPONSE_EXAMPLE_SCHEMAS))('%s matches %s', (operationId, schema) => {
    const parsed = SCHEMAS[schema]!.safeParse(RESPONSE_EXAMPLES[operationId]);
    expect(parsed.success ? [] : parsed.error.issues).toEqual([]);
  });
  it('list examples match their item schemas', () => {
    expect(z.array(CheckpointResponse).safeParse(RESPONSE_EXAMPLES.listCheckpoints).success).toBe(true);
    expect(z.array(ExecutionHistory).safeParse(RESPONSE_EXAMPLES.listHistory).success).toBe(true);
    expect(z.array(z.string()).safeParse(RESPONSE_EXAMPLES.listPresets).success).toBe(true);
  });
  it('request examples pass the request schemas (with their config)', () => {
    for (const ex of Object.values(REQUEST_EXAMPLES.start)) {
      const r = StartPipelineRequest.parse(ex.value);
      expect(pipelineConfigSchema(r.phases ?? []).safeParse(r.config).success).toBe(true);
    }
    for (const ex of Object.values(REQUEST_EXAMPLES.control)) expect(ControlRequest.safeParse(ex.value).success).toBe(true);
    for (const ex of Object.values(REQUEST_EXAMPLES.checkpointSave)) expect(CheckpointSaveRequest.safeParse(ex.value).success).toBe(true);
    for (const ex of Object.values(REQUEST_EXAMPLES.presetSave)) expect(PresetSaveRequest.safeParse(ex.value).success).toBe(true);
  });
  it('has an error example for every catalogued code, in the error shape', () => {
    for (const code of Object.keys(ERROR_CATALOGUE) as ErrorCode[]) {
      expect(ErrorBody.parse(ERROR_EXAMPLES[code]).error_code).toBe(code);
    }
  });
});

describe('the decorated document', () => {
  const doc = buildOpenApiDocument({ version: '0.0.0-test' });
  type Op = { operationId?: string; tags?: string[]; parameters?: { name: string; description?: string; example?: unknown }[]; responses: Record<string, { headers?: Record<string, unknown>; content?: Record<string, { example?: unknown; examples?: Record<string, { value: { error_code: string } }> }> }>; requestBody?: { content: Record<string, { examples?: unknown }> } };
  const ops = Object.entries(doc.paths ?? {}).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ path, method, op: op as Op })));

  it('describes the credentials, and every security requirement names a described scheme', () => {
    const schemes = (doc.components?.securitySchemes ?? {}) as Record<string, unknown>;
    expect(Object.keys(schemes)).toEqual(expect.arrayContaining(['bearer', 'apiKey']));
    const required = [...((doc.security as Record<string, unknown>[] | undefined) ?? []), ...ops.flatMap((o) => ((o.op as { security?: Record<string, unknown>[] }).security ?? []))];
    for (const requirement of required) for (const name of Object.keys(requirement)) expect(schemes).toHaveProperty(name);
  });
  it('gives every operation a unique operationId and a tag', () => {
    const ids = ops.map((o) => o.op.operationId);
    expect(ids.every(Boolean)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ops.every((o) => (o.op.tags ?? []).length === 1)).toBe(true);
  });
  it('describes every parameter with an example', () => {
    for (const { path, method, op } of ops) {
      for (const p of op.parameters ?? []) expect({ path, method, name: p.name, described: Boolean(p.description), example: p.example !== undefined }).toEqual({ path, method, name: p.name, described: true, example: true });
    }
  });
  it('has examples for every JSON response and request body; error examples carry codes of that status', () => {
    for (const { path, method, op } of ops) {
      if (op.requestBody) expect({ path, examples: Boolean(op.requestBody.content['application/json']?.examples) }).toEqual({ path, examples: true });
      for (const [status, res] of Object.entries(op.responses)) {
        expect(res.headers).toHaveProperty('X-Request-Id');
        const media = res.content?.['application/json'];
        if (!media || path === '/openapi.json') continue;
        if (Number(status) >= 400) {
          const codes = Object.values(media.examples ?? {}).map((e) => e.value.error_code);
          expect({ path, method, status, some: codes.length > 0 }).toEqual({ path, method, status, some: true });
          for (const c of codes) expect(ERROR_CATALOGUE[c as ErrorCode]).toBe(Number(status));
          if (status === '503' || status === '429') expect(res.headers).toHaveProperty('Retry-After');
        } else {
          expect({ path, method, status, example: media.example !== undefined }).toEqual({ path, method, status, example: true });
        }
      }
    }
  });
});
