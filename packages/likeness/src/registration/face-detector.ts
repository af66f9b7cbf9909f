import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import sharp from 'sharp';
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

/** The part of @vladmandic/human we use; its package exports are unusable from ESM, so we type it here. */
interface HumanFace {
  box: [number, number, number, number];
  score: number;
  mesh: [number, number, number][];
  rotation?: { angle: { yaw: number; pitch: number; roll: number } } | null;
}
interface HumanInstance {
  tf: {
    tensor3d(data: Uint8Array, shape: [number, number, number], dtype: 'int32'): unknown;
    dispose(t: unknown): void;
    io: { registerLoadRouter(router: (url: string | string[]) => unknown): void };
  };
  load(): Promise<void>;
  detect(input: unknown): Promise<{ face: HumanFace[] }>;
}

const require = createRequire(import.meta.url);

function packageDir(name: string): string {
  const dir = (require.resolve.paths(name) ?? [])
    .map((p) => path.join(p, name))
    .find((p) => fs.existsSync(p));
  if (!dir) throw new Error(`package ${name} is not installed`);
  return dir;
}

/** Largest side fed to the detector: its models work at 256 px or less, so bigger only costs time. */
const DETECT_MAX_SIDE = 1024;

/**
 * Face landmarks with the MediaPipe face mesh models shipped inside @vladmandic/human (MIT; models Apache-2.0),
 * run by TensorFlow.js on its WASM backend. No network: models are read from node_modules.
 * One instance per process; calls are serialised because the model is not re-entrant.
 */
export class FaceDetector {
  private human: HumanInstance | undefined;
  private loading: Promise<HumanInstance> | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  async load(): Promise<void> {
    await this.instance();
  }

  private instance(): Promise<HumanInstance> {
    if (this.human) return Promise.resolve(this.human);
    this.loading ??= this.create().then((h) => {
      this.human = h;
      return h;
    });
    return this.loading;
  }

  private async create(): Promise<HumanInstance> {
    const human = await withoutProcessHandlers(() => this.build());
    return human;
  }

  private async build(): Promise<HumanInstance> {
    const humanDir = packageDir('@vladmandic/human');
    const wasmDir = path.join(packageDir('@tensorflow/tfjs-backend-wasm'), 'dist');
    // human's Node WASM build pulls tfjs-core, -converter and -backend-wasm from node_modules.
    const { Human } = require(path.join(humanDir, 'dist/human.node-wasm.js')) as {
      Human: new (config: unknown) => HumanInstance;
    };
    const human = new Human({
      backend: 'wasm',
      wasmPath: `${wasmDir}/`,
      modelBasePath: `file://${humanDir}/models/`,
      debug: false,
      cacheSensitivity: 0,
      filter: { enabled: false },
      face: {
        enabled: true,
        detector: { rotation: true, maxDetected: 5, minConfidence: 0.4, return: false },
        mesh: { enabled: true },
        iris: { enabled: true },
        description: { enabled: false },
        emotion: { enabled: false },
        antispoof: { enabled: false },
        liveness: { enabled: false },
        attention: { enabled: false },
      },
      body: { enabled: false },
      hand: { enabled: false },
      object: { enabled: false },
      gesture: { enabled: false },
      segmentation: { enabled: false },
    });
    human.tf.io.registerLoadRouter(fileModelRouter);
    await human.load();
    return human;
  }

  /** All faces in the image, best first. Serialised: one detection runs at a time. */
  detect(image: RgbImage): Promise<DetectedFace[]> {
    const run = this.queue.then(() => this.detectNow(image));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async detectNow(image: RgbImage): Promise<DetectedFace[]> {
    const human = await this.instance();
    const scaled = await fitWithin(image, DETECT_MAX_SIDE);
    let faces = await this.runModel(human, scaled.image, scaled.scale, 0, 0);
    if (faces.length === 0) {
      // The short-range detector misses faces that fill the frame (common in drawings): try once more
      // with a margin around the picture.
      const pad = Math.round(Math.max(scaled.image.width, scaled.image.height) * 0.4);
      const padded = await padImage(scaled.image, pad);
      faces = await this.runModel(human, padded, scaled.scale, pad, pad);
    }
    return faces.sort((a, b) => b.score - a.score);
  }

  private async runModel(human: HumanInstance, image: RgbImage, scale: number, offX: number, offY: number) {
    const tensor = human.tf.tensor3d(image.data, [image.height, image.width, 3], 'int32');
    try {
      const result = await human.detect(tensor);
      const toSource = (x: number, y: number): [number, number] => [(x - offX) / scale, (y - offY) / scale];
      return result.face
        .filter((f) => f.mesh?.length >= LANDMARK_COUNT)
        .map((f): DetectedFace => {
          const [bx, by] = toSource(f.box[0], f.box[1]);
          const angle = f.rotation?.angle ?? { yaw: 0, pitch: 0, roll: 0 };
          return {
            box: { x: bx, y: by, width: f.box[2] / scale, height: f.box[3] / scale },
            score: f.score,
            landmarks: f.mesh.slice(0, LANDMARK_COUNT).map(([x, y, z]) => [...toSource(x, y), z / scale]),
            pose: { yawDeg: deg(angle.yaw), pitchDeg: deg(angle.pitch), rollDeg: deg(angle.roll) },
          };
        });
    } finally {
      human.tf.dispose(tensor);
    }
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

/**
 * tfjs' Emscripten WASM build adds process-wide `unhandledRejection` and `uncaughtException` listeners that
 * rethrow, which would turn any stray rejection anywhere in the server into a crash of every session. The
 * process's error policy belongs to its entry point (main.ts): take back whatever listeners loading added.
 */
async function withoutProcessHandlers<T>(load: () => Promise<T>): Promise<T> {
  const events = ['unhandledRejection', 'uncaughtException'];
  const listeners = (e: string) => process.listeners(e as 'exit') as ((...a: unknown[]) => void)[];
  const before = new Map(events.map((e) => [e, new Set(listeners(e))]));
  try {
    return await load();
  } finally {
    for (const e of events)
      for (const l of listeners(e)) if (!before.get(e)!.has(l)) process.off(e as 'exit', l);
  }
}

/** tfjs has no file:// loader in its WASM build; this reads model.json and its weight shards from disk. */
function fileModelRouter(url: string | string[]) {
  if (typeof url !== 'string' || !url.startsWith('file://')) return null;
  const file = url.slice('file://'.length);
  return {
    load: async () => {
      const json = JSON.parse(await fs.promises.readFile(file, 'utf8'));
      const dir = path.dirname(file);
      const groups = json.weightsManifest as { paths: string[]; weights: unknown[] }[];
      const shards = await Promise.all(
        groups.flatMap((g) => g.paths).map((p) => fs.promises.readFile(path.join(dir, p))),
      );
      const weights = Buffer.concat(shards);
      return {
        modelTopology: json.modelTopology,
        format: json.format,
        generatedBy: json.generatedBy,
        convertedBy: json.convertedBy,
        signature: json.signature,
        userDefinedMetadata: json.userDefinedMetadata,
        weightSpecs: groups.flatMap((g) => g.weights),
        weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
      };
    },
  };
}
