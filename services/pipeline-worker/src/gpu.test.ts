import { parseNvidiaSmiGpus } from '@agent-forge/runtime';
import { planGpuSlots } from './gpu';

const detected = parseNvidiaSmiGpus(
  '0, GPU-aaaaaaaa-1111-4222-8333-444444444444, NVIDIA A100-SXM4-80GB, 81920, 0, 0\n1, GPU-bbbbbbbb-1111-4222-8333-444444444444, NVIDIA A100-SXM4-80GB, 81920, 0, 0\n',
);

describe('GPU slots of a worker (WORKER_GPUS)', () => {
  it('auto: one slot per detected GPU, named by its UUID; none without GPUs', () => {
    expect(planGpuSlots('auto', 'w1', detected).slotIds).toEqual(['GPU-aaaaaaaa-1111-4222-8333-444444444444', 'GPU-bbbbbbbb-1111-4222-8333-444444444444']);
    expect(planGpuSlots('auto', 'w1', [])).toEqual({ slotIds: [], devices: new Map() });
  });

  it('a count takes the first detected GPUs, each with its device', () => {
    const plan = planGpuSlots(1, 'w1', detected);
    expect(plan.slotIds).toEqual(['GPU-aaaaaaaa-1111-4222-8333-444444444444']);
    expect(plan.devices.get(plan.slotIds[0]!)).toEqual({ uuid: 'GPU-aaaaaaaa-1111-4222-8333-444444444444', index: 0, name: 'NVIDIA A100-SXM4-80GB' });
  });

  it('a count above what nvidia-smi shows adds worker-named slots with no device (no figures invented)', () => {
    const plan = planGpuSlots(3, 'pod {x}', detected);
    expect(plan.slotIds[2]).toBe('pod__x_.slot2');
    expect(plan.devices.has('pod__x_.slot2')).toBe(false);
    expect(planGpuSlots(0, 'w1', detected).slotIds).toEqual([]);
  });
});
