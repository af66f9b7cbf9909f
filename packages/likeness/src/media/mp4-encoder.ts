import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import type { Writable } from 'node:stream';
import { Problem } from '../errors.ts';
import { FFMPEG_PATH } from './ffmpeg.ts';

export interface Mp4EncoderOptions {
  width: number;
  height: number;
  fps: number;
  sampleRate: number;
  /** Output file; written with the index at the front (faststart) once the encoder finishes. */
  file: string;
}

function write(stream: Writable, data: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    const ok = stream.write(data, (err) => (err ? reject(err) : undefined));
    if (ok) resolve();
    else {
      const onDrain = () => {
        stream.off('error', onError);
        resolve();
      };
      const onError = (err: Error) => {
        stream.off('drain', onDrain);
        reject(err);
      };
      stream.once('drain', onDrain);
      stream.once('error', onError);
    }
  });
}

/**
 * H.264 (yuv420p) + AAC in MP4, fed while frames are rendered: RGBA frames on stdin, 16-bit mono PCM on a
 * second pipe (fd 3). `finish()` resolves only when ffmpeg exited cleanly and the file exists; any failure
 * rejects and removes the partial file, so a truncated MP4 is never handed out.
 */
export class Mp4Encoder {
  private readonly child;
  private readonly exited: Promise<{ code: number | null; stderr: string }>;
  private failed: Error | undefined;

  constructor(private readonly opts: Mp4EncoderOptions) {
    const args = [
      '-hide_banner',
      '-nostdin',
      '-v',
      'error',
      '-y',
      // Raw inputs need no probing; probing would wait for more audio than the first sentence gives
      // while we wait for it to take more video: a deadlock between the two pipes.
      '-probesize',
      '32',
      '-analyzeduration',
      '0',
      '-f',
      'rawvideo',
      '-pix_fmt',
      'rgba',
      '-s',
      `${opts.width}x${opts.height}`,
      '-r',
      String(opts.fps),
      '-i',
      'pipe:0',
      '-probesize',
      '32',
      '-analyzeduration',
      '0',
      '-f',
      's16le',
      '-ar',
      String(opts.sampleRate),
      '-ac',
      '1',
      '-i',
      'pipe:3',
      '-map',
      '0:v',
      '-map',
      '1:a',
      '-c:v',
      'libx264',
      '-preset',
      'veryfast',
      '-crf',
      '20',
      '-pix_fmt',
      'yuv420p',
      '-g',
      String(opts.fps * 2),
      '-c:a',
      'aac',
      '-b:a',
      '64k',
      // AAC codes 1024 samples a packet and this ffmpeg marks no end trim: a decoder plays the last packet whole.
      // At 48 kHz that is at most 21 ms past the last frame; at an engine's 16 kHz it was up to 64 ms.
      '-ar',
      '48000',
      '-movflags',
      '+faststart',
      '-f',
      'mp4',
      opts.file,
    ];
    this.child = spawn(FFMPEG_PATH, args, { stdio: ['pipe', 'ignore', 'pipe', 'pipe'] });
    // MP4s are batch work: below live sessions, whose frames are due every 40 ms.
    if (this.child.pid) {
      try {
        os.setPriority(this.child.pid, 5);
      } catch {
        // not permitted: same priority
      }
    }
    let stderr = '';
    this.child.stderr!.on('data', (d: Buffer) => {
      if (stderr.length < 8000) stderr += d.toString();
    });
    // Broken pipes surface through exit codes; keep them from becoming uncaught errors.
    this.child.stdin!.on('error', (e) => (this.failed ??= e));
    (this.child.stdio[3] as Writable).on('error', (e) => (this.failed ??= e));
    this.exited = new Promise((resolve) => {
      this.child.on('error', (err) => {
        this.failed ??= err;
        resolve({ code: -1, stderr: String(err) });
      });
      this.child.on('close', (code) => resolve({ code, stderr }));
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  private readonly pool: { buffer: Uint8Array; flushed: Promise<void> }[] = [];
  private poolNext = 0;

  /**
   * A frame buffer that the pipe no longer holds: render into it, then pass it to writeFrame. A small ring of
   * buffers, each reused only after the pipe flushed it, saves a 1 MB allocation (and its GC) per frame.
   */
  async frameBuffer(): Promise<Uint8Array> {
    const size = this.opts.width * this.opts.height * 4;
    if (this.pool.length < 4) {
      const slot = { buffer: new Uint8Array(size), flushed: Promise.resolve() };
      this.pool.push(slot);
      this.poolNext = this.pool.length % 4;
      return slot.buffer;
    }
    const slot = this.pool[this.poolNext]!;
    this.poolNext = (this.poolNext + 1) % this.pool.length;
    await slot.flushed;
    return slot.buffer;
  }

  async writeFrame(rgba: Uint8Array): Promise<void> {
    if (this.failed) throw this.error('the encoder stopped');
    const slot = this.pool.find((s) => s.buffer === rgba);
    const stdin = this.child.stdin!;
    let flushed!: () => void;
    const done = new Promise<void>((resolve) => {
      flushed = resolve;
    });
    if (slot) slot.flushed = done;
    const ok = stdin.write(rgba, () => flushed());
    if (!ok) {
      // A dead encoder never drains: wait for whichever comes first.
      let onDrain!: () => void;
      const drained = new Promise<'drain'>((resolve) => {
        onDrain = () => resolve('drain');
        stdin.once('drain', onDrain);
      });
      const outcome = await Promise.race([drained, this.exited.then(() => 'exit' as const)]);
      stdin.off('drain', onDrain);
      if (outcome === 'exit') throw this.error('the encoder stopped');
    }
  }

  async writeAudio(samples: Int16Array): Promise<void> {
    if (this.failed) throw this.error('the encoder stopped');
    await write(
      this.child.stdio[3] as Writable,
      new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength),
    );
  }

  async finish(): Promise<void> {
    this.child.stdin!.end();
    (this.child.stdio[3] as Writable).end();
    const { code, stderr } = await this.exited;
    if (code !== 0) {
      await fs.rm(this.opts.file, { force: true });
      throw this.error(`ffmpeg exited with ${code}: ${stderr.trim().slice(-300)}`);
    }
  }

  async abort(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.exited;
    await fs.rm(this.opts.file, { force: true });
  }

  private error(detail: string): Problem {
    return new Problem(
      'encoding-failed',
      `The video could not be encoded (${detail}). Nothing was produced; try again.`,
    );
  }
}
