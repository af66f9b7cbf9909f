import { Problem } from '../errors.ts';
import type { EngineFailure, EnginePool } from './engine-pool.ts';
import { trimSilence } from './silence.ts';
import type { SpeechChunk, SynthesisRequest, TimedPhoneme } from './types.ts';

/**
 * One model call's audio as the chunk at `position` (samples into the utterance): trimmed to a natural breath
 * (the models breathe in before a clause and ring out after it), its phonemes moved with the trim and placed on
 * the utterance's clock. Shared by the neural engines (Kokoro, Piper).
 */
export function neuralChunk(
  request: SynthesisRequest,
  piece: { pcm: Int16Array; rate: number; phonemes: TimedPhoneme[]; position: number; last: boolean },
): SpeechChunk {
  const { rate, position } = piece;
  const { samples, trimmedLeadS } = trimSilence(piece.pcm, rate, {
    ...(piece.last && request.tailMs !== undefined ? { keepTailMs: request.tailMs } : {}),
  });
  const keptS = samples.length / rate;
  const offsetS = position / rate;
  return {
    samples,
    sampleRate: rate,
    startSample: position,
    phonemes: piece.phonemes
      .map((p) => ({
        ...p,
        start: Math.max(0, p.start - trimmedLeadS) + offsetS,
        end: Math.min(keptS, p.end - trimmedLeadS) + offsetS,
      }))
      .filter((p) => p.end > p.start),
    text: request.text,
  };
}

/** A neural engine process's failure as the problem the API answers: 503 busy, or that utterance failed. */
function neuralFailure(err: unknown, engine: 'kokoro' | 'piper', label: string): Problem {
  const failure = err as EngineFailure;
  if (failure.kind === 'busy') {
    return new Problem('server-busy', `${label} synthesis is saturated: ${failure.message}.`, {
      retry_after_s: 2,
    });
  }
  return new Problem('speech-failed', `The ${label} could not synthesise the text: ${failure.message}.`, {
    engine,
    reason: failure.kind ?? 'failed',
  });
}

/** One model call on a neural engine's process; its failure as the problem the API answers. */
export async function neuralRequest<Q extends object, R>(
  pool: EnginePool<Q, R>,
  request: Q,
  opts: { signal: AbortSignal | undefined; urgent: boolean; engine: 'kokoro' | 'piper'; label: string },
): Promise<R> {
  try {
    return await pool.request(request, opts.signal, { urgent: opts.urgent });
  } catch (err) {
    throw neuralFailure(err, opts.engine, opts.label);
  }
}

/** [from, to) ranges of at most `max` symbols, cut after a space or punctuation where one is near. */
export function pieces(symbols: string[], max: number): [number, number][] {
  const out: [number, number][] = [];
  let from = 0;
  while (symbols.length - from > max) {
    let cut = from + max;
    for (let i = from + max - 1; i > from + max / 2; i--) {
      if (/[\s,.;:!?]/.test(symbols[i]!)) {
        cut = i + 1;
        break;
      }
    }
    out.push([from, cut]);
    from = cut;
  }
  out.push([from, symbols.length]);
  return out;
}

/** Float samples in [-1, 1] as 16-bit PCM, clipped. */
export function toInt16(samples: Float32Array): Int16Array {
  const out = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i++) {
    const v = samples[i]! * 32767;
    out[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : Math.round(v);
  }
  return out;
}
