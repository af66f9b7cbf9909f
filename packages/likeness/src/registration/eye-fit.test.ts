import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { castIdentity, castRenderer, TEST_LIMITS } from '../../test/helpers/identity.ts';
import { NEUTRAL_FRAME } from '../animation/frame-params.ts';
import type { RgbImage } from './decode-image.ts';
import { EYE_LINES, fitEyesToPixels } from './eye-fit.ts';
import { FaceDetector } from './face-detector.ts';
import { identityFromImage } from './registrar.ts';

/** A drawn eye: white almond 80 px wide with a green iris and a black outline, on pink skin. */
function drawnEye(): RgbImage {
  const width = 240;
  const height = 160;
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const u = (x - 120) / 40;
      const v = (y - 80) / 16;
      const e = u * u + v * v;
      let rgb = [255, 220, 222];
      if (e <= 1) rgb = Math.hypot(x - 120, y - 80) < 13 ? [20, 180, 20] : [255, 255, 255];
      else if (e <= 1.15) rgb = [10, 10, 10];
      data.set(rgb, (y * width + x) * 3);
    }
  }
  return { data, width, height };
}

/** The mesh's eye: a small one (30 px) in the middle of the drawn one, as the face mesh puts it. */
function meshEye(): [number, number, number][] {
  const lm: [number, number, number][] = Array.from({ length: 478 }, () => [5, 5, 0]);
  const eye = EYE_LINES[0]!;
  eye.upper.forEach((id, k) => {
    lm[id] = [105 + (30 * k) / 8, 80 - 6 * Math.sin((Math.PI * k) / 8), 0];
  });
  eye.lower.forEach((id, k) => {
    lm[id] = [105 + (30 * k) / 8, 80 + 6 * Math.sin((Math.PI * k) / 8), 0];
  });
  return lm;
}

describe('eye fit', () => {
  it('moves a small mesh eye onto the drawn eye around it: corners at the white, lids at its edges', () => {
    const fit = fitEyesToPixels(drawnEye(), meshEye());
    assert.equal(fit.moved, 1);
    const eye = EYE_LINES[0]!;
    const [ox] = fit.landmarks[eye.upper[0]!]!;
    const [ix] = fit.landmarks[eye.upper.at(-1)!]!;
    assert.ok(
      Math.abs(ox - 80) <= 3 && Math.abs(ix - 160) <= 3,
      `corners at the white's ends (${ox}, ${ix})`,
    );
    const [, upperMid] = fit.landmarks[eye.upper[4]!]!;
    const [, lowerMid] = fit.landmarks[eye.lower[4]!]!;
    assert.ok(
      Math.abs(upperMid - 64) <= 2.5,
      `upper lid at the top of the white, over the iris (${upperMid})`,
    );
    assert.ok(Math.abs(lowerMid - 96) <= 2.5, `lower lid at the bottom (${lowerMid})`);
  });

  it('leaves an eye the mesh fits, and a photo, alone', async () => {
    const image = drawnEye();
    const lm = meshEye();
    const fitted = fitEyesToPixels(image, lm).landmarks;
    assert.equal(fitEyesToPixels(image, fitted).moved, 0, 'a fitted eye stays');
    const astronaut = fs.readFileSync(
      path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../test/fixtures/astronaut.png'),
    );
    const { identity, portrait } = await identityFromImage(astronaut, TEST_LIMITS, new FaceDetector());
    assert.equal(fitEyesToPixels(portrait, identity.landmarks).moved, 0);
  });

  it("closes Nora's whole drawn eye on a blink: her green irises disappear", async () => {
    const { identity } = await castIdentity('nora');
    const { renderer } = await castRenderer('nora');
    const green = (frame: Uint8Array) => {
      let n = 0;
      const lm = identity.landmarks;
      const ys = [...EYE_LINES[0]!.upper, ...EYE_LINES[1]!.lower].map((i) => lm[i]![1]);
      for (let y = Math.floor(Math.min(...ys)) - 10; y < Math.max(...ys) + 10; y++) {
        for (let x = 100; x < 412; x++) {
          const o = (y * 512 + x) * 4;
          if (frame[o + 1]! > 120 && frame[o]! < 80 && frame[o + 2]! < 80) n++;
        }
      }
      return n;
    };
    const open = green(renderer.render(NEUTRAL_FRAME));
    assert.ok(open > 50, `the irises show when open (${open} green px)`);
    // A few pixels may remain where a drawn iris touches the outline, above the lid's line.
    const closed = green(renderer.render({ ...NEUTRAL_FRAME, blink: 1 }));
    assert.ok(closed <= 5, `and hardly at all when closed (${closed} green px)`);
  });
});
