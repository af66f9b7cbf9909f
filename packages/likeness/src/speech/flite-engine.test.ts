import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import { after, describe, it } from 'node:test';
import { Problem } from '../errors.ts';
import { FliteEngine, parsePhoneTimings } from './flite-engine.ts';
import { KEEP_TAIL_MID_SENTENCE_MS, KEEP_TAIL_MS } from './silence.ts';
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

  it('starts on the first word and stops after a breath, not on the hiss Flite fills its pauses with', async () => {
    // Flite's opening pause is up to 215 ms of hiss between -50 and -40 dBFS (these two sentences, voice awb):
    // silence to a listener, but above a plain silence threshold.
    const audible = 328; // -40 dBFS
    for (const text of ['Every piece was cut by hand.', 'It chimes on the hour and the half.']) {
      const r = await flite.speak(text, 'awb');
      const ms = (n: number) => (n / r.sampleRate) * 1000;
      const first = r.samples.findIndex((v) => Math.abs(v) >= audible);
      assert.ok(ms(first) <= 30, `${text}: first audible sample at ${ms(first)} ms`);
      const word = r.phonemes.find((p) => p.phoneme !== 'pau')!;
      assert.ok(word.start * 1000 <= 30, `${text}: the phonemes moved with the audio (${word.start} s)`);
      let last = r.samples.length - 1;
      while (Math.abs(r.samples[last]!) < audible) last--;
      const tail = ms(r.samples.length - 1 - last);
      assert.ok(tail <= KEEP_TAIL_MS + 20, `${text}: ${tail} ms after the last audible sample`);
      const cut = await flite.speak(text, 'awb', { tailMs: KEEP_TAIL_MID_SENTENCE_MS });
      let cutLast = cut.samples.length - 1;
      while (Math.abs(cut.samples[cutLast]!) < audible) cutLast--;
      const cutTail = ms(cut.samples.length - 1 - cutLast);
      assert.ok(cutTail <= KEEP_TAIL_MID_SENTENCE_MS + 20, `${text}: mid-sentence tail ${cutTail} ms`);
    }
  });

  it('rejects unknown voices', async () => {
    await assert.rejects(
      flite.speak('Hi.', 'nobody'),
      (e) => e instanceof Problem && e.slug === 'unknown-voice',
    );
  });

  it('survives its engine process crashing mid-sentence: that sentence fails, the next one works', async () => {
    const engine = new FliteEngine({ processes: 1 });
    try {
      await engine.speak('Warm up.', 'slt');
      const [pid] = engine.pool.pids;
      // A long sentence keeps the process busy; then it dies as it would from a segfault inside Flite.
      const pending = engine.speak('Nine '.repeat(200), 'slt');
      await new Promise((r) => setTimeout(r, 100));
      process.kill(pid!, 'SIGSEGV');
      await assert.rejects(
        pending,
        (e) => e instanceof Problem && e.slug === 'speech-failed' && /stopped/.test(e.message),
      );
      const after = await engine.speak('Still here.', 'slt');
      assert.ok(after.samples.length > 8000, 'a new process answers');
      assert.notEqual(engine.pool.pids[0], pid, 'the process was replaced');
      assert.equal(engine.pool.stats.crashes, 1);
    } finally {
      await engine.close();
    }
  });

  it('kills and replaces a process that hangs past its timeout, failing only that sentence', async () => {
    const engine = new FliteEngine({ processes: 1, timeoutMs: 150 });
    try {
      await engine.speak('Warm up.', 'slt').catch(() => undefined);
      const before = engine.pool.stats.timeouts; // the warm-up may itself be slow on a loaded machine
      // About 40 s of speech takes Flite well over 150 ms: to the pool this is a hang.
      await assert.rejects(
        engine.speak('A long sentence that goes on and on. '.repeat(15), 'slt'),
        (e) => e instanceof Problem && e.slug === 'speech-failed' && /did not answer/.test(e.message),
      );
      assert.equal(engine.pool.stats.timeouts, before + 1);
      const ok = await engine.speak('Hi.', 'slt');
      assert.ok(ok.samples.length > 0);
    } finally {
      await engine.close();
    }
  });

  it('does one synthesis at a time per process, in parallel across the pool, every answer to its caller', async () => {
    const engine = new FliteEngine({ processes: 2 });
    try {
      const texts = ['One.', 'Two two.', 'Three three three.', 'Four four four four.', 'Five.', 'Six six.'];
      const results = await Promise.all(texts.map((t) => engine.speak(t, 'slt')));
      const durations = results.map((r) => r.samples.length);
      // Longer texts give longer audio: answers were not swapped between callers.
      assert.ok(durations[1]! < durations[2]! && durations[2]! < durations[3]!, durations.join(' '));
      assert.equal(engine.pool.pids.length, 3, 'two processes and the urgent lane');
    } finally {
      await engine.close();
    }
  });

  it("puts an utterance's first piece (urgent) ahead of waiting later pieces", async () => {
    const engine = new FliteEngine({ processes: 1, urgentLanes: 0 });
    try {
      await engine.speak('Warm up.', 'slt');
      const order: string[] = [];
      const say = (name: string, urgent = false) =>
        engine.speak(`This is the sentence called ${name}.`, 'slt', { urgent }).then(() => order.push(name));
      // One process: "a" runs at once, the rest wait; the urgent ones overtake the waiting ones, in their order.
      await Promise.all([say('a'), say('b'), say('c'), say('first', true), say('second', true)]);
      assert.deepEqual(order, ['a', 'first', 'second', 'b', 'c']);
    } finally {
      await engine.close();
    }
  });

  it('keeps a process at the server priority for first pieces: it never takes the others', async () => {
    const engine = new FliteEngine({ processes: 1 });
    try {
      await engine.speak('Warm up.', 'slt');
      const [normal, lane] = engine.pool.pids;
      assert.equal(os.getPriority(normal), 5, 'synthesis yields to the server');
      assert.equal(os.getPriority(lane), os.getPriority(0), 'the lane runs at the server priority');
      const order: string[] = [];
      const say = (name: string, text: string, urgent = false) =>
        engine.speak(text, 'slt', { urgent }).then(() => order.push(name));
      const long = 'This sentence is long, so that the process is busy for a while. '.repeat(6);
      // "a" (long) takes the normal process and "b" (short) waits for it. The urgent one runs on the lane at
      // once; had the lane taken "b" once free, "b" would end before "a".
      await Promise.all([say('a', long), say('b', 'Short one.'), say('first', 'Hi there.', true)]);
      assert.deepEqual(order, ['first', 'a', 'b']);
    } finally {
      await engine.close();
    }
  });

  it('opens no file descriptors per sentence', async () => {
    const engine = new FliteEngine({ processes: 1 });
    try {
      await engine.speak('Warm up.', 'slt');
      const fds = () => fs.readdirSync(`/proc/${engine.pool.pids[0]}/fd`).length;
      const before = fds();
      for (let i = 0; i < 20; i++) await engine.speak(`Sentence ${i}.`, 'slt');
      assert.equal(fds(), before);
    } finally {
      await engine.close();
    }
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
