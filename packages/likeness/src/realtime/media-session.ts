import { EventEmitter } from 'node:events';
import { AnimationTrack } from '../animation/animation-track.ts';
import { type AnimationFrame, animationFrame } from '../animation/blendshapes.ts';
import type { FrameParams } from '../animation/frame-params.ts';
import type { Attention } from '../animation/idle-layer.ts';
import type { TimedViseme } from '../animation/visemes.ts';
import { newId } from '../ids.ts';
import type { Mood } from '../persona/persona.ts';
import type { Identity } from '../registration/identity.ts';
import type { SpeechService } from '../speech/speech-service.ts';
import type { VoiceRef } from '../speech/voice-catalog.ts';
import { resampleTo } from './resample.ts';

export const SAMPLE_RATE = 48_000;
export const TICK_SAMPLES = 480; // 10 ms
export const FPS = 25;
/**
 * Synthesis stays this far ahead of playback and no further: speech for a long text is made as it is needed,
 * spread over the utterance, instead of all at once in a burst that competes with the frames being rendered.
 */
const SYNTHESIS_AHEAD_SAMPLES = 4 * SAMPLE_RATE;
export const TICKS_PER_FRAME = SAMPLE_RATE / TICK_SAMPLES / FPS; // 4

/**
 * Where audio and video go: a WebRTC peer, a LiveKit room, a test. `video` must use (or copy) the pixels
 * before it returns: the buffer is reused for the next frame.
 */
export interface MediaSink {
  /** The next 10 ms; `tick` counts them from the session's start (frame n goes with tick n * 4). */
  audio(samples: Int16Array, tick: number): void;
  video(rgba: Uint8Array, size: number, frame: number): void;
}

/**
 * Draws a frame for parameters (the portrait renderer, or the test card). Either synchronously, into a buffer
 * it may reuse, or on a render thread (renderAsync: one call at a time; the pixels stay valid until the next).
 */
export interface FrameSource {
  readonly size: number;
  render?(params: FrameParams, frame: number, beep: boolean): Uint8Array;
  renderAsync?(params: FrameParams, frame: number, beep: boolean): Promise<Uint8Array>;
  /** Releases what the source holds (a render thread's renderer). */
  close?(): void;
}

export interface Chunk {
  samples: Int16Array; // 48 kHz
  visemes: TimedViseme[]; // seconds from the chunk's first sample
  beep?: boolean[];
}

interface Utterance {
  id: string;
  /** performance.now() when it was queued. */
  queuedAt: number;
  /** performance.now() when its first audio was in hand (synthesised). */
  firstAudioAt?: number;
  text: string;
  /** Its own mood: the face takes it while it plays, then returns to the session's. */
  mood?: Mood | undefined;
  chunks: Chunk[];
  /** Samples in `chunks`, played or not. */
  received: number;
  synthesized: boolean;
  failed?: string;
  started: boolean;
  played: number; // samples sent
  chunkIndex: number;
  chunkOffset: number;
  /** Held mid-chunk: the rest of the chunk's mouth shapes go back on the track where it resumes. */
  reanchor?: boolean;
  abort: AbortController;
}

/** A hold nobody releases (a listener that went away) ends by itself: speech resumes. */
const MAX_HOLD_MS = 10_000;

export type MediaEvent =
  | { type: 'utterance.queued'; utterance_id: string }
  | {
      /** The tenant's monthly minutes: 80 % used (warning), or all used (the session ends now). */
      type: 'quota.warning' | 'quota.exceeded';
      monthly_minutes: number | null;
      used_minutes: number;
      remaining_minutes: number | null;
      resets_at: string;
    }
  | {
      type: 'utterance.started';
      utterance_id: string;
      /** From the speak (or reply clause) to its first sample going out. */
      queued_ms: number;
      /** Of which: until its first audio was synthesised (the rest waited for the audio clock's next tick). */
      first_audio_ms: number;
    }
  | {
      type: 'utterance.finished';
      utterance_id: string;
      playback_position_ms: number;
      interrupted: boolean;
      error?: string;
    }
  | {
      type: 'metrics';
      fps: number;
      queue_depth: number;
      queued_audio_ms: number;
      av_offset_ms: number;
      viewers: number;
      /** Since the session started: frames never sent (the clock skipped ahead after a stall of over 100 ms). */
      frames_dropped: number;
      /** Since the session started: frames sent more than one frame period after their time. */
      late_frames: number;
      /** Since the session started: 10 ms ticks of silence inside an utterance, waiting for synthesis. */
      audio_underruns: number;
      /** The last conversation turn's latency breakdown, ms (spoken turns: from the end of the user's speech). */
      last_turn?: Record<string, number>;
    };

