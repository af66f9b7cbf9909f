// The face landmark process: MediaPipe's face mesh models shipped inside @vladmandic/human (MIT; models
// Apache-2.0), run by TensorFlow.js on its WASM backend, one detection at a time, supervised by the server
// (speech/engine-pool.ts; registration/face-detector.ts asks it). It runs here, not in the server, for two reasons
// measured on a 2-core box: a detection holds the thread that runs it for 100-330 ms, which in the server stalled
// every live session's audio clock and frames; and the models take ~100 MB that the server would keep for its
// whole life, where this process leaves when it has been idle a while.
// Request: {data: Uint8Array (RGB), width, height}. Answer: {faces: [{box, score, mesh, angle}]} in the image's
// pixels. No network: the models are read from node_modules. Plain JS so it starts without a TypeScript loader.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { serve } from '../speech/engine-serve.mjs';

const require = createRequire(import.meta.url);
/** A package's folder (human's package exports hide package.json from require.resolve). */
function packageDir(name) {
  const dir = (require.resolve.paths(name) ?? [])
    .map((p) => path.join(p, name))
    .find((p) => fs.existsSync(p));
  if (!dir) throw new Error(`package ${name} is not installed`);
  return dir;
}

/** tfjs has no file:// loader in its WASM build; this reads model.json and its weight shards from disk. */
function fileModelRouter(url) {
  if (typeof url !== 'string' || !url.startsWith('file://')) return null;
  const file = url.slice('file://'.length);
  return {
    load: async () => {
      const json = JSON.parse(await fs.promises.readFile(file, 'utf8'));
      const dir = path.dirname(file);
      const groups = json.weightsManifest;
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

const humanDir = packageDir('@vladmandic/human');
const wasmDir = path.join(packageDir('@tensorflow/tfjs-backend-wasm'), 'dist');
// human's Node WASM build pulls tfjs-core, -converter and -backend-wasm from node_modules.
const { Human } = require(path.join(humanDir, 'dist/human.node-wasm.js'));
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

async function detect({ data, width, height }) {
  if (!(data instanceof Uint8Array) || data.length !== width * height * 3) throw new Error('bad RGB image');
  const tensor = human.tf.tensor3d(data, [height, width, 3], 'int32');
  try {
    const result = await human.detect(tensor);
    return {
      faces: result.face.map((f) => ({
        box: f.box,
        score: f.score,
        mesh: f.mesh,
        angle: f.rotation?.angle ?? { yaw: 0, pitch: 0, roll: 0 },
      })),
    };
  } finally {
    human.tf.dispose(tensor);
  }
}

serve(detect);
