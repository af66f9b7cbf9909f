import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { type FrameParams, NEUTRAL_FRAME } from '../animation/frame-params.ts';
import { MOUTH_TARGETS, type MouthShape, type Viseme } from '../animation/visemes.ts';
import type { Identity } from '../registration/identity.ts';
import type { PortraitRenderer } from './renderer.ts';

interface Pending {
  resolve: (pixels: Uint8Array) => void;
  reject: (err: Error) => void;
}

interface Thread {
  worker: Worker;
  ready: Promise<void>;
  sessions: number;
  /** Requests in flight on this thread, by session id then sequence number. */
  pending: Map<string, Map<number, Pending>>;
  opening: Map<string, () => void>;
  failed: boolean;
}

/** One session's renderer on a render thread. Pixels live in memory shared with that thread. */
export class ThreadRenderer {
  private seq = 0;
  /** Two slots of pixels shared with the thread, so two frames can be in flight. */
  private readonly shared: Uint8Array[];
  /** Plain copies of the slots: the WebRTC binding refuses views of shared memory. */
  private readonly pixels: Uint8Array[];

  constructor(
    readonly size: number,
    private readonly id: string,
    private readonly thread: Thread,
    buffer: SharedArrayBuffer,
    /** Renders here when the thread is gone, so a session never loses its picture. */
    private readonly fallback: PortraitRenderer,
    private readonly onClose: () => void,
  ) {
    const bytes = size * size * 4;
    this.shared = [new Uint8Array(buffer, 0, bytes), new Uint8Array(buffer, bytes, bytes)];
    this.pixels = [new Uint8Array(bytes), new Uint8Array(bytes)];
  }

  /**
   * Renders on the thread; resolves with pixels that stay valid until the next call resolves. Calls may
   * overlap (the media session allows two in flight): the thread answers them in order, each into its own slot.
   */
  render(params: FrameParams): Promise<Uint8Array> {
    const slot = this.seq++ % 2;
    const pixels = this.pixels[slot]!;
    if (this.thread.failed) return Promise.resolve(this.fallback.render(params, pixels));
    const seq = this.seq;
    return new Promise<Uint8Array>((resolve, reject) => {
      let byId = this.thread.pending.get(this.id);
      if (!byId) {
        byId = new Map();
        this.thread.pending.set(this.id, byId);
      }
      byId.set(seq, {
        resolve: () => {
          pixels.set(this.shared[slot]!);
          resolve(pixels);
        },
        reject,
      });
      this.thread.worker.postMessage({ type: 'render', id: this.id, seq, slot, params });
    });
  }

  close(): void {
    this.thread.worker.postMessage({ type: 'close', id: this.id });
    this.thread.pending.delete(this.id);
    this.onClose();
  }
}

/**
 * Render threads for live sessions: the event loop keeps the audio clock and the transports, and the frames
 * (3-4 ms of warping each, 25 times a second per session) are drawn on the other cores. A session stays on
 * one thread (its renderer lives there); new sessions go to the least busy thread.
 */
export class RenderPool {
  private readonly threads: Thread[] = [];
  private nextId = 1;
  private closed = false;

  constructor(
    readonly size = Math.max(1, os.availableParallelism()),
    /** Scheduling priority of the threads (Linux: per thread). Batch work (MP4s) runs below live sessions. */
    private readonly niceness = 0,
  ) {}

  private start(): void {
    if (this.threads.length || this.closed) return;
    for (let i = 0; i < this.size; i++) this.threads.push(this.spawn());
  }

  private spawn(): Thread {
    const worker = new Worker(new URL('./render-thread.mjs', import.meta.url), {
      workerData: { niceness: this.niceness },
    });
    worker.unref();
    const thread: Thread = {
      worker,
      ready: undefined as never,
      sessions: 0,
      pending: new Map(),
      opening: new Map(),
      failed: false,
    };
    thread.ready = new Promise<void>((resolve, reject) => {
      worker.on('message', (msg: { type: string; id?: string; seq?: number; error?: string }) => {
        if (msg.type === 'ready') resolve();
        else if (msg.type === 'opened') {
          thread.opening.get(msg.id!)?.();
          thread.opening.delete(msg.id!);
        } else if (msg.type === 'rendered') {
          const byId = thread.pending.get(msg.id!);
          const p = byId?.get(msg.seq!);
          byId?.delete(msg.seq!);
          if (!p) return;
          if (msg.error) p.reject(new Error(msg.error));
          else p.resolve(undefined as never);
        }
      });
      worker.on('error', (err) => {
        thread.failed = true;
        reject(err);
        for (const byId of thread.pending.values()) for (const p of byId.values()) p.reject(err);
        thread.pending.clear();
      });
    });
    thread.ready.catch(() => undefined);
    return thread;
  }

  /** Starts the threads now, so the first session does not wait for them (~300 ms). */
  warm(): void {
    this.start();
  }

  /** A renderer for one live session on the least busy thread. */
  async open(
    identity: Identity,
    portrait: PortraitRenderer,
    opts: { warmup?: boolean } = {},
  ): Promise<ThreadRenderer> {
    this.start();
    const live = this.threads.filter((t) => !t.failed);
    const thread = live.sort((a, b) => a.sessions - b.sessions)[0];
    const size = portrait.size;
    const buffer = new SharedArrayBuffer(size * size * 4 * 2);
    const id = `r${this.nextId++}`;
    if (!thread)
      return new ThreadRenderer(size, id, { failed: true } as Thread, buffer, portrait, () => undefined);
    await thread.ready;
    thread.sessions++;
    await new Promise<void>((resolve) => {
      thread.opening.set(id, resolve);
      thread.worker.postMessage({
        type: 'open',
        id,
        identity,
        rgba: portrait.portraitPixels.slice(),
        size,
        buffer,
        warmup: opts.warmup === false ? undefined : WARMUP_FRAMES,
      });
    });
    return new ThreadRenderer(size, id, thread, buffer, portrait, () => {
      thread.sessions--;
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.threads.splice(0).map((t) => t.worker.terminate()));
  }
}

/**
 * Frames drawn when a live session's renderer opens, off its clock. A cold thread draws its first frames ~10x
 * slower, and each path through the renderer is cold until used (the sampled mouth is built on first use):
 * warmed on a closed mouth only, the first open mouths took 30-65 ms each (2-5 warm), so a loaded thread fell
 * two frames behind and dropped frames at the session's first words. So: the rest pose, then every mouth
 * shape, a blink and a smile.
 */
const WARMUP_FRAMES: FrameParams[] = [
  ...Array.from({ length: 10 }, () => NEUTRAL_FRAME),
  ...(Object.entries(MOUTH_TARGETS) as [Viseme, MouthShape][]).map(([viseme, mouth]) => ({
    ...NEUTRAL_FRAME,
    ...mouth,
    viseme,
  })),
  { ...NEUTRAL_FRAME, blink: 1 },
  { ...NEUTRAL_FRAME, ...MOUTH_TARGETS.aa, viseme: 'aa', smile: 0.6, browRaise: 0.5 },
];
