/**
 * Prints JSON with the numbers the issues ask for. Runs a real server as a child process on a free port:
 *   - server start (to /healthz 200): first start on an empty data dir (creates the database and the cast
 *     identities) and a later start on the same dir;
 *   - cold registration of a 512x512 portrait (median of 5, server already warm: distinct bytes each time so
 *     the content-addressed cache cannot answer), warm registration (cache hit, median of 5);
 *   - memory of the server and its engine processes (RSS, and PSS which counts shared pages once), after the
 *     first start and after the runs.
 *   - on-demand MP4 of a ~10 s utterance through HTTP: wall time, media seconds per wall second, time to the
 *     first byte of the response (median of 3, server warm);
 *   - render ms per 512x512 frame (median, p99) over a real utterance's track, for a drawing and a photo;
 *   - speech synthesis speed (Flite, warm) per voice;
 *   - a contact sheet (every 4th frame, viseme under each) in bench-out/contact-sheet.png.
 * Timings are wall clock on a shared machine: read them as indications, compare ratios.
 */
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { AnimationTrack } from '../packages/likeness/src/animation/animation-track.ts';
import { NEUTRAL_FRAME } from '../packages/likeness/src/animation/frame-params.ts';
import { contactSheet, type SheetFrame } from '../packages/likeness/src/media/contact-sheet.ts';
import { renderUtteranceVideo } from '../packages/likeness/src/media/utterance-video.ts';
import { FaceDetector } from '../packages/likeness/src/registration/face-detector.ts';
import { encodePng, identityFromImage } from '../packages/likeness/src/registration/registrar.ts';
import { PortraitRenderer } from '../packages/likeness/src/render/renderer.ts';
import { FliteEngine } from '../packages/likeness/src/speech/flite-engine.ts';
import { SpeechService } from '../packages/likeness/src/speech/speech-service.ts';
import { BENCH_KEY, ROOT, startBenchServer } from './lib/bench-server.ts';
import { serverMemory } from './lib/sse.ts';

const root = ROOT;
const KEY = BENCH_KEY;
const PORTRAIT = path.join(root, 'packages/likeness/test/fixtures/astronaut.png');

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
const p99 = (v: number[]) =>
  [...v].sort((a, b) => a - b)[Math.min(v.length - 1, Math.floor(v.length * 0.99))]!;
const round2 = (v: number) => Math.round(v * 100) / 100;
const TEN_SECONDS =
  'Hey! Looking for something fun tonight? Try the one with the dragons and the little wooden castles. ' +
  'It takes about an hour, and everybody laughs at least once. Shall I bring it over?';

async function generateOverHttp(
  port: number,
): Promise<{ wallMs: number; firstByteMs: number; mediaS: number }> {
  const base = `http://127.0.0.1:${port}`;
  const headers = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' };
  const chars = (await (await fetch(`${base}/v1/characters?limit=100`, { headers })).json()) as {
    data: { id: string; slug: string }[];
  };
  const kai = chars.data.find((c) => c.slug === 'kai')!;
  const body = JSON.stringify({ character_id: kai.id, user_id: 'bench', mode: 'on_demand' });
  const s = (await (await fetch(`${base}/v1/sessions`, { method: 'POST', headers, body })).json()) as {
    id: string;
  };
  const t0 = performance.now();
  const res = await fetch(`${base}/v1/sessions/${s.id}/generate`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ text: TEN_SECONDS }),
  });
  const reader = res.body!.getReader();
  const first = await reader.read();
  const firstByteMs = performance.now() - t0;
  if (first.done || !res.ok) throw new Error(`generate failed: ${res.status}`);
  while (!(await reader.read()).done) {}
  const wallMs = performance.now() - t0;
  await fetch(`${base}/v1/sessions/${s.id}`, { method: 'DELETE', headers });
  return { wallMs, firstByteMs, mediaS: Number(res.headers.get('x-likeness-duration-s')) };
}
const round = (v: number) => Math.round(v * 10) / 10;

function startServer(dataDir: string, port: number) {
  return startBenchServer({ dataDir, port });
}

