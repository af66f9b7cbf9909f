/**
 * Stage 3 in reverse, speech to text: one utterance of the user's audio in (16 kHz mono PCM), its words out,
 * cancellable. Adapters: the embedded Whisper (embedded.ts: a supervised Python process) and any
 * OpenAI-compatible `/audio/transcriptions` endpoint (openai-compatible.ts).
 */
export const STT_SAMPLE_RATE = 16_000;

export interface Transcript {
  text: string;
  /** The recogniser's own judgement that there was no speech (noise, breath, silence). */
  noSpeech: boolean;
  /** Seconds of audio recognised. */
  audioS: number;
  /** ms the recogniser took, from request to answer (queueing included). */
  ms: number;
  /** Recognisers that can say: ms of that spent in the model itself, encoding the audio and decoding the words. */
  encodeMs?: number;
  decodeMs?: number;
}

export interface RecognizeOptions {
  /** ISO 639-1, "en" when absent. */
  language?: string;
  signal?: AbortSignal;
}

export interface SpeechToText {
  /** "embedded:whisper-base", "openai:whisper-1": for logs and the turn's record. */
  readonly name: string;
  /** Throws RecognitionFailure; an aborted request rejects with it too (kind `aborted`). */
  recognize(pcm: Int16Array, opts?: RecognizeOptions): Promise<Transcript>;
  close?(): Promise<void>;
}

/** Why a recogniser could not answer. */
export class RecognitionFailure extends Error {
  constructor(
    readonly kind: 'unavailable' | 'timeout' | 'failed' | 'busy' | 'aborted',
    message: string,
  ) {
    super(message);
    this.name = 'RecognitionFailure';
  }
}
