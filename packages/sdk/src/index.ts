/**
 * @agent-forge/sdk — the browser-safe entry (fetch + WebSocket, no Node-only imports).
 * In Node 20 use `@agent-forge/sdk/node` (same API, plus the `ws` transport and config discovery).
 */
export * from './client';
export * from './errors';
export * from './live';
export * from './tracker';
export * from './follow';
export * from './format';
export type {
  AgentStatus,
  CheckpointLoadResponse,
  CheckpointResponse,
  CheckpointSaveInput,
  ConfigPresetResponse,
  ControlAction,
  ControlResponse,
  ErrorBody,
  ErrorCode,
  EventEnvelope,
  EventType,
  ExecutionHistory,
  GateResult,
  HealthResponse,
  HistoryQueryInput,
  InfoResponse,
  PhaseMetrics,
  PhaseStatus,
  PipelinePhase,
  PipelineStatus,
  PresetConfig,
  QualityGateResponse,
  StartPipelineInput,
  StartPipelineResponse,
  StatusResponse,
  SwarmStatus,
  SwarmTopology,
  WsChannel,
} from '@agent-forge/contracts';
