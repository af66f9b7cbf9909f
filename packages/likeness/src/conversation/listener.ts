import { resampleTo } from '../realtime/resample.ts';
import type { BargeInSetting } from '../store/schema.ts';
import { RecognitionFailure, type SpeechToText, STT_SAMPLE_RATE, type Transcript } from './stt/index.ts';
import {
  DEFAULT_END_OF_TURN,
  type EndOfTurnPolicy,
  endOfTurnDelay,
  isBackchannel,
} from './vad/end-of-turn.ts';
import { SileroStream, VAD_WINDOW } from './vad/silero.ts';

/**
 * What the user's speech does while the character is speaking (per session):
 * - off: nothing; the character finishes, and what was said over it is not taken as a turn;
 * - immediate: any speech silences it at once;
 * - after: the character holds (goes quiet) as soon as speech is detected, as people do when someone starts
 *   talking; speech that lasts `ms` then interrupts it. Shorter bursts that are only backchannels ("yeah",
 *   "mm-hm", "okay") or noise release the hold and it goes on where it stopped; other short words ("stop",
 *   "wait") interrupt once recognised.
 */
export type BargeIn = { mode: 'off' } | { mode: 'immediate' } | { mode: 'after'; ms: number };
export const DEFAULT_BARGE_IN: BargeIn = { mode: 'after', ms: 400 };
/** The same, as a session stores and shows it. */
export const DEFAULT_BARGE_IN_SETTING: BargeInSetting = { mode: 'after', after_ms: 400 };

export function bargeInFrom(setting: BargeInSetting | null | undefined): BargeIn {
  if (!setting) return DEFAULT_BARGE_IN;
  if (setting.mode === 'after')
    return { mode: 'after', ms: setting.after_ms ?? DEFAULT_BARGE_IN_SETTING.after_ms! };
  return { mode: setting.mode };
}

/** A finished turn of the user's, with how long each step took. */
export interface HeardTurn {
  text: string;
  /** performance.now() when the user stopped speaking (start of the first silent VAD window). */
  speechEndedAt: number;
  /** ms of audio from the start of speech to its end. */
  speechMs: number;
  /** ms from the end of speech until the VAD called it a pause. */
  vadMs: number;
  /** ms the recogniser took for the final transcript, and of that in its model, when it says (Transcript's). */
  recognitionMs: number;
  recognitionEncodeMs?: number | undefined;
  recognitionDecodeMs?: number | undefined;
  /** ms from the end of speech to the decision that the turn was over. */
  endOfTurnMs: number;
  /** The user spoke over the character. */
  interrupting: boolean;
}

export interface ListenerEvents {
  speechStarted(): void;
  /** A transcript of the speech so far, while the user is still speaking. */
  partial(text: string): void;
  turn(turn: HeardTurn): void;
  /** The user is talking over the character: silence it now. */
  bargeIn(): void;
  /** Speech started over the character (barge-in `after`): hold it, not yet knowing whether it is a turn. */
  hold(): void;
  /** The held speech was only a backchannel or noise: the character goes on. */
  release(): void;
  /** Speech that is not a turn: noise, a backchannel or speech over the character (barge-in off). */
  ignored(reason: 'no-speech' | 'backchannel' | 'while-answering', text: string): void;
  failed(err: RecognitionFailure): void;
}

export interface ListenerOptions {
  stt: SpeechToText;
  events: ListenerEvents;
  /** Whether the character is answering now (speaking, or a reply is being written). */
  isAnswering(): boolean;
  bargeIn?: BargeIn;
  endOfTurn?: EndOfTurnPolicy;
  language?: string;
}

const WINDOW_MS = (VAD_WINDOW / STT_SAMPLE_RATE) * 1000; // 32
const START_PROB = 0.5;
const END_PROB = 0.35;
/** Windows above START_PROB that start speech: 64 ms, so a click or a cough's onset is not a turn. */
const ONSET_WINDOWS = 2;
/**
 * Windows below END_PROB that make a pause: the final transcript starts then, while the silence lasts. One (32 ms):
 * Silero's probability already trails the end of speech by one or two windows (measured on the bench's clips: the
 * first window under END_PROB starts 7-78 ms after the last sample of speech), so a second window only waited. A
 * pause the user speaks on costs little: its recognition is cancelled in the recogniser.
 */
