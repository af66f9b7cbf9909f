// The message loop every engine process speaks with its supervisor (speech/engine-pool.ts). Plain JS so the
// processes start without a TypeScript loader.

/**
 * Answers each request `{id, ...}` with `{id, ...result}` or `{id, error}`, one at a time and in order (the pool
 * sends one at a time; this guards anyway), and leaves when the server goes away. Call once warm: it says ready.
 */
export function serve(answer) {
  let chain = Promise.resolve();
  process.on('message', (request) => {
    chain = chain.then(async () => {
      try {
        process.send({ id: request.id, ...(await answer(request)) });
      } catch (err) {
        process.send({ id: request.id, error: String(err?.message ?? err) });
      }
    });
  });
  process.on('disconnect', () => process.exit(0));
  process.send({ ready: true });
}
