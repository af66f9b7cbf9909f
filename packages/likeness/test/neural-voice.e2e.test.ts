/**
 * The embedded neural voice (Kokoro-82M, espeak-ng phonemes) end to end: the voices API, previews, the cast's
 * voices, intelligibility judged by the project's own recogniser (Whisper), exact timings, MP4s, a dying engine,
 * and the Flite fallback on a server without it.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { OPEN_VISEMES } from '../src/animation/visemes.ts';
import { resampleTo } from '../src/realtime/resample.ts';
import type { UtteranceChunk } from '../src/speech/speech-service.ts';
import { measureMp4 } from './helpers/mp4.ts';
import { embeddedRecognizer } from './helpers/speech-audio.ts';
import { ADMIN_KEY, problemOf, startTestServer, type TestServer } from './helpers/test-server.ts';
import { wordErrors } from './helpers/word-errors.ts';

/** 16-bit mono PCM and its rate from a WAV file. */
function readWav(bytes: Uint8Array): { pcm: Int16Array; rate: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  assert.equal(new TextDecoder().decode(bytes.subarray(0, 4)), 'RIFF');
  const rate = view.getUint32(24, true);
  const data = bytes.slice(44);
  return { pcm: new Int16Array(data.buffer, data.byteOffset, data.byteLength / 2), rate };
}

/** ms of near-silence (below about -50 dBFS) before the first sound. */
function leadingSilenceMs(pcm: Int16Array, rate: number): number {
  let i = 0;
  while (i < pcm.length && Math.abs(pcm[i]!) < 100) i++;
  return (i / rate) * 1000;
}

const auth = { authorization: `Bearer ${ADMIN_KEY}` };

/**
 * Open-mouth visemes in a stream, and how many sit on loud audio (RMS over 1000) where the engine's own timings put
 * them: wrong timings put vowels on consonants and pauses. Every chunk must carry phoneme timings.
 */
async function vowelsOnLoudAudio(
  chunks: AsyncIterable<UtteranceChunk>,
): Promise<{ open: number; loud: number }> {
  let open = 0;
  let loud = 0;
  for await (const chunk of chunks) {
    assert.equal(chunk.visemeSource, 'phonemes');
    const start = chunk.startSample / chunk.sampleRate;
    for (const v of chunk.visemes) {
      if (!OPEN_VISEMES.has(v.viseme)) continue;
      open++;
      const from = Math.max(0, Math.round((v.start - start) * chunk.sampleRate));
      const to = Math.min(chunk.samples.length, Math.round((v.end - start) * chunk.sampleRate));
      let sum = 0;
      for (let i = from; i < to; i++) sum += chunk.samples[i]! ** 2;
      if (Math.sqrt(sum / Math.max(1, to - from)) > 1000) loud++;
    }
  }
  return { open, loud };
}

