/**
 * Hardening: what once took the server down, leaked, or reached across tenants, each pinned by a test.
 * The property-based fuzz of every route is in fuzz.e2e.test.ts, the kill -9 tests in crash.e2e.test.ts.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ADMIN_KEY, listFiles, problemOf, startTestServer, type TestServer } from './helpers/test-server.ts';
import { connectWhep } from './helpers/whep-client.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function call(t: TestServer, method: string, url: string, opts: { key?: string; json?: unknown } = {}) {
  const res = await fetch(`${t.server.url}${url}`, {
    method,
    headers: {
      authorization: `Bearer ${opts.key ?? ADMIN_KEY}`,
      ...(opts.json !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(opts.json !== undefined ? { body: JSON.stringify(opts.json) } : {}),
  });
  const type = res.headers.get('content-type') ?? '';
  const body = type.includes('json') ? await res.json() : await res.arrayBuffer();
  return { status: res.status, type, headers: res.headers, body: body as Record<string, unknown> };
}

/** Sends a body of `bytes` zeros with or without a Content-Length; resolves with the status and headers. */
function sendLarge(
  url: string,
  opts: { key: string; bytes: number; chunked: boolean; contentType: string },
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string; sent: number }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${opts.key}`,
        'content-type': opts.contentType,
        ...(opts.chunked ? {} : { 'content-length': String(opts.bytes) }),
      },
    });
    let sent = 0;
    let done = false;
    const chunk = Buffer.alloc(64 * 1024);
    req.on('response', (res) => {
      done = true;
      let body = '';
      res.on('data', (d) => {
        body += d;
      });
      res.on('end', () => {
        resolve({ status: res.statusCode!, headers: res.headers, body, sent });
        req.destroy();
      });
    });
    req.on('error', (err) => (done ? undefined : reject(err)));
    const pump = () => {
      while (!done && sent < opts.bytes) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      if (!done) req.end();
    };
    pump();
  });
}

describe('hardening', () => {
  let t: TestServer;
  let walterId: string;
  let cardId: string;
  before(async () => {
    t = await startTestServer({ env: { LIKENESS_MAX_RENDERS: '1', LIKENESS_MAX_RENDER_QUEUE: '1' } });
    const cast = (await t.client.listCharacters()).data;
    walterId = cast.find((c) => c.slug === 'walter')!.id;
    cardId = cast.find((c) => c.slug === 'test-card')!.id;
  });
  after(() => t?.close());

  it('speaks a 300-digit number (it used to crash the process) and says it as people would', async () => {
    const s = await t.client.createSession({
      body: { character_id: walterId, user_id: 'u', mode: 'on_demand' },
    });
    const res = await call(t, 'POST', `/v1/sessions/${s.id}/generate`, {
      json: { text: `My number is ${'9'.repeat(300)}.` },
    });
    assert.equal(res.status, 200);
    assert.equal(res.type, 'video/mp4');
    const seconds = Number(res.headers.get('x-likeness-duration-s'));
    assert.ok(
      seconds > 1 && seconds < 6,
      `spoken as "a three hundred-digit number", not 300 digits: ${seconds} s`,
    );
    assert.equal((await call(t, 'GET', '/healthz')).status, 200);
  });

  it('fails one render, not the server, when the speech engine dies mid-way; the next render works', async () => {
    const s = await t.client.createSession({
      body: { character_id: walterId, user_id: 'u', mode: 'on_demand' },
    });
    const pool = t.server.services.speech.flitePool;
    const pids = pool.pids;
    const requested = pool.stats.requests;
    const pending = call(t, 'POST', `/v1/sessions/${s.id}/generate`, {
      json: {
        text: 'This sentence is long enough to keep the engine busy for a while, and then a little more. '.repeat(
          2,
        ),
      },
    });
    // Killed once synthesis has begun (a request handed to a process), not after a fixed wait: on a loaded
    // machine 60 ms could pass before the render reached the engine, which then restarted in time to succeed.
    while (pool.stats.requests === requested) await sleep(2);
    for (const pid of pids) process.kill(pid, 'SIGKILL');
    const failed = await pending;
    assert.equal(failed.status, 502);
    assert.equal(failed.body.type, '/problems/speech-failed');
    const ok = await call(t, 'POST', `/v1/sessions/${s.id}/generate`, { json: { text: 'Back again.' } });
    assert.equal(ok.status, 200);
    assert.ok(
      pool.pids.every((pid) => !pids.includes(pid)),
      'the engine processes were replaced',
    );
  });

  it('checks the tenant before any live-session lookup: another tenant cannot use up viewer slots', async () => {
    const s = await t.client.createSession({
      body: { character_id: cardId, user_id: 'u', mode: 'realtime' },
    });
    const token = await t.client.createSessionToken({ path: { id: s.id } });
    const { api_key } = await t.client.createTenant({ body: { name: 'intruder' } });
    // The owner's media is live (one viewer): the old lookup found it by id alone.
    const viewers = [await connectWhep(t.server.url, token.whep_url, token.token)];
    for (let i = 0; i < 6; i++) {
      // Real offers, with the intruder's own (valid) API key.
      await assert.rejects(connectWhep(t.server.url, token.whep_url, api_key.key), /WHEP 404/);
    }
    for (let i = 0; i < 3; i++) viewers.push(await connectWhep(t.server.url, token.whep_url, token.token));
    const fifth = await fetch(`${t.server.url}${token.whep_url}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token.token}`, 'content-type': 'application/sdp' },
      body: 'v=0\r\n',
    });
    assert.equal(fifth.status, 429, 'the owner gets all four slots, and no more');
    for (const v of viewers) v.close();
    await t.client.endSession({ path: { id: s.id } });
  });

  it('refuses NUL and control characters in every string and id with 400, before the database', async () => {
    const cases: [string, string, unknown][] = [
      ['POST', '/v1/sessions', { character_id: walterId, user_id: 'a\u0000b', mode: 'on_demand' }],
      ['POST', '/v1/sessions', { character_id: `${walterId}\u0000`, user_id: 'u', mode: 'on_demand' }],
      ['POST', '/v1/sessions', { character_id: walterId, user_id: 'a\nb', mode: 'on_demand' }],
      ['POST', '/v1/sessions', { character_id: walterId, user_id: 'a\ud800', mode: 'on_demand' }],
      ['GET', '/v1/sessions/ses_%00abc', undefined],
      ['DELETE', '/v1/characters/chr_%01', undefined],
      ['GET', '/v1/characters?cursor=%00', undefined],
      ['POST', '/v1/keys', { name: 'bad\u0007bell' }],
      ['PATCH', `/v1/characters/${walterId}`, { persona: { prompt: 'ok\u0000' } }],
    ];
    for (const [method, url, json] of cases) {
      const res = await call(t, method, url, json === undefined ? {} : { json });
      assert.equal(res.status, 400, `${method} ${url}`);
      assert.equal(res.body.type, '/problems/validation-error');
      assert.match(res.type, /application\/problem\+json/);
    }
    const multiline = await call(t, 'PATCH', `/v1/characters/${walterId}`, {
      json: { persona: { prompt: 'Line one.\nLine two.\tTabbed.' } },
    });
    assert.equal(multiline.status, 200, 'free text keeps its line breaks and tabs');
  });

  it('refuses bodies over the route limit while they stream: 413, problem+json, connection closed', async () => {
    const s = await t.client.createSession({
      body: { character_id: cardId, user_id: 'u', mode: 'realtime' },
    });
    const token = await t.client.createSessionToken({ path: { id: s.id } });
    const big = 100 * 1024 * 1024;
    const whep = `${t.server.url}/v1/sessions/${s.id}/whep`;
    for (const chunked of [false, true]) {
      const res = await sendLarge(whep, {
        key: token.token,
        bytes: big,
        chunked,
        contentType: 'application/sdp',
      });
      assert.equal(res.status, 413, `whep, chunked=${chunked}`);
      assert.equal(JSON.parse(res.body).type, '/problems/payload-too-large');
      assert.equal(res.headers.connection, 'close');
      assert.ok(res.sent < 20 * 1024 * 1024, `refused early: ${res.sent} bytes sent`);
      const json = await sendLarge(`${t.server.url}/v1/sessions`, {
        key: ADMIN_KEY,
        bytes: big,
        chunked,
        contentType: 'application/json',
      });
      assert.equal(json.status, 413, `json, chunked=${chunked}`);
    }
    const upload = await sendLarge(`${t.server.url}/v1/characters`, {
      key: ADMIN_KEY,
      bytes: big,
      chunked: true,
      contentType: 'multipart/form-data; boundary=x',
    });
    assert.equal(upload.status, 413, 'a chunked upload past the video limit');
    assert.deepEqual(
      (await listFiles(t.dataDir)).filter((f) => f.startsWith('tmp/')),
      [],
      'nothing spooled is left',
    );
    await t.client.endSession({ path: { id: s.id } });
  });

  it('lets only the operator create tenants; admins manage their own keys; members use the API', async () => {
    const admin = await t.client.createKey({ body: { name: 'tenant admin', role: 'admin' } });
    const member = await t.client.createKey({ body: { name: 'app', role: 'member' } });
    assert.equal(
      (await problemOf(() => t.clientFor(admin.key).createTenant({ body: { name: 'x' } }))).status,
      403,
      'a tenant admin cannot mint tenants',
    );
    const { api_key } = await t.client.createTenant({ body: { name: 'customer' } });
    assert.equal(api_key.role, 'admin', 'a new tenant starts with an admin key');
    const customer = t.clientFor(api_key.key);
    assert.equal((await problemOf(() => customer.createTenant({ body: { name: 'y' } }))).status, 403);
    assert.equal(
      (await problemOf(() => customer.createKey({ body: { name: 'z', role: 'operator' } }))).status,
      403,
      'nobody but the operator grants operator keys',
    );
    assert.ok((await customer.createKey({ body: { name: 'their member' } })).key);
    for (const attempt of [
      () => t.clientFor(member.key).listKeys(),
      () => t.clientFor(member.key).createKey({ body: { name: 'm' } }),
      () => t.clientFor(member.key).revokeKey({ path: { id: admin.id } }),
    ])
      assert.equal((await problemOf(attempt)).status, 403);
    assert.ok((await t.clientFor(member.key).listCharacters()).data.length > 0, 'members use the API');
    const keys = (await t.client.listKeys()).data;
    assert.equal(keys.find((k) => k.name === 'LIKENESS_API_KEY')?.role, 'operator');
  });

  it('queues renders up to the limit and refuses the rest with 429 and Retry-After, never overloading', async () => {
    const s = await t.client.createSession({
      body: { character_id: walterId, user_id: 'u', mode: 'on_demand' },
    });
    const results = await Promise.all(
      Array.from({ length: 4 }, (_, i) =>
        call(t, 'POST', `/v1/sessions/${s.id}/generate`, {
          json: { text: `Render number ${i}, with some words.` },
        }),
      ),
    );
    const statuses = results.map((r) => r.status).sort();
    assert.deepEqual(statuses, [200, 200, 429, 429], 'one running, one waiting, two refused');
    const refused = results.find((r) => r.status === 429)!;
    assert.equal(refused.body.type, '/problems/server-busy');
    assert.ok(Number(refused.headers.get('retry-after')) >= 1);
  });

  it('validates voices the same way everywhere: 422 unknown-voice, also for unconfigured engines', async () => {
    const s = await t.client.createSession({
      body: { character_id: walterId, user_id: 'u', mode: 'realtime' },
    });
    const speak = await call(t, 'POST', `/v1/sessions/${s.id}/speak`, {
      json: { text: 'Hi.', voice: 'openai:alloy' },
    });
    const patch = await call(t, 'PATCH', `/v1/characters/${walterId}`, {
      json: { voice: { provider: 'openai', id: 'alloy' } },
    });
    const fd = new FormData();
    fd.set('name', 'Ada');
    fd.set('voice', 'openai:alloy');
    fd.set(
      'portrait',
      new Blob([await fs.readFile(path.join(import.meta.dirname, 'fixtures/astronaut.png'))]),
    );
    const create = await fetch(`${t.server.url}/v1/characters`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
      body: fd,
    });
    const created = (await create.json()) as { type: string };
    for (const [what, status, type] of [
      ['speak', speak.status, speak.body.type],
      ['update', patch.status, patch.body.type],
      ['create', create.status, created.type],
    ])
      assert.deepEqual([what, status, type], [what, 422, '/problems/unknown-voice']);
    await t.client.endSession({ path: { id: s.id } });
  });

  it('takes only session tokens in ?token= (never an API key in a URL)', async () => {
    const s = await t.client.createSession({
      body: { character_id: cardId, user_id: 'u', mode: 'realtime' },
    });
    const res = await fetch(`${t.server.url}/v1/sessions/${s.id}/events?token=${ADMIN_KEY}`);
    assert.equal(res.status, 401);
    const token = await t.client.createSessionToken({ path: { id: s.id } });
    const ok = await fetch(`${t.server.url}/v1/sessions/${s.id}/events?token=${token.token}`);
    assert.equal(ok.status, 200);
    await ok.body?.cancel();
    await t.client.endSession({ path: { id: s.id } });
  });

  it('meters media exactly up to the end of the session, between billing ticks', async () => {
    const s = await t.client.createSession({
      body: { character_id: cardId, user_id: 'meter', mode: 'realtime' },
    });
    const token = await t.client.createSessionToken({ path: { id: s.id } });
    const viewer = await connectWhep(t.server.url, token.whep_url, token.token);
    const started = performance.now();
    await sleep(7500); // one 5 s tick has been recorded, 2.5 s are not yet
    await t.client.endSession({ path: { id: s.id } });
    const watched = (performance.now() - started) / 1000;
    viewer.close();
    const usage = await t.client.getUsage({ query: { group_by: 'session' } });
    const seconds = usage.data.find((r) => r.key === s.id)?.media_seconds ?? 0;
    assert.ok(
      seconds > watched - 1 && seconds <= watched + 0.1,
      `metered ${seconds} s of ${watched.toFixed(2)} s`,
    );
  });
});

describe('start-up sweep', () => {
  it('removes what a crash left: temporary renders, spooled bodies, half-written files, orphan identities', async () => {
    const t = await startTestServer();
    const dir = t.dataDir;
    await t.close();
    await fs.mkdir(path.join(dir, 'tmp'), { recursive: true });
    await fs.writeFile(path.join(dir, 'tmp', 'gen-0123456789abcdef.mp4'), 'partial');
    await fs.writeFile(path.join(dir, 'tmp', 'body-0123'), 'spooled');
    const identities = await fs.readdir(path.join(dir, 'identities'));
    await fs.writeFile(path.join(dir, 'identities', identities[0]!, 'identity.json.abcd.tmp'), '{');
    await fs.mkdir(path.join(dir, 'identities', 'orphan'), { recursive: true });
    await fs.writeFile(path.join(dir, 'identities', 'orphan', 'portrait.png'), 'x');
    const before = await listFiles(dir);
    assert.ok(before.some((f) => f.startsWith('tmp/')));
    const again = await startTestServer({ dataDir: dir });
    try {
      const files = await listFiles(dir);
      assert.deepEqual(
        files.filter((f) => f.startsWith('tmp/') || f.endsWith('.tmp') || f.includes('orphan')),
        [],
      );
      assert.ok((await again.client.listCharacters()).data.length >= 5, 'the real data is untouched');
    } finally {
      await again.close();
    }
  });
});
