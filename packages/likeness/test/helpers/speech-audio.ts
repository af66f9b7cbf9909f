import path from 'node:path';
import { EmbeddedRecognizer } from '../../src/conversation/stt/embedded.ts';
import { resampleTo } from '../../src/realtime/resample.ts';
import { FliteEngine } from '../../src/speech/flite-engine.ts';
import { trimSilence as trimEngineSilence } from '../../src/speech/silence.ts';

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

/** 16 kHz PCM -> 48 kHz (WebRTC's rate), with the resampler live speech goes through. */
export function to48k(pcm: Int16Array): Int16Array {
  return resampleTo(pcm, 16_000, 48_000);
}

/** Cuts all leading and trailing silence, so "the end of the audio" is the end of the speech. */
export function trimSilence(pcm: Int16Array): Int16Array {
  return trimEngineSilence(pcm, 16_000, { keepLeadMs: 0, keepTailMs: 0 }).samples.slice();
}
