/**
 * Conversation latency (issue 10, text messages), per stage, against a real server (child process):
 *   message posted -> model's first token -> first clause -> first synthesized audio -> first sound sent,
 * from the turn's own metrics (also in the reply.finished event), p50 / p95 over N turns, for
 *   1. the embedded model (SmolLM2-135M through llama.cpp), and
 *   2. an OpenAI-compatible endpoint that streams its first token after 200 ms (a local server).
 * Also: interrupt -> reply silent (utterance.finished), and the reply's length. `npm run bench:conversation -- [turns]`
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startFakeChat } from '../packages/likeness/test/helpers/fake-chat.ts';
import { BENCH_KEY, benchApi, CONVERSATION_QUESTIONS, startBenchServer } from './lib/bench-server.ts';
import { followEvents } from './lib/sse.ts';
import { pct } from './lib/stats.ts';

const turns = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 10);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const QUESTIONS = CONVERSATION_QUESTIONS;

async function run(label: string, env: Record<string, string>) {
  const { child, base } = await startBenchServer({
    dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'likeness-bench-conv-')),
    port: 25000 + Math.floor(Math.random() * 1000),
    env,
  });
  const api = benchApi(base);
  try {
    const cast = (await api('GET', '/v1/characters?limit=100')) as { data: { id: string; slug: string }[] };
    const walter = cast.data.find((c) => c.slug === 'walter')!.id;
    const s = (await api('POST', '/v1/sessions', {
      character_id: walter,
      user_id: 'bench',
      mode: 'realtime',
    })) as { id: string };
    const events = followEvents(`${base}/v1/sessions/${s.id}/events`, BENCH_KEY);
    await sleep(500);
    const metrics: Record<string, number>[] = [];
    const replies: string[] = [];
    // One warm-up turn (model and engines loaded), not counted.
    for (let i = -1; i < turns; i++) {
      const before = events.events.length;
      await api('POST', `/v1/sessions/${s.id}/messages`, {
        text: QUESTIONS[(i + QUESTIONS.length) % QUESTIONS.length],
      });
      const end = Date.now() + 60_000;
      let done: { data: Record<string, unknown> } | undefined;
      while (!done && Date.now() < end) {
        done = events.events
          .slice(before)
          .find((e) => e.event === 'reply.finished' || e.event === 'reply.failed');
        if (!done) await sleep(20);
      }
      if (!done || done.data.problem) throw new Error(`turn ${i}: ${JSON.stringify(done?.data)}`);
      // Let the reply play out before the next message (a new message would interrupt it).
      const utterance = done.data.utterance_id as string;
      while (
        !events.events.some((e) => e.event === 'utterance.finished' && e.data.utterance_id === utterance) &&
        Date.now() < end
      )
        await sleep(50);
      if (i >= 0) {
        metrics.push(done.data.metrics as Record<string, number>);
        replies.push(done.data.text as string);
      }
    }
    // Barge-in by text: interrupt while the reply is playing; time until the utterance is reported finished.
    const bargeIn: number[] = [];
    for (let i = 0; i < 3; i++) {
      const before = events.events.length;
      await api('POST', `/v1/sessions/${s.id}/messages`, {
        text: 'Tell me a long story about the mill and the river.',
      });
      const end = Date.now() + 60_000;
      let started: { data: Record<string, unknown> } | undefined;
      while (!started && Date.now() < end) {
        started = events.events.slice(before).find((e) => e.event === 'utterance.started');
        if (!started) await sleep(10);
      }
      await sleep(400);
      const t0 = performance.now();
      await api('POST', `/v1/sessions/${s.id}/interrupt`);
      while (!events.events.slice(before).some((e) => e.event === 'utterance.finished') && Date.now() < end)
        await sleep(2);
      bargeIn.push(performance.now() - t0);
      await sleep(300);
    }
    events.close();
    const stage = (k: string) => {
      const v = metrics.map((m) => m[k]!).filter((x) => Number.isFinite(x));
      return { p50: Math.round(pct(v, 0.5)), p95: Math.round(pct(v, 0.95)) };
    };
    return {
      model: label,
      turns: metrics.length,
      ms_from_message: {
        llm_first_token: stage('llm_first_token_ms'),
        first_clause: stage('first_clause_ms'),
        tts_first_audio: stage('tts_first_audio_ms'),
        first_sound_sent: stage('first_sound_ms'),
        llm_prompt_tokens_read: stage('llm_prompt_tokens_read'),
      },
      interrupt_to_silent_ms: bargeIn.map((x) => Math.round(x)),
      reply_chars_p50: pct(
        replies.map((r) => r.length),
        0.5,
      ),
      sample_replies: replies.slice(0, 4),
    };
  } finally {
    child.kill('SIGTERM');
  }
}

const fake = await startFakeChat({
  reply: () => 'Ah, the mill! It turns from dawn to dusk. I grind the wheat and watch the river go by.',
  firstTokenMs: 200,
  tokenMs: 20,
});
const results = [
  await run('embedded (SmolLM2-135M-Instruct, llama.cpp, 1 thread)', {}),
  await run('OpenAI-compatible, first token after 200 ms (local server)', {
    LIKENESS_LLM_URL: fake.url,
    LIKENESS_LLM_MODEL: 'bench',
  }),
];
await fake.close();
console.log(
  JSON.stringify({ machine: { cpus: os.availableParallelism(), node: process.version }, results }, null, 2),
);
process.exit(0);
