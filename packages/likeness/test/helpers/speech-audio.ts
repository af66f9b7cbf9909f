import path from 'node:path';
import { EmbeddedRecognizer } from '../../src/conversation/stt/embedded.ts';
import { FliteEngine } from '../../src/speech/flite-engine.ts';

/** The embedded recogniser as the server configures it by default (models installed by `npm run setup`). */
export function embeddedRecognizer(): EmbeddedRecognizer {
  const models = path.join(import.meta.dirname, '../../models');
  return new EmbeddedRecognizer({
    modelDir: path.join(models, 'whisper-base'),
    python: path.join(models, 'stt-env/bin/python'),
  });
}

/** A user's spoken sentence, made with the project's own Flite voices: 16 kHz mono PCM. */
export async function spokenSentence(text: string, voice = 'rms'): Promise<Int16Array> {
  const flite = new FliteEngine({ processes: 1 });
  try {
    const { samples, sampleRate } = await flite.speak(text, voice);
    if (sampleRate !== 16_000) throw new Error(`expected 16 kHz from Flite, got ${sampleRate}`);
    return samples;
  } finally {
    await flite.close();
  }
}

/** 16 kHz PCM -> 48 kHz (WebRTC's rate), sample-and-hold: enough for VAD and recognition tests. */
export function to48k(pcm: Int16Array): Int16Array {
  const out = new Int16Array(pcm.length * 3);
  for (let i = 0; i < out.length; i++) out[i] = pcm[Math.floor(i / 3)]!;
  return out;
}

/** Cuts leading and trailing silence (below ~-40 dBFS), so "the end of the audio" is the end of the speech. */
export function trimSilence(pcm: Int16Array, threshold = 300): Int16Array {
  let start = 0;
  let end = pcm.length;
  while (start < end && Math.abs(pcm[start]!) < threshold) start++;
  while (end > start && Math.abs(pcm[end - 1]!) < threshold) end--;
  return pcm.slice(start, end);
}
