/**
 * An independent judge of rendered faces: @vladmandic/face-api (MIT; its own models, not the MediaPipe mesh the
 * project registers faces with). It finds the face in a frame, places 68 landmarks and computes a 128-number
 * face descriptor. Used by the face bench and the renderer's quality test, never by the server.
 */
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);

interface Point {
  x: number;
  y: number;
}
interface FaceApiResult {
  detection: { score: number; box: { x: number; y: number; width: number; height: number } };
  landmarks: { positions: Point[] };
  descriptor?: Float32Array;
}
interface Tensor {
  dispose(): void;
}
interface Tf {
  setBackend(name: string): Promise<boolean>;
  ready(): Promise<void>;
  tensor3d(data: Uint8Array, shape: [number, number, number], dtype: 'int32'): Tensor;
}
interface Task extends PromiseLike<FaceApiResult | undefined> {
  withFaceDescriptor(): PromiseLike<FaceApiResult | undefined>;
}
interface FaceApi {
  nets: Record<
    'tinyFaceDetector' | 'ssdMobilenetv1' | 'faceLandmark68Net' | 'faceRecognitionNet',
    {
      loadFromDisk(dir: string): Promise<void>;
    }
  >;
  TinyFaceDetectorOptions: new (o: { inputSize: number; scoreThreshold: number }) => unknown;
  SsdMobilenetv1Options: new (o: { minConfidence: number }) => unknown;
  detectSingleFace(input: Tensor, options: unknown): { withFaceLandmarks(): Task };
}

export interface JudgedFace {
  score: number;
  detector: string;
  /** Inner-lip opening over the distance between the outer eye corners. */
  mouthOpen: number;
  descriptor?: Float32Array;
}

/** Below this a detection is not counted as a face. */
export const MIN_FACE_SCORE = 0.2;

export class IndependentFaceJudge {
  private constructor(
    private readonly tf: Tf,
    private readonly api: FaceApi,
  ) {}

  static async load(): Promise<IndependentFaceJudge> {
    const tf = require('@tensorflow/tfjs') as Tf;
    const wasm = require('@tensorflow/tfjs-backend-wasm') as { setWasmPaths(p: string, f: boolean): void };
    const api = require('@vladmandic/face-api/dist/face-api.node-wasm.js') as FaceApi;
    wasm.setWasmPaths(`${path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm'))}/`, false);
    await tf.setBackend('wasm');
    await tf.ready();
    const models = path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'model');
    for (const net of [
      'tinyFaceDetector',
      'ssdMobilenetv1',
      'faceLandmark68Net',
      'faceRecognitionNet',
    ] as const) {
      await api.nets[net].loadFromDisk(models);
    }
    return new IndependentFaceJudge(tf, api);
  }

  /** The best face in an RGBA or RGB frame, trying three detector settings; undefined when none scores. */
  async judge(
    pixels: Uint8Array,
    width: number,
    height: number,
    opts: { descriptor?: boolean } = {},
  ): Promise<JudgedFace | undefined> {
    const channels = pixels.length / (width * height);
    let rgb = pixels;
    if (channels === 4) {
      rgb = new Uint8Array(width * height * 3);
      for (let i = 0, j = 0; i < pixels.length; i += 4, j += 3) {
        rgb[j] = pixels[i]!;
        rgb[j + 1] = pixels[i + 1]!;
        rgb[j + 2] = pixels[i + 2]!;
      }
    }
    const tensor = this.tf.tensor3d(rgb, [height, width, 3], 'int32');
    try {
      const tries: [string, unknown][] = [
        ['tiny-416', new this.api.TinyFaceDetectorOptions({ inputSize: 416, scoreThreshold: 0.1 })],
        ['tiny-320', new this.api.TinyFaceDetectorOptions({ inputSize: 320, scoreThreshold: 0.1 })],
        ['ssd', new this.api.SsdMobilenetv1Options({ minConfidence: 0.1 })],
      ];
      let best: { r: FaceApiResult; name: string } | undefined;
      for (const [name, options] of tries) {
        const task = this.api.detectSingleFace(tensor, options).withFaceLandmarks();
        const r = await (opts.descriptor ? task.withFaceDescriptor() : task);
        if (r && (!best || r.detection.score > best.r.detection.score)) best = { r, name };
        if (best && best.r.detection.score >= 0.5) break;
      }
      if (!best || best.r.detection.score < MIN_FACE_SCORE) return undefined;
      const p = best.r.landmarks.positions;
      const d = (a: number, b: number) => Math.hypot(p[a]!.x - p[b]!.x, p[a]!.y - p[b]!.y);
      const eyes = d(36, 45);
      return {
        score: best.r.detection.score,
        detector: best.name,
        mouthOpen: (d(61, 67) + d(62, 66) + d(63, 65)) / 3 / Math.max(1, eyes),
        ...(best.r.descriptor ? { descriptor: best.r.descriptor } : {}),
      };
    } finally {
      tensor.dispose();
    }
  }
}

/** Cosine similarity of two face descriptors (1 = the same direction). */
export function descriptorSimilarity(a: Float32Array, b: Float32Array): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  return ab / Math.sqrt(aa * bb);
}

/** Euclidean distance of two descriptors (face-api's own measure: under 0.6 is the same person). */
export function descriptorDistance(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return Math.sqrt(s);
}
