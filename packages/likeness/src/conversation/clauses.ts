import { INTERJECTION } from '../speech/text.ts';

/**
 * Text deltas from a model -> pieces to speak, as early as they can be spoken well. The first piece is a short
 * clause, cut at the first of:
 * - a comma, dash or stop once it has two words, or an interjection before a comma ("Well,", "Oh,");
 * - a phrase boundary after three words: before "and", "but", "at", "because"... ("I spend my days | at the mill");
 * - its first five words, moved on past a word a phrase cannot end on ("the", "my", "is") up to eight.
 * Later pieces are sentences. Decimal points, abbreviations ("Dr.") and ellipses inside a sentence do not end
 * them. Each word the first piece waits for is a model token or two (20-30 ms here) before the first sound.
 */
export interface ClauseOptions {
  /** A first clause may end at a comma or stop once it has this many words. */
  firstMinWords?: number;
  /** With no punctuation in sight, the first clause ends after this many words anyway (past a weak word). */
  firstMaxWords?: number;
  /** Later pieces this long are cut at their last comma (or space). */
  maxChars?: number;
}

/** Words that start a phrase: the first clause may end before one. */
const PHRASE_START = new Set(
  'and but or so because when while where if at in on with to for from that which who as after before until like'.split(
    ' ',
  ),
);
/** Words a spoken phrase does not end on: articles, possessives, prepositions, auxiliaries, pronouns. */
const WEAK_END = new Set(
  (
    'a an the my your his her its our their this that these those to of in on at for with from by about into ' +
    'and but or so if as is are was were am be been has have had do does did will would can could should ' +
    'not very just i you we they he she it me'
  ).split(' '),
);
/** The first clause's hard limit, however weak its end. */
const FIRST_HARD_MAX_WORDS = 8;
const PHRASE_MIN_WORDS = 3;

const ABBREVIATION = /\b(?:Mr|Mrs|Ms|Dr|Prof|St|Jr|Sr|vs|etc|e\.g|i\.e|No)\.$/i;

export async function* clauses(
  deltas: AsyncIterable<string>,
  opts: ClauseOptions = {},
): AsyncIterable<string> {
  const firstMinWords = opts.firstMinWords ?? 2;
  const firstMaxWords = opts.firstMaxWords ?? 5;
  const maxChars = opts.maxChars ?? 200;
  let buffer = '';
  let first = true;
  const words = (s: string) => s.trim().split(/\s+/).filter(Boolean).length;

  /** Where the next piece ends in `buffer`, or -1 when more text is needed. */
  const boundary = (final: boolean): number => {
    for (let i = 0; i < buffer.length; i++) {
      const ch = buffer[i]!;
      const next = buffer[i + 1];
      // A boundary needs what follows: a space or the end of the whole reply (never a digit: "3.5"). A "!" or
      // "?", or a comma after a letter, ends one without waiting for the next token.
      const early =
        next === undefined && (/[!?]/.test(ch) || (/[,;:]/.test(ch) && /\p{L}/u.test(buffer[i - 1] ?? '')));
      if (next === undefined && !final && !early) break;
      const spaced = next === undefined || /\s/.test(next);
      if (!spaced) continue;
      const head = buffer.slice(0, i + 1);
      if (/[.!?]/.test(ch)) {
        if (ch === '.' && ABBREVIATION.test(head)) continue;
        if (first && words(head) < firstMinWords) continue;
        return i + 1;
      }
      if (first && /[,;:\u2013\u2014]/.test(ch) && (words(head) >= firstMinWords || INTERJECTION.test(head)))
        return i + 1;
      // "The job - it's ...": a spaced hyphen is a dash.
      if (first && ch === '-' && /\s-$/.test(head) && words(head) > firstMinWords) return i + 1;
      if (!first && /[,;]/.test(ch) && head.length > maxChars) return i + 1;
    }
    if (first) {
      const cut = firstCut(buffer, firstMaxWords);
      if (cut > 0) return cut;
    }
    if (!first && buffer.length > maxChars * 1.5) {
      const at = buffer.lastIndexOf(' ', maxChars);
      return at > 0 ? at : maxChars;
    }
    return -1;
  };

  const take = (end: number): string | undefined => {
    const piece = buffer.slice(0, end).trim();
    buffer = buffer.slice(end);
    if (!piece) return undefined;
    first = false;
    return piece;
  };

  for await (const delta of deltas) {
    buffer += delta;
    for (let end = boundary(false); end > 0; end = boundary(false)) {
      const piece = take(end);
      if (piece) yield piece;
    }
  }
  for (let end = boundary(true); end > 0; end = boundary(true)) {
    const piece = take(end);
    if (piece) yield piece;
  }
  const rest = buffer.trim();
  if (rest) yield rest;
}

/**
 * Where the first clause ends when no punctuation came: after the words before a phrase start, or after
 * `maxWords` words moved on past weak ones; -1 while more words are needed. Only whole words count (followed
 * by a space): "a" may still become "and".
 */
function firstCut(buffer: string, maxWords: number): number {
  const words = [...buffer.matchAll(/\S+(?=\s)/g)];
  const bare = (k: number) => words[k]![0].toLowerCase().replace(/[^\p{L}\p{N}']/gu, '');
  for (let k = 1; k <= words.length; k++) {
    const end = words[k - 1]!.index! + words[k - 1]![0].length;
    const weak = WEAK_END.has(bare(k - 1));
    if (k >= PHRASE_MIN_WORDS && k < words.length && PHRASE_START.has(bare(k)) && !weak) return end;
    if (k >= maxWords && (!weak || k >= FIRST_HARD_MAX_WORDS)) return end;
  }
  return -1;
}
