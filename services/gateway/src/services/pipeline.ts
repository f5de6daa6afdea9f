import {
  ControlRequest,
  DEFAULT_MAX_AGENTS,
  PresetConfig,
  StartPipelineRequest,
  decideTransition,
  pipelineConfigSchema,
  type ControlResponse,
  type PipelinePhase,
  type StartPipelineResponse,
} from '@agent-forge/contracts';
import type { Principal } from '@agent-forge/auth';
import type { TenantScope } from '@agent-forge/state';
import { randomUUID } from 'node:crypto';
import type { GatewayContext } from '../context';
import { InvalidTransitionError, NotFoundError, ValidationError } from '../errors';
import { isPlainObject, parseBody, parseWith } from '../validate';

/** Deep merge of plain objects; `over` wins, arrays and scalars are replaced whole. */
export function mergeConfig(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isPlainObject(b) && isPlainObject(v) ? mergeConfig(b, v) : v;
  }
  return out;
}

/**
 * Validate, create the session (one MULTI: status `initializing` at the first phase) and enqueue
 * the first phase job. Returns before any work starts.
 *
 * With `preset`, the preset supplies phases / max_agents / swarm_topology / enable_* / config and
 * every field present in the request overrides it (`config` is merged, request keys winning).
 */
export async function startPipeline(ctx: GatewayContext, body: unknown, requestId: string | undefined, principal: Principal): Promise<StartPipelineResponse> {
  const req = parseBody(StartPipelineRequest, body);
  const tenant = principal.tenant;
  const given = (key: string) => isPlainObject(body) && body[key] !== undefined;

  let preset: PresetConfig | null = null;
  if (req.preset !== undefined) {
    const stored = await ctx.presets.get(tenant, req.preset);
    if (!stored) throw new NotFoundError('PRESET_NOT_FOUND', `preset "${req.preset}" does not exist`, { preset: req.preset });
    preset = parseWith(PresetConfig, stored.config, ['preset']);
  }

  const phases: PipelinePhase[] | undefined = req.phases ?? preset?.phases;
  if (!phases || phases.length === 0) {
    throw new ValidationError({ phases: `preset "${req.preset ?? ''}" names no phases; give phases in the request` });
  }
  const rawConfig = mergeConfig(preset?.config ?? {}, given('config') ? req.config : {});
  const config = parseWith(pipelineConfigSchema(phases), rawConfig, ['config']) as Record<string, unknown>;
  const pick = <K extends 'swarm_topology' | 'enable_monitoring' | 'enable_checkpoints'>(key: K) =>
    given(key) ? req[key] : (preset?.[key] ?? req[key]);

  const sessionId = randomUUID();
  const first = phases[0] as PipelinePhase;
  await ctx.sessions.create({
    sessionId,
    tenant,
    phases: [...phases],
    config,
    enableMonitoring: pick('enable_monitoring'),
    enableCheckpoints: pick('enable_checkpoints'),
    topology: pick('swarm_topology'),
    maxAgents: req.max_agents ?? preset?.max_agents ?? DEFAULT_MAX_AGENTS,
    preset: req.preset ?? null,
  });
  if (req.preset !== undefined) await ctx.presets.recordUse(tenant, req.preset);
  await ctx.queues.enqueue({ sessionId, phase: first, runGen: 1, ...(requestId ? { requestId } : {}) }, config);
  return { session_id: sessionId, status: 'started' };
}

/**
 * Apply a control action atomically (one Lua script; concurrent gateways cannot break the
 * transition table), tell the worker owning the phase, re-enqueue a parked phase on resume, and
 * checkpoint a gracefully stopped session so it can be resumed from there later.
 */
export async function controlPipeline(ctx: GatewayContext, body: unknown, requestId: string | undefined, scope: TenantScope): Promise<{ response: ControlResponse; auditReason: string }> {
  const req = parseBody(ControlRequest, body);
  const { action, session_id: sessionId, force } = req;
  const reason = `${action}${force ? ' (force)' : ''} requested via API`;
  const r = await ctx.sessions.control(sessionId, action, reason, scope, force);
  if (r.kind === 'not_found') throw new NotFoundError('SESSION_NOT_FOUND', `session ${sessionId} does not exist`, { session_id: sessionId });
  if (r.kind === 'gate_blocked') {
    const { status_reason } = await ctx.sessions.sessionFields(sessionId, ['status_reason']);
    throw new InvalidTransitionError(
      `resume refused: a blocking quality gate failed (${status_reason ?? 'see quality-gates'}); resume with force: true to override`,
      { current_status: r.from, action },
    );
  }
  if (r.kind === 'invalid') {
    const decision = decideTransition(action, r.from);
    const why = decision.allowed ? `cannot ${action} a session that is ${r.from}` : decision.reason;
    throw new InvalidTransitionError(why, { current_status: r.from, action });
  }
  // The control script itself rang the worker's doorbell (control channel), atomically with the change.
  if (r.enqueue && r.currentPhase) {
    const config = await ctx.sessions.pipelineConfig(sessionId);
    await ctx.queues.enqueue({ sessionId, phase: r.currentPhase, runGen: r.runGen, ...(requestId ? { requestId } : {}) }, config);
  }
  if (action === 'stop') {
    const { enable_checkpoints } = await ctx.sessions.sessionFields(sessionId, ['enable_checkpoints']);
    if (enable_checkpoints !== '0') {
      await ctx.checkpoints.save(sessionId, { name: 'stop', includeModelState: true, includeSwarmState: true, uriBase: ctx.uriBase }, scope);
    }
  }
  return { response: { status: 'success', action, session_id: sessionId, pipeline_status: r.to }, auditReason: controlAuditReason(action, force === true, r.gateOverridden) };
}

/**
 * What the audit entry of a control request says: the action, whether it was forced, and — when a
 * forced resume overrode a failed blocking quality gate — which failure was overridden, so the
 * audit log answers "who let this phase's output through, and past what".
 */
export function controlAuditReason(action: string, force: boolean, gateOverridden: string | null): string {
  if (gateOverridden) return `${action} with force: overrode a failed blocking quality gate (${gateOverridden})`.slice(0, 1000);
  return force ? `${action} with force (no gate was blocking)` : action;
}
