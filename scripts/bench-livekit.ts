/**
 * LiveKit numbers, against a real livekit-server (built and cached by the test helper) and a real server (child
 * process), with subscribers and an agent in this process (@livekit/rtc-node, @livekit/agents):
 *   - speak -> first speaking frame at a LiveKit subscriber (p50, p95 over 10 utterances): the test card's first
 *     frame of each utterance is white;
 *   - agent audio -> playback start: from an agent's first captured frame (DataStreamAudioOutput) to the
 *     avatar's lk.playback_started RPC (p50, p95 over 10 utterances), and the playback_finished count;
 *   - received fps at the subscriber over 10 s;
 *   - the A/V offset at the subscriber (as frames arrive) and at Chromium with livekit-client, as a viewer sees
 *     and hears it: 40 s of test-card beeps from the browser's joining, the first 20 s apart.
 * Timings are wall clock on a shared machine: read them as indications.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { initializeLogger } from '@livekit/agents';
import {
  AudioStream,
  dispose,
  type RemoteTrack,
  Room,
  RoomEvent,
  TrackKind,
  VideoBufferType,
  VideoStream,
} from '@livekit/rtc-node';
import { launchChromium } from '../packages/likeness/test/helpers/browser.ts';
import {
  joinAsAgent,
  readAll,
  sendUtterance,
  speechLike,
} from '../packages/likeness/test/helpers/livekit-agent.ts';
import { startLiveKit } from '../packages/likeness/test/helpers/livekit-server.ts';
import { pairBeeps, pairOffsets, SYNC_PROBE } from '../packages/likeness/test/helpers/sync-probe.ts';
import { BENCH_KEY, startBenchServer } from './lib/bench-server.ts';
import { farthestFromZero, mean, pct } from './lib/stats.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const r1 = (v: number) => Math.round(v * 10) / 10;

initializeLogger({ pretty: false, level: 'warn' });
const lk = await startLiveKit();
const { child, base } = await startBenchServer({
  dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'likeness-bench-lk-')),
  port: 21000 + Math.floor(Math.random() * 2000),
  env: { LIVEKIT_URL: lk.url, LIVEKIT_API_KEY: lk.apiKey, LIVEKIT_API_SECRET: lk.apiSecret },
});
const api = async (method: string, p: string, body?: unknown) => {
  const res = await fetch(base + p, {
    method,
    headers: {
      authorization: `Bearer ${BENCH_KEY}`,
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return res.status === 204 ? null : res.json();
};
type LiveKitAccess = { url: string; room: string; token: string; avatar_identity: string };
const result: Record<string, unknown> = {};
const rooms: Room[] = [];
let chrome: Awaited<ReturnType<typeof launchChromium>> | undefined;
let page: http.Server | undefined;

/** A viewer's page: livekit-client joins the room and plays the avatar's tracks in one <video>. */
const VIEWER_PAGE = `<!doctype html><video id="video" autoplay playsinline></video>
<script src="/livekit-client.js"></script>
<script>
window.jitterBuffers = async () => {
  const out = {};
  for (const r of window.receivers)
    (await r.getStats()).forEach((s) => {
      if (s.type === 'inbound-rtp') out[s.kind] = Math.round((s.jitterBufferDelay / Math.max(1, s.jitterBufferEmittedCount)) * 1000);
    });
  return out;
};
window.join = async (url, token) => {
  const room = new LivekitClient.Room({ adaptiveStream: false, dynacast: false });
  const stream = new MediaStream();
  window.receivers = [];
  room.on(LivekitClient.RoomEvent.TrackSubscribed, (track) => {
    window.receivers.push(track.receiver);
    stream.addTrack(track.mediaStreamTrack);
    document.getElementById('video').srcObject = stream;
    window.likenessStream = stream;
  });
  await room.connect(url, token, { autoSubscribe: true });
};
</script>`;

/** Test-card beeps at Chromium from its joining: white frame presented vs beep heard (audio thread). */
async function browserOffset(livekit: LiveKitAccess, sessionId: string) {
  const client = fs.readFileSync(
    new URL('../node_modules/livekit-client/dist/livekit-client.umd.js', import.meta.url),
  );
  page = http.createServer((req, res) => {
    const js = req.url === '/livekit-client.js';
    res.writeHead(200, { 'content-type': js ? 'text/javascript' : 'text/html' });
    res.end(js ? client : VIEWER_PAGE);
  });
  await new Promise<void>((r) => page!.listen(0, '127.0.0.1', r));
  const port = (page.address() as { port: number }).port;
  chrome = await launchChromium();
  const tab = await chrome.browser.newPage();
  await tab.goto(`http://127.0.0.1:${port}/`);
  await tab.evaluate(`window.join(${JSON.stringify(livekit.url)}, ${JSON.stringify(livekit.token)})`);
  await tab.waitForFunction(
    'window.likenessStream && likenessStream.getAudioTracks().length && likenessStream.getVideoTracks().length',
    undefined,
    { timeout: 20_000 },
  );
  const joinedAt = (await tab.evaluate('performance.now()')) as number;
  await tab.evaluate(SYNC_PROBE);
  await sleep(500);
  const seconds = 40;
  await api('POST', `/v1/sessions/${sessionId}/speak`, { text: 'x'.repeat(seconds * 15) });
  await sleep(seconds * 1000 + 1500);
  const probe = (await tab.evaluate(
    '({ white: syncProbe.white, beeps: syncProbe.beepsWorklet, output: ((syncProbe.ctx.baseLatency || 0) + (syncProbe.ctx.outputLatency || 0)) * 1000 })',
  )) as { white: number[]; beeps: number[]; output: number };
  const jitterBuffers = await tab.evaluate('window.jitterBuffers()');
  const pairs = pairBeeps(probe.white, probe.beeps);
  const part = (early: boolean) => {
    const xs = pairs.filter((p) => p.at - joinedAt < 20_000 === early).map((p) => p.offset);
    return { mean: r1(mean(xs)), worst: r1(farthestFromZero(xs)), n: xs.length };
  };
  return {
    beeps_paired: pairs.length,
    first_20_s: part(true),
    after_20_s: part(false),
    audio_output_latency_ms: r1(probe.output),
    receiver_jitter_buffer_ms: jitterBuffers,
    sign: '+ = picture after sound',
    target: '+-40',
  };
}

