import assert from 'node:assert/strict';
import { it } from 'node:test';
import { SAMPLE_RATE } from './media-session.ts';
import { CHUNK_S, PREBUFFER_S, pcmChunks, toMono } from './pcm-stream.ts';

function pcmBytes(seconds: number, rate: number, channels: number): Uint8Array {
  const n = Math.round(seconds * rate);
  const view = new DataView(new ArrayBuffer(n * channels * 2));
  for (let i = 0; i < n; i++) {
    const env = 0.5 - 0.5 * Math.cos(2 * Math.PI * 3 * (i / rate));
    const v = Math.round(12000 * env * Math.sin((2 * Math.PI * 200 * i) / rate));
    for (let c = 0; c < channels; c++) view.setInt16((i * channels + c) * 2, v, true);
  }
  return new Uint8Array(view.buffer);
}

/** Yields the bytes in odd-sized pieces, so samples are split across pieces. */
async function* pieces(bytes: Uint8Array, size: number) {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

it('turns PCM bytes in any piece sizes into 48 kHz chunks: prebuffer first, then short chunks, nothing lost', async () => {
  const rate = 24_000;
  const bytes = pcmBytes(1, rate, 2);
  const chunks = [];
  for await (const c of pcmChunks(
    pieces(bytes, 333),
    { sampleRate: rate, channels: 2 },
    new AbortController().signal,
  ))
    chunks.push(c);
  const total = chunks.reduce((s, c) => s + c.samples.length, 0);
  assert.ok(Math.abs(total - SAMPLE_RATE) <= chunks.length, `1 s in, ${total} samples out`);
  assert.ok(chunks[0]!.samples.length >= PREBUFFER_S * SAMPLE_RATE);
  assert.ok(
    chunks[1]!.samples.length >= CHUNK_S * SAMPLE_RATE &&
      chunks[1]!.samples.length < PREBUFFER_S * SAMPLE_RATE,
  );
  const open = chunks.flatMap((c) => c.visemes).filter((v) => v.viseme !== 'sil');
  assert.ok(open.length > 0, 'a voiced signal opens the mouth');
});

it('stops when aborted', async () => {
  const ac = new AbortController();
  const chunks = [];
  for await (const c of pcmChunks(
    pieces(pcmBytes(2, 16_000, 1), 640),
    { sampleRate: 16_000, channels: 1 },
    ac.signal,
  )) {
    chunks.push(c);
    ac.abort();
  }
  assert.equal(chunks.length, 1);
});

it('averages channels', () => {
  const b = new Uint8Array(new Int16Array([100, 300, -200, -400]).buffer);
  assert.deepEqual([...toMono(b, 2)], [200, -300]);
});
