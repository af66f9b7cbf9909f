import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VideoHold } from './video-hold.ts';

describe('VideoHold', () => {
  const make = () => {
    const sent: { frame: string; atTick: number }[] = [];
    let now = -1;
    const hold = new VideoHold<string>({
      holdTicks: 3,
      ticksPerFrame: 4,
      send: (frame) => sent.push({ frame, atTick: now }),
    });
    const tick = (t: number) => {
      now = t;
      hold.tick(t);
    };
    return { hold, sent, tick };
  };

  it('sends each frame with the audio tick three after its own, drawn before or after that audio', () => {
    const { hold, sent, tick } = make();
    hold.push('f0', 0); // drawn in the loop, before tick 0's audio
    for (let t = 0; t < 4; t++) tick(t);
    tick(4);
    hold.push('f1', 1); // drawn on a render thread, after tick 4's audio
    for (let t = 5; t < 9; t++) tick(t);
    assert.deepEqual(sent, [
      { frame: 'f0', atTick: 3 },
      { frame: 'f1', atTick: 7 },
    ]);
  });

  it('sends a frame drawn after its release tick at once, and keeps the order', () => {
    const { hold, sent, tick } = make();
    for (let t = 0; t <= 9; t++) tick(t);
    hold.push('late', 1); // due at tick 7, already past
    hold.push('next', 2); // due at tick 11
    assert.deepEqual(sent, [{ frame: 'late', atTick: 9 }]);
    assert.equal(hold.size, 1);
    tick(10);
    tick(11);
    assert.deepEqual(sent.at(-1), { frame: 'next', atTick: 11 });
  });

  it('gives released frames back for reuse, never one still waiting', () => {
    const { hold, tick } = make();
    hold.push('a', 0);
    assert.equal(hold.take(), undefined);
    tick(3);
    assert.equal(hold.take(), 'a');
    assert.equal(hold.take(), undefined);
  });
});
