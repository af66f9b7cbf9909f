/** Numbers as English words, the way people say them. Pure functions; no engine ever sees a long digit run. */

const ONES = [
  'zero',
  'one',
  'two',
  'three',
  'four',
  'five',
  'six',
  'seven',
  'eight',
  'nine',
  'ten',
  'eleven',
  'twelve',
  'thirteen',
  'fourteen',
  'fifteen',
  'sixteen',
  'seventeen',
  'eighteen',
  'nineteen',
];
const TENS = ['', '', 'twenty', 'thirty', 'forty', 'fifty', 'sixty', 'seventy', 'eighty', 'ninety'];
const SCALES = ['', 'thousand', 'million', 'billion', 'trillion', 'quadrillion'];

/** Cardinals are spelled up to this many digits; longer runs are read digit by digit (or summarised). */
export const MAX_CARDINAL_DIGITS = 15;

function below1000(n: number): string {
  const words: string[] = [];
  const hundreds = Math.floor(n / 100);
  const rest = n % 100;
  if (hundreds) words.push(`${ONES[hundreds]} hundred`);
  if (rest) {
    if (rest < 20) words.push(ONES[rest]!);
    else words.push(TENS[Math.floor(rest / 10)]! + (rest % 10 ? `-${ONES[rest % 10]}` : ''));
  }
  return words.join(' ');
}

/** "1234" -> "one thousand two hundred thirty-four". Digits only (no sign, no separators), up to 15 of them. */
export function cardinal(digits: string): string {
  const clean = digits.replace(/^0+(?=\d)/, '');
  if (!/^\d+$/.test(clean) || clean.length > MAX_CARDINAL_DIGITS) return digitByDigit(digits);
  if (/^0+$/.test(clean)) return 'zero';
  const groups: number[] = [];
  for (let end = clean.length; end > 0; end -= 3)
    groups.unshift(Number(clean.slice(Math.max(0, end - 3), end)));
  const words: string[] = [];
  groups.forEach((g, i) => {
    if (!g) return;
    const scale = SCALES[groups.length - 1 - i]!;
    words.push(scale ? `${below1000(g)} ${scale}` : below1000(g));
  });
  return words.join(' ');
}

const ORDINAL_IRREGULAR: Record<string, string> = {
  one: 'first',
  two: 'second',
  three: 'third',
  five: 'fifth',
  eight: 'eighth',
  nine: 'ninth',
  twelve: 'twelfth',
};

/** "21" -> "twenty-first". */
export function ordinal(digits: string): string {
  const words = cardinal(digits);
  const m = /([a-z]+)$/.exec(words);
  if (!m) return words;
  const last = m[1]!;
  const ord = ORDINAL_IRREGULAR[last] ?? (last.endsWith('y') ? `${last.slice(0, -1)}ieth` : `${last}th`);
  return words.slice(0, words.length - last.length) + ord;
}

/** "1984" -> "nineteen eighty-four", "2005" -> "two thousand five", "2024" -> "twenty twenty-four". */
export function year(digits: string): string {
  const n = Number(digits);
  if (!/^\d{4}$/.test(digits) || n < 1000) return cardinal(digits);
  if (n >= 2000 && n < 2010) return cardinal(digits);
  const hi = Math.floor(n / 100);
  const lo = n % 100;
  if (lo === 0) return `${cardinal(String(hi))} hundred`;
  return `${cardinal(String(hi))} ${lo < 10 ? `oh ${ONES[lo]}` : cardinal(String(lo))}`;
}

/** "2024" -> "twenty twenty-fours"-style plurals: "1990s" -> "nineteen nineties". */
export function pluralYear(digits: string): string {
  const words = year(digits);
  return words.endsWith('y') ? `${words.slice(0, -1)}ies` : `${words}s`;
}

/** "0042" -> "zero zero four two", read in groups of three or four with commas so it is paced like speech. */
export function digitByDigit(digits: string): string {
  const ds = digits.replace(/\D/g, '');
  const groups: string[] = [];
  const size = ds.length % 4 === 0 || ds.length > 12 ? 4 : 3;
  for (let i = 0; i < ds.length; i += size) groups.push(ds.slice(i, i + size));
  return groups.map((g) => [...g].map((d) => ONES[Number(d)]).join(' ')).join(', ');
}

/** Digit runs longer than this are not read out at all: nobody reads a 300-digit number aloud. */
export const MAX_SPOKEN_DIGITS = 24;

/** Any run of digits, said as a person would: a cardinal, digit by digit, or "a 300-digit number". */
export function digitRun(digits: string): string {
  if (digits.length > MAX_SPOKEN_DIGITS) return `a ${cardinal(String(digits.length))}-digit number`;
  if (digits.length > 1 && digits.startsWith('0')) return digitByDigit(digits);
  if (digits.length > MAX_CARDINAL_DIGITS) return digitByDigit(digits);
  return cardinal(digits);
}

/** "3.14" -> "three point one four"; "0.5" -> "zero point five". Integer part by digitRun. */
export function decimal(intPart: string, fraction: string): string {
  const frac = fraction.length > MAX_SPOKEN_DIGITS ? fraction.slice(0, MAX_SPOKEN_DIGITS) : fraction;
  return `${digitRun(intPart || '0')} point ${[...frac].map((d) => ONES[Number(d)]).join(' ')}`;
}
