/**
 * Realtime lifecycle: activation on connect, idle expiry, and no leaks across 20 sessions.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import v8 from 'node:v8';
import vm from 'node:vm';
import { problemOf, startTestServer, type TestServer } from './helpers/test-server.ts';
import { connectWhep } from './helpers/whep-client.ts';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function resources() {
  gc();
  gc();
  const active = process.getActiveResourcesInfo();
  return {
    timers: active.filter((r) => r === 'Timeout').length,
    handles: active.length,
    fds: fs.readdirSync('/proc/self/fd').length,
    heapMb: process.memoryUsage().heapUsed / 1e6,
  };
}

describe('realtime lifecycle', () => {
  let t: TestServer;
  let walterId: string;
  before(async () => {
    t = await startTestServer();
    walterId = (await t.client.listCharacters()).data.find((c) => c.slug === 'walter')!.id;
  });
  after(async () => {
    await t?.close();
  });

  async function openAndWatch(opts: { idle_timeout_s?: number } = {}) {
    const s = await t.client.createSession({
      body: { character_id: walterId, user_id: 'leak', mode: 'realtime', ...opts },
    });
    const token = await t.client.createSessionToken({ path: { id: s.id } });
    const viewer = await connectWhep(t.server.url, token.whep_url, token.token);
    return { s, token, viewer };
  }

  it('becomes active on first connection; tokens are scoped to their session', async () => {
    const { s, token, viewer } = await openAndWatch();
    assert.equal((await t.client.getSession({ path: { id: s.id } })).status, 'active');
    const other = await t.client.createSession({
      body: { character_id: walterId, user_id: 'x', mode: 'realtime' },
    });
    const res = await fetch(`${t.server.url}/v1/sessions/${other.id}/whep`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token.token}`, 'content-type': 'application/sdp' },
      body: 'v=0',
    });
    assert.equal(res.status, 401, 'a token opens only its own session');
    const asKey = await fetch(`${t.server.url}/v1/characters`, {
      headers: { authorization: `Bearer ${token.token}` },
    });
    assert.equal(asKey.status, 401, 'a token is not an API key');
    const bad = await fetch(`${t.server.url}/v1/sessions/${s.id}/whep`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token.token}`, 'content-type': 'application/sdp' },
      body: 'hello',
    });
    assert.equal(bad.status, 400);
    viewer.close();
    await t.client.endSession({ path: { id: s.id } });
    await t.client.endSession({ path: { id: other.id } });
    const onDemand = await t.client.createSession({
      body: { character_id: walterId, user_id: 'x', mode: 'on_demand' },
    });
    assert.equal(
      (await problemOf(() => t.client.createSessionToken({ path: { id: onDemand.id } }))).slug,
      'wrong-session-mode',
    );
    await t.client.endSession({ path: { id: onDemand.id } });
  });

  it('expires an idle session (nobody watching, nothing said) and tears its media down', async () => {
    const { s, viewer } = await openAndWatch({ idle_timeout_s: 1 });
    viewer.close();
    await sleep(600);
    const live = (await t.client.getSession({ path: { id: s.id } })).status;
    assert.equal(live, 'active', 'recent activity keeps it alive');
    await sleep(2200);
    const ended = await t.client.getSession({ path: { id: s.id } });
    assert.deepEqual([ended.status, ended.end_reason], ['expired', 'idle_timeout']);
    await sleep(100);
    assert.equal(t.server.services.live.host.count, 0);
  });

  it('leaves memory, timers and file descriptors at the baseline after 20 sessions', async () => {
    for (let i = 0; i < 2; i++) {
      const w = await openAndWatch();
      await sleep(300);
      w.viewer.close();
      await t.client.endSession({ path: { id: w.s.id } });
    }
    await sleep(500);
    const baseline = resources();
    for (let i = 0; i < 20; i++) {
      const w = await openAndWatch();
      await sleep(250);
      await t.client.endSession({ path: { id: w.s.id } });
      w.viewer.close();
    }
    await sleep(1000);
    const end = resources();
    assert.equal(t.server.services.live.host.count, 0, 'no media sessions left');
    assert.ok(end.timers <= baseline.timers, `timers ${baseline.timers} -> ${end.timers}`);
    assert.ok(end.fds <= baseline.fds + 2, `file descriptors ${baseline.fds} -> ${end.fds}`);
    assert.ok(end.handles <= baseline.handles + 2, `handles ${baseline.handles} -> ${end.handles}`);
    assert.ok(
      end.heapMb - baseline.heapMb < 25,
      `heap ${baseline.heapMb.toFixed(1)} -> ${end.heapMb.toFixed(1)} MB`,
    );
    console.log(
      `after 20 sessions: timers ${baseline.timers}->${end.timers}, fds ${baseline.fds}->${end.fds}, heap ${baseline.heapMb.toFixed(1)}->${end.heapMb.toFixed(1)} MB`,
    );
  });
});