const PAUSE_WINDOWS = 1;
/** Audio kept from before the speech was detected: the first syllable's onset. */
const PREROLL_SAMPLES = 0.3 * STT_SAMPLE_RATE;
/** Speech shorter than this is taken for noise and never recognised. */
const MIN_SPEECH_MS = 120;
/** A partial transcript at most this often, while the user speaks. */
const PARTIAL_EVERY_MS = 1200;
/** One turn's audio is capped: past it, the turn ends as if the user had paused. */
const MAX_TURN_SAMPLES = 30 * STT_SAMPLE_RATE;
/** Audio waiting for the VAD beyond this is dropped (the process is overloaded): 2 s. */
const MAX_BACKLOG_SAMPLES = 2 * STT_SAMPLE_RATE;

type State = 'idle' | 'speech' | 'paused';

/**
 * Listens to one user's audio: voice activity (Silero), a transcript while they speak, a final transcript from
 * the first moment of silence, and the end of the turn decided by silence and by what was said. Speech over
 * the character is a barge-in (per the session's setting) or a backchannel. Audio comes in at any rate, in
 * pieces of any size (10 ms from WebRTC), and is handled in order; nothing here blocks the caller.
 */
export class Listener {
  private readonly vad = new SileroStream();
  private bargeInPolicy: BargeIn;
  private readonly endOfTurn: EndOfTurnPolicy;
  /** 16 kHz floats waiting for a whole VAD window. */
  private pending = new Float32Array(0);
  private working: Promise<void> = Promise.resolve();
  private backlog = 0;
  /** Windows processed: the listener's own clock, in 32 ms steps. */
  private windows = 0;
  private state: State = 'idle';
  private onset = 0;
  private silent = 0;
  /** Recent audio before speech starts (16-bit, 16 kHz). */
  private preroll: Int16Array[] = [];
  private prerollSamples = 0;
  /** The current turn's audio. */
  private turn: Int16Array[] = [];
  private turnSamples = 0;
  private speechStartWindow = 0;
  private speechEndWindow = 0;
  private speechEndedAt = 0;
  private pausedAt = 0;
  private answeringAtStart = false;
  private bargedIn = false;
  private holding = false;
  private lastPartialWindow = 0;
  /** The partial transcript being recognised: given up when the final one starts. */
  private partial: AbortController | undefined;
  /** The final recognition of the current pause, cancelled if the user speaks on. */
  private final: { abort: AbortController; result?: Transcript; ms?: number } | undefined;
  private commitTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Totals, for the session's metrics. */
  readonly stats = { turns: 0, ignored: 0, bargeIns: 0, vadWindows: 0, droppedSamples: 0 };

  constructor(private readonly opts: ListenerOptions) {
    this.bargeInPolicy = opts.bargeIn ?? DEFAULT_BARGE_IN;
    this.endOfTurn = opts.endOfTurn ?? DEFAULT_END_OF_TURN;
  }

  setBargeIn(policy: BargeIn): void {
    this.bargeInPolicy = policy;
  }

  /** The user's audio: 16-bit mono at any rate. */
  push(samples: Int16Array, sampleRate: number): void {
    if (this.closed || samples.length === 0) return;
    const floats = to16kFloat(samples, sampleRate);
    if (this.backlog + floats.length > MAX_BACKLOG_SAMPLES) {
      this.stats.droppedSamples += floats.length;
      return;
    }
    const joined = new Float32Array(this.pending.length + floats.length);
    joined.set(this.pending);
    joined.set(floats, this.pending.length);
    let at = 0;
    for (; at + VAD_WINDOW <= joined.length; at += VAD_WINDOW) {
      const window = joined.slice(at, at + VAD_WINDOW);
      this.backlog += VAD_WINDOW;
      this.working = this.working
        .then(() => this.step(window))
        .catch(() => undefined)
        .finally(() => {
          this.backlog -= VAD_WINDOW;
        });
    }
    this.pending = joined.slice(at);
  }

  close(): void {
    this.closed = true;
    this.partial?.abort();
    this.final?.abort.abort();
    clearTimeout(this.commitTimer);
  }

