import type { RgbImage } from './decode-image.ts';
import {
  LIPS_LOWER_INNER,
  LIPS_LOWER_OUTER,
  LIPS_UPPER_INNER,
  LIPS_UPPER_OUTER,
  MOUTH_LEFT_CORNER,
  MOUTH_RIGHT_CORNER,
} from './face-topology.ts';
import { clampedWindow, columnProfile, labelPieces, regionOf } from './region-profile.ts';

type Landmarks = [number, number, number][];

/** Redness of a pixel: how much red stands above green and blue, relative to brightness. */
function redness(r: number, g: number, b: number): number {
  return (r - Math.max(g, b)) / (r + g + b + 30);
}

/** Otsu's threshold over values in [0, 1): the cut that best separates two classes, and how well it does. */
function otsu(values: Float32Array): { cut: number; separation: number } {
  const bins = 64;
  const hist = new Float64Array(bins);
  for (const v of values) hist[Math.min(bins - 1, Math.max(0, Math.floor(v * bins)))]! += 1;
  const total = values.length;
  let sumAll = 0;
  for (let i = 0; i < bins; i++) sumAll += i * hist[i]!;
  let wB = 0;
  let sumB = 0;
  let best = { cut: 0.5, between: 0 };
  for (let i = 0; i < bins; i++) {
    wB += hist[i]!;
    if (wB === 0 || wB === total) continue;
    sumB += i * hist[i]!;
    const mB = sumB / wB;
    const mF = (sumAll - sumB) / (total - wB);
    const between = wB * (total - wB) * (mB - mF) ** 2;
    if (between > best.between) best = { cut: (i + 1) / bins, between };
  }
  let mean = 0;
  for (const v of values) mean += v;
  mean /= total;
  let variance = 0;
  for (const v of values) variance += (v * bins - mean * bins) ** 2;
  // Share of the variance explained by the two classes (0..1).
  return { cut: best.cut, separation: variance ? best.between / total / variance : 0 };
}

/**
 * Where the detector placed the lips, checked against the pixels. Face-mesh models trained on photographs
 * sometimes put a drawn mouth half a mouth too high (the cast's Nora: the mesh lips sit on the skin above the
 * red lips), and then every open mouth is cut into the skin. When the picture has clearly coloured lips (a
 * strong red region under the mesh mouth) and they disagree with the mesh, the lip landmarks are moved onto
 * them: outer lips onto the region's edges, inner lips onto the dark seam between them (or, for a mouth
 * drawn open, onto the opening's edges). Photos whose mesh already fits are left alone. Returns new landmarks (the input is not changed) and whether they moved.
 */
