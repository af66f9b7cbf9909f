import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { prefetch } from './prefetch.ts';

async function* slow(values: number[], log: string[], failAt?: number) {
  for (const v of values) {
    await new Promise((r) => setTimeout(r, 5));
    if (v === failAt) throw new Error(`failed at ${v}`);
    log.push(`made ${v}`);
    yield v;
  }
}

describe('prefetch', () => {
  it('produces before anyone reads, and replays everything in order', async () => {
    const log: string[] = [];
    const p = prefetch(slow([1, 2, 3], log));
    await new Promise((r) => setTimeout(r, 40));
    assert.deepEqual(log, ['made 1', 'made 2', 'made 3'], 'all made while nobody read');
    const got: number[] = [];
    for await (const v of p) got.push(v);
    assert.deepEqual(got, [1, 2, 3]);
  });

  it('hands items over as they come when read early, and surfaces a failure where it happened', async () => {
    const got: number[] = [];
    await assert.rejects(async () => {
      for await (const v of prefetch(slow([1, 2, 3], [], 3))) got.push(v);
    }, /failed at 3/);
    assert.deepEqual(got, [1, 2]);
  });

  it('stops producing when cancelled', async () => {
    const log: string[] = [];
    const p = prefetch(slow([1, 2, 3, 4, 5, 6], log));
    await new Promise((r) => setTimeout(r, 8));
    p.cancel();
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(log.length < 6, `made ${log.length}`);
  });
});
