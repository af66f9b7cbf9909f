/**
 * Engines pad their output with silence (Flite: about 290 ms before the first sound), which is pure latency
 * before a live answer and uneven pauses between sentences. Trimmed to a natural breath: the pauses between
 * sentences become the speech's own prosody, not engine padding.
 */
/**
 * Before the first sound: enough not to start on a click. Anything longer is latency before a live answer (the
 * first audible sample goes out this much later), and the tail already gives each sentence its breath.
 */
export const KEEP_LEAD_MS = 10;
export const KEEP_TAIL_MS = 120;
/** About -50 dBFS: quieter than any speech sound, louder than the engines' digital silence and dither. */
const SILENCE = 100;

export function trimSilence(
  samples: Int16Array,
  sampleRate: number,
  opts: { keepLeadMs?: number; keepTailMs?: number } = {},
): { samples: Int16Array; trimmedLeadS: number } {
  let first = 0;
  while (first < samples.length && Math.abs(samples[first]!) < SILENCE) first++;
  if (first === samples.length) return { samples: samples.subarray(0, 0), trimmedLeadS: 0 };
  let last = samples.length - 1;
  while (last > first && Math.abs(samples[last]!) < SILENCE) last--;
  const start = Math.max(0, first - Math.round(((opts.keepLeadMs ?? KEEP_LEAD_MS) * sampleRate) / 1000));
  const end = Math.min(
    samples.length,
    last + 1 + Math.round(((opts.keepTailMs ?? KEEP_TAIL_MS) * sampleRate) / 1000),
  );
  return { samples: samples.subarray(start, end), trimmedLeadS: start / sampleRate };
}
