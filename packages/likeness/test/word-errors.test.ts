import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { wordErrors } from './helpers/word-errors.ts';

describe('word errors (the recogniser benches and tests score with it)', () => {
  it('counts substitutions, insertions and deletions; digits for number words are not errors', () => {
    assert.deepEqual(wordErrors('Book a table for two at seven.', 'Book a table for 2 at 7'), {
      errors: 0,
      words: 7,
    });
    assert.deepEqual(wordErrors('Turn left at the corner.', 'turn right at corner here'), {
      errors: 3,
      words: 5,
    });
    assert.equal(wordErrors('My favourite colour', 'my favorite color').errors, 0);
  });
});
