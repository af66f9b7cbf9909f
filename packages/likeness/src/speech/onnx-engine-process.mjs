// What the neural engine processes (kokoro/kokoro-process.mjs, piper/piper-process.mjs) share: an onnxruntime CPU
// session set up for a machine that also renders live video, and the message loop speech/engine-pool.ts speaks.
// Plain JS so the processes start without a TypeScript loader.
import ort from 'onnxruntime-node';

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

/**
 * Answers each request `{id, ...}` with `{id, ...result}` or `{id, error}`, one at a time and in order (the pool
 * sends one at a time; this guards anyway), and leaves when the server goes away. Call once warm: it says ready.
 */
export function serve(synthesize) {
  let chain = Promise.resolve();
  process.on('message', (request) => {
    chain = chain.then(async () => {
      try {
        process.send({ id: request.id, ...(await synthesize(request)) });
      } catch (err) {
        process.send({ id: request.id, error: String(err?.message ?? err) });
      }
    });
  });
  process.on('disconnect', () => process.exit(0));
  process.send({ ready: true });
}
