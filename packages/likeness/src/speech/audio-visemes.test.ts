import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import { OPEN_VISEMES, phonemesToVisemes, type TimedViseme } from '../animation/visemes.ts';
import { visemesFromAudio } from './audio-visemes.ts';
import { FliteEngine } from './flite-engine.ts';

const flite = new FliteEngine();
after(() => flite.close());

function at(visemes: TimedViseme[], t: number) {
  return visemes.find((v) => t >= v.start && t < v.end)?.viseme ?? 'sil';
}

/**
 * The audio-derived path, checked against the embedded voice's own phoneme timings on the same audio.
 * Tolerance (stated): each 10 ms frame counts as agreeing if the phoneme-derived class occurs within +-40 ms.
 * Required: >= 85% agreement on speech vs silence, >= 70% on open vs not open.
 */
it('audio-derived visemes agree with the phoneme timings within the stated tolerance', async () => {
  const text = 'Open the map, and meet me by the old mill. Bob made a cup of tea for everyone.';
  let speechFrames = 0;
  let speechAgree = 0;
  let openFrames = 0;
  let openAgree = 0;
  for (const voice of ['slt', 'rms', 'awb']) {
    const { samples, sampleRate, phonemes } = await flite.speak(text, voice);
    const truth = phonemesToVisemes(phonemes);
    const derived = visemesFromAudio(samples, sampleRate);
    const duration = samples.length / sampleRate;
    for (let t = 0.005; t < duration; t += 0.01) {
      const got = at(derived, t);
      const near = [-0.04, -0.02, 0, 0.02, 0.04].map((d) => at(truth, t + d));
      speechFrames++;
      if (near.some((v) => (v === 'sil') === (got === 'sil'))) speechAgree++;
      openFrames++;
      if (near.some((v) => OPEN_VISEMES.has(v) === OPEN_VISEMES.has(got))) openAgree++;
    }
  }
  const speechRate = speechAgree / speechFrames;
  const openRate = openAgree / openFrames;
  console.log(
    `audio-derived visemes: speech/silence agreement ${(speechRate * 100).toFixed(1)}%, open/closed ${(openRate * 100).toFixed(1)}%`,
  );
  assert.ok(speechRate >= 0.85, `speech/silence agreement ${speechRate}`);
  assert.ok(openRate >= 0.7, `open/closed agreement ${openRate}`);
});
