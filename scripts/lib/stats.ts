/** The p-th quantile (0..1) of a sample, nearest rank; NaN for an empty one. */
export const pct = (v: number[], p: number): number =>
  [...v].sort((a, b) => a - b)[Math.min(v.length - 1, Math.floor(v.length * p))] ?? Number.NaN;