export interface SpeakOptions {
  voice: VoiceRef;
  mood?: Mood;
  /** Speaking rate, 1 = the voice's own (engines that allow it). */
  rate?: number;
}

/** Synthesises an utterance: the real speech pipeline, or the test card's beeps. */
export type Synthesizer = (
  text: string,
  voice: VoiceRef,
  signal: AbortSignal,
  delivery?: {
    mood?: Mood | undefined;
    rate?: number | undefined;
    /** More text follows in the same utterance (speech-service.ts `continues`). */
    continues?: boolean;
  },
) => AsyncIterable<Chunk>;

export function speechSynthesizer(speech: SpeechService): Synthesizer {
  return async function* (text, voice, signal, delivery) {
    for await (const c of speech.stream(text, voice, { signal, ...delivery })) {
      const offset = c.startSample / c.sampleRate;
      yield {
        samples: resampleTo(c.samples, c.sampleRate, SAMPLE_RATE),
        visemes: c.visemes.map((v) => ({ ...v, start: v.start - offset, end: v.end - offset })),
      };
    }
  };
}

/**
 * One live character. The audio clock is the master: every 10 ms tick sends 480 samples at 48 kHz, and every
 * 4th tick sends the video frame for the audio position it goes out with. Nothing is buffered ahead: what is
 * sent is what is heard next, so the video can never drift from the audio. Between utterances the character
 * idles (blinks, breath, sway, eye contact). Utterances queue; an interrupt stops speech at the next tick.
 *
 * Events: utterance.queued / started / finished (exactly once per utterance, counting samples actually sent),
 * and metrics once a second.
 */
export class RealtimeMediaSession extends EventEmitter<{ event: [MediaEvent] }> {
  private readonly sinks = new Set<MediaSink>();
  /** Clients that draw their own face: each frame's blendshapes, as the frame goes out. */
  private readonly frameListeners = new Set<(frame: AnimationFrame) => void>();
  private readonly queue: Utterance[] = [];
  /** The session's animation track, on session audio time: utterances' visemes are appended as they play. */
  private readonly track: AnimationTrack;
  private position = 0; // samples sent since start
  private ticks = 0;
  private timer: NodeJS.Timeout | undefined;
  private clockStart = 0;
  private framesThisSecond = 0;
  private lastMetrics = 0;
  private closed = false;
  /** Seconds of media sent while someone was watching: read and reset by the usage meter. */
  unmeteredSeconds = 0;
  /** Quality counters since start (also in the metrics event). */
  readonly quality = { framesDropped: 0, lateFrames: 0, audioUnderruns: 0, framesSent: 0 };
  /** performance.now() of the first viewer's arrival and of the first frame sent to anyone. */
  private firstViewerAt: number | undefined;
  private firstFrameAt: number | undefined;

  /** From the first viewer's arrival to the first video frame sent (ms), once there has been one. */
  get firstFrameMs(): number | undefined {
    return this.firstViewerAt !== undefined && this.firstFrameAt !== undefined
      ? Math.round(this.firstFrameAt - this.firstViewerAt)
      : undefined;
  }

  constructor(
    private readonly opts: {
      identity: Identity;
      frames: FrameSource;
      synthesize: Synthesizer;
      mood: Mood;
      seed: number;
    },
  ) {
    super();
    this.track = new AnimationTrack({
      visemes: [],
      idle: opts.identity.idle,
      mood: opts.mood,
      seed: opts.seed,
      fps: FPS,
    });
  }

  get viewers(): number {
    return this.sinks.size;
  }

  get timeS(): number {
    return this.position / SAMPLE_RATE;
  }

  attach(sink: MediaSink): () => void {
    this.firstViewerAt ??= performance.now();
    this.sinks.add(sink);
    this.start();
    return () => this.sinks.delete(sink);
  }

  /** Every frame's animation (ARKit weights, head pose) from now on, at the moment its audio goes out. */
  onAnimationFrame(listener: (frame: AnimationFrame) => void): () => void {
    this.frameListeners.add(listener);
    this.start();
    return () => this.frameListeners.delete(listener);
  }

