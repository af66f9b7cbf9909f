import { execFileSync, spawnSync } from 'node:child_process';
import { FFMPEG_PATH } from '../../src/media/ffmpeg.ts';

/** Decodes a file's audio to 16-bit mono and counts samples; video frames are counted the same way. */
export function measureMp4(file: string, sampleRate: number) {
  const audio = execFileSync(
    FFMPEG_PATH,
    [
      '-v',
      'error',
      '-i',
      file,
      '-map',
      '0:a',
      '-f',
      's16le',
      '-ac',
      '1',
      '-ar',
      String(sampleRate),
      'pipe:1',
    ],
    {
      maxBuffer: 1 << 28,
    },
  );
  const video = execFileSync(
    FFMPEG_PATH,
    ['-v', 'error', '-i', file, '-map', '0:v', '-s', '16x16', '-f', 'rawvideo', '-pix_fmt', 'gray', 'pipe:1'],
    {
      maxBuffer: 1 << 28,
    },
  );
  // `ffmpeg -i` without an output prints the stream list and exits 1: read its stderr either way.
  const info = spawnSync(FFMPEG_PATH, ['-hide_banner', '-i', file], { encoding: 'utf8' }).stderr;
  return { audioSamples: audio.length / 2, videoFrames: video.length / 256, info };
}

/** True when the MP4's index (moov) comes before its media data (mdat): playable while downloading. */
export function isFastStart(bytes: Uint8Array): boolean {
  const text = Buffer.from(bytes).toString('latin1');
  const moov = text.indexOf('moov');
  const mdat = text.indexOf('mdat');
  return moov >= 0 && mdat >= 0 && moov < mdat;
}
