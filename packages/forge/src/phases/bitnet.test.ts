import { stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { FsArtifactStore, PreviousPhase } from '@agent-forge/engine';
import { evaluate } from '../model/evaluate';
import { decodeModel } from '../model/serialize';
import { cognateFixture, makeTestContext, makeTestStore } from '../test-support';
import { runBitnet } from './bitnet';
import { validSet } from './common';

describe('bitnet', () => {
  let store: FsArtifactStore;
  let cleanup: () => Promise<void>;
  let previous: PreviousPhase;
  beforeAll(async () => {
    ({ store, cleanup } = await makeTestStore());
    previous = await cognateFixture(store);
  });
  afterAll(() => cleanup());

  it('quantizes every weight matrix to {-α, 0, +α} per group; sizes are the artifacts’ real sizes', async () => {
    const r = await runBitnet(makeTestContext({ phase: 'bitnet', config: { group_size: 32, calibration_samples: 64 }, store, previous }).ctx);
    const m = r.metrics as Record<string, any>;
    const bytes = await store.get(r.artifacts!.model!);
    const onDisk = (await stat(fileURLToPath(r.artifacts!.model!.uri))).size;
    expect(bytes.byteLength).toBe(onDisk);
    expect(m.compressed_size_mb).toBe(onDisk / 2 ** 20);
    expect(m.original_size_mb).toBe(previous.artifacts.model!.size_bytes / 2 ** 20);
    expect(m.compression_ratio).toBeCloseTo(previous.artifacts.model!.size_bytes / onDisk, 3);
    expect(m.compression_ratio).toBeGreaterThan(4);
    const dec = decodeModel(bytes);
    const weights = dec.model.specs.filter((s) => s.kind === 'weight');
    expect(m.layers_compressed).toBe(weights.length);
    expect([...dec.ternary.keys()].sort()).toEqual(weights.map((s) => s.name).sort());
    let zeros = 0;
    let total = 0;
    for (const s of weights) {
      const w = dec.model.get(s.name);
      const t = dec.ternary.get(s.name)!;
      for (let g = 0; g * 32 < w.length; g++) {
        const alpha = t.scales[g]!;
        expect(alpha).toBeGreaterThan(0);
        const values = new Set(Array.from(w.subarray(g * 32, (g + 1) * 32), (v) => (v === 0 ? 0 : v / alpha)));
        for (const v of values) expect([-1, 0, 1]).toContainEqual(Math.round(v) === v ? v : expect.closeTo(Math.round(v), 5));
      }
      for (const c of t.codes) {
        expect([-1, 0, 1]).toContain(c);
        if (c === 0) zeros++;
      }
      total += t.codes.length;
    }
    expect(m.sparsity_ratio).toBeCloseTo(zeros / total, 5);
    // post-quantization perplexity re-measures on the saved model
    expect(evaluate(dec.model, validSet(1337, 1, dec.model.arch)).perplexity).toBeCloseTo(m.post_perplexity, 4);
    expect(m.post_perplexity).toBeGreaterThan(0);
    expect(m.accuracy_preserved).toBeGreaterThan(0);
  });

  it('quantizes by plain absmean without calibration', async () => {
    const r = await runBitnet(makeTestContext({ phase: 'bitnet', config: { group_size: 16, calibrate_scales: false }, store, previous, sessionId: 'plain' }).ctx);
    const dec = decodeModel(await store.get(r.artifacts!.model!));
    const orig = decodeModel(await store.get(previous.artifacts.model!)).model;
    const t = dec.ternary.get('out.w')!;
    const w = orig.get('out.w');
    const absmean = w.subarray(0, 16).reduce((s, v) => s + Math.abs(v), 0) / 16;
    expect(t.scales[0]).toBeCloseTo(absmean, 6);
  });
});
