import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { castIdentity, castRenderer } from '../../test/helpers/identity.ts';
import { NEUTRAL_FRAME } from '../animation/frame-params.ts';
import { MOUTH_TARGETS } from '../animation/visemes.ts';
import { renderUtteranceVideo } from '../media/utterance-video.ts';
import { PortraitRenderer } from '../render/renderer.ts';
import { FliteEngine } from '../speech/flite-engine.ts';
import { SpeechService } from '../speech/speech-service.ts';
import { FaceDetector } from './face-detector.ts';
import type { Identity } from './identity.ts';
import { MouthHarvest } from './mouth-samples.ts';
import { analyseReferenceVideo } from './reference-video.ts';
import { normaliseFace } from './registrar.ts';

const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'likeness-mouths-'));
after(() => fs.rm(dir, { recursive: true, force: true }));

describe('mouth samples from a reference video', () => {
  it('harvests open mouths of several openings from a talking clip, and none from a still one', async () => {
    // A talking clip: Kai saying a sentence, rendered as the API renders it.
    const { identity, renderer } = await castRenderer('kai');
    const flite = new FliteEngine();
    const file = path.join(dir, 'talking.mp4');
    try {
      await renderUtteranceVideo({
        identity,
        renderer,
        speech: new SpeechService({ flite }),
        text: 'Hello! Shall we play a big game of cards or dominoes tonight at the cafe?',
        voice: { provider: 'flite', id: 'rms' },
        mood: 'neutral',
        seed: 1,
        file,
      });
    } finally {
      await flite.close();
    }
    const detector = new FaceDetector();
    const clip = await analyseReferenceVideo({
      file,
      format: 'mp4',
      identityId: 'idn_test',
      detector,
      rules: { minFacePixels: 1, maxHeadTurnDegrees: 90 },
      maxSeconds: 30,
    });
    assert.ok(clip.mouths.count >= 2, `open mouths kept: ${clip.mouths.count}`);
    const { identity: fromVideo } = normaliseFace({
      id: 'idn_test',
      image: clip.frame,
      face: clip.face,
      source: { kind: 'video', width: 512, height: 512, format: 'mp4' },
      size: 512,
      idle: clip.idle,
      mouths: clip.mouths,
    });
    const samples = fromVideo.mouthSamples ?? [];
    assert.ok(samples.length >= 2, 'the identity carries them');
    const openings = samples.map((s) => s.opening);
    assert.deepEqual(
      openings,
      [...openings].sort((a, b) => a - b),
      'ordered by opening',
    );
    assert.ok(openings.at(-1)! > openings[0]! * 1.3, `different openings: ${openings.join(', ')}`);
    for (const s of samples) {
      assert.equal(Buffer.from(s.rgb, 'base64').length, s.box.width * s.box.height * 3);
      // The crop sits where the portrait's mouth is (aligned by the eyes, not the moving chin).
      const lm = fromVideo.landmarks;
      assert.ok(Math.abs(s.upper[5]![0] - lm[13]![0]) < 8, 'centred on the portrait mouth');
      assert.ok(Math.abs(s.upper[5]![1] - lm[13]![1]) < 12, 'at the portrait mouth height');
    }
    // A still face (mouth closed throughout) gives nothing to harvest.
    const still = new MouthHarvest();
    const { identity: kai } = await castIdentity('kai');
    still.consider(
      { data: new Uint8Array(512 * 512 * 3), width: 512, height: 512 },
      {
        box: { x: 0, y: 0, width: 1, height: 1 },
        score: 1,
        landmarks: kai.landmarks,
        pose: { yawDeg: 0, pitchDeg: 0, rollDeg: 0 },
      },
    );
    assert.equal(still.count, 0);
  });

  it('renders the opening from the sample nearest in opening; a portrait-only identity paints its own', async () => {
    const { identity, png } = await castIdentity('walter');
    const lm = identity.landmarks;
    const line = (ids: number[], dy: number) =>
      ids.map((i) => [lm[i]![0], lm[i]![1] + dy] as [number, number]);
    const box = { x: Math.round(lm[61]![0]) - 4, y: Math.round(lm[13]![1]) - 10, width: 90, height: 50 };
    // A sample whose pixels are pure green, so any of them in the frame can only have come from it.
    const green = new Uint8Array(box.width * box.height * 3);
    for (let i = 0; i < green.length; i += 3) green[i + 1] = 255;
    const withSample: Identity = {
      ...identity,
      mouthSamples: [
        {
          opening: 0.3,
          box,
          upper: line([78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308], -6),
          lower: line([78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308], 8),
          rgb: Buffer.from(green).toString('base64'),
        },
      ],
    };
    const greenPixels = (frame: Uint8Array) => {
      let n = 0;
      for (let i = 0; i < frame.length; i += 4)
        if (frame[i + 1]! > 200 && frame[i]! < 60 && frame[i + 2]! < 60) n++;
      return n;
    };
    const open = { ...NEUTRAL_FRAME, ...MOUTH_TARGETS.aa };
    const sampled = await PortraitRenderer.create(withSample, png, 512);
    const painted = await PortraitRenderer.create(identity, png, 512);
    assert.ok(greenPixels(sampled.render(open)) > 100, 'the open mouth shows the sample');
    assert.equal(greenPixels(sampled.render(NEUTRAL_FRAME)), 0, 'a closed mouth shows none of it');
    assert.equal(greenPixels(painted.render(open)), 0, 'without samples the mouth is painted');
    const small = await PortraitRenderer.create(withSample, png, 256);
    assert.ok(greenPixels(small.render(open)) > 25, 'at another render size too');
  });
});
