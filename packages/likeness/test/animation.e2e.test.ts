/**
 * POST /v1/sessions/{id}/animation: the animation track for clients that draw their own face.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ARKIT_BLENDSHAPES } from '../src/animation/blendshapes.ts';
import { bestLag, frameLoudness } from '../src/animation/loudness-lag.ts';
import { ADMIN_KEY, startTestServer, type TestServer } from './helpers/test-server.ts';

interface Track {
  duration_s: number;
  fps: number;
  frames: number;
  audio: { format: string; encoding: string; sample_rate: number; data: string };
  visemes: { t: number; duration: number; viseme: string; weight: number }[];
  blendshapes: { names: string[]; frames: number[][] };
  head: { names: string[]; frames: number[][] };
}

/** The PCM samples of a 16-bit mono WAV. */
function wavSamples(b64: string): { pcm: Int16Array; rate: number } {
  const bytes = Buffer.from(b64, 'base64');
  assert.equal(bytes.toString('ascii', 0, 4), 'RIFF');
  assert.equal(bytes.readUInt16LE(22), 1, 'mono');
  const rate = bytes.readUInt32LE(24);
  const data = bytes.subarray(44);
  return { pcm: new Int16Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.length)), rate };
}

describe('animation track', () => {
  let t: TestServer;
  let kaiId: string;
  const post = (sessionId: string, body: unknown) =>
    fetch(`${t.server.url}/v1/sessions/${sessionId}/animation`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const session = async (mode: 'on_demand' | 'realtime' = 'on_demand') =>
    (await t.client.createSession({ body: { character_id: kaiId, user_id: 'u', mode } })).id;

  before(async () => {
    t = await startTestServer();
    kaiId = (await t.client.listCharacters()).data.find((c) => c.slug === 'kai')!.id;
  });
  after(async () => {
    await t?.close();
  });

  it('returns audio, visemes and 52 ARKit weights per frame, all on the audio clock', async () => {
    const id = await session();
    const res = await post(id, {
      text: 'Hello there! Shall we build a robot, or bake a cake today?',
      seed: 2,
    });
    assert.equal(res.status, 200);
    const track = (await res.json()) as Track;
    assert.deepEqual(track.blendshapes.names, [...ARKIT_BLENDSHAPES]);
    assert.equal(track.blendshapes.names.length, 52);
    assert.equal(track.fps, 25);
    assert.equal(track.blendshapes.frames.length, track.frames);
    assert.equal(track.head.frames.length, track.frames);
    assert.ok(track.blendshapes.frames.every((f) => f.length === 52 && f.every((w) => w >= 0 && w <= 1)));
    const { pcm, rate } = wavSamples(track.audio.data);
    assert.equal(rate, track.audio.sample_rate);
    // Audio and frames end together: the audio is whole frames long.
    assert.equal(pcm.length, Math.round((track.frames * rate) / track.fps));
    assert.equal(track.duration_s, track.frames / track.fps);
    assert.ok(track.duration_s > 2, `duration ${track.duration_s}`);
    // Visemes are in time order, inside the audio, and include closed lips for the b of "build".
    assert.ok(track.visemes.every((v, i) => i === 0 || v.t >= track.visemes[i - 1]!.t));
    assert.ok(track.visemes.every((v) => v.t >= 0 && v.t + v.duration <= track.duration_s + 0.01));
    assert.ok(track.visemes.some((v) => v.viseme === 'PP'));
    // The jaw follows the loudness of the very audio returned, with no lag.
    const jaw = track.blendshapes.frames.map((f) => f[track.blendshapes.names.indexOf('jawOpen')]!);
    const { lag, r } = bestLag(jaw, frameLoudness(pcm, rate, track.fps, track.frames));
    // (r is bounded by phonetics: an "s" is loud with the jaw nearly shut; bench:animation prints it.)
    assert.equal(lag, 0, `jawOpen peaks ${lag} frames from the loudness`);
    assert.ok(r >= 0.3, `jawOpen vs loudness r = ${r.toFixed(2)}`);
    // The eyes blink somewhere in a few seconds of speech.
    const blink = track.blendshapes.frames.map((f) => f[0]!);
    assert.ok(Math.max(...blink) > 0.8, 'a blink');
    // Metered like an MP4.
    const usage = await t.client.getUsage({ query: { group_by: 'session' } });
    assert.equal(usage.data.find((u) => u.key === id)?.media_seconds, track.duration_s);
  });

  it('is deterministic for the same text and seed, and takes fps', async () => {
    const id = await session();
    const a = (await (await post(id, { text: 'Same again.', seed: 5, fps: 30 })).json()) as Track;
    const b = (await (await post(id, { text: 'Same again.', seed: 5, fps: 30 })).json()) as Track;
    assert.equal(a.fps, 30);
    assert.deepEqual(a.blendshapes.frames, b.blendshapes.frames);
    assert.equal(a.audio.data, b.audio.data);
  });

  it('refuses bad input with problems, and records nothing for them', async () => {
    const id = await session();
    const cases: [unknown, number, string][] = [
      [{ text: '' }, 400, 'validation-error'],
      [{ text: 'hi', fps: 500 }, 400, 'validation-error'],
      [{ text: 'hi', size: 256 }, 400, 'validation-error'],
      [{ text: 'hi', voice: 'nobody' }, 422, 'unknown-voice'],
      [{ text: 'x'.repeat(6000) }, 422, 'text-too-long'],
    ];
    for (const [body, status, type] of cases) {
      const res = await post(id, body);
      assert.equal(res.status, status, JSON.stringify(body));
      assert.equal(res.headers.get('content-type'), 'application/problem+json');
      const problem = (await res.json()) as { type: string };
      assert.ok(problem.type.endsWith(`/${type}`), `${problem.type} for ${JSON.stringify(body)}`);
    }
    const realtime = await session('realtime');
    assert.equal((await post(realtime, { text: 'hi' })).status, 409);
    assert.equal((await post('ses_nope', { text: 'hi' })).status, 404);
    const usage = await t.client.getUsage({ query: { group_by: 'session' } });
    assert.equal(
      usage.data.find((u) => u.key === id),
      undefined,
    );
  });

  it('streams a live session’s frames (SSE, with a session token): blendshapes move with the speech', async () => {
    const id = await session('realtime');
    const token = await t.client.createSessionToken({ path: { id } });
    const res = await fetch(`${t.server.url}/v1/sessions/${id}/animation/stream?token=${token.token}`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    // biome-ignore lint/suspicious/noExplicitAny: events are read by their documented shape
    const events: { event: string; data: any }[] = [];
    let buffer = '';
    let spoke = false;
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let cut = buffer.indexOf('\n\n');
      while (cut >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event && data) events.push({ event, data: JSON.parse(data) });
        cut = buffer.indexOf('\n\n');
      }
      const frames = events.filter((e) => e.event === 'frame');
      if (!spoke && frames.length >= 5) {
        spoke = true;
        await t.client.speak({ path: { id }, body: { text: 'Hello, how are you?' } });
      }
      if (frames.length >= 90) break;
    }
    await reader.cancel();
    assert.equal(events[0]!.event, 'session.state');
    const names = events.find((e) => e.event === 'animation.names')!.data;
    assert.equal(names.names.length, 52);
    const frames = events.filter((e) => e.event === 'frame').map((e) => e.data);
    assert.ok(frames.length >= 90, `${frames.length} frames`);
    // Consecutive frames, 40 ms apart on the session's audio clock.
    for (let i = 1; i < frames.length; i++) {
      assert.equal(frames[i].n, frames[i - 1].n + 1);
      assert.ok(Math.abs(frames[i].t - frames[i - 1].t - 0.04) < 0.002);
    }
    const jaw = names.names.indexOf('jawOpen');
    const open = Math.max(...frames.map((f) => f.weights[jaw]));
    assert.ok(open > 0.3, `jawOpen peaked at ${open}`);
    assert.ok(frames.every((f) => f.weights.length === 52 && f.head.length === 3));
    // The token opens this stream only.
    const other = await session('realtime');
    assert.equal(
      (await fetch(`${t.server.url}/v1/sessions/${other}/animation/stream?token=${token.token}`)).status,
      401,
    );
    assert.equal(
      (await fetch(`${t.server.url}/v1/sessions/${other}/animation/stream?token=${ADMIN_KEY}`)).status,
      401,
    );
  });

  it('the example page draws its own face from the track, in step with the audio', async () => {
    const { launchChromium } = await import('./helpers/browser.ts');
    const chromium = await launchChromium();
    try {
      const page = await chromium.browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      await page.goto(`${t.server.url}/examples/animation-face`);
      await page.fill('#key', ADMIN_KEY);
      await page.dispatchEvent('#key', 'change');
      await page.waitForSelector('#character option[value^="chr_"]', { state: 'attached' });
      await page.fill('#text', 'Open wide, say ah, and then go home.');
      await page.click('#speak');
      await page.waitForFunction(() => document.querySelector('#status')?.textContent === 'Speaking…');
      // While it plays, the drawn frame advances with audio.currentTime and the jaw opens.
      let maxJaw = 0;
      const seen = new Set<number>();
      for (let i = 0; i < 40; i++) {
        const { frame, jaw } = await page.$eval('#face', (c) => ({
          frame: Number((c as HTMLCanvasElement).dataset.frame),
          jaw: Number((c as HTMLCanvasElement).dataset.jaw),
        }));
        seen.add(frame);
        maxJaw = Math.max(maxJaw, jaw);
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.ok(seen.size > 10, `${seen.size} different frames drawn`);
      assert.ok(maxJaw > 0.3, `jaw opened to ${maxJaw}`);
      assert.deepEqual(errors, []);
    } finally {
      await chromium.close();
    }
  });
});
