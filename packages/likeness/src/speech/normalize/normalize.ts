import { cardinal, decimal, digitByDigit, digitRun, ordinal, pluralYear, year } from './numbers.ts';

/**
 * Text as it should be spoken, shared by every speech engine: numbers, digit runs, dates, times, currency,
 * units, abbreviations, URLs and symbols become words; emoji are dropped. Besides sounding right, this keeps
 * engines away from what they handle badly: a 300-digit token took Flite 3.5 s (2000 digits: 25 s) and, in
 * the old in-process build, crashed the server.
 *
 * Rules run in order, most specific first; each turns what it recognises into plain words, so later rules
 * never see it again.
 */
export function normalizeForSpeech(input: string): string {
  // NFKC turns fullwidth and superscript digits into plain ones; other scripts' numerals are dropped.
  let t = ` ${input.normalize('NFKC').replace(/(?![0-9])\p{N}/gu, ' ')} `;
  for (const [pattern, replace] of RULES) t = t.replace(pattern, replace as never);
  return t
    .replace(/\s+/g, ' ')
    .replace(/\s+([,.!?;:])/g, '$1')
    .trim();
}

const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];
const MONTH_ABBR: Record<string, string> = Object.fromEntries(
  MONTHS.map((m) => [m.slice(0, 3).toLowerCase(), m]).concat([['sept', 'September']]),
);
const MONTH_NAME = `(?:${MONTHS.join('|')}|(?:Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\\.?)`;
const monthOf = (name: string) => MONTH_ABBR[name.toLowerCase().slice(0, 3)] ?? name;

function date(month: number, day: number, y?: string): string | undefined {
  if (month < 1 || month > 12 || day < 1 || day > 31) return undefined;
  const d = `${MONTHS[month - 1]} ${ordinal(String(day))}`;
  if (!y) return d;
  const full = y.length === 2 ? `20${y}` : y;
  return `${d}, ${year(full)}`;
}

const CURRENCIES: Record<string, [string, string, string, string]> = {
  // symbol: [one, many, cent one, cent many]
  $: ['dollar', 'dollars', 'cent', 'cents'],
  '€': ['euro', 'euros', 'cent', 'cents'],
  '£': ['pound', 'pounds', 'penny', 'pence'],
  '¥': ['yen', 'yen', '', ''],
  '₹': ['rupee', 'rupees', 'paisa', 'paise'],
};
const SCALE_WORDS: Record<string, string> = {
  k: 'thousand',
  K: 'thousand',
  m: 'million',
  M: 'million',
  mn: 'million',
  b: 'billion',
  B: 'billion',
  bn: 'billion',
  thousand: 'thousand',
  million: 'million',
  billion: 'billion',
  trillion: 'trillion',
};

function amount(int: string, frac?: string): string {
  const digits = int.replace(/,/g, '');
  return frac ? decimal(digits, frac) : digitRun(digits);
}

function money(symbol: string, int: string, frac: string | undefined, scale: string | undefined): string {
  const [one, many, centOne, centMany] = CURRENCIES[symbol]!;
  const digits = int.replace(/,/g, '');
  if (scale) return `${amount(int, frac)} ${SCALE_WORDS[scale]} ${many}`;
  const whole = `${digitRun(digits)} ${digits === '1' ? one : many}`;
  if (!frac || /^0+$/.test(frac) || !centOne)
    return frac && !centOne ? `${amount(int, frac)} ${many}` : whole;
  const cents = frac.length === 1 ? `${frac}0` : frac.slice(0, 2);
  const centWords = `${cardinal(cents)} ${cents === '01' ? centOne : centMany}`;
  return digits === '0' ? centWords : `${whole} and ${centWords}`;
}

