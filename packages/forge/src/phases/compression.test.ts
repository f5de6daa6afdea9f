import { stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { FsArtifactStore, PreviousPhase } from '@agent-forge/engine';
import { evaluate } from '../model/evaluate';
import { decodeModel } from '../model/serialize';
import { cognateFixture, makeTestContext, makeTestStore, measured, runInterrupted } from '../test-support';
import { validSet } from './common';
import { kmeans1d, runCompression } from './compression';

describe('compression', () => {
  let store: FsArtifactStore;
  let cleanup: () => Promise<void>;
  let previous: PreviousPhase;
  beforeAll(async () => {
    ({ store, cleanup } = await makeTestStore());
    previous = await cognateFixture(store);
  });
  afterAll(() => cleanup());

  const config = { target_sparsity: 0.6, codebook_size: 8, finetune_steps: 30 };

  it('k-means on 1-D data finds the clusters', () => {
    const v = Float32Array.from([1, 1.1, 0.9, 5, 5.2, 4.8, -3, -3.1]);
    const { centroids } = kmeans1d(v, 3, 20);
    const sorted = [...centroids].sort((x, y) => x - y);
    expect(sorted[0]).toBeCloseTo(-3.05, 4);
    expect(sorted[1]).toBeCloseTo(1, 4);
    expect(sorted[2]).toBeCloseTo(5, 4);
  });

  it('prunes to the target sparsity and codebook-quantizes; sizes are the artifact’s real size', async () => {
    const r = await runCompression(makeTestContext({ phase: 'compression', config, store, previous }).ctx);
    const m = r.metrics as Record<string, any>;
    const onDisk = (await stat(fileURLToPath(r.artifacts!.model!.uri))).size;
    expect(m.compressed_size_mb).toBe(onDisk / 2 ** 20);
    expect(m.original_size_mb).toBe(previous.artifacts.model!.size_bytes / 2 ** 20);
    expect(m.total_compression_ratio).toBeGreaterThan(3);
    const dec = decodeModel(await store.get(r.artifacts!.model!));
    for (const [name, cb] of dec.codebook) {
      const w = dec.model.get(name);
      const nonzero = new Set(w.filter((v) => v !== 0));
      expect(nonzero.size).toBeLessThanOrEqual(8);
      expect(cb.centroids.length).toBeLessThanOrEqual(8);
      const zeros = w.filter((v) => v === 0).length / w.length;
      expect(zeros).toBeGreaterThanOrEqual(0.6 - 1 / w.length);
    }
    expect(m.sparsity_achieved).toBeGreaterThanOrEqual(0.6 - 1e-3);
    const after = evaluate(dec.model, validSet(1337, 1, dec.model.arch));
    expect(after.loss).toBeCloseTo(m.validation_results.after.val_loss, 5);
    expect(m.validation_results.before.val_loss).toBeGreaterThan(0);
  });

  it('resumes after an interruption with the same result', async () => {
    const { full, resumed } = await runInterrupted(runCompression, { phase: 'compression', config: { ...config, checkpoint_every: 10 }, store, previous, sessionId: 'cp' }, 3);
    expect(measured(resumed)).toEqual(measured(full));
    expect(resumed.artifacts!.model!.sha256).toBe(full.artifacts!.model!.sha256);
  });
});
