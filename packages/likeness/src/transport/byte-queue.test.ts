import assert from 'node:assert/strict';
import { it } from 'node:test';
import { ByteQueue } from './byte-queue.ts';

it('hands pieces over in order, waiting for the producer, until the end', async () => {
  const q = new ByteQueue();
  const got: number[] = [];
  const reading = (async () => {
    for await (const p of q) got.push(p[0]!);
  })();
  q.push(Uint8Array.of(1));
  await new Promise((r) => setTimeout(r, 5));
  q.push(Uint8Array.of(2));
  q.push(Uint8Array.of(3));
  q.end();
  q.push(Uint8Array.of(4)); // after the end: ignored
  await reading;
  assert.deepEqual(got, [1, 2, 3]);
});

it('discard ends the reader at once and drops what follows, without stalling the producer', async () => {
  const q = new ByteQueue();
  q.push(Uint8Array.of(1));
  const got: number[] = [];
  const reading = (async () => {
    for await (const p of q) {
      got.push(p[0]!);
      q.discard();
    }
  })();
  await reading;
  q.push(Uint8Array.of(2));
  q.end();
  assert.deepEqual(got, [1]);
});
