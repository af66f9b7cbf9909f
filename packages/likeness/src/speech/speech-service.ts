import { phonemesToVisemes, type TimedViseme } from '../animation/visemes.ts';
import { Problem } from '../errors.ts';
import type { Mood } from '../persona/persona.ts';
import { visemesFromAudio } from './audio-visemes.ts';
import type { FliteEngine } from './flite-engine.ts';
import type { KokoroEngine } from './kokoro/kokoro-engine.ts';
import type { OpenAiSpeechEngine } from './openai-speech.ts';
import type { PiperEngine } from './piper/piper-engine.ts';
import { prefetch } from './prefetch.ts';
import { KEEP_TAIL_MID_SENTENCE_MS, KEEP_TAIL_MS, KEEP_TAIL_SENTENCE_MS } from './silence.ts';
import { splitForSpeech, validateSpeechText } from './text.ts';
import type { SpeechChunk, SpeechEngine, TimedPhoneme } from './types.ts';
import {
  FLITE_VOICES,
  KOKORO_VOICES,
  PIPER_VOICES,
  parseVoice,
  type VoiceInfo,
  type VoiceRef,
} from './voice-catalog.ts';
import { wavFile } from './wav.ts';

/**
 * How a mood changes delivery where the engine allows it (the neural voice's speed): brighter moods a little
 * quicker, thoughtful ones a little slower. Multiplied by the caller's rate; the face shows the mood in any case.
 */
const MOOD_RATE: Partial<Record<Mood, number>> = {
  happy: 1.06,
  surprised: 1.08,
  thinking: 0.94,
  concerned: 0.95,
};

export function deliveryRate(mood: Mood | undefined, rate: number | undefined): number {
  return Math.min(2, Math.max(0.5, (rate ?? 1) * ((mood && MOOD_RATE[mood]) ?? 1)));
}

/**
 * The pause after a piece that another follows, from how it ends: a full stop's pause after a sentence, a breath
 * after a comma, next to none where the sentence goes on ("I built it | in my workshop").
 */
