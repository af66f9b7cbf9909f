import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { loadConfig } from '../../config.ts';
import { EmbeddedModel } from './embedded.ts';
import { ModelFailure, type PromptUsage } from './index.ts';

/** The real embedded model (SmolLM2-135M-Instruct through llama.cpp), installed by `npm run setup`. */
describe('embedded language model', () => {
  const file = loadConfig({}).llm.embeddedFile;
  const model = new EmbeddedModel({ file, name: 'embedded:test', processes: 1 });
  after(() => model.close());
  const messages = [
    { role: 'system' as const, content: 'You are Walter, a miller. Answer in one short sentence.' },
    { role: 'user' as const, content: 'What do you do all day?' },
  ];

  it('streams a reply in pieces', async () => {
    const deltas: string[] = [];
    for await (const d of model.chat(messages, { maxTokens: 40 })) deltas.push(d);
    assert.ok(deltas.length > 3, `streamed (${deltas.length} pieces)`);
    assert.ok(/[a-z]{3}/i.test(deltas.join('')), deltas.join(''));
  });

  it('stops generating when aborted', async () => {
    const abort = new AbortController();
    let n = 0;
    const started = performance.now();
    for await (const _ of model.chat(messages, { maxTokens: 400, signal: abort.signal }))
      if (++n === 3) abort.abort();
    assert.ok(n <= 5, `stopped after ${n} pieces`);
    // The process is free again at once: the next reply is not stuck behind 400 tokens.
    for await (const _ of model.chat(messages, { maxTokens: 5 })) break;
    assert.ok(performance.now() - started < 10_000);
  });

  it('reports the prompt usage even when the reply is cut short', async () => {
    // A reply stops being read once it has enough sentences: its usage must not wait for the model's last word.
    let u: PromptUsage | undefined;
    for await (const _ of model.chat(messages, { maxTokens: 60, onUsage: (x) => (u = x) })) break;
    assert.ok(u && u.promptTokens > 10 && u.readTokens <= u.promptTokens, JSON.stringify(u));
  });

  it('reads a prepared prompt ahead, so the reply reads only what is new', async () => {
    const persona = {
      role: 'system' as const,
      content:
        'You are Nora, a lighthouse keeper on a windy island. You love the sea, old maps, strong tea and ' +
        'the birds that nest on the cliffs. Speak warmly, in one or two short sentences.',
    };
    const earlier = [persona, { role: 'user' as const, content: 'Hello Nora!' }];
    const next = [...earlier, { role: 'assistant' as const, content: 'Hello there, welcome to my island.' }];
    const question = { role: 'user' as const, content: 'What do you like to drink?' };
    const usage = async (m: typeof next) => {
      let u: PromptUsage | undefined;
      for await (const _ of model.chat(m, { maxTokens: 3, onUsage: (x) => (u = x) })) {
      }
      assert.ok(u, 'usage reported');
      return u;
    };
    await usage(messages); // another prompt in the context
    const cold = await usage([...next, question]);
    assert.ok(cold.readTokens > 50, `read ${cold.readTokens} of ${cold.promptTokens}`);
    await usage(messages);
    const prepared = model.whenPrepared();
    model.prepare(next);
    assert.ok(((await prepared) ?? 0) > 50);
    const warm = await usage([...next, question]);
    assert.equal(warm.promptTokens, cold.promptTokens);
    // Only the end of the last turn, the question and the assistant's opening are new.
    assert.ok(warm.readTokens < 25, `read ${warm.readTokens} of ${warm.promptTokens}`);
  });

  it('lets a reply go first when it comes during a prepare', async () => {
    const long = [
      { role: 'system' as const, content: 'You are a storyteller. '.repeat(120) },
      { role: 'user' as const, content: 'Hello' },
    ];
    const prepared = model.whenPrepared(3000);
    model.prepare(long); // ~600 tokens: seconds of reading
    const deltas: string[] = [];
    for await (const d of model.chat(messages, { maxTokens: 5 })) deltas.push(d);
    assert.ok(deltas.length > 0);
    // The reply took the context: the prepare stopped and never finished.
    assert.equal(await prepared, undefined);
  });

  it('fails one reply, not the server, when its process dies; the next reply works', async () => {
    const pending = (async () => {
      const out: string[] = [];
      for await (const d of model.chat(messages, { maxTokens: 200 })) {
        out.push(d);
        if (out.length === 2) for (const pid of model.pool.pids) process.kill(pid, 'SIGKILL');
      }
      return out;
    })();
    await assert.rejects(pending, (e) => e instanceof ModelFailure && e.kind === 'failed');
    const again: string[] = [];
    for await (const d of model.chat(messages, { maxTokens: 10 })) again.push(d);
    assert.ok(again.length > 0);
    assert.equal(model.stats.crashes, 1);
  });
});
