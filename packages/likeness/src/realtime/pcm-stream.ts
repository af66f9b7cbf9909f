import { loudestDb, visemesFromAudio } from '../speech/audio-visemes.ts';
import type { Chunk } from './media-session.ts';
import { SAMPLE_RATE } from './media-session.ts';
import { resampleTo } from './resample.ts';

/** Audio held before an utterance starts: absorbs a producer that sends at about realtime without gaps. */
export const PREBUFFER_S = 0.1;
/** Later chunks: long enough for the audio-derived visemes to see a syllable, short enough to start at once. */
export const CHUNK_S = 0.04;
/** An agent's single utterance is cut off beyond this much audio (memory bound; ~55 MB at 48 kHz). */
export const MAX_STREAM_S = 600;

export interface PcmFormat {
  sampleRate: number;
  channels: number;
}

/**
 * Raw 16-bit little-endian PCM bytes (as an agent sends them, in pieces of any size, possibly splitting a
 * sample) into the media session's chunks: mono, 48 kHz, with visemes derived from the audio. Loudness is
 * judged against the loudest audio heard so far in the stream, so a quiet voice still opens the mouth.
 */
export async function* pcmChunks(
  bytes: AsyncIterable<Uint8Array>,
  format: PcmFormat,
  signal: AbortSignal,
): AsyncGenerator<Chunk> {
  const { sampleRate, channels } = format;
  const frameBytes = 2 * channels;
  let carry = new Uint8Array(0);
  let pending: Int16Array[] = [];
  let pendingSamples = 0;
  let total = 0;
  let peakDb = -30;
  let first = true;

  const flush = (): Chunk | undefined => {
    if (pendingSamples === 0) return undefined;
    const mono = new Int16Array(pendingSamples);
    let at = 0;
    for (const p of pending) {
      mono.set(p, at);
      at += p.length;
    }
    pending = [];
    pendingSamples = 0;
    const samples = resampleTo(mono, sampleRate, SAMPLE_RATE);
    peakDb = Math.max(peakDb, loudestDb(samples, SAMPLE_RATE));
    return { samples, visemes: visemesFromAudio(samples, SAMPLE_RATE, 0, { peakDb, floorDb: -70 }) };
  };

  for await (const piece of bytes) {
    if (signal.aborted) return;
    const buf = carry.length ? Buffer.concat([carry, piece]) : piece;
    const whole = buf.length - (buf.length % frameBytes);
    carry = buf.slice(whole);
    if (whole === 0) continue;
    if (total >= MAX_STREAM_S * sampleRate) continue; // over the bound: drain and drop
    pending.push(toMono(buf.subarray(0, whole), channels));
    pendingSamples += whole / frameBytes;
    total += whole / frameBytes;
    if (pendingSamples >= (first ? PREBUFFER_S : CHUNK_S) * sampleRate) {
      first = false;
      yield flush()!;
    }
  }
  const last = flush();
  if (last && !signal.aborted) yield last;
}

/** Interleaved little-endian int16 bytes to mono samples (channels averaged). */
export function toMono(bytes: Uint8Array, channels: number): Int16Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.byteLength / (2 * channels);
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) sum += view.getInt16((i * channels + c) * 2, true);
    out[i] = Math.round(sum / channels);
  }
  return out;
}
