import { BUILTIN_PRESETS, type ConfigPresetResponse, type PresetConfig } from '@agent-forge/contracts';
import type { Redis } from 'ioredis';
import { Keys } from './keys';
import { defineScripts, runScript } from './scripts';

interface StoredPreset {
  config: PresetConfig;
  created_at: string;
  last_used: string | null;
  usage_count: number;
}

/**
 * Presets: the three built-ins (config from code, usage recorded in Redis) plus saved ones, all in
 * one Redis hash `name → JSON`. Built-ins cannot be overwritten.
 */
export class PresetStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {
    // Scripts are defined up front: with auto-pipelining, a command defined after the current
    // tick's pipeline was made would be missing from it.
    defineScripts(this.redis);
  }

  isBuiltin(name: string): boolean {
    return Object.hasOwn(BUILTIN_PRESETS, name);
  }

  /** Built-in names plus the tenant's saved presets (each tenant has its own namespace). */
  async list(tenant: string): Promise<string[]> {
    const saved = await this.redis.hkeys(this.keys.tenantPresets(tenant));
    return [...new Set([...Object.keys(BUILTIN_PRESETS), ...saved])];
  }

  async get(tenant: string, name: string): Promise<ConfigPresetResponse | null> {
    const raw = await this.redis.hget(this.keys.tenantPresets(tenant), name);
    const stored = raw ? (JSON.parse(raw) as StoredPreset) : null;
    if (this.isBuiltin(name)) {
      const builtin = BUILTIN_PRESETS[name] as PresetConfig;
      return {
        preset_name: name,
        config: builtin,
        created_at: stored?.created_at ?? (await this.builtinEpoch(tenant)),
        last_used: stored?.last_used ?? null,
        usage_count: stored?.usage_count ?? 0,
        builtin: true,
      };
    }
    if (!stored) return null;
    return { preset_name: name, config: stored.config, created_at: stored.created_at, last_used: stored.last_used, usage_count: stored.usage_count, builtin: false };
  }

  /** Save (or replace) a user preset, keeping its usage history. Returns null for a built-in name. */
  async save(tenant: string, name: string, config: PresetConfig): Promise<ConfigPresetResponse | null> {
    if (this.isBuiltin(name)) return null;
    const raw = await runScript<string>(this.redis, 'presetSave', [this.keys.tenantPresets(tenant)], [name, JSON.stringify(config), new Date().toISOString()]);
    const stored = JSON.parse(raw) as StoredPreset;
    return { preset_name: name, config: stored.config, created_at: stored.created_at, last_used: stored.last_used, usage_count: stored.usage_count, builtin: false };
  }

  /** Count a start that used the preset (atomic, so concurrent gateways never lose a count). */
  async recordUse(tenant: string, name: string): Promise<void> {
    await runScript(this.redis, 'presetUse', [this.keys.tenantPresets(tenant)], [name, new Date().toISOString(), this.isBuiltin(name) ? '1' : '0']);
  }

  /** When the built-ins were "created" for this deployment: the first time anyone asked. */
  private async builtinEpoch(tenant: string): Promise<string> {
    const key = `${this.keys.tenantPresets(tenant)}:builtin-epoch`;
    await this.redis.set(key, new Date().toISOString(), 'NX');
    return (await this.redis.get(key)) as string;
  }
}
