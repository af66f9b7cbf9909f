import sharp from 'sharp';
import { Problem } from '../errors.ts';
import { EngineFailure, EnginePool } from '../speech/engine-pool.ts';
import type { RgbImage } from './decode-image.ts';
import { LANDMARK_COUNT } from './face-topology.ts';

export interface DetectedFace {
  /** Detector box in source pixels. */
  box: { x: number; y: number; width: number; height: number };
  score: number;
  /** 478 points [x, y, z] in source pixels (z relative, same scale as x). */
  landmarks: [number, number, number][];
  pose: { yawDeg: number; pitchDeg: number; rollDeg: number };
}

/** One face as the face process reports it (registration/face-process.mjs), in the pixels it was given. */
interface RawFace {
  box: [number, number, number, number];
  score: number;
  mesh: [number, number, number][];
  angle: { yaw: number; pitch: number; roll: number };
}
type DetectRequest = { data: Uint8Array; width: number; height: number };

/** Largest side fed to the detector: its models work at 256 px or less, so bigger only costs time. */
const DETECT_MAX_SIDE = 1024;
/** The face process leaves after this long without work (its models hold ~100 MB); the next one loads in ~0.5 s. */
const IDLE_EXIT_MS = 60_000;

/**
 * Face landmarks with the MediaPipe face mesh models shipped inside @vladmandic/human, run in a supervised
 * process of their own (face-process.mjs says why). One detection runs at a time; a crash or hang there fails
 * that registration only.
 */
export class FaceDetector {
  private readonly pool = new EnginePool<DetectRequest, { faces: RawFace[] }>({
    name: 'face landmarks',
    script: new URL('./face-process.mjs', import.meta.url),
    size: 1,
    timeoutMs: 60_000,
    maxQueue: 64,
    maxRequestsPerProcess: 500,
    idleExitMs: IDLE_EXIT_MS,
  });

  /** All faces in the image, best first. */
  async detect(image: RgbImage): Promise<DetectedFace[]> {
    const scaled = await fitWithin(image, DETECT_MAX_SIDE);
    let faces = await this.runModel(scaled.image, scaled.scale, 0, 0);
    if (faces.length === 0) {
      // The short-range detector misses faces that fill the frame (common in drawings): try once more
      // with a margin around the picture.
      const pad = Math.round(Math.max(scaled.image.width, scaled.image.height) * 0.4);
      const padded = await padImage(scaled.image, pad);
      faces = await this.runModel(padded, scaled.scale, pad, pad);
    }
    return faces.sort((a, b) => b.score - a.score);
  }

  close(): Promise<void> {
    return this.pool.close();
  }

  /** The face process's id (none while idle) and request counts, for tests and diagnostics. */
  get engine(): { pids: number[]; requests: number } {
    return { pids: this.pool.pids, requests: this.pool.stats.requests };
  }

  private async runModel(image: RgbImage, scale: number, offX: number, offY: number) {
    let faces: RawFace[];
    try {
      ({ faces } = await this.pool.request({
        data: new Uint8Array(image.data.buffer, image.data.byteOffset, image.data.byteLength),
        width: image.width,
        height: image.height,
      }));
    } catch (err) {
      const failure = err as EngineFailure;
      if (failure instanceof EngineFailure && failure.kind === 'busy')
        throw new Problem('server-busy', 'Too many registrations are waiting for face detection.', {
          retry_after_s: 10,
        });
      throw new Problem(
        'face-detection-failed',
        `The face landmark engine failed on this image (${failure.message}); nothing was saved. Try again.`,
      );
    }
    const toSource = (x: number, y: number): [number, number] => [(x - offX) / scale, (y - offY) / scale];
    return faces
      .filter((f) => f.mesh?.length >= LANDMARK_COUNT)
      .map((f): DetectedFace => {
        const [bx, by] = toSource(f.box[0], f.box[1]);
        return {
          box: { x: bx, y: by, width: f.box[2] / scale, height: f.box[3] / scale },
          score: f.score,
          landmarks: f.mesh.slice(0, LANDMARK_COUNT).map(([x, y, z]) => [...toSource(x, y), z / scale]),
          pose: { yawDeg: deg(f.angle.yaw), pitchDeg: deg(f.angle.pitch), rollDeg: deg(f.angle.roll) },
        };
      });
  }
}

const deg = (rad: number) => (rad * 180) / Math.PI;

async function fitWithin(image: RgbImage, maxSide: number): Promise<{ image: RgbImage; scale: number }> {
  const scale = Math.min(1, maxSide / Math.max(image.width, image.height));
  if (scale === 1) return { image, scale };
  const width = Math.round(image.width * scale);
  const height = Math.round(image.height * scale);
  const data = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .resize(width, height)
    .raw()
    .toBuffer();
  return { image: { data, width, height }, scale: width / image.width };
}

async function padImage(image: RgbImage, pad: number): Promise<RgbImage> {
  const data = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .extend({ top: pad, bottom: pad, left: pad, right: pad, extendWith: 'copy' })
    .raw()
    .toBuffer();
  return { data, width: image.width + 2 * pad, height: image.height + 2 * pad };
}
