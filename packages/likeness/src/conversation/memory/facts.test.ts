import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeFacts, extractFacts } from './facts.ts';

const facts = (text: string) => Object.fromEntries(extractFacts(text).map((f) => [f.key, f.value]));

describe('facts from what the user says', () => {
  it('finds names, likes, dislikes, home, work and family', () => {
    assert.deepEqual(facts('Hi, my name is Ada Lovelace.'), { name: 'Ada Lovelace' });
    assert.deepEqual(facts("Hello, I'm Grace."), { name: 'Grace' });
    assert.deepEqual(facts("I'm tired today."), {});
    assert.deepEqual(facts('I really love green tea and long walks.'), {
      'likes green tea': 'green tea and long walks',
    });
    assert.deepEqual(facts("I can't stand loud music!"), { 'dislikes loud music': 'loud music' });
    assert.deepEqual(facts('I live in Lisbon, near the river.'), { home: 'Lisbon' });
    assert.deepEqual(facts('I work as a nurse.'), { work: 'nurse' });
    assert.deepEqual(facts('My favorite color is blue.'), { 'favorite color': 'blue' });
    assert.deepEqual(facts("My dog's name is Biscuit."), { "dog's name": 'Biscuit' });
    assert.deepEqual(facts("I'm 34 years old"), { age: '34' });
  });

  it('finds nothing in questions and small talk', () => {
    for (const text of ['What is your name?', 'How are you?', 'Tell me about the mill.', 'Nice weather.'])
      assert.deepEqual(facts(text), {}, text);
  });

  it('reads facts back as one sentence', () => {
    assert.equal(
      describeFacts([
        { key: 'name', value: 'Ada' },
        { key: 'likes tea', value: 'tea' },
      ]),
      'their name is Ada; they like tea',
    );
  });
});

it('a name stops at the name, and a liked thing is keyed by its words, not a trailing preposition', () => {
  const facts = extractFacts(
    'My name is Alice and I really like green tea with honey, but only in the morning.',
  );
  assert.deepEqual(
    facts.find((f) => f.key === 'name'),
    { key: 'name', value: 'Alice' },
  );
  assert.ok(
    facts.some((f) => f.key === 'likes green tea'),
    JSON.stringify(facts),
  );
  assert.deepEqual(
    extractFacts('my name is Ada Lovelace.').find((f) => f.key === 'name'),
    { key: 'name', value: 'Ada Lovelace' },
  );
});
