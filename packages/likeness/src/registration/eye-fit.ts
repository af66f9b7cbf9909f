import type { RgbImage } from './decode-image.ts';
import { IMAGE_EYE_LINES } from './face-topology.ts';
import { clampedWindow, columnProfile, labelPieces, regionOf } from './region-profile.ts';

type Landmarks = [number, number, number][];

/** Both eyes' lid lines (image left, then image right), from the outer corner to the inner one. */
export const EYE_LINES = [IMAGE_EYE_LINES.left, IMAGE_EYE_LINES.right];
type EyeLines = (typeof EYE_LINES)[number];

const isWhite = (r: number, g: number, b: number) =>
  Math.min(r, g, b) > 200 && Math.max(r, g, b) - Math.min(r, g, b) < 40;

/**
 * Drawn eyes are often much bigger than the photo-trained mesh places them (the cast's Nora: the mesh's eye
 * covers the middle of her drawn eye), and then a blink closes a lid over part of the eye. When the picture
 * has a clear white of the eye around the mesh eye that is clearly bigger than it, the eye's contour moves
 * onto the white's edges. Photos (small, shaded whites) and eyes the mesh already fits are left alone.
 */
export function fitEyesToPixels(
  image: RgbImage,
  landmarks: Landmarks,
): { landmarks: Landmarks; moved: number } {
  let out = landmarks;
  let moved = 0;
  for (const eye of EYE_LINES) {
    const fitted = fitEye(image, out, eye);
    if (fitted) {
      out = fitted;
      moved++;
    }
  }
  return { landmarks: out, moved };
}

function fitEye(image: RgbImage, lm: Landmarks, eye: EyeLines): Landmarks | undefined {
  const outer = lm[eye.upper[0]!]!;
  const inner = lm[eye.upper.at(-1)!]!;
  const E = Math.hypot(inner[0] - outer[0], inner[1] - outer[1]);
  if (!(E > 6)) return undefined;
  const cx = (outer[0] + inner[0]) / 2;
  const cy = (lm[eye.upper[4]!]![1] + lm[eye.lower[4]!]![1]) / 2;
  const { x0, y0, w, h } = clampedWindow(image, cx, cy, {
    left: 2.2 * E,
    right: 2.2 * E,
    up: 1.6 * E,
    down: 1.6 * E,
  });
  const white = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = ((y + y0) * image.width + x + x0) * 3;
      white[y * w + x] = isWhite(image.data[o]!, image.data[o + 1]!, image.data[o + 2]!) ? 1 : 0;
    }
  }
  // The whites as connected pieces: a drawn iris splits the white in two (or three), so the eye is the piece
  // nearest the mesh eye's centre joined with its neighbours across the iris.
  const { label, pieces } = labelPieces(white, w, h);
  // Each piece's nearest pixel to the eye's centre (vertical distance counts double: eyes are wide).
  const near = pieces.map(() => Number.POSITIVE_INFINITY);
  for (let i = 0; i < w * h; i++) {
    const id = label[i]!;
    if (id < 0) continue;
    const x = i % w;
    near[id] = Math.min(near[id]!, Math.hypot(x + x0 - cx, ((i - x) / w + y0 - cy) * 2));
  }
  const usable = (i: number) => !pieces[i]!.edge && pieces[i]!.count >= 0.01 * E * E;
  // A white that runs out of the window is background (a white backdrop), not an eye.
  const seed = pieces
    .map((_, i) => i)
    .filter(usable)
    .sort((a, b) => near[a]! - near[b]!)[0];
  if (seed === undefined || near[seed]! > 0.6 * E) return undefined;
  const seedPiece = pieces[seed]!;
  const members = new Set<number>();
  pieces.forEach((p, i) => {
    if (!usable(i)) return;
    const overlapsRows = p.y0 <= seedPiece.y1 && p.y1 >= seedPiece.y0;
    const gap = Math.max(0, Math.max(p.x0, seedPiece.x0) - Math.min(p.x1, seedPiece.x1));
    if (p === seedPiece || (overlapsRows && gap <= 0.9 * E)) members.add(i);
  });
  const { region, count } = regionOf(label, members);
  if (count < 0.04 * E * E) return undefined;
  const { top, bottom, left, right } = columnProfile(region, w, h, true);
  const width = right - left + 1;
  // Only a drawn eye clearly bigger than the mesh's is refitted.
  if (width < 1.2 * E || width > 4 * E) return undefined;
  // The lid lines are the region's convex outline (upper and lower hull): a drawn iris or a gradient that
  // bites into the white leaves no notch in them, and columns without white are bridged.
  const hull = (which: Float32Array, upperSide: boolean): [number, number][] => {
    const points: [number, number][] = [];
    for (let x = left; x <= right; x++) if (!Number.isNaN(which[x]!)) points.push([x, which[x]!]);
    const chain: [number, number][] = [];
    for (const p of points) {
      while (chain.length >= 2) {
        const [ax, ay] = chain[chain.length - 2]!;
        const [bx, by] = chain[chain.length - 1]!;
        const cross = (bx - ax) * (p[1] - ay) - (by - ay) * (p[0] - ax);
        // Image y grows downwards: the upper outline turns one way, the lower the other.
        if (upperSide ? cross <= 0 : cross >= 0) chain.pop();
        else break;
      }
      chain.push(p);
    }
    return chain;
  };
  const upperHull = hull(top, true);
  const lowerHull = hull(bottom, false);
  const along = (chain: [number, number][], x: number) => {
    if (x <= chain[0]![0]) return chain[0]![1];
    for (let k = 1; k < chain.length; k++) {
      const [bx, by] = chain[k]!;
      if (x <= bx) {
        const [ax, ay] = chain[k - 1]!;
        return bx === ax ? by : ay + ((x - ax) / (bx - ax)) * (by - ay);
      }
    }
    return chain[chain.length - 1]![1];
  };
  const out = lm.map((p) => [...p] as [number, number, number]);
  // Along the eye from its outer corner (t = 0) to its inner one (t = 1), old span onto the white's.
  const outerNew = x0 + (outer[0] < inner[0] ? left : right);
  const innerNew = x0 + (outer[0] < inner[0] ? right : left);
  const mapX = (x: number) => outerNew + ((x - outer[0]) / (inner[0] - outer[0])) * (innerNew - outerNew);
  const place = (ids: number[], hull: [number, number][]) => {
    for (const id of ids.slice(1, -1)) {
      const nx = mapX(lm[id]![0]);
      out[id]![0] = nx;
      out[id]![1] = along(hull, nx - x0) + y0;
    }
  };
  place(eye.upper, upperHull);
  place(eye.lower, lowerHull);
  // Corners at the white's ends, half way between its top and bottom there.
  for (const [id, nx] of [
    [eye.upper[0]!, outerNew],
    [eye.upper.at(-1)!, innerNew],
  ] as const) {
    const x = nx - x0;
    out[id]![0] = nx + (x === left ? -0.5 : 0.5);
    out[id]![1] = y0 + (along(upperHull, x) + along(lowerHull, x)) / 2;
  }
  return out;
}