async function stop(child: ChildProcess) {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

async function register(port: number, bytes: Buffer): Promise<{ ms: number; cached: boolean }> {
  const form = new FormData();
  form.append('name', 'Bench');
  form.append('portrait', new Blob([new Uint8Array(bytes)]), 'portrait.png');
  const t0 = performance.now();
  const r = await fetch(`http://127.0.0.1:${port}/v1/characters`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}` },
    body: form,
  });
  const body = (await r.json()) as { identity?: { cached: boolean }; detail?: string };
  const ms = performance.now() - t0;
  if (!r.ok) throw new Error(`registration failed: ${r.status} ${body.detail}`);
  return { ms, cached: body.identity!.cached };
}

/** The same portrait with one pixel changed: a different content address, the same face. */
async function variant(i: number): Promise<Buffer> {
  const { data, info } = await sharp(PORTRAIT).raw().toBuffer({ resolveWithObject: true });
  data[i * 3] = (data[i * 3]! + 1) % 256;
  return sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } })
    .png()
    .toBuffer();
}

const port = 18000 + Math.floor(Math.random() * 2000);
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'likeness-bench-'));
const first = await startServer(dataDir, port);
const firstStartMemory = serverMemory(first.child.pid!); // the cast was just registered
await stop(first.child);
const { child, startMs } = await startServer(dataDir, port);

await register(port, await variant(999)); // warm-up: loads the detector models
const cold: number[] = [];
for (let i = 0; i < 5; i++) {
  const r = await register(port, await variant(i));
  if (r.cached) throw new Error('a cold registration hit the cache');
  cold.push(r.ms);
}
const portrait = fs.readFileSync(PORTRAIT);
await register(port, portrait);
const warm: number[] = [];
for (let i = 0; i < 5; i++) {
  const r = await register(port, portrait);
  if (!r.cached) throw new Error('a warm registration missed the cache');
  warm.push(r.ms);
}
await generateOverHttp(port); // warm-up: speech worker, renderer cache
const mp4Runs: { wallMs: number; firstByteMs: number; mediaS: number }[] = [];
for (let i = 0; i < 3; i++) mp4Runs.push(await generateOverHttp(port));
const memory = serverMemory(child.pid!);
await stop(child);

// In-process: render per frame, speech speed, contact sheet.
const detector = new FaceDetector();
const flite = new FliteEngine();
const speech = new SpeechService({ flite });
const limits = {
  maxImageBytes: 1e8,
  maxImagePixels: 1e8,
  portraitSize: 512,
  minFacePixels: 1,
  maxHeadTurnDegrees: 90,
};
const renderStats: Record<string, { median_ms: number; p99_ms: number; frames: number }> = {};
const sheet: SheetFrame[] = [];
let sheetCrop = { left: 0, top: 0, width: 512, height: 512 };
for (const [name, file] of [
  ['kai (drawing)', path.join(root, 'packages/likeness/cast/kai.png')],
  ['astronaut (photo)', PORTRAIT],
] as const) {
  const { identity, portrait } = await identityFromImage(fs.readFileSync(file), limits, detector);
  const renderer = await PortraitRenderer.create(identity, await encodePng(portrait));
  const visemes = [];
  for await (const c of speech.stream(TEN_SECONDS, { provider: 'flite', id: 'rms' }))
    visemes.push(...c.visemes);
  const track = new AnimationTrack({ visemes, idle: identity.idle, mood: 'neutral', seed: 1, fps: 25 });
  const out = new Uint8Array(512 * 512 * 4);
  const frames = Math.ceil(track.mouth.duration * 25);
  for (let n = 0; n < 25; n++) renderer.render(NEUTRAL_FRAME, out); // warm-up
  const times: number[] = [];
  for (let n = 0; n < frames; n++) {
    const t = performance.now();
    renderer.render(track.frame(n), out);
    times.push(performance.now() - t);
  }
  renderStats[name] = { median_ms: round2(median(times)), p99_ms: round2(p99(times)), frames };
  if (name.startsWith('kai')) {
    // Tiles show the face: its box grown by 35%, kept square and inside the frame.
    const b = identity.faceBox;
    const side = Math.min(512, Math.round(Math.max(b.width, b.height) * 1.35));
    const clampTo = (v: number) => Math.max(0, Math.min(512 - side, Math.round(v)));
    sheetCrop = {
      left: clampTo(b.x + b.width / 2 - side / 2),
      top: clampTo(b.y + b.height / 2 - side / 2),
      width: side,
      height: side,
    };
    await renderUtteranceVideo({
      identity,
      renderer,
      speech,
      text: 'Bob made a map. Open it, and look at the old mill by the river!',
      voice: { provider: 'flite', id: 'rms' },
      mood: 'neutral',
      seed: 1,
      file: path.join(os.tmpdir(), 'likeness-bench-sheet.mp4'),
      onFrame: (n, params, rgba) => {
        if (n % 4 === 0) sheet.push({ n, label: params.viseme, rgba: rgba.slice() });
      },
    });
  }
}
fs.mkdirSync(path.join(root, 'bench-out'), { recursive: true });
fs.writeFileSync(
  path.join(root, 'bench-out/contact-sheet.png'),
  await contactSheet(sheet, 512, { crop: sheetCrop }),
);
const speechSpeed: Record<string, number> = {};
for (const voice of ['slt', 'rms', 'awb', 'kal16']) {
  await flite.speak('Warm up.', voice);
  const t = performance.now();
  const r = await flite.speak(TEN_SECONDS, voice);
  speechSpeed[voice] = Math.round(r.samples.length / r.sampleRate / ((performance.now() - t) / 1000));
}
await flite.close();
fs.rmSync(dataDir, { recursive: true, force: true });

console.log(
  JSON.stringify(
    {
      machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version },
      registration: {
        cold_ms_median: round(median(cold)),
        cold_ms_all: cold.map(round),
        warm_ms_median: round(median(warm)),
        warm_ms_all: warm.map(round),
        cold_over_warm: round(median(cold) / median(warm)),
        targets: { cold_ms: 1500, warm_ms: 20 },
      },
      server_start_ms: { first_start_empty_data_dir: round(first.startMs), later_start: round(startMs) },
      server_memory_mb: {
        after_first_start: firstStartMemory,
        after_registrations_and_mp4s: memory,
        note: 'server + engine processes; PSS counts shared pages once (the face process leaves after 60 s idle)',
      },
      mp4_10s_utterance_http: {
        media_s: mp4Runs[0]!.mediaS,
        wall_ms_median: round(median(mp4Runs.map((r) => r.wallMs))),
        media_s_per_wall_s: round2(mp4Runs[0]!.mediaS / (median(mp4Runs.map((r) => r.wallMs)) / 1000)),
        first_byte_ms_median: round(median(mp4Runs.map((r) => r.firstByteMs))),
        target_x_realtime: 8,
      },
      render_512_ms_per_frame: renderStats,
      render_target_ms: 8,
      speech_flite_x_realtime_warm: speechSpeed,
      contact_sheet: 'bench-out/contact-sheet.png',
    },
    null,
    2,
  ),
);