  private async step(window: Float32Array): Promise<void> {
    if (this.closed) return;
    const p = await this.vad.probability(window);
    this.stats.vadWindows++;
    this.windows++;
    const pcm = toInt16(window);
    switch (this.state) {
      case 'idle':
        this.keepPreroll(pcm);
        if (p >= START_PROB) {
          if (++this.onset >= ONSET_WINDOWS) this.startSpeech();
        } else this.onset = 0;
        break;
      case 'speech':
        this.append(pcm);
        if (p >= END_PROB) {
          this.silent = 0;
          this.maybeBargeIn();
          this.maybePartial();
        } else if (++this.silent >= PAUSE_WINDOWS) this.pause();
        if (this.turnSamples >= MAX_TURN_SAMPLES && this.state === 'speech') this.pause();
        break;
      case 'paused':
        this.append(pcm);
        if (p >= START_PROB) {
          if (++this.onset >= ONSET_WINDOWS) this.resume();
        } else this.onset = 0;
        if (this.state === 'paused') this.maybeCommit();
        break;
    }
  }

  private keepPreroll(pcm: Int16Array): void {
    this.preroll.push(pcm);
    this.prerollSamples += pcm.length;
    while (this.prerollSamples - (this.preroll[0]?.length ?? 0) >= PREROLL_SAMPLES) {
      this.prerollSamples -= this.preroll.shift()!.length;
    }
  }

  private append(pcm: Int16Array): void {
    if (this.turnSamples >= MAX_TURN_SAMPLES) return;
    this.turn.push(pcm);
    this.turnSamples += pcm.length;
  }

  private startSpeech(): void {
    this.state = 'speech';
    this.onset = 0;
    this.silent = 0;
    this.turn = this.preroll;
    this.turnSamples = this.prerollSamples;
    this.preroll = [];
    this.prerollSamples = 0;
    this.speechStartWindow = this.windows - ONSET_WINDOWS + 1;
    this.lastPartialWindow = this.windows;
    this.answeringAtStart = this.opts.isAnswering();
    this.bargedIn = false;
    this.opts.events.speechStarted();
    if (this.answeringAtStart && this.bargeInPolicy.mode === 'immediate') this.doBargeIn();
    if (this.answeringAtStart && this.bargeInPolicy.mode === 'after') {
      this.holding = true;
      this.opts.events.hold();
    }
  }

  private maybeBargeIn(): void {
    if (this.bargedIn || !this.answeringAtStart || this.bargeInPolicy.mode !== 'after') return;
    if ((this.windows - this.speechStartWindow + 1) * WINDOW_MS >= this.bargeInPolicy.ms) this.doBargeIn();
  }

  private doBargeIn(): void {
    if (this.bargedIn || !this.opts.isAnswering()) return;
    this.bargedIn = true;
    this.holding = false; // the interruption ends the hold
    this.stats.bargeIns++;
    this.opts.events.bargeIn();
  }

  private maybePartial(): void {
    if (this.partial || this.final) return;
    if ((this.windows - this.lastPartialWindow) * WINDOW_MS < PARTIAL_EVERY_MS) return;
    this.lastPartialWindow = this.windows;
    const partial = new AbortController();
    this.partial = partial;
    const audio = concat(this.turn, this.turnSamples);
    this.opts.stt
      .recognize(audio, {
        signal: partial.signal,
        ...(this.opts.language ? { language: this.opts.language } : {}),
      })
      .then(
        (t) => {
          if (!this.closed && this.state === 'speech' && t.text) this.opts.events.partial(t.text);
        },
        () => undefined, // a partial that fails changes nothing: the final transcript decides
      )
      .finally(() => {
        if (this.partial === partial) this.partial = undefined;
      });
  }

  private pause(): void {
    this.state = 'paused';
    this.onset = 0;
    this.speechEndWindow = this.windows - this.silent + 1;
    const sinceEnd = (this.windows - this.speechEndWindow + 1) * WINDOW_MS;
    this.pausedAt = performance.now();
    this.speechEndedAt = this.pausedAt - sinceEnd;
    const speechMs = (this.speechEndWindow - this.speechStartWindow) * WINDOW_MS;
    if (speechMs < MIN_SPEECH_MS) {
      this.reset('no-speech', '');
      return;
    }
    // A partial still being recognised would hold the recogniser the final transcript needs now.
    this.partial?.abort();
    this.partial = undefined;
    const abort = new AbortController();
    const final: NonNullable<Listener['final']> = { abort };
    this.final = final;
    const started = performance.now();
    // The turn's audio up to now: the speech and the first ~32 ms of silence.
    this.opts.stt
      .recognize(concat(this.turn, this.turnSamples), {
        signal: abort.signal,
        ...(this.opts.language ? { language: this.opts.language } : {}),
      })
      .then(
        (t) => {
          if (this.final !== final || this.closed) return;
          final.result = t;
          final.ms = performance.now() - started;
          this.judge(final);
        },
        (err: RecognitionFailure) => {
          if (this.final !== final || this.closed || err.kind === 'aborted') return;
          this.reset();
          this.opts.events.failed(
            err instanceof RecognitionFailure ? err : new RecognitionFailure('failed', String(err)),
          );
        },
      );
  }

