import { z } from 'zod';
import { PipelinePhase } from './enums';

/**
 * The command-executor protocol: how a user's own phase program (an allow-listed command on the
 * worker) talks to the engine. The program reads its start context from the JSON file named by
 * `AGENT_FORGE_CONTEXT`, writes one JSON object per line on stdout, and reads control words, one
 * per line, on stdin. The README's "Command executor" section documents it for users.
 */
export const EXECUTOR_PROTOCOL_VERSION = 1;

/** Env var holding the path of the start-context JSON file. */
export const EXECUTOR_CONTEXT_ENV = 'AGENT_FORGE_CONTEXT';

/** Artifact names: they become part of artifact keys, so a conservative alphabet. */
export const ExecutorArtifactName = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits and _ . - only, at most 64');

export const ExecutorProgressLine = z.object({
  type: z.literal('progress'),
  percent: z.number().min(0).max(100),
  message: z.string().max(1_000).optional(),
  metrics: z.record(z.string(), z.json()).optional(),
});

export const ExecutorMetricLine = z.object({
  type: z.literal('metric'),
  name: z.string().min(1).max(128),
  value: z.json(),
});

export const ExecutorCheckpointLine = z.object({
  type: z.literal('checkpoint'),
  /** Whatever the program needs to continue; handed back as `resume_state` when the phase restarts. */
  state: z.json(),
});

export const ExecutorArtifactLine = z.object({
  type: z.literal('artifact'),
  name: ExecutorArtifactName,
  /** A file inside the run's `output_dir` (absolute, or relative to it); anything else is refused. */
  path: z.string().min(1).max(4_096),
  media_type: z.string().min(1).max(128).optional(),
});

export const ExecutorResultLine = z.object({
  type: z.literal('result'),
  metrics: z.record(z.string(), z.json()),
});

export const ExecutorLogLine = z.object({
  type: z.literal('log'),
  level: z.enum(['trace', 'debug', 'info', 'warn', 'error']),
  message: z.string().max(10_000),
});

/** One line a phase program writes on stdout. */
export const ExecutorOutputLine = z.discriminatedUnion('type', [
  ExecutorProgressLine,
  ExecutorMetricLine,
  ExecutorCheckpointLine,
  ExecutorArtifactLine,
  ExecutorResultLine,
  ExecutorLogLine,
]);
export type ExecutorOutputLine = z.infer<typeof ExecutorOutputLine>;

/** One line the engine writes on the program's stdin. */
export const ExecutorControlWord = z.enum(['pause', 'resume', 'stop']);
export type ExecutorControlWord = z.infer<typeof ExecutorControlWord>;

/** An input artifact materialised as a local file for the program (e.g. the previous phase's `model`). */
export const ExecutorInputFile = z.object({
  path: z.string(),
  sha256: z.string(),
  size_bytes: z.number().int().min(0),
  media_type: z.string(),
});

/** The start context, written as JSON to the file named by `AGENT_FORGE_CONTEXT`. */
export const ExecutorStartContext = z.object({
  protocol: z.literal(EXECUTOR_PROTOCOL_VERSION),
  executor: z.string(),
  session_id: z.string(),
  phase: PipelinePhase,
  /** 1 on the first run; higher after a failure was retried. */
  attempt: z.number().int().min(1),
  /** This phase's section of the pipeline config (`config.<phase>`). */
  config: z.record(z.string(), z.unknown()),
  /** The `state` of the program's last `checkpoint` line before a pause (or a retry), or null. */
  resume_state: z.json().nullable(),
  /** The previous completed phase's artifacts, by name, as local files. */
  inputs: z.record(z.string(), ExecutorInputFile),
  previous: z.object({ phase: PipelinePhase, metrics: z.record(z.string(), z.unknown()) }).nullable(),
  /** An empty directory of this run; `artifact` lines name files in it. */
  output_dir: z.string(),
});
export type ExecutorStartContext = z.infer<typeof ExecutorStartContext>;
