import fs from 'node:fs';
import path from 'node:path';
import { Problem } from '../../errors.ts';
import { EnginePool, type EnginePoolEvent } from '../engine-pool.ts';
import { neuralChunk, neuralRequest, pieces, toInt16 } from '../neural-piece.ts';
import type { SpeechChunk, SpeechEngine, SynthesisRequest } from '../types.ts';
import { KOKORO_VOICES } from '../voice-catalog.ts';
import { KOKORO_RATE, timingsFromDurations } from './kokoro-timings.ts';
import { type Accent, KokoroPhonemizer } from './phonemize.ts';

interface KokoroRequest {
  tokens: number[];
  voice: string;
  speed: number;
}

interface KokoroReply {
  samples: Float32Array;
  frames: number[];
}

/** The model's context: longer inputs are cut at a space into several calls. */
const MAX_TOKENS = 500;

/** Where the setup puts the neural voice (models/models.json), and what is missing there. */
export function kokoroFiles(modelDir: string): {
  model: string;
  voices: string;
  vocab: string;
  missing: string[];
} {
  const model = path.join(modelDir, 'kokoro', 'kokoro-float.onnx');
  const voices = path.join(modelDir, 'kokoro', 'voices');
  const vocab = path.join(modelDir, 'kokoro', 'vocab.json');
  const missing = [model, vocab, ...KOKORO_VOICES.map((v) => path.join(voices, `${v.id}.bin`))].filter(
    (f) => !fs.existsSync(f),
  );
  return { model, voices, vocab, missing };
}

/**
 * The embedded neural voice: Kokoro-82M (ONNX) in one supervised engine process shared by every session (one
 * model in memory), phonemes from espeak-ng (a separate program), exact phoneme timings from the model's own
 * durations. 24 kHz. A crash or hang fails that clause and restarts the process.
 */
export class KokoroEngine implements SpeechEngine {
  readonly provider = 'kokoro' as const;
  readonly pool: EnginePool<KokoroRequest, KokoroReply>;
  private readonly phonemizer: KokoroPhonemizer;
  private readonly vocab: Map<string, number>;

  constructor(opts: {
    modelDir: string;
    threads?: number;
    timeoutMs?: number;
    espeak?: string;
    onEvent?: (e: EnginePoolEvent) => void;
  }) {
    const files = kokoroFiles(opts.modelDir);
    if (files.missing.length) throw new Error(`neural voice files missing: ${files.missing.join(', ')}`);
    const vocab = JSON.parse(fs.readFileSync(files.vocab, 'utf8')) as { vocab: Record<string, number> };
    this.vocab = new Map(Object.entries(vocab.vocab));
    this.phonemizer = new KokoroPhonemizer(opts.espeak);
    this.pool = new EnginePool<KokoroRequest, KokoroReply>({
      name: 'Kokoro',
      script: new URL('./kokoro-process.mjs', import.meta.url),
      // One process: the model is shared by every session (about 600 MB); its threads do the parallel work.
      size: 1,
      timeoutMs: opts.timeoutMs ?? 30_000,
      maxQueue: 256,
      maxRequestsPerProcess: 100_000,
      // The model lives outside the JS heap; the heap only holds requests and replies.
      maxHeapMb: 256,
      env: {
        LIKENESS_KOKORO_MODEL: files.model,
        LIKENESS_KOKORO_VOICES: files.voices,
        LIKENESS_KOKORO_THREADS: String(opts.threads ?? 2),
        LIKENESS_KOKORO_WARM_VOICE: KOKORO_VOICES[0]!.id,
      },
      ...(opts.onEvent ? { onEvent: opts.onEvent } : {}),
    });
  }

  /** Loads the model now, so the first sentence does not wait for it. */
  warm(): void {
    this.pool.warm();
  }

  /** Phonemes for the text in Kokoro's symbols, and the token ids the model reads. */
  async tokenize(text: string, accent: Accent): Promise<{ symbols: string[]; tokens: number[] }> {
    let phonemes: string;
    try {
      phonemes = await this.phonemizer.phonemize(text, accent);
    } catch (err) {
      throw new Problem(
        'speech-failed',
        `The neural voice could not read the text: ${(err as Error).message}.`,
        {
          engine: 'kokoro',
          reason: 'phonemizer',
        },
      );
    }
    const symbols = [...phonemes].filter((s) => this.vocab.has(s));
    return { symbols, tokens: symbols.map((s) => this.vocab.get(s)!) };
  }

  async *synthesize(request: SynthesisRequest): AsyncIterable<SpeechChunk> {
    const info = KOKORO_VOICES.find((v) => v.id === request.voice.id);
    if (!info) throw new Problem('unknown-voice', `Kokoro has no voice "${request.voice.id}".`);
    const accent: Accent = info.language === 'en-GB' ? 'en-gb' : 'en-us';
    const { symbols, tokens } = await this.tokenize(request.text, accent);
    if (tokens.length === 0) return;
    const speed = Math.min(2, Math.max(0.5, request.rate ?? 1));
    let position = 0;
    for (const [from, to] of pieces(symbols, MAX_TOKENS)) {
      if (request.signal?.aborted) return;
      const reply = await neuralRequest(
        this.pool,
        { tokens: tokens.slice(from, to), voice: info.id, speed },
        {
          signal: request.signal,
          urgent: request.urgent === true && from === 0,
          engine: 'kokoro',
          label: 'neural voice',
        },
      );
      const chunk = neuralChunk(request, {
        pcm: toInt16(reply.samples),
        rate: KOKORO_RATE,
        phonemes: timingsFromDurations(symbols.slice(from, to), reply.frames),
        position,
        last: to === symbols.length,
      });
      yield chunk;
      position += chunk.samples.length;
    }
  }

  async close(): Promise<void> {
    this.phonemizer.close();
    await this.pool.close();
  }
}
