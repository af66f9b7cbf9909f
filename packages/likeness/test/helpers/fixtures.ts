import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { FFMPEG_PATH } from '../../src/media/ffmpeg.ts';

export const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures');
export const ASTRONAUT = path.join(FIXTURES, 'astronaut.png');
export const HOPPER = path.join(FIXTURES, 'grace_hopper.jpg');

export const readFixture = (file: string) => fs.readFileSync(file);
export const blob = (bytes: Uint8Array, type = 'application/octet-stream', name = 'upload') =>
  new File([new Uint8Array(bytes)], name, { type });

/** Bad inputs, made from the fixtures at run time. */
export async function badImages() {
  const astronaut = readFixture(ASTRONAUT);
  const small = await sharp(astronaut).resize(220, 220).toBuffer();
  return {
    text: Buffer.from('name,portrait\nada,not really an image\n'),
    gif: await sharp(astronaut).gif().toBuffer(),
    truncatedPng: astronaut.subarray(0, Math.floor(astronaut.length * 0.6)),
    truncatedJpeg: readFixture(HOPPER).subarray(0, 20_000),
    tooManyPixels: await sharp({ create: { width: 7000, height: 7000, channels: 3, background: '#808080' } })
      .png()
      .toBuffer(),
    noFace: await sharp({ create: { width: 512, height: 512, channels: 3, background: '#6a8caf' } })
      .png()
      .toBuffer(),
    twoFaces: await sharp({ create: { width: 1024, height: 512, channels: 3, background: '#ffffff' } })
      .composite([
        { input: astronaut, left: 0, top: 0 },
        { input: astronaut, left: 512, top: 0 },
      ])
      .png()
      .toBuffer(),
    tinyFace: await sharp({ create: { width: 700, height: 700, channels: 3, background: '#d8d4d6' } })
      .composite([{ input: small, left: 240, top: 240 }])
      .png()
      .toBuffer(),
    /** Noise does not compress: a PNG over the default 10 MB image limit. */
    tooManyBytes: await sharp(
      Buffer.from(Array.from({ length: 2000 * 1800 * 3 }, () => (Math.random() * 256) | 0)),
      {
        raw: { width: 2000, height: 1800, channels: 3 },
      },
    )
      .png({ compressionLevel: 0 })
      .toBuffer(),
  };
}

/** A short clip made from a still portrait, with a gentle head sway. */
export function makeVideo(format: 'mp4' | 'webm', seconds: number, source = ASTRONAUT): Buffer {
  const out = path.join(os.tmpdir(), `likeness-clip-${process.pid}-${Date.now()}.${format}`);
  const codec =
    format === 'mp4' ? ['-c:v', 'libx264', '-preset', 'ultrafast'] : ['-c:v', 'libvpx', '-b:v', '1M'];
  execFileSync(FFMPEG_PATH, [
    '-v',
    'error',
    '-y',
    '-loop',
    '1',
    '-i',
    source,
    '-t',
    String(seconds),
    '-vf',
    'scale=512:512,rotate=0.05*sin(2*PI*t/2):c=white',
    '-r',
    '25',
    '-pix_fmt',
    'yuv420p',
    ...codec,
    out,
  ]);
  const bytes = fs.readFileSync(out);
  fs.rmSync(out);
  return bytes;
}

/** A long, tiny, faceless clip: enough to trip the length limit quickly. */
export function makeLongVideo(seconds: number): Buffer {
  const out = path.join(os.tmpdir(), `likeness-long-${process.pid}-${Date.now()}.mp4`);
  execFileSync(FFMPEG_PATH, [
    '-v',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    `color=c=gray:s=64x64:r=2:d=${seconds}`,
    '-pix_fmt',
    'yuv420p',
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    out,
  ]);
  const bytes = fs.readFileSync(out);
  fs.rmSync(out);
  return bytes;
}
