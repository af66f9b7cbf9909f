import { Problem } from '../errors.ts';
import { type EngineFailure, EnginePool, type EnginePoolEvent } from './engine-pool.ts';
import { trimSilence } from './silence.ts';
import type { SpeechChunk, SpeechEngine, SynthesisRequest, TimedPhoneme } from './types.ts';
import { FLITE_VOICES } from './voice-catalog.ts';

interface FliteRequest {
  text: string;
  voice: string;
}

interface FliteReply {
  samples: Int16Array;
  sampleRate: number;
  timings: string;
}

/**
 * Parses Flite's `-psdur` output: phone end times in seconds, e.g. "pau:0.164 hh:0.255 ax:0.304".
 * Each phone starts where the previous one ended. Times past the audio's end are clamped to it.
 */
export function parsePhoneTimings(text: string, durationS: number): TimedPhoneme[] {
  const phonemes: TimedPhoneme[] = [];
  let start = 0;
  for (const token of text.split(/\s+/)) {
    const m = /^([a-z]+):(\d+(?:\.\d+)?)$/.exec(token);
    if (!m) continue;
    const end = Math.min(Number(m[2]), durationS);
    if (end <= start) continue;
    phonemes.push({ phoneme: m[1]!, start, end });
    start = end;
  }
  return phonemes;
}

/**
 * The embedded default: Flite (WASI) in a pool of supervised engine processes (engine-pool.ts). 16 kHz, whole
 * sentence per call, phone timings. A crash or hang inside Flite fails that sentence and restarts its process.
 */
export class FliteEngine implements SpeechEngine {
  readonly provider = 'flite' as const;
  readonly pool: EnginePool<FliteRequest, FliteReply>;

  constructor(
    opts: {
      processes?: number;
      /** Processes beside those kept for utterances' first pieces, at the server's priority (default 1). */
      urgentLanes?: number;
      timeoutMs?: number;
      onEvent?: (e: EnginePoolEvent) => void;
    } = {},
  ) {
    this.pool = new EnginePool<FliteRequest, FliteReply>({
      name: 'Flite',
      script: new URL('./flite/flite-process.mjs', import.meta.url),
      urgentLanes: opts.urgentLanes ?? 1,
      ...(opts.processes ? { size: opts.processes } : {}),
      ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
      ...(opts.onEvent ? { onEvent: opts.onEvent } : {}),
    });
  }

  /** Starts the engine processes now, so the first sentence does not wait for them. */
  warm(): void {
    this.pool.warm();
  }

  /** Synthesises one sentence. */
  async speak(
    text: string,
    voiceId: string,
    opts: {
      signal?: AbortSignal | undefined;
      urgent?: boolean | undefined;
      tailMs?: number | undefined;
    } = {},
  ): Promise<{ samples: Int16Array; sampleRate: number; phonemes: TimedPhoneme[] }> {
    const { signal, urgent = false, tailMs } = opts;
    if (!FLITE_VOICES.some((v) => v.id === voiceId)) {
      throw new Problem('unknown-voice', `Flite has no voice "${voiceId}".`);
    }
    let reply: FliteReply;
    try {
      reply = await this.pool.request({ text, voice: voiceId }, signal, { urgent });
    } catch (err) {
      const failure = err as EngineFailure;
      if (failure.kind === 'busy') {
        throw new Problem('server-busy', `Speech synthesis is saturated: ${failure.message}.`, {
          retry_after_s: 2,
        });
      }
      throw new Problem('speech-failed', `Flite could not synthesise the text: ${failure.message}.`, {
        engine: 'flite',
        reason: failure.kind ?? 'failed',
      });
    }
    const durationS = reply.samples.length / reply.sampleRate;
    const timed = parsePhoneTimings(reply.timings, durationS);
    // Flite starts every sentence with a pause (50-290 ms) and ends it with one, both filled with a faint hiss:
    // trimmed to its first and last phones that are not pauses, and the phoneme times moved with it.
    const speech = timed.filter((p) => p.phoneme !== 'pau');
    const { samples, trimmedLeadS } = trimSilence(reply.samples, reply.sampleRate, {
      ...(speech.length ? { speechStartS: speech[0]!.start, speechEndS: speech.at(-1)!.end } : {}),
      ...(tailMs !== undefined ? { keepTailMs: tailMs } : {}),
    });
    const keptS = samples.length / reply.sampleRate;
    const phonemes = timed
      .map((p) => ({
        ...p,
        start: Math.max(0, p.start - trimmedLeadS),
        end: Math.min(keptS, p.end - trimmedLeadS),
      }))
      .filter((p) => p.end > p.start);
    return { samples, sampleRate: reply.sampleRate, phonemes };
  }

  async *synthesize(request: SynthesisRequest): AsyncIterable<SpeechChunk> {
    // The caller splits text into sentences; one chunk per call keeps this engine simple.
    const { samples, sampleRate, phonemes } = await this.speak(request.text, request.voice.id, {
      signal: request.signal,
      urgent: request.urgent,
      tailMs: request.tailMs,
    });
    yield { samples, sampleRate, startSample: 0, phonemes, text: request.text };
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
