/**
 * What scraping /metrics costs under load (issue 14), printed as JSON: a real server (child process) with 10
 * live sessions, each watched by a Node WebRTC viewer and speaking; then the server's CPU over a window
 * without scrapes and over one with 100 scrapes, the CPU a scrape costs, and that as a share of one core at
 * Prometheus's usual 15 s interval (target < 1 %); scrape latency and body size.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BENCH_KEY, benchApi, startBenchServer } from './lib/bench-server.ts';
import { cpuSeconds } from './lib/sse.ts';
import { pct } from './lib/stats.ts';
import { startViewerProcess } from './lib/viewers.ts';

const SESSIONS = 10;
const SCRAPES = 100;
const WINDOW_S = 10;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const r2 = (v: number) => Math.round(v * 100) / 100;

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'likeness-bench-metrics-'));
const port = 20_000 + Math.floor(Math.random() * 20_000);
const { child, base } = await startBenchServer({
  dataDir,
  port,
  env: {
    LIKENESS_MAX_LIVE_SESSIONS: String(SESSIONS),
    LIKENESS_MAX_CONCURRENT_SESSIONS: String(SESSIONS + 5),
  },
});
const api = benchApi(base);
const viewers = startViewerProcess();
const scrape = async () => {
  const t0 = performance.now();
  const res = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${BENCH_KEY}` } });
  const body = await res.text();
  return { ms: performance.now() - t0, bytes: body.length, status: res.status };
};
try {
  const cast = ((await api('GET', '/v1/characters')) as { data: { id: string; slug: string }[] }).data;
  const card = cast.find((c) => c.slug === 'test-card')!;
  const talk =
    'The wheel turns and the story goes on, sentence after sentence, for as long as we listen. '.repeat(6);
  for (let i = 0; i < SESSIONS; i++) {
    const s = (await api('POST', '/v1/sessions', {
      character_id: i % 2 ? card.id : cast[0]!.id,
      user_id: `m${i}`,
      mode: 'realtime',
    })) as { id: string };
    const tok = (await api('POST', `/v1/sessions/${s.id}/token`)) as { token: string; whep_url: string };
    await viewers.ask({ connect: { base, whep_url: tok.whep_url, token: tok.token } });
    await api('POST', `/v1/sessions/${s.id}/speak`, { text: talk });
  }
  await sleep(3000);
  const c0 = cpuSeconds(child.pid!);
  await sleep(WINDOW_S * 1000);
  const quietCpu = cpuSeconds(child.pid!) - c0;
  const c1 = cpuSeconds(child.pid!);
  const scrapeSeconds = async () =>
    Number(
      (await (await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${BENCH_KEY}` } })).text())
        .split('\n')
        .find((l) => l.startsWith('likeness_metrics_scrape_seconds_total '))
        ?.split(' ')[1],
    );
  const s0 = await scrapeSeconds();
  const scrapes = [];
  const interval = (WINDOW_S * 1000) / SCRAPES;
  const started = performance.now();
  for (let i = 0; i < SCRAPES; i++) {
    scrapes.push(await scrape());
    const next = started + (i + 1) * interval;
    await sleep(Math.max(0, next - performance.now()));
  }
  const scrapedCpu = cpuSeconds(child.pid!) - c1;
  // The server's own measure of the time it spent producing each scrape (the CPU windows above are too noisy
  // under 10 sessions to show a difference this small).
  const perScrapeMs = (((await scrapeSeconds()) - s0) / (SCRAPES + 1)) * 1000;
  const last = await (
    await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${BENCH_KEY}` } })
  ).text();
  const value = (series: string) =>
    Number(
      last
        .split('\n')
        .find((l) => l.startsWith(`${series} `))
        ?.split(' ')[1],
    );
  console.log(
    JSON.stringify(
      {
        machine: { cpus: os.availableParallelism(), node: process.version },
        live_sessions: value('likeness_live_sessions'),
        viewers: value('likeness_viewers'),
        server_cpu_cores: {
          without_scrapes: r2(quietCpu / WINDOW_S),
          with_100_scrapes: r2(scrapedCpu / WINDOW_S),
        },
        scrape: {
          server_ms_each: r2(perScrapeMs),
          cpu_share_of_one_core_at_15s_pct: r2((perScrapeMs / 15_000) * 100),
          round_trip_ms_under_load: {
            p50: r2(
              pct(
                scrapes.map((s) => s.ms),
                0.5,
              ),
            ),
            p95: r2(
              pct(
                scrapes.map((s) => s.ms),
                0.95,
              ),
            ),
          },
          body_bytes: scrapes.at(-1)!.bytes,
          all_ok: scrapes.every((s) => s.status === 200),
        },
        target: { cpu_share_pct: '< 1' },
      },
      null,
      2,
    ),
  );
} finally {
  viewers.stop();
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  fs.rmSync(dataDir, { recursive: true, force: true });
}
