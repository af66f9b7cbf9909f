/**
 * When has the user finished their turn? Not after a fixed silence: people pause mid-thought ("I'd like to
 * book... a table for two"), and a fixed rule either cuts them off or makes every answer wait. The words
 * decide: a transcript that reads as finished (a question, a full sentence) ends the turn after a short
 * silence; one that trails off (a conjunction, a filler, a comma, an article) waits longer for the rest.
 * (livekit/agents defaults to 500 ms minimum and 3 s maximum endpointing delay; these beat both.)
 */
export interface EndOfTurnPolicy {
  /** Silence after speech that ends a turn that reads as finished. */
  completeMs: number;
  /** Silence after speech that ends a turn that trails off. */
  incompleteMs: number;
}

export const DEFAULT_END_OF_TURN: EndOfTurnPolicy = { completeMs: 250, incompleteMs: 1300 };

/** Words a finished sentence rarely ends on. */
const TRAILING = new Set(
  (
    'and but or so because if when then that which who the a an to of with for in on at from by my your ' +
    'our their his her its um uh erm er hmm like i we you he she they is are was were am be been being ' +
    'would could should can will do does did have has had not very really just also about than as'
  ).split(' '),
);

/** Whether the transcript reads as a finished turn. */
export function looksComplete(text: string): boolean {
  const t = text.trim();
  if (!t) return false;
  if (/(\.\.\.|…|,|;|:|-)$/.test(t)) return false;
  const words = t
    .toLowerCase()
    .replace(/[^\p{L}\p{N}'\s]/gu, ' ')
    .split(/\s+/)
    .filter(Boolean);
  const last = words.at(-1);
  if (!last) return false;
  if (TRAILING.has(last)) return false;
  return /[.?!]$/.test(t); // Whisper punctuates what it hears as finished
}

/** Silence (ms after the speech stopped) that ends this turn. */
export function endOfTurnDelay(text: string, policy: EndOfTurnPolicy = DEFAULT_END_OF_TURN): number {
  return looksComplete(text) ? policy.completeMs : policy.incompleteMs;
}

/** Short acknowledgements that should not interrupt the character ("yeah", "mm-hm", "okay"). */
const BACKCHANNELS = new Set(
  (
    'yeah yes yep yup ya okay ok k right sure uh-huh uh huh mm-hm mm hm mhm mmhmm mm-hmm hmm mhmm ah oh i see ' +
    'got it alright all right cool nice great wow true exactly totally indeed'
  ).split(' '),
);

/** Whether a short utterance is only a backchannel: every word is an acknowledgement. */
export function isBackchannel(text: string): boolean {
  const words = text
    .toLowerCase()
    .replace(/[^\p{L}\p{N}'\s-]/gu, ' ')
    .split(/\s+/)
    .filter(Boolean);
  return words.length > 0 && words.length <= 3 && words.every((w) => BACKCHANNELS.has(w));
}
