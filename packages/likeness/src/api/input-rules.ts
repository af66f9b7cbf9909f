import { Problem } from '../errors.ts';

/**
 * The one rule for every string that enters through the API (path ids, query values, JSON and form fields):
 * no NUL, no control characters, no unpaired surrogates. Databases, logs and file names downstream all treat
 * these badly (Postgres refuses NUL in text: it became a 500). Free-text fields may hold line breaks and tabs.
 */
const FREE_TEXT_FIELDS = new Set(['text', 'prompt', 'persona', 'greeting']);
// C0 controls and DEL, C1 controls; free text additionally allows \t \n \r.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const CONTROL_IN_TEXT = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** True when text (which may hold line breaks and tabs) holds any other control character. */
export function hasControlCharacters(text: string): boolean {
  return CONTROL_IN_TEXT.test(text);
}

function describe(ch: string): string {
  return `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** Returns the first offending field, or undefined. Walks objects and arrays; ignores files and numbers. */
export function findBadString(
  value: unknown,
  path: string[] = [],
): { path: string; message: string } | undefined {
  if (typeof value === 'string') {
    const field = path.at(-1) ?? '';
    const bad = (FREE_TEXT_FIELDS.has(field) ? CONTROL_IN_TEXT : CONTROL).exec(value);
    if (bad)
      return {
        path: path.join('.') || '(value)',
        message: `contains the control character ${describe(bad[0])}`,
      };
    if (LONE_SURROGATE.test(value))
      return { path: path.join('.') || '(value)', message: 'contains an unpaired surrogate' };
    return undefined;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findBadString(value[i], [...path, String(i)]);
      if (found) return found;
    }
    return undefined;
  }
  if (value && typeof value === 'object' && !(value instanceof Blob)) {
    for (const [key, v] of Object.entries(value)) {
      const found = findBadString(v, [...path, key]);
      if (found) return found;
    }
  }
  return undefined;
}

/** Throws 400 validation-error when any string in the validated input breaks the rule. */
export function requireCleanStrings(value: unknown): void {
  const found = findBadString(value);
  if (found) {
    throw new Problem('validation-error', `Invalid request: ${found.path} ${found.message}.`, {
      errors: [found],
    });
  }
}
