import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Problem } from '../errors.ts';
import { splitForSpeech, splitSentences, validateSpeechText } from './text.ts';

const slugOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return e instanceof Problem ? e.slug : String(e);
  }
  return 'ok';
};

describe('speech text', () => {
  it('normalises whitespace and typographic punctuation', () => {
    assert.equal(
      validateSpeechText('  It\u2019s  \u201cfine\u201d\u2014really\u2026 '),
      'It\'s "fine", really...',
    );
  });

  it('rejects empty, too long and unsayable text with distinct problems', () => {
    assert.equal(
      slugOf(() => validateSpeechText(' \n ')),
      'validation-error',
    );
    assert.equal(
      slugOf(() => validateSpeechText('a'.repeat(11), { maxChars: 10 })),
      'text-too-long',
    );
    assert.equal(
      slugOf(() => validateSpeechText('Hello \u4f60\u597d')),
      'unsupported-characters',
    );
    assert.equal(validateSpeechText('Hello \u{1F600}'), 'Hello', 'emoji are not read out');
    assert.equal(
      slugOf(() => validateSpeechText('\u{1F600}\u{1F389}')),
      'validation-error',
    );
    assert.equal(validateSpeechText('It costs \u20ac5.'), 'It costs five euros.');
    assert.equal(
      slugOf(() => validateSpeechText('Caf\u00e9 at 5:30, 50% off & more!')),
      'ok',
    );
    assert.equal(
      slugOf(() => validateSpeechText('\u4f60\u597d', { latinOnly: false })),
      'ok',
    );
  });

  it('splits at sentence ends and cuts long sentences at commas', () => {
    assert.deepEqual(splitSentences('Hi there! How are you? Fine.'), ['Hi there!', 'How are you?', 'Fine.']);
    assert.deepEqual(splitSentences('No final stop'), ['No final stop']);
    const long = `${'word '.repeat(30)}, ${'more '.repeat(30)}end.`;
    const parts = splitSentences(long, 200);
    assert.ok(parts.length >= 2);
    assert.ok(parts.every((p) => p.length <= 200));
    assert.equal(parts.join(' ').replace(/\s+/g, ' '), long.replace(/\s+/g, ' ').trim());
  });

  it('speaks the first sentence in a short first piece, cut where a reader would breathe', () => {
    assert.deepEqual(splitForSpeech('Right then, that is a fine question. Next one.'), [
      'Right then,',
      'that is a fine question.',
      'Next one.',
    ]);
    assert.deepEqual(splitForSpeech('He fixed the old clock with a tiny screwdriver and a steady hand.'), [
      'He fixed the old clock',
      'with a tiny screwdriver and a steady hand.',
    ]);
    // An opening interjection is a piece by itself, as in a conversation's reply; a lone word before a comma
    // that is not one stays with its sentence.
    assert.deepEqual(splitForSpeech('Ah, hello there. Shall we?'), ['Ah,', 'hello there.', 'Shall we?']);
    assert.deepEqual(splitForSpeech('Now, look at this gear.'), ['Now,', 'look at this gear.']);
    assert.deepEqual(splitForSpeech('Gears, springs and levers.'), ['Gears, springs and levers.']);
    // From six words, before a phrase that leaves two words or more.
    assert.deepEqual(splitForSpeech('I built it in my workshop last winter.'), [
      'I built it',
      'in my workshop last winter.',
    ]);
    assert.deepEqual(splitForSpeech('Every piece was cut by hand.'), ['Every piece was cut', 'by hand.']);
    // Short sentences, and long ones with nowhere natural to cut, stay whole.
    assert.deepEqual(splitForSpeech('Hello there. Shall we?'), ['Hello there.', 'Shall we?']);
    assert.deepEqual(splitForSpeech('I want to go home.'), ['I want to go home.']);
    assert.deepEqual(splitForSpeech('The pendulum swings once a second.'), [
      'The pendulum swings once a second.',
    ]);
    assert.deepEqual(
      splitForSpeech('Seventeen enormous purple elephants danced gracefully across the frozen lake.'),
      ['Seventeen enormous purple elephants danced gracefully across the frozen lake.'],
    );
  });
});
