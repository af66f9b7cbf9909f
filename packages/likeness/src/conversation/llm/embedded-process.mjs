// The embedded language model's process (llama.cpp through node-llama-cpp), supervised by the server
// (speech/engine-pool.ts): a native crash here costs one reply and a restart, never the server. One reply at a
// time; the context keeps its evaluated tokens, so a reply whose prompt starts like the last one (the same
// character's persona) evaluates only what is new. Plain JS so the process starts without a TypeScript loader.
//   request  {id, messages: [{role, content}], maxTokens, temperature}
//   answers  {id, partial: {promptTokens, readTokens}}, {id, partial: "text"} ... then
//            {id, text, promptTokens, readTokens} or {id, error}
//            (readTokens: the prompt's tokens that were not already in the context)
//   {cancel: id} stops that reply early (it then answers with what it has).
//   {hint: {prefill: messages}} reads those messages into the context while no reply waits (see prefill).
import { getLlama, LlamaChat } from 'node-llama-cpp';

const modelPath = process.env.LIKENESS_LLM_MODEL_FILE;
const threads = Number(process.env.LIKENESS_LLM_THREADS || 2);

const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' });
// Read into memory, not mapped: llama.cpp repacks the Q4_0 weights into its fast layout (an anonymous copy), and a
// mapping would keep the file's pages resident beside it. Measured PSS after a reply: 295 MB against 341 mapped
// (the Q4_1 file: 289 either way).
const model = await llama.loadModel({ modelPath, useMmap: false });
const context = await model.createContext({ contextSize: 2048, threads, batchSize: 512 });
const sequence = context.getSequence();
const chat = new LlamaChat({ contextSequence: sequence });

const running = new Map(); // id -> AbortController

function history(messages) {
  return messages.map((m) =>
    m.role === 'assistant'
      ? { type: 'model', response: [m.content] }
      : { type: m.role === 'system' ? 'system' : 'user', text: m.content },
  );
}

/** The prompt's tokens as LlamaChat will lay them out (with the assistant's turn opened when `answer`). */
function promptTokens(messages, answer) {
  const chatHistory = history(messages);
  if (answer) chatHistory.push({ type: 'model', response: [] });
  return chat.chatWrapper.generateContextState({ chatHistory }).contextText.tokenize(model.tokenizer);
}

/** How many leading tokens the context already holds. */
function inContext(tokens) {
  const have = sequence.contextTokens;
  let common = 0;
  while (common < have.length && common < tokens.length && have[common] === tokens[common]) common++;
  return common;
}

async function reply({ id, messages, maxTokens, temperature }) {
  const abort = new AbortController();
  running.set(id, abort);
  try {
    const prompt = promptTokens(messages, true);
    const readTokens = prompt.length - inContext(prompt);
    // Known before the first token: sent now, as a reply cut short (enough sentences said) never gets the last.
    process.send({ id, partial: { promptTokens: prompt.length, readTokens } });
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
    process.send({ id, text: res?.response ?? text, promptTokens: prompt.length, readTokens });
  } catch (err) {
    process.send({ id, error: String(err?.message ?? err) });
  } finally {
    running.delete(id);
  }
}

/*
 * Prefill. Reading a prompt costs about 9 ms a token here (generating one, about 20): a persona and a few turns
 * are 300+ tokens, so a reply whose prompt differs early (a new fact about the user, the oldest turn of the
 * history dropped, the spoken reply shorter than the generated one) waited seconds for its first token. The
 * server hints what the next prompt will start with (after each reply, when the user starts speaking, at each
 * partial transcript); it is read here while no reply waits, 8 tokens at a time, so a reply that arrives waits
 * at most one such step. LlamaChat then finds the prefix already in the context and reads only the rest.
 */
const PREFILL_STEP = 8;
const PREFILL_MAX_TOKENS = 2048 - 256; // leave room for the user's message and the reply
let waiting = 0; // replies queued or running
let wanted; // the latest prefill hint not yet read
let prefilling = Promise.resolve();
let prefillBusy = false;

async function prefill() {
  while (wanted && waiting === 0) {
    const messages = wanted;
    wanted = undefined;
    const tokens = promptTokens(messages, false);
    if (tokens.length > PREFILL_MAX_TOKENS) continue;
    const common = inContext(tokens);
    if (common < sequence.nextTokenIndex)
      await sequence.eraseContextTokenRanges([{ start: common, end: sequence.nextTokenIndex }]);
    let at = common;
    for (; at < tokens.length && waiting === 0 && !wanted; at += PREFILL_STEP)
      await sequence.evaluateWithoutGeneratingNewTokens(tokens.slice(at, at + PREFILL_STEP));
    if (at >= tokens.length) process.send({ notice: { prefilled: tokens.length } });
  }
}

function startPrefill() {
  if (prefillBusy || waiting > 0 || !wanted) return;
  prefillBusy = true;
  prefilling = prefill()
    .catch(() => undefined) // a hint that fails changes nothing: the reply reads its whole prompt
    .finally(() => {
      prefillBusy = false;
    });
}

let chain = Promise.resolve();
process.on('message', (msg) => {
  if (msg.cancel !== undefined) {
    running.get(msg.cancel)?.abort();
    return;
  }
  if (msg.hint !== undefined) {
    if (Array.isArray(msg.hint.prefill)) {
      wanted = msg.hint.prefill;
      startPrefill();
    }
    return;
  }
  waiting++;
  chain = chain
    .then(() => prefilling)
    .then(() => reply(msg))
    .finally(() => {
      waiting--;
      startPrefill();
    });
});
process.on('disconnect', () => process.exit(0));
// Warm up: evaluate a tiny exchange so the first real reply does not pay for it.
await chat.generateResponse([{ type: 'user', text: 'Hi' }], { maxTokens: 2 }).catch(() => undefined);
process.send({ ready: true });
