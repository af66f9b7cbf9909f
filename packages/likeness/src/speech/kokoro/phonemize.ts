import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';

/**
 * Text -> phonemes in Kokoro's inventory (misaki's symbols: IPA plus A I O W Y Q for diphthongs), from Debian's
 * espeak-ng run as a separate program (it is GPL: a process boundary, never linked). One long-lived espeak-ng per
 * accent reads lines on stdin and answers each clause with its IPA at once, so phonemizing costs ~1 ms, not a
 * process start. Punctuation is kept by us (espeak drops it) because Kokoro reads it as prosody.
 */

export type Accent = 'en-us' | 'en-gb';

/** espeak's IPA -> misaki's symbols. `^` stands for espeak's tie (U+200D with --ipa=3). Longest first. */
const COMMON: [string, string][] = [
  ['a^ɪ', 'I'],
  ['a^ʊ', 'W'],
  ['d^ʒ', 'ʤ'],
  ['dʒ', 'ʤ'],
  ['e^ɪ', 'A'],
  ['t^ʃ', 'ʧ'],
  ['tʃ', 'ʧ'],
  ['ɔ^ɪ', 'Y'],
  ['ə^l', 'ᵊl'],
  ['ʲ', ''],
  ['r', 'ɹ'],
  ['x', 'k'],
  ['ç', 'k'],
  ['ɬ', 'l'],
  ['\u0303', ''],
  ['\u0329', ''],
];
const US: [string, string][] = [
  ['o^ʊ', 'O'],
  ['ɜːɹ', 'ɜɹ'],
  ['ɜː', 'ɜɹ'],
  ['ɪ^ə', 'iə'],
  ['ɚ', 'əɹ'],
  ['ɐ', 'ə'],
  ['ː', ''],
];
const GB: [string, string][] = [
  ['ə^ʊ', 'Q'],
  ['e^ə', 'ɛː'],
  ['ɪ^ə', 'ɪə'],
  ['ʊ^ə', 'ʊə'],
  ['ɐ', 'ə'],
];

/** Maps one line of `espeak-ng --ipa=3` output to Kokoro's symbols. */
export function espeakToKokoro(ipa: string, accent: Accent): string {
  let s = ipa.replace(/\u200d/g, '^');
  for (const [from, to] of [...(accent === 'en-us' ? US : GB), ...COMMON]) s = s.split(from).join(to);
  return s.replace(/\^/g, '').replace(/\s+/g, ' ').trim();
}

