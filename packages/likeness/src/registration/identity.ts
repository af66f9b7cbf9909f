import { createHash } from 'node:crypto';
import type { RgbImage } from './decode-image.ts';
import { fitEyesToPixels } from './eye-fit.ts';
import type { DetectedFace } from './face-detector.ts';
import {
  FACE_OVAL,
  IMAGE_LEFT_EYE,
  IMAGE_LEFT_EYE_LIDS,
  IMAGE_LEFT_IRIS,
  IMAGE_RIGHT_EYE,
  IMAGE_RIGHT_EYE_LIDS,
  IMAGE_RIGHT_IRIS,
  LIP_SAMPLES,
  LIPS_LOWER_INNER,
  LIPS_UPPER_INNER,
  MOUTH_INNER,
  MOUTH_OUTER,
  SKIN_SAMPLES,
} from './face-topology.ts';
import { fitLipsToPixels } from './lip-fit.ts';
import { buildWarpMesh, type WarpMesh } from './mesh.ts';
import type { MouthSample } from './mouth-samples.ts';

/**
 * Bump when anything that shapes an identity changes (detector settings, framing, mesh, palette): the
 * content address includes it, so old cached identities are rebuilt instead of silently reused.
 */
export const PIPELINE_VERSION = 'reg-3';

export type Rgb = [number, number, number];

export interface IdleMotionProfile {
  source: 'default' | 'video';
  blinkRatePerMin: number;
  blinkDurationMs: number;
  /** Standard deviation of slow head motion, degrees. */
  headSwayDeg: { yaw: number; pitch: number; roll: number };
  swayPeriodS: number;
  breathRatePerMin: number;
  saccadeIntervalS: number;
}

export interface Identity {
  id: string;
  pipelineVersion: string;
  size: number;
  source: { kind: 'image' | 'video'; width: number; height: number; format: string; frameTimeS?: number };
  landmarks: [number, number, number][];
  faceBox: { x: number; y: number; width: number; height: number };
  pose: { yawDeg: number; pitchDeg: number; rollDeg: number };
  mesh: WarpMesh;
  regions: {
    faceOval: number[];
    leftEye: number[];
    rightEye: number[];
    leftIris: number[];
    rightIris: number[];
    leftEyeLids: typeof IMAGE_LEFT_EYE_LIDS;
    rightEyeLids: typeof IMAGE_RIGHT_EYE_LIDS;
    mouthOuter: number[];
    mouthInner: number[];
    upperTeeth: number[];
    lowerTeeth: number[];
  };
  palette: { skin: Rgb; lip: Rgb; background: Rgb; mouthCavity: Rgb };
  idle: IdleMotionProfile;
  /** Real open mouths from the reference video (absent for a portrait: the renderer paints one). */
  mouthSamples?: MouthSample[];
}

export function identityId(bytes: Uint8Array): string {
  const hash = createHash('sha256').update(PIPELINE_VERSION).update('\0').update(bytes).digest('hex');
  return `idn_${hash.slice(0, 32)}`;
}

/** Median colour of small patches around the given points: robust to a stray highlight or edge. */
function sampleColour(img: RgbImage, points: [number, number][], radius: number): Rgb {
  const channels: number[][] = [[], [], []];
  for (const [px, py] of points) {
    for (let dy = -radius; dy <= radius; dy++) {
      for (let dx = -radius; dx <= radius; dx++) {
        const x = Math.round(px) + dx;
        const y = Math.round(py) + dy;
        if (x < 0 || y < 0 || x >= img.width || y >= img.height) continue;
        const i = (y * img.width + x) * 3;
        for (let c = 0; c < 3; c++) channels[c]!.push(img.data[i + c]!);
      }
    }
  }
  return channels.map((values) => {
    values.sort((a, b) => a - b);
    return values[Math.floor(values.length / 2)] ?? 0;
  }) as Rgb;
}

/** A deterministic per-identity variation of natural idle behaviour, used when only a still is given. */
export function defaultIdleProfile(id: string): IdleMotionProfile {
  const seed = createHash('sha256').update(id).digest();
  const pick = (i: number, lo: number, hi: number) => round2(lo + ((seed[i] ?? 0) / 255) * (hi - lo));
  return {
    source: 'default',
    blinkRatePerMin: pick(0, 12, 20),
    blinkDurationMs: Math.round(pick(1, 120, 180)),
    headSwayDeg: { yaw: pick(2, 1.2, 2.8), pitch: pick(3, 0.8, 1.8), roll: pick(4, 0.6, 1.4) },
    swayPeriodS: pick(5, 4, 7),
    breathRatePerMin: pick(6, 12, 16),
    saccadeIntervalS: pick(7, 1.5, 3.5),
  };
}

export function buildIdentity(args: {
  id: string;
  portrait: RgbImage;
  face: DetectedFace;
  source: Identity['source'];
  idle?: IdleMotionProfile;
  mouthSamples?: MouthSample[];
}): Identity {
  const { portrait, face } = args;
  const size = portrait.width;
  // The mesh's lips checked against the pixels (drawn mouths are often placed too high by the detector).
  // So are drawn eyes (often far bigger than the mesh's): a blink must close the whole eye.
  const lm = fitEyesToPixels(portrait, fitLipsToPixels(portrait, face.landmarks).landmarks).landmarks;
  const at = (ids: number[]) => ids.map((i) => [lm[i]![0], lm[i]![1]] as [number, number]);
  const patch = Math.max(1, Math.round(size / 170));
  const corners: [number, number][] = [
    [4, 4],
    [size - 5, 4],
  ];
  const lip = sampleColour(portrait, at(LIP_SAMPLES), Math.max(1, patch - 1));
  return {
    id: args.id,
    pipelineVersion: PIPELINE_VERSION,
    size,
    source: args.source,
    landmarks: lm.map(([x, y, z]) => [round2(x), round2(y), round2(z)]),
    faceBox: {
      x: round2(face.box.x),
      y: round2(face.box.y),
      width: round2(face.box.width),
      height: round2(face.box.height),
    },
    pose: {
      yawDeg: round2(face.pose.yawDeg),
      pitchDeg: round2(face.pose.pitchDeg),
      rollDeg: round2(face.pose.rollDeg),
    },
    mesh: buildWarpMesh(lm, size),
    regions: {
      faceOval: FACE_OVAL,
      leftEye: IMAGE_LEFT_EYE,
      rightEye: IMAGE_RIGHT_EYE,
      leftIris: IMAGE_LEFT_IRIS,
      rightIris: IMAGE_RIGHT_IRIS,
      leftEyeLids: IMAGE_LEFT_EYE_LIDS,
      rightEyeLids: IMAGE_RIGHT_EYE_LIDS,
      mouthOuter: MOUTH_OUTER,
      mouthInner: MOUTH_INNER,
      upperTeeth: LIPS_UPPER_INNER,
      lowerTeeth: LIPS_LOWER_INNER,
    },
    palette: {
      skin: sampleColour(portrait, at(SKIN_SAMPLES), patch),
      lip,
      background: sampleColour(portrait, corners, patch * 2),
      // The inside of the mouth is the lips' own colour in shadow: deep red for a drawing's red lips.
      mouthCavity: [
        Math.round(lip[0] * 0.34 + 16),
        Math.round(lip[1] * 0.15 + 6),
        Math.round(lip[2] * 0.17 + 8),
      ],
    },
    idle: args.idle ?? defaultIdleProfile(args.id),
    ...(args.mouthSamples?.length ? { mouthSamples: args.mouthSamples } : {}),
  };
}

const round2 = (v: number) => Math.round(v * 100) / 100;
