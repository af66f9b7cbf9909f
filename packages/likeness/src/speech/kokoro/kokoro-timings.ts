import type { TimedPhoneme } from '../types.ts';

/** Kokoro's durations are in frames of this many samples at 24 kHz (the decoder's hop). */
export const SAMPLES_PER_FRAME = 600;
export const KOKORO_RATE = 24000;
const LEAD_OFFSET_FRAMES = 3;

/** Kokoro symbols (misaki's inventory) -> ARPAbet, the phone set the animation stage maps to visemes. */
const ARPABET: Record<string, string> = {
  ə: 'ax',
  ᵊ: 'ax',
  ɐ: 'ax',
  ɑ: 'aa',
  ɒ: 'aa',
  a: 'aa',
  æ: 'ae',
  ʌ: 'ah',
  ɔ: 'ao',
  ɛ: 'eh',
  e: 'eh',
  ɜ: 'er',
  ɚ: 'er',
  ɪ: 'ih',
  ᵻ: 'ih',
  i: 'iy',
  ʊ: 'uh',
  u: 'uw',
  o: 'ow',
  A: 'ey',
  I: 'ay',
  O: 'ow',
  Q: 'ow',
  W: 'aw',
  Y: 'oy',
  p: 'p',
  b: 'b',
  m: 'm',
  f: 'f',
  v: 'v',
  θ: 'th',
  ð: 'dh',
  t: 't',
  d: 'd',
  ɾ: 'd',
  ʔ: 't',
  k: 'k',
  ɡ: 'g',
  ŋ: 'ng',
  h: 'hh',
  ʧ: 'ch',
  ʤ: 'jh',
  ʃ: 'sh',
  ʒ: 'zh',
  s: 's',
  z: 'z',
  n: 'n',
  l: 'l',
  ɹ: 'r',
  w: 'w',
  j: 'y',
};

/**
 * Each token's duration from the model (frames, one per input token plus the padding token at each end) ->
 * timed phonemes on the audio's clock. Stress and length marks lend their time to the sound they mark; spaces
 * and punctuation become pauses, merged when adjacent.
 */
export function timingsFromDurations(
  symbols: string[],
  frames: number[],
  // Kokoro: sound comes out about three frames before the durations say (the decoder's receptive field);
  // measured on "papa, mama" and the same offset hexgrad's own pipeline uses for word timestamps.
  clock: { secondsPerFrame: number; leadOffsetFrames: number } = {
    secondsPerFrame: SAMPLES_PER_FRAME / KOKORO_RATE,
    leadOffsetFrames: LEAD_OFFSET_FRAMES,
  },
): TimedPhoneme[] {
  const out: TimedPhoneme[] = [];
  const { secondsPerFrame } = clock;
  let t = Math.max(0, (frames[0] ?? 0) - clock.leadOffsetFrames) * secondsPerFrame; // after the leading pad
  for (const [i, symbol] of symbols.entries()) {
    const d = (frames[i + 1] ?? 0) * secondsPerFrame;
    const start = t;
    t += d;
    if (d <= 0) continue;
    const phone = ARPABET[symbol];
    const last = out.at(-1);
    if (phone) out.push({ phoneme: phone, start, end: t });
    else if (/[\sˈˌːʰ]/.test(symbol) && symbol !== ' ' && last && last.end === start) last.end = t;
    else if (last?.phoneme === 'pau' && last.end === start) last.end = t;
    else out.push({ phoneme: 'pau', start, end: t });
  }
  return out;
}
