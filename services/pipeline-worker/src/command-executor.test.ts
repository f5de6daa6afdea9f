import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CommandExecutor } from '@agent-forge/engine';
import { ForgeExecutor, decodeModel } from '@agent-forge/forge';
import { ALL_TENANTS } from '@agent-forge/state';
import { createWorkerHarness, waitFor } from './test-harness';

/**
 * Command executors on a real worker (real Redis, real BullMQ): an allow-listed program runs a
 * phase on the model the forge's cognate phase produced, and a paused program phase is parked and
 * resumes from the checkpoint it wrote.
 */
const ROOT = path.join(__dirname, '..', '..', '..');
const limits = { memoryLimitMb: 512, timeoutMs: 0, killGraceMs: 2_000 };
const prune = new CommandExecutor({ name: 'prune-py', argv: ['python3', path.join(ROOT, 'examples', 'executors', 'prune.py')], env: {}, ...limits });
const quantize = new CommandExecutor({ name: 'quantize-node', argv: [process.execPath, path.join(ROOT, 'examples', 'executors', 'quantize.mjs')], env: {}, ...limits });
const stepper = new CommandExecutor({
  name: 'stepper',
  argv: [process.execPath, path.join(ROOT, 'packages', 'engine', 'test-fixtures', 'command', 'program.mjs'), 'steps'],
  env: {},
  ...limits,
});
const h = createWorkerHarness({ label: 'command-exec', executors: [new ForgeExecutor(), prune, quantize, stepper] });
beforeAll(() => h.start());
afterAll(() => h.stop());

const modelOf = (uri: string) => decodeModel(new Uint8Array(readFileSync(fileURLToPath(uri))));

it('runs allow-listed Python and Node programs on the model of the previous phase to completion', async () => {
  const id = await h.startSession(['cognate', 'compression', 'training'], {
    executor: 'forge',
    cognate: { models_created: 1 },
    compression: { executor: 'prune-py', target_sparsity: 0.6 },
    training: { executor: 'quantize-node', bits: 4 },
    // Pruning alone leaves a dense file the same size (the program reports a ratio of 1.0, truly):
    // the compression gate's size target is lowered, its other checks and the theater checks stay.
    quality_gates: { compression_efficiency: { total_compression_ratio: 1 } },
  });
  const s = await waitFor(() => h.status(id), (v) => v.status !== 'running' && v.status !== 'initializing', 60_000);
  expect([s.status, s.status_reason]).toEqual(['completed', null]);
  const [cognate, pruned, quantized] = s.phase_metrics;
  const input = modelOf(cognate!.artifacts.model!.uri);

  // pruning: the reported sparsity and sizes are those of the stored artifact
  const p = pruned!.custom_metrics;
  expect(p).toMatchObject({ target_sparsity: 0.6, protocol_errors: 0, original_size_bytes: cognate!.artifacts.model!.size_bytes, compressed_size_bytes: pruned!.artifacts.model!.size_bytes });
  const out = modelOf(pruned!.artifacts.model!.uri);
  const matrices = out.header.tensors.filter((t) => t.shape.length === 2 && t.name !== 'embed' && !t.name.startsWith('thought.tokens'));
  let zeros = 0;
  let total = 0;
  for (const t of matrices) {
    const w = out.model.get(t.name);
    const before = input.model.get(t.name);
    for (let i = 0; i < w.length; i++) {
      if (w[i] === 0) zeros++;
      else expect(w[i]).toBe(before[i]); // survivors are untouched
    }
    total += w.length;
  }
  expect(p.sparsity_ratio).toBeCloseTo(zeros / total, 10);
  expect(zeros / total).toBeCloseTo(0.6, 2);

  // quantization: at most 2^bits - 1 distinct values per row, as reported
  const q = quantized!.custom_metrics;
  const qm = modelOf(quantized!.artifacts.model!.uri);
  let maxDistinct = 0;
  for (const t of qm.header.tensors.filter((x) => x.shape.length === 2 && x.name !== 'embed')) {
    const w = qm.model.get(t.name);
    const cols = t.shape[1]!;
    for (let r = 0; r < w.length / cols; r++) maxDistinct = Math.max(maxDistinct, new Set(w.subarray(r * cols, (r + 1) * cols)).size);
  }
  expect(maxDistinct).toBeLessThanOrEqual(15);
  expect(q.max_distinct_values_per_row).toBe(maxDistinct);
  expect(q.compressed_size_bytes).toBe(quantized!.artifacts.model!.size_bytes);
}, 90_000);

it('a paused program phase is parked and resumes from the checkpoint the program wrote', async () => {
  // The stepper is a control-flow fixture that writes no model: no quality gates for it.
  const id = await h.startSession(['cognate'], { cognate: { executor: 'stepper', steps: 400, step_ms: 20 } }, false, { enableMonitoring: false });
  await waitFor(() => h.status(id), (v) => v.status === 'running' && (v.phase_metrics[0]?.custom_metrics.step as number) >= 5, 20_000);
  expect((await h.store.control(id, 'pause', 'test', ALL_TENANTS)).kind).toBe('ok');
  const parked = await waitFor(() => h.store.sessionFields(id, ['status', 'parked']), (f) => f.parked === '1', 10_000);
  expect(parked.status).toBe('paused');
  // the program is stopped and the job ends: the worker slot is free
  await waitFor(async () => (await h.queues.queue('cognate').getJobCounts('active')).active, (n) => n === 0, 10_000);

  // resume the way the gateway does: the control script says what to enqueue
  const resumed = await h.store.control(id, 'resume', 'test', ALL_TENANTS);
  expect(resumed).toMatchObject({ kind: 'ok', enqueue: true, currentPhase: 'cognate' });
  if (resumed.kind === 'ok') await h.queues.enqueue({ sessionId: id, phase: 'cognate', runGen: resumed.runGen }, {});
  const done = await waitFor(() => h.status(id), (v) => v.status === 'completed' || v.status === 'failed', 30_000);
  expect(done.status).toBe('completed');
  const m = done.phase_metrics[0]!.custom_metrics;
  expect(m.steps_done).toBe(400);
  // it continued where it paused, not from scratch
  expect(m.started_at_step).toBeGreaterThanOrEqual(5);
}, 60_000);
