import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { EnginePool } from './engine-pool.ts';

/** A minimal engine: answers {n} with {n: n * 2, pid}. */
function echoEngine(): URL {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'engine-pool-'));
  const file = path.join(dir, 'echo.mjs');
  fs.writeFileSync(
    file,
    `process.on('message', (m) => process.send({ id: m.id, n: m.n * 2, pid: process.pid }));
process.on('disconnect', () => process.exit(0));
process.send({ ready: true });
`,
  );
  return pathToFileURL(file);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('engine pool', () => {
  it('lets an idle process leave after idleExitMs, and starts a new one for the next request', async () => {
    const left: { expected: boolean }[] = [];
    const pool = new EnginePool<{ n: number }, { n: number; pid: number }>({
      name: 'echo',
      script: echoEngine(),
      size: 1,
      idleExitMs: 150,
      onEvent: (e) => {
        if (e.type === 'exited') left.push({ expected: e.expected });
      },
    });
    try {
      const first = await pool.request({ n: 2 });
      assert.equal(first.n, 4);
      // Still working within the idle time: the same process answers.
      const again = await pool.request({ n: 3 });
      assert.equal(again.pid, first.pid);
      await sleep(600);
      assert.deepEqual(pool.pids, [], 'the idle process left');
      assert.deepEqual(left, [{ expected: true }]);
      const later = await pool.request({ n: 5 });
      assert.equal(later.n, 10);
      assert.notEqual(later.pid, first.pid);
      assert.equal(pool.stats.crashes, 0);
    } finally {
      await pool.close();
    }
  });

  it('keeps its processes without idleExitMs', async () => {
    const pool = new EnginePool<{ n: number }, { n: number; pid: number }>({
      name: 'echo',
      script: echoEngine(),
      size: 1,
    });
    try {
      const first = await pool.request({ n: 1 });
      await sleep(400);
      assert.deepEqual(pool.pids, [first.pid]);
      assert.equal((await pool.request({ n: 1 })).pid, first.pid);
    } finally {
      await pool.close();
    }
  });
});
