// The embedded language model's process (llama.cpp through node-llama-cpp), supervised by the server
// (speech/engine-pool.ts): a native crash here costs one reply and a restart, never the server. One reply at a
// time; the context keeps its evaluated tokens, so a reply whose prompt starts like the last one (the same
// character's persona) evaluates only what is new. Plain JS so the process starts without a TypeScript loader.
//   request  {id, messages: [{role, content}], maxTokens, temperature}
//   answers  {id, partial: "text"} ... then {id, text, promptTokens, completionTokens} or {id, error}
//   {cancel: id} stops that reply early (it then answers with what it has).
import { getLlama, LlamaChat } from 'node-llama-cpp';

const modelPath = process.env.LIKENESS_LLM_MODEL_FILE;
const threads = Number(process.env.LIKENESS_LLM_THREADS || 2);

const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' });
const model = await llama.loadModel({ modelPath });
const context = await model.createContext({ contextSize: 2048, threads, batchSize: 512 });
const chat = new LlamaChat({ contextSequence: context.getSequence() });

const running = new Map(); // id -> AbortController

function history(messages) {
  return messages.map((m) =>
    m.role === 'assistant'
      ? { type: 'model', response: [m.content] }
      : { type: m.role === 'system' ? 'system' : 'user', text: m.content },
  );
}

async function reply({ id, messages, maxTokens, temperature }) {
  const abort = new AbortController();
  running.set(id, abort);
  try {
    let text = '';
    const res = await chat.generateResponse(history(messages), {
      maxTokens: maxTokens ?? 120,
      temperature: temperature ?? 0.6,
      topP: 0.9,
      repeatPenalty: { penalty: 1.2, lastTokens: 64 },
      signal: abort.signal,
      stopOnAbortSignal: true,
      onTextChunk: (chunk) => {
        text += chunk;
        process.send({ id, partial: chunk });
      },
    });
    process.send({ id, text: res?.response ?? text });
  } catch (err) {
    process.send({ id, error: String(err?.message ?? err) });
  } finally {
    running.delete(id);
  }
}

let chain = Promise.resolve();
process.on('message', (msg) => {
  if (msg.cancel !== undefined) {
    running.get(msg.cancel)?.abort();
    return;
  }
  chain = chain.then(() => reply(msg));
});
process.on('disconnect', () => process.exit(0));
// Warm up: evaluate a tiny exchange so the first real reply does not pay for it.
await chat.generateResponse([{ type: 'user', text: 'Hi' }], { maxTokens: 2 }).catch(() => undefined);
process.send({ ready: true });
