/**
 * Text deltas from a model -> pieces to speak, as early as they can be spoken well: the first piece is a short
 * clause (up to its first comma, dash or stop once it has two words, an interjection such as "Well,", or its
 * first seven words), so the first sound
 * does not wait for a whole sentence; later pieces are sentences. Decimal points, abbreviations ("Dr.") and
 * ellipses inside a sentence do not end it.
 */
export interface ClauseOptions {
  /** A first clause may end at a comma or stop once it has this many words. */
  firstMinWords?: number;
  /** With no punctuation in sight, the first clause ends after this many words anyway. */
  firstMaxWords?: number;
  /** Later pieces this long are cut at their last comma (or space). */
  maxChars?: number;
}

/** A word that can be said alone before a comma, as people do while they think: "Well, ...", "Oh, ...". */
const INTERJECTION =
  /^\s*(?:oh|ah|aha|well|yes|yeah|no|hmm|sure|okay|ok|hello|hi|hey|right|indeed|ooh|wow)[,\u2013\u2014]$/i;

const ABBREVIATION = /\b(?:Mr|Mrs|Ms|Dr|Prof|St|Jr|Sr|vs|etc|e\.g|i\.e|No)\.$/i;

export async function* clauses(
  deltas: AsyncIterable<string>,
  opts: ClauseOptions = {},
): AsyncIterable<string> {
  const firstMinWords = opts.firstMinWords ?? 2;
  const firstMaxWords = opts.firstMaxWords ?? 7;
  const maxChars = opts.maxChars ?? 200;
  let buffer = '';
  let first = true;
  const words = (s: string) => s.trim().split(/\s+/).filter(Boolean).length;

  /** Where the next piece ends in `buffer`, or -1 when more text is needed. */
  const boundary = (final: boolean): number => {
    for (let i = 0; i < buffer.length; i++) {
      const ch = buffer[i]!;
      const next = buffer[i + 1];
      // A boundary needs what follows: a space or the end of the whole reply (never a digit: "3.5").
      if (next === undefined && !final) break;
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
      const m = buffer.match(/^\s*(?:\S+\s+){1,}/);
      if (m && words(m[0]) >= firstMaxWords) {
        // The first `firstMaxWords` words, cut at a space.
        const cut = buffer
          .split(/(\s+)/)
          .slice(0, firstMaxWords * 2)
          .join('');
        return cut.length;
      }
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
