import { Problem } from '../errors.ts';
import type { SpeechChunk, SpeechEngine, SynthesisRequest } from './types.ts';

export interface OpenAiSpeechConfig {
  /** e.g. https://api.openai.com/v1 or any compatible server's /v1 */
  baseUrl: string;
  apiKey?: string | undefined;
  model: string;
}

/** OpenAI's `pcm` response format: raw 24 kHz, 16-bit little-endian, mono. */
export const OPENAI_PCM_RATE = 24_000;
const CHUNK_SAMPLES = 2400; // 100 ms

/**
 * Any OpenAI-compatible `POST /audio/speech` endpoint, streamed: audio is yielded in 100 ms chunks as the
 * response body arrives. Such engines give no phoneme timings; visemes are derived from the audio.
 */
export class OpenAiSpeechEngine implements SpeechEngine {
  readonly provider = 'openai' as const;

  constructor(private readonly config: OpenAiSpeechConfig) {}

  async *synthesize(request: SynthesisRequest): AsyncIterable<SpeechChunk> {
    const url = `${this.config.baseUrl.replace(/\/$/, '')}/audio/speech`;
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(this.config.apiKey ? { authorization: `Bearer ${this.config.apiKey}` } : {}),
        },
        body: JSON.stringify({
          model: this.config.model,
          input: request.text,
          voice: request.voice.id,
          response_format: 'pcm',
        }),
        ...(request.signal ? { signal: request.signal } : {}),
      });
    } catch (err) {
      throw new Problem(
        'speech-failed',
        `The speech endpoint ${url} could not be reached: ${(err as Error).message}.`,
      );
    }
    if (!response.ok || !response.body) {
      const detail = (await response.text().catch(() => '')).slice(0, 300);
      throw new Problem(
        'speech-failed',
        `The speech endpoint answered ${response.status}: ${detail || response.statusText}.`,
      );
    }
    let pending = new Uint8Array(0);
    let position = 0;
    const emit = (bytes: Uint8Array): SpeechChunk => {
      const samples = new Int16Array(
        bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
      );
      const chunk = { samples, sampleRate: OPENAI_PCM_RATE, startSample: position, text: request.text };
      position += samples.length;
      return chunk;
    };
    for await (const part of response.body as unknown as AsyncIterable<Uint8Array>) {
      const joined = new Uint8Array(pending.length + part.length);
      joined.set(pending);
      joined.set(part, pending.length);
      pending = joined;
      while (pending.length >= CHUNK_SAMPLES * 2) {
        yield emit(pending.subarray(0, CHUNK_SAMPLES * 2));
        pending = pending.subarray(CHUNK_SAMPLES * 2);
      }
    }
    const even = pending.length - (pending.length % 2);
    if (even > 0) yield emit(pending.subarray(0, even));
  }
}
