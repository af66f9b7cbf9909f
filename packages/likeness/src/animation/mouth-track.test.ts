import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultIdleProfile } from '../registration/identity.ts';
import { AnimationTrack } from './animation-track.ts';
import { MouthTrack } from './mouth-track.ts';
import type { TimedViseme } from './visemes.ts';

// "pause, m, aa, p, pause" with a bilabial in the middle of an open vowel context.
const visemes: TimedViseme[] = [
  { viseme: 'sil', start: 0, end: 0.17 },
  { viseme: 'PP', start: 0.17, end: 0.25 },
  { viseme: 'aa', start: 0.25, end: 0.45 },
  { viseme: 'PP', start: 0.45, end: 0.52 },
  { viseme: 'aa', start: 0.52, end: 0.7 },
  { viseme: 'sil', start: 0.7, end: 1.2 },
];

describe('mouth track', () => {
  const track = new MouthTrack(visemes, { fps: 25 });

  it('closes the lips fully on m, b and p, even between open vowels', () => {
    for (const t of [0.21, 0.485]) {
      const m = track.at(t);
      assert.equal(m.shape.lipClosure, 1, `closure at ${t}`);
      assert.ok(m.shape.jawOpen < 0.15, `jaw nearly shut at ${t}: ${m.shape.jawOpen}`);
    }
  });

  it('opens on open vowels and rests in silence', () => {
    assert.ok(track.at(0.35).shape.jawOpen > 0.6);
    assert.equal(track.at(1.0).shape.jawOpen, 0);
    assert.equal(track.at(1.0).viseme, 'sil');
  });

  it('anticipates the next shape and releases smoothly (coarticulation)', () => {
    // 30 ms before the second vowel starts, inside the closure, the jaw is still shut; 30 ms after the
    // closure ends it is on its way open but not yet fully.
    const during = track.at(0.56).shape.jawOpen;
    assert.ok(during > 0.2 && during < 0.85, `partially open just after the release: ${during}`);
    const release = track.at(0.73).shape.jawOpen; // 30 ms into the silence
    assert.ok(release > 0 && release < track.at(0.65).shape.jawOpen, 'released over time, not cut');
  });

  it('after a pause, shows nothing before the frame that carries the first sound', () => {
    // The first sound starts at 0.17 s: in frame 4 (0.16..0.20 s). Frame 3 (0.12 s) must be at rest.
    assert.equal(track.at(3 / 25).speaking, 0);
    assert.ok(track.at(4 / 25).speaking > 0.3, 'frame 4 already moves');
  });

  it('is a pure function of time and seed', () => {
    const idle = defaultIdleProfile('idn_test');
    const a = new AnimationTrack({ visemes, idle, mood: 'happy', seed: 7, fps: 25 });
    const b = new AnimationTrack({ visemes, idle, mood: 'happy', seed: 7, fps: 25 });
    const c = new AnimationTrack({ visemes, idle, mood: 'happy', seed: 8, fps: 25 });
    const frames = (t: AnimationTrack) => Array.from({ length: 60 }, (_, n) => t.frame(n));
    assert.deepEqual(frames(a), frames(b));
    assert.deepEqual(a.frame(31), frames(b)[31], 'frame 31 alone equals frame 31 in sequence');
    assert.notDeepEqual(frames(a), frames(c));
  });

  it('blinks at natural intervals and breathes', () => {
    const idle = { ...defaultIdleProfile('idn_x'), blinkRatePerMin: 15 };
    const track = new AnimationTrack({ visemes: [], idle, mood: 'neutral', seed: 3, fps: 25 });
    let blinks = 0;
    let closed = false;
    let lift = [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];
    for (let n = 0; n < 25 * 120; n++) {
      const f = track.frame(n);
      if (!closed && f.blink > 0.8) blinks++;
      closed = f.blink > 0.8;
      lift = [Math.min(lift[0]!, f.breathLift), Math.max(lift[1]!, f.breathLift)];
    }
    assert.ok(blinks >= 20 && blinks <= 40, `${blinks} blinks in 2 minutes at 15/min`);
    assert.ok(lift[1]! - lift[0]! > 0.9, 'breathing moves');
  });
  it('opens the jaw as wide as the voice is loud, and forgets the audio after an interruption', () => {
    const rate = 16_000;
    const vowel: TimedViseme[] = [{ viseme: 'aa', start: 0, end: 1 }];
    const audio = new Int16Array(rate);
    for (let i = 0; i < rate; i++) audio[i] = Math.sin(i / 5) * (i < rate / 2 ? 20_000 : 800);
    const loud = new MouthTrack(vowel, { fps: 25 });
    loud.appendAudio(audio, rate, 0);
    const plain = new MouthTrack(vowel, { fps: 25 });
    const [a, b] = [loud.at(0.25).shape.jawOpen, loud.at(0.75).shape.jawOpen];
    assert.ok(a > b + 0.2, `loud half opens wider (${a}) than the quiet half (${b})`);
    assert.ok(b < plain.at(0.75).shape.jawOpen, 'quiet speech opens less than the table value');
    assert.equal(loud.loudness(2, 0.04), undefined, 'no audio known there');
    loud.truncate(0.5);
    assert.equal(loud.loudness(0.6, 0.04), undefined, 'the cut audio is forgotten');
    assert.ok((loud.loudness(0.2, 0.04) ?? 0) > 0.5, 'the audio before the cut stays');
  });
});
