import assert from 'node:assert/strict';
import { test } from 'node:test';
import { endOfTurnDelay, isBackchannel, looksComplete } from './end-of-turn.ts';

test('a finished question or sentence ends the turn after a short silence', () => {
  assert.equal(looksComplete('What is the weather like in Paris today?'), true);
  assert.equal(looksComplete('My name is Alice.'), true);
  assert.ok(endOfTurnDelay('Tell me a joke.') < 500);
});

test('a turn that trails off waits for the rest', () => {
  for (const t of [
    'I would like to book',
    'I was thinking about, um',
    'So my favourite colour is...',
    'and then,',
    'Because',
  ])
    assert.equal(looksComplete(t), false, t);
  assert.ok(endOfTurnDelay('I want to') > endOfTurnDelay('I want tea.'));
  assert.equal(looksComplete(''), false);
});

test('backchannels are told from real interruptions', () => {
  for (const t of ['Yeah.', 'mm-hm', 'Okay', 'Uh huh.', 'Right, right.', 'I see.'])
    assert.equal(isBackchannel(t), true, t);
  for (const t of ['Stop.', 'Wait, what?', 'Yeah but what about Paris?', '', 'No.'])
    assert.equal(isBackchannel(t), false, t);
});
