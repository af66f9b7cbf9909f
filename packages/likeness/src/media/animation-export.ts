import { AnimationTrack } from '../animation/animation-track.ts';
import { ARKIT_BLENDSHAPES, arkitWeights, headPose } from '../animation/blendshapes.ts';
import { seedFrom } from '../animation/random.ts';
import type { Viseme } from '../animation/visemes.ts';
import { Problem } from '../errors.ts';
import { wavFile } from '../speech/wav.ts';
import { mediaCapExceeded } from './media-cap.ts';
import {
  type CheckedJob,
  checkOnDemandJob,
  type GenerateRequest,
  type OnDemandDeps,
  withMinutesReserved,
} from './on-demand.ts';

export interface AnimationRequest extends Omit<GenerateRequest, 'size'> {
  fps?: number | undefined;
}

/** The animation track of one utterance: what a client with its own face needs, on the audio clock. */
export interface AnimationExport {
  duration_s: number;
  fps: number;
  frames: number;
  audio: { format: 'wav'; encoding: 'base64'; sample_rate: number; channels: 1; data: string };
  /** Phoneme-timed visemes (Oculus set): `t` and `duration` in seconds from the start of the audio. */
  visemes: { t: number; duration: number; viseme: Viseme; weight: number }[];
  /** ARKit weights per frame: frame n is audio time n / fps. */
  blendshapes: { names: string[]; frames: number[][] };
  /** Head rotation per frame, degrees [yaw, pitch, roll]. */
  head: { names: string[]; frames: [number, number, number][] };
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

/**
 * POST /v1/sessions/{id}/animation. The same speech and the same animation track as the MP4, without
 * drawing a pixel: speech streams in, the track grows with it, and every frame's parameters become ARKit
 * weights. Usage is recorded as the MP4's is (media seconds of the audio), only once the result is whole.
 */
export async function exportAnimation(
  services: Omit<OnDemandDeps, 'batchRenders' | 'renders'>,
  tenantId: string,
  sessionId: string,
  req: AnimationRequest,
  signal?: AbortSignal,
): Promise<AnimationExport> {
  const job = await checkOnDemandJob(services, tenantId, sessionId, req);
  return withMinutesReserved(services, tenantId, req.text, () =>
    buildTrack(services, tenantId, job, req, signal),
  );
}

async function buildTrack(
  services: Omit<OnDemandDeps, 'batchRenders' | 'renders'>,
  tenantId: string,
  { session, character, voice, remaining }: CheckedJob,
  req: AnimationRequest,
  signal: AbortSignal | undefined,
): Promise<AnimationExport> {
  const identity = await services.registrar.load(character.identity.id);
  const fps = req.fps ?? 25;
  const mood = req.mood ?? character.persona.mood;
  const track = new AnimationTrack({
    visemes: [],
    idle: identity.idle,
    mood,
    seed: req.seed ?? seedFrom(`${identity.id}\u0000${req.text}`),
    fps,
  });
  const pcm: Int16Array[] = [];
  const visemes: AnimationExport['visemes'] = [];
  let samples = 0;
  let sampleRate = 0;
  // All of it is wanted at once: later sentences are synthesised beside the current one.
  for await (const chunk of services.speech.stream(req.text, voice, {
    mood,
    rate: req.rate,
    lookahead: 2,
    ...(signal ? { signal } : {}),
  })) {
    sampleRate = chunk.sampleRate;
    pcm.push(chunk.samples);
    samples = chunk.startSample + chunk.samples.length;
    if (samples / sampleRate > remaining) throw mediaCapExceeded(remaining);
    track.mouth.append(chunk.visemes);
    track.mouth.appendAudio(chunk.samples, chunk.sampleRate, chunk.startSample / chunk.sampleRate);
    for (const v of chunk.visemes) {
      visemes.push({
        t: round3(v.start),
        duration: round3(v.end - v.start),
        viseme: v.viseme,
        weight: round3(v.strength ?? 1),
      });
    }
  }
  if (signal?.aborted) throw new Problem('validation-error', 'The request was cancelled.');
  if (!sampleRate) throw new Problem('speech-failed', 'The speech engine produced no audio.');
  // Audio padded with silence to a whole number of frames, as the MP4's is: audio and frames end together.
  const frames = Math.ceil((samples * fps) / sampleRate);
  const audio = new Int16Array(Math.round((frames * sampleRate) / fps));
  let at = 0;
  for (const part of pcm) {
    audio.set(part.subarray(0, Math.max(0, audio.length - at)), at);
    at += part.length;
  }
  const weights: number[][] = [];
  const head: [number, number, number][] = [];
  for (let n = 0; n < frames; n++) {
    const params = track.frame(n);
    weights.push(arkitWeights(params));
    head.push(headPose(params));
  }
  const durationS = frames / fps;
  await services.usage.record({
    tenantId,
    sessionId: session.id,
    mediaSeconds: durationS,
    kind: 'animation',
  });
  return {
    duration_s: durationS,
    fps,
    frames,
    audio: {
      format: 'wav',
      encoding: 'base64',
      sample_rate: sampleRate,
      channels: 1,
      data: Buffer.from(wavFile(audio, sampleRate)).toString('base64'),
    },
    visemes,
    blendshapes: { names: [...ARKIT_BLENDSHAPES], frames: weights },
    head: { names: ['yaw', 'pitch', 'roll'], frames: head },
  };
}
