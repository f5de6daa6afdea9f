import type { PhaseGpu } from '@agent-forge/engine';
import { probeGpus, type GpuDevice, type GpuProbeOptions } from '@agent-forge/runtime';

export interface GpuSlotPlan {
  slotIds: string[];
  devices: Map<string, Omit<PhaseGpu, 'slot'>>;
}

/**
 * The GPU slots a worker offers. `auto`: one per GPU nvidia-smi reports (none without it). A count:
 * the first that many detected GPUs, then — if the operator declares more than nvidia-smi shows
 * (e.g. nvidia-smi is not in the image) — slots named after the worker, with no device figures.
 * A detected GPU's slot id is its UUID, so two workers on one machine never share a device.
 */
export function planGpuSlots(setting: 'auto' | number, workerId: string, detected: readonly GpuDevice[]): GpuSlotPlan {
  const count = setting === 'auto' ? detected.length : setting;
  const devices = new Map<string, Omit<PhaseGpu, 'slot'>>();
  const slotIds: string[] = [];
  const safeWorker = workerId.replace(/[{}\s]/g, '_');
  for (let i = 0; i < count; i++) {
    const d = detected[i];
    if (d) {
      slotIds.push(d.uuid);
      devices.set(d.uuid, { uuid: d.uuid, index: d.index, name: d.name });
    } else {
      slotIds.push(`${safeWorker}.slot${i}`);
    }
  }
  return { slotIds, devices };
}

/** Current utilisation of one GPU by UUID (one nvidia-smi run); null when it cannot be measured. */
export function gpuUtilizationReader(options: GpuProbeOptions = {}): (uuid: string) => Promise<number | null> {
  return async (uuid) => (await probeGpus(options)).find((g) => g.uuid === uuid)?.utilizationPercent ?? null;
}
