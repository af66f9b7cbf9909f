import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { Problem } from '../errors.ts';
import { decodeImage, sniffImageFormat } from './decode-image.ts';

const solid = (format: 'png' | 'jpeg' | 'webp' | 'gif' | 'tiff') =>
  sharp({ create: { width: 8, height: 6, channels: 3, background: '#ff0000' } })
    .toFormat(format)
    .toBuffer();

describe('image decoding', () => {
  it('recognises formats by their bytes', async () => {
    assert.equal(sniffImageFormat(await solid('png')), 'png');
    assert.equal(sniffImageFormat(await solid('jpeg')), 'jpeg');
    assert.equal(sniffImageFormat(await solid('webp')), 'webp');
    assert.deepEqual(sniffImageFormat(await solid('gif')), { other: 'GIF' });
    assert.deepEqual(sniffImageFormat(await solid('tiff')), { other: 'TIFF' });
    assert.deepEqual(sniffImageFormat(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>')), {
      other: 'SVG',
    });
    assert.equal(sniffImageFormat(Buffer.from('hello world')), null);
    assert.equal(sniffImageFormat(new Uint8Array(0)), null);
  });

  it('decodes to packed RGB with transparency flattened onto white', async () => {
    const png = await sharp({
      create: { width: 4, height: 2, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } },
    })
      .png()
      .toBuffer();
    const img = await decodeImage(png, { maxPixels: 100 });
    assert.deepEqual([img.width, img.height, img.data.length], [4, 2, 24]);
    assert.deepEqual([...img.data.subarray(0, 3)], [255, 255, 255]);
  });

  it('checks the pixel count before decoding', async () => {
    await assert.rejects(
      decodeImage(await solid('png'), { maxPixels: 47 }),
      (e) => e instanceof Problem && e.slug === 'image-too-large',
    );
  });
});
