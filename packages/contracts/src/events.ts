import { z } from 'zod';
import { AgentState, PipelinePhase, PipelineStatus } from './enums';
import { GateResult, StatusResponse } from './responses';

const Json = z.record(z.string(), z.unknown());

export const WS_CHANNELS = ['agents', 'tasks', 'metrics', 'pipeline', 'dashboard'] as const;
export const WsChannel = z.enum(WS_CHANNELS);
export type WsChannel = z.infer<typeof WsChannel>;

export const PipelineProgressData = z.object({
  phase: PipelinePhase.nullable(),
  progress_percent: z.number().min(0).max(100),
  total_progress_percent: z.number().min(0).max(100),
  status: PipelineStatus,
  message: z.string().optional(),
  metrics: Json,
});
export const AgentUpdateData = z.object({
  agent_id: z.string(),
  role: z.string(),
  phase: PipelinePhase,
  state: AgentState,
  task: z.string().nullable(),
  memory_usage_mb: z.number(),
  cpu_usage_percent: z.number(),
});
export const PhaseCompleteData = z.object({
  phase: PipelinePhase,
  success: z.boolean(),
  duration_seconds: z.number(),
  metrics: Json,
  error_message: z.string().optional(),
  quality_gates: z.array(GateResult).optional(),
});
export const MetricsFigures = z.looseObject({
  cpu_percent: z.number(),
  memory_mb: z.number(),
  gpu_utilization: z.number().nullable(),
  throughput_ops: z.number(),
});
export const MetricsData = z.object({ metrics: MetricsFigures, phase: PipelinePhase.nullable() });
export const ErrorEventData = z.object({
  error_code: z.string(),
  error_message: z.string(),
  phase: PipelinePhase.nullable(),
  recoverable: z.boolean(),
  /** Our additions, on a recoverable phase failure: the attempt that failed (1 = the first run), … */
  attempt: z.int().min(1).optional(),
  /** … the attempts the phase's retry policy allows, … */
  max_attempts: z.int().min(1).optional(),
  /** … and the backoff before the next attempt starts. */
  retry_in_ms: z.int().min(0).optional(),
});
export const DashboardUpdateData = z.object({
  pipeline_status: PipelineStatus.nullable(),
  current_phase: PipelinePhase.nullable(),
  progress_percent: z.number(),
  active_agents: z.int(),
  metrics: Json,
});

/**
 * `snapshot`: the current state of a session, sent by realtime to one socket (never published):
 * first to a new session subscriber, and after a `HISTORY_GAP`. `data` is the session's status as
 * GET /status returns it, or `{ session_id, status: null }` while the session is unknown.
 */
export const SnapshotData = z.union([
  StatusResponse,
  z.object({ session_id: z.string(), status: z.null() }),
]);

export const EVENT_DATA_SCHEMAS = {
  pipeline_progress: PipelineProgressData,
  agent_update: AgentUpdateData,
  phase_complete: PhaseCompleteData,
  metrics: MetricsData,
  error: ErrorEventData,
  dashboard_update: DashboardUpdateData,
  snapshot: SnapshotData,
} as const;
export type EventType = keyof typeof EVENT_DATA_SCHEMAS;
export const EventTypeSchema = z.enum(Object.keys(EVENT_DATA_SCHEMAS) as [EventType, ...EventType[]]);
export type EventData<T extends EventType> = z.infer<(typeof EVENT_DATA_SCHEMAS)[T]>;

/** Which channels carry each event type (`error` goes to every channel of its session). */
export const EVENT_CHANNELS: Record<EventType, readonly WsChannel[]> = {
  pipeline_progress: ['pipeline', 'dashboard'],
  agent_update: ['agents', 'dashboard'],
  phase_complete: ['pipeline', 'tasks', 'dashboard'],
  metrics: ['metrics', 'dashboard'],
  error: WS_CHANNELS,
  dashboard_update: ['dashboard'],
  /** Never fanned out: realtime sends it on whichever channel the receiving socket is on. */
  snapshot: WS_CHANNELS,
};

export const EventEnvelope = z.object({
  event_type: EventTypeSchema,
  timestamp: z.string(),
  session_id: z.string().nullable(),
  data: Json,
  /**
   * Our addition: the id of the event in its session's stream (`<ms>-<seq>`); resume from it.
   * Null only on a `snapshot` of a session that has no recorded event yet.
   */
  event_id: z.string().nullable().optional(),
  /** Our addition: the epoch of the session's stream; a different epoch means history was lost. */
  epoch: z.string().optional(),
  /** The original declared `metrics` at the top level of a metrics event as well. */
  metrics: Json.optional(),
});
export type EventEnvelope = z.infer<typeof EventEnvelope>;
export type TypedEnvelope<T extends EventType> = Omit<EventEnvelope, 'event_type' | 'data'> & {
  event_type: T;
  data: EventData<T>;
};

export function makeEnvelope<T extends EventType>(
  eventType: T,
  sessionId: string | null,
  data: EventData<T>,
  now: Date = new Date(),
): TypedEnvelope<T> {
  const envelope: TypedEnvelope<T> = { event_type: eventType, timestamp: now.toISOString(), session_id: sessionId, data };
  if (eventType === 'metrics') envelope.metrics = (data as EventData<'metrics'>).metrics;
  return envelope;
}

/** A stream entry id as the envelopes carry it: `<ms>-<seq>`, compared numerically part by part. */
export const StreamEventId = z.string().regex(/^\d{1,20}-\d{1,20}$/, 'expected a stream id like "1700000000000-0"');
/** A stream epoch as the envelopes carry it ("" while the session has none). */
export const StreamEpoch = z.string().regex(/^\d{0,32}$/, 'expected the epoch string of an earlier envelope');

/** Client → server frames. */
export const ClientMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ping') }),
  /** Replay this socket's session from after `last_event_id`, then continue live (session-filtered sockets). */
  z.object({
    type: z.literal('resume'),
    session_id: z.string().optional(),
    last_event_id: StreamEventId,
    epoch: StreamEpoch.optional(),
  }),
]);
export type ClientMessage = z.infer<typeof ClientMessage>;
export const PongMessage = z.object({ type: z.literal('pong'), timestamp: z.string() });
