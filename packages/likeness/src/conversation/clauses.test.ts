import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clauses } from './clauses.ts';

async function* deltas(text: string, size: number) {
  for (let i = 0; i < text.length; i += size) yield text.slice(i, i + size);
}
const collect = async (it: AsyncIterable<string>) => {
  const out: string[] = [];
  for await (const c of it) out.push(c);
  return out;
};

describe('clauses', () => {
  it('speaks a short first clause, then whole sentences, whatever the delta sizes', async () => {
    const text = 'Well, hello there Ada! The mill was built in 1820. It still turns, slowly, every day.';
    for (const size of [1, 3, 7, 100]) {
      assert.deepEqual(await collect(clauses(deltas(text, size))), [
        'Well,',
        'hello there Ada!',
        'The mill was built in 1820.',
        'It still turns, slowly, every day.',
      ]);
    }
  });

  it('ends the first clause at a comma once it has two words', async () => {
    assert.deepEqual(await collect(clauses(deltas('Oh yes, I remember the river. It was cold.', 2))), [
      'Oh yes,',
      'I remember the river.',
      'It was cold.',
    ]);
  });

  it('does not end a sentence at a decimal point, an abbreviation or inside a number', async () => {
    assert.deepEqual(
      await collect(clauses(deltas('Sure thing. Dr. Lee paid $3.50 for 2.5 kg of flour. Done!', 1))),
      ['Sure thing.', 'Dr. Lee paid $3.50 for 2.5 kg of flour.', 'Done!'],
    );
  });

  it('cuts a first clause without punctuation after a few words, and flushes the rest', async () => {
    const out = await collect(clauses(deltas('one two three four five six seven eight nine', 1)));
    assert.equal(out[0], 'one two three four five');
    assert.equal(out.join(' '), 'one two three four five six seven eight nine');
  });

  it('cuts the first clause at a phrase boundary, never after a word a phrase cannot end on', async () => {
    const first = async (text: string) => (await collect(clauses(deltas(text, 2))))[0];
    // Before a phrase start, once it has three words.
    assert.equal(
      await first('I spend my days at the mill grinding wheat for the village'),
      'I spend my days',
    );
    assert.equal(await first('I love my work but it is cold'), 'I love my work');
    // Not when the word before is weak ("is"): on to five words, then past "I".
    assert.equal(await first('The mill is where I work all day long'), 'The mill is where I work');
    // Past weak words to eight at most.
    assert.equal(
      await first('one two three four the the the the the the'),
      'one two three four the the the the',
    );
  });

  it('ends the first clause while the model is still writing: it never waits for the end of the reply', async () => {
    const text = 'I love my work but it is all so cold and I am stuck in the house for weeks at a time.';
    let pulled = 0;
    const counted = (async function* () {
      for await (const d of deltas(text, 1)) {
        pulled++;
        yield d;
      }
    })();
    for await (const first of clauses(counted)) {
      assert.equal(first, 'I love my work');
      // Cut once "but" was whole (followed by a space), long before the reply's end.
      assert.equal(pulled, 'I love my work but '.length);
      break;
    }
  });

  it('ends the first clause at "!", "?" or a comma after a letter without waiting for the next token', async () => {
    for (const text of ['Hello there!', 'Who is asking?', 'Oh yes,']) {
      let pulled = 0;
      const counted = (async function* () {
        for (const d of [text, ' And then the rest of it.']) {
          pulled++;
          yield d;
        }
      })();
      for await (const first of clauses(counted)) {
        assert.equal(first, text);
        assert.equal(pulled, 1, `${text}: cut before the next delta`);
        break;
      }
    }
    // A comma inside a number still waits for what follows it.
    assert.deepEqual(await collect(clauses(deltas('It cost 1,500 pounds then.', 1))), [
      'It cost 1,500 pounds then.',
    ]);
  });

  it('lets an interjection or a dash end the first clause', async () => {
    assert.deepEqual(await collect(clauses(deltas('Well, the mill is old. It turns.', 3))), [
      'Well,',
      'the mill is old.',
      'It turns.',
    ]);
    assert.deepEqual(await collect(clauses(deltas('The job \u2013 it is all about care.', 2))), [
      'The job \u2013',
      'it is all about care.',
    ]);
    assert.deepEqual(await collect(clauses(deltas('The old job - it is all about care.', 2))), [
      'The old job -',
      'it is all about care.',
    ]);
    // Not a lone word that is not an interjection.
    assert.deepEqual(await collect(clauses(deltas('Bread, I think, is best.', 2))), [
      'Bread, I think,',
      'is best.',
    ]);
  });
});
