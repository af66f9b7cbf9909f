import { spawn } from 'node:child_process';
import { Problem } from '../errors.ts';
import { FFMPEG_PATH, probeMedia } from '../media/ffmpeg.ts';
import type { RgbImage } from './decode-image.ts';
import { type FaceRules, requireSingleUsableFace } from './face-checks.ts';
import type { DetectedFace, FaceDetector } from './face-detector.ts';
import { IMAGE_LEFT_EYE_LIDS, IMAGE_RIGHT_EYE_LIDS } from './face-topology.ts';
import { defaultIdleProfile, type IdleMotionProfile } from './identity.ts';
import { MouthHarvest, mouthOpening } from './mouth-samples.ts';

export type VideoFormat = 'mp4' | 'webm';

export function sniffVideoFormat(bytes: Uint8Array): VideoFormat | null {
  const tag = Buffer.from(bytes.subarray(4, 12)).toString('latin1');
  if (tag.startsWith('ftyp') && !/^ftyp(avi|hei|hev|mif)/.test(tag)) return 'mp4';
  if (bytes[0] === 0x1a && bytes[1] === 0x45 && bytes[2] === 0xdf && bytes[3] === 0xa3) return 'webm';
  return null;
}

/** Frames analysed at most, whatever the clip length: bounds registration time (about 90 ms a frame). */
const MAX_ANALYSED_FRAMES = 96;
const MAX_FPS = 8;
const FRAME_MAX_SIDE = 720;

interface FrameSample {
  timeS: number;
  face: DetectedFace;
  eyeOpenness: number;
  mouthOpenness: number;
}

const dist = (a: number[], b: number[]) => Math.hypot(a[0]! - b[0]!, a[1]! - b[1]!);

function eyeOpenness(face: DetectedFace): number {
  const lm = face.landmarks;
  const ratio = (e: typeof IMAGE_LEFT_EYE_LIDS) =>
    dist(lm[e.upper]!, lm[e.lower]!) / Math.max(1e-6, dist(lm[e.outer]!, lm[e.inner]!));
  return (ratio(IMAGE_LEFT_EYE_LIDS) + ratio(IMAGE_RIGHT_EYE_LIDS)) / 2;
}

const std = (v: number[]) => {
  const mean = v.reduce((s, x) => s + x, 0) / v.length;
  return Math.sqrt(v.reduce((s, x) => s + (x - mean) ** 2, 0) / v.length);
};
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)] ?? 0;
const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
const round2 = (v: number) => Math.round(v * 100) / 100;

export interface ReferenceVideoResult {
  frame: RgbImage;
  face: DetectedFace;
  frameTimeS: number;
  durationS: number;
  source: { width: number; height: number; format: VideoFormat };
  idle: IdleMotionProfile;
  /** The clip's best open-mouth frames, for the renderer to show real teeth and tongue. */
  mouths: MouthHarvest;
}

/**
 * A short reference clip: picks the most frontal, neutral frame (small head turn, mouth closed, eyes open)
 * as the portrait, measures the idle-motion profile (head sway, blink rate) over the clip, and keeps its
 * best open-mouth frames (one per opening) for the renderer.
 */
