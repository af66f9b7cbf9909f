/**
 * Listening, end to end with real parts: Chromium sends its microphone over WHEP (a sendrecv audio m-line),
 * the server's VAD and embedded Whisper hear it, the embedded model answers and the character speaks; speech
 * over the answer silences it. Audio messages (multipart) in on-demand and realtime sessions, and their bad
 * input. The user's voice is the project's own Flite, played into the page's outgoing track by WebAudio.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { STT_SAMPLE_RATE } from '../src/conversation/stt/index.ts';
import type { MediaEvent } from '../src/realtime/media-session.ts';
import type { ConversationEvent } from '../src/sessions/conversation-service.ts';
import { wavFile } from '../src/speech/wav.ts';
import { DEFAULT_TENANT_ID } from '../src/tenancy/tenancy-service.ts';
import { launchChromium } from './helpers/browser.ts';
import { openMicPage } from './helpers/browser-mic.ts';
import { spokenSentence, trimSilence } from './helpers/speech-audio.ts';
import { ADMIN_KEY, startTestServer, type TestServer } from './helpers/test-server.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('listening', () => {
  let t: TestServer;
  let chrome: Awaited<ReturnType<typeof launchChromium>>;
  let kai: string;
  before(async () => {
    t = await startTestServer({ env: { LIKENESS_MAX_AUDIO_S: '8', LIKENESS_MAX_AUDIO_BYTES: '400000' } });
    kai = (await t.client.listCharacters()).data.find((c) => c.slug === 'kai')!.id;
    chrome = await launchChromium();
  });
  after(async () => {
    await chrome?.close();
    await t?.close();
  });

  async function session(mode: 'realtime' | 'on_demand', extra: Record<string, unknown> = {}) {
    const res = await fetch(`${t.server.url}/v1/sessions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ character_id: kai, user_id: 'listener', mode, ...extra }),
    });
    assert.equal(res.status, 201);
    return (await res.json()) as { id: string; barge_in: unknown };
  }

  async function watch(sessionId: string) {
    const events: ((ConversationEvent | MediaEvent) & { at: number })[] = [];
    const s = t.server.services;
    const push = (e: ConversationEvent | MediaEvent) => events.push({ ...e, at: performance.now() });
    const off1 = s.conversations.subscribe(sessionId, push);
    const off2 = await s.live.subscribe(DEFAULT_TENANT_ID, sessionId, push);
    const until = async (pred: (e: (typeof events)[number]) => boolean, ms: number, what: string) => {
      const end = Date.now() + ms;
      for (;;) {
        const hit = events.find(pred);
        if (hit) return hit;
        if (Date.now() > end)
          throw new Error(
            `no ${what} in ${ms} ms: ${JSON.stringify(events.filter((e) => e.type !== 'metrics'))}`,
          );
        await sleep(20);
      }
    };
    const close = () => {
      off1();
      off2();
    };
    return { events, until, close };
  }

  function sendAudio(sessionId: string, bytes: Uint8Array<ArrayBuffer>, type = 'audio/wav') {
    const form = new FormData();
    form.set('audio', new Blob([bytes], { type }), 'speech.wav');
    return fetch(`${t.server.url}/v1/sessions/${sessionId}/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
      body: form,
    });
  }

  it('a question spoken into the browser microphone is heard, answered and recorded', async () => {
    const s = await session('realtime');
    assert.deepEqual(s.barge_in, { mode: 'after', after_ms: 400 });
    const w = await watch(s.id);
    const page = await chrome.browser.newPage();
    const mic = await openMicPage(page, t.server.url, s.id, ADMIN_KEY);
    await sleep(500);
    const speech = trimSilence(await spokenSentence('What is your favourite colour?'));
    await mic.say(speech);
    const final = await w.until((e) => e.type === 'user.transcript' && e.final, 15_000, 'final transcript');
    assert.match((final as { text: string }).text.toLowerCase(), /favou?rite colou?r/);
    assert.ok(w.events.some((e) => e.type === 'user.started_speaking'));
    const finished = (await w.until((e) => e.type === 'reply.finished', 120_000, 'reply')) as Extract<
      ConversationEvent,
      { type: 'reply.finished' }
    >;
    assert.ok(finished.text.length > 0);
    for (const k of [
      'vad_ms',
      'recognition_ms',
      'recognition_encode_ms',
      'recognition_decode_ms',
      'end_of_turn_ms',
      'llm_request_ms',
      'llm_first_token_ms',
      'first_sound_ms',
    ] as const)
      assert.equal(typeof finished.metrics[k], 'number', `${k} in ${JSON.stringify(finished.metrics)}`);
    // The character's voice came back to the page.
    assert.ok((await mic.loudness()).lastLoud > 0, 'the answer was heard in the page');
    const turns = (await (
      await fetch(`${t.server.url}/v1/sessions/${s.id}/messages`, {
        headers: { authorization: `Bearer ${ADMIN_KEY}` },
      })
    ).json()) as { data: { user_text: string; reply_text: string }[] };
    assert.equal(turns.data.length, 1);
    assert.match(turns.data[0]!.user_text.toLowerCase(), /colou?r/);
    // It never heard itself: one turn, however long it spoke.
    await sleep(1500);
    assert.equal(w.events.filter((e) => e.type === 'user.transcript' && e.final).length, 1);
    await mic.close();
    await page.close();
    w.close();
  });

  /** A realtime session with barge-in after `afterMs`, a browser microphone on it, and the character talking. */
  async function speakingWithMic(afterMs: number) {
    const s = await session('realtime', { barge_in: { mode: 'after', after_ms: afterMs } });
    const w = await watch(s.id);
    const page = await chrome.browser.newPage();
    const mic = await openMicPage(page, t.server.url, s.id, ADMIN_KEY);
    await sleep(300);
    const speak = await fetch(`${t.server.url}/v1/sessions/${s.id}/speak`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        text: 'Let me tell you a very long story about the old mill by the river, which has turned every day for a hundred years, through floods and droughts and winters.',
      }),
    });
    assert.equal(speak.status, 202);
    await w.until((e) => e.type === 'utterance.started', 10_000, 'utterance.started');
    await sleep(800);
    return { w, mic, page };
  }

  it('speech over the answer silences it (barge-in) and becomes the next turn', async () => {
    const { w, mic, page } = await speakingWithMic(300);
    const speech = trimSilence(await spokenSentence('Sorry, can I ask you something else?'));
    const said = mic.say(speech);
    const held = await w.until((e) => e.type === 'reply.held', 10_000, 'held');
    const barge = await w.until((e) => e.type === 'user.barge_in', 10_000, 'barge-in');
    assert.ok(held.at <= barge.at, 'held as soon as the speech started, before the barge-in');
    const stopped = await w.until(
      (e) => e.type === 'utterance.finished' && (e as { interrupted: boolean }).interrupted,
      5_000,
      'interrupted utterance',
    );
    assert.ok(stopped.at - barge.at < 200, 'playback stopped with the barge-in');
    await said;
    await w.until((e) => e.type === 'user.transcript' && e.final, 15_000, 'the new turn');
    await mic.close();
    await page.close();
    w.close();
  });

  it('a backchannel over the answer holds it, then it goes on where it stopped', async () => {
    // Flite says "okay" slowly (over 500 ms of voice): the barge-in delay is longer than that.
    const { w, mic, page } = await speakingWithMic(1200);
    await mic.say(trimSilence(await spokenSentence('Okay.')));
    await w.until((e) => e.type === 'reply.held', 5_000, 'held');
    const resumed = await w.until((e) => e.type === 'reply.resumed', 10_000, 'resumed');
    const ignored = await w.until((e) => e.type === 'user.ignored', 1_000, 'ignored');
    assert.equal((ignored as { reason?: string }).reason, 'backchannel');
    const done = await w.until((e) => e.type === 'utterance.finished', 30_000, 'finished');
    assert.equal((done as { interrupted: boolean }).interrupted, false, 'not interrupted');
    assert.ok(done.at > resumed.at);
    assert.equal(w.events.filter((e) => e.type === 'user.barge_in').length, 0);
    await mic.close();
    await page.close();
    w.close();
  });

  it('an audio message in an on-demand session: recognised, answered, rendered', async () => {
    const s = await session('on_demand');
    const pcm = await spokenSentence('Hello, my name is Ada.');
    const res = await sendAudio(s.id, wavFile(pcm, STT_SAMPLE_RATE));
    assert.equal(res.status, 200, await res.clone().text());
    const body = (await res.json()) as {
      user_text: string;
      reply_text: string;
      video_url: string;
      transcript: { text: string; recognition_ms: number };
    };
    assert.match(body.user_text.toLowerCase(), /my name is ada/);
    assert.equal(body.transcript.text, body.user_text);
    assert.ok(body.reply_text.length > 0);
    const video = await fetch(`${t.server.url}${body.video_url}`, {
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
    });
    assert.equal(video.status, 200);
    assert.equal(video.headers.get('content-type'), 'video/mp4');
    // The fact it told is remembered for this user.
    const memory = (await (
      await fetch(`${t.server.url}/v1/characters/${kai}/memory?user_id=listener`, {
        headers: { authorization: `Bearer ${ADMIN_KEY}` },
      })
    ).json()) as { facts: { key: string; value: string }[] };
    assert.ok(
      memory.facts.some((f) => f.key === 'name' && /ada/i.test(f.value)),
      JSON.stringify(memory.facts),
    );
  });

  it('bad audio is refused clearly and leaves nothing in history', async () => {
    const s = await session('on_demand');
    const problem = async (res: Response) => {
      assert.equal(res.headers.get('content-type'), 'application/problem+json');
      return (await res.json()) as { type: string; status: number };
    };
    let res = await sendAudio(s.id, new TextEncoder().encode('this is not audio at all'));
    assert.equal(res.status, 422);
    assert.equal((await problem(res)).type, '/problems/unsupported-audio');
    res = await sendAudio(s.id, wavFile(new Int16Array(16_000 * 2), STT_SAMPLE_RATE));
    assert.equal(res.status, 422);
    assert.equal((await problem(res)).type, '/problems/no-speech');
    res = await sendAudio(
      s.id,
      wavFile(
        new Int16Array(16_000 * 10).map((_, i) => Math.sin(i / 5) * 8000),
        STT_SAMPLE_RATE,
      ),
    );
    assert.equal(res.status, 413);
    assert.equal((await problem(res)).type, '/problems/audio-too-long');
    res = await sendAudio(s.id, new Uint8Array(500_000));
    assert.equal(res.status, 413);
    assert.equal((await problem(res)).type, '/problems/payload-too-large');
    const form = new FormData();
    form.set('text', 'no audio field');
    res = await fetch(`${t.server.url}/v1/sessions/${s.id}/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
      body: form,
    });
    assert.equal(res.status, 400);
    const list = (await (
      await fetch(`${t.server.url}/v1/sessions/${s.id}/messages`, {
        headers: { authorization: `Bearer ${ADMIN_KEY}` },
      })
    ).json()) as { data: unknown[] };
    assert.deepEqual(list.data, []);
  });
});

describe('listening with the recogniser down', () => {
  let t: TestServer;
  before(async () => {
    // An OpenAI-compatible transcription endpoint that is not there.
    t = await startTestServer({ env: { LIKENESS_STT_URL: 'http://127.0.0.1:9/v1' } });
  });
  after(() => t?.close());

  it('an audio message answers 503 recognizer-unavailable with Retry-After; the session goes on', async () => {
    const kai = (await t.client.listCharacters()).data.find((c) => c.slug === 'kai')!.id;
    const s = await t.client.createSession({ body: { character_id: kai, user_id: 'u', mode: 'on_demand' } });
    const form = new FormData();
    form.set(
      'audio',
      new Blob([wavFile(await spokenSentence('Hello there.'), STT_SAMPLE_RATE)], { type: 'audio/wav' }),
      'a.wav',
    );
    const res = await fetch(`${t.server.url}/v1/sessions/${s.id}/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
      body: form,
    });
    assert.equal(res.status, 503);
    assert.ok(Number(res.headers.get('retry-after')) > 0);
    assert.equal(((await res.json()) as { type: string }).type, '/problems/recognizer-unavailable');
    const again = await t.client.getSession({ path: { id: s.id } });
    assert.equal(again.status, 'created');
  });
});
