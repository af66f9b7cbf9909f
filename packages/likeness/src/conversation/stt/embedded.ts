import fs from 'node:fs';
import path from 'node:path';
import { EngineFailure, EnginePool, type EnginePoolEvent } from '../../speech/engine-pool.ts';
import { RecognitionFailure, type RecognizeOptions, type SpeechToText, type Transcript } from './index.ts';

export interface EmbeddedRecognizerOptions {
  /** Directory of the CTranslate2 Whisper model (model.bin, config.json, tokenizer.json). */
  modelDir: string;
  /** The Python interpreter of the runtime installed by `npm run setup` (models/stt-env). */
  python: string;
  processes?: number;
  threads?: number;
  onEvent?: (e: EnginePoolEvent) => void;
}

interface Reply {
  text: string;
  no_speech_prob: number;
  avg_logprob: number;
  audio_s: number;
  encode_ms: number;
  decode_ms: number;
}

/** Whisper says this when it is sure nobody spoke, or makes words up over noise. */
const NO_SPEECH_PROB = 0.6;
const LOW_LOGPROB = -1.0;

/** Why the embedded recogniser cannot run here, or undefined when it can. */
export function embeddedRecognizerMissing(opts: { modelDir: string; python: string }): string | undefined {
  if (!fs.existsSync(path.join(opts.modelDir, 'model.bin'))) return `no Whisper model in ${opts.modelDir}`;
  if (!fs.existsSync(opts.python)) return `no speech recogniser runtime at ${opts.python}`;
  return undefined;
}

/**
 * The embedded default: Whisper base (CTranslate2, int8) in supervised Python processes (engine-pool.ts), one
 * utterance at a time each: a crash or a hang fails that utterance and the process is replaced.
 */
export class EmbeddedRecognizer implements SpeechToText {
  readonly name = 'embedded:whisper-base';
  readonly pool: EnginePool<{ pcm: string; language: string }, Reply>;

  constructor(opts: EmbeddedRecognizerOptions) {
    this.pool = new EnginePool({
      name: 'speech recogniser',
      script: new URL('./whisper_worker.py', import.meta.url),
      runtime: { execPath: opts.python, execArgv: ['-u'] },
      size: opts.processes ?? 1,
      timeoutMs: 20_000,
      maxQueue: 64,
      niceness: 0, // on the path from the end of the user's speech to the answer
      cancellable: true, // a partial overtaken by the final, a pause the user spoke on: give it up
      env: {
        LIKENESS_STT_MODEL_DIR: opts.modelDir,
        LIKENESS_STT_THREADS: String(opts.threads ?? 2),
        OMP_NUM_THREADS: String(opts.threads ?? 2),
      },
      ...(opts.onEvent ? { onEvent: opts.onEvent } : {}),
    });
  }

  /** Loads the model now (~1.5 s), so the first utterance does not wait for it. */
  warm(): void {
    this.pool.warm();
  }

  async recognize(pcm: Int16Array, opts: RecognizeOptions = {}): Promise<Transcript> {
    const started = performance.now();
    let reply: Reply;
    try {
      reply = await this.pool.request(
        {
          pcm: Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength).toString('base64'),
          language: opts.language ?? 'en',
        },
        opts.signal,
      );
    } catch (err) {
      const failure = err as EngineFailure;
      const kind =
        failure.kind === 'aborted'
          ? 'aborted'
          : failure.kind === 'busy'
            ? 'busy'
            : failure.kind === 'timeout'
              ? 'timeout'
              : failure.kind === 'closed'
                ? 'unavailable'
                : 'failed';
      throw new RecognitionFailure(kind, `speech recognition failed: ${failure.message}`);
    }
    const noSpeech =
      !reply.text ||
      (reply.no_speech_prob > NO_SPEECH_PROB && reply.avg_logprob < LOW_LOGPROB) ||
      !/[\p{L}\p{N}]/u.test(reply.text);
    return {
      text: noSpeech ? '' : reply.text,
      noSpeech,
      audioS: reply.audio_s,
      ms: performance.now() - started,
      encodeMs: reply.encode_ms,
      decodeMs: reply.decode_ms,
    };
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

export { EngineFailure };
