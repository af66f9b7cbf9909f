/**
 * The voice (issue 11), printed as JSON:
 *   1. engines, in this process: time to the first audio of an utterance, real-time factor (synthesis time /
 *      audio time), leading silence, and word error of the project's own recogniser (Whisper base) on ordinary
 *      sentences; Kokoro (neural, two voices) beside Flite;
 *   2. a real server (child process, neural voice on): speak -> first sound at a real browser (Chromium over
 *      WHEP, the page's analyser) on a cast character, neural and Flite; an MP4 with the neural voice, in
 *      multiples of realtime; 4 live sessions speaking at once (Node WebRTC viewers): audio underruns and fps;
 *      the server's RSS with the neural voice loaded (server and engine processes).
 * Targets: first sound p50 <= 450 ms neural, <= 200 ms Flite; RTF <= 0.35; MP4 >= 3x realtime; leading silence
 * <= 60 ms; WER <= 10 %; 4 sessions: 0 underruns, 25 fps; RSS <= 1.2 GB.
 * The first sound is broken down: the server (speak to its first audio tick, of which synthesis), and the way
 * out (that tick to the page hearing it). Half the browser lines open with an interjection, half do not.
 * `--quick` does fewer utterances and shorter windows; `--only <part>`, `--flite-only` and `--lines` narrow it
 * down for trying a setting.
 */
/// <reference lib="dom" />
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resampleTo } from '../packages/likeness/src/realtime/resample.ts';
import { FliteEngine } from '../packages/likeness/src/speech/flite-engine.ts';
import { KokoroEngine } from '../packages/likeness/src/speech/kokoro/kokoro-engine.ts';
import { PiperEngine, piperFiles } from '../packages/likeness/src/speech/piper/piper-engine.ts';
import { SpeechService } from '../packages/likeness/src/speech/speech-service.ts';
import type { VoiceRef } from '../packages/likeness/src/speech/voice-catalog.ts';
import { launchChromium } from '../packages/likeness/test/helpers/browser.ts';
import { openMicPage } from '../packages/likeness/test/helpers/browser-mic.ts';
import { embeddedRecognizer } from '../packages/likeness/test/helpers/speech-audio.ts';
import { wordErrors } from '../packages/likeness/test/helpers/word-errors.ts';
import { BENCH_KEY, benchApi, ROOT, startBenchServer } from './lib/bench-server.ts';
import { cpuSeconds, followEvents, serverMemory } from './lib/sse.ts';
import { pct } from './lib/stats.ts';
import { startViewerProcess } from './lib/viewers.ts';

const quick = process.argv.includes('--quick');
/** `--only browser|mp4|sessions|engines`: one part (for trying a setting). */
const only = process.argv[process.argv.indexOf('--only') + 1];
/** `--flite-only`: the browser part speaks Flite only (the neural voice takes seconds a line on 2 cores). */
const fliteOnly = process.argv.includes('--flite-only');
/**
 * `--voice piper:joe`: the browser, MP4 and sessions parts speak this voice instead of the characters' own neural
 * voice (the opt-in Piper voice: `npm run setup -- --piper`).
 */
const voiceArg = process.argv.includes('--voice')
  ? process.argv[process.argv.indexOf('--voice') + 1]
  : undefined;
/** `--lines`: the browser part prints each line's timings and the browser's audio jitter buffer meanwhile. */
const lineByLine = process.argv.includes('--lines');
const part = (name: string) => !process.argv.includes('--only') || only === name;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const r0 = (v: number) => Math.round(v);
const r2 = (v: number) => Math.round(v * 100) / 100;
const MODELS = path.join(ROOT, 'packages/likeness/models');

const SENTENCES = [
  'The train to the city leaves at half past seven every morning.',
  'Could you tell me where I can find a good cup of coffee around here?',
  'My grandmother grew tomatoes, beans and sunflowers in her garden.',
  'We should leave early tomorrow, because the roads will be busy.',
  'The museum is closed on Mondays, but it opens late on Thursdays.',
  'He fixed the old clock with a tiny screwdriver and a steady hand.',
  'Please remember to bring your umbrella, it looks like rain.',
  'Reading a good book by the fire is my favourite way to spend an evening.',
].slice(0, quick ? 4 : 8);

