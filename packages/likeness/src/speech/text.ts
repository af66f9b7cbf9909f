import { Problem } from '../errors.ts';
import { normalizeForSpeech } from './normalize/normalize.ts';

export const MAX_TEXT_CHARS = 5000;

/**
 * Checks text before any synthesis and returns it as it will be spoken: not empty, not too long (counted on
 * what the caller sent), normalised for speech (numbers, dates, symbols... as words; emoji dropped:
 * normalize/normalize.ts), and only characters the embedded English voices can say (Latin script and
 * punctuation). Whitespace is collapsed and typographic punctuation made plain.
 */
export function validateSpeechText(
  text: string,
  opts: { maxChars?: number; latinOnly?: boolean } = {},
): string {
  const max = opts.maxChars ?? MAX_TEXT_CHARS;
  const clean = text
    .normalize('NFC')
    .replace(/[\u2018\u2019]/g, "'")
    .replace(/[\u201c\u201d]/g, '"')
    .replace(/[\u2013\u2014]/g, ', ')
    .replace(/\u2026/g, '...')
    .replace(/\s+/g, ' ')
    .trim();
  if (clean.length === 0) {
    throw new Problem('validation-error', 'The text is empty. Send what the character should say.', {
      errors: [{ path: 'text', message: 'must not be empty' }],
    });
  }
  if (clean.length > max) {
    throw new Problem(
      'text-too-long',
      `The text is ${clean.length} characters; the limit is ${max}. Split it into several requests.`,
      {
        length: clean.length,
        max_chars: max,
      },
    );
  }
  const spoken = normalizeForSpeech(clean);
  if (!/[\p{L}\p{N}]/u.test(spoken)) {
    throw new Problem(
      'validation-error',
      'The text has nothing to say once emoji and symbols are set aside. Send words.',
      { errors: [{ path: 'text', message: 'nothing speakable' }] },
    );
  }
  if (opts.latinOnly !== false) {
    const bad = [...new Set(spoken.match(/[^\p{Script=Latin}\p{N}\p{P}\p{Zs}$%&+=<>@#^*~|/\\`]/gu) ?? [])];
    if (bad.length > 0) {
      throw new Problem(
        'unsupported-characters',
        `The embedded voices speak English and cannot say: ${bad.slice(0, 10).join(' ')}. Remove those characters or use a voice that supports them.`,
        { characters: bad.slice(0, 20) },
      );
    }
  }
  return spoken;
}

/**
 * Splits text into sentences so the first audio is ready after the first sentence. Long sentences are cut at
 * commas or spaces so no piece is much longer than `maxChars`.
 */
export function splitSentences(text: string, maxChars = 240): string[] {
  const sentences =
    text
      .match(/[^.!?]+(?:[.!?]+["')\]]*|$)/g)
      ?.map((s) => s.trim())
      .filter(Boolean) ?? [];
  const out: string[] = [];
  for (const sentence of sentences) {
    let rest = sentence;
    while (rest.length > maxChars) {
      const window = rest.slice(0, maxChars);
      const cut = Math.max(window.lastIndexOf(', '), window.lastIndexOf('; '));
      const at =
        cut > maxChars / 3 ? cut + 1 : window.lastIndexOf(' ') > 0 ? window.lastIndexOf(' ') : maxChars;
      out.push(rest.slice(0, at).trim());
      rest = rest.slice(at).trim();
    }
    if (rest) out.push(rest);
  }
  return out;
}

/**
 * A word said alone before a comma, as people do while they think ("Well, ...", "Oh, ..."): it may be a first
 * piece by itself. Shared with the conversation's clause cutter, so a reply and a speak cut the same way.
 */
export const INTERJECTION =
  /^\s*(?:oh|ah|aha|well|yes|yeah|no|hmm|sure|okay|ok|hello|hi|hey|right|indeed|ooh|wow|now|so)[,\u2013\u2014]$/i;

/** Words a phrase can start with: a first sentence with no early comma is cut before one of them. */
const PHRASE_START = new Set(
  'and but or so because when where while which who that to at in on by with for from about after before until if as than like'.split(
    ' ',
  ),
);

/**
 * Pieces to synthesise one after another. The first sound waits for the first piece, so the first sentence is
 * cut short where a reader would breathe: after an opening interjection ("Well, | that is a fine question"), at
 * its first comma (or semicolon, colon) after two or more words, or, in a sentence of six words or more without
 * one, before a conjunction or preposition after three to seven words, two words or more before its end ("He
 * fixed the old clock | with a tiny screwdriver", "I built it | in my workshop last winter").
 * The rest go sentence by sentence.
 */
export function splitForSpeech(text: string, maxChars = 240): string[] {
  const sentences = splitSentences(text, maxChars);
  const first = sentences[0];
  if (!first) return sentences;
  const words = first.split(/\s+/);
  const comma = words.findIndex(
    (w, i) => (i >= 1 || INTERJECTION.test(w)) && i < words.length - 2 && /[,;:]$/.test(w),
  );
  let cut = comma >= 0 && comma <= 9 ? comma + 1 : -1;
  if (cut < 0 && words.length >= 6) {
    for (let i = Math.min(7, words.length - 2); i >= 3; i--) {
      if (PHRASE_START.has(words[i]!.toLowerCase())) {
        cut = i;
        break;
      }
    }
  }
  if (cut < 0) return sentences;
  return [words.slice(0, cut).join(' '), words.slice(cut).join(' '), ...sentences.slice(1)];
}