export function pauseAfter(piece: string): number {
  if (/[.!?]["')\]]*$/.test(piece)) return KEEP_TAIL_SENTENCE_MS;
  if (/[\p{L}\p{N}]$/u.test(piece)) return KEEP_TAIL_MID_SENTENCE_MS;
  return KEEP_TAIL_MS;
}

/** What a voice preview says. */
const PREVIEW_TEXT = 'Hello! This is how I sound. Nice to meet you.';

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
  constructor(
    private readonly engines: {
      flite: FliteEngine;
      kokoro?: KokoroEngine | undefined;
      piper?: PiperEngine | undefined;
      openai?: OpenAiSpeechEngine | undefined;
    },
  ) {}

  /** The embedded engine's process pool: its stats and process ids, for diagnostics. */
  get flitePool() {
    return this.engines.flite.pool;
  }

  /** The neural voice's engine process, when the neural voice is installed. */
  get kokoroPool() {
    return this.engines.kokoro?.pool;
  }

  /** Whether the neural voice is installed and running on this server. */
  get neural(): boolean {
    return this.engines.kokoro !== undefined;
  }

  /** The opt-in Piper voice's engine process, when it is installed. */
  get piperPool() {
    return this.engines.piper?.pool;
  }

  /** Starts the embedded engines' processes (and loads the neural models). */
  warm(): void {
    this.engines.flite.warm();
    this.engines.kokoro?.warm();
    this.engines.piper?.warm();
  }

  /** Every voice a character can use here, with whether this server can speak it with its own engine. */
  voices(): (VoiceInfo & { available: boolean })[] {
    return [
      ...KOKORO_VOICES.map(({ fallback: _, ...v }) => ({ ...v, available: this.neural })),
      ...PIPER_VOICES.map(({ fallback: _, ...v }) => ({ ...v, available: this.engines.piper !== undefined })),
      ...FLITE_VOICES.map((v) => ({ ...v, available: true })),
    ];
  }

  private readonly previews = new Map<string, Promise<Uint8Array<ArrayBuffer>>>();

  /**
   * A short spoken preview of a voice (WAV), made once per voice and kept: "kokoro:bm_george", "bm_george",
   * "flite:slt". 404 for a voice that does not exist.
   */
  preview(value: string): Promise<Uint8Array<ArrayBuffer>> {
    const parsed = parseVoice(value);
    if ('error' in parsed) throw new Problem('not-found', parsed.error, { voice: value });
    if (parsed.provider === 'openai') {
      throw new Problem('not-found', 'Previews are for the embedded voices (GET /v1/voices).', {
        voice: value,
      });
    }
    const key = `${parsed.provider}:${parsed.id}`;
    let made = this.previews.get(key);
    if (!made) {
      made = this.speakWhole(PREVIEW_TEXT, parsed);
      this.previews.set(key, made);
      made.catch(() => this.previews.delete(key));
    }
    return made;
  }

  private async speakWhole(text: string, voice: VoiceRef): Promise<Uint8Array<ArrayBuffer>> {
    const { pcm, rate } = await this.speakPcm(text, voice);
    return wavFile(pcm, rate);
  }

  /** A whole utterance at once: its audio joined in order, at the engine's rate (previews, checks). */
  async speakPcm(text: string, voice: VoiceRef): Promise<{ pcm: Int16Array; rate: number }> {
    const parts: Int16Array[] = [];
    let rate = 16000;
    for await (const chunk of this.stream(text, voice)) {
      parts.push(chunk.samples);
      rate = chunk.sampleRate;
    }
    const pcm = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      pcm.set(p, at);
      at += p.length;
    }
    return { pcm, rate };
  }

  /**
   * The embedded voice catalogues, one row per provider: its voices, the engine that speaks them here (absent
   * when its files are not installed), what to call it in a refusal, and the Flite voice that stands in for one
   * without a stand-in of its own.
   */
  private catalogue(provider: VoiceRef['provider']):
    | {
        voices: readonly { id: string; fallback?: string }[];
        engine: SpeechEngine | undefined;
        noun: string;
        standIn: string;
      }
    | undefined {
    switch (provider) {
      case 'kokoro':
        return { voices: KOKORO_VOICES, engine: this.engines.kokoro, noun: 'neural voice', standIn: 'slt' };
      case 'piper':
        return { voices: PIPER_VOICES, engine: this.engines.piper, noun: 'Piper voice', standIn: 'rms' };
      case 'flite':
        return { voices: FLITE_VOICES, engine: this.engines.flite, noun: 'embedded voice', standIn: 'rms' };
      default:
        return undefined;
    }
  }

  /**
   * The voice that actually speaks: a neural voice on a server without the neural files is spoken by its Flite
   * stand-in (same gender and accent where Flite has one), so characters keep working either way.
   */
  effectiveVoice(voice: VoiceRef): VoiceRef {
    const c = this.catalogue(voice.provider);
    if (!c || c.engine) return voice;
    return { provider: 'flite', id: c.voices.find((v) => v.id === voice.id)?.fallback ?? c.standIn };
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

  /**
   * The engine that speaks a voice here. A voice must be in its catalogue whether or not its engine is installed
   * (a server without the neural files still refuses "kokoro:nobody"); one whose engine is missing is spoken by
   * its stand-in.
   */
  engineFor(voice: VoiceRef): SpeechEngine {
    const c = this.catalogue(voice.provider);
    if (c) {
      if (!c.voices.some((v) => v.id === voice.id)) {
        throw new Problem(
          'unknown-voice',
          `No ${c.noun} "${voice.id}". Voices: ${c.voices.map((v) => v.id).join(', ')} (GET /v1/voices).`,
        );
      }
      return c.engine ?? this.engineFor(this.effectiveVoice(voice));
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
    const clean = validateSpeechText(text, { ...opts, latinOnly: voice.provider !== 'openai' });
    return { text: clean, sentences: splitForSpeech(clean), engine };
  }

  async *stream(
    text: string,
    voice: VoiceRef,
    opts: {
      signal?: AbortSignal;
      maxChars?: number;
      rate?: number | undefined;
      mood?: Mood | undefined;
      /**
       * Sentences synthesised ahead of the one being read, at once (engine processes permitting). For batch
       * consumers (the animation track), whose total time is the point; live speech keeps 0 so that nothing
       * competes with the first clause for the CPU.
       */
      lookahead?: number;
      /**
       * More text follows in the same utterance (a reply spoken piece by piece): the last sentence ends with the
       * pause its ending calls for, as a sentence inside one text does, not the closing breath.
       */
      continues?: boolean;
    } = {},
  ): AsyncGenerator<UtteranceChunk> {
    const { sentences, engine } = this.prepare(text, voice, opts);
    const speaking = this.effectiveVoice(voice);
    const speed = deliveryRate(opts.mood, opts.rate);
    const synthesize = (index: number) =>
      engine.synthesize({
        text: sentences[index]!,
        voice: speaking,
        ...(speed !== 1 ? { rate: speed } : {}),
        ...(index === 0 ? { urgent: true } : {}),
        ...(index < sentences.length - 1 || opts.continues ? { tailMs: pauseAfter(sentences[index]!) } : {}),
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
    const ahead = new Map<number, ReturnType<typeof prefetch<SpeechChunk>>>();
    const lookahead = opts.lookahead ?? 0;
    let position = 0; // samples already placed by earlier sentences
    let rate = 0;
    try {
      for (const index of sentences.keys()) {
        if (opts.signal?.aborted) return;
        for (let k = index + 1; k <= index + lookahead && k < sentences.length; k++)
          if (!ahead.has(k)) ahead.set(k, prefetch(synthesize(k)));
        const source = ahead.get(index) ?? synthesize(index);
        ahead.delete(index);
        let sentenceEnd = position;
        for await (const chunk of source) {
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
    } finally {
      for (const pending of ahead.values()) pending.cancel();
    }
  }
}
