import { execFile } from 'node:child_process';

/** One NVIDIA GPU as nvidia-smi reports it. Figures nvidia-smi cannot give are null, never guessed. */
export interface GpuDevice {
  index: number;
  uuid: string;
  name: string;
  memoryTotalMb: number | null;
  memoryUsedMb: number | null;
  /** Percent of the last sample period during which a kernel ran (nvidia-smi `utilization.gpu`). */
  utilizationPercent: number | null;
}

export const NVIDIA_SMI_ARGS = [
  '--query-gpu=index,uuid,name,memory.total,memory.used,utilization.gpu',
  '--format=csv,noheader,nounits',
] as const;

/** nvidia-smi prints these (in brackets) for a field a device or driver does not support. */
const UNAVAILABLE = /^\[?(N\/A|Not Supported|Unknown Error|Insufficient Permissions|GPU requires reset)\]?$/i;

const figure = (v: string): number | null => {
  if (UNAVAILABLE.test(v)) return null;
  const n = Number(v);
  return v !== '' && Number.isFinite(n) ? n : null;
};

/**
 * Parse `nvidia-smi --query-gpu=index,uuid,name,memory.total,memory.used,utilization.gpu
 * --format=csv,noheader,nounits`: one line per GPU, fields separated by ", ". A line that does
 * not have that shape (a warning nvidia-smi printed, a truncated line) is skipped, not guessed at.
 * GPU names contain no commas (NVIDIA's product names), but the name is taken as everything
 * between the uuid and the last three fields, so one would still parse.
 */
export function parseNvidiaSmiGpus(stdout: string): GpuDevice[] {
  const out: GpuDevice[] = [];
  for (const line of stdout.split(/\r?\n/)) {
    const fields = line.split(',').map((f) => f.trim());
    if (fields.length < 6) continue;
    const [indexField, uuid] = fields as [string, string];
    const tail = fields.slice(-3) as [string, string, string];
    const name = fields.slice(2, -3).join(', ');
    if (!/^\d+$/.test(indexField) || !/^(GPU|MIG)-[0-9A-Za-z-]+$/.test(uuid) || name === '') continue;
    out.push({
      index: Number(indexField),
      uuid,
      name,
      memoryTotalMb: figure(tail[0]),
      memoryUsedMb: figure(tail[1]),
      utilizationPercent: figure(tail[2]),
    });
  }
  return out;
}

/** Runs a program and resolves with its stdout; rejects when it is absent, fails or times out. */
export type CommandRunner = (file: string, args: readonly string[], timeoutMs: number) => Promise<string>;

export const runCommand: CommandRunner = (file, args, timeoutMs) =>
  new Promise((resolve, reject) => {
    execFile(file, [...args], { timeout: timeoutMs, encoding: 'utf8', maxBuffer: 1024 * 1024, windowsHide: true }, (err, stdout) =>
      err ? reject(err) : resolve(stdout),
    );
  });

export interface GpuProbeOptions {
  /** The nvidia-smi executable (a name looked up on PATH, or a path). */
  command?: string;
  timeoutMs?: number;
  run?: CommandRunner;
}

/**
 * The GPUs of this machine, read with nvidia-smi. No nvidia-smi, a failing one (no driver, no
 * device) or a timeout all mean: no GPU. Nothing is ever invented.
 */
export async function probeGpus(options: GpuProbeOptions = {}): Promise<GpuDevice[]> {
  const run = options.run ?? runCommand;
  try {
    return parseNvidiaSmiGpus(await run(options.command ?? 'nvidia-smi', NVIDIA_SMI_ARGS, options.timeoutMs ?? 5_000));
  } catch {
    return [];
  }
}

/** Mean of the measured utilisations; null when none was measured. */
export function meanUtilization(samples: readonly (number | null)[]): number | null {
  const measured = samples.filter((s): s is number => s !== null);
  if (measured.length === 0) return null;
  return Math.round((measured.reduce((a, b) => a + b, 0) / measured.length) * 100) / 100;
}
