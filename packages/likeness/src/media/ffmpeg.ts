import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** Path to the static ffmpeg shipped inside the @ffmpeg-installer npm package (no system install needed). */
export const FFMPEG_PATH: string =
  process.env.LIKENESS_FFMPEG ?? (require('@ffmpeg-installer/ffmpeg') as { path: string }).path;

/** Runs ffmpeg to completion and returns its stderr (where it writes stream information). */
export function runFfmpeg(
  args: string[],
  opts: { timeoutMs?: number } = {},
): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(FFMPEG_PATH, ['-hide_banner', '-nostdin', ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      if (stderr.length < 64_000) stderr += d.toString();
    });
    const timer = opts.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs) : undefined;
    child.on('error', reject);
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

export interface ProbeResult {
  durationS: number;
  video: { codec: string; width: number; height: number } | null;
  hasAudio: boolean;
}

/** ffprobe is not in the package, so stream facts are read from `ffmpeg -i`'s banner. */
export async function probeMedia(file: string): Promise<ProbeResult | null> {
  const { stderr } = await runFfmpeg(['-i', file], { timeoutMs: 15_000 });
  const duration = /Duration: (\d+):(\d+):(\d+(?:\.\d+)?)/.exec(stderr);
  if (!duration) return null;
  const durationS = Number(duration[1]) * 3600 + Number(duration[2]) * 60 + Number(duration[3]);
  const video = /Stream #\d+:\d+.*?: Video: (\w+)[^\n]*?, (\d{2,5})x(\d{2,5})/.exec(stderr);
  return {
    durationS,
    video: video ? { codec: video[1]!, width: Number(video[2]), height: Number(video[3]) } : null,
    hasAudio: /Stream #\d+:\d+.*?: Audio:/.test(stderr),
  };
}