/** Units said after a number. Longer keys first where one is a prefix of another (handled by the regex order). */
const UNITS: Record<string, [string, string]> = {
  'km/h': ['kilometer per hour', 'kilometers per hour'],
  kph: ['kilometer per hour', 'kilometers per hour'],
  mph: ['mile per hour', 'miles per hour'],
  'm/s': ['meter per second', 'meters per second'],
  km: ['kilometer', 'kilometers'],
  cm: ['centimeter', 'centimeters'],
  mm: ['millimeter', 'millimeters'],
  m: ['meter', 'meters'],
  mi: ['mile', 'miles'],
  ft: ['foot', 'feet'],
  kg: ['kilogram', 'kilograms'],
  mg: ['milligram', 'milligrams'],
  g: ['gram', 'grams'],
  lb: ['pound', 'pounds'],
  lbs: ['pound', 'pounds'],
  oz: ['ounce', 'ounces'],
  ml: ['milliliter', 'milliliters'],
  mL: ['milliliter', 'milliliters'],
  l: ['liter', 'liters'],
  L: ['liter', 'liters'],
  ms: ['millisecond', 'milliseconds'],
  sec: ['second', 'seconds'],
  secs: ['second', 'seconds'],
  min: ['minute', 'minutes'],
  mins: ['minute', 'minutes'],
  h: ['hour', 'hours'],
  hr: ['hour', 'hours'],
  hrs: ['hour', 'hours'],
  KB: ['kilobyte', 'kilobytes'],
  kB: ['kilobyte', 'kilobytes'],
  MB: ['megabyte', 'megabytes'],
  GB: ['gigabyte', 'gigabytes'],
  TB: ['terabyte', 'terabytes'],
  Hz: ['hertz', 'hertz'],
  kHz: ['kilohertz', 'kilohertz'],
  MHz: ['megahertz', 'megahertz'],
  GHz: ['gigahertz', 'gigahertz'],
  W: ['watt', 'watts'],
  kW: ['kilowatt', 'kilowatts'],
  kWh: ['kilowatt hour', 'kilowatt hours'],
  V: ['volt', 'volts'],
  '°C': ['degree Celsius', 'degrees Celsius'],
  '°F': ['degree Fahrenheit', 'degrees Fahrenheit'],
  '°': ['degree', 'degrees'],
};
const UNIT_KEYS = Object.keys(UNITS)
  .sort((a, b) => b.length - a.length)
  .map((k) => k.replace(/[/.°]/g, (c) => `\\${c}`))
  .join('|');

/** Abbreviations with their spoken form; matched case-sensitively, with the period. */
const ABBREVIATIONS: [RegExp, string][] = [
  [/\bDr\.(?=\s+[A-Z])/g, 'Doctor'],
  [/\bMr\./g, 'Mister'],
  [/\bMrs\./g, 'Missus'],
  [/\bMs\./g, 'Miz'],
  [/\bProf\./g, 'Professor'],
  [/\bSt\.(?=\s+[A-Z])/g, 'Saint'],
  [/\bSt\./g, 'Street'],
  [/\bAve\./g, 'Avenue'],
  [/\bRd\./g, 'Road'],
  [/\bBlvd\./g, 'Boulevard'],
  [/\bMt\./g, 'Mount'],
  [/\bJr\./g, 'Junior'],
  [/\bSr\./g, 'Senior'],
  [/\bDept\./g, 'Department'],
  [/\bInc\./g, 'Incorporated'],
  [/\bLtd\./g, 'Limited'],
  [/\bCorp\./g, 'Corporation'],
  [/\bCo\.(?=\s)/g, 'Company'],
  [/\bvs\.?(?=\s)/g, 'versus'],
  [/\betc\./g, 'et cetera.'],
  [/\be\.g\.,?/gi, 'for example,'],
  [/\bi\.e\.,?/gi, 'that is,'],
  [/\bapprox\./gi, 'approximately'],
  [/\bNo\.(?=\s*\d)/g, 'number'],
  [/\bno\.(?=\s*\d)/g, 'number'],
  [/\bDr\./g, 'Drive'],
];

