import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { castRenderer, darkMouthPixels } from '../../test/helpers/identity.ts';
import { NEUTRAL_FRAME } from '../animation/frame-params.ts';
import { MOUTH_TARGETS } from '../animation/visemes.ts';

const diff = (a: Uint8Array, b: Uint8Array) => {
  let n = 0;
  for (let i = 0; i < a.length; i += 4)
    if (Math.abs(a[i]! - b[i]!) + Math.abs(a[i + 1]! - b[i + 1]!) + Math.abs(a[i + 2]! - b[i + 2]!) > 30) n++;
  return n;
};

describe('portrait renderer', () => {
  it('renders the portrait unchanged at rest and the same frame for the same parameters', async () => {
    const { renderer } = await castRenderer('kai');
    const params = { ...NEUTRAL_FRAME, ...MOUTH_TARGETS.aa, headYaw: 2, blink: 0.5, gazeX: 0.05 };
    const a = renderer.render(params);
    const b = renderer.render(params);
    assert.deepEqual(a, b);
    const { renderer: other } = await castRenderer('kai');
    assert.deepEqual(other.render(params), a, 'a second renderer of the same identity draws the same pixels');
  });

  it('opens the mouth for open vowels and keeps it shut for m/b/p', async () => {
    const { identity, renderer } = await castRenderer('kai');
    const rest = darkMouthPixels(identity, renderer.render(NEUTRAL_FRAME), 512);
    const open =
      darkMouthPixels(identity, renderer.render({ ...NEUTRAL_FRAME, ...MOUTH_TARGETS.aa }), 512) - rest;
    const closed =
      darkMouthPixels(identity, renderer.render({ ...NEUTRAL_FRAME, ...MOUTH_TARGETS.PP }), 512) - rest;
    assert.ok(open > 300, `an open vowel shows the mouth cavity (${open} dark px more than at rest)`);
    assert.ok(closed < 30, `m/b/p shows no cavity (${closed} dark px more than at rest)`);
  });

  it('closes the eyelids on a blink and leaves the background still under head motion', async () => {
    const { identity, renderer } = await castRenderer('kai');
    const rest = renderer.render(NEUTRAL_FRAME);
    const blink = renderer.render({ ...NEUTRAL_FRAME, blink: 1 });
    const [ex, ey] = identity.landmarks[159]!; // upper lid of the image-left eye
    const [, ly] = identity.landmarks[145]!;
    const o = (Math.round((ey + ly) / 2) * 512 + Math.round(ex)) * 4;
    const skin = identity.palette.skin;
    const dist = (buf: Uint8Array) =>
      Math.abs(buf[o]! - skin[0]) + Math.abs(buf[o + 1]! - skin[1]) + Math.abs(buf[o + 2]! - skin[2]);
    assert.ok(dist(blink) < dist(rest) / 2, 'the eye centre turns lid-coloured');
    const turned = renderer.render({ ...NEUTRAL_FRAME, headYaw: 3, headRoll: 2 });
    assert.ok(diff(turned, rest) > 500, 'the face moves');
    for (const [x, y] of [
      [5, 5],
      [500, 10],
      [10, 500],
      [505, 505],
    ]) {
      const p = (y! * 512 + x!) * 4;
      assert.deepEqual(
        [...turned.subarray(p, p + 4)],
        [...rest.subarray(p, p + 4)],
        'the frame corners do not move',
      );
    }
  });

  it('draws at other sizes', async () => {
    const { renderer } = await castRenderer('kai', 256);
    assert.equal(renderer.render(NEUTRAL_FRAME).length, 256 * 256 * 4);
  });
});
