/**
 * Engines pad their output with silence (Flite: about 290 ms before the first sound), which is pure latency
 * before a live answer and uneven pauses between sentences. It is trimmed, and the pauses between pieces become
 * prosody: the silence kept after a piece's last sound is set by how the piece ends (a breath at a comma and
 * after the last piece, longer at a full stop, next to none mid-sentence), padded with digital silence when the
 * engine stopped sooner.
 */

/**
 * Before the first sound: enough not to start on a click. Anything longer is latency before a live answer (the
 * first audible sample goes out this much later).
 */
export const KEEP_LEAD_MS = 10;
/** After a clause or the last piece: a breath. */
export const KEEP_TAIL_MS = 120;
/** After a piece cut mid-sentence (no punctuation): the next piece follows as the next word would. */
export const KEEP_TAIL_MID_SENTENCE_MS = 30;
/** After a sentence that another follows: the pause a reader makes at a full stop. */
export const KEEP_TAIL_SENTENCE_MS = 250;
/** About -50 dBFS: quieter than any speech sound, louder than the engines' digital silence and dither. */
const SILENCE = 100;

export function trimSilence(
  samples: Int16Array,
  sampleRate: number,
  opts: {
    keepLeadMs?: number;
    keepTailMs?: number;
    /**
     * Where the engine's own timings put the first speech sound, in seconds. Flite fills its opening pause
     * with a faint hiss above the silence level (-50 to -40 dBFS, up to 215 ms measured): inaudible, but the
     * amplitude alone would keep all of it before the first word.
     */
    speechStartS?: number;
    /** Where the engine's timings put the end of the last speech sound (Flite's closing pause hisses too). */
    speechEndS?: number;
  } = {},
): { samples: Int16Array; trimmedLeadS: number } {
  let first = 0;
  while (first < samples.length && Math.abs(samples[first]!) < SILENCE) first++;
  if (first === samples.length) return { samples: samples.subarray(0, 0), trimmedLeadS: 0 };
  if (opts.speechStartS !== undefined)
    first = Math.min(samples.length - 1, Math.max(first, Math.round(opts.speechStartS * sampleRate)));
  let last = samples.length - 1;
  while (last > first && Math.abs(samples[last]!) < SILENCE) last--;
  if (opts.speechEndS !== undefined)
    last = Math.max(first, Math.min(last, Math.round(opts.speechEndS * sampleRate) - 1));
  const start = Math.max(0, first - Math.round(((opts.keepLeadMs ?? KEEP_LEAD_MS) * sampleRate) / 1000));
  const end = last + 1 + Math.round(((opts.keepTailMs ?? KEEP_TAIL_MS) * sampleRate) / 1000);
  if (end <= samples.length)
    return { samples: samples.subarray(start, end), trimmedLeadS: start / sampleRate };
  // The engine stopped sooner than the pause asked for: the rest is digital silence.
  const padded = new Int16Array(end - start);
  padded.set(samples.subarray(start));
  return { samples: padded, trimmedLeadS: start / sampleRate };
}
