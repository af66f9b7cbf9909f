/**
 * Spoken conversation (issue 10), at a real browser: `npm run bench:listening -- [turns]` (default 8).
 *
 * A real server (child process, embedded defaults) and Debian's Chromium with a microphone: the page sends
 * its audio over WHEP (sendrecv) and plays a spoken question into it (the project's Flite voice, silence
 * trimmed, so the end of the buffer is the end of speech). Printed, per model:
 *   - end of the user's speech -> first sound of the answer at the page (after its jitter buffer), p50/p95:
 *     when it turns audible (peak over -40 dBFS; the page's silence stays under 0.001, printed), and when it
 *     turns loud (over -26 dBFS, what earlier runs printed: soft onsets such as "I" take up to 170 ms more);
 *   - the server's breakdown of the same turns (from the turn's metrics, counted from the end of speech as
 *     the VAD placed it): VAD, recognition (final transcript), end of turn, LLM first token, first clause,
 *     TTS first audio, first sound sent; transport = page - server;
 *   - video through listening, thinking and answering: received fps and frames dropped by the sender;
 *   - barge-in: the user starts speaking over a long answer -> the answer's last loud audio at the page;
 *   - recognition: word error rate of the embedded Whisper on sentences in three Flite voices.
 * Models: the embedded SmolLM2 (llama.cpp), and an OpenAI-compatible endpoint whose first token comes after
 * 200 ms (a local server speaking the streaming wire format).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launchChromium } from '../packages/likeness/test/helpers/browser.ts';
import { openMicPage } from '../packages/likeness/test/helpers/browser-mic.ts';
import { startFakeChat } from '../packages/likeness/test/helpers/fake-chat.ts';
import {
  embeddedRecognizer,
  spokenSentence,
  trimSilence,
} from '../packages/likeness/test/helpers/speech-audio.ts';
import { wordErrors } from '../packages/likeness/test/helpers/word-errors.ts';
import { BENCH_KEY, benchApi, CONVERSATION_QUESTIONS, startBenchServer } from './lib/bench-server.ts';
import { followEvents } from './lib/sse.ts';
import { pct } from './lib/stats.ts';

const turns = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 8);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const r0 = (v: number) => Math.round(v);
const QUESTIONS = CONVERSATION_QUESTIONS;
const STAGES = [
  'vad_ms',
  'recognition_ms',
  'recognition_encode_ms',
  'recognition_decode_ms',
  'end_of_turn_ms',
  'llm_request_ms',
  'llm_first_token_ms',
  'first_clause_ms',
  'tts_first_audio_ms',
  'first_sound_ms',
];

async function run(label: string, env: Record<string, string>) {
  const { child, base } = await startBenchServer({
    dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'likeness-bench-listen-')),
    port: 26000 + Math.floor(Math.random() * 1000),
    env,
  });
  const chrome = await launchChromium();
  const api = benchApi(base);
  try {
    await sleep(3000); // the recogniser and the model load in the background at start
    const cast = (await api('GET', '/v1/characters?limit=100')) as { data: { id: string; slug: string }[] };
    const walter = cast.data.find((c) => c.slug === 'walter')!.id;
    const s = (await api('POST', '/v1/sessions', {
      character_id: walter,
      user_id: 'bench',
      mode: 'realtime',
      barge_in: { mode: 'after', after_ms: 400 },
    })) as { id: string };
    const events = followEvents(`${base}/v1/sessions/${s.id}/events`, BENCH_KEY);
    const page = await chrome.browser.newPage();
    const mic = await openMicPage(page, base, s.id, BENCH_KEY);
    await sleep(1000);
    const waitFor = async (
      pred: (e: { event: string; data: Record<string, unknown> }) => boolean,
      from: number,
      ms: number,
    ) => {
      const end = Date.now() + ms;
      for (;;) {
        const hit = events.events.slice(from).find(pred);
        if (hit) return hit;
        if (Date.now() > end) return undefined;
        await sleep(10);
      }
    };
    const atBrowser: number[] = [];
    const loudAtBrowser: number[] = [];
    let floorPeak = 0;
    const server: Record<string, number>[] = [];
    const transcripts: string[] = [];
    // The two halves of transport, on the epoch clock shared by the page and this process (same machine):
    // in = the page's end of speech -> the server's end of speech; out = first sound sent -> heard at the page.
    // The server's "sent" is when this process got `utterance.started` (SSE on loopback: ~1 ms late).
    const transportIn: number[] = [];
    const transportOut: number[] = [];
    const metricsFrom = events.events.length;
    for (let i = -1; i < turns; i++) {
      const question = QUESTIONS[(i + QUESTIONS.length) % QUESTIONS.length]!;
      const speech = trimSilence(await spokenSentence(question));
      const before = events.events.length;
      const { endedAt } = await mic.say(speech);
      await mic.markLoud(endedAt);
      const done = await waitFor(
        (e) => e.event === 'reply.finished' || e.event === 'reply.failed',
        before,
        90_000,
      );
      if (!done || done.event === 'reply.failed') {
        console.error(`[bench] turn ${i}: ${JSON.stringify(done?.data ?? 'no reply')}`);
        continue;
      }
      const heard = await mic.loudness();
      const loud = heard.audibleSince.at(-1);
      const reallyLoud = heard.loudSince.at(-1);
      floorPeak = Math.max(floorPeak, heard.floorPeaks.at(-1) ?? 0);
      const finalT = events.events.slice(before).find((e) => e.event === 'user.transcript' && e.data.final);
      const utterance = done.data.utterance_id as string;
      await waitFor(
        (e) => e.event === 'utterance.finished' && e.data.utterance_id === utterance,
        before,
        90_000,
      );
      if (i >= 0 && loud != null) {
        atBrowser.push(loud - endedAt);
        if (reallyLoud != null) loudAtBrowser.push(reallyLoud - endedAt);
        server.push(done.data.metrics as Record<string, number>);
        transcripts.push(String(finalT?.data.text ?? ''));
        const started = events.events
          .slice(before)
          .find((e) => e.event === 'utterance.started' && e.data.utterance_id === utterance);
        const firstSoundMs = Number((done.data.metrics as Record<string, number>).first_sound_ms);
        if (started && Number.isFinite(firstSoundMs)) {
          const sentAt = performance.timeOrigin + started.at;
          transportOut.push(heard.timeOrigin + loud - sentAt);
          transportIn.push(sentAt - firstSoundMs - (heard.timeOrigin + endedAt));
        }
      }
      await sleep(1000);
    }
    const quality = events.events.slice(metricsFrom).filter((e) => e.event === 'metrics');
    const fps = quality.map((e) => Number(e.data.fps));
    const lastQ = quality.at(-1)?.data ?? {};
    const firstQ = quality[0]?.data ?? {};

    // Barge-in: speak over a long answer; the answer's last loud audio at the page, from the speech's start.
    const barge: number[] = [];
    for (let i = 0; i < 3; i++) {
      const before = events.events.length;
      await api('POST', `/v1/sessions/${s.id}/speak`, {
        text: 'Let me tell you a long story about the old mill by the river, which has turned every day for a hundred years, through floods and droughts and the long cold winters.',
      });
      await waitFor((e) => e.event === 'utterance.started', before, 20_000);
      await sleep(1500);
      const interruption = trimSilence(await spokenSentence('Sorry, can I ask you something else?'));
      const said = mic.say(interruption);
      await sleep(1200); // the user is still speaking: no new answer can have started yet
      const { lastLoud } = await mic.loudness();
      const { startedAt } = await said;
      barge.push(lastLoud - startedAt);
      await waitFor((e) => e.event === 'reply.finished' || e.event === 'reply.failed', before, 90_000);
      await sleep(3000);
    }
    const receive = await mic.receiveStats();
    events.close();
    await mic.close();
    const stage = (k: string) => {
      const v = server.map((m) => m[k]!).filter((x) => Number.isFinite(x));
      return { p50: r0(pct(v, 0.5)), p95: r0(pct(v, 0.95)) };
    };
    const firstSound = server.map((m) => m.first_sound_ms!);
    return {
      model: label,
      turns: atBrowser.length,
      end_of_speech_to_first_sound_at_browser_ms: {
        p50: r0(pct(atBrowser, 0.5)),
        p95: r0(pct(atBrowser, 0.95)),
      },
      same_to_loud_over_minus_26_dbfs_ms: {
        p50: r0(pct(loudAtBrowser, 0.5)),
        p95: r0(pct(loudAtBrowser, 0.95)),
      },
      page_silence_peak_max: Math.round(floorPeak * 10_000) / 10_000,
      server_breakdown_ms_from_end_of_speech: {
        vad_pause: stage('vad_ms'),
        final_transcript: stage('recognition_ms'),
        of_which_recogniser_encode: stage('recognition_encode_ms'),
        of_which_recogniser_decode: stage('recognition_decode_ms'),
        end_of_turn: stage('end_of_turn_ms'),
        llm_request: stage('llm_request_ms'),
        llm_first_token: stage('llm_first_token_ms'),
        first_clause: stage('first_clause_ms'),
        tts_first_audio: stage('tts_first_audio_ms'),
        first_sound_sent: stage('first_sound_ms'),
        llm_prompt_tokens: stage('llm_prompt_tokens'),
        llm_prompt_tokens_read_at_the_turn: stage('llm_prompt_tokens_read'),
        note: 'recognition_ms is the recogniser alone; it starts at the VAD pause, so end_of_turn ~= vad + recognition',
      },
      transport_ms_p50: r0(
        pct(
          atBrowser.map((b, i) => b - firstSound[i]!),
          0.5,
        ),
      ),
      transport_split_ms_p50: {
        in_page_end_of_speech_to_server_vad_end: r0(pct(transportIn, 0.5)),
        out_first_sound_sent_to_heard_at_page: r0(pct(transportOut, 0.5)),
      },
      browser_audio_jitter_buffer_ms_mean:
        receive.audioJitterBufferMs === null ? null : r0(receive.audioJitterBufferMs),
      browser_audio_packet_ms: receive.audioPacketMs === null ? null : r0(receive.audioPacketMs),
      video: {
        fps_min: Math.min(...fps),
        fps_mean: Math.round((fps.reduce((a, b) => a + b, 0) / fps.length) * 10) / 10,
        frames_dropped: Number(lastQ.frames_dropped ?? 0) - Number(firstQ.frames_dropped ?? 0),
        late_frames: Number(lastQ.late_frames ?? 0) - Number(firstQ.late_frames ?? 0),
      },
      barge_in_speech_start_to_answer_silent_at_browser_ms: barge.map(r0),
      // Each turn: at the page, then the server's stages (VAD, recognition with its model's encode and decode,
      // end of turn, model asked, first token, first clause, TTS first audio, first sound sent), and the way in and out.
      per_turn_ms: atBrowser.map((b, i) =>
        [b, ...STAGES.map((k) => server[i]![k] ?? NaN), transportIn[i] ?? NaN, transportOut[i] ?? NaN]
          .map(r0)
          .join(' '),
      ),
      transcripts: transcripts.slice(0, 4),
    };
  } finally {
    await chrome.close();
    child.kill('SIGTERM');
  }
}

async function recognition() {
  const SENTENCES = [
    'The weather is lovely today, so we are going for a walk.',
    'Please book a table for two at seven tonight.',
    'My brother lives in a small town near the sea.',
    'Can you tell me how to get to the train station?',
    'I would like a cup of tea with milk and no sugar.',
    'The meeting has been moved to Thursday afternoon.',
    'She bought three apples and a loaf of bread.',
    'What time does the museum open on Sunday?',
    'We watched a movie and then went home early.',
    'Turn left at the corner and walk for five minutes.',
  ];
  const stt = embeddedRecognizer();
  let errors = 0;
  let words = 0;
  const ms: number[] = [];
  const misses: string[] = [];
  for (const voice of ['rms', 'slt', 'awb']) {
    for (const sentence of SENTENCES) {
      const pcm = await spokenSentence(sentence, voice);
      const t = await stt.recognize(pcm);
      ms.push(t.ms);
      const e = wordErrors(sentence, t.text);
      errors += e.errors;
      words += e.words;
      if (e.errors) misses.push(`${voice}: "${t.text}"`);
    }
  }
  await stt.close();
  return {
    recogniser: 'embedded Whisper base (int8: CTranslate2 encoder, onnxruntime decoder), clip-sized window',
    utterances: ms.length,
    word_error_rate_percent: Math.round((errors / words) * 1000) / 10,
    recognition_ms: { p50: r0(pct(ms, 0.5)), p95: r0(pct(ms, 0.95)) },
    misrecognised: misses,
  };
}

const fake = await startFakeChat({
  reply: () => 'Ah, the mill! It turns from dawn to dusk. I grind the wheat and watch the river go by.',
  firstTokenMs: 200,
  tokenMs: 20,
});
// --embedded-only / --remote-only / --no-wer / --wer-only: run a part (while tuning).
const only = (flag: string) => process.argv.includes(flag);
const results = only('--wer-only')
  ? []
  : [
      ...(only('--remote-only') ? [] : [await run('embedded (SmolLM2-135M-Instruct, llama.cpp)', {})]),
      ...(only('--embedded-only')
        ? []
        : [
            await run('OpenAI-compatible, first token after 200 ms (local server)', {
              LIKENESS_LLM_URL: fake.url,
              LIKENESS_LLM_MODEL: 'bench',
            }),
          ]),
    ];
await fake.close();
const asr = only('--no-wer') ? null : await recognition();
console.log(
  JSON.stringify(
    {
      machine: { cpus: os.availableParallelism(), node: process.version },
      conversation: results,
      recognition: asr,
    },
    null,
    2,
  ),
);
process.exit(0);
