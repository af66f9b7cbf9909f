/**
 * Model output -> what a character can say aloud, while it streams: markdown and stage directions dropped,
 * stopped where the model starts to write the user's part or a new turn, and cut after a few sentences so a
 * reply stays conversational. Small models ignore length instructions; this does not.
 */
export interface SpeakableOptions {
  maxSentences?: number;
  maxChars?: number;
}

/** Where a model starts writing someone else's turn, or its own template's end marker. */
const TURN_MARKERS = /(?:\n\s*\n|\n?\s*(?:User|Human|Assistant|System|Q|A)\s*:|<\|[^|>]*\|>|<\/s>|###)/i;

function clean(text: string): string {
  return text
    .replace(/\*\*([^*\n]+)\*\*/g, '$1') // **bold** is just emphasis
    .replace(/\*(\w+)\*/g, '$1') // so is a single *word*
    .replace(/\*[^*\n]{1,60}\*/g, ' ') // *smiles warmly*: a stage direction, not speech
    .replace(/\([^)\n]{1,40}(?:smiles|laughs|sighs|nods|pauses)[^)\n]{0,20}\)/gi, ' ')
    .replace(/[*_#`~>|]/g, '')
    .replace(/\s*\n\s*/g, ' ');
}

/**
 * The part of `raw` that later deltas cannot change: up to the last whitespace (a word, or "User:", may still be
 * half written), and before an unmatched "*" or "(" (a stage direction may still be open).
 */
function settled(raw: string): string {
  let end = raw.search(/\s\S*$/);
  if (end < 0) end = 0;
  let text = raw.slice(0, end);
  const stars = text.match(/\*/g)?.length ?? 0;
  if (stars % 2 === 1) text = text.slice(0, text.lastIndexOf('*'));
  const open = text.lastIndexOf('(');
  if (open > text.lastIndexOf(')')) text = text.slice(0, open);
  return text;
}

export async function* speakable(
  deltas: AsyncIterable<string>,
  opts: SpeakableOptions = {},
): AsyncIterable<string> {
  const maxSentences = opts.maxSentences ?? 3;
  const maxChars = opts.maxChars ?? 360;
  let raw = '';
  let emitted = '';
  const limit = (text: string): { text: string; full: boolean } => {
    let ends = 0;
    for (const m of text.matchAll(/[.!?]+(?=\s|$)/g)) {
      if (++ends >= maxSentences) return { text: text.slice(0, m.index! + m[0].length), full: true };
    }
    if (text.length > maxChars) {
      const at = text.lastIndexOf(' ', maxChars);
      return { text: `${text.slice(0, at > 0 ? at : maxChars).replace(/[,;:]$/, '')}.`, full: true };
    }
    return { text, full: false };
  };
  const emit = function* (text: string) {
    if (text.length > emitted.length && text.startsWith(emitted)) {
      yield text.slice(emitted.length);
      emitted = text;
    }
  };
  for await (const delta of deltas) {
    raw += delta;
    const marker = raw.search(TURN_MARKERS);
    const final = marker >= 0;
    const { text, full } = limit(clean(final ? raw.slice(0, marker) : settled(raw)).trimStart());
    yield* emit(full || final ? text.trimEnd() : text);
    if (full || final) return;
  }
  yield* emit(limit(clean(raw).trimStart()).text.trimEnd());
}