interface JitterBuffer {
  /** Seconds, summed over every sample the jitter buffer emitted. */
  delay: number;
  target: number;
  emitted: number;
}

/** The page's received audio: Chromium's jitter buffer counters (getStats), to difference between two lines. */
function audioJitterBuffer(page: import('playwright-core').Page): Promise<JitterBuffer> {
  return page.evaluate(async () => {
    const stats = await (window as unknown as { mic: { pc: RTCPeerConnection } }).mic.pc.getStats();
    const out = { delay: 0, target: 0, emitted: 0 };
    stats.forEach((r) => {
      if (r.type === 'inbound-rtp' && r.kind === 'audio') {
        out.delay = r.jitterBufferDelay ?? 0;
        out.target = r.jitterBufferTargetDelay ?? 0;
        out.emitted = r.jitterBufferEmittedCount ?? 0;
      }
    });
    return out;
  });
}

const result: Record<string, unknown> = {
  machine: { cpus: os.availableParallelism(), node: process.version },
};

// 1. Engines.
if (part('engines')) {
  const flite = new FliteEngine();
  const kokoro = new KokoroEngine({ modelDir: MODELS });
  const piper = piperFiles(MODELS).missing.length ? undefined : new PiperEngine({ modelDir: MODELS });
  const speech = new SpeechService({ flite, kokoro, piper });
  const stt = embeddedRecognizer();
  speech.warm();
  // Load both models before timing anything.
  for await (const _ of speech.stream('Warm up.', { provider: 'kokoro', id: 'af_heart' }));
  for await (const _ of speech.stream('Warm up.', { provider: 'flite', id: 'slt' }));
  if (piper) for await (const _ of speech.stream('Warm up.', { provider: 'piper', id: 'joe' }));
  await stt.recognize(new Int16Array(16000));
  const engines: Record<string, unknown> = {};
  const voices: [string, VoiceRef][] = [
    ['kokoro:bm_george', { provider: 'kokoro', id: 'bm_george' }],
    ['kokoro:af_heart', { provider: 'kokoro', id: 'af_heart' }],
    ...(piper ? ([['piper:joe', { provider: 'piper', id: 'joe' }]] as [string, VoiceRef][]) : []),
    ['flite:slt', { provider: 'flite', id: 'slt' }],
  ];
  for (const [name, voice] of voices) {
    const first: number[] = [];
    const rtf: number[] = [];
    const lead: number[] = [];
    let errors = 0;
    let words = 0;
    for (const text of SENTENCES) {
      const t0 = performance.now();
      let firstMs = 0;
      let rate = 16000;
      const parts: Int16Array[] = [];
      for await (const c of speech.stream(text, voice)) {
        if (!parts.length) {
          firstMs = performance.now() - t0;
          // To the first audible sample (-40 dBFS), not the trimmer's own silence level (-50 dBFS): a faint
          // hiss between the two is still silence to a listener.
          let i = 0;
          while (i < c.samples.length && Math.abs(c.samples[i]!) < 328) i++;
          lead.push((i / c.sampleRate) * 1000);
        }
        rate = c.sampleRate;
        parts.push(c.samples);
      }
      const totalMs = performance.now() - t0;
      const pcm = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
      let at = 0;
      for (const p of parts) {
        pcm.set(p, at);
        at += p.length;
      }
      first.push(firstMs);
      rtf.push(totalMs / 1000 / (pcm.length / rate));
      const heard = await stt.recognize(resampleTo(pcm, rate, 16000));
      const w = wordErrors(text, heard.text);
      errors += w.errors;
      words += w.words;
      if (w.errors) console.error(`[voice] ${name}: "${text}" heard as "${heard.text}"`);
    }
    engines[name] = {
      first_audio_ms: { p50: r0(pct(first, 0.5)), p95: r0(pct(first, 0.95)) },
      real_time_factor: { p50: r2(pct(rtf, 0.5)), max: r2(Math.max(...rtf)) },
      leading_silence_ms_max: r0(Math.max(...lead)),
      word_error_percent: r2((100 * errors) / words),
      sentences: SENTENCES.length,
    };
    console.error(`[voice] ${name}: ${JSON.stringify(engines[name])}`);
  }
  result.engines = engines;
  await stt.close();
  await kokoro.close();
  await piper?.close();
  await flite.close();
}

