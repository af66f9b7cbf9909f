import type { VoiceRef } from './voice-catalog.ts';

/** A phoneme with its time span in seconds from the start of its utterance. ARPAbet, lower case ("pau" = pause). */
export interface TimedPhoneme {
  phoneme: string;
  start: number;
  end: number;
}

/**
 * A piece of synthesised speech. Chunks of one utterance are contiguous: `startSample` is the position of the
 * chunk's first sample in the utterance, so consumers place audio (and the animation track) by sample count,
 * never by wall-clock time.
 */
export interface SpeechChunk {
  samples: Int16Array;
  sampleRate: number;
  startSample: number;
  /** Phonemes that fall in this chunk, times from the start of the utterance; absent when the engine gives none. */
  phonemes?: TimedPhoneme[];
  /** The sentence this chunk speaks, for captions and transcripts. */
  text: string;
}

export interface SynthesisRequest {
  text: string;
  voice: VoiceRef;
  /** Speaking rate, 1 = the voice's own; engines that cannot change it ignore it. */
  rate?: number;
  /** The first piece of an utterance: nothing is playing yet, so a shared engine does it first. */
  urgent?: boolean;
  /**
   * Silence kept after the last sound, ms (default: a breath, silence.ts KEEP_TAIL_MS). A piece cut where the
   * sentence goes on keeps less, so the sentence flows on instead of pausing as at a full stop.
   */
  tailMs?: number;
  signal?: AbortSignal;
}

/** A speech engine: text and a voice in, a stream of PCM chunks out. */
export interface SpeechEngine {
  readonly provider: VoiceRef['provider'];
  synthesize(request: SynthesisRequest): AsyncIterable<SpeechChunk>;
}
