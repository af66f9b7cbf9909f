import type { RgbImage } from './decode-image.ts';
import type { DetectedFace } from './face-detector.ts';
import {
  IMAGE_LEFT_IRIS,
  IMAGE_RIGHT_IRIS,
  LIPS_LOWER_INNER,
  LIPS_UPPER_INNER,
  LOWER_LIP_CENTER,
  MOUTH_LEFT_CORNER,
  MOUTH_RIGHT_CORNER,
  UPPER_LIP_CENTER,
} from './face-topology.ts';
import { applySimilarity, type Similarity, warpSimilarity } from './normalize.ts';

/**
 * A real open mouth, cut from a frame of the character's reference video: what shows between the lips
 * (teeth, tongue, shadow) at one opening. The renderer fills a posed opening from the sample nearest in
 * opening, so a character registered from video shows its own teeth instead of painted ones.
 */
export interface MouthSample {
  /** Inner-lip gap at the centre over the mouth's width. */
  opening: number;
  /** The crop, in the identity's portrait coordinates. */
  box: { x: number; y: number; width: number; height: number };
  /** Inner lip lines in the identity's coordinates (LIPS_UPPER_INNER / LIPS_LOWER_INNER order). */
  upper: [number, number][];
  lower: [number, number][];
  /** The crop's pixels, packed RGB, base64. */
  rgb: string;
}

/** Openings (gap / width) that start each kept sample's bin: one sample per bin, the most frontal frame. */
const BINS = [0.1, 0.18, 0.28, 0.4, 0.55];
/** Below this the lips are closed: nothing to harvest. */
const MIN_OPENING = BINS[0]!;

const dist = (a: number[], b: number[]) => Math.hypot(a[0]! - b[0]!, a[1]! - b[1]!);

export function mouthOpening(face: DetectedFace): number {
  const lm = face.landmarks;
  return (
    dist(lm[UPPER_LIP_CENTER]!, lm[LOWER_LIP_CENTER]!) /
    Math.max(1e-6, dist(lm[MOUTH_LEFT_CORNER]!, lm[MOUTH_RIGHT_CORNER]!))
  );
}

function irisCentre(face: DetectedFace, ids: number[]): [number, number] {
  let x = 0;
  let y = 0;
  for (const i of ids) {
    x += face.landmarks[i]![0];
    y += face.landmarks[i]![1];
  }
  return [x / ids.length, y / ids.length];
}

/**
 * The similarity that puts a frame's eyes where the portrait's eyes are. The eyes, not the forehead-to-chin
 * line the portrait is framed by: an open jaw lengthens the face, the eyes do not move.
 */
function alignEyes(face: DetectedFace, portraitFace: DetectedFace): Similarity {
  const a1 = irisCentre(face, IMAGE_LEFT_IRIS);
  const a2 = irisCentre(face, IMAGE_RIGHT_IRIS);
  const b1 = irisCentre(portraitFace, IMAGE_LEFT_IRIS);
  const b2 = irisCentre(portraitFace, IMAGE_RIGHT_IRIS);
  const scale = dist(b1, b2) / Math.max(1e-6, dist(a1, a2));
  const angle = Math.atan2(b2[1] - b1[1], b2[0] - b1[0]) - Math.atan2(a2[1] - a1[1], a2[0] - a1[0]);
  const cos = Math.cos(angle) * scale;
  const sin = Math.sin(angle) * scale;
  return { scale, angle, tx: b1[0] - (cos * a1[0] - sin * a1[1]), ty: b1[1] - (sin * a1[0] + cos * a1[1]) };
}

/** Collects the best open-mouth frames of a clip while it is analysed; at most one frame per opening bin. */
export class MouthHarvest {
  private readonly kept: (
    | { frame: RgbImage; face: DetectedFace; opening: number; turn: number }
    | undefined
  )[] = BINS.map(() => undefined);

  consider(frame: RgbImage, face: DetectedFace): void {
    const opening = mouthOpening(face);
    if (opening < MIN_OPENING) return;
    let bin = 0;
    while (bin < BINS.length - 1 && opening >= BINS[bin + 1]!) bin++;
    const turn =
      Math.abs(face.pose.yawDeg) + Math.abs(face.pose.pitchDeg) + 0.5 * Math.abs(face.pose.rollDeg);
    // A turned head shows the mouth from the side: keep the most frontal frame of each bin.
    if (turn > 20) return;
    const current = this.kept[bin];
    if (!current || turn < current.turn) this.kept[bin] = { frame, face, opening, turn };
  }

  get count(): number {
    return this.kept.filter(Boolean).length;
  }

  /** The kept mouths in the coordinates of the portrait (its face in the normalised frame, `size` wide). */
  samples(portraitFace: DetectedFace, size: number): MouthSample[] {
    const out: MouthSample[] = [];
    for (const k of this.kept) {
      if (!k) continue;
      const t = alignEyes(k.face, portraitFace);
      const line = (ids: number[]) =>
        ids.map((i) => applySimilarity(t, k.face.landmarks[i]![0], k.face.landmarks[i]![1]));
      const upper = line(LIPS_UPPER_INNER);
      const lower = line(LIPS_LOWER_INNER);
      const xs = [...upper, ...lower].map((p) => p[0]);
      const ys = [...upper, ...lower].map((p) => p[1]);
      const x = Math.max(0, Math.floor(Math.min(...xs)) - 2);
      const y = Math.max(0, Math.floor(Math.min(...ys)) - 2);
      const width = Math.min(size, Math.ceil(Math.max(...xs)) + 3) - x;
      const height = Math.min(size, Math.ceil(Math.max(...ys)) + 3) - y;
      if (width < 4 || height < 3) continue;
      // Only the crop is resampled: shift the transform so the crop's corner is the origin.
      const warped = warpSimilarity(k.frame, { ...t, tx: t.tx - x, ty: t.ty - y }, Math.max(width, height));
      const side = warped.width;
      const rgb = new Uint8Array(width * height * 3);
      for (let row = 0; row < height; row++) {
        rgb.set(warped.data.subarray(row * side * 3, (row * side + width) * 3), row * width * 3);
      }
      const round = (p: [number, number]): [number, number] => [
        Math.round(p[0] * 100) / 100,
        Math.round(p[1] * 100) / 100,
      ];
      out.push({
        opening: Math.round(k.opening * 1000) / 1000,
        box: { x, y, width, height },
        upper: upper.map(round),
        lower: lower.map(round),
        rgb: Buffer.from(rgb).toString('base64'),
      });
    }
    return out.sort((a, b) => a.opening - b.opening);
  }
}
