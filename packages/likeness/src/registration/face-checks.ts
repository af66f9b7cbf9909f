import { Problem } from '../errors.ts';
import type { DetectedFace } from './face-detector.ts';

export interface FaceRules {
  minFacePixels: number;
  maxHeadTurnDegrees: number;
}

function overlap(a: DetectedFace['box'], b: DetectedFace['box']): number {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  return inter / (a.width * a.height + b.width * b.height - inter);
}

/** Exactly one usable face, or the problem that says why not. */
export function requireSingleUsableFace(faces: DetectedFace[], rules: FaceRules): DetectedFace {
  const [best, ...others] = faces;
  if (!best) {
    throw new Problem(
      'no-face',
      'No face was found. Use a well-lit, front-facing portrait where the whole face is visible.',
    );
  }
  // The detector's fallback pass can report the same face twice; only distinct faces count.
  const distinct = others.filter((f) => overlap(f.box, best.box) < 0.3);
  if (distinct.length > 0) {
    throw new Problem(
      'multiple-faces',
      `Found ${distinct.length + 1} faces. Crop the image so that only the character's face is in it.`,
      { face_count: distinct.length + 1 },
    );
  }
  if (best.box.width < rules.minFacePixels) {
    throw new Problem(
      'face-too-small',
      `The face is ${Math.round(best.box.width)} pixels wide; at least ${rules.minFacePixels} are needed. Use a closer crop or a larger image.`,
      { face_width: Math.round(best.box.width), min_face_pixels: rules.minFacePixels },
    );
  }
  const { yawDeg, pitchDeg } = best.pose;
  if (Math.abs(yawDeg) > rules.maxHeadTurnDegrees || Math.abs(pitchDeg) > rules.maxHeadTurnDegrees) {
    throw new Problem(
      'face-not-frontal',
      `The head is turned ${Math.round(Math.abs(yawDeg))} degrees sideways and ${Math.round(Math.abs(pitchDeg))} degrees up or down; at most ${rules.maxHeadTurnDegrees} are accepted. Use a portrait that looks into the camera.`,
      { yaw_deg: Math.round(yawDeg), pitch_deg: Math.round(pitchDeg), max_degrees: rules.maxHeadTurnDegrees },
    );
  }
  return best;
}
