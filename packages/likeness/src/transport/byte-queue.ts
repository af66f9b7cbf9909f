/**
 * An unbounded queue of byte pieces between a producer that must never be stalled (a network stream read to
 * its end) and one consumer that reads at its own pace. `discard` drops what is held and everything pushed
 * later, and ends the consumer's iteration.
 */
export class ByteQueue implements AsyncIterable<Uint8Array> {
  private readonly pieces: Uint8Array[] = [];
  private ended = false;
  private discarded = false;
  private wake: (() => void) | undefined;

  push(piece: Uint8Array): void {
    if (this.ended || this.discarded) return;
    this.pieces.push(piece);
    this.notify();
  }

  end(): void {
    this.ended = true;
    this.notify();
  }

  discard(): void {
    this.discarded = true;
    this.pieces.length = 0;
    this.notify();
  }

  private notify() {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    for (;;) {
      if (this.discarded) return;
      const next = this.pieces.shift();
      if (next) {
        yield next;
        continue;
      }
      if (this.ended) return;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }
}
