import sharp, { type Metadata } from 'sharp';
import { Problem } from '../errors.ts';

export type ImageFormat = 'png' | 'jpeg' | 'webp';

export interface RgbImage {
  /** Packed RGB, 3 bytes a pixel, row-major. */
  data: Uint8Array;
  width: number;
  height: number;
}

/** Formats we recognise but do not accept, so the error can name them. */
const OTHER_IMAGE_SIGNATURES: [string, (b: Uint8Array) => boolean][] = [
  ['GIF', (b) => ascii(b, 0, 4) === 'GIF8'],
  ['BMP', (b) => ascii(b, 0, 2) === 'BM'],
  ['TIFF', (b) => ascii(b, 0, 4) === 'II*\0' || ascii(b, 0, 4) === 'MM\0*'],
  ['AVIF/HEIC', (b) => ascii(b, 4, 8) === 'ftyp' && /^(avi|hei|hev|mif)/.test(ascii(b, 8, 12))],
  ['ICO', (b) => b[0] === 0 && b[1] === 0 && b[2] === 1 && b[3] === 0],
  ['SVG', (b) => /^\s*(<\?xml|<svg)/i.test(ascii(b, 0, 64))],
];

function ascii(b: Uint8Array, from: number, to: number): string {
  return Buffer.from(b.subarray(from, to)).toString('latin1');
}

export function sniffImageFormat(bytes: Uint8Array): ImageFormat | { other: string } | null {
  if (bytes[0] === 0x89 && ascii(bytes, 1, 4) === 'PNG') return 'png';
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  if (ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 12) === 'WEBP') return 'webp';
  for (const [name, test] of OTHER_IMAGE_SIGNATURES)
    if (bytes.length >= 4 && test(bytes)) return { other: name };
  return null;
}

/**
 * Checks and decodes an uploaded image: format by its bytes (not its name or declared type), pixel count
 * from the header before decoding, EXIF orientation applied, transparency flattened onto white.
 */
export async function decodeImage(
  bytes: Uint8Array,
  opts: { maxPixels: number },
): Promise<RgbImage & { format: ImageFormat }> {
  const format = sniffImageFormat(bytes);
  if (format === null) {
    throw new Problem(
      'not-an-image',
      'The uploaded file is not an image. Send a PNG, JPEG or WebP portrait.',
    );
  }
  if (typeof format === 'object') {
    throw new Problem(
      'unsupported-image-format',
      `${format.other} images are not supported. Convert the portrait to PNG, JPEG or WebP.`,
      { format: format.other.toLowerCase() },
    );
  }
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch {
    throw new Problem(
      'corrupt-image',
      `The ${format.toUpperCase()} file cannot be read: its header is damaged.`,
    );
  }
  const width = meta.autoOrient?.width ?? meta.width ?? 0;
  const height = meta.autoOrient?.height ?? meta.height ?? 0;
  if (width * height > opts.maxPixels) {
    throw new Problem(
      'image-too-large',
      `The image is ${width}x${height} (${width * height} pixels); the limit is ${opts.maxPixels} pixels. Resize it and try again.`,
      { width, height, max_pixels: opts.maxPixels },
    );
  }
  try {
    const { data, info } = await sharp(bytes, { failOn: 'truncated', limitInputPixels: opts.maxPixels })
      .rotate()
      .flatten({ background: '#ffffff' })
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`unexpected channel count ${info.channels}`);
    return {
      data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      width: info.width,
      height: info.height,
      format,
    };
  } catch {
    throw new Problem(
      'corrupt-image',
      `The ${format.toUpperCase()} file is truncated or corrupt and cannot be decoded.`,
    );
  }
}