  speak(text: string, opts: SpeakOptions): string {
    return this.play(
      text,
      (signal) => this.opts.synthesize(text, opts.voice, signal, { mood: opts.mood, rate: opts.rate }),
      opts.mood,
    );
  }

  /** Stops one utterance (playing or queued); it finishes, interrupted, once. False when it is not here. */
  stop(utteranceId: string): boolean {
    const at = this.queue.findIndex((u) => u.id === utteranceId);
    if (at < 0) return false;
    const [u] = this.queue.splice(at, 1);
    if (at === 0 && u!.started) this.track.mouth.truncate(this.timeS);
    this.finish(u!, true);
    return true;
  }

  /**
   * Queues an utterance whose audio comes from any source (speech synthesis, an agent's audio stream). The
   * source may produce faster than realtime; it is played at realtime. `signal` aborts when the utterance
   * finishes early (interrupt, session end): the source should stop producing.
   */
  play(text: string, source: (signal: AbortSignal) => AsyncIterable<Chunk>, mood?: Mood): string {
    if (this.closed) throw new Error('media session closed');
    const u: Utterance = {
      id: newId('utt'),
      queuedAt: performance.now(),
      text,
      mood,
      chunks: [],
      received: 0,
      synthesized: false,
      started: false,
      played: 0,
      chunkIndex: 0,
      chunkOffset: 0,
      abort: new AbortController(),
    };
    this.queue.push(u);
    this.emit('event', { type: 'utterance.queued', utterance_id: u.id });
    void (async () => {
      try {
        for await (const chunk of source(u.abort.signal)) {
          if (u.abort.signal.aborted) break;
          u.chunks.push(chunk);
          u.firstAudioAt ??= performance.now();
          u.received += chunk.samples.length;
          while (u.received - u.played > SYNTHESIS_AHEAD_SAMPLES && !u.abort.signal.aborted && !this.closed)
            await new Promise((r) => setTimeout(r, 100));
        }
      } catch (err) {
        u.failed = (err as Error).message;
      } finally {
        u.synthesized = true;
      }
    })();
    this.start();
    return u.id;
  }

  /** Set by the conversation layer after each turn: carried in the metrics events that follow. */
  lastTurn: Record<string, number> | undefined;

  /** Whether the character is saying something, or has something queued to say. */
  get speaking(): boolean {
    return this.queue.length > 0;
  }

  /** The face's pose while silent (conversation): attentive while the user talks, thinking before a reply. */
  setAttention(attention: Attention): void {
    this.track.setAttention(attention, this.timeS);
  }

  private holdTimer: NodeJS.Timeout | undefined;

  /** Whether speech is held (see hold). */
  get held(): boolean {
    return this.holdTimer !== undefined;
  }

  /**
   * Holds speech at the next tick without dropping it: the user has started talking over the character, and
   * it is not yet known whether they are interrupting or only saying "mm-hm". Silence goes out and the mouth
   * closes; `resume` goes on from the same sample, `interrupt` drops it. The clock and the face keep running.
   */
  hold(): void {
    if (this.held || this.closed) return;
    const head = this.queue[0];
    if (head?.started) {
      this.track.mouth.truncate(this.timeS);
      if (head.chunkOffset > 0) head.reanchor = true;
    }
    this.holdTimer = setTimeout(() => this.resume(), MAX_HOLD_MS);
    this.holdTimer.unref?.();
  }

  /** Goes on with held speech, from where it stopped. */
  resume(): void {
    clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
  }

  /** Stops speech now and drops everything queued; each dropped utterance finishes (interrupted) once. */
  interrupt(): number {
    this.resume(); // what comes next is not held
    const dropped = this.queue.splice(0);
    for (const u of dropped) this.finish(u, true);
    this.track.mouth.truncate(this.timeS);
    return dropped.length;
  }

  start(): void {
    if (this.timer || this.closed) return;
    this.clockStart = performance.now() - this.ticks * 10;
    this.lastMetrics = performance.now();
    this.schedule();
  }

  close(): void {
    if (this.closed) return;
    this.interrupt();
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.sinks.clear();
    this.opts.frames.close?.();
  }