describe('neural voice', () => {
  let t: TestServer;
  const stt = embeddedRecognizer();
  before(async () => {
    t = await startTestServer({ env: { LIKENESS_NEURAL_VOICE: 'on' } });
  });
  after(async () => {
    await t?.close();
    await stt.close();
  });

  it('lists the neural voices as available, with engine, language, style, rate and exact timings', async () => {
    const { data } = (await (await fetch(`${t.server.url}/v1/voices`, { headers: auth })).json()) as {
      data: Record<string, unknown>[];
    };
    const george = data.find((v) => v.id === 'bm_george')!;
    assert.deepEqual(
      {
        provider: george.provider,
        language: george.language,
        gender: george.gender,
        sample_rate: george.sample_rate,
        exact_timings: george.exact_timings,
        available: george.available,
        sample_url: george.sample_url,
      },
      {
        provider: 'kokoro',
        language: 'en-GB',
        gender: 'male',
        sample_rate: 24000,
        exact_timings: true,
        available: true,
        sample_url: '/v1/voices/kokoro:bm_george/sample',
      },
    );
    assert.ok(data.some((v) => v.provider === 'flite' && v.available === true));
    const cast = (await t.client.listCharacters()).data.filter((c) => c.is_cast && c.slug !== 'test-card');
    assert.ok(cast.length >= 4);
    for (const c of cast) assert.equal(c.voice.provider, 'kokoro', `${c.name} speaks with the neural voice`);
  });

  it('speaks a preview a recogniser understands, from the first 60 ms', async () => {
    for (const id of ['kokoro:bm_george', 'af_heart']) {
      const res = await fetch(`${t.server.url}/v1/voices/${id}/sample`, { headers: auth });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'audio/wav');
      const { pcm, rate } = readWav(new Uint8Array(await res.arrayBuffer()));
      assert.equal(rate, 24000);
      assert.ok(
        leadingSilenceMs(pcm, rate) <= 60,
        `${id}: ${leadingSilenceMs(pcm, rate)} ms before the first sound`,
      );
      const heard = await stt.recognize(resampleTo(pcm, rate, 16000));
      const e = wordErrors('Hello! This is how I sound. Nice to meet you.', heard.text);
      const wer = (100 * e.errors) / e.words;
      assert.ok(wer <= 10, `${id}: "${heard.text}" (${wer.toFixed(0)} % word error)`);
    }
    const missing = await fetch(`${t.server.url}/v1/voices/kokoro:nobody/sample`, { headers: auth });
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { type: string }).type, '/problems/not-found');
  });

  it('gives exact phoneme timings: open-mouth visemes sit on loud audio', async () => {
    const { open, loud: loudOpen } = await vowelsOnLoudAudio(
      t.server.services.speech.stream('Hello there, my good friend. How are you today?', {
        provider: 'kokoro',
        id: 'am_michael',
      }),
    );
    assert.ok(open >= 8, `${open} open-mouth visemes`);
    assert.ok(loudOpen / open >= 0.9, `${loudOpen} of ${open} vowels are loud where the timings put them`);
  });

  it('renders a cast member to an MP4 whose audio and video are the same length, at the speaking rate asked', async () => {
    const walter = (await t.client.listCharacters()).data.find((c) => c.slug === 'walter')!;
    const s = await t.client.createSession({
      body: { character_id: walter.id, user_id: 'viewer', mode: 'on_demand' },
    });
    const lengths: number[] = [];
    for (const rate of [1, 1.5]) {
      const res = await fetch(`${t.server.url}/v1/sessions/${s.id}/generate`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ text: 'Ah, hello there. Shall we take a clock apart?', rate, size: 256 }),
      });
      assert.equal(res.status, 200);
      const file = path.join(os.tmpdir(), `likeness-neural-${process.pid}.mp4`);
      fs.writeFileSync(file, new Uint8Array(await res.arrayBuffer()));
      const m = measureMp4(file, 24000);
      fs.rmSync(file);
      assert.match(m.info, /Audio: aac/);
      const videoS = m.videoFrames / 25;
      // Within one video frame (40 ms; the epsilon: 3.2 - 3.16 is 0.04000000000000026 in floating point).
      assert.ok(
        Math.abs(m.audioSamples / 24000 - videoS) <= 0.04 + 1e-9,
        `audio ${m.audioSamples / 24000} s, video ${videoS} s`,
      );
      lengths.push(videoS);
    }
    assert.ok(lengths[1]! < lengths[0]! * 0.8, `rate 1.5 is quicker: ${lengths.join(' s vs ')} s`);
    const bad = await fetch(`${t.server.url}/v1/sessions/${s.id}/generate`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'Too fast.', rate: 5 }),
    });
    assert.equal(bad.status, 400);
  });

  it('a neural engine process that dies fails that utterance only; the next one is spoken', async () => {
    const speech = t.server.services.speech;
    const pool = speech.kokoroPool!;
    const [pid] = pool.pids;
    const speak = async (text: string) => {
      let samples = 0;
      for await (const c of speech.stream(text, { provider: 'kokoro', id: 'af_sarah' }))
        samples += c.samples.length;
      return samples;
    };
    const pending = speak(
      'This sentence is long enough that the engine is still working on it when it dies.',
    );
    await new Promise((r) => setTimeout(r, 150));
    process.kill(pid!, 'SIGKILL');
    await assert.rejects(pending, (e: { slug?: string }) => e.slug === 'speech-failed');
    assert.ok((await speak('Still here.')) > 12000);
    assert.notEqual(pool.pids[0], pid);
  });

  it('the opt-in Piper voice: listed, starts within 60 ms, understood by the recogniser, with exact timings', async () => {
    const { data } = (await (await fetch(`${t.server.url}/v1/voices`, { headers: auth })).json()) as {
      data: Record<string, unknown>[];
    };
    const joe = data.find((v) => v.provider === 'piper' && v.id === 'joe')!;
    assert.deepEqual(
      [joe.sample_rate, joe.exact_timings, joe.available, joe.sample_url],
      [22050, true, true, '/v1/voices/piper:joe/sample'],
    );
    const res = await fetch(`${t.server.url}/v1/voices/piper:joe/sample`, { headers: auth });
    assert.equal(res.status, 200);
    const { pcm, rate } = readWav(new Uint8Array(await res.arrayBuffer()));
    assert.equal(rate, 22050, 'spoken by Piper, not its Flite stand-in');
    assert.ok(leadingSilenceMs(pcm, rate) <= 60, `${leadingSilenceMs(pcm, rate)} ms before the first sound`);
    // Piper samples noise in every synthesis (its voice's noise scales), so one sentence now and then comes out
    // slurred ("Hello" heard as "Oh, oh" once in CI): the voice is judged on three sentences together.
    const heard = [await stt.recognize(resampleTo(pcm, rate, 16000))];
    const texts = [
      'Hello! This is how I sound. Nice to meet you.',
      'The quick brown fox jumps over the lazy dog.',
      'Could you tell me the way to the station, please?',
    ];
    for (const text of texts.slice(1)) {
      const spoken = await t.server.services.speech.speakPcm(text, { provider: 'piper', id: 'joe' });
      heard.push(await stt.recognize(resampleTo(spoken.pcm, spoken.rate, 16000)));
    }
    const e = texts.map((text, i) => wordErrors(text, heard[i]!.text));
    const errors = e.reduce((n, x) => n + x.errors, 0);
    const words = e.reduce((n, x) => n + x.words, 0);
    assert.ok(
      errors / words <= 0.1,
      `${heard.map((h) => `"${h.text}"`).join(' ')} (${errors} of ${words} words wrong)`,
    );
    // Open-mouth visemes where the model's own durations put them are on loud audio. Piper samples its
    // durations too: one vowel of this sentence is soft in most syntheses (15 of 16 loud), two in about one in
    // twelve (CI once), so three syntheses are judged together.
    let loudOpen = 0;
    let open = 0;
    for (let round = 0; round < 3; round++) {
      const counts = await vowelsOnLoudAudio(
        t.server.services.speech.stream('Hello there, my good friend. How are you today?', {
          provider: 'piper',
          id: 'joe',
        }),
      );
      open += counts.open;
      loudOpen += counts.loud;
    }
    assert.ok(open >= 24, `${open} open-mouth visemes`);
    assert.ok(loudOpen / open >= 0.85, `${loudOpen} of ${open} vowels are loud where the timings put them`);
  });

  it('renders an MP4 in the Piper voice (a per-request voice) whose audio and video are the same length', async () => {
    const walter = (await t.client.listCharacters()).data.find((c) => c.slug === 'walter')!;
    const s = await t.client.createSession({
      body: { character_id: walter.id, user_id: 'viewer', mode: 'on_demand' },
    });
    const res = await fetch(`${t.server.url}/v1/sessions/${s.id}/generate`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({
        text: 'Ah, hello there. Shall we take a clock apart?',
        voice: 'piper:joe',
        size: 256,
      }),
    });
    assert.equal(res.status, 200);
    const file = path.join(os.tmpdir(), `likeness-piper-${process.pid}.mp4`);
    fs.writeFileSync(file, new Uint8Array(await res.arrayBuffer()));
    const m = measureMp4(file, 22050);
    fs.rmSync(file);
    const audioS = m.audioSamples / 22050;
    assert.ok(audioS > 1.5, `${audioS} s of speech`);
    assert.ok(
      Math.abs(audioS - m.videoFrames / 25) <= 0.04 + 1e-9,
      `audio ${audioS} s, video ${m.videoFrames / 25} s`,
    );
  });

  it('refuses a voice that does not exist', async () => {
    const kai = (await t.client.listCharacters()).data.find((c) => c.slug === 'kai')!;
    const p = await problemOf(() =>
      t.client.updateCharacter({
        path: { id: kai.id },
        body: { voice: { provider: 'kokoro', id: 'nobody' } },
      }),
    );
    assert.equal(p.status, 422);
    assert.equal(p.slug, 'unknown-voice');
    assert.equal((await t.client.getCharacter({ path: { id: kai.id } })).voice.id, 'am_puck', 'unchanged');
  });
});

