import sharp from 'sharp';

export interface SheetFrame {
  n: number;
  label: string;
  rgba: Uint8Array;
}

const escapeXml = (s: string) => s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A grid of frames with a caption under each (frame number and viseme), to judge an utterance at a glance. */
export async function contactSheet(
  frames: SheetFrame[],
  size: number,
  opts: {
    tile?: number;
    columns?: number;
    crop?: { left: number; top: number; width: number; height: number };
  } = {},
): Promise<Buffer> {
  const tile = opts.tile ?? 160;
  const columns = opts.columns ?? 8;
  const caption = 22;
  const rows = Math.max(1, Math.ceil(frames.length / columns));
  const tiles = await Promise.all(
    frames.map(async (f, i) => {
      const image = await sharp(f.rgba, { raw: { width: size, height: size, channels: 4 } })
        .removeAlpha()
        .extract(opts.crop ?? { left: 0, top: 0, width: size, height: size })
        .resize(tile, tile)
        .png()
        .toBuffer();
      const text = Buffer.from(
        `<svg width="${tile}" height="${caption}"><rect width="100%" height="100%" fill="#f4f4f4"/>` +
          `<text x="${tile / 2}" y="16" font-family="sans-serif" font-size="13" text-anchor="middle" fill="#222">` +
          `${escapeXml(`#${f.n}  ${f.label}`)}</text></svg>`,
      );
      const left = (i % columns) * tile;
      const top = Math.floor(i / columns) * (tile + caption);
      return [
        { input: image, left, top },
        { input: text, left, top: top + tile },
      ];
    }),
  );
  return sharp({
    create: { width: columns * tile, height: rows * (tile + caption), channels: 3, background: '#ffffff' },
  })
    .composite(tiles.flat())
    .png()
    .toBuffer();
}
