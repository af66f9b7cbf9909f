import type { RgbImage } from './decode-image.ts';
import type { DetectedFace } from './face-detector.ts';
import { CHIN, FOREHEAD_TOP, IMAGE_LEFT_IRIS, IMAGE_RIGHT_IRIS } from './face-topology.ts';

/** Similarity transform source -> normalised frame: p' = scale * R(angle) * p + (tx, ty). */
export interface Similarity {
  scale: number;
  angle: number;
  tx: number;
  ty: number;
}

/**
 * Head-and-shoulders framing: the forehead-to-chin line spans FACE_HEIGHT of the frame, its midpoint sits
 * at FACE_CENTER, and the eyes are level. Face height (not eye distance) sets the scale because drawn
 * characters often have oversized eyes.
 */
export const FRAMING = { faceHeight: 0.4, centerX: 0.5, centerY: 0.46 } as const;

function centroid(points: [number, number, number][], indices: number[]): [number, number] {
  let x = 0;
  let y = 0;
  for (const i of indices) {
    x += points[i]![0];
    y += points[i]![1];
  }
  return [x / indices.length, y / indices.length];
}

export function framingTransform(face: DetectedFace, size: number): Similarity {
  const lm = face.landmarks;
  const [lx, ly] = centroid(lm, IMAGE_LEFT_IRIS);
  const [rx, ry] = centroid(lm, IMAGE_RIGHT_IRIS);
  const angle = -Math.atan2(ry - ly, rx - lx); // rotate the eye line to horizontal
  const top = lm[FOREHEAD_TOP]!;
  const chin = lm[CHIN]!;
  const faceHeight = Math.hypot(chin[0] - top[0], chin[1] - top[1]);
  const scale = (FRAMING.faceHeight * size) / faceHeight;
  const mx = (top[0] + chin[0]) / 2;
  const my = (top[1] + chin[1]) / 2;
  const cos = Math.cos(angle) * scale;
  const sin = Math.sin(angle) * scale;
  return {
    scale,
    angle,
    tx: FRAMING.centerX * size - (cos * mx - sin * my),
    ty: FRAMING.centerY * size - (sin * mx + cos * my),
  };
}

export function applySimilarity(t: Similarity, x: number, y: number): [number, number] {
  const cos = Math.cos(t.angle) * t.scale;
  const sin = Math.sin(t.angle) * t.scale;
  return [cos * x - sin * y + t.tx, sin * x + cos * y + t.ty];
}

/**
 * Resamples the source into a size x size frame through the inverse transform, bilinear, RGB.
 * Pixels that fall outside the source repeat its nearest edge pixel, which suits plain backdrops.
 */
export function warpSimilarity(src: RgbImage, t: Similarity, size: number): RgbImage {
  const out = new Uint8Array(size * size * 3);
  // Inverse: p = R(-angle)/scale * (p' - t)
  const cos = Math.cos(-t.angle) / t.scale;
  const sin = Math.sin(-t.angle) / t.scale;
  const maxX = src.width - 1;
  const maxY = src.height - 1;
  const data = src.data;
  for (let v = 0; v < size; v++) {
    const dy = v + 0.5 - t.ty;
    for (let u = 0; u < size; u++) {
      const dx = u + 0.5 - t.tx;
      let x = cos * dx - sin * dy - 0.5;
      let y = sin * dx + cos * dy - 0.5;
      x = Math.min(Math.max(x, 0), maxX);
      y = Math.min(Math.max(y, 0), maxY);
      const x0 = Math.floor(x);
      const y0 = Math.floor(y);
      const x1 = x0 < maxX ? x0 + 1 : x0;
      const y1 = y0 < maxY ? y0 + 1 : y0;
      const fx = x - x0;
      const fy = y - y0;
      const i00 = (y0 * src.width + x0) * 3;
      const i10 = (y0 * src.width + x1) * 3;
      const i01 = (y1 * src.width + x0) * 3;
      const i11 = (y1 * src.width + x1) * 3;
      const o = (v * size + u) * 3;
      for (let c = 0; c < 3; c++) {
        const top = data[i00 + c]! + (data[i10 + c]! - data[i00 + c]!) * fx;
        const bottom = data[i01 + c]! + (data[i11 + c]! - data[i01 + c]!) * fx;
        out[o + c] = Math.round(top + (bottom - top) * fy);
      }
    }
  }
  return { data: out, width: size, height: size };
}

/** The detected face, carried into the normalised frame. */
export function transformFace(face: DetectedFace, t: Similarity): DetectedFace {
  const corners = [
    [face.box.x, face.box.y],
    [face.box.x + face.box.width, face.box.y],
    [face.box.x, face.box.y + face.box.height],
    [face.box.x + face.box.width, face.box.y + face.box.height],
  ].map(([x, y]) => applySimilarity(t, x!, y!));
  const xs = corners.map((c) => c[0]);
  const ys = corners.map((c) => c[1]);
  const x = Math.min(...xs);
  const y = Math.min(...ys);
  return {
    score: face.score,
    box: { x, y, width: Math.max(...xs) - x, height: Math.max(...ys) - y },
    landmarks: face.landmarks.map(([lx, ly, lz]) => [...applySimilarity(t, lx, ly), lz * t.scale]),
    pose: { ...face.pose, rollDeg: face.pose.rollDeg + (t.angle * 180) / Math.PI },
  };
}