export function fitLipsToPixels(
  image: RgbImage,
  landmarks: Landmarks,
): { landmarks: Landmarks; moved: boolean; offsetY: number } {
  const lm = landmarks;
  const [lx, ly] = lm[MOUTH_LEFT_CORNER]!;
  const [rx, ry] = lm[MOUTH_RIGHT_CORNER]!;
  const W = Math.hypot(rx - lx, ry - ly);
  const unchanged = { landmarks, moved: false, offsetY: 0 };
  if (!(W > 8)) return unchanged;
  const cx = (lx + rx) / 2;
  const cy = (lm[13]![1] + lm[14]![1]) / 2;
  const { x0, y0, w, h } = clampedWindow(image, cx, cy, {
    left: 0.85 * W,
    right: 0.85 * W,
    up: 0.6 * W,
    down: 0.9 * W,
  });
  if (w < 8 || h < 8) return unchanged;
  const red = new Float32Array(w * h);
  const lum = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = ((y + y0) * image.width + x + x0) * 3;
      const r = image.data[o]!;
      const g = image.data[o + 1]!;
      const b = image.data[o + 2]!;
      red[y * w + x] = Math.max(0, Math.min(0.999, redness(r, g, b) + 0.2));
      lum[y * w + x] = 0.299 * r + 0.587 * g + 0.114 * b;
    }
  }
  const { cut, separation } = otsu(red);
  // Only a picture whose lips stand out in colour (drawings, strong lipstick) is trusted over the mesh.
  if (separation < 0.75) return unchanged;
  // The lip region: red pixels connected to the reddest pixel nearest the mesh mouth's column.
  const mask = new Uint8Array(w * h);
  for (let i = 0; i < red.length; i++) mask[i] = red[i]! >= cut ? 1 : 0;
  // A dark seam or outline between red above and red below belongs to the lips (drawings draw one).
  const bridge = Math.max(2, Math.round(0.06 * W));
  const bridged = mask.slice();
  for (let x = 0; x < w; x++) {
    for (let y = 1; y < h - 1; y++) {
      if (mask[y * w + x]) continue;
      let above = false;
      let below = false;
      for (let d = 1; d <= bridge; d++) {
        if (y - d >= 0 && mask[(y - d) * w + x]) above = true;
        if (y + d < h && mask[(y + d) * w + x]) below = true;
      }
      if (above && below) bridged[y * w + x] = 1;
    }
  }
  mask.set(bridged);
  let seed = -1;
  let seedScore = Number.NEGATIVE_INFINITY;
  const scx = Math.round(cx - x0);
  for (let y = 0; y < h; y++) {
    for (
      let x = Math.max(0, scx - Math.round(0.15 * W));
      x <= Math.min(w - 1, scx + Math.round(0.15 * W));
      x++
    ) {
      const i = y * w + x;
      if (mask[i] && red[i]! - Math.abs(y + y0 - cy) / (4 * W) > seedScore) {
        seedScore = red[i]! - Math.abs(y + y0 - cy) / (4 * W);
        seed = i;
      }
    }
  }
  if (seed < 0) return unchanged;
  // The lips: the piece of the mask holding the seed (dark outline and seam pixels were bridged into it).
  const { label } = labelPieces(mask, w, h);
  const { region, count } = regionOf(label, new Set([label[seed]!]));
  const { top, bottom, left, right } = columnProfile(region, w, h);
  const width = right - left + 1;
  if (width < 0.6 * W || width > 1.8 * W || count > 0.6 * w * h) return unchanged;
  const seam = new Float32Array(w).fill(Number.NaN);
  for (let x = left; x <= right; x++) {
    const t = top[x]!;
    const b = bottom[x]!;
    if (Number.isNaN(t) || b - t < 2) continue;
    let best = t;
    let bestL = Number.POSITIVE_INFINITY;
    for (let y = Math.ceil(t + (b - t) * 0.2); y <= Math.floor(t + (b - t) * 0.8); y++) {
      const l = lum[y * w + x]!;
      if (l < bestL) {
        bestL = l;
        best = y;
      }
    }
    seam[x] = best;
  }
  // A mouth drawn open (the mesh finds it open at rest): the red region is the opening itself, tongue and
  // cavity inside the outline, so its edges are the inner lips and the outline just outside them the outer
  // ones. A closed mouth's inner lips both lie on the seam.
  // The mesh's openness counts only where the mesh sits on the mouth at all (Nora's misplaced mesh mouth is
  // open at rest; her drawn lips are closed).
  const centre = Math.round((left + right) / 2);
  const regionMiddle = Number.isNaN(top[centre]!) ? Number.NaN : y0 + (top[centre]! + bottom[centre]!) / 2;
  const open = lm[14]![1] - lm[13]![1] > 0.06 * W && Math.abs(regionMiddle - cy) < 0.2 * W;
  const mid = new Float32Array(w).fill(Number.NaN);
  for (let x = left; x <= right; x++) {
    if (!Number.isNaN(top[x]!)) mid[x] = open ? (top[x]! + bottom[x]!) / 2 : seam[x]!;
  }
  const regionCy = y0 + (Number.isNaN(mid[centre]!) ? cy - y0 : mid[centre]!);
  const offsetY = regionCy - cy;
  const mapX = (x: number) => x0 + left + ((x - lx) / Math.max(1, rx - lx)) * (width - 1);
  const profileAt = (profile: Float32Array, x: number) => {
    const xi = Math.round(x - x0);
    for (let d = 0; d < w; d++) {
      for (const k of [xi - d, xi + d]) {
        if (k >= left && k <= right && !Number.isNaN(profile[k]!)) return profile[k]! + y0;
      }
    }
    return cy + offsetY;
  };
  // Agreement: the mesh's mouth centre lies within a fifth of a mouth width of the seam (closed), or its
  // corners and inner lips lie on the opening's ends and edges (open).
  if (!open && Math.abs(offsetY) < 0.2 * W) return { landmarks, moved: false, offsetY };
  if (open) {
    const miss =
      Math.abs(lm[78]![0] - (x0 + left)) +
      Math.abs(lm[308]![0] - (x0 + right)) +
      Math.abs(lm[13]![1] - profileAt(top, lm[13]![0])) +
      Math.abs(lm[14]![1] - profileAt(bottom, lm[14]![0]));
    if (miss < 0.15 * W) return { landmarks, moved: false, offsetY };
  }

  // The skin around the mouth moves along (less with distance, and little towards the nose), so the mesh keeps
  // its order around the new lips.
  const smooth = (v: number) => (v <= 0 ? 0 : v >= 1 ? 1 : v * v * (3 - 2 * v));
  const out = landmarks.map(([x, y, z]) => {
    const side = 1 - smooth((Math.abs(x - cx) - 0.7 * W) / (0.6 * W));
    const k =
      y >= cy
        ? 1 - smooth((Math.hypot(x - cx, y - cy) - 0.6 * W) / (0.9 * W))
        : 1 - smooth((cy - y) / (0.45 * W));
    return [x, y + offsetY * k * side, z] as [number, number, number];
  });
  const place = (ids: number[], profile: Float32Array, inset = 0) => {
    for (const id of ids) {
      const nx = mapX(lm[id]![0]);
      out[id]![0] = nx;
      out[id]![1] = profileAt(profile, nx) + inset;
    }
  };
  const smoothMid = mid.slice();
  for (let x = left + 1; x < right; x++) {
    const vals = [mid[x - 1]!, mid[x]!, mid[x + 1]!].filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
    if (vals.length) smoothMid[x] = vals[Math.floor(vals.length / 2)]!;
  }
  const outline = open ? 0.05 * W : 0;
  place(LIPS_UPPER_OUTER.slice(1, -1), top, 0.5 - outline);
  place(LIPS_LOWER_OUTER.slice(0, -1), bottom, -0.5 + outline);
  place(LIPS_UPPER_INNER, open ? top : smoothMid, open ? 0.5 : 0);
  place(LIPS_LOWER_INNER, open ? bottom : smoothMid, open ? -0.5 : 0);
  // The corners sit a little past the red (a drawing's outline runs to a point beyond it): the outline's tip
  // then moves with the corner instead of being torn between the corner and the skin beside it.
  for (const [id, dir] of [
    [MOUTH_LEFT_CORNER, -1],
    [MOUTH_RIGHT_CORNER, 1],
  ] as const) {
    const x = mapX(lm[id]![0]);
    out[id]![0] = x + dir * 0.04 * width;
    out[id]![1] = profileAt(smoothMid, x);
  }
  // The inner corners sit just inside the outer ones.
  for (const [inner, outer, dir] of [
    [78, MOUTH_LEFT_CORNER, 1],
    [308, MOUTH_RIGHT_CORNER, -1],
  ] as const) {
    out[inner]![0] = out[outer]![0] + dir * 0.04 * width;
    out[inner]![1] = profileAt(smoothMid, out[inner]![0]);
  }
  // Skin points the shift left inside the new lips (or just outside) go out past the lip's edge, above or
  // below as they were: a point inside the lips would fold the mesh when the jaw drops.
  const lipIds = new Set([
    ...LIPS_UPPER_OUTER,
    ...LIPS_LOWER_OUTER,
    ...LIPS_UPPER_INNER,
    ...LIPS_LOWER_INNER,
  ]);
  const margin = 0.08 * W + outline;
  for (let id = 0; id < out.length; id++) {
    if (lipIds.has(id)) continue;
    const p = out[id]!;
    if (p[0] < x0 + left || p[0] > x0 + right) continue;
    const upperEdge = profileAt(top, p[0]) - margin;
    const lowerEdge = profileAt(bottom, p[0]) + margin;
    if (p[1] <= upperEdge || p[1] >= lowerEdge) continue;
    p[1] = p[1] < profileAt(smoothMid, p[0]) ? upperEdge : lowerEdge;
  }
  // Keep a closed mouth's lower inner line a hair below the upper one so the lips read as two lines at rest.
  if (!open) for (const id of LIPS_LOWER_INNER.slice(1, -1)) out[id]![1] += 0.25;
  return { landmarks: out, moved: true, offsetY };
}
