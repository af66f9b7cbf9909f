/// <reference lib="dom" />
/**
 * Realtime over WHEP, from a real browser (Debian's Chromium driven by playwright-core), through the studio page.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { launchChromium } from './helpers/browser.ts';
import { pairOffsets, SYNC_PROBE } from './helpers/sync-probe.ts';
import { ADMIN_KEY, startTestServer, type TestServer } from './helpers/test-server.ts';

type Ev = {
  type: string;
  utterance_id?: string;
  interrupted?: boolean;
  playback_position_ms?: number;
  status?: string;
};

describe('realtime in the browser (WHEP)', () => {
  let t: TestServer;
  let chrome: Awaited<ReturnType<typeof launchChromium>>;
  let page: Page;

  before(async () => {
    t = await startTestServer();
    chrome = await launchChromium();
    page = await chrome.browser.newPage();
    page.on('pageerror', (e) => console.error('page error:', e.message));
    await page.goto(`${t.server.url}/?key=${ADMIN_KEY}&character=kai&mic=0`);
    await page.waitForFunction(
      () => (document.getElementById('character') as HTMLSelectElement).options.length > 0,
    );
    await page.evaluate(() =>
      (window as unknown as { likeness: { connect(): Promise<void> } }).likeness.connect(),
    );
  });
  after(async () => {
    await chrome?.close();
    await t?.close();
  });

  const stats = () =>
    page.evaluate(async () => {
      const pc = (window as unknown as { likeness: { state: { pc: RTCPeerConnection } } }).likeness.state.pc;
      const out = { framesDecoded: 0, framesDropped: 0, audioSamples: 0, concealed: 0 };
      (await pc.getStats()).forEach((s) => {
        if (s.type === 'inbound-rtp' && s.kind === 'video')
          Object.assign(out, { framesDecoded: s.framesDecoded, framesDropped: s.framesDropped ?? 0 });
        if (s.type === 'inbound-rtp' && s.kind === 'audio')
          Object.assign(out, { audioSamples: s.totalSamplesReceived, concealed: s.concealedSamples });
      });
      return out;
    });
  const events = () =>
    page.evaluate(() => ((window as unknown as { likenessEvents?: Ev[] }).likenessEvents ?? []) as Ev[]);
  const sessionId = () =>
    page.evaluate(
      () => (window as unknown as { likeness: { state: { session: string } } }).likeness.state.session,
    );
  const speak = async (text: string) => {
    const res = await fetch(`${t.server.url}/v1/sessions/${await sessionId()}/speak`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ text }),
    });
    assert.equal(res.status, 202);
    return ((await res.json()) as { utterance_id: string }).utterance_id;
  };

  it('plays video while idle: frames arrive before anything is said', async () => {
    await page.waitForFunction(
      async () => {
        const pc = (window as unknown as { likeness: { state: { pc: RTCPeerConnection } } }).likeness.state
          .pc;
        let n = 0;
        (await pc.getStats()).forEach((s) => {
          if (s.type === 'inbound-rtp' && s.kind === 'video') n = s.framesDecoded;
        });
        return n > 25;
      },
      undefined,
      { timeout: 15_000 },
    );
    const a = await stats();
    await new Promise((r) => setTimeout(r, 2000));
    const b = await stats();
    const fps = (b.framesDecoded - a.framesDecoded) / 2;
    assert.ok(fps > 20, `idle video keeps flowing (${fps} fps)`);
  });

  it('speaks: the browser hears it (WebAudio) and gets utterance events exactly once', async () => {
    // A string, not a function: the TypeScript loader would inject helpers the page does not have.
    await page.evaluate(`(() => {
      const ctx = new AudioContext();
      const source = ctx.createMediaStreamSource(new MediaStream(window.likenessStream.getAudioTracks()));
      const analyser = ctx.createAnalyser();
      analyser.fftSize = 1024;
      source.connect(analyser);
      const buf = new Float32Array(analyser.fftSize);
      window.peak = 0;
      window.audioCtx = ctx;
      setInterval(() => {
        analyser.getFloatTimeDomainData(buf);
        let sum = 0;
        for (const v of buf) sum += v * v;
        window.peak = Math.max(window.peak, Math.sqrt(sum / buf.length));
      }, 20);
    })()`);
    await new Promise((r) => setTimeout(r, 500));
    const silentPeak = await page.evaluate(() => (window as unknown as { peak: number }).peak);
    const id = await speak('Hello from the studio. Can you hear me?');
    await page.waitForFunction(
      (u) =>
        ((window as unknown as { likenessEvents?: Ev[] }).likenessEvents ?? []).some(
          (e) => e.type === 'utterance.finished' && e.utterance_id === u,
        ),
      id,
      {
        timeout: 20_000,
      },
    );
    const peak = await page.evaluate(() => (window as unknown as { peak: number }).peak);
    assert.ok(
      peak > 0.02 && peak > silentPeak * 5,
      `speech is audible in the browser (RMS peak ${peak.toFixed(3)}, silence ${silentPeak.toFixed(4)})`,
    );
    const mine = (await events()).filter((e) => e.utterance_id === id);
    assert.deepEqual(
      mine.map((e) => e.type),
      ['utterance.queued', 'utterance.started', 'utterance.finished'],
    );
    const finished = mine.at(-1)!;
    assert.equal(finished.interrupted, false);
    assert.ok(finished.playback_position_ms! > 1500, `played ${finished.playback_position_ms} ms`);
  });

  it('interrupts mid-utterance: stops, drops the queue, and finishes each utterance once as interrupted', async () => {
    const first = await speak(
      'This is a long sentence that will be cut off before it can finish, because we interrupt it.',
    );
    const second = await speak('And this one never gets to play at all.');
    await page.waitForFunction(
      (u) =>
        ((window as unknown as { likenessEvents?: Ev[] }).likenessEvents ?? []).some(
          (e) => e.type === 'utterance.started' && e.utterance_id === u,
        ),
      first,
    );
    await new Promise((r) => setTimeout(r, 700));
    const res = await fetch(`${t.server.url}/v1/sessions/${await sessionId()}/interrupt`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
    });
    assert.deepEqual(await res.json(), { dropped: 2 });
    await new Promise((r) => setTimeout(r, 500));
    const all = await events();
    const f1 = all.filter((e) => e.utterance_id === first && e.type === 'utterance.finished');
    const f2 = all.filter((e) => e.utterance_id === second && e.type === 'utterance.finished');
    assert.equal(f1.length, 1);
    assert.equal(f2.length, 1);
    assert.equal(f1[0]!.interrupted, true);
    assert.ok(
      f1[0]!.playback_position_ms! >= 500 && f1[0]!.playback_position_ms! < 3000,
      `cut after ${f1[0]!.playback_position_ms} ms`,
    );
    assert.deepEqual([f2[0]!.interrupted, f2[0]!.playback_position_ms], [true, 0]);
    assert.equal(all.filter((e) => e.utterance_id === second && e.type === 'utterance.started').length, 0);
  });

  it('test card: white frames and beeps line up (A/V offset measured in the browser)', async () => {
    const card = await chrome.browser.newPage();
    try {
      await card.goto(`${t.server.url}/?key=${ADMIN_KEY}&character=test-card&mic=0`);
      await card.waitForFunction(
        () => (document.getElementById('character') as HTMLSelectElement).value !== '',
      );
      await card.evaluate('window.likeness.connect()');
      await card.waitForFunction(
        'window.likenessStream && window.likenessStream.getVideoTracks().length > 0',
        undefined,
        { timeout: 15_000 },
      );
      await new Promise((r) => setTimeout(r, 1000));
      await card.evaluate(SYNC_PROBE);
      const id = (await card.evaluate('window.likeness.state.session')) as string;
      const res = await fetch(`${t.server.url}/v1/sessions/${id}/speak`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ text: 'x'.repeat(60) }), // 4 beeps
      });
      assert.equal(res.status, 202);
      await new Promise((r) => setTimeout(r, 5500));
      const probe = (await card.evaluate(
        '({ white: window.syncProbe.white, placed: window.syncProbe.placed, beeps: window.syncProbe.beepsWorklet })',
      )) as { white: number[]; placed: number; beeps: number[] };
      // 4 beeps were sent. A loaded browser skips frames: a flash whose white frame was skipped is placed from
      // its fading frame (counted in `placed`). At least 3 must be paired; never more than 4 of either may appear.
      assert.ok(
        probe.beeps.length >= 3 && probe.beeps.length <= 4,
        `beeps heard: ${probe.beeps.length} of 4`,
      );
      assert.ok(
        probe.white.length >= 3 && probe.white.length <= 4,
        `flashes seen: ${probe.white.length} of 4`,
      );
      const offsets = pairOffsets(probe.white, probe.beeps);
      assert.ok(offsets.length >= 3, `beeps with their white frame: ${offsets.length}`);
      console.log(
        `test card A/V offsets (ms, + = video later): ${offsets.map((o) => o.toFixed(0)).join(', ')}` +
          ` (${probe.placed} placed from a fading frame)`,
      );
      // The player keeps the picture as late as the sound: its video playout target follows the audio buffer.
      const sync = (await card.evaluate(
        '({ target: window.likenessSync.target, audio: window.likenessSync.audio_ms, video: window.likenessSync.video_ms })',
      )) as { target: number; audio: number | null; video: number | null };
      console.log(`player: audio buffer ${sync.audio?.toFixed(0)} ms, video ${sync.video?.toFixed(0)} ms`);
      assert.ok(sync.audio !== null && sync.video !== null, 'the player measured both buffers');
      // A loose bound for a shared machine; the bench reports the real numbers.
      assert.ok(
        offsets.every((o) => Math.abs(o) < 200),
        `offsets ${offsets.map((o) => o.toFixed(0))}`,
      );
    } finally {
      // Ended even when an assertion failed, so the next test finds no session of this one running.
      await card.evaluate('window.likeness.disconnect()').catch(() => {});
      await card.close();
    }
  });

  it('meters media seconds and ends cleanly: DELETE tears the connection down', async () => {
    const id = await sessionId();
    const before = await stats();
    assert.equal(before.framesDropped, 0, 'no frames dropped');
    await page.evaluate(() =>
      (window as unknown as { likeness: { disconnect(): Promise<void> } }).likeness.disconnect(),
    );
    const session = await t.client.getSession({ path: { id } });
    assert.equal(session.status, 'ended');
    await new Promise((r) => setTimeout(r, 300)); // teardown's final usage flush runs after the transition
    const usage = await t.client.getUsage({ query: { group_by: 'session' } });
    const seconds = usage.data.find((r) => r.key === id)?.media_seconds ?? 0;
    assert.ok(seconds > 5, `media seconds metered (${seconds})`);
    assert.equal(t.server.services.live.host.count, 0, 'no media session left running');
  });
});
