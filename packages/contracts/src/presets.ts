import { z } from 'zod';
import { PipelinePhase, SwarmTopology } from './enums';

/**
 * A preset's config is a partial start request. Known keys are checked when the preset is saved
 * (so a preset can never make a later start fail on shape); anything else is kept.
 */
export const PresetConfig = z.looseObject({
  phases: z
    .array(PipelinePhase)
    .min(1)
    .refine((ps) => new Set(ps).size === ps.length, 'phases must not repeat')
    .optional(),
  max_agents: z.int().min(1).max(100).optional(),
  swarm_topology: SwarmTopology.optional(),
  enable_monitoring: z.boolean().optional(),
  enable_checkpoints: z.boolean().optional(),
  config: z.record(z.string(), z.unknown()).optional(),
});
export type PresetConfig = z.infer<typeof PresetConfig>;

export const BUILTIN_PRESETS: Record<string, PresetConfig> = {
  quick_test: { phases: ['cognate', 'evomerge'], max_agents: 20 },
  full_pipeline: {
    phases: ['cognate', 'evomerge', 'quietstar', 'bitnet', 'training', 'baking', 'adas', 'compression'],
    max_agents: 50,
  },
  compression_only: { phases: ['bitnet', 'compression'], max_agents: 30 },
};