// 2. A real server with the neural voice.
const { child, base } = await startBenchServer({
  dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'likeness-bench-voice-')),
  port: 23000 + Math.floor(Math.random() * 1000),
  env: {
    // With --voice piper:* or flite:*, the server runs as it would here by default (Kokoro only with 4+ cores).
    LIKENESS_NEURAL_VOICE: voiceArg && !voiceArg.startsWith('kokoro:') ? 'auto' : 'on',
    LIKENESS_MAX_LIVE_SESSIONS: '20',
    LIKENESS_MAX_CONCURRENT_SESSIONS: '100',
    ...(process.env.LIKENESS_VOICE_THREADS
      ? { LIKENESS_VOICE_THREADS: process.env.LIKENESS_VOICE_THREADS }
      : {}),
  },
});
const api = benchApi(base);
/** RSS summed over the server and its engine processes (shared pages counted in each). */
const rss = () => serverMemory(child.pid!).total_rss_mb;
try {
  const cast = (await api('GET', '/v1/characters?limit=100')).data as { id: string; slug: string }[];
  const id = (slug: string) => cast.find((c) => c.slug === slug)!.id;

  // 2a. speak -> first sound at the browser.
  if (part('browser')) {
    const { browser, close } = await launchChromium();
    try {
      const page = await browser.newPage();
      const s = (await api('POST', '/v1/sessions', {
        character_id: id('walter'),
        user_id: 'bench',
        mode: 'realtime',
      })) as { id: string };
      const mic = await openMicPage(page, base, s.id, BENCH_KEY);
      const events = followEvents(`${base}/v1/sessions/${s.id}/events`, BENCH_KEY);
      await sleep(1500);
      // Half the lines open with an interjection, which is a first piece of its own (as a reply's "Well," is);
      // the other half are short sentences spoken whole, so the first sound waits for the whole sentence.
      const lines = [
        'Ah, hello there.',
        'Right, shall we begin?',
        'Well, that is a fine question.',
        'Now, look at this gear.',
        'Yes, it turns once a minute.',
        'Of course, take your time.',
        'The gears inside are made of brass.',
        'This clock has kept time for a century.',
        'I built it in my workshop last winter.',
        'Every piece was cut by hand.',
        'It chimes on the hour and the half.',
        'The pendulum swings once a second.',
      ];
      const opensWithInterjection = (text: string) => /^\w+,/.test(text) || text.startsWith('Of course,');
      /** Milliseconds per measure, per voice kind (and per opening, for the first sound). */
      const series: Record<string, Record<string, number[]>> = {};
      const add = (measure: string, key: string, v: number) => {
        const byKey = series[measure] ?? {};
        series[measure] = byKey;
        byKey[key] = [...(byKey[key] ?? []), v];
      };
      let lastJb: JitterBuffer | undefined;
      const rounds = quick ? 1 : 2;
      for (let round = 0; round < rounds; round++)
        for (const [kind, voice] of (
          [
            ['neural', voiceArg],
            ['flite', 'flite:awb'],
          ] as const
        ).filter(([kind]) => !fliteOnly || kind === 'flite')) {
          for (const text of lines) {
            const t0 = await page.evaluate(
              async ({ base, id, key, text, voice }) => {
                const w = window as unknown as {
                  mic: { state: { marks: { since: number; at: number | null }[] } };
                };
                const since = performance.now();
                w.mic.state.marks.push({ since, at: null });
                await fetch(`${base}/v1/sessions/${id}/speak`, {
                  method: 'POST',
                  headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
                  body: JSON.stringify(voice ? { text, voice } : { text }),
                });
                return since;
              },
              { base, id: s.id, key: BENCH_KEY, text, voice },
            );
            // The next line waits until this one has been heard out.
            const from = events.events.length;
            const until = Date.now() + 30_000;
            while (
              !events.events.slice(from).some((e) => e.event === 'utterance.finished') &&
              Date.now() < until
            )
              await sleep(20);
            await sleep(700);
            // The newest start is this line's (the last one was heard out before it was sent).
            const startedEvent = events.events.findLast((e) => e.event === 'utterance.started');
            const queuedEvent = events.events.findLast((e) => e.event === 'utterance.queued');
            const started = startedEvent?.data as { queued_ms?: number; first_audio_ms?: number } | undefined;
            if (started?.queued_ms != null) add('at_server', kind, started.queued_ms);
            if (started?.first_audio_ms != null) add('synthesised', kind, started.first_audio_ms);
            const heard = await mic.loudness();
            const loud = heard.loudSince.at(-1);
            const audible = heard.audibleSince.at(-1);
            if (loud == null || audible == null) {
              console.error(`[voice] no sound heard for "${text}" (${kind})`);
              continue;
            }
            add('first_sound', kind, loud - t0);
            add(
              'first_sound',
              `${kind}_${opensWithInterjection(text) ? 'interjection' : 'whole_sentence'}`,
              loud - t0,
            );
            add('first_audible', kind, audible - t0);
            if (lineByLine) {
              const jb = await audioJitterBuffer(page);
              const since = (k: 'delay' | 'target') =>
                r0(((jb[k] - (lastJb?.[k] ?? 0)) / (jb.emitted - (lastJb?.emitted ?? 0))) * 1000);
              const seen = (e: { at: number } | undefined) =>
                e ? r0(performance.timeOrigin + e.at - (heard.timeOrigin + t0)) : '-';
              console.error(
                `[voice] ${kind} "${text}": queued seen here at ${seen(queuedEvent)}, started at ${seen(startedEvent)}, audible at ${r0(audible - t0)}, loud at ${r0(loud - t0)}; browser audio jitter buffer ${since('delay')} ms (target ${since('target')})`,
              );
              lastJb = jb;
            }
            // The first tick (its event, seen here a little after) to the page hearing it: both on the epoch.
            if (startedEvent)
              add(
                'tick_to_heard',
                kind,
                heard.timeOrigin + loud - (performance.timeOrigin + startedEvent.at),
              );
          }
        }
      result.browser_receive = await mic.receiveStats();
      events.close();
      await mic.close();
      await api('DELETE', `/v1/sessions/${s.id}`);
      const summary = (measure: string) =>
        Object.fromEntries(
          Object.entries(series[measure] ?? {}).map(([k, v]) => [
            k,
            { p50: r0(pct(v, 0.5)), p95: r0(pct(v, 0.95)), n: v.length },
          ]),
        );
      // Loud (a peak over -26 dBFS) is the first sound; audible (-40 dBFS) is the same or a few ms sooner, later
      // only on soft onsets ("This"). Broken down: the server (request to first audio tick, of which synthesis),
      // then the way out (that tick to the page hearing it: Opus packet, browser jitter buffer, audio pipeline);
      // the rest is the request's way in (page to server, about 10-30 ms).
      result.speak_to_first_sound_at_browser_ms = summary('first_sound');
      result.speak_to_first_audible_at_browser_ms = summary('first_audible');
      result.speak_to_first_audio_tick_at_server_ms = summary('at_server');
      result.speak_to_first_audio_synthesised_at_server_ms = summary('synthesised');
      result.first_audio_tick_to_heard_ms = summary('tick_to_heard');
      for (const measure of ['first_sound', 'at_server', 'synthesised', 'tick_to_heard'])
        console.error(`[voice] ${measure}: ${JSON.stringify(summary(measure))}`);
    } finally {
      await close();
    }
  }
  result.server_rss_mb_with_neural_voice = rss();
  // PSS counts the pages the processes share (node itself, libraries) once: what the server really takes.
  result.server_memory_with_neural_voice = serverMemory(child.pid!);

  // 2b. MP4 with the neural voice.
  if (part('mp4')) {
    const s = (await api('POST', '/v1/sessions', {
      character_id: id('walter'),
      user_id: 'bench',
      mode: 'on_demand',
    })) as { id: string };
    const mp4: { wall_s: number; media_s: number }[] = [];
    for (let i = 0; i < (quick ? 1 : 3); i++) {
      const t0 = performance.now();
      const res = await fetch(`${base}/v1/sessions/${s.id}/generate`, {
        method: 'POST',
        headers: { authorization: `Bearer ${BENCH_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          text: 'The old mill by the river has turned for two hundred years. It grinds the wheat from three villages, and it turns today.',
          ...(voiceArg ? { voice: voiceArg } : {}),
        }),
      });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`generate answered ${res.status}`);
      mp4.push({
        wall_s: (performance.now() - t0) / 1000,
        media_s: Number(res.headers.get('x-likeness-duration-s')),
      });
    }
    const x = mp4.map((m) => m.media_s / m.wall_s);
    result.mp4_neural = {
      times_realtime_p50: r2(pct(x, 0.5)),
      media_s: mp4[0]!.media_s,
      renders: mp4.length,
    };
    console.error(`[voice] mp4: ${JSON.stringify(result.mp4_neural)}`);
  }

  // 2c. 4 live sessions speaking at once with the neural voice.
  if (part('sessions')) {
    const viewers = startViewerProcess();
    const ask = viewers.ask;
    const slugs = ['walter', 'kai', 'mika', 'nora'];
    const ids: string[] = [];
    const streams = [];
    for (const slug of slugs) {
      const s = (await api('POST', '/v1/sessions', {
        character_id: id(slug),
        user_id: `v-${slug}`,
        mode: 'realtime',
      })) as {
        id: string;
      };
      const tok = (await api('POST', `/v1/sessions/${s.id}/token`)) as { token: string; whep_url: string };
      ids.push(s.id);
      streams.push(followEvents(`${base}/v1/sessions/${s.id}/events`, BENCH_KEY));
      await ask({ connect: { base, whep_url: tok.whep_url, token: tok.token } });
    }
    const talk =
      'I keep talking, so that every session needs new speech all the time. The clock ticks, the wheel turns, and the story goes on. '.repeat(
        3,
      );
    const window = quick ? 10 : 20;
    for (const sid of ids)
      await api('POST', `/v1/sessions/${sid}/speak`, {
        text: talk,
        ...(voiceArg ? { voice: voiceArg } : {}),
      });
    await sleep(3000);
    const m0 = streams.map((s) => s.metrics());
    const f0 = ((await ask({ frames: true })) as { frames: number[] }).frames;
    const cpu0 = cpuSeconds(child.pid!);
    const peakRss: number[] = [];
    for (let i = 0; i < window; i++) {
      await sleep(1000);
      peakRss.push(rss());
    }
    const cpu1 = cpuSeconds(child.pid!);
    const f1 = ((await ask({ frames: true })) as { frames: number[] }).frames;
    const m1 = streams.map((s) => s.metrics());
    const fps = f1.map((e, i) => (e - f0[i]!) / window);
    const delta = (k: 'frames_dropped' | 'audio_underruns') =>
      m1.reduce((sum, m, i) => sum + ((m?.[k] ?? 0) - (m0[i]?.[k] ?? 0)), 0);
    const underrunsTotal = m1.reduce((sum, m) => sum + (m?.audio_underruns ?? 0), 0);
    result.four_sessions_speaking = {
      window_s: window,
      received_fps_min: r2(Math.min(...fps)),
      audio_underruns_in_window: delta('audio_underruns'),
      audio_underruns_since_start: underrunsTotal,
      frames_dropped_in_window: delta('frames_dropped'),
      server_cpu_percent_of_one_core: r0(((cpu1 - cpu0) / window) * 100),
      rss_mb_peak: Math.max(...peakRss),
      note: '10 ms ticks of silence inside an utterance while synthesis catches up; viewers in a nice-19 process',
    };
    console.error(`[voice] 4 sessions: ${JSON.stringify(result.four_sessions_speaking)}`);
    for (const s of streams) s.close();
    await ask({ close: true });
    viewers.stop();
    for (const sid of ids) await api('DELETE', `/v1/sessions/${sid}`);
  }
} finally {
  child.kill('SIGTERM');
}
console.log(JSON.stringify(result, null, 2));
process.exit(0);
