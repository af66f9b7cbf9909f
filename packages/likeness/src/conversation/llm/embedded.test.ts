import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { loadConfig } from '../../config.ts';
import { EmbeddedModel } from './embedded.ts';
import { ModelFailure } from './index.ts';

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
