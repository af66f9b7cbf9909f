import type { RgbImage } from './decode-image.ts';
import { columnProfile } from './region-profile.ts';

type Landmarks = [number, number, number][];

/** One eye's contour in the mesh: upper and lower lid lines, each from the outer corner to the inner one. */
interface EyeLines {
  upper: number[];
  lower: number[];
  iris: number[];
}

/** Image-left eye (the subject's right) and image-right eye. */
export const EYE_LINES: EyeLines[] = [
  {
    upper: [33, 246, 161, 160, 159, 158, 157, 173, 133],
    lower: [33, 7, 163, 144, 145, 153, 154, 155, 133],
    iris: [473, 474, 475, 476, 477],
  },
  {
    upper: [263, 466, 388, 387, 386, 385, 384, 398, 362],
    lower: [263, 249, 390, 373, 374, 380, 381, 382, 362],
    iris: [468, 469, 470, 471, 472],
  },
];

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
  const x0 = Math.max(0, Math.floor(cx - 2.2 * E));
  const x1 = Math.min(image.width - 1, Math.ceil(cx + 2.2 * E));
  const y0 = Math.max(0, Math.floor(cy - 1.6 * E));
  const y1 = Math.min(image.height - 1, Math.ceil(cy + 1.6 * E));
  const w = x1 - x0 + 1;
  const h = y1 - y0 + 1;
  const white = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = ((y + y0) * image.width + x + x0) * 3;
      white[y * w + x] = isWhite(image.data[o]!, image.data[o + 1]!, image.data[o + 2]!) ? 1 : 0;
    }
  }
  // The whites as connected pieces: a drawn iris splits the white in two (or three), so the eye is the piece
  // nearest the mesh eye's centre joined with its neighbours across the iris.
  const label = new Int32Array(w * h).fill(-1);
  const pieces: {
    x0: number;
    x1: number;
    y0: number;
    y1: number;
    count: number;
    edge: boolean;
    d: number;
  }[] = [];
  for (let start = 0; start < w * h; start++) {
    if (!white[start] || label[start]! >= 0) continue;
    const piece = { x0: w, x1: -1, y0: h, y1: -1, count: 0, edge: false, d: Number.POSITIVE_INFINITY };
    const id = pieces.length;
    label[start] = id;
    const stack = [start];
    while (stack.length) {
      const i = stack.pop()!;
      const x = i % w;
      const y = (i - x) / w;
      piece.count++;
      piece.x0 = Math.min(piece.x0, x);
      piece.x1 = Math.max(piece.x1, x);
      piece.y0 = Math.min(piece.y0, y);
      piece.y1 = Math.max(piece.y1, y);
      if (x === 0 || y === 0 || x === w - 1 || y === h - 1) piece.edge = true;
      piece.d = Math.min(piece.d, Math.hypot(x + x0 - cx, (y + y0 - cy) * 2));
      for (const [nx, ny] of [
        [x - 1, y],
        [x + 1, y],
        [x, y - 1],
        [x, y + 1],
      ] as const) {
        if (nx < 0 || ny < 0 || nx >= w || ny >= h) continue;
        const j = ny * w + nx;
        if (white[j] && label[j]! < 0) {
          label[j] = id;
          stack.push(j);
        }
      }
    }
    pieces.push(piece);
  }
  const usable = (p: (typeof pieces)[number]) => !p.edge && p.count >= 0.01 * E * E;
  const seedPiece = pieces.filter(usable).sort((a, b) => a.d - b.d)[0];
  // A white that runs out of the window is background (a white backdrop), not an eye.
  if (!seedPiece || seedPiece.d > 0.6 * E) return undefined;
  const members = new Set<number>();
  pieces.forEach((p, i) => {
    if (!usable(p)) return;
    const overlapsRows = p.y0 <= seedPiece.y1 && p.y1 >= seedPiece.y0;
    const gap = Math.max(0, Math.max(p.x0, seedPiece.x0) - Math.min(p.x1, seedPiece.x1));
    if (p === seedPiece || (overlapsRows && gap <= 0.9 * E)) members.add(i);
  });
  const region = new Uint8Array(w * h);
  let count = 0;
  for (let i = 0; i < w * h; i++) {
    if (label[i]! >= 0 && members.has(label[i]!)) {
      region[i] = 1;
      count++;
    }
  }
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
  const profile = (which: Float32Array, x: number) => along(which === top ? upperHull : lowerHull, x);
  const out = lm.map((p) => [...p] as [number, number, number]);
  // Along the eye from its outer corner (t = 0) to its inner one (t = 1), old span onto the white's.
  const outerNew = x0 + (outer[0] < inner[0] ? left : right);
  const innerNew = x0 + (outer[0] < inner[0] ? right : left);
  const mapX = (x: number) => outerNew + ((x - outer[0]) / (inner[0] - outer[0])) * (innerNew - outerNew);
  const place = (ids: number[], which: Float32Array) => {
    for (const id of ids.slice(1, -1)) {
      const nx = mapX(lm[id]![0]);
      const y = profile(which, nx - x0);
      out[id]![0] = nx;
      out[id]![1] = y + y0;
    }
    return true;
  };
  if (!place(eye.upper, top) || !place(eye.lower, bottom)) return undefined;
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
