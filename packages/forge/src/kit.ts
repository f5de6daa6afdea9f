import { setImmediate as yieldNow } from 'node:timers/promises';
import { PHASE_CONFIG_SCHEMAS, type ArtifactRef, type PipelinePhase } from '@agent-forge/contracts';
import type { PhaseContext, ProgressStep } from '@agent-forge/engine';
import { defaultArch } from './model/arch';
import { Model } from './model/model';
import { decodeBundle, decodeModel, encodeBundle, encodeModel, type DecodedModel, type EncodeOptions } from './model/serialize';
import { Rng } from './rng';

export const DEFAULT_SEED = 1337;
/** Longest stretch of computation between two yields to the event loop. */
const SLICE_MS = 40;

/** Keys every phase accepts that the forge does not interpret: the engine reads them (executor, pacing, time budget, retries, GPU need). */
const ENGINE_KEYS = new Set(['executor', 'steps', 'step_ms', 'timeout_seconds', 'retry', 'gpu']);

/** The in-phase checkpoint written with `progress({state})`: small JSON plus a reference to a bundle artifact. */
export interface ForgeState<S> {
  forge: PipelinePhase;
  v: 1;
  seed: number;
  scale: number;
  /** Steps completed when the checkpoint was written. */
  step: number;
  data: S;
  ckpt: ArtifactRef | null;
}

/**
 * Plumbing shared by the eight phases: config with defaults, seed and scale, reading the previous
 * model, writing artifacts, checkpoints, progress and cooperative yielding.
 */
export class PhaseKit<C extends Record<string, unknown>> {
  readonly seed: number;
  readonly scale: number;
  readonly cfg: C;
  private lastYield = Date.now();
  private lastCkpt: ArtifactRef | null = null;
  private lastState: ForgeState<unknown> | null = null;
  readonly started = Date.now();

  constructor(readonly ctx: PhaseContext) {
    const phase = ctx.phase;
    this.seed = Number(ctx.pipelineConfig.seed ?? DEFAULT_SEED);
    this.scale = Number(ctx.pipelineConfig.scale ?? 1);
    const schema = PHASE_CONFIG_SCHEMAS[phase];
    this.cfg = schema.parse(ctx.config ?? {}) as unknown as C;
    const known = new Set(Object.keys(schema.shape));
    const unknown = Object.keys(ctx.config ?? {}).filter((k) => !known.has(k) && !ENGINE_KEYS.has(k));
    if (unknown.length > 0) ctx.logger.info({ phase, keys: unknown }, 'config keys kept but not used by the forge executor');
  }

  num(key: keyof C & string, fallback: number): number {
    const v = this.cfg[key];
    return typeof v === 'number' && Number.isFinite(v) ? v : fallback;
  }

  rng(...labels: (string | number)[]): Rng {
    return new Rng(this.seed, this.ctx.phase, ...labels);
  }

  /** Yield to the event loop when this slice of computation has run long enough; honour the abort signal. */
  async tick(): Promise<void> {
    if (Date.now() - this.lastYield < SLICE_MS) return;
    await yieldNow();
    this.lastYield = Date.now();
    this.ctx.signal.throwIfAborted();
  }

  /** The previous phase's model, or null when this phase is the first (or the previous has none). */
  async previousModel(): Promise<(DecodedModel & { ref: ArtifactRef; bytes: number }) | null> {
    const ref = this.ctx.previous?.artifacts.model;
    if (!ref) return null;
    const bytes = await this.ctx.artifacts.get(ref);
    return { ...decodeModel(bytes), ref, bytes: bytes.byteLength };
  }

  /** The previous model, or a freshly initialised model of the default architecture. */
  async inputModel(): Promise<{ model: Model; source: string; bytes: number | null; decoded: DecodedModel | null }> {
    const prev = await this.previousModel();
    if (prev) return { model: prev.model, source: `${this.ctx.previous!.phase}:model`, bytes: prev.bytes, decoded: prev };
    const model = Model.init(defaultArch(this.scale), 'xavier_uniform', new Rng(this.seed, 'fresh-model'));
    return { model, source: 'fresh default model', bytes: null, decoded: null };
  }

