/**
 * A pixel region's column profile: per column its first and last row (NaN where the column is empty), and
 * the first and last non-empty columns. `bottom` is the last row itself, or one past it with `pastEnd`.
 * Shared by the lip and eye fits, which both turn a colour region into lid or lip lines.
 */
export function columnProfile(
  region: Uint8Array,
  w: number,
  h: number,
  pastEnd = false,
): { top: Float32Array; bottom: Float32Array; left: number; right: number } {
  const top = new Float32Array(w).fill(Number.NaN);
  const bottom = new Float32Array(w).fill(Number.NaN);
  let left = w;
  let right = -1;
  for (let x = 0; x < w; x++) {
    for (let y = 0; y < h; y++) {
      if (!region[y * w + x]) continue;
      if (Number.isNaN(top[x]!)) top[x] = y;
      bottom[x] = pastEnd ? y + 1 : y;
    }
    if (!Number.isNaN(top[x]!)) {
      left = Math.min(left, x);
      right = Math.max(right, x);
    }
  }
  return { top, bottom, left, right };
}
