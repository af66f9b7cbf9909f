// The Piper engine process: holds one Piper voice (VITS, ONNX) and answers one synthesis at a time for every
// session on the server (speech/engine-pool.ts supervises it), so inference never blocks the server's event loop
// and a crash in the runtime costs one clause.
// Request: {ids: number[] (Piper phoneme ids, already interleaved with padding), lengthScale: number}.
// Answer: {samples: Float32Array (the voice's rate, mono), frames: number[] (each id's duration, 256-sample frames)}.
// Plain JS so the process starts without a TypeScript loader.
import { cpuSession, ort, serve } from '../onnx-engine-process.mjs';

const modelFile = process.env.LIKENESS_PIPER_MODEL;
const threads = Number(process.env.LIKENESS_PIPER_THREADS || 1);
const [noise, noiseW] = (process.env.LIKENESS_PIPER_NOISE || '0.667,0.8').split(',').map(Number);
if (!modelFile) throw new Error('LIKENESS_PIPER_MODEL must be set');

const session = await cpuSession(modelFile, threads);
const DURATIONS = '/Ceil_output_0';

async function synthesize({ ids, lengthScale }) {
  if (!Array.isArray(ids) || ids.length < 3 || ids.length > 2048) throw new Error('3..2048 ids');
  const input = BigInt64Array.from(ids, (t) => BigInt(t));
  const out = await session.run({
    input: new ort.Tensor('int64', input, [1, input.length]),
    input_lengths: new ort.Tensor('int64', BigInt64Array.of(BigInt(input.length)), [1]),
    scales: new ort.Tensor('float32', Float32Array.of(noise, lengthScale ?? 1, noiseW), [3]),
  });
  return { samples: out.output.data, frames: Array.from(out[DURATIONS].data, Number) };
}

// Warm the graph once (the first run allocates and plans), so the first sentence is not the slow one.
await synthesize({ ids: [1, 0, 20, 0, 120, 0, 24, 0, 2], lengthScale: 1 });
serve(synthesize);
