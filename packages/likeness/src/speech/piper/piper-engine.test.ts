import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { timingsFromDurations } from '../kokoro/kokoro-timings.ts';
import { phonemeFrames } from './piper-engine.ts';

describe('Piper durations', () => {
  it('gives each phoneme its own frames and its padding’s; the lead-in and the end apart', () => {
    // ^ _ h _ ə _ l _ $  (BOS, pad, then each phoneme and its pad, then EOS)
    assert.deepEqual(phonemeFrames([2, 3, 4, 1, 5, 0, 6, 2, 7], 3), [5, 5, 5, 8, 7]);
  });

  it('puts the phonemes on the audio clock at 256 samples a frame', () => {
    const frames = phonemeFrames([0, 10, 4, 1, 8, 2, 6, 0, 3], 3);
    const t = timingsFromDurations(['h', 'ə', 'l'], frames, {
      secondsPerFrame: 256 / 22050,
      leadOffsetFrames: 0,
    });
    assert.deepEqual(
      t.map((p) => [p.phoneme, Math.round(p.start * 22050), Math.round(p.end * 22050)]),
      [
        ['hh', 2560, 3840],
        ['ax', 3840, 6400],
        ['l', 6400, 7936],
      ],
    );
  });
});
