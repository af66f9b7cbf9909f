import { Problem } from './errors.ts';

export interface AdmissionOptions {
  /** For messages: "MP4 renders". */
  name: string;
  /** The setting that sizes it, named in the 429's detail. */
  setting: string;
  /** Jobs running at once. */
  concurrency: number;
  /** Jobs waiting for a slot; one more is refused with 429 server-busy and a Retry-After. */
  maxWaiting: number;
  /** A first guess of one job's seconds, until real ones are measured. */
  typicalSeconds: number;
}

/**
 * Admission control for heavy work (renders, registrations): a fixed number run at once, a bounded queue
 * waits in order, and anything beyond is refused at once with 429 and an honest Retry-After (from the
 * durations measured so far), so the process is never overloaded and never queues without bound.
 */
export class AdmissionQueue {
  private running = 0;
  private readonly waiting: { start: () => void; cancel: () => void }[] = [];
  private averageS: number;
  /** Each job's seconds, run time only (metrics). */
  onJobDone: ((seconds: number, failed: boolean) => void) | undefined;

  constructor(private readonly opts: AdmissionOptions) {
    this.averageS = opts.typicalSeconds;
  }

  get stats() {
    return { running: this.running, waiting: this.waiting.length, average_s: this.averageS };
  }

  /** Runs `job` when a slot is free. Rejects at once when the queue is full, or when `signal` aborts while waiting. */
  async run<T>(job: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (this.running >= this.opts.concurrency) await this.wait(signal);
    else this.running++;
    const started = performance.now();
    let failed = true;
    try {
      const result = await job();
      failed = false;
      return result;
    } finally {
      const seconds = (performance.now() - started) / 1000;
      this.onJobDone?.(seconds, failed);
      this.averageS = this.averageS * 0.8 + seconds * 0.2;
      const next = this.waiting.shift();
      if (next) next.start();
      else this.running--;
    }
  }

  /**
   * Throws the 429 `run` would throw now, for work accepted now and run later (stored videos answer 202 and
   * render in the background): checked and then run in the same tick, nothing can take the place between.
   */
  assertRoom(): void {
    if (this.running >= this.opts.concurrency && this.waiting.length >= this.opts.maxWaiting)
      throw this.busy();
  }

  private busy(): Problem {
    const ahead = this.running + this.waiting.length;
    return new Problem(
      'server-busy',
      `${this.opts.name}: ${this.running} running and ${this.waiting.length} waiting, the most this server takes (${this.opts.setting}). Retry later.`,
      { retry_after_s: Math.ceil((ahead / this.opts.concurrency) * this.averageS), running: this.running },
    );
  }

  private wait(signal?: AbortSignal): Promise<void> {
    if (this.waiting.length >= this.opts.maxWaiting) throw this.busy();
    if (signal?.aborted) throw new Problem('validation-error', 'The request was cancelled.');
    return new Promise<void>((resolve, reject) => {
      const entry = {
        // The slot passes straight from the finishing job to this one: `running` stays the same.
        start: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        cancel: () => reject(new Problem('validation-error', 'The request was cancelled while it waited.')),
      };
      const onAbort = () => {
        const at = this.waiting.indexOf(entry);
        if (at >= 0) this.waiting.splice(at, 1);
        entry.cancel();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(entry);
    });
  }
}
