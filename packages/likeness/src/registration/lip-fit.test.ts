import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { castIdentity } from '../../test/helpers/identity.ts';
import type { RgbImage } from './decode-image.ts';
import { fitLipsToPixels } from './lip-fit.ts';

/** A flat pink face with red lips (outlined in black, black seam) under a nose line, as drawings have. */
function drawnMouth(): { image: RgbImage; lipsTop: number; seam: number; lipsBottom: number } {
  const width = 200;
  const height = 200;
  const data = new Uint8Array(width * height * 3);
  const lipsTop = 120;
  const seam = 128;
  const lipsBottom = 138;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      let rgb = [250, 214, 218];
      const inLips = x >= 70 && x <= 130 && y >= lipsTop && y <= lipsBottom;
      if (inLips) rgb = y === seam || y === lipsTop || y === lipsBottom ? [20, 10, 10] : [225, 20, 25];
      data.set(rgb, o);
    }
  }
  return { image: { data, width, height }, lipsTop, seam, lipsBottom };
}

/** 478 landmarks: the lips where a face mesh put a drawn mouth (too high), everything else far away. */
function meshLandmarks(mouthY: number): [number, number, number][] {
  const lm: [number, number, number][] = Array.from({ length: 478 }, () => [10, 10, 0]);
  const line = (ids: number[], y: number) =>
    ids.forEach((id, k) => {
      lm[id] = [72 + (56 * k) / (ids.length - 1), y, 0];
    });
  line([61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291], mouthY - 6);
  line([78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308], mouthY);
  line([78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308], mouthY);
  line([146, 91, 181, 84, 17, 314, 405, 321, 375, 291], mouthY + 6);
  lm[61] = [72, mouthY, 0];
  lm[291] = [128, mouthY, 0];
  return lm;
}

describe('lip fit', () => {
  it('moves a mesh mouth placed above drawn lips onto them: outer lips on their edges, inner on the seam', () => {
    const { image, lipsTop, seam, lipsBottom } = drawnMouth();
    const fit = fitLipsToPixels(image, meshLandmarks(96));
    assert.ok(fit.moved, 'the lips moved');
    const [, y13] = fit.landmarks[13]!;
    const [, y14] = fit.landmarks[14]!;
    assert.ok(Math.abs(y13 - seam) <= 1.5, `upper inner lip on the seam (${y13} vs ${seam})`);
    assert.ok(Math.abs(y14 - seam) <= 1.5, `lower inner lip on the seam (${y14} vs ${seam})`);
    assert.ok(Math.abs(fit.landmarks[0]![1] - lipsTop) <= 2, 'upper lip top on the red top edge');
    assert.ok(Math.abs(fit.landmarks[17]![1] - lipsBottom) <= 2, 'lower lip bottom on the red bottom edge');
  });

  it('leaves a mesh that already sits on the lips alone', () => {
    const { image, seam } = drawnMouth();
    const lm = meshLandmarks(seam);
    const fit = fitLipsToPixels(image, lm);
    assert.equal(fit.moved, false);
    assert.equal(fit.landmarks, lm);
  });

  it('leaves a picture without coloured lips alone', () => {
    const { image } = drawnMouth();
    image.data.fill(200);
    assert.equal(fitLipsToPixels(image, meshLandmarks(96)).moved, false);
  });

  it('fits the inner lips of a mouth drawn open to the opening: its ends and its top and bottom edges', () => {
    // An open smile: a half-ellipse of tongue (orange) and cavity (dark red) inside a black outline.
    const width = 200;
    const height = 200;
    const data = new Uint8Array(width * height * 3);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const u = (x - 100) / 30;
        const v = (y - 120) / 18;
        let rgb = [255, 230, 205];
        const inside = y >= 120 && u * u + v * v <= 1;
        const edge = y >= 118 && u * u + v * v <= 1.25 && !inside;
        if (inside) rgb = y < 126 ? [130, 45, 45] : [245, 80, 50];
        else if (edge || (y >= 118 && y < 120 && Math.abs(u) <= 1.1)) rgb = [10, 10, 10];
        data.set(rgb, (y * width + x) * 3);
      }
    }
    // The mesh: open at rest but shifted 14 px to the left of the drawing.
    const lm = meshLandmarks(124);
    const shift = (ids: number[], dy: number) =>
      ids.forEach((id) => {
        lm[id] = [lm[id]![0] - 14 + 2, lm[id]![1] + dy, 0];
      });
    shift([78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308], -4);
    shift([95, 88, 178, 87, 14, 317, 402, 318, 324], 8);
    shift([61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 146, 91, 181, 84, 17, 314, 405, 321, 375], 0);
    const fit = fitLipsToPixels({ data, width, height }, lm);
    assert.ok(fit.moved, 'moved');
    const [l78] = fit.landmarks[78]!;
    const [r308] = fit.landmarks[308]!;
    assert.ok(l78 > 70 - 1 && l78 < 76, `left inner corner at the opening's end (${l78})`);
    assert.ok(r308 > 124 && r308 < 131, `right inner corner at the opening's end (${r308})`);
    assert.ok(
      Math.abs(fit.landmarks[13]![1] - 120.5) <= 1.5,
      `upper inner lip on the top edge (${fit.landmarks[13]![1]})`,
    );
    assert.ok(
      Math.abs(fit.landmarks[14]![1] - 137.5) <= 1.5,
      `lower inner lip on the bottom edge (${fit.landmarks[14]![1]})`,
    );
  });

  it("puts Nora's mouth on her red lips (the face mesh places it on the skin above them)", async () => {
    const { identity, png } = await castIdentity('nora');
    const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const red = (x: number, y: number) => {
      const o = (Math.round(y) * info.width + Math.round(x)) * 3;
      return data[o]! - Math.max(data[o + 1]!, data[o + 2]!);
    };
    const lm = identity.landmarks;
    // Just above the upper inner lip and just below the lower one: lip red on both sides of the seam.
    for (const id of [82, 13, 312]) assert.ok(red(lm[id]![0], lm[id]![1] - 2.5) > 100, `red above ${id}`);
    for (const id of [87, 14, 317]) assert.ok(red(lm[id]![0], lm[id]![1] + 2.5) > 100, `red below ${id}`);
    // The old placement's fault: skin (pale pink) above the upper lip's top.
    assert.ok(red(lm[0]![0], lm[0]![1] - 4) < 60, 'skin above the upper lip');
  });
});