  async putModel(model: Model, name = 'model', opts: EncodeOptions = {}): Promise<{ ref: ArtifactRef; bytes: Uint8Array }> {
    if (!model.allFinite()) throw new Error(`${this.ctx.phase}: refusing to save a model with NaN/Inf weights`);
    const bytes = encodeModel(model, { ...opts, meta: { phase: this.ctx.phase, seed: this.seed, scale: this.scale, ...opts.meta } });
    const ref = await this.ctx.artifacts.put(`${this.ctx.artifactPrefix}${name}.bin`, bytes, 'application/x-agent-forge-model');
    return { ref, bytes };
  }

  async putJson(name: string, value: unknown): Promise<ArtifactRef> {
    return this.ctx.artifacts.put(`${this.ctx.artifactPrefix}${name}.json`, new TextEncoder().encode(JSON.stringify(value)), 'application/json');
  }

  /** The resume checkpoint of an earlier run of this phase with the same seed and scale, else null. */
  resumed<S>(): ForgeState<S> | null {
    const s = this.ctx.resumeState as ForgeState<S> | null;
    if (!s || typeof s !== 'object' || s.forge !== this.ctx.phase || s.v !== 1) return null;
    if (s.seed !== this.seed || s.scale !== this.scale) {
      this.ctx.logger.warn({ phase: this.ctx.phase }, 'resume state is from another seed/scale; starting over');
      return null;
    }
    this.lastCkpt = s.ckpt;
    this.lastState = JSON.parse(JSON.stringify(s)) as ForgeState<unknown>;
    return s;
  }

  async loadBundle<J>(ref: ArtifactRef): Promise<{ json: J; arrays: Map<string, Float32Array> }> {
    return decodeBundle<J>(await this.ctx.artifacts.get(ref));
  }

  /**
   * Record a step. With `checkpoint`, the step also becomes the new resume point: its `data`
   * (copied now) and, when given, a bundle written as a new artifact first; once the engine has
   * the new state the previous bundle is deleted. Without it, the last resume point is re-sent.
   */
  async progress<S>(
    percent: number,
    message: string,
    metrics: Record<string, unknown>,
    checkpoint?: { step: number; data: S; bundle?: { json: unknown; arrays: Map<string, Float32Array> } },
  ): Promise<void> {
    const previous = this.lastCkpt;
    if (checkpoint) {
      let ckpt: ArtifactRef | null = null;
      if (checkpoint.bundle) {
        const bytes = encodeBundle(checkpoint.bundle.json, checkpoint.bundle.arrays);
        ckpt = await this.ctx.artifacts.put(`${this.ctx.artifactPrefix}checkpoint-${checkpoint.step}.bin`, bytes, 'application/x-agent-forge-checkpoint');
      }
      const data = JSON.parse(JSON.stringify(checkpoint.data)) as S;
      this.lastState = { forge: this.ctx.phase, v: 1, seed: this.seed, scale: this.scale, step: checkpoint.step, data, ckpt };
      this.lastCkpt = ckpt;
    }
    const p: ProgressStep = { percent: Math.max(0, Math.min(100, percent)), message, metrics };
    if (this.lastState) p.state = this.lastState;
    await this.ctx.progress(p);
    this.lastYield = Date.now();
    if (checkpoint && previous && previous.uri !== this.lastCkpt?.uri) await this.ctx.artifacts.delete(previous).catch(() => undefined);
  }

  elapsedSeconds(): number {
    return Math.round((Date.now() - this.started) / 10) / 100;
  }
}

/** 2^20: sizes in the metrics are mebibytes of the artifacts' real byte sizes. */
export const MB = 1024 * 1024;
export function mb(bytes: number): number {
  return bytes / MB;
}
