/**
 * Conversation through the API: a user's message answered in character, spoken live (realtime) or rendered
 * (on demand); memory per (tenant, character, user) that a new session of the same user uses and nobody else
 * sees; interruption keeps only what was said; bad input and a model that is down. The model here is a local
 * server speaking the OpenAI streaming wire format (it records what it was sent); the embedded model has its
 * own tests and one end-to-end turn below.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MediaEvent } from '../src/realtime/media-session.ts';
import type { ConversationEvent } from '../src/sessions/conversation-service.ts';
import { DEFAULT_TENANT_ID } from '../src/tenancy/tenancy-service.ts';
import { type ChatRequestSeen, startFakeChat } from './helpers/fake-chat.ts';
import { ADMIN_KEY, startTestServer, type TestServer } from './helpers/test-server.ts';
import { connectWhep } from './helpers/whep-client.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const LONG_REPLY =
  'Well, let me tell you about the mill. It was built by my grandfather in the spring, and the wheel has turned ' +
  'every day since, through floods and droughts and two long winters when the river froze solid from bank to bank.';

async function post(t: TestServer, path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${t.server.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const type = res.headers.get('content-type') ?? '';
  return {
    status: res.status,
    headers: res.headers,
    body: (type.includes('json') ? await res.json() : Buffer.from(await res.arrayBuffer())) as Record<
      string,
      unknown
    > &
      Buffer,
  };
}

describe('conversation', () => {
  let t: TestServer;
  let fake: Awaited<ReturnType<typeof startFakeChat>>;
  let reply = (_req: ChatRequestSeen['body']) => 'Hello Ada, nice to meet you. The mill is busy today.';
  let kai: string;
  before(async () => {
    fake = await startFakeChat({ reply: (r) => reply(r), tokenMs: 15 });
    t = await startTestServer({ env: { LIKENESS_LLM_URL: fake.url, LIKENESS_LLM_MODEL: 'fake-model' } });
    kai = (await t.client.listCharacters()).data.find((c) => c.slug === 'kai')!.id;
  });
  after(async () => {
    await t?.close();
    await fake?.close();
  });

  /** Collects a session's conversation and media events, in order. */
  async function watch(sessionId: string) {
    const events: (ConversationEvent | MediaEvent)[] = [];
    const s = t.server.services;
    const offConversation = s.conversations.subscribe(sessionId, (e) => events.push(e));
    const offMedia = await s.live.subscribe(DEFAULT_TENANT_ID, sessionId, (e) => events.push(e));
    return {
      events,
      async until(type: string, timeoutMs = 30_000) {
        const end = Date.now() + timeoutMs;
        while (Date.now() < end) {
          const e = events.find((x) => x.type === type);
          if (e) return e as never;
          await sleep(20);
        }
        throw new Error(`no ${type} event; saw ${events.map((e) => e.type).join(', ')}`);
      },
      close() {
        offConversation();
        offMedia();
      },
    };
  }

  it('answers a message live: 202, the transcript and reply stream as events, the reply is spoken, the turn is kept', async () => {
    const s = await t.client.createSession({ body: { character_id: kai, user_id: 'ada', mode: 'realtime' } });
    const w = await watch(s.id);
    const res = await post(t, `/v1/sessions/${s.id}/messages`, {
      text: 'Hi, my name is Ada. I love green tea.',
    });
    assert.equal(res.status, 202);
    assert.equal(res.body.status, 'answering');
    const finished = await w.until('reply.finished');
    w.close();
    const types = w.events.map((e) => e.type);
    assert.ok(types.indexOf('user.transcript') < types.indexOf('reply.delta'));
    assert.ok(types.includes('utterance.started'), 'the reply was spoken');
    const deltas = w.events.filter((e) => e.type === 'reply.delta').map((e) => (e as { text: string }).text);
    assert.ok(deltas.length > 3, 'the reply streamed');
    assert.equal((finished as { text: string }).text, 'Hello Ada, nice to meet you. The mill is busy today.');
    assert.equal((finished as { interrupted: boolean }).interrupted, false);
    const metrics = (finished as { metrics: Record<string, number> }).metrics;
    for (const k of ['llm_first_token_ms', 'first_clause_ms', 'tts_first_audio_ms', 'first_sound_ms'])
      assert.ok(Number.isFinite(metrics[k]), `${k} measured`);
    assert.ok(metrics.first_clause_ms! <= metrics.first_sound_ms!);
    const turns = (await (
      await fetch(`${t.server.url}/v1/sessions/${s.id}/messages`, {
        headers: { authorization: `Bearer ${ADMIN_KEY}` },
      })
    ).json()) as { data: { user_text: string; reply_text: string; model: string }[] };
    assert.equal(turns.data.length, 1);
    assert.equal(turns.data[0]!.model, 'openai:fake-model');
    assert.match(turns.data[0]!.reply_text, /^Hello Ada/);
    const sent = fake.requests.at(-1)!.body.messages;
    assert.equal(sent[0]!.role, 'system');
    assert.match(sent[0]!.content, /You are Kai/);
    assert.equal(sent.at(-1)!.content, 'Hi, my name is Ada. I love green tea.');
    await t.client.endSession({ path: { id: s.id } });
  });

  it('remembers facts for the same user in a new session; another user, another tenant never see them', async () => {
    const memory = (await (
      await fetch(`${t.server.url}/v1/characters/${kai}/memory?user_id=ada`, {
        headers: { authorization: `Bearer ${ADMIN_KEY}` },
      })
    ).json()) as { facts: { key: string; value: string }[]; turns: unknown[] };
    assert.deepEqual(
      memory.facts.map((f) => [f.key, f.value]),
      [
        ['likes green tea', 'green tea'],
        ['name', 'Ada'],
      ],
    );
    const s2 = await t.client.createSession({
      body: { character_id: kai, user_id: 'ada', mode: 'on_demand' },
    });
    const before = fake.requests.length;
    assert.equal(
      (await post(t, `/v1/sessions/${s2.id}/messages`, { text: 'Do you remember me?' })).status,
      200,
    );
    const system = fake.requests[before]!.body.messages[0]!.content;
    assert.match(system, /their name is Ada/);
    assert.match(system, /they like green tea/);
    assert.match(system, /Last time they said "Hi, my name is Ada/);
    const s3 = await t.client.createSession({
      body: { character_id: kai, user_id: 'bob', mode: 'on_demand' },
    });
    assert.equal((await post(t, `/v1/sessions/${s3.id}/messages`, { text: 'Hello?' })).status, 200);
    const bobSystem = fake.requests.at(-1)!.body.messages;
    assert.doesNotMatch(JSON.stringify(bobSystem), /Ada|green tea/, 'another user sees nothing of Ada');
    const { api_key } = await t.client.createTenant({ body: { name: 'other' } });
    const other = await fetch(`${t.server.url}/v1/characters/${kai}/memory?user_id=ada`, {
      headers: { authorization: `Bearer ${api_key.key}` },
    });
    assert.equal(other.status, 404, 'another tenant cannot read it');
  });

  it('keeps only what was said when the reply is interrupted, and a newer message interrupts an older reply', async () => {
    reply = () => LONG_REPLY;
    const s = await t.client.createSession({
      body: { character_id: kai, user_id: 'carol', mode: 'realtime' },
    });
    const w = await watch(s.id);
    assert.equal(
      (await post(t, `/v1/sessions/${s.id}/messages`, { text: 'Tell me about the mill.' })).status,
      202,
    );
    await w.until('utterance.started');
    await sleep(1500);
    await post(t, `/v1/sessions/${s.id}/interrupt`, {});
    const finished = (await w.until('reply.finished')) as { text: string; interrupted: boolean };
    assert.equal(finished.interrupted, true);
    assert.ok(
      finished.text.length > 0 && finished.text.length < LONG_REPLY.length / 2,
      `kept: "${finished.text}"`,
    );
    assert.ok(LONG_REPLY.startsWith(finished.text.replace(/\.\.\.$/, '')), 'a prefix of the reply');
    w.events.length = 0;
    assert.equal((await post(t, `/v1/sessions/${s.id}/messages`, { text: 'Go on.' })).status, 202);
    await w.until('utterance.started');
    reply = () => 'Short answer.';
    assert.equal((await post(t, `/v1/sessions/${s.id}/messages`, { text: 'Actually, stop.' })).status, 202);
    const end = Date.now() + 30_000;
    while (w.events.filter((e) => e.type === 'reply.finished').length < 2 && Date.now() < end)
      await sleep(50);
    w.close();
    const done = w.events.filter((e) => e.type === 'reply.finished') as unknown as {
      text: string;
      interrupted: boolean;
    }[];
    assert.deepEqual(
      done.map((d) => d.interrupted),
      [true, false],
    );
    assert.equal(done[1]!.text, 'Short answer.');
    const turns = (await (
      await fetch(`${t.server.url}/v1/sessions/${s.id}/messages`, {
        headers: { authorization: `Bearer ${ADMIN_KEY}` },
      })
    ).json()) as { data: { interrupted: boolean }[] };
    assert.deepEqual(
      turns.data.map((d) => d.interrupted),
      [true, true, false],
    );
    await t.client.endSession({ path: { id: s.id } });
    reply = () => 'Hello Ada, nice to meet you. The mill is busy today.';
  });

  it('renders an on-demand reply: JSON with a video_url, or the MP4 itself with Accept: video/mp4', async () => {
    const s = await t.client.createSession({
      body: { character_id: kai, user_id: 'dan', mode: 'on_demand' },
    });
    const json = await post(t, `/v1/sessions/${s.id}/messages`, { text: 'Say something.' });
    assert.equal(json.status, 200);
    assert.equal(json.body.reply_text, 'Hello Ada, nice to meet you. The mill is busy today.');
    const video = await fetch(`${t.server.url}${json.body.video_url}`, {
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
    });
    assert.equal(video.status, 200);
    assert.equal(video.headers.get('content-type'), 'video/mp4');
    assert.ok((await video.arrayBuffer()).byteLength > 10_000);
    const mp4 = await post(
      t,
      `/v1/sessions/${s.id}/messages`,
      { text: 'Again, as a video.' },
      { accept: 'video/mp4' },
    );
    assert.equal(mp4.status, 200);
    assert.equal(mp4.headers.get('content-type'), 'video/mp4');
    assert.equal(mp4.body.subarray(4, 8).toString(), 'ftyp');
    assert.match(decodeURIComponent(mp4.headers.get('x-likeness-reply-text')!), /^Hello Ada/);
    const usage = await t.client.getUsage({ query: { group_by: 'session' } });
    assert.ok(
      (usage.data.find((r) => r.key === s.id)?.media_seconds ?? 0) > 2,
      'reply videos count as usage',
    );
  });

  it('refuses bad messages clearly, and one on-demand message at a time', async () => {
    const s = await t.client.createSession({
      body: { character_id: kai, user_id: 'eve', mode: 'on_demand' },
    });
    for (const [body, status, type] of [
      [{ text: '' }, 400, 'validation-error'],
      [{ text: '   \n ' }, 400, 'validation-error'],
      [{ text: 'x'.repeat(2001) }, 422, 'text-too-long'],
      [{ words: 'hi' }, 400, 'validation-error'],
    ] as const) {
      const res = await post(t, `/v1/sessions/${s.id}/messages`, body);
      assert.deepEqual([res.status, res.body.type], [status, `/problems/${type}`], JSON.stringify(body));
    }
    const form = new FormData();
    form.set('audio', new Blob([new Uint8Array(100)]), 'hello.wav');
    const audio = await fetch(`${t.server.url}/v1/sessions/${s.id}/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
      body: form,
    });
    // Audio messages are heard now (test/listening.e2e.test.ts); bytes that are not audio are refused clearly.
    assert.equal(audio.status, 422);
    assert.equal(((await audio.json()) as { type: string }).type, '/problems/unsupported-audio');
    const xml = await fetch(`${t.server.url}/v1/sessions/${s.id}/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'text/xml' },
      body: '<text>hi</text>',
    });
    assert.equal(xml.status, 415);
    const both = await Promise.all([
      post(t, `/v1/sessions/${s.id}/messages`, { text: 'One.' }),
      post(t, `/v1/sessions/${s.id}/messages`, { text: 'Two.' }),
    ]);
    assert.deepEqual(both.map((r) => r.status).sort(), [200, 409]);
    assert.ok(both.find((r) => r.status === 409)!.headers.get('retry-after'));
  });

  it('answers 503 when the model endpoint is down (on demand) and says so on the event stream (realtime); the session survives', async () => {
    const down = await startTestServer({ env: { LIKENESS_LLM_URL: 'http://127.0.0.1:9/v1' } });
    try {
      const id = (await down.client.listCharacters()).data.find((c) => c.slug === 'kai')!.id;
      const od = await down.client.createSession({
        body: { character_id: id, user_id: 'u', mode: 'on_demand' },
      });
      const res = await fetch(`${down.server.url}/v1/sessions/${od.id}/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ text: 'Hello?' }),
      });
      const problem = (await res.json()) as { type: string };
      assert.deepEqual([res.status, problem.type], [503, '/problems/model-unavailable']);
      assert.ok(res.headers.get('retry-after'));
      const rt = await down.client.createSession({
        body: { character_id: id, user_id: 'u', mode: 'realtime' },
      });
      const events: ConversationEvent[] = [];
      down.server.services.conversations.subscribe(rt.id, (e) => events.push(e));
      const sent = await fetch(`${down.server.url}/v1/sessions/${rt.id}/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ text: 'Hello?' }),
      });
      assert.equal(sent.status, 202);
      const end = Date.now() + 15_000;
      while (!events.some((e) => e.type === 'reply.failed') && Date.now() < end) await sleep(50);
      const failed = events.find((e) => e.type === 'reply.failed') as
        | { problem: { type: string } }
        | undefined;
      assert.equal(failed?.problem.type, '/problems/model-unavailable');
      assert.equal(
        (await down.client.getSession({ path: { id: rt.id } })).status,
        'active',
        'the session goes on',
      );
      assert.deepEqual(
        (await down.client.listMessages({ path: { id: rt.id } })).data,
        [],
        'nothing half-written',
      );
    } finally {
      await down.close();
    }
  });

  it('erases a user’s memory (204): turns, facts and reply videos', async () => {
    const del = await fetch(`${t.server.url}/v1/characters/${kai}/memory?user_id=dan`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
    });
    assert.equal(del.status, 204);
    const memory = (await (
      await fetch(`${t.server.url}/v1/characters/${kai}/memory?user_id=dan`, {
        headers: { authorization: `Bearer ${ADMIN_KEY}` },
      })
    ).json()) as { facts: unknown[]; turns: unknown[] };
    assert.deepEqual([memory.facts, memory.turns], [[], []]);
    assert.ok(
      (await t.server.services.registrar.files.exists('messages')) === false ||
        !(await import('node:fs'))
          .readdirSync(t.server.services.registrar.files.resolve('messages'))
          .some((f) => f.includes('dan')),
    );
  });

  it('lets a character name its own OpenAI-compatible model; refuses private addresses unless allowed', async () => {
    const bad = await fetch(`${t.server.url}/v1/characters/${kai}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ llm: { base_url: 'http://169.254.169.254/v1', model: 'x' } }),
    });
    assert.equal(bad.status, 400);
    const ok = await fetch(`${t.server.url}/v1/characters/${kai}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        llm: { base_url: 'https://api.example.com/v1', model: 'gpt-x', api_key: 'sk-secret' },
      }),
    });
    const character = (await ok.json()) as { llm: unknown };
    assert.deepEqual(character.llm, {
      base_url: 'https://api.example.com/v1',
      model: 'gpt-x',
      has_api_key: true,
    });
    assert.doesNotMatch(
      JSON.stringify(await t.client.getCharacter({ path: { id: kai } })),
      /sk-secret/,
      'the key is never shown',
    );
    const reset = await fetch(`${t.server.url}/v1/characters/${kai}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ llm: null }),
    });
    assert.equal(((await reset.json()) as { llm: unknown }).llm, null);
  });

  it('opens with the persona’s greeting when the session asks for it', async () => {
    const s = await t.client.createSession({
      body: { character_id: kai, user_id: 'gus', mode: 'realtime', greeting: true },
    });
    const w = await watch(s.id);
    const token = await t.client.createSessionToken({ path: { id: s.id } });
    const viewer = await connectWhep(t.server.url, token.whep_url, token.token);
    await w.until('utterance.started', 15_000);
    viewer.close();
    w.close();
    await t.client.endSession({ path: { id: s.id } });
  });
});

describe('conversation with the embedded model', () => {
  it('answers a live message with the real small model, spoken, and records the turn', async () => {
    const t = await startTestServer();
    try {
      const walter = (await t.client.listCharacters()).data.find((c) => c.slug === 'walter')!.id;
      // A new session has the model read the persona and the user's memory before the first message.
      const prepared = t.server.services.models.embedded!.whenPrepared();
      const s = await t.client.createSession({
        body: { character_id: walter, user_id: 'u', mode: 'realtime' },
      });
      assert.ok(((await prepared) ?? 0) > 60, 'the persona was read ahead');
      const events: ConversationEvent[] = [];
      t.server.services.conversations.subscribe(s.id, (e) => events.push(e));
      const res = await fetch(`${t.server.url}/v1/sessions/${s.id}/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ text: 'Hello Walter, what do you do all day?' }),
      });
      assert.equal(res.status, 202);
      const end = Date.now() + 60_000;
      while (
        !events.some((e) => e.type === 'reply.finished' || e.type === 'reply.failed') &&
        Date.now() < end
      )
        await sleep(100);
      const finished = events.find((e) => e.type === 'reply.finished') as
        | { text: string; metrics: Record<string, number> }
        | undefined;
      assert.ok(finished, JSON.stringify(events.filter((e) => e.type !== 'reply.delta')));
      assert.ok(/[a-z]{3}/i.test(finished.text), finished.text);
      // Only the message and the assistant's opening were read at the turn.
      const m = finished.metrics;
      assert.ok(m.llm_prompt_tokens! > 60 && m.llm_prompt_tokens_read! < 25, JSON.stringify(m));
      const turns = await t.client.listMessages({ path: { id: s.id } });
      assert.equal(turns.data[0]!.model, 'embedded:smollm2-135m-instruct');
    } finally {
      await t.close();
    }
  });
});
