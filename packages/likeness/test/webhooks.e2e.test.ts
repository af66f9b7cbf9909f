/**
 * Webhooks and stored videos, end to end: a real receiver, real renders, deliveries verified with the
 * `standardwebhooks` library, retried after a 500, and resumed after a restart.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { ADMIN_KEY, startTestServer, type TestServer } from './helpers/test-server.ts';
import { closedPort, type Received, startReceiver } from './helpers/webhook-receiver.ts';

// The receivers here are on loopback, which a server refuses unless the operator allows it.
const FAST_RETRIES = {
  LIKENESS_WEBHOOK_RETRY_S: '0.2,0.5,1,1,1,1',
  LIKENESS_WEBHOOK_ALLOW_PRIVATE_URLS: '1',
};

const payload = (r: Received) => JSON.parse(r.body) as { type: string; data: Record<string, unknown> };

describe('webhooks and stored videos', () => {
  let t: TestServer;
  let kaiId: string;
  const api = (method: string, path: string, body?: unknown, key = ADMIN_KEY) =>
    fetch(`${t.server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  const onDemand = async (extra: Record<string, unknown> = {}) =>
    (await t.client.createSession({
      body: { character_id: kaiId, user_id: 'u1', mode: 'on_demand', ...extra },
    })) as { id: string };

  before(async () => {
    t = await startTestServer({ env: FAST_RETRIES });
    kaiId = (await t.client.listCharacters()).data.find((c) => c.slug === 'kai')!.id;
  });
  after(async () => {
    await t?.close();
  });

  it('signs deliveries (verified by standardwebhooks), retries a 500, and reports video and session events', async () => {
    const receiver = await startReceiver({ statuses: [500] });
    try {
      const created = await api('POST', '/v1/webhooks', {
        url: receiver.url,
        events: ['session.started', 'session.ended', 'video.ready'],
      });
      assert.equal(created.status, 201);
      const hook = (await created.json()) as { id: string; secret: string };
      assert.match(hook.secret, /^whsec_[A-Za-z0-9+/]+=*$/);
      const verifier = new Webhook(hook.secret);

      const session = await onDemand();
      const res = await api('POST', `/v1/sessions/${session.id}/videos?wait=true`, {
        text: 'Webhooks are here.',
      });
      assert.equal(res.status, 201);
      const video = (await res.json()) as { id: string; status: string; url: string; duration_s: number };
      assert.equal(video.status, 'ready');
      const mp4 = await api('GET', video.url);
      assert.equal(mp4.status, 200);
      assert.equal(mp4.headers.get('content-type'), 'video/mp4');
      const bytes = Buffer.from(await mp4.arrayBuffer());
      assert.equal(bytes.toString('ascii', 4, 8), 'ftyp');

      const ready = await receiver.waitFor((r) => payload(r).type === 'video.ready');
      // Verified by the reference library: signature over id.timestamp.body with the secret.
      const verified = verifier.verify(ready.body, ready.headers) as { data: { video_id: string } };
      assert.equal(verified.data.video_id, video.id);
      assert.throws(() => verifier.verify(`${ready.body} `, ready.headers), 'a changed body fails');

      // The first delivery to arrive was answered 500; it came again, under the same webhook-id.
      const firstId = receiver.received[0]!.headers['webhook-id'];
      const firstType = payload(receiver.received[0]!).type;
      await receiver.waitFor((r) => r !== receiver.received[0] && r.headers['webhook-id'] === firstId);
      assert.ok(receiver.received.filter((r) => r.headers['webhook-id'] === firstId).length === 2);

      await api('DELETE', `/v1/sessions/${session.id}`);
      const ended = payload(await receiver.waitFor((r) => payload(r).type === 'session.ended'));
      assert.equal(ended.data.session_id, session.id);
      assert.equal(ended.data.media_seconds, video.duration_s);
      assert.equal(ended.data.end_reason, 'client_ended');

      const list = (await (await api('GET', `/v1/webhooks/${hook.id}/deliveries`)).json()) as {
        data: { event: string; status: string; attempts: { status?: number }[] }[];
      };
      const first = list.data.find((d) => d.event === firstType)!;
      assert.equal(first.status, 'delivered');
      assert.deepEqual(
        first.attempts.map((a) => a.status),
        [500, 200],
      );
      assert.ok(
        list.data.every((d) => d.status === 'delivered'),
        JSON.stringify(list.data.map((d) => d.status)),
      );
      assert.equal((await api('DELETE', `/v1/webhooks/${hook.id}`)).status, 204);
    } finally {
      await receiver.close();
    }
  });

  it('keeps an undelivered event across a restart and delivers it when the receiver is back', async () => {
    const port = await closedPort();
    const url = `http://127.0.0.1:${port}/hook`;
    const hook = (await (await api('POST', '/v1/webhooks', { url, events: ['session.started'] })).json()) as {
      id: string;
    };
    const session = await onDemand();
    await api('POST', `/v1/sessions/${session.id}/keepalive`);
    // Wait until the refused attempt is on record.
    let deliveries: { status: string; attempts: { error?: string }[] }[] = [];
    for (let i = 0; i < 50 && !deliveries[0]?.attempts.length; i++) {
      await new Promise((r) => setTimeout(r, 100));
      deliveries = (
        (await (await api('GET', `/v1/webhooks/${hook.id}/deliveries`)).json()) as { data: typeof deliveries }
      ).data;
    }
    assert.equal(deliveries[0]?.status, 'pending');
    assert.match(deliveries[0]!.attempts[0]!.error ?? '', /ECONNREFUSED/);

    const dataDir = t.dataDir;
    await t.close();
    const receiver = await startReceiver({ port });
    try {
      t = await startTestServer({ dataDir, env: FAST_RETRIES });
      const got = payload(await receiver.waitFor((r) => payload(r).type === 'session.started'));
      assert.equal(got.data.session_id, session.id);
      const after = (
        (await (await api('GET', `/v1/webhooks/${hook.id}/deliveries`)).json()) as {
          data: { status: string; attempts: unknown[] }[];
        }
      ).data;
      for (let i = 0; i < 20 && after[0]?.status !== 'delivered'; i++)
        await new Promise((r) => setTimeout(r, 100));
      await api('DELETE', `/v1/webhooks/${hook.id}`);
    } finally {
      await receiver.close();
    }
  });

  it('refuses bad webhooks with clear problems and writes nothing', async () => {
    const before = ((await (await api('GET', '/v1/webhooks')).json()) as { data: unknown[] }).data.length;
    const cases: [unknown, number, string][] = [
      [{ url: 'ftp://example.com/x', events: ['video.ready'] }, 422, 'invalid-webhook-url'],
      [{ url: 'not a url', events: ['video.ready'] }, 422, 'invalid-webhook-url'],
      [{ url: 'http://user:pw@127.0.0.1/x', events: ['video.ready'] }, 422, 'invalid-webhook-url'],
      [{ url: 'http://no-such-host.invalid/hook', events: ['video.ready'] }, 422, 'invalid-webhook-url'],
      [{ url: 'http://127.0.0.1/x', events: ['video.done'] }, 400, 'validation-error'],
      [{ url: 'http://127.0.0.1/x', events: [] }, 400, 'validation-error'],
      [{ url: 'http://127.0.0.1/x', events: ['video.ready'], extra: 1 }, 400, 'validation-error'],
    ];
    for (const [body, status, type] of cases) {
      const res = await api('POST', '/v1/webhooks', body);
      assert.equal(res.status, status, JSON.stringify(body));
      assert.equal(res.headers.get('content-type'), 'application/problem+json');
      const problem = (await res.json()) as { type: string; detail: string };
      assert.ok(problem.type.endsWith(`/${type}`), `${problem.type} for ${JSON.stringify(body)}`);
    }
    assert.equal((await api('DELETE', '/v1/webhooks/wh_nope')).status, 404);
    const after = ((await (await api('GET', '/v1/webhooks')).json()) as { data: unknown[] }).data.length;
    assert.equal(after, before);
    // By default a server does not call its own network for a tenant.
    const strict = await startTestServer();
    try {
      for (const url of ['http://127.0.0.1:9/hook', 'http://localhost/hook', 'http://10.1.2.3/hook']) {
        const res = await fetch(`${strict.server.url}/v1/webhooks`, {
          method: 'POST',
          headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
          body: JSON.stringify({ url, events: ['video.ready'] }),
        });
        assert.equal(res.status, 422, url);
        assert.match(((await res.json()) as { detail: string }).detail, /private or loopback/);
      }
    } finally {
      await strict.close();
    }
  });

  it('stored videos: 202 then ready, a usage.threshold event, and bad input leaves no video behind', async () => {
    const receiver = await startReceiver();
    try {
      const hook = (await (
        await api('POST', '/v1/webhooks', { url: receiver.url, events: ['usage.threshold', 'video.failed'] })
      ).json()) as { id: string };
      // A session whose media cap this text fills past 80 %: its length, measured on a first render, rounded up.
      const text = 'Counting slowly now: one, two, three, four, five, six, seven, eight.';
      const probe = await onDemand();
      const measured = (await (
        await api('POST', `/v1/sessions/${probe.id}/videos?wait=true`, { text })
      ).json()) as {
        duration_s: number;
      };
      assert.ok(measured.duration_s >= 4, `${measured.duration_s} s`);
      const session = await onDemand({ max_duration_s: Math.ceil(measured.duration_s) });
      const res = await api('POST', `/v1/sessions/${session.id}/videos`, { text });
      assert.equal(res.status, 202);
      const accepted = (await res.json()) as { id: string; status: string };
      assert.equal(accepted.status, 'rendering');
      let video = accepted;
      for (let i = 0; i < 100 && video.status === 'rendering'; i++) {
        await new Promise((r) => setTimeout(r, 100));
        video = (await (await api('GET', `/v1/videos/${accepted.id}`)).json()) as typeof video;
      }
      assert.equal(video.status, 'ready');
      const threshold = payload(await receiver.waitFor((r) => payload(r).type === 'usage.threshold'));
      assert.equal(threshold.data.session_id, session.id);
      assert.equal(threshold.data.threshold, 0.8);

      const count = async () =>
        ((await (await api('GET', '/v1/videos?limit=100')).json()) as { data: unknown[] }).data.length;
      const n = await count();
      const bad = await api('POST', `/v1/sessions/${session.id}/videos`, { text: 'x'.repeat(6000) });
      assert.equal(bad.status, 422);
      const missing = await api('POST', '/v1/sessions/ses_nope/videos', { text: 'hi' });
      assert.equal(missing.status, 404);
      assert.equal(await count(), n);
      assert.equal((await api('GET', '/v1/videos/vid_nope/content')).status, 404);
      assert.equal((await api('DELETE', `/v1/videos/${video.id}`)).status, 204);
      assert.equal((await api('GET', `/v1/videos/${video.id}`)).status, 404);
      await fs.access(t.dataDir); // the data dir is intact
      await api('DELETE', `/v1/webhooks/${hook.id}`);
    } finally {
      await receiver.close();
    }
  });
});
