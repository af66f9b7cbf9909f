import { phonemesToVisemes, type TimedViseme } from '../animation/visemes.ts';
import { Problem } from '../errors.ts';
import { visemesFromAudio } from './audio-visemes.ts';
import type { FliteEngine } from './flite-engine.ts';
import type { OpenAiSpeechEngine } from './openai-speech.ts';
import { splitSentences, validateSpeechText } from './text.ts';
import type { SpeechEngine, TimedPhoneme } from './types.ts';
import { FLITE_VOICES, parseVoice, type VoiceRef } from './voice-catalog.ts';

/** Typical levels of synthetic speech (dBFS), for judging loudness of short streamed chunks. */
const STREAM_LEVELS = { peakDb: -12, floorDb: -70 };

/** Audio of one utterance so far, placed by sample position, with its visemes on the same clock. */
export interface UtteranceChunk {
  samples: Int16Array;
  sampleRate: number;
  /** Position of the first sample in the utterance. */
  startSample: number;
  /** Visemes covering this chunk, times in seconds from the start of the utterance. */
  visemes: TimedViseme[];
  phonemes?: TimedPhoneme[];
  text: string;
  visemeSource: 'phonemes' | 'audio';
}

/**
 * Text in, a stream of timed audio and visemes out. Text is split into sentences so the first audio is ready
 * after the first sentence. Every chunk is placed by sample count: one clock for audio and animation.
 * All chunks of an utterance share one sample rate (the engine's).
 */
export class SpeechService {
  constructor(private readonly engines: { flite: FliteEngine; openai?: OpenAiSpeechEngine | undefined }) {}

  /** The embedded engine's process pool: its stats and process ids, for diagnostics. */
  get flitePool() {
    return this.engines.flite.pool;
  }

  /** Starts the embedded engine's processes. */
  warm(): void {
    this.engines.flite.warm();
  }

  /**
   * The one voice check (create, update, speak, generate): the voice must parse and an engine for it must be
   * configured on this server. Answers 422 unknown-voice otherwise.
   */
  resolveVoice(value: string | VoiceRef): VoiceRef {
    let voice: VoiceRef;
    if (typeof value === 'string') {
      const parsed = parseVoice(value);
      if ('error' in parsed) throw new Problem('unknown-voice', parsed.error, { voice: value });
      voice = parsed;
    } else voice = value;
    this.engineFor(voice);
    return voice;
  }

  engineFor(voice: VoiceRef): SpeechEngine {
    if (voice.provider === 'flite') {
      if (!FLITE_VOICES.some((v) => v.id === voice.id)) {
        throw new Problem(
          'unknown-voice',
          `No embedded voice "${voice.id}". Voices: ${FLITE_VOICES.map((v) => v.id).join(', ')} (GET /v1/voices).`,
        );
      }
      return this.engines.flite;
    }
    if (!this.engines.openai) {
      throw new Problem(
        'unknown-voice',
        `Voice "openai:${voice.id}" needs an OpenAI-compatible speech API, and none is configured on this server (LIKENESS_OPENAI_SPEECH_URL). Voices: GET /v1/voices.`,
      );
    }
    return this.engines.openai;
  }

  /** Validates first (so bad text fails before any work), then streams. */
  prepare(
    text: string,
    voice: VoiceRef,
    opts: { maxChars?: number } = {},
  ): { text: string; sentences: string[]; engine: SpeechEngine } {
    const engine = this.engineFor(voice);
    const clean = validateSpeechText(text, { ...opts, latinOnly: voice.provider === 'flite' });
    return { text: clean, sentences: splitSentences(clean), engine };
  }

  async *stream(
    text: string,
    voice: VoiceRef,
    opts: { signal?: AbortSignal; maxChars?: number } = {},
  ): AsyncGenerator<UtteranceChunk> {
    const { sentences, engine } = this.prepare(text, voice, opts);
    let position = 0; // samples already placed by earlier sentences
    let rate = 0;
    for (const sentence of sentences) {
      if (opts.signal?.aborted) return;
      let sentenceEnd = position;
      for await (const chunk of engine.synthesize({
        text: sentence,
        voice,
        ...(opts.signal ? { signal: opts.signal } : {}),
      })) {
        if (rate && chunk.sampleRate !== rate)
          throw new Problem('speech-failed', 'The speech engine changed sample rate mid-utterance.');
        rate = chunk.sampleRate;
        const startSample = position + chunk.startSample;
        const offsetS = startSample / rate;
        const shift = <T extends { start: number; end: number }>(x: T): T => ({
          ...x,
          start: x.start + offsetS,
          end: x.end + offsetS,
        });
        yield {
          samples: chunk.samples,
          sampleRate: rate,
          startSample,
          visemes: chunk.phonemes
            ? phonemesToVisemes(chunk.phonemes).map(shift)
            : visemesFromAudio(chunk.samples, rate, offsetS, STREAM_LEVELS),
          ...(chunk.phonemes ? { phonemes: chunk.phonemes.map(shift) } : {}),
          text: chunk.text,
          visemeSource: chunk.phonemes ? 'phonemes' : 'audio',
        };
        sentenceEnd = Math.max(sentenceEnd, startSample + chunk.samples.length);
      }
      position = sentenceEnd;
    }
  }
}
