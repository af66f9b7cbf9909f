/**
 * Starts draining an async iterable now, into memory, and replays it to whoever iterates later: a sentence
 * synthesised while the one before it is still being consumed. Errors surface when the consumer reaches
 * them; `cancel` stops the draining (the source's `return` runs).
 */
export function prefetch<T>(source: AsyncIterable<T>): AsyncIterable<T> & { cancel(): void } {
  const items: T[] = [];
  let done = false;
  let failure: { error: unknown } | undefined;
  let wake: (() => void) | undefined;
  let cancelled = false;
  const it = source[Symbol.asyncIterator]();
  void (async () => {
    try {
      for (;;) {
        if (cancelled) {
          await it.return?.();
          break;
        }
        const r = await it.next();
        if (r.done) break;
        items.push(r.value);
        wake?.();
      }
    } catch (error) {
      failure = { error };
    } finally {
      done = true;
      wake?.();
    }
  })();
  return {
    cancel() {
      cancelled = true;
    },
    async *[Symbol.asyncIterator]() {
      let i = 0;
      for (;;) {
        if (i < items.length) {
          yield items[i++]!;
          continue;
        }
        if (done) {
          if (failure) throw failure.error;
          return;
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
      }
    },
  };
}
