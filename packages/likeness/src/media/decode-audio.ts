import { spawn } from 'node:child_process';
import { Problem } from '../errors.ts';
import { FFMPEG_PATH } from './ffmpeg.ts';

/**
 * Any audio file ffmpeg reads (WAV, Ogg/Opus, WebM, MP3, FLAC, M4A...) -> 16 kHz mono 16-bit PCM, for the
 * recogniser. ffmpeg runs as a separate process on the bytes, niced; it stops after `maxSeconds` + 1 s of
 * output, so a long file is refused without decoding all of it.
 */
export async function decodeAudio(
  bytes: Uint8Array,
  opts: { maxSeconds: number; sampleRate?: number; timeoutMs?: number },
): Promise<Int16Array> {
  const rate = opts.sampleRate ?? 16_000;
  const child = spawn(
    'nice',
    [
      '-n',
      '5',
      FFMPEG_PATH,
      '-hide_banner',
      '-nostdin',
      '-loglevel',
      'error',
      '-i',
      'pipe:0',
      '-vn',
      '-ac',
      '1',
      '-ar',
      String(rate),
      '-t',
      String(opts.maxSeconds + 1),
      '-f',
      's16le',
      'pipe:1',
    ],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  const chunks: Buffer[] = [];
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => chunks.push(d));
  child.stderr.on('data', (d: Buffer) => {
    if (stderr.length < 4000) stderr += d.toString();
  });
  child.stdin.on('error', () => undefined); // ffmpeg may stop reading early (bad data, enough output)
  child.stdin.end(bytes);
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
  const code = await new Promise<number | null>((resolve) => {
    child.on('error', () => resolve(-1));
    child.on('close', (c) => resolve(c));
  });
  clearTimeout(timer);
  const out = Buffer.concat(chunks);
  if (code !== 0 || out.length < 2) {
    throw new Problem(
      'unsupported-audio',
      `The audio could not be decoded (${stderr.trim().split('\n').at(-1) || 'no audio stream'}). Send WAV, Ogg/Opus, WebM, MP3 or another common format.`,
    );
  }
  const pcm = new Int16Array(out.buffer, out.byteOffset, Math.floor(out.length / 2));
  if (pcm.length > opts.maxSeconds * rate) {
    throw new Problem(
      'audio-too-long',
      `The audio is longer than ${opts.maxSeconds} s (LIKENESS_MAX_AUDIO_S).`,
      {
        max_seconds: opts.maxSeconds,
      },
    );
  }
  return pcm.slice();
}
