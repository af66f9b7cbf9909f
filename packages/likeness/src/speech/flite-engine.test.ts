import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Problem } from '../errors.ts';
import { FliteEngine, parsePhoneTimings } from './flite-engine.ts';
import { SpeechService } from './speech-service.ts';

describe('Flite engine', () => {
  const flite = new FliteEngine();
  after(() => flite.close());

  it('parses -psdur phone end times into spans, clamped to the audio', () => {
    assert.deepEqual(parsePhoneTimings('pau:0.1 hh:0.2 ax:0.35', 0.3), [
      { phoneme: 'pau', start: 0, end: 0.1 },
      { phoneme: 'hh', start: 0.1, end: 0.2 },
      { phoneme: 'ax', start: 0.2, end: 0.3 },
    ]);
  });

  it('speaks every voice, with phonemes that tile the audio', async () => {
    for (const voice of ['slt', 'rms', 'awb', 'kal16']) {
      const r = await flite.speak('Bob made a map.', voice);
      assert.equal(r.sampleRate, 16000);
      const duration = r.samples.length / r.sampleRate;
      assert.ok(duration > 0.8 && duration < 3, `${voice}: ${duration} s`);
      assert.ok(r.phonemes.some((p) => p.phoneme === 'm'));
      for (let i = 1; i < r.phonemes.length; i++) assert.equal(r.phonemes[i]!.start, r.phonemes[i - 1]!.end);
      assert.ok(r.phonemes.at(-1)!.end <= duration + 1e-9);
      assert.ok(duration - r.phonemes.at(-1)!.end < 0.15, `${voice}: phonemes cover the audio`);
    }
  });

  it('rejects unknown voices', async () => {
    await assert.rejects(
      flite.speak('Hi.', 'nobody'),
      (e) => e instanceof Problem && e.slug === 'unknown-voice',
    );
  });

  it('streams an utterance sentence by sentence on one sample clock', async () => {
    const speech = new SpeechService({ flite });
    const chunks = [];
    for await (const c of speech.stream('First one. Second one! Third?', { provider: 'flite', id: 'slt' }))
      chunks.push(c);
    assert.equal(chunks.length, 3);
    let position = 0;
    for (const c of chunks) {
      assert.equal(c.startSample, position, 'chunks are contiguous');
      assert.equal(c.visemeSource, 'phonemes');
      assert.ok(
        c.visemes[0]!.start >= position / c.sampleRate - 1e-9,
        'visemes are placed on the utterance clock',
      );
      position += c.samples.length;
    }
  });
});
