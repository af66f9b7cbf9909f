import { wavFile } from '../../speech/wav.ts';
import {
  RecognitionFailure,
  type RecognizeOptions,
  type SpeechToText,
  STT_SAMPLE_RATE,
  type Transcript,
} from './index.ts';

export interface OpenAiTranscriptionConfig {
  /** e.g. https://api.openai.com/v1, or any compatible server's /v1 (whisper.cpp server, vLLM, speaches...). */
  baseUrl: string;
  apiKey?: string | undefined;
  model: string;
  timeoutMs?: number;
}

/**
 * Any OpenAI-compatible `POST /audio/transcriptions` endpoint: the utterance goes as a WAV file in a multipart
 * form (`file`, `model`, `language`, `response_format=json`) and `{text}` comes back.
 */
export class OpenAiCompatibleRecognizer implements SpeechToText {
  readonly name: string;

  constructor(private readonly config: OpenAiTranscriptionConfig) {
    this.name = `openai:${config.model}`;
  }

  async recognize(pcm: Int16Array, opts: RecognizeOptions = {}): Promise<Transcript> {
    const started = performance.now();
    const url = `${this.config.baseUrl.replace(/\/$/, '')}/audio/transcriptions`;
    const form = new FormData();
    form.set('file', new Blob([wavFile(pcm, STT_SAMPLE_RATE)], { type: 'audio/wav' }), 'utterance.wav');
    form.set('model', this.config.model);
    form.set('language', opts.language ?? 'en');
    form.set('response_format', 'json');
    const timeout = AbortSignal.timeout(this.config.timeoutMs ?? 15_000);
    const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: this.config.apiKey ? { authorization: `Bearer ${this.config.apiKey}` } : {},
        body: form,
        signal,
      });
    } catch (err) {
      if (opts.signal?.aborted) throw new RecognitionFailure('aborted', 'aborted');
      if (timeout.aborted) throw new RecognitionFailure('timeout', `${url} did not answer in time`);
      throw new RecognitionFailure('unavailable', `${url} could not be reached: ${(err as Error).message}`);
    }
    const body = await response.text().catch(() => '');
    if (!response.ok) {
      const kind = response.status >= 500 || response.status === 429 ? 'unavailable' : 'failed';
      throw new RecognitionFailure(kind, `${url} answered ${response.status}: ${body.slice(0, 300)}`);
    }
    let text: unknown;
    try {
      text = (JSON.parse(body) as { text?: unknown }).text;
    } catch {
      throw new RecognitionFailure(
        'failed',
        `${url} answered something that is not JSON: ${body.slice(0, 100)}`,
      );
    }
    if (typeof text !== 'string') throw new RecognitionFailure('failed', `${url} answered without a text`);
    const clean = text.trim();
    return {
      text: clean,
      noSpeech: !/[\p{L}\p{N}]/u.test(clean),
      audioS: pcm.length / STT_SAMPLE_RATE,
      ms: performance.now() - started,
    };
  }
}
