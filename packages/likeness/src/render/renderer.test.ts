import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { castRenderer, darkMouthPixels } from '../../test/helpers/identity.ts';
import { NEUTRAL_FRAME } from '../animation/frame-params.ts';
import { MOUTH_TARGETS } from '../animation/visemes.ts';
import { FaceDetector } from '../registration/face-detector.ts';

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

  it('paints the open mouth as a mouth: tinted cavity, no black holes, upper teeth that stay with the skull', async () => {
    for (const name of ['kai', 'nora']) {
      const { identity, renderer } = await castRenderer(name);
      const lm = identity.landmarks;
      const cx = Math.round((lm[61]![0] + lm[291]![0]) / 2);
      const x0 = Math.round(Math.min(lm[61]![0], lm[291]![0]));
      const x1 = Math.round(Math.max(lm[61]![0], lm[291]![0]));
      const y0 = Math.round(lm[0]![1]) - 4;
      const y1 = Math.round(lm[17]![1]) + 40;
      const frame = (jawOpen: number) =>
        renderer.render({ ...NEUTRAL_FRAME, ...MOUTH_TARGETS.aa, jawOpen, teeth: 0.6 });
      const wide = frame(0.9);
      // No stray black pixels (the dots once left at the opening's edge).
      let black = 0;
      const strays: string[] = [];
      for (let y = y0; y <= y1; y++) {
        for (let x = x0; x <= x1; x++) {
          const o = (y * 512 + x) * 4;
          const isBlack = (k: number) => wide[k]! < 8 && wide[k + 1]! < 8 && wide[k + 2]! < 8;
          // A drawing's outline is black too, but in lines that fade; a stray dot sits alone among light pixels.
          const lumAt = (k: number) => 0.299 * wide[k]! + 0.587 * wide[k + 1]! + 0.114 * wide[k + 2]!;
          const ring = [-4, 4, -2048, 2048, -2052, -2044, 2044, 2052];
          if (isBlack(o) && ring.every((d) => lumAt(o + d) > 60)) {
            black++;
            strays.push(`${x},${y}`);
          }
        }
      }
      assert.equal(
        black,
        0,
        `${name}: no stray black pixels in the mouth (${black}; ${strays.slice(0, 8).join(' ')})`,
      );

      // Down the middle column: the lowest bright (teeth) pixel under the upper lip, and the lower lip's edge.
      const column = (f: Uint8Array) => {
        let teethEdge = -1;
        let lowerLip = -1;
        let inside = false;
        for (let y = Math.round(lm[13]![1]) - 6; y <= y1; y++) {
          const o = (y * 512 + cx) * 4;
          const lum = 0.299 * f[o]! + 0.587 * f[o + 1]! + 0.114 * f[o + 2]!;
          if (lum > 170 && f[o + 2]! > 150) teethEdge = y;
          if (lum < 60) inside = true;
          else if (inside && lowerLip < 0) lowerLip = y;
        }
        return { teethEdge, lowerLip };
      };
      const half = column(frame(0.45));
      const full = column(wide);
      assert.ok(
        half.teethEdge > 0 && full.teethEdge > 0,
        `${name}: upper teeth show (${half.teethEdge}, ${full.teethEdge})`,
      );
      assert.ok(
        full.lowerLip - half.lowerLip >= 5,
        `${name}: the lower lip drops with the jaw (${half.lowerLip} -> ${full.lowerLip})`,
      );
      // The cavity between the teeth and the lower lip is dark but tinted, not black.
      const o = (Math.round((full.teethEdge + full.lowerLip) / 2) * 512 + cx) * 4;
      const [r, g, b] = [wide[o]!, wide[o + 1]!, wide[o + 2]!];
      assert.ok(r > g + 8 && r > b + 8 && r > 20, `${name}: the cavity is tinted (${r}, ${g}, ${b})`);
      assert.ok(
        Math.abs(full.teethEdge - half.teethEdge) <= 3,
        `${name}: the upper teeth stay put (${half.teethEdge} -> ${full.teethEdge})`,
      );
    }
  });

  it('keeps the same face through speech, blinks, brows and head motion (the project detector re-finds it)', async () => {
    const detector = new FaceDetector();
    for (const name of ['kai', 'nora']) {
      const { identity, renderer } = await castRenderer(name);
      const lm = identity.landmarks;
      const faceWidth = Math.hypot(lm[454]![0] - lm[234]![0], lm[454]![1] - lm[234]![1]);
      const poses = [
        { ...NEUTRAL_FRAME, ...MOUTH_TARGETS.aa, jawOpen: 0.9 },
        { ...NEUTRAL_FRAME, ...MOUTH_TARGETS.O, blink: 0.7, browRaise: 0.9 },
        {
          ...NEUTRAL_FRAME,
          ...MOUTH_TARGETS.E,
          headYaw: 3,
          headPitch: 2,
          headRoll: -2,
          browInner: 0.8,
          smile: -0.3,
        },
      ];
      for (const [i, pose] of poses.entries()) {
        const rgba = renderer.render(pose);
        const rgb = new Uint8Array(512 * 512 * 3);
        for (let k = 0, j = 0; k < rgba.length; k += 4, j += 3) rgb.set(rgba.subarray(k, k + 3), j);
        const [found] = await detector.detect({ data: rgb, width: 512, height: 512 });
        assert.ok(found, `${name} pose ${i}: the face is found`);
        if (i >= 2) continue;
        // The middle of the face (nose tip, between the eyes) stays where the portrait has it: within 8 % of the
        // face's width (the detector itself wanders by about 5 % on drawings).
        const ids = [1, 168];
        const err = ids.map((id) =>
          Math.hypot(found.landmarks[id]![0] - lm[id]![0], found.landmarks[id]![1] - lm[id]![1]),
        );
        const worst = Math.max(...err) / faceWidth;
        assert.ok(
          worst < 0.08,
          `${name} pose ${i}: landmarks within ${(worst * 100).toFixed(1)} % of the face width (${err.map((e) => e.toFixed(1))})`,
        );
      }
    }
  });

  it('draws at other sizes', async () => {
    const { renderer } = await castRenderer('kai', 256);
    assert.equal(renderer.render(NEUTRAL_FRAME).length, 256 * 256 * 4);
  });
});