export async function analyseReferenceVideo(args: {
  file: string;
  format: VideoFormat;
  identityId: string;
  detector: FaceDetector;
  rules: FaceRules;
  maxSeconds: number;
}): Promise<ReferenceVideoResult> {
  const probe = await probeMedia(args.file);
  if (!probe?.video) {
    throw new Problem(
      'corrupt-video',
      'The video cannot be decoded or has no video stream. Send an MP4 (H.264) or WebM clip.',
    );
  }
  if (probe.durationS > args.maxSeconds + 0.05) {
    throw new Problem(
      'video-too-long',
      `The video is ${probe.durationS.toFixed(1)} s long; the limit is ${args.maxSeconds} s. Trim it to a short clip of the face.`,
      { duration_s: round2(probe.durationS), max_seconds: args.maxSeconds },
    );
  }
  const fps = Math.min(MAX_FPS, MAX_ANALYSED_FRAMES / Math.max(probe.durationS, 0.1));
  const scale = Math.min(1, FRAME_MAX_SIDE / Math.max(probe.video.width, probe.video.height));
  const width = Math.max(2, Math.round((probe.video.width * scale) / 2) * 2);
  const height = Math.max(2, Math.round((probe.video.height * scale) / 2) * 2);

  const samples: FrameSample[] = [];
  const mouths = new MouthHarvest();
  let best: { score: number; sample: FrameSample; frame: RgbImage } | undefined;
  let frames = 0;
  let multiFaceFrames = 0;
  let lastProblem: Problem | undefined;
  for await (const frame of readFrames(args.file, fps, width, height)) {
    const timeS = frames / fps;
    frames++;
    const faces = await args.detector.detect(frame);
    let face: DetectedFace;
    try {
      face = requireSingleUsableFace(faces, args.rules);
    } catch (err) {
      if (err instanceof Problem) {
        lastProblem = err;
        if (err.slug === 'multiple-faces') multiFaceFrames++;
        continue;
      }
      throw err;
    }
    const sample = { timeS, face, eyeOpenness: eyeOpenness(face), mouthOpenness: mouthOpening(face) };
    samples.push(sample);
    mouths.consider(frame, face);
    const turn =
      Math.abs(face.pose.yawDeg) + Math.abs(face.pose.pitchDeg) + 0.5 * Math.abs(face.pose.rollDeg);
    const score = turn + 40 * sample.mouthOpenness - 20 * sample.eyeOpenness;
    if (!best || score < best.score) best = { score, sample, frame };
  }
  if (frames === 0) throw new Problem('corrupt-video', 'No frame of the video could be decoded.');
  if (!best) {
    if (multiFaceFrames > frames / 2) {
      throw new Problem(
        'multiple-faces',
        'Most frames of the video show more than one face. Send a clip of one person.',
      );
    }
    throw lastProblem ?? new Problem('no-face', 'No usable face was found in any frame of the video.');
  }
  return {
    frame: best.frame,
    face: best.sample.face,
    frameTimeS: round2(best.sample.timeS),
    durationS: round2(probe.durationS),
    source: { width: probe.video.width, height: probe.video.height, format: args.format },
    idle: measureIdle(samples, probe.durationS, fps, args.identityId),
    mouths,
  };
}

function measureIdle(samples: FrameSample[], durationS: number, fps: number, id: string): IdleMotionProfile {
  const base = defaultIdleProfile(id);
  if (samples.length < 4) return base;
  const openness = samples.map((s) => s.eyeOpenness);
  const threshold = median(openness) * 0.6;
  let blinks = 0;
  let closed = false;
  for (const o of openness) {
    if (!closed && o < threshold) blinks++;
    closed = o < threshold;
  }
  // A blink lasts ~150 ms: sampled slower than about 6 fps most are missed, so keep the default rate then.
  const blinkRate = fps >= 6 ? clamp((blinks / durationS) * 60, 4, 40) : base.blinkRatePerMin;
  return {
    ...base,
    source: 'video',
    blinkRatePerMin: round2(blinkRate),
    headSwayDeg: {
      yaw: round2(clamp(std(samples.map((s) => s.face.pose.yawDeg)), 0.3, 8)),
      pitch: round2(clamp(std(samples.map((s) => s.face.pose.pitchDeg)), 0.3, 8)),
      roll: round2(clamp(std(samples.map((s) => s.face.pose.rollDeg)), 0.2, 6)),
    },
  };
}

/** Decoded RGB frames from ffmpeg's stdout, one at a time (backpressure keeps memory to a frame or two). */
async function* readFrames(
  file: string,
  fps: number,
  width: number,
  height: number,
): AsyncGenerator<RgbImage> {
  const child = spawn(
    FFMPEG_PATH,
    [
      '-hide_banner',
      '-nostdin',
      '-v',
      'error',
      '-i',
      file,
      '-an',
      '-vf',
      `fps=${fps.toFixed(4)},scale=${width}:${height}`,
      '-f',
      'rawvideo',
      '-pix_fmt',
      'rgb24',
      'pipe:1',
    ],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  const frameBytes = width * height * 3;
  let pending: Buffer = Buffer.alloc(0);
  try {
    for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      while (pending.length >= frameBytes) {
        const data = new Uint8Array(pending.subarray(0, frameBytes));
        pending = pending.subarray(frameBytes);
        yield { data, width, height };
      }
    }
  } finally {
    child.kill('SIGKILL');
  }
}
