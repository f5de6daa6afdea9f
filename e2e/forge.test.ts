import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Stack, waitFor, type RunningService } from './support/stack';

/**
 * The built-in forge on the real stack: `quick_test` and `full_pipeline` run to completion with the
 * default executor (forge, in a worker thread), and what status shows matches the stored artifacts.
 */
const stack = new Stack('e2e-forge');
let gateway: RunningService;
beforeAll(async () => {
  gateway = await stack.start('gateway');
  await stack.start('pipeline-worker', { DEFAULT_EXECUTOR: 'forge', WORKER_CONCURRENCY: '2' });
}, 30_000);
afterAll(() => stack.stopAll());

async function start(preset: string): Promise<string> {
  const res = await fetch(`${gateway.url}/api/v1/pipeline/start`, { method: 'POST', headers: stack.headers(true), body: JSON.stringify({ preset }) });
  expect(res.status).toBe(200);
  return ((await res.json()) as { session_id: string }).session_id;
}
const status = async (id: string) => (await (await fetch(`${gateway.url}/api/v1/pipeline/status/${id}`, { headers: stack.headers() })).json()) as Record<string, any>;

it('runs quick_test and full_pipeline to completion with measured metrics backed by the stored artifacts', async () => {
  const [quick, full] = await Promise.all([start('quick_test'), start('full_pipeline')]);
  const q = await waitFor(() => status(quick), (s) => s.status === 'completed' || s.status === 'failed', 120_000, 'quick_test');
  expect(q.status).toBe('completed');
  expect(q.phases_completed).toEqual(['cognate', 'evomerge']);
  const cognate = q.phase_metrics[0];
  expect(cognate.custom_metrics.models_created).toBe(3);
  expect(cognate.custom_metrics.val_loss).toBeGreaterThan(0);
  const evo = q.phase_metrics[1].custom_metrics;
  // elitist evolution never loses its best: final fitness is at least the starting best
  expect(evo.final_fitness).toBeGreaterThanOrEqual(evo.initial_best_fitness);
  expect(evo.final_fitness).toBeLessThanOrEqual(1);

  const gates = (await (await fetch(`${gateway.url}/api/v1/pipeline/quality-gates/${quick}?phase=evomerge`, { method: 'POST', headers: stack.headers() })).json()) as Record<string, any>;
  expect(gates).toMatchObject({ phase: 'evomerge', can_proceed: true, all_gates_passed: true });
  expect(gates.gate_results.map((g: { gate_name: string }) => g.gate_name)).toEqual(expect.arrayContaining(['Evolutionary Merge', 'Integrity', 'Theater Elimination']));
  // the engine re-measured the evomerge output itself and found the claims honest
  expect(gates.theater_detection).toMatchObject({ theater_detected: false, theater_score: 0 });

  const f = await waitFor(() => status(full), (s) => s.status === 'completed' || s.status === 'failed', 240_000, 'full_pipeline');
  expect(f.status).toBe('completed');
  expect(f.phases_completed).toHaveLength(8);
  for (const m of f.phase_metrics) {
    const model = m.artifacts.model;
    expect(model).toBeDefined();
    // the reference is honest: the bytes on disk have the recorded size and checksum
    const bytes = readFileSync(fileURLToPath(model.uri));
    expect(bytes.length).toBe(model.size_bytes);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(model.sha256);
  }
  const bitnet = f.phase_metrics.find((m: { phase: string }) => m.phase === 'bitnet');
  expect(bitnet.custom_metrics.compressed_size_mb).toBeCloseTo(bitnet.artifacts.model.size_bytes / 2 ** 20, 6);
  // every built-in phase at its default config passes theater detection (the demo must pass)
  for (const m of f.phase_metrics) {
    const g = (await (await fetch(`${gateway.url}/api/v1/pipeline/quality-gates/${full}?phase=${m.phase}`, { method: 'POST', headers: stack.headers() })).json()) as Record<string, any>;
    expect({ phase: m.phase, detected: g.theater_detection?.theater_detected, score: g.theater_detection?.theater_score }).toEqual({ phase: m.phase, detected: false, score: 0 });
  }
  const training = f.phase_metrics.find((m: { phase: string }) => m.phase === 'training');
  expect(training.custom_metrics.final_loss).toBeLessThan(training.custom_metrics.initial_loss);
}, 300_000);