function url(match: string): string {
  const trailing = /[.,!?;:)]+$/.exec(match)?.[0] ?? '';
  const clean = match.slice(0, match.length - trailing.length);
  const withoutScheme = clean.replace(/^[a-z]+:\/\//i, '').replace(/^www\./i, '');
  const [host = '', ...path] = withoutScheme.split(/[?#]/)[0]!.split('/');
  const spoken = host
    .split('.')
    .filter(Boolean)
    .map((part) => spell(part))
    .join(' dot ');
  const segments = path.filter(Boolean).slice(0, 3).map(spell);
  return ` ${[spoken, ...segments].join(' slash ')}${trailing} `;
}

/** Parts of addresses: letters stay as they are, digits become words, separators become pauses. */
function spell(part: string): string {
  return part
    .replace(/[-_]+/g, ' ')
    .replace(/\d+/g, (d) => ` ${digitRun(d)} `)
    .trim();
}

const RULES: [RegExp, string | ((...args: string[]) => string)][] = [
  // Emoji and pictographs: nobody reads them aloud. Keycaps, skin tones, joiners and flags go with them.
  [/\p{Extended_Pictographic}|[\u{1F1E6}-\u{1F1FF}]|[\u{1F3FB}-\u{1F3FF}]|\u200D|\uFE0F|\u20E3/gu, ' '],
  // Addresses first: their dots, slashes and digits are not sentence ends, fractions or numbers.
  [/\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b/g, (m) => ` ${m.split('@').map(url).join(' at ')} `],
  [/\b(?:https?:\/\/|www\.)[^\s<>"]+/gi, url],
  [/\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|org|net|io|dev|ai|edu|gov|co\.uk|app)\b(?:\/[^\s<>"]*)?/gi, url],
  // Times: 10:30, 9:05 am, 14:00, 10:30:15.
  [
    /\b(\d{1,2}):(\d{2})(?::(\d{2}))?(\s*([ap])\.?\s?m\.?(?![a-z]))?/gi,
    (_m, h, mm, ss, ampm, ap) => {
      const hour = Number(h);
      const minute = Number(mm);
      if (hour > 24 || minute > 59) return ` ${digitRun(h!)} ${digitRun(mm!)} `;
      const mins =
        minute === 0 ? (ampm ? '' : "o'clock") : minute < 10 ? `oh ${cardinal(mm!)}` : cardinal(mm!);
      const secs = ss ? ` and ${cardinal(ss)} seconds` : '';
      const suffix = ampm ? ` ${ap!.toLowerCase() === 'a' ? 'a m' : 'p m'}` : '';
      return ` ${cardinal(h!)} ${mins}${secs}${suffix} `;
    },
  ],
  // Dates: 2024-05-01, 05/01/2024 (month first), May 1, 2024, 1 May 2024, May 1st.
  [
    /\b(\d{4})-(\d{2})-(\d{2})\b/g,
    (m, y, mo, d) => ` ${date(Number(mo), Number(d), y!) ?? m.replace(/-/g, ' ')} `,
  ],
  [
    /\b(\d{1,2})\/(\d{1,2})\/(\d{4}|\d{2})\b/g,
    (m, mo, d, y) => ` ${date(Number(mo), Number(d), y!) ?? m.replace(/\//g, ' ')} `,
  ],
  [
    new RegExp(`\\b(${MONTH_NAME})\\s+(\\d{1,2})(?:st|nd|rd|th)?\\b(?:,?\\s+(\\d{4})\\b)?`, 'g'),
    (_m, month, d, y) => ` ${monthOf(month!)} ${ordinal(d!)}${y ? `, ${year(y)}` : ''} `,
  ],
  [
    new RegExp(`\\b(\\d{1,2})(?:st|nd|rd|th)?\\s+(?:of\\s+)?(${MONTH_NAME})(?:,?\\s+(\\d{4})\\b)?`, 'g'),
    (_m, d, month, y) => ` the ${ordinal(d!)} of ${monthOf(month!)}${y ? `, ${year(y)}` : ''} `,
  ],
  // Phone numbers: read in their groups.
  [
    /(?<![\w.])(\+\d{1,3}[\s.-]?)?\(?\d{3}\)?[\s.-]\d{3}[\s.-]\d{4}\b/g,
    (m) =>
      ` ${m
        .split(/[^\d+]+/)
        .filter(Boolean)
        .map((g) => (g.startsWith('+') ? `plus ${digitByDigit(g)}` : digitByDigit(g)))
        .join(', ')} `,
  ],
  // Money: $5, $5.50, $1,200, $2.5 million, $3M, €20, £3.75.
  [
    /([$€£¥₹])\s?(\d[\d,]*)(?:\.(\d+))?(?:\s?(thousand|million|billion|trillion|bn|mn|[kKmMbB])\b)?/g,
    (_m, sym, int, frac, scale) => ` ${money(sym!, int!, frac, scale)} `,
  ],
  // Percent and numbers with units.
  [/(\d[\d,]*)(?:\.(\d+))?\s?%/g, (_m, int, frac) => ` ${amount(int!, frac)} percent `],
  [
    new RegExp(`(?<![\\w.])(\\d[\\d,]*)(?:\\.(\\d+))?\\s?(${UNIT_KEYS})(?![\\w])`, 'g'),
    (_m, int, frac, unit) => {
      const [one, many] = UNITS[unit!]!;
      return ` ${amount(int!, frac)} ${int === '1' && !frac ? one : many} `;
    },
  ],
  // Ordinals and decades: 1st, 22nd, 103rd, 4th; 1990s, '90s.
  [/\b(\d+)(?:st|nd|rd|th)\b/gi, (_m, d) => ` ${d!.length > 6 ? digitRun(d!) : ordinal(d!)} `],
  [/\b(1\d|20)(\d0)s\b/g, (_m, a, b) => ` ${pluralYear(`${a}${b}`)} `],
  // Years after words that announce them: in 1984, since 2010, by 2030.
  [
    /\b(in|since|by|of|from|until|till|year|around|circa|before|after)\s+(1[1-9]\d\d|20\d\d)\b(?![.,]\d)/gi,
    (_m, w, y) => ` ${w} ${year(y!)} `,
  ],
  // Abbreviations (before numbers, so "No. 5" and "Dr." lose their periods first).
  ...ABBREVIATIONS,
  [/\b([ap])\.m\./gi, (_m, ap) => ` ${ap!.toLowerCase()} m `],
  // Fractions and ranges between numbers.
  [/(?<![\w./])1\/2(?![\w/])/g, ' one half '],
  [/(?<![\w./])1\/4(?![\w/])/g, ' one quarter '],
  [/(?<![\w./])3\/4(?![\w/])/g, ' three quarters '],
  [
    /(?<![\w.,])(\d{1,6})\s?[-–]\s?(\d{1,6})(?![\w.,]?\d)/g,
    (_m, a, b) => ` ${digitRun(a!)} to ${digitRun(b!)} `,
  ],
  // Signed and decimal numbers, then every remaining digit run (thousands separators allowed).
  [/(^|[\s(])[-−](\d)/g, '$1minus $2'],
  [/\b\d+(?:\.\d+){2,}\b/g, (m) => ` ${m.split('.').map(digitRun).join(' point ')} `],
  [/(\d[\d,]*)\.(\d+)/g, (_m, int, frac) => ` ${amount(int!, frac)} `],
  [
    /\d{1,3}(?:,\d{3})+(?!\d)|\d+/g,
    (m) => {
      const digits = m.replace(/,/g, '');
      return ` ${digitRun(digits)} `;
    },
  ],
  // Symbols people say, and ones they do not.
  [/\s&\s|&/g, ' and '],
  [/\+/g, ' plus '],
  [/\s=\s|=/g, ' equals '],
  [/@/g, ' at '],
  [/#/g, ' number '],
  [/\s<\s/g, ' less than '],
  [/\s>\s/g, ' greater than '],
  [/~/g, ' about '],
  [/(\w)\/(\w)/g, '$1 or $2'],
  [/[*_^|\\`<>{}[\]/]+/g, ' '],
  // Words glued to nothing by what came before; very long "words" are cut so no token runs on for pages.
  [/[A-Za-z]{40,}/g, (m) => m.match(/.{1,24}/g)!.join(' ')],
];
