/**
 * Prints JSON with the numbers the issues ask for. Runs a real server as a child process on a free port:
 *   - server start (to /healthz 200): first start on an empty data dir (creates the database and the cast
 *     identities) and a later start on the same dir;
 *   - cold registration of a 512x512 portrait (median of 5, server already warm: distinct bytes each time so
 *     the content-addressed cache cannot answer), warm registration (cache hit, median of 5);
 *   - server memory (RSS) after the runs.
 * Timings are wall clock on a shared machine: read them as indications, compare ratios.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const KEY = 'lk_bench_key_0123456789';
const PORTRAIT = path.join(root, 'packages/likeness/test/fixtures/astronaut.png');

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
const round = (v: number) => Math.round(v * 10) / 10;

async function startServer(dataDir: string, port: number): Promise<{ child: ChildProcess; startMs: number }> {
  const started = performance.now();
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(root, 'packages/likeness/src/main.ts')],
    {
      env: {
        ...process.env,
        PORT: String(port),
        HOST: '127.0.0.1',
        LIKENESS_DATA_DIR: dataDir,
        LIKENESS_API_KEY: KEY,
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  for (;;) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (r.ok) break;
    } catch {}
    if (child.exitCode !== null) throw new Error('server exited during start');
    await new Promise((r) => setTimeout(r, 20));
  }
  return { child, startMs: performance.now() - started };
}

async function stop(child: ChildProcess) {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

function rssMb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Math.round(Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024);
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
const memory = rssMb(child.pid!);
await stop(child);
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
      server_rss_mb_after_registrations: memory,
    },
    null,
    2,
  ),
);
