import { normalizeForSpeech } from '../../src/speech/normalize/normalize.ts';

/**
 * Word errors of a recogniser's transcript: word-level edit distance against the reference, after dropping case
 * and punctuation, folding British spellings the recogniser writes the American way, and writing numbers as
 * they are said on both sides (the speech normaliser), so "for 2 at 7" is heard right for "for two at seven".
 * Tests and benches.
 */
export function wordErrors(reference: string, hypothesis: string): { errors: number; words: number } {
  const norm = (s: string) =>
    normalizeForSpeech(s)
      .toLowerCase()
      .replace(/colour/g, 'color')
      .replace(/favourite/g, 'favorite')
      .replace(/[^a-z0-9' ]/g, ' ')
      .split(/\s+/)
      .filter(Boolean);
  const r = norm(reference);
  const h = norm(hypothesis);
  const d = Array.from({ length: r.length + 1 }, (_, i) => [i, ...Array<number>(h.length).fill(0)]);
  for (let j = 1; j <= h.length; j++) d[0]![j] = j;
  for (let i = 1; i <= r.length; i++)
    for (let j = 1; j <= h.length; j++)
      d[i]![j] = Math.min(
        d[i - 1]![j]! + 1,
        d[i]![j - 1]! + 1,
        d[i - 1]![j - 1]! + (r[i - 1] === h[j - 1] ? 0 : 1),
      );
  return { errors: d[r.length]![h.length]!, words: r.length };
}
