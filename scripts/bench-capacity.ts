/**
 * Capacity of this machine (issue 9), printed as JSON:
 *   1. live sessions: how many 512x512 sessions, every one speaking all the time with a viewer, hold 25 fps
 *      with 0 frames dropped (sender counters from the sessions' metrics events, received frames from RTP
 *      statistics in a separate nice-19 viewer process); with server CPU and event-loop lag at each step;
 *   2. MP4 renders per minute, with 1 and 2 running at once;
 *   3. beyond capacity, on a server with its default limits: the next viewer gets a clean 429 server-busy
 *      with Retry-After, and renders past the queue get 429, never a 5xx.
 * `--quick` uses shorter windows.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BENCH_KEY, startBenchServer } from './lib/bench-server.ts';
import { cpuSeconds, followEvents } from './lib/sse.ts';
import { startViewerProcess } from './lib/viewers.ts';

const KEY = BENCH_KEY;
const quick = process.argv.includes('--quick');
const WINDOW_S = quick ? 6 : 15;
const SETTLE_S = quick ? 5 : 8;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const r1 = (v: number) => Math.round(v * 10) / 10;

const api = async (base: string, method: string, p: string, body?: unknown) => {
  const res = await fetch(base + p, {
    method,
    headers: { authorization: `Bearer ${KEY}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const type = res.headers.get('content-type') ?? '';
  return {
    status: res.status,
    retryAfter: res.headers.get('retry-after'),
    body: (type.includes('json') ? await res.json() : await res.arrayBuffer()) as Record<string, unknown>,
  };
};

const castId = async (base: string, slug: string) =>
  ((await api(base, 'GET', '/v1/characters?limit=100')).body.data as { id: string; slug: string }[]).find(
    (c) => c.slug === slug,
  )!.id;

const result: Record<string, unknown> = {
  machine: { cpus: os.availableParallelism(), node: process.version },
};
const dataDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'likeness-bench-cap-'));

// 1 and 2: a server with its limits lifted, so the machine is what gives out.
{
  const { child, base } = await startBenchServer({
    dataDir: dataDir(),
    port: 21000 + Math.floor(Math.random() * 1000),
    env: {
      LIKENESS_MAX_LIVE_SESSIONS: '100',
      LIKENESS_MAX_CONCURRENT_SESSIONS: '200',
      LIKENESS_MAX_RENDERS: '8',
      LIKENESS_MAX_RENDER_QUEUE: '100',
    },
  });
  try {
    const kai = await castId(base, 'kai');
    const steps: Record<string, unknown>[] = [];
    let held = 0;
    let failed = false;
    const viewers = startViewerProcess();
    for (const count of quick ? [2, 4, 6] : [2, 3, 4, 5, 6]) {
      const ids: string[] = [];
      const streams = [];
      for (let i = 0; i < count; i++) {
        const s = (
          await api(base, 'POST', '/v1/sessions', { character_id: kai, user_id: `cap${i}`, mode: 'realtime' })
        ).body as { id: string };
        const tok = (await api(base, 'POST', `/v1/sessions/${s.id}/token`)).body as {
          token: string;
          whep_url: string;
        };
        ids.push(s.id);
        streams.push(followEvents(`${base}/v1/sessions/${s.id}/events`, KEY));
        await viewers.ask({ connect: { base, whep_url: tok.whep_url, token: tok.token } });
      }
      const talk = 'I keep talking so that every frame has a moving mouth to render and encode. '.repeat(6);
      for (const id of ids) await api(base, 'POST', `/v1/sessions/${id}/speak`, { text: talk });
      // Steady state: everyone starting to speak at once (all first sentences synthesized together) is a
      // transient of a few seconds; the drops it costs are reported separately.
      const t0 = streams.map((s) => s.metrics()?.frames_dropped ?? 0);
      await sleep(SETTLE_S * 1000);
      const m0 = streams.map((s) => s.metrics());
      const f0 = ((await viewers.ask({ frames: true })) as { frames: number[] }).frames;
      const cpu0 = cpuSeconds(child.pid!);
      await sleep(WINDOW_S * 1000);
      const cpu1 = cpuSeconds(child.pid!);
      const f1 = ((await viewers.ask({ frames: true })) as { frames: number[] }).frames;
      const m1 = streams.map((s) => s.metrics());
      const fps = f1.map((e, i) => (e - f0[i]!) / WINDOW_S);
      const delta = (k: 'frames_dropped' | 'late_frames' | 'audio_underruns') =>
        m1.reduce((sum, m, i) => sum + ((m?.[k] ?? 0) - (m0[i]?.[k] ?? 0)), 0);
      const step = {
        sessions: count,
        received_fps_min: r1(Math.min(...fps)),
        received_fps_mean: r1(fps.reduce((a, b) => a + b, 0) / fps.length),
        sender_frames_dropped: delta('frames_dropped'),
        sender_late_frames: delta('late_frames'),
        audio_underruns: delta('audio_underruns'),
        frames_dropped_while_all_started_speaking: m0.reduce(
          (sum, m, i) => sum + (m?.frames_dropped ?? 0) - t0[i]!,
          0,
        ),
        server_cpu_percent_of_one_core: Math.round(((cpu1 - cpu0) / WINDOW_S) * 100),
      };
      steps.push(step);
      console.error(`[capacity] ${JSON.stringify(step)}`);
      for (const s of streams) s.close();
      await viewers.ask({ close: true });
      for (const id of ids) await api(base, 'DELETE', `/v1/sessions/${id}`);
      await sleep(1500);
      // Held: this step and every smaller one at 25 fps with no frame dropped.
      const ok = step.received_fps_min >= 24.5 && step.sender_frames_dropped === 0;
      if (ok && !failed) held = count;
      failed ||= !ok;
      if (step.received_fps_min < 20) break; // far past it: no point going further
    }
    viewers.stop();
    result.live_sessions = {
      held_at_25fps_0_drops: held,
      steps,
      target: 6,
      note: 'every session speaking continuously with one viewer; viewers in a nice-19 process on the same cores',
    };

    // 2. Renders per minute: ~6 s utterances back to back.
    const walter = await castId(base, 'walter');
    const text = 'The old mill by the river has turned for two hundred years, and it turns today.';
    const renders: Record<string, unknown> = {};
    for (const workers of [1, 2]) {
      const s = (
        await api(base, 'POST', '/v1/sessions', { character_id: walter, user_id: 'r', mode: 'on_demand' })
      ).body as { id: string };
      const until = performance.now() + (quick ? 20 : 60) * 1000;
      let done = 0;
      let mediaS = 0;
      const walls: number[] = [];
      await Promise.all(
        Array.from({ length: workers }, async () => {
          while (performance.now() < until) {
            const t0 = performance.now();
            const res = await fetch(`${base}/v1/sessions/${s.id}/generate`, {
              method: 'POST',
              headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
              body: JSON.stringify({ text }),
            });
            await res.arrayBuffer();
            if (res.status !== 200) throw new Error(`render answered ${res.status}`);
            walls.push(performance.now() - t0);
            done++;
            mediaS += Number(res.headers.get('x-likeness-duration-s'));
          }
        }),
      );
      const minutes = (quick ? 20 : 60) / 60;
      renders[`${workers}_at_once`] = {
        renders_per_minute: r1(done / minutes),
        media_seconds_per_minute: r1(mediaS / minutes),
        wall_ms_per_render_mean: Math.round(walls.reduce((a, b) => a + b, 0) / walls.length),
        media_s_per_render: r1(mediaS / done),
      };
      console.error(`[capacity] renders ${workers}: ${JSON.stringify(renders[`${workers}_at_once`])}`);
    }
    result.mp4_renders = renders;
  } finally {
    child.kill('SIGTERM');
  }
}

// 3. Beyond capacity, with the default limits.
{
  const { child, base } = await startBenchServer({
    dataDir: dataDir(),
    port: 22000 + Math.floor(Math.random() * 1000),
    env: { LIKENESS_MAX_CONCURRENT_SESSIONS: '200' },
  });
  try {
    const health = (await api(base, 'GET', '/healthz')).body as {
      load: { viewed_sessions_capacity: number; renders: unknown };
    };
    const capacity = health.load.viewed_sessions_capacity;
    const kai = await castId(base, 'kai');
    const viewers = startViewerProcess();
    const statuses: number[] = [];
    let refusal: Record<string, unknown> | undefined;
    for (let i = 0; i <= capacity; i++) {
      const s = (
        await api(base, 'POST', '/v1/sessions', { character_id: kai, user_id: `b${i}`, mode: 'realtime' })
      ).body as { id: string };
      const tok = (await api(base, 'POST', `/v1/sessions/${s.id}/token`)).body as {
        token: string;
        whep_url: string;
      };
      if (i < capacity) {
        await viewers.ask({ connect: { base, whep_url: tok.whep_url, token: tok.token } });
        statuses.push(201);
      } else {
        const res = await fetch(`${base}${tok.whep_url}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${tok.token}`, 'content-type': 'application/sdp' },
          body: 'v=0\r\n',
        });
        statuses.push(res.status);
        refusal = {
          status: res.status,
          retry_after: res.headers.get('retry-after'),
          ...((await res.json()) as object),
        };
      }
    }
    await viewers.ask({ close: true });
    viewers.stop();
    const walter = await castId(base, 'walter');
    const s = (
      await api(base, 'POST', '/v1/sessions', { character_id: walter, user_id: 'q', mode: 'on_demand' })
    ).body as { id: string };
    const burst = await Promise.all(
      Array.from({ length: 10 }, () =>
        api(base, 'POST', `/v1/sessions/${s.id}/generate`, { text: 'One more, please.' }),
      ),
    );
    const counts: Record<string, number> = {};
    for (const r of burst) counts[r.status] = (counts[r.status] ?? 0) + 1;
    result.beyond_capacity = {
      default_live_capacity: capacity,
      viewer_statuses: statuses,
      next_viewer: refusal,
      ten_renders_at_once: counts,
      render_limits: health.load.renders,
      server_alive: (await api(base, 'GET', '/healthz')).status === 200,
    };
  } finally {
    child.kill('SIGTERM');
  }
}

console.log(JSON.stringify(result, null, 2));
process.exit(0);
