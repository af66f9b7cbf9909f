/**
 * Live speech and MP4 renders at the same time (this once killed the server twice): every render either
 * completes or is refused with 429, every utterance of the live session finishes exactly once without error,
 * and the viewer keeps receiving video throughout.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MediaEvent } from '../src/realtime/media-session.ts';
import { DEFAULT_TENANT_ID } from '../src/tenancy/tenancy-service.ts';
import { ADMIN_KEY, startTestServer, type TestServer } from './helpers/test-server.ts';
import { connectWhep } from './helpers/whep-client.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('live speech and renders together', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ env: { LIKENESS_MAX_RENDERS: '2', LIKENESS_MAX_RENDER_QUEUE: '2' } });
  });
  after(() => t?.close());

  it('renders complete or are refused, live utterances all finish, video keeps flowing', async () => {
    const cast = (await t.client.listCharacters()).data;
    const kai = cast.find((c) => c.slug === 'kai')!;
    const walter = cast.find((c) => c.slug === 'walter')!;
    const live = await t.client.createSession({
      body: { character_id: kai.id, user_id: 'u', mode: 'realtime' },
    });
    const token = await t.client.createSessionToken({ path: { id: live.id } });
    const viewer = await connectWhep(t.server.url, token.whep_url, token.token);
    const events: MediaEvent[] = [];
    const unsubscribe = await t.server.services.live.subscribe(DEFAULT_TENANT_ID, live.id, (e) =>
      events.push(e),
    );
    const onDemand = await t.client.createSession({
      body: { character_id: walter.id, user_id: 'u', mode: 'on_demand' },
    });

    const utterances: string[] = [];
    const speaking = (async () => {
      for (let i = 0; i < 6; i++) {
        const r = await t.client.speak({
          path: { id: live.id },
          body: { text: `Line ${i}: the river runs by the mill.` },
        });
        utterances.push(r.utterance_id);
        await sleep(700);
      }
    })();
    const renders = Array.from({ length: 6 }, (_, i) =>
      fetch(`${t.server.url}/v1/sessions/${onDemand.id}/generate`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          text: `Render ${i}. The miller counts ${i * 1111} sacks of flour by the door.`,
        }),
      }).then(async (res) => ({ status: res.status, bytes: (await res.arrayBuffer()).byteLength })),
    );
    const framesBefore = await viewer.framesReceived();
    const results = await Promise.all(renders);
    await speaking;
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const finished = events.filter((e) => e.type === 'utterance.finished').length;
      if (finished >= utterances.length) break;
      await sleep(100);
    }
    const framesAfter = await viewer.framesReceived();
    unsubscribe();
    viewer.close();

    for (const r of results) assert.ok(r.status === 200 || r.status === 429, `render answered ${r.status}`);
    assert.ok(
      results.filter((r) => r.status === 200).length >= 4,
      'two run, two wait: at least four complete',
    );
    assert.ok(results.filter((r) => r.status === 200).every((r) => r.bytes > 10_000));
    const finished = events.filter((e) => e.type === 'utterance.finished');
    for (const id of utterances) {
      const mine = finished.filter((e) => e.utterance_id === id);
      assert.equal(mine.length, 1, `utterance ${id} finished exactly once`);
      assert.equal((mine[0] as { error?: string }).error, undefined, 'and without error');
    }
    assert.ok(framesAfter - framesBefore > 50, `video kept flowing: ${framesAfter - framesBefore} frames`);
    assert.equal((await fetch(`${t.server.url}/healthz`)).status, 200);
    await t.client.endSession({ path: { id: live.id } });
  });
});
