import { z } from 'zod';
import { ControlAction, PipelinePhase, PipelineStatus, SwarmTopology } from './enums';

/** Ids in paths and bodies are plain strings: an id that cannot exist is a 404, as in the original. */
export const SessionId = z.string().min(1).max(128);
export const CheckpointId = z.string().min(1).max(128);
export const PresetName = z.string().min(1).max(64).regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . - only');

export const StartPipelineRequest = z
  .object({
    phases: z
      .array(PipelinePhase)
      .min(1, 'at least one phase is required')
      .refine((ps) => new Set(ps).size === ps.length, 'phases must not repeat')
      .optional(),
    preset: PresetName.optional(),
    config: z.record(z.string(), z.unknown()).default({}),
    enable_monitoring: z.boolean().default(true),
    enable_checkpoints: z.boolean().default(true),
    swarm_topology: SwarmTopology.default('hierarchical'),
    max_agents: z.int().min(1).max(100).optional(),
  })
  .refine((r) => r.phases !== undefined || r.preset !== undefined, {
    message: 'either phases or preset is required',
    path: ['phases'],
  });
export type StartPipelineRequest = z.infer<typeof StartPipelineRequest>;
export const DEFAULT_MAX_AGENTS = 50;

export const ControlRequest = z.object({
  action: ControlAction,
  session_id: SessionId,
  force: z.boolean().default(false),
});
export type ControlRequest = z.infer<typeof ControlRequest>;

export const CheckpointSaveRequest = z.object({
  session_id: SessionId,
  checkpoint_name: z.string().min(1).max(128).optional(),
  include_model_state: z.boolean().default(true),
  include_swarm_state: z.boolean().default(true),
});
export type CheckpointSaveRequest = z.infer<typeof CheckpointSaveRequest>;

export const PresetSaveRequest = z.object({
  preset_name: PresetName,
  config: z.record(z.string(), z.unknown()),
});
export type PresetSaveRequest = z.infer<typeof PresetSaveRequest>;

export const HistoryQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(10),
  status: PipelineStatus.optional(),
});
export type HistoryQuery = z.infer<typeof HistoryQuery>;

export const QualityGateQuery = z.object({
  phase: PipelinePhase.optional(),
});
export type QualityGateQuery = z.infer<typeof QualityGateQuery>;

/** What a client sends (defaults optional): the input side of the request schemas. */
export type StartPipelineInput = z.input<typeof StartPipelineRequest>;
export type ControlInput = z.input<typeof ControlRequest>;
export type CheckpointSaveInput = z.input<typeof CheckpointSaveRequest>;
export type PresetSaveInput = z.input<typeof PresetSaveRequest>;
export type HistoryQueryInput = z.input<typeof HistoryQuery>;
