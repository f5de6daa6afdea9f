import { Rng } from '../rng';
import { defaultArch } from './arch';
import { Model } from './model';
import { decodeBundle, decodeModel, dequantizeTernary, encodeBundle, encodeModel } from './serialize';

describe('model serialization', () => {
  const m = Model.init({ ...defaultArch(0.25), thought: { count: 2, length: 2, dim: 4 } }, 'xavier_uniform', new Rng(3));

  it('round-trips float32 exactly', () => {
    const back = decodeModel(encodeModel(m)).model;
    for (const s of m.specs) expect(back.get(s.name)).toEqual(m.get(s.name));
    expect(back.arch).toEqual(m.arch);
  });

  it('packs ternary codes 5 per byte and codebooks with a bitmap, deflated or not', () => {
    const n = m.get('out.w').length;
    const codes = Int8Array.from({ length: n }, (_, i) => ((i * 7) % 3) - 1);
    const ternary = new Map([['out.w', { groupSize: 8, scales: Float32Array.from({ length: Math.ceil(n / 8) }, (_, g) => 0.1 + g / 100), codes }]]);
    const k = m.get('h0.w').length;
    const index = Int32Array.from({ length: k }, (_, i) => (i % 5 === 0 ? -1 : i % 16));
    const codebook = new Map([['h0.w', { centroids: Float32Array.from({ length: 16 }, (_, c) => c / 10 - 0.8), index }]]);
    for (const deflate of [false, true]) {
      const bytes = encodeModel(m, { ternary, codebook, deflate });
      const d = decodeModel(bytes);
      expect(Array.from(d.ternary.get('out.w')!.codes)).toEqual(Array.from(codes));
      expect(d.model.get('out.w')).toEqual(dequantizeTernary(ternary.get('out.w')!));
      expect(Array.from(d.codebook.get('h0.w')!.index)).toEqual(Array.from(index));
      expect(d.model.get('embed')).toEqual(m.get('embed'));
    }
    const raw = encodeModel(m, { ternary });
    const f32 = encodeModel(m);
    // 1.6 bits per weight plus a float32 scale per 8 weights instead of 32 bits
    expect(f32.byteLength - raw.byteLength).toBeGreaterThan(n * 4 - Math.ceil(n / 5) - Math.ceil(n / 8) * 4 - 200);
  });

  it('bundles arrays with JSON', () => {
    const b = decodeBundle<{ a: number }>(encodeBundle({ a: 1 }, new Map([['x', Float32Array.from([1, 2, 3])]])));
    expect(b.json).toEqual({ a: 1 });
    expect(Array.from(b.arrays.get('x')!)).toEqual([1, 2, 3]);
  });
});
