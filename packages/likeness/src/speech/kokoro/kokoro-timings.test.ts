import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { timingsFromDurations } from './kokoro-timings.ts';

describe('Kokoro timings', () => {
  it("places phonemes by the model's own durations (600-sample frames at 24 kHz), after the leading pad", () => {
    // "hˈi, " : pad(5) h(3) ˈ(1) i(4) ,(6) space(2) pad(1); sound starts 3 frames before the pad says
    const t = timingsFromDurations(['h', 'ˈ', 'i', ',', ' '], [5, 3, 1, 4, 6, 2, 1]);
    const f = 0.025;
    assert.deepEqual(
      t.map((p) => [p.phoneme, +(p.start / f).toFixed(3), +(p.end / f).toFixed(3)]),
      [
        ['hh', 2, 6], // the stress mark lends its frame to the sound before it
        ['iy', 6, 10],
        ['pau', 10, 18], // comma and space: one pause
      ],
    );
  });
});
