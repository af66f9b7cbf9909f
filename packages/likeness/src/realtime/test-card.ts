import type { FrameParams } from '../animation/frame-params.ts';
import type { FrameSource, Synthesizer } from './media-session.ts';
import { FPS, SAMPLE_RATE } from './media-session.ts';

export const TEST_CARD_SLUG = 'test-card';
const FRAME_SAMPLES = SAMPLE_RATE / FPS;
const BEEP_HZ = 1000;

// Seven segments: a (top), b (top right), c (bottom right), d (bottom), e (bottom left), f (top left), g (middle).
const SEGMENTS: Record<string, string> = {
  '0': 'abcdef',
  '1': 'bc',
  '2': 'abdeg',
  '3': 'abcdg',
  '4': 'bcfg',
  '5': 'acdfg',
  '6': 'acdefg',
  '7': 'abc',
  '8': 'abcdefg',
  '9': 'abcdfg',
};

/**
 * Background levels: grey, then a flash: white on the frame whose audio beeps, fading over the next two. A
 * player that skips frames under load (Chromium does, a few a minute) may miss the white one; a fading frame
 * still places the flash, as its level says how many frames after the beep it is.
 */
export const TEST_CARD_GREY = 96;
export const TEST_CARD_FLASH: readonly number[] = [255, 224, 192];

/**
 * The sync test card's picture: its frame number in large digits, on grey; white on exactly the frames whose
 * audio beeps, then fading over the next two (224, 192). Any client can measure audio/video offset by timing
 * the flashes against the beeps.
 */
export class TestCardFrames implements FrameSource {
  private readonly out: Uint8Array;
  /** Frames since the last beep frame (rendered in order, one card per session). */
  private sinceBeep: number = TEST_CARD_FLASH.length;

  constructor(readonly size: number) {
    this.out = new Uint8Array(size * size * 4);
  }

  render(_params: FrameParams, frame: number, beep: boolean): Uint8Array {
    const size = this.size;
    const out = this.out;
    this.sinceBeep = beep ? 0 : Math.min(TEST_CARD_FLASH.length, this.sinceBeep + 1);
    const bg = TEST_CARD_FLASH[this.sinceBeep] ?? TEST_CARD_GREY;
    const px = new Uint32Array(out.buffer);
    px.fill((0xff << 24) | (bg << 16) | (bg << 8) | bg);
    const text = String(frame);
    const h = Math.round(size * 0.3);
    const w = Math.round(h * 0.55);
    const t = Math.max(3, Math.round(h * 0.11));
    const gap = Math.round(w * 0.3);
    const total = text.length * w + (text.length - 1) * gap;
    let x0 = Math.round((size - total) / 2);
    const y0 = Math.round((size - h) / 2);
    const rect = (x: number, y: number, rw: number, rh: number) => {
      for (let yy = Math.max(0, y); yy < Math.min(size, y + rh); yy++)
        px.fill(0xff000000, yy * size + Math.max(0, x), yy * size + Math.min(size, x + rw));
    };
    for (const ch of text) {
      const on = SEGMENTS[ch] ?? '';
      const half = Math.round(h / 2);
      if (on.includes('a')) rect(x0, y0, w, t);
      if (on.includes('b')) rect(x0 + w - t, y0, t, half);
      if (on.includes('c')) rect(x0 + w - t, y0 + half, t, h - half);
      if (on.includes('d')) rect(x0, y0 + h - t, w, t);
      if (on.includes('e')) rect(x0, y0 + half, t, h - half);
      if (on.includes('f')) rect(x0, y0, t, half);
      if (on.includes('g')) rect(x0, y0 + half - Math.round(t / 2), w, t);
      x0 += w + gap;
    }
    return out;
  }
}

/** One second of audio per 15 characters of text (1-60 s), with a 1 kHz beep of one video frame each second. */
export const beepSynthesizer: Synthesizer = async function* (text, _voice, signal) {
  const seconds = Math.min(60, Math.max(1, Math.ceil(text.length / 15)));
  for (let s = 0; s < seconds && !signal.aborted; s++) {
    const samples = new Int16Array(SAMPLE_RATE);
    for (let i = 0; i < FRAME_SAMPLES; i++)
      samples[i] = Math.round(16_000 * Math.sin((2 * Math.PI * BEEP_HZ * i) / SAMPLE_RATE));
    yield { samples, visemes: [], beep: Array.from({ length: FPS }, (_, i) => i === 0) };
  }
};
