import { AnimationTrack } from '../animation/animation-track.ts';
import type { FrameParams } from '../animation/frame-params.ts';
import { Problem } from '../errors.ts';
import type { Mood } from '../persona/persona.ts';
import type { Identity } from '../registration/identity.ts';
import type { PortraitRenderer } from '../render/renderer.ts';
import type { SpeechService, UtteranceChunk } from '../speech/speech-service.ts';
import type { VoiceRef } from '../speech/voice-catalog.ts';
import { mediaCapExceeded } from './media-cap.ts';
import { Mp4Encoder } from './mp4-encoder.ts';

export interface UtteranceVideoRequest {
  identity: Identity;
  renderer: PortraitRenderer;
  /**
   * Draws frames elsewhere (a render thread) instead of with `renderer` on this thread; the pixels are
   * copied into the encoder's buffer.
   */
  draw?: ((params: FrameParams) => Promise<Uint8Array>) | undefined;
  speech: SpeechService;
  text: string;
  voice: VoiceRef;
  mood: Mood;
  /** Speaking rate, 1 = the voice's own. */
  rate?: number | undefined;
  seed: number;
  fps?: number;
  /** Refuse (and produce nothing) once the audio passes this many seconds. */
  maxSeconds?: number;
  file: string;
  /** Called for every frame as it is rendered (contact sheets, tests). */
  onFrame?: (n: number, params: FrameParams, rgba: Uint8Array) => void;
  onChunk?: (chunk: UtteranceChunk) => void;
  onEncoderStart?: (encoder: Mp4Encoder) => void;
}

export interface UtteranceVideoResult {
  frames: number;
  fps: number;
  sampleRate: number;
  audioSamples: number;
  durationS: number;
  /** Milliseconds from the start until the first audio chunk was ready. */
  firstAudioMs: number;
}

/**
 * Pulls the next item while the consumer works on the current one: the next sentence is synthesised (in the
 * speech worker) while this one's frames render.
 */
export async function* readAhead<T>(source: AsyncIterable<T>): AsyncGenerator<T> {
  const it = source[Symbol.asyncIterator]();
  let next = it.next();
  try {
    for (;;) {
      const r = await next;
      if (r.done) return;
      next = it.next();
      next.catch(() => undefined); // surfaced when awaited above
      yield r.value;
    }
  } finally {
    await it.return?.();
  }
}

/** Frames are rendered up to this far before the end of the audio known so far: room for the next shape's lead. */
const LOOKAHEAD_S = 0.08;

/**
 * On-demand mode: speech streams in sentence by sentence, the animation track grows with it, each frame n is
 * rendered for audio time n / fps and fed to the encoder as soon as the audio under it is known. Audio is padded
 * with silence to a whole number of frames, so audio and video end together.
 */
export async function renderUtteranceVideo(req: UtteranceVideoRequest): Promise<UtteranceVideoResult> {
  const fps = req.fps ?? 25;
  const started = performance.now();
  const track = new AnimationTrack({
    visemes: [],
    idle: req.identity.idle,
    mood: req.mood,
    seed: req.seed,
    fps,
  });
  let encoder: Mp4Encoder | undefined;
  let sampleRate = 0;
  let samplesPerFrame = 0;
  let audioSamples = 0;
  let frames = 0;
  let firstAudioMs = 0;
  const renderUntil = async (limitFrame: number) => {
    for (; frames < limitFrame; frames++) {
      const params = track.frame(frames);
      const buffer = await encoder!.frameBuffer();
      let rgba: Uint8Array;
      if (req.draw) {
        buffer.set(await req.draw(params));
        rgba = buffer;
      } else rgba = req.renderer.render(params, buffer);
      req.onFrame?.(frames, params, rgba);
      await encoder!.writeFrame(rgba);
    }
  };
  try {
    for await (const chunk of readAhead(
      req.speech.stream(req.text, req.voice, { mood: req.mood, rate: req.rate }),
    )) {
      if (!encoder) {
        firstAudioMs = performance.now() - started;
        sampleRate = chunk.sampleRate;
        samplesPerFrame = sampleRate / fps;
        encoder = new Mp4Encoder({
          width: req.renderer.size,
          height: req.renderer.size,
          fps,
          sampleRate,
          file: req.file,
        });
        req.onEncoderStart?.(encoder);
      }
      req.onChunk?.(chunk);
      track.mouth.append(chunk.visemes);
      track.mouth.appendAudio(chunk.samples, chunk.sampleRate, chunk.startSample / chunk.sampleRate);
      // Audio first, without waiting: ffmpeg interleaves by time, and the frames below need it already queued.
      void encoder.writeAudio(chunk.samples).catch(() => undefined);
      audioSamples = chunk.startSample + chunk.samples.length;
      if (req.maxSeconds !== undefined && audioSamples / sampleRate > req.maxSeconds) {
        throw mediaCapExceeded(req.maxSeconds);
      }
      await renderUntil(Math.floor((audioSamples / sampleRate - LOOKAHEAD_S) * fps));
    }
    if (!encoder) throw new Problem('speech-failed', 'The speech engine produced no audio.');
    const totalFrames = Math.ceil(audioSamples / samplesPerFrame);
    const padding = totalFrames * samplesPerFrame - audioSamples;
    if (padding > 0) void encoder.writeAudio(new Int16Array(padding)).catch(() => undefined);
    await renderUntil(totalFrames);
    await encoder.finish();
    return { frames, fps, sampleRate, audioSamples, durationS: frames / fps, firstAudioMs };
  } catch (err) {
    await encoder?.abort();
    throw err;
  }
}