/** Kokoro reads these as prosody; espeak would drop them, so they are kept beside the phonemes. */
const PUNCTUATION = /([;:,.!?—…"()“”]+)/;

/** Text cut into words and punctuation, in order: `[{words: 'Hello there'}, {punct: ','}, ...]`. */
export function splitPunctuation(text: string): ({ words: string } | { punct: string })[] {
  const out: ({ words: string } | { punct: string })[] = [];
  for (const piece of text.split(PUNCTUATION)) {
    if (!piece.trim()) continue;
    if (PUNCTUATION.test(piece) && !/[\p{L}\p{N}]/u.test(piece)) out.push({ punct: piece.trim() });
    else out.push({ words: piece.replace(/[^\p{L}\p{N}' -]/gu, ' ').trim() });
  }
  return out.filter((p) => !('words' in p) || p.words.length > 0);
}

/**
 * Marker lines: each request is followed by one, and the marker's phonemes end the request's output, however
 * espeak split its clause. Requests take turns through several markers, so a user's words that happen to sound
 * like a marker cut only their own request short: the real marker that follows is recognised as stale and
 * dropped, and the requests after it stay aligned.
 */
const MARKERS = [
  'zebra quagga okapi',
  'walrus narwhal pangolin',
  'axolotl wombat ibex',
  'tapir dugong marmot',
  'lemur bison gecko',
  'ocelot puffin yak',
];

interface Waiting {
  lines: string[];
  /** Index of the marker that ends this request; -1 while learning a marker's phonemes (first line). */
  marker: number;
  resolve: (lines: string[]) => void;
  reject: (e: Error) => void;
}

/** One espeak-ng process for one accent, answering requests in order. */
class EspeakProcess {
  private child: ChildProcessWithoutNullStreams | undefined;
  private buffer = '';
  private learnt: Promise<void> | undefined;
  /** Each marker's phonemes, once learnt. */
  private markerIpa: string[] = [];
  private next = 0;
  private waiting: Waiting[] = [];

  constructor(
    private readonly accent: Accent,
    private readonly program: string,
  ) {}

  private start(): ChildProcessWithoutNullStreams {
    const child = spawn(this.program, ['-q', '--ipa=3', '-b', '1', '-v', this.accent], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (data: string) => this.onData(data));
    child.stdin.on('error', () => {});
    const fail = (why: string) => {
      if (this.child !== child) return;
      this.child = undefined;
      this.buffer = '';
      this.learnt = undefined;
      for (const w of this.waiting.splice(0)) w.reject(new Error(`espeak-ng ${why}`));
    };
    child.on('error', (err) => fail(`could not run: ${err.message}`));
    child.on('exit', (code, signal) => fail(`exited (${signal ?? code})`));
    this.child = child;
    return child;
  }

  private onData(data: string): void {
    this.buffer += data;
    let nl = this.buffer.indexOf('\n');
    while (nl >= 0) {
      const line = this.buffer.slice(0, nl).trim();
      this.buffer = this.buffer.slice(nl + 1);
      nl = this.buffer.indexOf('\n');
      const head = this.waiting[0];
      if (!head || !line) continue;
      if (head.marker < 0) {
        this.waiting.shift();
        head.resolve([line]);
        continue;
      }
      const marker = this.markerIpa.indexOf(line);
      if (marker === head.marker) {
        this.waiting.shift();
        head.resolve(head.lines);
      } else if (marker >= 0) {
        // Another request's marker: a stale one, after words that sounded like it ended that request early.
      } else head.lines.push(line);
    }
  }

  private send(text: string, marker: number): Promise<string[]> {
    const child = this.child ?? this.start();
    return new Promise((resolve, reject) => {
      this.waiting.push({ lines: [], marker, resolve, reject });
      child.stdin.write(marker >= 0 ? `${text}\n${MARKERS[marker]}\n` : `${text}\n`);
    });
  }

  /** Phonemes of words (no punctuation), in espeak's IPA. */
  async ipa(words: string): Promise<string> {
    this.learnt ??= Promise.all(MARKERS.map((m) => this.send(m, -1))).then((ipa) => {
      this.markerIpa = ipa.map((lines) => lines[0] ?? '');
    });
    try {
      await this.learnt;
    } catch (err) {
      this.learnt = undefined;
      throw err;
    }
    const marker = this.next;
    this.next = (this.next + 1) % MARKERS.length;
    return (await this.send(words.replace(/\s+/g, ' '), marker)).join(' ');
  }

  close(): void {
    this.child?.kill();
    this.child = undefined;
  }
}

/** Phonemizer for the neural voices: text -> phoneme string (Kokoro's symbols or plain IPA), punctuation kept. */
export class KokoroPhonemizer {
  private readonly processes = new Map<Accent, EspeakProcess>();

  constructor(private readonly program = process.env.LIKENESS_ESPEAK ?? 'espeak-ng') {}

  /**
   * `symbols`: Kokoro's inventory (misaki), or espeak's own IPA as Piper voices were trained on it (only the tie
   * marks dropped).
   */
  async phonemize(text: string, accent: Accent, symbols: 'kokoro' | 'ipa' = 'kokoro'): Promise<string> {
    let proc = this.processes.get(accent);
    if (!proc) {
      proc = new EspeakProcess(accent, this.program);
      this.processes.set(accent, proc);
    }
    const parts: string[] = [];
    for (const piece of splitPunctuation(text)) {
      if ('punct' in piece) {
        // Kokoro knows one dash and one ellipsis; quotes and brackets read as slight pauses.
        parts.push(piece.punct.replace(/\.\.\.+/g, '…'));
      } else {
        const ipa = await proc.ipa(piece.words);
        parts.push(
          ` ${
            symbols === 'kokoro'
              ? espeakToKokoro(ipa, accent)
              : ipa
                  .replace(/\u200d/g, '')
                  .replace(/\s+/g, ' ')
                  .trim()
          }`,
        );
      }
    }
    return parts.join('').trim();
  }

  close(): void {
    for (const p of this.processes.values()) p.close();
    this.processes.clear();
  }
}
