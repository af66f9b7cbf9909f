/**
 * Audio ticks (10 ms) a WHEP video frame waits before it is sent (VideoHold below). Without it, at Chromium, the
 * picture led the sound by ~60-70 ms until the browser's lip-sync started (it needs the audio's second RTCP sender
 * report, 5-10 s into a session) and by ~25 ms once it had settled (bench:realtime). More would push the settled
 * state past zero; the studio's player covers the rest by keeping its video playout target as deep as the audio's
 * jitter buffer (studio.html, followAudioDelay).
 */
export const VIDEO_HOLD_TICKS = 3;

/**
 * Video frames that wait for the audio clock: each is released with the audio tick `holdTicks` after its own
 * (frame n belongs to tick n * ticksPerFrame). Opus sends a packet once it holds 20 ms of audio, so a frame sent
 * at once reaches the viewer ahead of its sound; held this way it leaves with the audio that follows its own,
 * measured in ticks of the audio clock rather than by a timer. Items are reused: `take` gives back a released one.
 */
export class VideoHold<T> {
  private readonly waiting: { item: T; sendAt: number }[] = [];
  private readonly free: T[] = [];
  private lastTick = -1;

  constructor(private readonly opts: { holdTicks: number; ticksPerFrame: number; send: (item: T) => void }) {}

  /** A released item to reuse, if any. */
  take(): T | undefined {
    return this.free.pop();
  }

  /** Frame n is ready. A frame drawn after its release tick (a late render) goes at once. */
  push(item: T, n: number): void {
    const sendAt = n * this.opts.ticksPerFrame + this.opts.holdTicks;
    if (sendAt <= this.lastTick) this.release(item);
    else this.waiting.push({ item, sendAt });
  }

  /** The audio of `tick` has just been sent: the frames due with it go too. */
  tick(tick: number): void {
    this.lastTick = tick;
    while (this.waiting[0] && this.waiting[0].sendAt <= tick) this.release(this.waiting.shift()!.item);
  }

  /** Frames waiting now. */
  get size(): number {
    return this.waiting.length;
  }

  private release(item: T) {
    this.opts.send(item);
    this.free.push(item);
  }
}
