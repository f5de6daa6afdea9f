import { PresetConfig, PresetSaveRequest, pipelineConfigSchema } from '@agent-forge/contracts';
import type { GatewayContext } from '../context';
import { NotFoundError, ValidationError } from '../errors';
import { parseBody, parseWith } from '../validate';
import { principalOf } from './pipeline';
import type { Handlers } from './types';

/** `/api/v1/pipeline/presets`, `/preset/{name}`, `/preset/save`: each tenant has its own saved presets. */
export function presetHandlers(ctx: GatewayContext): Handlers {
  return {
    'preset.list': async (req, res) => {
      res.json(await ctx.presets.list(principalOf(req).tenant));
    },
    'preset.get': async (req, res) => {
      const name = req.params.name as string;
      const preset = await ctx.presets.get(principalOf(req).tenant, name);
      if (!preset) throw new NotFoundError('PRESET_NOT_FOUND', `preset "${name}" does not exist`, { preset_name: name });
      res.json(preset);
    },
    'preset.save': async (req, res) => {
      const body = parseBody(PresetSaveRequest, req.body);
      if (ctx.presets.isBuiltin(body.preset_name)) {
        throw new ValidationError({ preset_name: 'built-in presets cannot be overwritten' }, `"${body.preset_name}" is a built-in preset`);
      }
      const config = parseWith(PresetConfig, body.config, ['config']);
      // The pipeline config it carries must be startable too, so a preset can never make a start fail on shape.
      parseWith(pipelineConfigSchema(config.phases ?? []), config.config ?? {}, ['config', 'config']);
      const saved = await ctx.presets.save(principalOf(req).tenant, body.preset_name, config);
      if (!saved) throw new ValidationError({ preset_name: 'built-in presets cannot be overwritten' });
      res.json(saved);
    },
  };
}
