import { jStat } from 'jstat';
import { meanCI, pairedTTest, slope } from './stats';

describe('stats', () => {
  it('paired t-test matches a textbook example and jstat', () => {
    // Student's sleep data (Cushny & Peebles): drug 2 vs drug 1, n = 10, t = 4.062, p = 0.002833
    const a = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0];
    const b = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4];
    const t = pairedTTest(a, b);
    expect(t.t).toBeCloseTo(4.062128, 5);
    expect(t.pValue).toBeCloseTo(0.002832890, 8);
    expect(t.ci95[0]).toBeCloseTo(0.7001142, 5);
    expect(t.ci95[1]).toBeCloseTo(2.4598858, 5);
    expect(t.pValue).toBeCloseTo(jStat.ttest(0, b.map((x, i) => x - a[i]!), 2), 10);
  });
  it('handles zero variance', () => {
    expect(pairedTTest([1, 1, 1], [1, 1, 1]).pValue).toBe(1);
  });
  it('mean CI and slope', () => {
    const ci = meanCI([1, 2, 3, 4]);
    expect(ci.mean).toBe(2.5);
    expect(ci.ci95[0]).toBeLessThan(2.5);
    expect(slope([3, 2, 1])).toBeCloseTo(-1, 10);
  });
});
