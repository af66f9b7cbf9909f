import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { castRenderer, darkMouthPixels, mouthDifference } from '../../test/helpers/identity.ts';
import { measureMp4 } from '../../test/helpers/mp4.ts';
import { REST_MOUTH, visemeForPhoneme } from '../animation/visemes.ts';
import { Problem } from '../errors.ts';
import { FliteEngine } from '../speech/flite-engine.ts';
import { SpeechService } from '../speech/speech-service.ts';
import type { TimedPhoneme } from '../speech/types.ts';
import { renderUtteranceVideo } from './utterance-video.ts';

const sha1 = (b: Uint8Array) => createHash('sha1').update(b).digest('hex');
const tmp = (name: string) => path.join(os.tmpdir(), `likeness-${process.pid}-${name}`);

describe('on-demand utterance video', () => {
  const flite = new FliteEngine();
  const speech = new SpeechService({ flite });
  after(() => flite.close());

  it('ends audio and video together and puts the first sound and the first mouth movement on the same frame', async () => {
    const { identity, renderer } = await castRenderer('kai');
    const file = tmp('sync.mp4');
    let firstSoundSample = -1;
    let rate = 16000;
    const movement: number[] = [];
    const result = await renderUtteranceVideo({
      identity,
      renderer,
      speech,
      text: 'Open the map. I am amazed.',
      voice: { provider: 'flite', id: 'slt' },
      mood: 'neutral',
      seed: 1,
      file,
      onChunk: (c) => {
        rate = c.sampleRate;
        if (firstSoundSample < 0) {
          const i = c.samples.findIndex((s) => Math.abs(s) > 800);
          if (i >= 0) firstSoundSample = c.startSample + i;
        }
      },
      onFrame: (n, params, rgba) => {
        if (n > 40) return;
        // Mouth movement of its own: compare with the same frame at a resting mouth (idle motion cancels out).
        const still = renderer.render({ ...params, ...REST_MOUTH });
        movement[n] = mouthDifference(identity, rgba, still, renderer.size, 30);
      },
    });
    const { audioSamples, videoFrames, info } = measureMp4(file, rate);
    fs.rmSync(file);
    assert.match(info, /Video: h264.*yuv420p/);
    assert.match(info, /Audio: aac/);
    assert.equal(videoFrames, result.frames);
    const av = Math.abs(audioSamples / rate - videoFrames / result.fps);
    assert.ok(
      av <= 1 / result.fps,
      `audio and video lengths within one frame (differ by ${(av * 1000).toFixed(1)} ms)`,
    );
    const soundFrame = Math.floor((firstSoundSample * result.fps) / rate);
    const firstMove = movement.findIndex((m) => m > 20);
    assert.ok(soundFrame >= 0 && firstMove >= 0, 'there is a sound and a mouth movement');
    assert.equal(
      firstMove,
      soundFrame,
      `first sound in frame ${soundFrame}, first mouth movement in frame ${firstMove}`,
    );
  });

  it('shows the mouth open on the open vowels and closed at every m, b and p of a sentence', async () => {
    const { identity, renderer } = await castRenderer('kai');
    const phonemes: TimedPhoneme[] = [];
    const dark: number[] = [];
    await renderUtteranceVideo({
      identity,
      renderer,
      speech,
      text: 'Bob and Pam made a map of the mossy path.',
      voice: { provider: 'flite', id: 'rms' },
      mood: 'neutral',
      seed: 5,
      file: tmp('mouth.mp4'),
      onChunk: (c) => phonemes.push(...(c.phonemes ?? [])),
      onFrame: (n, _p, rgba) => {
        dark[n] = darkMouthPixels(identity, rgba, renderer.size);
      },
    });
    fs.rmSync(tmp('mouth.mp4'), { force: true });
    const rest = dark[0]!;
    const frameAt = (t: number) => Math.round(t * 25);
    const bilabials = phonemes.filter((p) => visemeForPhoneme(p.phoneme) === 'PP');
    const vowels = phonemes.filter((p) => ['aa', 'ae', 'ao'].includes(p.phoneme) && p.end - p.start >= 0.08);
    assert.ok(
      bilabials.length >= 6 && vowels.length >= 3,
      `${bilabials.length} bilabials, ${vowels.length} open vowels`,
    );
    for (const p of bilabials) {
      const n = frameAt((p.start + p.end) / 2);
      assert.ok(
        dark[n]! - rest < 30,
        `"${p.phoneme}" at ${p.start.toFixed(2)} s (frame ${n}): lips closed (${dark[n]! - rest} dark px)`,
      );
    }
    for (const p of vowels) {
      const n = frameAt((p.start + p.end) / 2);
      assert.ok(
        dark[n]! - rest > 150,
        `"${p.phoneme}" at ${p.start.toFixed(2)} s (frame ${n}): mouth open (${dark[n]! - rest} dark px)`,
      );
    }
  });

  it('renders the same frames for the same inputs', async () => {
    const { identity, renderer } = await castRenderer('kai');
    const run = async () => {
      const hashes: string[] = [];
      await renderUtteranceVideo({
        identity,
        renderer,
        speech,
        text: 'Same words, same face.',
        voice: { provider: 'flite', id: 'rms' },
        mood: 'happy',
        seed: 42,
        file: tmp('det.mp4'),
        onFrame: (_n, _p, rgba) => hashes.push(sha1(rgba)),
      });
      return hashes;
    };
    const a = await run();
    const b = await run();
    fs.rmSync(tmp('det.mp4'), { force: true });
    assert.deepEqual(a, b);
  });

  it('fails with encoding-failed and leaves no file when the encoder dies mid-way', async () => {
    const { identity, renderer } = await castRenderer('kai');
    const file = tmp('killed.mp4');
    let pid: number | undefined;
    await assert.rejects(
      renderUtteranceVideo({
        identity,
        renderer,
        speech,
        text: 'This one will not finish. The encoder is stopped in the middle of it, on purpose.',
        voice: { provider: 'flite', id: 'slt' },
        mood: 'neutral',
        seed: 1,
        file,
        onEncoderStart: (e) => {
          pid = e.pid;
        },
        onFrame: (n) => {
          if (n === 10 && pid) process.kill(pid, 'SIGKILL');
        },
      }),
      (e) => e instanceof Problem && e.slug === 'encoding-failed',
    );
    assert.equal(fs.existsSync(file), false, 'no partial MP4 left behind');
  });
});
