// What the neural engine processes (kokoro/kokoro-process.mjs, piper/piper-process.mjs) share: an onnxruntime CPU
// session set up for a machine that also renders live video, and the message loop (engine-serve.mjs).
// Plain JS so the processes start without a TypeScript loader.
import ort from 'onnxruntime-node';

export { serve } from './engine-serve.mjs';
export { ort };

/** One model, `threads` intra-op threads that sleep when idle (spinning threads take the render loop's cores). */
export function cpuSession(modelFile, threads) {
  return ort.InferenceSession.create(modelFile, {
    executionProviders: ['cpu'],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  });
}
