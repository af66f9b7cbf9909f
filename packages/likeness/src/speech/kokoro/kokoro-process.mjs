// The Kokoro engine process: holds the one neural voice model (Kokoro-82M, ONNX) and answers one synthesis at a
// time for every session on the server (speech/engine-pool.ts supervises it). It runs here, not in the server,
// so inference never blocks the render loop's event loop and a crash in the runtime costs one clause.
// Request: {tokens: number[] (Kokoro vocabulary ids, no padding), voice: string, speed: number}.
// Answer: {samples: Float32Array (24 kHz mono), frames: number[] (each token's duration in 600-sample frames)}.
// Plain JS so the process starts without a TypeScript loader.
import fs from 'node:fs';
import path from 'node:path';
import { cpuSession, ort, serve } from '../onnx-engine-process.mjs';

const modelFile = process.env.LIKENESS_KOKORO_MODEL;
const voicesDir = process.env.LIKENESS_KOKORO_VOICES;
const threads = Number(process.env.LIKENESS_KOKORO_THREADS || 2);
if (!modelFile || !voicesDir) throw new Error('LIKENESS_KOKORO_MODEL and LIKENESS_KOKORO_VOICES must be set');

const session = await cpuSession(modelFile, threads);
const DURATIONS = '/encoder/Cast_output_0';
/** Style vectors, one per phoneme count (510 x 256 float32): loaded once per voice. */
const voices = new Map();
function styleFor(voice, count) {
  let table = voices.get(voice);
  if (!table) {
    if (!/^[a-z]{2}_[a-z]+$/.test(voice)) throw new Error(`bad voice id ${voice}`);
    const buf = fs.readFileSync(path.join(voicesDir, `${voice}.bin`));
    table = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
    voices.set(voice, table);
  }
  const rows = table.length / 256;
  const row = Math.min(Math.max(count, 1), rows - 1);
  return table.slice(row * 256, row * 256 + 256);
}

async function synthesize({ tokens, voice, speed }) {
  if (!Array.isArray(tokens) || tokens.length === 0 || tokens.length > 510) throw new Error('1..510 tokens');
  const ids = BigInt64Array.from([0, ...tokens, 0], (t) => BigInt(t));
  const feeds = {
    tokens: new ort.Tensor('int64', ids, [1, ids.length]),
    style: new ort.Tensor('float32', styleFor(voice, tokens.length), [1, 256]),
    speed: new ort.Tensor('float32', Float32Array.of(speed ?? 1), [1]),
  };
  const out = await session.run(feeds);
  const samples = out.audio.data;
  const frames = Array.from(out[DURATIONS].data, Number);
  return { samples, frames };
}

// Warm the graph once (the first run allocates and plans), so the first sentence is not the slow one.
if (process.env.LIKENESS_KOKORO_WARM_VOICE) {
  await synthesize({
    tokens: [50, 83, 54, 156, 57, 135],
    voice: process.env.LIKENESS_KOKORO_WARM_VOICE,
    speed: 1,
  });
}
serve(synthesize);