  /** The final transcript is in: ignore it, or wait for the silence it needs, then end the turn. */
  private judge(final: NonNullable<Listener['final']>): void {
    const t = final.result!;
    if (t.noSpeech || !t.text) {
      this.reset('no-speech', t.text);
      return;
    }
    const answering = this.answeringAtStart || this.opts.isAnswering();
    if (answering && !this.bargedIn) {
      if (this.bargeInPolicy.mode === 'off' || isBackchannel(t.text)) {
        this.reset(this.bargeInPolicy.mode === 'off' ? 'while-answering' : 'backchannel', t.text);
        return;
      }
      this.doBargeIn(); // a short word that is not a backchannel: "stop", "wait"
    }
    this.maybeCommit();
  }

  private maybeCommit(): void {
    const final = this.final;
    if (!final?.result || this.state !== 'paused') return;
    const needed = endOfTurnDelay(final.result.text, this.endOfTurn);
    const waited = performance.now() - this.speechEndedAt;
    clearTimeout(this.commitTimer);
    if (waited < needed) {
      // Audio may stop arriving (a muted microphone): a timer ends the turn too.
      this.commitTimer = setTimeout(() => this.maybeCommit(), needed - waited + 1);
      this.commitTimer.unref?.();
      return;
    }
    const turn: HeardTurn = {
      text: final.result.text,
      speechEndedAt: this.speechEndedAt,
      speechMs: (this.speechEndWindow - this.speechStartWindow) * WINDOW_MS,
      vadMs: this.pausedAt - this.speechEndedAt,
      recognitionMs: final.ms ?? final.result.ms,
      recognitionEncodeMs: final.result.encodeMs,
      recognitionDecodeMs: final.result.decodeMs,
      endOfTurnMs: performance.now() - this.speechEndedAt,
      interrupting: this.bargedIn,
    };
    this.final = undefined;
    this.reset();
    this.stats.turns++;
    this.opts.events.turn(turn);
  }

  /** The user speaks on: the pause was inside the turn. */
  private resume(): void {
    this.final?.abort.abort();
    this.final = undefined;
    clearTimeout(this.commitTimer);
    this.state = 'speech';
    this.onset = 0;
    this.silent = 0;
  }

  private reset(ignored?: 'no-speech' | 'backchannel' | 'while-answering', text = ''): void {
    if (this.holding) {
      // Noise, a backchannel or a failed recognition: not an interruption after all.
      this.holding = false;
      this.opts.events.release();
    }
    this.final?.abort.abort();
    this.final = undefined;
    clearTimeout(this.commitTimer);
    this.state = 'idle';
    this.onset = 0;
    this.silent = 0;
    this.turn = [];
    this.turnSamples = 0;
    if (ignored) {
      this.stats.ignored++;
      this.opts.events.ignored(ignored, text);
    }
  }
}

/** 16-bit PCM at any rate -> 16 kHz floats. 48 kHz (WebRTC) is averaged in threes: a cheap low-pass. */
export function to16kFloat(samples: Int16Array, rate: number): Float32Array {
  if (rate === STT_SAMPLE_RATE) return Float32Array.from(samples, (s) => s / 32768);
  if (rate % STT_SAMPLE_RATE === 0) {
    const k = rate / STT_SAMPLE_RATE;
    const out = new Float32Array(Math.floor(samples.length / k));
    for (let i = 0; i < out.length; i++) {
      let sum = 0;
      for (let j = 0; j < k; j++) sum += samples[i * k + j]!;
      out[i] = sum / k / 32768;
    }
    return out;
  }
  // Any other rate (LiveKit resamples to 16 kHz itself): linear interpolation, as for playback.
  return Float32Array.from(resampleTo(samples, rate, STT_SAMPLE_RATE), (v) => v / 32768);
}

function toInt16(floats: Float32Array): Int16Array {
  return Int16Array.from(floats, (f) => Math.max(-32768, Math.min(32767, Math.round(f * 32768))));
}

function concat(parts: Int16Array[], total: number): Int16Array {
  const out = new Int16Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p.subarray(0, Math.min(p.length, total - at)), at);
    at += p.length;
    if (at >= total) break;
  }
  return out;
}
