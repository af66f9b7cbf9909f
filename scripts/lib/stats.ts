/** The p-th quantile (0..1) of a sample, nearest rank; NaN for an empty one. */
export const pct = (v: number[], p: number): number =>
  [...v].sort((a, b) => a - b)[Math.min(v.length - 1, Math.floor(v.length * p))] ?? Number.NaN;

/** The arithmetic mean; NaN (null in JSON) for an empty sample. */
export const mean = (v: number[]): number =>
  v.length ? v.reduce((a, b) => a + b, 0) / v.length : Number.NaN;

/** The value farthest from zero, with its sign (an offset's worst case); 0 for an empty sample. */
export const farthestFromZero = (v: number[]): number =>
  v.reduce((m, x) => (Math.abs(x) > Math.abs(m) ? x : m), 0);
