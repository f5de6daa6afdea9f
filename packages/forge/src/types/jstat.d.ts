// Minimal typings for the parts of jstat (no @types package exists) the forge uses.
declare module 'jstat' {
  interface Distribution {
    cdf(x: number, ...params: number[]): number;
    inv(p: number, ...params: number[]): number;
  }
  export const jStat: {
    studentt: Distribution;
    normal: Distribution;
    binomial: { cdf(k: number, n: number, p: number): number };
    /** (value, sample, sides): p-value of a one-sample t-test of the sample's mean against value. */
    ttest(value: number, sample: number[], sides: 1 | 2): number;
  };
}
