/**
 * kill -9 in the middle of work, then a restart on the same data directory: the server starts, nothing
 * half-made is left (no partial MP4, no half-registered identity, no half-created database), and usage only
 * holds media that was actually delivered.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { blob, makeVideo } from './helpers/fixtures.ts';
import { spawnServer, startServerProcess } from './helpers/server-process.ts';
import { ADMIN_KEY, listFiles } from './helpers/test-server.ts';
import { connectWhep } from './helpers/whep-client.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const tmpDir = () => fs.mkdtemp(path.join(os.tmpdir(), 'likeness-crash-'));

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return;
    await sleep(20);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Files that only exist while work is in flight, or that a crash could leave half-made. */
const leftovers = (files: string[]) => files.filter((f) => f.startsWith('tmp/') || f.endsWith('.tmp'));

describe('kill -9 and restart', () => {
  it('during the very first start (creating the database): the next start works', async () => {
    const dir = await tmpDir();
    const child = spawnServer(dir);
    await waitFor(async () => (await fs.readdir(dir).catch(() => [])).length > 0, 30_000, 'the data dir');
    await sleep(800); // inside cluster creation, which takes seconds
    child.kill('SIGKILL');
    const server = await startServerProcess(dir);
    try {
      assert.ok((await server.client.listCharacters()).data.length >= 5);
    } finally {
      await server.stop();
    }
  });

  it('during a registration: no character, no orphan identity; registering again works', async () => {
    const dir = await tmpDir();
    let server = await startServerProcess(dir);
    const before = (await server.client.listCharacters({ query: { limit: 100 } })).data.length;
    const clip = makeVideo('mp4', 4);
    const pending = server.client
      .createCharacter({ body: { name: 'Clip', video: blob(clip, 'video/mp4') } })
      .catch(() => 'killed');
    await waitFor(
      async () => (await listFiles(dir)).some((f) => f.startsWith('tmp/upload-')),
      30_000,
      'analysis',
    );
    await server.kill();
    assert.equal(await pending, 'killed');
    server = await startServerProcess(dir);
    try {
      assert.deepEqual(leftovers(await listFiles(dir)), []);
      assert.equal((await server.client.listCharacters({ query: { limit: 100 } })).data.length, before);
      const again = await server.client.createCharacter({
        body: { name: 'Clip', video: blob(clip, 'video/mp4') },
      });
      assert.equal(again.identity.cached, false);
    } finally {
      await server.stop();
    }
  });

  it('during an MP4 render: no partial file, no usage for it; the next render works', async () => {
    const dir = await tmpDir();
    let server = await startServerProcess(dir);
    const walter = (await server.client.listCharacters()).data.find((c) => c.slug === 'walter')!;
    const s = await server.client.createSession({
      body: { character_id: walter.id, user_id: 'u', mode: 'on_demand' },
    });
    const pending = fetch(`${server.url}/v1/sessions/${s.id}/generate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'A fairly long story about the old mill by the river. '.repeat(12) }),
    }).catch(() => 'killed');
    await waitFor(
      async () => (await listFiles(dir)).some((f) => /^tmp\/gen-.*\.mp4$/.test(f)),
      30_000,
      'the render',
    );
    await sleep(300);
    await server.kill();
    assert.equal(await pending, 'killed');
    server = await startServerProcess(dir);
    try {
      assert.deepEqual(leftovers(await listFiles(dir)), [], 'the partial MP4 is gone');
      const usage = await server.client.getUsage({ query: { group_by: 'session' } });
      assert.equal(
        usage.data.find((r) => r.key === s.id),
        undefined,
        'nothing billed for an unfinished render',
      );
      const res = await fetch(`${server.url}/v1/sessions/${s.id}/generate`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ text: 'Back again.' }),
      });
      assert.equal(res.status, 200);
      await res.arrayBuffer();
    } finally {
      await server.stop();
    }
  });

  it('during a live session: usage holds only what was delivered; the session can be reconnected and ended', async () => {
    const dir = await tmpDir();
    let server = await startServerProcess(dir);
    const card = (await server.client.listCharacters()).data.find((c) => c.slug === 'test-card')!;
    const s = await server.client.createSession({
      body: { character_id: card.id, user_id: 'u', mode: 'realtime' },
    });
    const token = await server.client.createSessionToken({ path: { id: s.id } });
    const viewer = await connectWhep(server.url, token.whep_url, token.token);
    const started = performance.now();
    await server.client.speak({ path: { id: s.id }, body: { text: 'beep beep' } });
    await sleep(6500); // one 5 s metering tick has been written
    await server.kill();
    const watched = (performance.now() - started) / 1000;
    viewer.close();
    server = await startServerProcess(dir);
    try {
      const usage = await server.client.getUsage({ query: { group_by: 'session' } });
      const seconds = usage.data.find((r) => r.key === s.id)?.media_seconds ?? 0;
      assert.ok(
        seconds >= 4.5 && seconds <= watched,
        `billed ${seconds} s of ${watched.toFixed(1)} s watched`,
      );
      const again = await server.client.createSessionToken({ path: { id: s.id } });
      const back = await connectWhep(server.url, again.whep_url, again.token);
      await waitFor(async () => (await back.framesReceived()) > 10, 15_000, 'frames after the restart');
      back.close();
      assert.equal((await server.client.endSession({ path: { id: s.id } })).status, 'ended');
      assert.deepEqual(leftovers(await listFiles(dir)), []);
    } finally {
      await server.stop();
    }
  });
});
