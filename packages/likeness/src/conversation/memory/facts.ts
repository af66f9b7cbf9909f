/**
 * Durable facts a user tells the character about themselves, found by rules rather than by the model: a small
 * embedded model invents, and a fact kept wrongly is worse than one missed. Each fact has a key (one value per
 * key per user: a newer statement replaces an older one) and the user's own words as its value.
 */
export interface Fact {
  key: string;
  value: string;
}

const NAME_WORD = "[A-Z][a-zA-Z'-]{1,30}";
// Words that follow "I'm" but are not names.
const NOT_NAMES = new Set(
  'Sorry Fine Good Great Okay Ok Here Back Not Just Really Very So Glad Happy Sad Tired Busy Sure Afraid Done Ready Going Trying Looking Still Also Always'.split(
    ' ',
  ),
);

/** Words a topic does not end on ("green tea with" -> "green tea"). */
const TRAILING_WORDS = new Set(
  'with in on at for of to from and or but the a an my your very really so'.split(' '),
);

/** The key of a liked or disliked thing: its first words, up to "and", "or" or a comma. */
function topic(value: string): string {
  const words = clean(value)
    .toLowerCase()
    .split(/\s+(?:and|or|but)\s+|,/)[0]!
    .split(' ')
    .slice(0, 3);
  while (words.length > 1 && TRAILING_WORDS.has(words.at(-1)!)) words.pop();
  return words.join(' ');
}

function clean(value: string): string {
  return value
    .replace(/\s+/g, ' ')
    .replace(/[.!?,;:]+$/, '')
    .trim()
    .slice(0, 120);
}

const RULES: { pattern: RegExp; fact: (m: RegExpMatchArray) => Fact | undefined }[] = [
  {
    // Case-sensitive on purpose: a name is capitalised, and "My name is Alice and I..." must not give "Alice and".
    pattern: new RegExp(
      `\\b(?:[Mm]y name is|[Mm]y name's|[Cc]all me|I am called|I'm called)\\s+(${NAME_WORD}(?:\\s+${NAME_WORD})?)`,
    ),
    fact: (m) => ({ key: 'name', value: clean(m[1]!) }),
  },
  {
    pattern: new RegExp(
      `(?:^|[.!?]\\s+|\\b(?:[Hh]i|[Hh]ello|[Hh]ey),?\\s+)(?:[Ii]'m|I am)\\s+(${NAME_WORD})\\b(?![a-z])`,
    ),
    fact: (m) => (NOT_NAMES.has(m[1]!) ? undefined : { key: 'name', value: clean(m[1]!) }),
  },
  {
    pattern: /\bmy (?:favou?rite) ([a-z ]{2,30}?) is ([^.!?,;]{2,60})/i,
    fact: (m) => ({ key: `favorite ${clean(m[1]!).toLowerCase()}`, value: clean(m[2]!) }),
  },
  {
    pattern: /\bi (?:really |also )?(?:love|like|enjoy|adore|prefer)\s+([^.!?;]{2,60})/i,
    fact: (m) => ({ key: `likes ${topic(m[1]!)}`, value: clean(m[1]!) }),
  },
  {
    pattern: /\bi (?:really )?(?:hate|dislike|can't stand|don't like|do not like)\s+([^.!?;]{2,60})/i,
    fact: (m) => ({ key: `dislikes ${topic(m[1]!)}`, value: clean(m[1]!) }),
  },
  {
    pattern: /\b[Ii] (?:live in|am from|'m from|come from)\s+([A-Z][^.!?,;]{1,50})/,
    fact: (m) => ({ key: 'home', value: clean(m[1]!) }),
  },
  {
    pattern: /\bi (?:work as|am working as|'m working as)\s+(?:an? )?([^.!?,;]{2,50})/i,
    fact: (m) => ({ key: 'work', value: clean(m[1]!) }),
  },
  {
    pattern: /\bi (?:work at|work for)\s+([^.!?,;]{2,50})/i,
    fact: (m) => ({ key: 'workplace', value: clean(m[1]!) }),
  },
  {
    pattern: /\bi(?: am|'m) (\d{1,3}) years old\b/i,
    fact: (m) => ({ key: 'age', value: m[1]! }),
  },
  {
    pattern:
      /\b[Mm]y (wife|husband|partner|son|daughter|dog|cat|brother|sister|mother|father|mom|dad)(?:'s name)? is (?:called |named )?([A-Z][a-zA-Z'-]{1,30})/,
    fact: (m) => ({ key: `${m[1]!.toLowerCase()}'s name`, value: m[2]! }),
  },
];

/** Facts stated in one message from the user. */
export function extractFacts(text: string): Fact[] {
  const found = new Map<string, Fact>();
  for (const rule of RULES) {
    const m = text.match(rule.pattern);
    const fact = m ? rule.fact(m) : undefined;
    if (fact?.value) found.set(fact.key, fact);
  }
  return [...found.values()];
}

/** Facts as the sentence the model reads. */
export function describeFacts(facts: Fact[]): string {
  return facts
    .map((f) => {
      if (f.key === 'name') return `their name is ${f.value}`;
      if (f.key.startsWith('likes ')) return `they like ${f.value}`;
      if (f.key.startsWith('dislikes ')) return `they dislike ${f.value}`;
      if (f.key === 'home') return `they live in ${f.value}`;
      if (f.key === 'work') return `they work as ${f.value}`;
      if (f.key === 'workplace') return `they work at ${f.value}`;
      if (f.key === 'age') return `they are ${f.value} years old`;
      return `their ${f.key} is ${f.value}`;
    })
    .join('; ');
}