  /** Drift-free pacing: each tick is due at clockStart + 10 ms x tick; late ticks are sent at once, in order. */
  private schedule() {
    const now = performance.now();
    const due = Math.floor((now - this.clockStart) / 10) + 1;
    // After a stall (e.g. a long GC), do not burst more than 100 ms: skip the clock forward instead.
    if (due - this.ticks > 10) {
      const skipped = due - this.ticks - 10;
      this.clockStart += skipped * 10;
      if (this.sinks.size > 0) this.quality.framesDropped += Math.round(skipped / TICKS_PER_FRAME);
    }
    const target = Math.floor((performance.now() - this.clockStart) / 10) + 1;
    while (this.ticks < target && !this.closed) this.tick();
    if (this.closed) return;
    const next = this.clockStart + this.ticks * 10;
    this.timer = setTimeout(() => this.schedule(), Math.max(0, next - performance.now()));
  }

  private tick() {
    const audio = this.nextAudio();
    if (this.ticks % TICKS_PER_FRAME === 0) {
      const lateMs = performance.now() - (this.clockStart + this.ticks * 10);
      if (lateMs > 1000 / FPS && this.sinks.size > 0) this.quality.lateFrames++;
      this.sendFrame(this.ticks / TICKS_PER_FRAME);
    }
    for (const sink of this.sinks) sink.audio(audio, this.ticks);
    if (this.sinks.size > 0) this.unmeteredSeconds += TICK_SAMPLES / SAMPLE_RATE;
    this.position += TICK_SAMPLES;
    this.ticks++;
    const now = performance.now();
    if (now - this.lastMetrics >= 1000) {
      const queued = this.queue.reduce(
        (s, u) => s + u.chunks.reduce((a, c) => a + c.samples.length, 0) - u.played,
        0,
      );
      this.emit('event', {
        type: 'metrics',
        fps: Math.round((this.framesThisSecond * 1000) / (now - this.lastMetrics)),
        queue_depth: this.queue.length,
        queued_audio_ms: Math.round((queued / SAMPLE_RATE) * 1000),
        // Frame n is rendered for the audio position it goes out with: zero offset at the sender by construction.
        av_offset_ms: 0,
        viewers: this.sinks.size,
        frames_dropped: this.quality.framesDropped,
        late_frames: this.quality.lateFrames,
        audio_underruns: this.quality.audioUnderruns,
        ...(this.lastTurn ? { last_turn: this.lastTurn } : {}),
      });
      this.framesThisSecond = 0;
      this.lastMetrics = now;
    }
  }

  private sendFrame(n: number) {
    if (this.sinks.size === 0 && this.frameListeners.size === 0) return; // nobody watching: skip the pixels
    const params: FrameParams = this.track.at(this.timeS);
    if (this.frameListeners.size) {
      const frame = animationFrame(n, this.timeS, params);
      for (const listener of this.frameListeners) {
        try {
          listener(frame);
        } catch {
          // A subscriber's failure is its own: the clock goes on.
        }
      }
    }
    if (this.sinks.size === 0) return;
    const beep = this.isBeepFrame(this.position);
    const frames = this.opts.frames;
    if (!frames.renderAsync) {
      this.deliver(frames.render!(params, n, beep), n);
      return;
    }
    // On a render thread: the frame goes out as soon as it is drawn (a few ms after its audio). Up to two
    // frames may be in flight, so a thread that hiccups (scheduling, GC) delivers late instead of losing one;
    // a thread two frames behind is overloaded: skip this frame rather than queue without end.
    if (this.framesInFlight >= 2) {
      this.quality.framesDropped++;
      return;
    }
    this.framesInFlight++;
    const askedAt = performance.now();
    frames.renderAsync(params, n, beep).then(
      (rgba) => {
        this.framesInFlight--;
        if (performance.now() - askedAt > 1000 / FPS) this.quality.lateFrames++;
        if (!this.closed) this.deliver(rgba, n);
      },
      () => {
        this.framesInFlight--;
        this.quality.framesDropped++;
      },
    );
  }

  private framesInFlight = 0;

  private deliver(rgba: Uint8Array, n: number) {
    for (const sink of this.sinks) sink.video(rgba, this.opts.frames.size, n);
    this.framesThisSecond++;
    this.quality.framesSent++;
    if (this.sinks.size) this.firstFrameAt ??= performance.now();
  }

