import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NEUTRAL_FRAME } from '../animation/frame-params.ts';
import { TEST_CARD_FLASH, TEST_CARD_GREY, TestCardFrames } from './test-card.ts';

describe('test card', () => {
  it('flashes white on the beep frame and fades over the next two, so a skipped frame still places it', () => {
    const card = new TestCardFrames(64);
    const corner = (beep: boolean, n: number) => card.render(NEUTRAL_FRAME, n, beep)[4 * (64 + 1)];
    const levels = [false, true, false, false, false, false, true, true, false].map((b, n) => corner(b, n));
    const [white, fade1, fade2] = TEST_CARD_FLASH;
    assert.deepEqual(levels, [
      TEST_CARD_GREY,
      white,
      fade1,
      fade2,
      TEST_CARD_GREY,
      TEST_CARD_GREY,
      white,
      white, // a beep lasting two frames stays white
      fade1,
    ]);
  });
});
