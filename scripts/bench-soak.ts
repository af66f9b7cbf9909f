/// <reference lib="dom" />
/**
 * Soak (issue 9): `npm run bench:soak -- <minutes>` (default 60). A real server (child process) with two live
 * sessions, each speaking every 4 s for the whole run:
 *   - the sync test card, watched in Debian's Chromium: received fps, freezes and A/V offset (white frame vs
 *     beep) at a real browser;
 *   - Walter, speaking through the Flite engine processes, watched by a Node WebRTC viewer: received fps.
 * Every minute it prints one JSON line: server RSS and open files (and the engine processes'), event-loop lag,
 * fps, freezes, frames the sender dropped, A/V offset, utterances finished / failed. At the end, a summary
 * against the targets: RSS growth < 5 %, open files flat, fps 25 +- 0.5, 0 freezes, A/V offset unchanged.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launchChromium } from '../packages/likeness/test/helpers/browser.ts';
import { pairOffsets, SYNC_PROBE } from '../packages/likeness/test/helpers/sync-probe.ts';
import { BENCH_KEY, startBenchServer } from './lib/bench-server.ts';
import { childPids, followEvents, processStats } from './lib/sse.ts';

const KEY = BENCH_KEY;
const minutes = Number(process.argv.slice(2).find((a) => /^\d+(\.\d+)?$/.test(a)) ?? 60);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const r1 = (v: number) => Math.round(v * 10) / 10;
const mean = (v: number[]) => (v.length ? v.reduce((a, b) => a + b, 0) / v.length : Number.NaN);

const { child, base } = await startBenchServer({
  dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'likeness-bench-soak-')),
  port: 24000 + Math.floor(Math.random() * 1000),
  env: { LIKENESS_SESSION_MAX_DURATION_S: String(Math.ceil(minutes * 60 + 600)) },
});
const api = async (method: string, p: string, body?: unknown) => {
  const res = await fetch(base + p, {
    method,
    headers: { authorization: `Bearer ${KEY}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return res.status === 204 ? null : res.json();
};

const chrome = await launchChromium();
const viewer = spawn(
  'nice',
  ['-n', '19', process.execPath, '--import', 'tsx', 'scripts/lib/viewer-process.ts'],
  {
    stdio: ['pipe', 'pipe', 'inherit'],
  },
);
const ask = (cmd: unknown) =>
  new Promise<{ frames?: number[] }>((resolve) => {
    viewer.stdout!.once('data', (d: Buffer) => resolve(JSON.parse(d.toString().split('\n')[0]!)));
    viewer.stdin!.write(`${JSON.stringify(cmd)}\n`);
  });

const lines: Record<string, unknown>[] = [];
try {
  // The test card in Chromium, through the studio page (it opens the session and connects over WHEP).
  const page = await chrome.browser.newPage();
  await page.goto(`${base}/?key=${KEY}&character=test-card&mic=0`);
  await page.waitForFunction(() => (document.getElementById('character') as HTMLSelectElement).value !== '');
  await page.evaluate('window.likeness.connect()');
  await page.waitForFunction(
    'window.likenessStream && window.likenessStream.getVideoTracks().length > 0',
    undefined,
    {
      timeout: 20_000,
    },
  );
  await sleep(2000);
  await page.evaluate(SYNC_PROBE);
  const cardSession = (await page.evaluate('window.likeness.state.session')) as string;
  const cardEvents = followEvents(`${base}/v1/sessions/${cardSession}/events`, KEY);

  // Walter, speaking through Flite, watched by a Node viewer.
  const cast = (await api('GET', '/v1/characters?limit=100')) as { data: { id: string; slug: string }[] };
  const walter = cast.data.find((c) => c.slug === 'walter')!.id;
  const ws = (await api('POST', '/v1/sessions', {
    character_id: walter,
    user_id: 'soak',
    mode: 'realtime',
  })) as {
    id: string;
  };
  const tok = (await api('POST', `/v1/sessions/${ws.id}/token`)) as { token: string; whep_url: string };
  await ask({ connect: { base, whep_url: tok.whep_url, token: tok.token } });
  const walterEvents = followEvents(`${base}/v1/sessions/${ws.id}/events`, KEY);

  const lines_ = [
    'The old mill turns by the river.',
    'It is 4:30 and the bread costs $3.50 today.',
    'Dr. Lee said the 2nd train leaves at 9 am.',
    'Counting: 1, 2, 3, and 1,250 sacks of flour.',
  ];
  let said = 0;
  const speaker = setInterval(() => {
    void api('POST', `/v1/sessions/${cardSession}/speak`, { text: 'x' }).catch(() => undefined);
    void api('POST', `/v1/sessions/${ws.id}/speak`, { text: lines_[said++ % lines_.length] }).catch(
      () => undefined,
    );
  }, 4000);

  const browserStats = () =>
    page.evaluate(async () => {
      const pc = (window as unknown as { likeness: { state: { pc: RTCPeerConnection } } }).likeness.state.pc;
      const out = { framesDecoded: 0, framesDropped: 0, freezeCount: 0, totalFreezesDuration: 0 };
      (await pc.getStats()).forEach((s) => {
        if (s.type === 'inbound-rtp' && s.kind === 'video')
          Object.assign(out, {
            framesDecoded: s.framesDecoded,
            framesDropped: s.framesDropped ?? 0,
            freezeCount: s.freezeCount ?? 0,
            totalFreezesDuration: s.totalFreezesDuration ?? 0,
          });
      });
      return out;
    });
  const engines = () =>
    childPids(child.pid!).reduce(
      (acc, pid) => {
        try {
          const st = processStats(pid);
          return {
            rss_mb: acc.rss_mb + st.rss_mb,
            open_fds: acc.open_fds + st.open_fds,
            processes: acc.processes + 1,
          };
        } catch {
          return acc;
        }
      },
      { rss_mb: 0, open_fds: 0, processes: 0 },
    );
  const finishedCount = (events: ReturnType<typeof followEvents>) => {
    const done = events.events.filter((e) => e.event === 'utterance.finished');
    return { finished: done.length, failed: done.filter((e) => e.data.error).length };
  };

  let prevBrowser = await browserStats();
  let prevWalter = (await ask({ frames: true })).frames![0]!;
  let prevDrops = (cardEvents.metrics()?.frames_dropped ?? 0) + (walterEvents.metrics()?.frames_dropped ?? 0);
  let prevUtt = { card: finishedCount(cardEvents), walter: finishedCount(walterEvents) };
  const started = performance.now();
  for (let minute = 1; minute <= Math.ceil(minutes); minute++) {
    const windowS = Math.min(60, minutes * 60 - (minute - 1) * 60);
    await sleep(windowS * 1000);
    const probe = (await page.evaluate(
      '({ white: window.syncProbe.white.splice(0), beeps: window.syncProbe.beeps.splice(0), frames: window.syncProbe.frames.splice(0) })',
    )) as { white: number[]; beeps: number[]; frames: number[] };
    const offsets = pairOffsets(probe.white, probe.beeps);
    const bs = await browserStats();
    const wf = (await ask({ frames: true })).frames![0]!;
    const drops = (cardEvents.metrics()?.frames_dropped ?? 0) + (walterEvents.metrics()?.frames_dropped ?? 0);
    const utt = { card: finishedCount(cardEvents), walter: finishedCount(walterEvents) };
    const health = (await api('GET', '/healthz')) as {
      load: { event_loop_lag: { p99_ms: number; max_ms: number }; speech_engine: { restarts: number } };
    };
    const intervals = probe.frames.slice(1).map((x, i) => x - probe.frames[i]!);
    const line = {
      minute,
      server: processStats(child.pid!),
      engines: engines(),
      event_loop_lag_ms: { p99: health.load.event_loop_lag.p99_ms, max: health.load.event_loop_lag.max_ms },
      browser_fps: r1((bs.framesDecoded - prevBrowser.framesDecoded) / windowS),
      walter_fps: r1((wf - prevWalter) / windowS),
      freezes: bs.freezeCount - prevBrowser.freezeCount,
      presented_gaps_over_200ms: intervals.filter((d) => d > 200).length,
      sender_frames_dropped: drops - prevDrops,
      av_offset_ms: {
        mean: r1(mean(offsets)),
        worst: r1(offsets.reduce((m, x) => (Math.abs(x) > Math.abs(m) ? x : m), 0)),
        beeps: offsets.length,
      },
      utterances: {
        finished: utt.card.finished - prevUtt.card.finished + utt.walter.finished - prevUtt.walter.finished,
        failed: utt.card.failed - prevUtt.card.failed + utt.walter.failed - prevUtt.walter.failed,
      },
      engine_restarts: health.load.speech_engine.restarts,
    };
    lines.push(line);
    console.log(JSON.stringify(line));
    prevBrowser = bs;
    prevWalter = wf;
    prevDrops = drops;
    prevUtt = utt;
  }
  clearInterval(speaker);
  cardEvents.close();
  walterEvents.close();
  const first = lines[Math.min(1, lines.length - 1)] as (typeof lines)[number] & {
    server: { rss_mb: number; open_fds: number };
    av_offset_ms: { mean: number };
  };
  const last = lines.at(-1) as typeof first;
  const all = lines as (typeof first & {
    browser_fps: number;
    walter_fps: number;
    freezes: number;
    sender_frames_dropped: number;
    server: { rss_mb: number; open_fds: number };
    utterances: { finished: number; failed: number };
  })[];
  console.log(
    JSON.stringify(
      {
        summary: {
          minutes: r1((performance.now() - started) / 60_000),
          rss_mb: { after_first_minute: first.server.rss_mb, end: last.server.rss_mb },
          rss_growth_percent: r1(((last.server.rss_mb - first.server.rss_mb) / first.server.rss_mb) * 100),
          // One minute can be a garbage-collection low or high: the trend over every minute says more.
          rss_trend: rssTrend(all.map((l) => l.server.rss_mb)),
          open_fds: {
            min: Math.min(...all.map((l) => l.server.open_fds)),
            max: Math.max(...all.map((l) => l.server.open_fds)),
          },
          browser_fps: {
            min: Math.min(...all.map((l) => l.browser_fps)),
            max: Math.max(...all.map((l) => l.browser_fps)),
          },
          walter_fps: {
            min: Math.min(...all.map((l) => l.walter_fps)),
            max: Math.max(...all.map((l) => l.walter_fps)),
          },
          freezes: all.reduce((s, l) => s + l.freezes, 0),
          sender_frames_dropped: all.reduce((s, l) => s + l.sender_frames_dropped, 0),
          av_offset_mean_ms: {
            first_minute: (lines[0] as typeof first).av_offset_ms.mean,
            last_minute: last.av_offset_ms.mean,
          },
          utterances: {
            finished: all.reduce((s, l) => s + l.utterances.finished, 0),
            failed: all.reduce((s, l) => s + l.utterances.failed, 0),
          },
          targets: 'RSS growth < 5 %, open files flat, fps 25 +- 0.5, 0 freezes, A/V offset unchanged',
        },
      },
      null,
      2,
    ),
  );
} finally {
  viewer.kill('SIGKILL');
  await chrome.close();
  child.kill('SIGTERM');
}
process.exit(0);

/** Least-squares slope of RSS per minute (MB/hour), and growth from the median of the first 5 minutes. */
function rssTrend(rss: number[]): { slope_mb_per_hour: number; growth_from_early_median_percent: number } {
  const n = rss.length;
  const xs = rss.map((_, i) => i);
  const mx = (n - 1) / 2;
  const my = rss.reduce((a, b) => a + b, 0) / Math.max(1, n);
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (rss[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  const early = [...rss.slice(0, 5)].sort((a, b) => a - b)[Math.floor(Math.min(5, n) / 2)] ?? Number.NaN;
  return {
    slope_mb_per_hour: Math.round((den ? num / den : 0) * 60 * 10) / 10,
    growth_from_early_median_percent: Math.round((((rss.at(-1) ?? early) - early) / early) * 1000) / 10,
  };
}
