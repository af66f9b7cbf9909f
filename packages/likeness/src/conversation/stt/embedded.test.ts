import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { embeddedRecognizer, spokenSentence } from '../../../test/helpers/speech-audio.ts';
import { loadConfig } from '../../config.ts';
import { resampleTo } from '../../realtime/resample.ts';
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

  it('hears the last words of brisk speech (a token cap of 6 a second used to cut them off)', async () => {
    const text = 'I think we should meet at the old mill by the river, if that is all right with you.';
    // 17 words in 3.5 s: the sentence played 1.3 times as fast, as a quick speaker says it.
    const brisk = resampleTo(await spokenSentence(text), 16_000 * 1.3, 16_000);
    const t = await stt.recognize(brisk);
    assert.match(t.text.toLowerCase(), /old mill by the river,? if that is al(l )?right with you/);
  });

  it("drops Whisper's padding: a repeated sentence, a trailing restart of the last one", () => {
    const collapse = (texts: string[]) =>
      JSON.parse(
        execFileSync(loadConfig({}).stt.python, [
          '-c',
          'import json, sys; sys.path.insert(0, sys.argv[1]); from whisper_worker import collapse_repeats; ' +
            'print(json.dumps([collapse_repeats(t) for t in json.loads(sys.argv[2])]))',
          import.meta.dirname,
          JSON.stringify(texts),
        ]).toString(),
      ) as string[];
    assert.deepEqual(
      collapse([
        'Okay. Okay. Okay.',
        'Tell me something about the river. Tell me something about',
        'Turn left at the corner. Turn left at',
        'I like the river. The river is cold.',
        'Stop. Stop it now.',
      ]),
      [
        'Okay.',
        'Tell me something about the river.',
        'Turn left at the corner.',
        'I like the river. The river is cold.',
        'Stop. Stop it now.',
      ],
    );
  });

  it('an aborted recognition is given up in the process, which goes straight on to the next one', async () => {
    const sentence = await spokenSentence('The river runs past the old mill and under the stone bridge.');
    const long = new Int16Array(sentence.length * 8); // ~25 s: its encoding alone takes a while
    for (let i = 0; i < 8; i++) long.set(sentence, i * sentence.length);
    const abort = new AbortController();
    const aborted = stt.recognize(long, { signal: abort.signal });
    setTimeout(() => abort.abort(), 100);
    await assert.rejects(aborted, (e) => e instanceof RecognitionFailure && e.kind === 'aborted');
    const t = await stt.recognize(await spokenSentence('Where is the train station?'));
    assert.match(t.text.toLowerCase(), /train station/);
    assert.equal(stt.pool.stats.cancelled, 1, 'the long recognition was cancelled, not finished');
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
