import type { PhaseExecutor, PhaseGpu } from '@agent-forge/engine';
import { ALL_TENANTS, EventReader, toSwarmStatus } from '@agent-forge/state';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createWorkerHarness, waitFor } from './test-harness';

/**
 * This machine has no GPU. The worker is given an nvidia-smi program that prints what the real
 * one prints for `--query-gpu=index,uuid,name,memory.total,memory.used,utilization.gpu
 * --format=csv,noheader,nounits` (documented format), so detection, slots and utilisation go
 * through the production code; the test checks the figures arrive where users read them.
 */
const dir = mkdtempSync(path.join(os.tmpdir(), 'af-smi-'));
const smi = path.join(dir, 'nvidia-smi');
writeFileSync(
  smi,
  '#!/bin/sh\nprintf "0, GPU-5d2c8e3f-9b1a-4c7e-8f60-2a1b3c4d5e6f, NVIDIA GeForce RTX 3090, 24576, 18021, 73\\n1, GPU-0a9b8c7d-6e5f-4a3b-2c1d-0e9f8a7b6c5d, NVIDIA GeForce RTX 3090, 24576, 3, 0\\n"\n',
);
chmodSync(smi, 0o755);

const gpuSeen = new Map<string, PhaseGpu | null>();
const stepper: PhaseExecutor = {
  name: 'stepper',
  async run(ctx) {
    gpuSeen.set(ctx.sessionId, ctx.gpu);
    for (let i = 1; i <= 8; i++) {
      await sleep(90, undefined, { signal: ctx.signal });
      await ctx.progress({ percent: i * 12.5 });
    }
    return { metrics: {} };
  },
};

// WORKER_GPUS=1 on a machine whose nvidia-smi shows two GPUs: the slot is the first GPU.
const h = createWorkerHarness({ label: 'gpu-metrics', executors: [stepper], gpuSlots: 1, nvidiaSmi: smi , enableMonitoring: false });
const reader = new EventReader(h.t.redis, h.t.keys);
beforeAll(() => h.start());
afterAll(async () => {
  await h.stop();
  rmSync(dir, { recursive: true, force: true });
});

const metricsEvents = async (id: string) => (await reader.readAfter(id)).filter((e) => e.event_type === 'metrics').map((e) => e.data.metrics as Record<string, unknown>);

it('a phase on a detected GPU reports its measured utilisation: metrics events, phase_metrics, swarm', async () => {
  const id = await h.startSession(['training'], { executor: 'stepper', training: { gpu: true } });
  const live = await waitFor(
    async () => toSwarmStatus((await h.store.snapshot(id, ALL_TENANTS))!),
    (s) => s.gpu_usage_percent !== null,
  );
  expect(live.gpu_usage_percent).toBe(73);
  const done = await waitFor(() => h.status(id), (s) => s.status === 'completed');
  expect(gpuSeen.get(id)).toEqual({ slot: 'GPU-5d2c8e3f-9b1a-4c7e-8f60-2a1b3c4d5e6f', uuid: 'GPU-5d2c8e3f-9b1a-4c7e-8f60-2a1b3c4d5e6f', index: 0, name: 'NVIDIA GeForce RTX 3090' });
  expect(done.phase_metrics[0]!.gpu_utilization_percent).toBe(73);
  const figures = await metricsEvents(id);
  expect(figures.length).toBeGreaterThan(0);
  expect(figures.every((m) => m.gpu_utilization === 73)).toBe(true);
  // Nothing runs any more: the swarm uses no GPU.
  expect(toSwarmStatus((await h.store.snapshot(id, ALL_TENANTS))!).gpu_usage_percent).toBeNull();
});

it('a phase without a GPU slot reports null everywhere, even on a GPU machine', async () => {
  const id = await h.startSession(['training'], { executor: 'stepper' });
  await waitFor(() => h.status(id), (s) => s.phase_metrics[0]!.progress_percent >= 25);
  expect(toSwarmStatus((await h.store.snapshot(id, ALL_TENANTS))!).gpu_usage_percent).toBeNull();
  const done = await waitFor(() => h.status(id), (s) => s.status === 'completed');
  expect(gpuSeen.get(id)).toBeNull();
  expect(done.phase_metrics[0]!.gpu_utilization_percent).toBeNull();
  const figures = await metricsEvents(id);
  expect(figures.length).toBeGreaterThan(0);
  expect(figures.every((m) => m.gpu_utilization === null)).toBe(true);
});
