import { Worker } from 'node:worker_threads';
import { Problem } from '../errors.ts';
import type { SpeechChunk, SpeechEngine, SynthesisRequest, TimedPhoneme } from './types.ts';
import { FLITE_VOICES } from './voice-catalog.ts';

interface WorkerReply {
  id: number;
  samples?: Int16Array;
  sampleRate?: number;
  timings?: string;
  error?: string;
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

/** The embedded default: Flite through WASI in a worker thread. 16 kHz, whole sentence per call, phone timings. */
export class FliteEngine implements SpeechEngine {
  readonly provider = 'flite' as const;
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, (reply: WorkerReply) => void>();

  private getWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(new URL('./flite-worker.mjs', import.meta.url));
    worker.unref();
    worker.on('message', (reply: WorkerReply) => {
      this.pending.get(reply.id)?.(reply);
      this.pending.delete(reply.id);
    });
    worker.on('error', (err) => this.failAll(String(err)));
    worker.on('exit', () => {
      this.failAll('the speech worker stopped');
      this.worker = undefined;
    });
    this.worker = worker;
    return worker;
  }

  private failAll(message: string) {
    for (const [id, resolve] of this.pending) resolve({ id, error: message });
    this.pending.clear();
  }

  /** Synthesises one sentence. */
  speak(
    text: string,
    voiceId: string,
  ): Promise<{ samples: Int16Array; sampleRate: number; phonemes: TimedPhoneme[] }> {
    if (!FLITE_VOICES.some((v) => v.id === voiceId)) {
      return Promise.reject(new Problem('unknown-voice', `Flite has no voice "${voiceId}".`));
    }
    const id = this.nextId++;
    const worker = this.getWorker();
    return new Promise((resolve, reject) => {
      this.pending.set(id, (reply) => {
        if (reply.error || !reply.samples || !reply.sampleRate) {
          reject(
            new Problem(
              'speech-failed',
              `Flite could not synthesise the text: ${reply.error ?? 'no audio'}.`,
            ),
          );
          return;
        }
        const durationS = reply.samples.length / reply.sampleRate;
        resolve({
          samples: reply.samples,
          sampleRate: reply.sampleRate,
          phonemes: parsePhoneTimings(reply.timings ?? '', durationS),
        });
      });
      worker.postMessage({ id, text, voice: voiceId });
    });
  }

  async *synthesize(request: SynthesisRequest): AsyncIterable<SpeechChunk> {
    // The caller splits text into sentences; one chunk per call keeps this engine simple.
    const { samples, sampleRate, phonemes } = await this.speak(request.text, request.voice.id);
    yield { samples, sampleRate, startSample: 0, phonemes, text: request.text };
  }

  async close(): Promise<void> {
    await this.worker?.terminate();
    this.worker = undefined;
  }
}