  /** The next 10 ms of audio: the head utterance's samples, or silence. */
  private nextAudio(): Int16Array {
    const out = new Int16Array(TICK_SAMPLES);
    let filled = 0;
    while (filled < TICK_SAMPLES && this.queue.length > 0 && !this.held) {
      const u = this.queue[0]!;
      if (u.failed && u.chunkIndex >= u.chunks.length) {
        this.queue.shift();
        this.finish(u, false, u.failed);
        continue;
      }
      // Start with the first piece (a short clause) in hand; later pieces are synthesised while it plays. An
      // engine slower than realtime (the neural voice on a small CPU) leaves pauses between pieces: underruns.
      if (!u.started && u.chunks.length === 0 && !u.synthesized) break;
      // Test-card beeps start on a video frame boundary, so a beep covers whole frames only.
      if (
        !u.started &&
        u.chunks[0]?.beep &&
        (this.position + filled) % (TICK_SAMPLES * TICKS_PER_FRAME) !== 0
      )
        break;
      const chunk = u.chunks[u.chunkIndex];
      if (!chunk) {
        if (u.synthesized) {
          this.queue.shift();
          this.finish(u, false);
          continue;
        }
        if (u.started) this.quality.audioUnderruns++;
        break; // underrun: silence now; the next chunk's visemes will be placed where its audio starts
      }
      if (!u.started) {
        u.started = true;
        if (u.mood) this.track.setMood(u.mood, (this.position + filled) / SAMPLE_RATE);
        // Speaking ends listening and thinking.
        this.track.setAttention('idle', (this.position + filled) / SAMPLE_RATE);
        this.emit('event', {
          type: 'utterance.started',
          utterance_id: u.id,
          queued_ms: Math.round(performance.now() - u.queuedAt),
          first_audio_ms: Math.round((u.firstAudioAt ?? performance.now()) - u.queuedAt),
        });
      }
      if (u.chunkOffset === 0) {
        const at = (this.position + filled) / SAMPLE_RATE;
        this.track.mouth.append(chunk.visemes.map((v) => ({ ...v, start: v.start + at, end: v.end + at })));
        this.track.mouth.appendAudio(chunk.samples, SAMPLE_RATE, at);
        if (chunk.beep) this.markBeeps(chunk, this.position + filled);
      } else if (u.reanchor) {
        // Resumed mid-chunk: what is left of it, from here.
        u.reanchor = false;
        const at = (this.position + filled) / SAMPLE_RATE;
        const from = u.chunkOffset / SAMPLE_RATE;
        this.track.mouth.append(
          chunk.visemes
            .filter((v) => v.end > from)
            .map((v) => ({ ...v, start: Math.max(v.start, from) - from + at, end: v.end - from + at })),
        );
        this.track.mouth.appendAudio(chunk.samples.subarray(u.chunkOffset), SAMPLE_RATE, at);
      }
      const take = Math.min(TICK_SAMPLES - filled, chunk.samples.length - u.chunkOffset);
      out.set(chunk.samples.subarray(u.chunkOffset, u.chunkOffset + take), filled);
      filled += take;
      u.chunkOffset += take;
      u.played += take;
      if (u.chunkOffset >= chunk.samples.length) {
        u.chunkIndex++;
        u.chunkOffset = 0;
      }
    }
    return out;
  }

  /** Test card: audio positions where a beep starts (each lasts one video frame). */
  private beeps: number[] = [];

  private markBeeps(chunk: Chunk, at: number) {
    chunk.beep!.forEach((on, i) => {
      if (on) this.beeps.push(at + i * TICK_SAMPLES * TICKS_PER_FRAME);
    });
  }

  private isBeepFrame(position: number): boolean {
    const frame = TICK_SAMPLES * TICKS_PER_FRAME;
    while (this.beeps.length && this.beeps[0]! + frame <= position) this.beeps.shift();
    return this.beeps.length > 0 && position >= this.beeps[0]! && position < this.beeps[0]! + frame;
  }

  private finish(u: Utterance, interrupted: boolean, error?: string) {
    u.abort.abort();
    if (u.mood && u.started && u.mood !== this.opts.mood) this.track.setMood(this.opts.mood, this.timeS);
    this.emit('event', {
      type: 'utterance.finished',
      utterance_id: u.id,
      playback_position_ms: Math.round((u.played / SAMPLE_RATE) * 1000),
      interrupted,
      ...(error ? { error } : {}),
    });
  }
}
