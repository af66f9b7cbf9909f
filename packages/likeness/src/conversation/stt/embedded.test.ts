import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { embeddedRecognizer, spokenSentence } from '../../../test/helpers/speech-audio.ts';
import { RecognitionFailure } from './index.ts';

/** The embedded Whisper in its supervised process: real model, real speech (the project's Flite voice). */
describe('embedded recogniser', () => {
  const stt = embeddedRecognizer();
  after(() => stt.close());

  it('transcribes a spoken sentence, and calls silence no speech', async () => {
    const t = await stt.recognize(await spokenSentence('What is the weather like in Paris today?'));
    assert.match(t.text.toLowerCase(), /what is the weather like in paris today/);
    assert.equal(t.noSpeech, false);
    const silence = await stt.recognize(new Int16Array(16_000));
    assert.equal(silence.noSpeech, true);
    assert.equal(silence.text, '');
  });

  it('a recogniser process that dies fails that utterance only; the next one is heard', async () => {
    const speech = await spokenSentence('Can you tell me how to get to the train station?');
    await stt.recognize(new Int16Array(8000)); // running
    const [pid] = stt.pool.pids;
    const pending = stt.recognize(speech);
    await new Promise((r) => setTimeout(r, 30));
    process.kill(pid!, 'SIGKILL');
    await assert.rejects(pending, (e) => e instanceof RecognitionFailure && e.kind === 'failed');
    const t = await stt.recognize(speech);
    assert.match(t.text.toLowerCase(), /train station/);
    assert.notEqual(stt.pool.pids[0], pid);
    assert.equal(stt.pool.stats.crashes, 1);
  });
});
