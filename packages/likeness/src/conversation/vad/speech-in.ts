import { SileroStream, VAD_WINDOW } from './silero.ts';

/** Seconds of speech in a clip (16 kHz PCM), by the same VAD that listens live: 0 for silence or noise. */
export async function speechSeconds(pcm: Int16Array): Promise<number> {
  const vad = new SileroStream();
  const window = new Float32Array(VAD_WINDOW);
  let speech = 0;
  for (let at = 0; at + VAD_WINDOW <= pcm.length; at += VAD_WINDOW) {
    for (let i = 0; i < VAD_WINDOW; i++) window[i] = pcm[at + i]! / 32768;
    if ((await vad.probability(window)) >= 0.5) speech++;
  }
  return (speech * VAD_WINDOW) / 16_000;
}
