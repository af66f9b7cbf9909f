import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { speakable } from './speakable.ts';

async function* deltas(text: string, size: number) {
  for (let i = 0; i < text.length; i += size) yield text.slice(i, i + size);
}
async function say(text: string, size = 3, opts = {}) {
  let out = '';
  for await (const d of speakable(deltas(text, size), opts)) out += d;
  return out.replace(/\s+/g, ' ').trim();
}

describe('speakable replies', () => {
  it('drops markdown and stage directions', async () => {
    assert.equal(await say('*smiles warmly* Hello **there**, `friend`!'), 'Hello there, friend!');
  });

  it('stops where the model starts writing the next turn', async () => {
    assert.equal(await say('I like the river. User: what about you? Assistant: me too'), 'I like the river.');
    assert.equal(await say('Sure thing!\n\nAnother paragraph nobody asked for.'), 'Sure thing!');
    assert.equal(await say('Yes.<|im_end|><|im_start|>user'), 'Yes.');
  });

  it('keeps at most three sentences and a few hundred characters', async () => {
    assert.equal(await say('One. Two! Three? Four. Five.', 1), 'One. Two! Three?');
    const long = await say('word '.repeat(200), 5, { maxChars: 100 });
    assert.ok(long.length <= 101, long);
  });

  it('passes plain speech through unchanged, in pieces as they come', async () => {
    const pieces: string[] = [];
    for await (const d of speakable(deltas('The mill turns. It is old.', 4))) pieces.push(d);
    assert.ok(pieces.length > 2, 'streamed, not held to the end');
    assert.equal(pieces.join(''), 'The mill turns. It is old.');
  });
});
