/**
 * Integrations (issue 13), printed as JSON, against a real server (child process, as `npm start` runs it):
 *   1. the animation track (POST /v1/sessions/{id}/animation) for every cast member: jawOpen against the
 *      audio's loudness (the lag in frames where their correlation peaks, and that r), and its cost beside an
 *      MP4 of the same text and seed (target: lag 0, < 20 % of the MP4's time);
 *   2. the live animation stream (SSE): frames per second and the spread of their arrival against their
 *      audio time;
 *   3. webhooks: event -> signed delivery at a local receiver, and the retry after a 500;
 *   4. MCP over Streamable HTTP with the official client: tools/list, and generate_video to a playable link.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Webhook } from 'standardwebhooks';
import { bestLag, frameLoudness } from '../packages/likeness/src/animation/loudness-lag.ts';
import { startReceiver } from '../packages/likeness/test/helpers/webhook-receiver.ts';
import { BENCH_KEY, benchApi, startBenchServer } from './lib/bench-server.ts';
import { pct } from './lib/stats.ts';

const r0 = (v: number) => Math.round(v);
const r2 = (v: number) => Math.round(v * 100) / 100;
const TEXTS = [
  'Good morning! The bakery opens at seven, and the bread is still warm.',
  'Could you pass me the blue map? I think we took the wrong turn at the bridge.',
  'Music, maths and a little bit of mischief: that is how we spend our Fridays.',
];

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'likeness-bench-anim-'));
const port = 20_000 + Math.floor(Math.random() * 20_000);
const server = await startBenchServer({
  dataDir,
  port,
  env: { LIKENESS_WEBHOOK_RETRY_S: '1,1,1', LIKENESS_WEBHOOK_ALLOW_PRIVATE_URLS: '1' },
});
const api = benchApi(server.base);
const post = (p: string, body: unknown) =>
  fetch(server.base + p, {
    method: 'POST',
    headers: { authorization: `Bearer ${BENCH_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
const result: Record<string, unknown> = {
  machine: { cpus: os.availableParallelism(), node: process.version },
};

try {
  const cast = ((await api('GET', '/v1/characters')) as { data: { id: string; slug: string }[] }).data.filter(
    (c) => c.slug,
  );

  // The first render after start loads the character and warms the engines (about 1 s): measured on its own.
  {
    const warm = (await api('POST', '/v1/sessions', {
      character_id: cast[0]!.id,
      user_id: 'bench',
      mode: 'on_demand',
    })) as { id: string };
    let t0 = performance.now();
    await (await post(`/v1/sessions/${warm.id}/animation`, { text: 'Warming up.' })).arrayBuffer();
    const trackMs = performance.now() - t0;
    t0 = performance.now();
    await (await post(`/v1/sessions/${warm.id}/generate`, { text: 'Warming up.' })).arrayBuffer();
    result.first_after_start = { track_ms: r0(trackMs), mp4_ms: r0(performance.now() - t0) };
    await api('DELETE', `/v1/sessions/${warm.id}`);
  }

  // 1. The animation track beside the MP4.
  const perCharacter: Record<string, unknown> = {};
  const ratios: number[] = [];
  for (const c of cast) {
    const lags: number[] = [];
    const rs: number[] = [];
    const pooledJaw: number[] = [];
    const pooledLoudness: number[] = [];
    const trackMs: number[] = [];
    const mp4Ms: number[] = [];
    for (const [i, text] of TEXTS.entries()) {
      const session = (await api('POST', '/v1/sessions', {
        character_id: c.id,
        user_id: 'bench',
        mode: 'on_demand',
      })) as { id: string };
      let t0 = performance.now();
      const track = (await (
        await post(`/v1/sessions/${session.id}/animation`, { text, seed: i })
      ).json()) as {
        fps: number;
        frames: number;
        audio: { data: string };
        blendshapes: { names: string[]; frames: number[][] };
      };
      trackMs.push(performance.now() - t0);
      if (!track.audio) throw new Error(`animation for ${c.slug}: ${JSON.stringify(track)}`);
      t0 = performance.now();
      const mp4 = await post(`/v1/sessions/${session.id}/generate`, { text, seed: i });
      await mp4.arrayBuffer();
      mp4Ms.push(performance.now() - t0);
      await api('DELETE', `/v1/sessions/${session.id}`);
      const wav = Buffer.from(track.audio.data, 'base64');
      const rate = wav.readUInt32LE(24);
      const pcm = new Int16Array(wav.buffer.slice(wav.byteOffset + 44, wav.byteOffset + wav.length));
      const jaw = track.blendshapes.frames.map((f) => f[track.blendshapes.names.indexOf('jawOpen')]!);
      const loudness = frameLoudness(pcm, rate, track.fps, track.frames);
      const { lag, r } = bestLag(jaw, loudness);
      // Pooled with a gap of silence-and-rest between texts, so no pair straddles two of them.
      pooledJaw.push(...jaw, ...new Array(5).fill(0));
      pooledLoudness.push(...loudness, ...new Array(5).fill(0));
      lags.push(lag);
      rs.push(r);
    }
    const ratio = trackMs.reduce((a, b) => a + b) / mp4Ms.reduce((a, b) => a + b);
    ratios.push(ratio);
    const pooled = bestLag(pooledJaw, pooledLoudness);
    perCharacter[c.slug] = {
      jaw_loudness_lag_frames_all_texts: pooled.lag,
      jaw_loudness_r_all_texts: r2(pooled.r),
      jaw_loudness_lag_frames: lags,
      jaw_loudness_r: rs.map(r2),
      track_ms: trackMs.map(r0),
      mp4_ms: mp4Ms.map(r0),
      track_cost_of_mp4_pct: r0(ratio * 100),
    };
  }
  result.animation_track = {
    per_character: perCharacter,
    lag_zero_for_every_character: Object.values(perCharacter).every(
      (v) => (v as { jaw_loudness_lag_frames_all_texts: number }).jaw_loudness_lag_frames_all_texts === 0,
    ),
    track_cost_of_mp4_pct_max: r0(Math.max(...ratios) * 100),
    targets: { lag_frames: 0, track_cost_of_mp4_pct: '< 20' },
  };

  // 2. The live stream: arrival of frames against their audio time.
  {
    const walter = cast.find((c) => c.slug === 'walter') ?? cast[0]!;
    const session = (await api('POST', '/v1/sessions', {
      character_id: walter.id,
      user_id: 'bench',
      mode: 'realtime',
    })) as { id: string };
    const res = await fetch(`${server.base}/v1/sessions/${session.id}/animation/stream`, {
      headers: { authorization: `Bearer ${BENCH_KEY}` },
    });
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    const arrivals: { t: number; at: number }[] = [];
    let buffer = '';
    const started = performance.now();
    let spoke = false;
    while (performance.now() - started < 6000) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      for (let cut = buffer.indexOf('\n\n'); cut >= 0; cut = buffer.indexOf('\n\n')) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        if (!block.startsWith('event: frame')) continue;
        const frame = JSON.parse(/^data: (.*)$/m.exec(block)![1]!) as { t: number };
        arrivals.push({ t: frame.t, at: performance.now() });
      }
      if (!spoke && arrivals.length > 10) {
        spoke = true;
        await api('POST', `/v1/sessions/${session.id}/speak`, { text: TEXTS[0] });
      }
    }
    await reader.cancel();
    await api('DELETE', `/v1/sessions/${session.id}`);
    // Offset of each arrival from where the audio clock says it should be (first frame as the origin).
    const origin = arrivals[0]!;
    const offsets = arrivals.map((a) => a.at - origin.at - (a.t - origin.t) * 1000);
    const spanS = (arrivals.at(-1)!.at - origin.at) / 1000;
    result.live_stream = {
      frames: arrivals.length,
      fps: r2((arrivals.length - 1) / spanS),
      arrival_vs_audio_clock_ms: {
        p50: r2(pct(offsets, 0.5)),
        p95: r2(pct(offsets, 0.95)),
        max: r2(Math.max(...offsets)),
      },
    };
  }

  // 3. Webhooks.
  {
    const receiver = await startReceiver({ statuses: [500] });
    const hook = (await api('POST', '/v1/webhooks', {
      url: receiver.url,
      events: ['session.started', 'video.ready'],
    })) as { id: string; secret: string };
    const walter = cast[0]!;
    const session = (await api('POST', '/v1/sessions', {
      character_id: walter.id,
      user_id: 'bench',
      mode: 'on_demand',
    })) as { id: string };
    const sentAt = Date.now();
    await api('POST', `/v1/sessions/${session.id}/keepalive`);
    const first = await receiver.waitFor(() => true);
    const firstMs = first.at - sentAt;
    const retry = await receiver.waitFor(
      (r) => r !== first && r.headers['webhook-id'] === first.headers['webhook-id'],
    );
    const verified = new Webhook(hook.secret).verify(retry.body, retry.headers) as { type: string };
    const videoAt = Date.now();
    const video = (await (await post(`/v1/sessions/${session.id}/videos`, { text: TEXTS[1] })).json()) as {
      id: string;
    };
    const ready = await receiver.waitFor((r) => r.body.includes(video.id));
    result.webhooks = {
      event_to_first_attempt_ms: r0(firstMs),
      retry_after_500_ms: r0(retry.at - first.at),
      retried_delivery_verified_by_standardwebhooks: verified.type === 'session.started',
      video_request_to_video_ready_delivery_ms: r0(ready.at - videoAt),
    };
    await receiver.close();
  }

  // 4. MCP.
  {
    const client = new Client({ name: 'bench', version: '1.0.0' });
    let t0 = performance.now();
    await client.connect(
      new StreamableHTTPClientTransport(new URL('/mcp', server.base), {
        requestInit: { headers: { authorization: `Bearer ${BENCH_KEY}` } },
      }),
    );
    const connectMs = performance.now() - t0;
    t0 = performance.now();
    const { tools } = await client.listTools();
    const listMs = performance.now() - t0;
    t0 = performance.now();
    const made = await client.callTool({
      name: 'generate_video',
      arguments: { character_id: cast[0]!.id, text: TEXTS[2] },
    });
    const videoMs = performance.now() - t0;
    const video = made.structuredContent as { url: string; duration_s: number };
    const mp4 = await fetch(video.url, { headers: { authorization: `Bearer ${BENCH_KEY}` } });
    const bytes = Buffer.from(await mp4.arrayBuffer());
    result.mcp = {
      tools: tools.map((t) => t.name),
      connect_ms: r0(connectMs),
      tools_list_ms: r0(listMs),
      generate_video_ms: r0(videoMs),
      video_duration_s: video.duration_s,
      link_playable: mp4.status === 200 && bytes.toString('ascii', 4, 8) === 'ftyp',
    };
    await client.close();
  }
} finally {
  server.child.kill('SIGTERM');
  await new Promise((r) => server.child.once('exit', r));
  fs.rmSync(dataDir, { recursive: true, force: true });
}
console.log(JSON.stringify(result, null, 2));
