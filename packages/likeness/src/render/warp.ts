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
    const minX = Math.max(0, Math.floor(Math.min(dx0, dx1, dx2)));
    const maxPX = Math.min(maxX, Math.ceil(Math.max(dx0, dx1, dx2)));
    const minY = Math.max(0, Math.floor(Math.min(dy0, dy1, dy2)));
    const maxPY = Math.min(maxY, Math.ceil(Math.max(dy0, dy1, dy2)));
    for (let y = minY; y <= maxPY; y++) {
      const py = y + 0.5 - dy0;
      for (let x = minX; x <= maxPX; x++) {
        const px = x + 0.5 - dx0;
        const u = e1x * px + e1y * py;
        const v = e2x * px + e2y * py;
        if (u < -1e-6 || v < -1e-6 || u + v > 1 + 1e-6) continue;
        let sx = sx0 + ax * px + ay * py - 0.5;
        let sy = sy0 + bx * px + by * py - 0.5;
        sx = sx < 0 ? 0 : sx > maxX ? maxX : sx;
        sy = sy < 0 ? 0 : sy > maxY ? maxY : sy;
        const ix = sx | 0;
        const iy = sy | 0;
        const fx = sx - ix;
        const fy = sy - iy;
        const i00 = (iy * width + ix) * 4;
        const i10 = ix < maxX ? i00 + 4 : i00;
        const i01 = iy < maxY ? i00 + width * 4 : i00;
        const i11 = ix < maxX ? i01 + 4 : i01;
        const w00 = (1 - fx) * (1 - fy);
        const w10 = fx * (1 - fy);
        const w01 = (1 - fx) * fy;
        const w11 = fx * fy;
        const o = (y * width + x) * 4;
        dst[o] = src[i00]! * w00 + src[i10]! * w10 + src[i01]! * w01 + src[i11]! * w11 + 0.5;
        dst[o + 1] =
          src[i00 + 1]! * w00 + src[i10 + 1]! * w10 + src[i01 + 1]! * w01 + src[i11 + 1]! * w11 + 0.5;
        dst[o + 2] =
          src[i00 + 2]! * w00 + src[i10 + 2]! * w10 + src[i01 + 2]! * w01 + src[i11 + 2]! * w11 + 0.5;
        drawn++;
      }
    }
  }
  return drawn;
}
