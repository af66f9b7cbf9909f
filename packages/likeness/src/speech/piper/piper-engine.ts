import fs from 'node:fs';
import path from 'node:path';
import { Problem } from '../../errors.ts';
import { EnginePool, type EnginePoolEvent } from '../engine-pool.ts';
import { timingsFromDurations } from '../kokoro/kokoro-timings.ts';
import { KokoroPhonemizer } from '../kokoro/phonemize.ts';
import { neuralChunk, neuralRequest, pieces, toInt16 } from '../neural-piece.ts';
import type { SpeechChunk, SpeechEngine, SynthesisRequest } from '../types.ts';
import { PIPER_VOICES } from '../voice-catalog.ts';

interface PiperRequest {
  ids: number[];
  lengthScale: number;
}

interface PiperReply {
  samples: Float32Array;
  frames: number[];
}

/** Piper's durations are in frames of this many samples (the decoder's hop). */
const SAMPLES_PER_FRAME = 256;
/**
 * Sound comes out about two frames (23 ms) before the durations say, as with Kokoro's decoder: with this shift
 * 36 of 42 vowels in three test sentences are loud where the timings put them, against 27 without it.
 */
const LEAD_OFFSET_FRAMES = 2;
/** Phonemes per model call: longer inputs are cut at a space into several calls. */
const MAX_SYMBOLS = 400;

/** The voice's configuration file (phoneme ids, rate, scales), as Piper writes it. */
interface PiperConfig {
  audio: { sample_rate: number };
  inference?: { noise_scale?: number; length_scale?: number; noise_w?: number };
  phoneme_id_map: Record<string, number[]>;
}

/** Where the setup puts the Piper voice (opt-in: `npm run setup -- --piper`), and what is missing there. */
export function piperFiles(modelDir: string): { model: string; config: string; missing: string[] } {
  const model = path.join(modelDir, 'piper', 'joe-timed.onnx');
  const config = path.join(modelDir, 'piper', 'en_US-joe-medium.onnx.json');
  return { model, config, missing: [model, config].filter((f) => !fs.existsSync(f)) };
}

/**
 * Piper's duration per input id (the sequence is BOS, pad, then each phoneme followed by a pad, then EOS) ->
 * one duration per phoneme (its own and its pad's), with the lead-in (BOS and pad) first and EOS last: the
 * shape timingsFromDurations reads.
 */
export function phonemeFrames(frames: number[], count: number): number[] {
  const out = [(frames[0] ?? 0) + (frames[1] ?? 0)];
  for (let i = 0; i < count; i++) out.push((frames[2 + 2 * i] ?? 0) + (frames[3 + 2 * i] ?? 0));
  out.push(frames[2 + 2 * count] ?? 0);
  return out;
}

/**
 * An opt-in fast neural voice: a Piper (VITS) voice in one supervised engine process shared by every session,
 * phonemes from espeak-ng (a separate program) in plain IPA as Piper was trained, exact phoneme timings from the
 * model's own durations. About 7x faster than real time on one core here, against Kokoro's ~1x under load, but
 * its weights carry non-commercial terms (models/MODELS.md), so it is never the default.
 */
export class PiperEngine implements SpeechEngine {
  readonly provider = 'piper' as const;
  readonly pool: EnginePool<PiperRequest, PiperReply>;
  readonly sampleRate: number;
  private readonly phonemizer: KokoroPhonemizer;
  private readonly ids: Map<string, number>;
  private readonly special: { bos: number; eos: number; pad: number };

  constructor(opts: {
    modelDir: string;
    threads?: number;
    timeoutMs?: number;
    espeak?: string;
    onEvent?: (e: EnginePoolEvent) => void;
  }) {
    const files = piperFiles(opts.modelDir);
    if (files.missing.length) throw new Error(`Piper voice files missing: ${files.missing.join(', ')}`);
    const config = JSON.parse(fs.readFileSync(files.config, 'utf8')) as PiperConfig;
    this.sampleRate = config.audio.sample_rate;
    this.ids = new Map(Object.entries(config.phoneme_id_map).map(([k, v]) => [k, v[0]!]));
    this.special = { bos: this.ids.get('^')!, eos: this.ids.get('$')!, pad: this.ids.get('_')! };
    this.phonemizer = new KokoroPhonemizer(opts.espeak);
    const inference = config.inference ?? {};
    this.pool = new EnginePool<PiperRequest, PiperReply>({
      name: 'Piper',
      script: new URL('./piper-process.mjs', import.meta.url),
      // One process: the model is shared by every session (about 250 MB); one thread is already 7x real time.
      // Two processes were tried for several sessions at once: fewer underruns, but viewers starved (2 cores).
      size: 1,
      timeoutMs: opts.timeoutMs ?? 30_000,
      maxQueue: 256,
      maxRequestsPerProcess: 100_000,
      maxHeapMb: 256,
      env: {
        LIKENESS_PIPER_MODEL: files.model,
        LIKENESS_PIPER_THREADS: String(opts.threads ?? 1),
        LIKENESS_PIPER_NOISE: `${inference.noise_scale ?? 0.667},${inference.noise_w ?? 0.8}`,
      },
      ...(opts.onEvent ? { onEvent: opts.onEvent } : {}),
    });
  }

  /** Loads the model now, so the first sentence does not wait for it. */
  warm(): void {
    this.pool.warm();
  }

  /** The text's phonemes that the voice knows, and the model's input for a run of them. */
  async tokenize(text: string): Promise<string[]> {
    let phonemes: string;
    try {
      phonemes = await this.phonemizer.phonemize(text, 'en-us', 'ipa');
    } catch (err) {
      throw new Problem(
        'speech-failed',
        `The Piper voice could not read the text: ${(err as Error).message}.`,
        {
          engine: 'piper',
          reason: 'phonemizer',
        },
      );
    }
    return [...phonemes].filter((s) => this.ids.has(s) && s !== '_' && s !== '^' && s !== '$');
  }

  private input(symbols: string[]): number[] {
    const { bos, eos, pad } = this.special;
    const out = [bos, pad];
    for (const s of symbols) out.push(this.ids.get(s)!, pad);
    out.push(eos);
    return out;
  }

  async *synthesize(request: SynthesisRequest): AsyncIterable<SpeechChunk> {
    if (!PIPER_VOICES.some((v) => v.id === request.voice.id))
      throw new Problem('unknown-voice', `Piper has no voice "${request.voice.id}".`);
    const symbols = await this.tokenize(request.text);
    if (symbols.length === 0) return;
    const lengthScale = 1 / Math.min(2, Math.max(0.5, request.rate ?? 1));
    const rate = this.sampleRate;
    let position = 0;
    for (const [from, to] of pieces(symbols, MAX_SYMBOLS)) {
      if (request.signal?.aborted) return;
      const piece = symbols.slice(from, to);
      const reply = await neuralRequest(
        this.pool,
        { ids: this.input(piece), lengthScale },
        {
          signal: request.signal,
          urgent: request.urgent === true && from === 0,
          engine: 'piper',
          label: 'Piper voice',
        },
      );
      const chunk = neuralChunk(request, {
        pcm: toInt16(reply.samples),
        rate,
        phonemes: timingsFromDurations(piece, phonemeFrames(reply.frames, piece.length), {
          secondsPerFrame: SAMPLES_PER_FRAME / rate,
          leadOffsetFrames: LEAD_OFFSET_FRAMES,
        }),
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
