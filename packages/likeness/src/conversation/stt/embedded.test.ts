import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { embeddedRecognizer, spokenSentence } from '../../../test/helpers/speech-audio.ts';
import { loadConfig } from '../../config.ts';
import { resampleTo } from '../../realtime/resample.ts';
import { EmbeddedRecognizer } from './embedded.ts';
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

  it("decodes in onnxruntime the words CTranslate2's own decoder writes", async () => {
    const { stt: config } = loadConfig({});
    assert.ok(
      fs.existsSync(path.join(config.modelDir, 'decoder-step.onnx')),
      'the setup built the ONNX decoder',
    );
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'likeness-decoder-'));
    const sentences = [
      'Where is the train station?',
      'I would like two coffees and a glass of water, please.',
      'The weather is lovely today.',
    ];
    for (const [i, text] of sentences.entries())
      fs.writeFileSync(path.join(dir, `${i}.raw`), await spokenSentence(text));
    // Both decoders on the same encoder output: the same words, the no-speech probability within 0.02. The first
    // word's capital is a near tie for Whisper base on these voices, which the two int8 roundings may break
    // differently ("Where" / "where"; in float32 both runtimes write "the weather" for "The weather").
    const script = `
import json, math, os, sys
sys.path.insert(0, sys.argv[1])
import numpy as np, ctranslate2, tokenizers
from whisper_worker import OnnxDecoder, log_mel, HOP, PAD_FRAMES
model_dir, clips = sys.argv[2], sys.argv[3]
model = ctranslate2.models.Whisper(model_dir, device="cpu", compute_type="int8", intra_threads=1)
tokenizer = tokenizers.Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
tok = tokenizer.token_to_id
prompt = [tok(t) for t in ("<|startoftranscript|>", "<|en|>", "<|transcribe|>", "<|notimestamps|>")]
eot = tok("<|endoftext|>")
onnx = OnnxDecoder(model_dir, 1, eot, tok("<|nospeech|>") or tok("<|nocaptions|>"))
out = []
for name in sorted(os.listdir(clips)):
    audio = np.fromfile(os.path.join(clips, name), dtype="<i2").astype(np.float32) / 32768
    window = math.ceil((len(audio) // HOP + PAD_FRAMES) / 128) * 128
    features = log_mel(np.pad(audio, (0, window * HOP - len(audio))))[:, :window]
    encoded = model.encode(ctranslate2.StorageView.from_array(features[None]), to_cpu=True)
    ref = model.generate(encoded, [prompt], beam_size=1, max_length=40, suppress_blank=True,
                         suppress_tokens=[-1], return_no_speech_prob=True)[0]
    ids, no_speech, _ = onnx.generate(np.asarray(encoded), prompt, 37, lambda: False)
    out.append({"ct2": tokenizer.decode([t for t in ref.sequences_ids[0] if t < eot]).strip(),
                "onnx": tokenizer.decode(ids).strip(),
                "ct2_no_speech": ref.no_speech_prob, "onnx_no_speech": no_speech})
print(json.dumps(out))
`;
    const results = JSON.parse(
      execFileSync(config.python, ['-c', script, import.meta.dirname, config.modelDir, dir]).toString(),
    ) as { ct2: string; onnx: string; ct2_no_speech: number; onnx_no_speech: number }[];
    fs.rmSync(dir, { recursive: true, force: true });
    assert.equal(results.length, sentences.length);
    for (const r of results) {
      assert.match(r.ct2, /\w+ \w+ \w+/, 'CTranslate2 heard words');
      assert.equal(r.onnx.toLowerCase(), r.ct2.toLowerCase());
      assert.ok(Math.abs(r.onnx_no_speech - r.ct2_no_speech) < 0.02, JSON.stringify(r));
    }
  });

  it('without the ONNX decoder (not built), CTranslate2 decodes as before', async () => {
    const { stt: config } = loadConfig({});
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'likeness-whisper-'));
    for (const file of ['model.bin', 'config.json', 'tokenizer.json', 'vocabulary.txt'])
      fs.symlinkSync(path.join(config.modelDir, file), path.join(dir, file));
    const plain = new EmbeddedRecognizer({ modelDir: dir, python: config.python });
    try {
      const t = await plain.recognize(await spokenSentence('Where is the train station?'));
      assert.match(t.text.toLowerCase(), /where is the train station/);
      assert.equal((await plain.recognize(new Int16Array(16_000))).noSpeech, true);
    } finally {
      await plain.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
