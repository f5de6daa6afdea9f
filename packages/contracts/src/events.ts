import { z } from 'zod';
import { AgentState, PipelinePhase, PipelineStatus } from './enums';
import { GateResult } from './responses';

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
});
export const DashboardUpdateData = z.object({
  pipeline_status: PipelineStatus.nullable(),
  current_phase: PipelinePhase.nullable(),
  progress_percent: z.number(),
  active_agents: z.int(),
  metrics: Json,
});

export const EVENT_DATA_SCHEMAS = {
  pipeline_progress: PipelineProgressData,
  agent_update: AgentUpdateData,
  phase_complete: PhaseCompleteData,
  metrics: MetricsData,
  error: ErrorEventData,
  dashboard_update: DashboardUpdateData,
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
};

export const EventEnvelope = z.object({
  event_type: EventTypeSchema,
  timestamp: z.string(),
  session_id: z.string().nullable(),
  data: Json,
  /** Our addition: the id of the event in its session's stream; resume from it. */
  event_id: z.string().optional(),
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

/** Client → server frames. */
export const ClientMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ping') }),
]);
export type ClientMessage = z.infer<typeof ClientMessage>;
export const PongMessage = z.object({ type: z.literal('pong'), timestamp: z.string() });
