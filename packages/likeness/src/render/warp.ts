/**
 * Piecewise-affine warp, backward-mapped: for each destination triangle, every pixel whose centre lies inside
 * samples the source through the triangle's affine map (bilinear). Triangles whose three vertices did not move
 * are skipped: the destination starts as a copy of the source, so they are already right. The same copy also
 * fills any pixel that falls exactly between two triangles, so no seam can open.
 */
export function warpTriangles(
  src: Uint8Array,
  dst: Uint8Array,
  width: number,
  height: number,
  rest: Float32Array,
  posed: Float32Array,
  triangles: Uint32Array,
): number {
  let drawn = 0;
  // 32-bit views: one read per texel instead of three (RGBA, little-endian: R in the low byte).
  const src32 = new Uint32Array(src.buffer, src.byteOffset, src.byteLength >> 2);
  const dst32 = new Uint32Array(dst.buffer, dst.byteOffset, dst.byteLength >> 2);
  const maxX = width - 1;
  const maxY = height - 1;
  for (let t = 0; t < triangles.length; t += 3) {
    const a = triangles[t]! * 2;
    const b = triangles[t + 1]! * 2;
    const c = triangles[t + 2]! * 2;
    const dx0 = posed[a]!;
    const dy0 = posed[a + 1]!;
    const dx1 = posed[b]!;
    const dy1 = posed[b + 1]!;
    const dx2 = posed[c]!;
    const dy2 = posed[c + 1]!;
    const sx0 = rest[a]!;
    const sy0 = rest[a + 1]!;
    const sx1 = rest[b]!;
    const sy1 = rest[b + 1]!;
    const sx2 = rest[c]!;
    const sy2 = rest[c + 1]!;
    if (
      Math.abs(dx0 - sx0) +
        Math.abs(dy0 - sy0) +
        Math.abs(dx1 - sx1) +
        Math.abs(dy1 - sy1) +
        Math.abs(dx2 - sx2) +
        Math.abs(dy2 - sy2) <
      0.01
    ) {
      continue;
    }
    const det = (dx1 - dx0) * (dy2 - dy0) - (dx2 - dx0) * (dy1 - dy0);
    if (Math.abs(det) < 1e-9) continue;
    // Affine map destination -> source: s = s0 + A * (d - d0)
    const inv = 1 / det;
    const e1x = (dy2 - dy0) * inv;
    const e1y = -(dx2 - dx0) * inv;
    const e2x = -(dy1 - dy0) * inv;
    const e2y = (dx1 - dx0) * inv;
    // Barycentric u = e1 . (d - d0), v = e2 . (d - d0); s = s0 + u (s1 - s0) + v (s2 - s0)
    const ax = e1x * (sx1 - sx0) + e2x * (sx2 - sx0);
    const ay = e1y * (sx1 - sx0) + e2y * (sx2 - sx0);
    const bx = e1x * (sy1 - sy0) + e2x * (sy2 - sy0);
    const by = e1y * (sy1 - sy0) + e2y * (sy2 - sy0);
    // Sources well inside the image need no clamping (a pixel outside the triangle samples at most 1 px out).
    const interior =
      Math.min(sx0, sx1, sx2) >= 2 &&
      Math.max(sx0, sx1, sx2) <= maxX - 3 &&
      Math.min(sy0, sy1, sy2) >= 2 &&
      Math.max(sy0, sy1, sy2) <= maxY - 3;
    const minX = Math.max(0, Math.floor(Math.min(dx0, dx1, dx2)));
    const maxPX = Math.min(maxX, Math.ceil(Math.max(dx0, dx1, dx2)));
    const minY = Math.max(0, Math.floor(Math.min(dy0, dy1, dy2)));
    const maxPY = Math.min(maxY, Math.ceil(Math.max(dy0, dy1, dy2)));
    for (let y = minY; y <= maxPY; y++) {
      const py = y + 0.5 - dy0;
      // Inside means u >= 0, v >= 0, u + v <= 1. Each is linear in x (c * px + k >= 0), so the row's span is
      // an interval: intersect the three half-lines (inlined: a closure here costs more than the pixels).
      let lo = minX;
      let hi = maxPX;
      let c = e1x;
      let k = e1y * py;
      if (c > 1e-12) lo = Math.max(lo, Math.ceil(-k / c + dx0 - 0.5 - 1e-6));
      else if (c < -1e-12) hi = Math.min(hi, Math.floor(-k / c + dx0 - 0.5 + 1e-6));
      else if (k < -1e-6) continue;
      c = e2x;
      k = e2y * py;
      if (c > 1e-12) lo = Math.max(lo, Math.ceil(-k / c + dx0 - 0.5 - 1e-6));
      else if (c < -1e-12) hi = Math.min(hi, Math.floor(-k / c + dx0 - 0.5 + 1e-6));
      else if (k < -1e-6) continue;
      c = -(e1x + e2x);
      k = 1 - (e1y + e2y) * py;
      if (c > 1e-12) lo = Math.max(lo, Math.ceil(-k / c + dx0 - 0.5 - 1e-6));
      else if (c < -1e-12) hi = Math.min(hi, Math.floor(-k / c + dx0 - 0.5 + 1e-6));
      else if (k < -1e-6) continue;
      if (hi < lo) continue;
      const px = lo + 0.5 - dx0;
      let sx = sx0 + ax * px + ay * py - 0.5;
      let sy = sy0 + bx * px + by * py - 0.5;
      let o = y * width + lo;
      if (interior) {
        for (let x = lo; x <= hi; x++, sx += ax, sy += bx, o++) {
          const ix = sx | 0;
          const iy = sy | 0;
          const fx = sx - ix;
          const fy = sy - iy;
          const i = iy * width + ix;
          const p00 = src32[i]!;
          const p10 = src32[i + 1]!;
          const p01 = src32[i + width]!;
          const p11 = src32[i + width + 1]!;
          const w11 = fx * fy;
          const w10 = fx - w11;
          const w01 = fy - w11;
          const w00 = 1 - fx - fy + w11;
          const r = (p00 & 255) * w00 + (p10 & 255) * w10 + (p01 & 255) * w01 + (p11 & 255) * w11 + 0.5;
          const g =
            ((p00 >>> 8) & 255) * w00 +
            ((p10 >>> 8) & 255) * w10 +
            ((p01 >>> 8) & 255) * w01 +
            ((p11 >>> 8) & 255) * w11 +
            0.5;
          const b =
            ((p00 >>> 16) & 255) * w00 +
            ((p10 >>> 16) & 255) * w10 +
            ((p01 >>> 16) & 255) * w01 +
            ((p11 >>> 16) & 255) * w11 +
            0.5;
          dst32[o] = r | 0 | ((g | 0) << 8) | ((b | 0) << 16) | 0xff000000;
        }
      } else {
        for (let x = lo; x <= hi; x++, sx += ax, sy += bx, o++) {
          const cx = sx < 0 ? 0 : sx > maxX ? maxX : sx;
          const cy = sy < 0 ? 0 : sy > maxY ? maxY : sy;
          const ix = cx | 0;
          const iy = cy | 0;
          const fx = cx - ix;
          const fy = cy - iy;
          const i = iy * width + ix;
          const p00 = src32[i]!;
          const p10 = src32[ix < maxX ? i + 1 : i]!;
          const p01 = src32[iy < maxY ? i + width : i]!;
          const p11 = src32[ix < maxX ? (iy < maxY ? i + width + 1 : i + 1) : iy < maxY ? i + width : i]!;
          const w11 = fx * fy;
          const w10 = fx - w11;
          const w01 = fy - w11;
          const w00 = 1 - fx - fy + w11;
          const r = (p00 & 255) * w00 + (p10 & 255) * w10 + (p01 & 255) * w01 + (p11 & 255) * w11 + 0.5;
          const g =
            ((p00 >>> 8) & 255) * w00 +
            ((p10 >>> 8) & 255) * w10 +
            ((p01 >>> 8) & 255) * w01 +
            ((p11 >>> 8) & 255) * w11 +
            0.5;
          const b =
            ((p00 >>> 16) & 255) * w00 +
            ((p10 >>> 16) & 255) * w10 +
            ((p01 >>> 16) & 255) * w01 +
            ((p11 >>> 16) & 255) * w11 +
            0.5;
          dst32[o] = r | 0 | ((g | 0) << 8) | ((b | 0) << 16) | 0xff000000;
        }
      }
      drawn += hi - lo + 1;
    }
  }
  return drawn;
}
