import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { startFakeChat } from '../../../test/helpers/fake-chat.ts';
import { ModelFailure } from './index.ts';
import { OpenAiCompatibleModel } from './openai-compatible.ts';

const collect = async (it: AsyncIterable<string>) => {
  const out: string[] = [];
  for await (const d of it) out.push(d);
  return out;
};

describe('OpenAI-compatible chat adapter', () => {
  const closers: (() => Promise<void>)[] = [];
  after(async () => {
    for (const c of closers) await c();
  });

  it('streams the reply as deltas and sends the model, messages and key', async () => {
    const fake = await startFakeChat({ reply: () => 'Hello there, I am the miller.', tokenMs: 5 });
    closers.push(fake.close);
    const model = new OpenAiCompatibleModel({ baseUrl: fake.url, apiKey: 'sk-test', model: 'tiny' });
    const deltas = await collect(model.chat([{ role: 'user', content: 'Hi' }], { maxTokens: 50 }));
    assert.ok(deltas.length >= 5, 'word by word');
    assert.equal(deltas.join(''), 'Hello there, I am the miller.');
    assert.equal(fake.requests[0]!.auth, 'Bearer sk-test');
    assert.equal(fake.requests[0]!.body.model, 'tiny');
    assert.equal(fake.requests[0]!.body.stream, true);
    assert.equal(fake.requests[0]!.body.max_tokens, 50);
    assert.equal(model.name, 'openai:tiny');
  });

  it('stops when aborted, without an error', async () => {
    const fake = await startFakeChat({
      reply: () => 'one two three four five six seven eight nine ten',
      tokenMs: 50,
    });
    closers.push(fake.close);
    const model = new OpenAiCompatibleModel({ baseUrl: fake.url, model: 'tiny' });
    const abort = new AbortController();
    const got: string[] = [];
    for await (const d of model.chat([{ role: 'user', content: 'Hi' }], { signal: abort.signal })) {
      got.push(d);
      if (got.length === 2) abort.abort();
    }
    assert.ok(got.length <= 3, `stopped early: ${got.length}`);
  });

  it('tells apart an endpoint that is down, overloaded, too slow, or talking nonsense', async () => {
    const down = new OpenAiCompatibleModel({ baseUrl: 'http://127.0.0.1:9/v1', model: 'x' });
    await assert.rejects(
      collect(down.chat([])),
      (e) => e instanceof ModelFailure && e.kind === 'unavailable',
    );
    const busy = await startFakeChat({ reply: () => 'x', status: () => 503 });
    closers.push(busy.close);
    await assert.rejects(
      collect(new OpenAiCompatibleModel({ baseUrl: busy.url, model: 'x' }).chat([])),
      (e) => e instanceof ModelFailure && e.kind === 'unavailable' && /503/.test(e.message),
    );
    const slow = await startFakeChat({ reply: () => 'late', firstTokenMs: 2000 });
    closers.push(slow.close);
    await assert.rejects(
      collect(new OpenAiCompatibleModel({ baseUrl: slow.url, model: 'x', firstByteTimeoutMs: 300 }).chat([])),
      (e) => e instanceof ModelFailure && e.kind === 'timeout',
    );
    const nonsense = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' }).end('data: {not json\n\n');
    });
    await new Promise<void>((r) => nonsense.listen(0, '127.0.0.1', () => r()));
    closers.push(() => new Promise((r) => nonsense.close(() => r())));
    const port = (nonsense.address() as AddressInfo).port;
    await assert.rejects(
      collect(new OpenAiCompatibleModel({ baseUrl: `http://127.0.0.1:${port}/v1`, model: 'x' }).chat([])),
      (e) => e instanceof ModelFailure && e.kind === 'failed',
    );
  });
});