try {
  const cast = (await api('GET', '/v1/characters?limit=100')) as { data: { id: string; slug: string }[] };
  const card = cast.data.find((c) => c.slug === 'test-card')!;
  const session = (await api('POST', '/v1/sessions', {
    character_id: card.id,
    user_id: 'bench',
    mode: 'realtime',
  })) as { id: string };
  const { livekit } = (await api('POST', `/v1/sessions/${session.id}/token`)) as { livekit: LiveKitAccess };

  // A subscriber that notes when white frames (the first of each test-card utterance) arrive.
  const viewer = new Room();
  rooms.push(viewer);
  const whiteAt: number[] = [];
  let frames = 0;
  const beepAt: number[] = [];
  viewer.on(RoomEvent.TrackSubscribed, (track: RemoteTrack) => {
    if (track.kind === TrackKind.KIND_AUDIO) {
      void (async () => {
        let last = -1e9;
        for await (const value of readAll(new AudioStream(track, 48_000, 1))) {
          const i = value.data.findIndex((v) => Math.abs(v) > 6000);
          if (i < 0) continue;
          // Arrival of this 10 ms frame, less the samples after the beep's onset.
          const t = performance.now() - ((value.data.length - i) / 48_000) * 1000;
          if (t - last > 500) beepAt.push(t);
          last = t;
        }
      })();
      return;
    }
    if (track.kind !== TrackKind.KIND_VIDEO) return;
    void (async () => {
      let wasWhite = false;
      for await (const value of readAll(new VideoStream(track))) {
        frames++;
        const rgba = value.frame.convert(VideoBufferType.RGBA);
        const white = rgba.data[0]! > 200 && rgba.data[1]! > 200 && rgba.data[2]! > 200;
        if (white && !wasWhite) whiteAt.push(performance.now());
        wasWhite = white;
      }
    })();
  });
  await viewer.connect(livekit.url, livekit.token, { autoSubscribe: true, dynacast: false });
  await sleep(2000);

  const firstFrame: number[] = [];
  for (let i = 0; i < 10; i++) {
    const seen = whiteAt.length;
    const t0 = performance.now();
    await api('POST', `/v1/sessions/${session.id}/speak`, { text: 'x' });
    while (whiteAt.length === seen && performance.now() - t0 < 3000) await sleep(2);
    if (whiteAt.length > seen) firstFrame.push(whiteAt[seen]! - t0);
    await sleep(1200);
  }
  result.speak_to_first_frame_ms = {
    p50: r1(pct(firstFrame, 0.5)),
    p95: r1(pct(firstFrame, 0.95)),
    n: firstFrame.length,
  };

  // 10 s of test-card beeps: the white frame and the beep as they arrive at the subscriber (no playout
  // stage, so this is the offset in what LiveKit delivers, not what a player shows).
  const f0 = frames;
  const t10 = performance.now();
  await api('POST', `/v1/sessions/${session.id}/speak`, { text: 'x'.repeat(150) });
  await sleep(10_000);
  result.received_fps = r1((frames - f0) / 10);
  await sleep(1500);
  const offsets = pairOffsets(
    whiteAt.filter((x) => x > t10),
    beepAt.filter((x) => x > t10),
  );
  result.av_offset_at_arrival_ms = {
    beeps_paired: offsets.length,
    mean: r1(mean(offsets)),
    worst: r1(farthestFromZero(offsets)),
    sign: '+ = picture after sound',
  };

  result.av_offset_at_browser_ms = await browserOffset(livekit, session.id);

  // An agent speaking through the avatar.
  const { room: agent, output } = await joinAsAgent(lk, livekit, {
    identity: 'bench-agent',
    waitPlaybackStart: true,
  });
  rooms.push(agent);
  let startedAt = 0;
  let finished = 0;
  output.on('playbackStarted', () => {
    startedAt = performance.now();
  });
  output.on('playbackFinished', () => finished++);
  const toStart: number[] = [];
  for (let i = 0; i < 10; i++) {
    startedAt = 0;
    const pcm = speechLike(0.6);
    const t0 = performance.now();
    await sendUtterance(output, pcm);
    await output.waitForPlayout();
    if (startedAt) toStart.push(startedAt - t0);
    await sleep(300);
  }
  result.agent_audio_to_playback_started_ms = {
    p50: r1(pct(toStart, 0.5)),
    p95: r1(pct(toStart, 0.95)),
    n: toStart.length,
    playback_finished_received: finished,
    note: 'the avatar starts an agent utterance once 100 ms of its audio is in hand (agents send faster than realtime)',
  };
} finally {
  await chrome?.close();
  page?.close();
  for (const r of rooms) await r.disconnect().catch(() => undefined);
  child.kill('SIGTERM');
  await lk.stop();
  await dispose();
}
console.log(
  JSON.stringify({ machine: { cpus: os.cpus().length, node: process.version }, ...result }, null, 2),
);
process.exit(0);