describe('without the neural voice', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ env: { LIKENESS_NEURAL_VOICE: 'off' } });
  });
  after(async () => {
    await t?.close();
  });

  it('says the neural voices are unavailable and Flite speaks for them', async () => {
    const { data } = (await (await fetch(`${t.server.url}/v1/voices`, { headers: auth })).json()) as {
      data: { id: string; available: boolean }[];
    };
    assert.equal(data.find((v) => v.id === 'bm_george')?.available, false);
    const res = await fetch(`${t.server.url}/v1/voices/kokoro:bm_george/sample`, { headers: auth });
    assert.equal(res.status, 200);
    assert.equal(readWav(new Uint8Array(await res.arrayBuffer())).rate, 16000, 'spoken by Flite');
    // The Piper voice too (LIKENESS_NEURAL_VOICE=off turns every neural engine off).
    assert.equal(data.find((v) => v.id === 'joe')?.available, false);
    const joe = await fetch(`${t.server.url}/v1/voices/piper:joe/sample`, { headers: auth });
    assert.equal(readWav(new Uint8Array(await joe.arrayBuffer())).rate, 16000, 'spoken by Flite');
  });

  it('still refuses a neural voice that does not exist, rather than letting Flite speak for it', async () => {
    const kai = (await t.client.listCharacters()).data.find((c) => c.slug === 'kai')!;
    for (const provider of ['kokoro', 'piper'] as const) {
      const p = await problemOf(() =>
        t.client.updateCharacter({ path: { id: kai.id }, body: { voice: { provider, id: 'nobody' } } }),
      );
      assert.deepEqual([p.status, p.slug], [422, 'unknown-voice'], provider);
    }
    assert.equal((await t.client.getCharacter({ path: { id: kai.id } })).voice.id, 'am_puck', 'unchanged');
  });
});
