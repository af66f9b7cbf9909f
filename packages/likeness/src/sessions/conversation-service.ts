import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { AdmissionQueue } from '../admission.ts';
import type { CharacterService } from '../characters/character-service.ts';
import type { Config } from '../config.ts';
import type { ConversationAgent, ReplyOutput, Spoken, TurnMetrics } from '../conversation/agent.ts';
import { bargeInFrom, type HeardTurn, Listener } from '../conversation/listener.ts';
import {
  type MemoryStore,
  type StoredFact,
  type Turn,
  unrecordedTurn,
} from '../conversation/memory/memory-store.ts';
import type { RecognitionFailure, SpeechToText } from '../conversation/stt/index.ts';
import { speechSeconds } from '../conversation/vad/speech-in.ts';
import { Problem } from '../errors.ts';
import { newId } from '../ids.ts';
import { decodeAudio } from '../media/decode-audio.ts';
import { generateForSession, type OnDemandDeps, requireOnDemandSession } from '../media/on-demand.ts';
import type { LiveMedia } from '../realtime/media-host.ts';
import type { FileStore } from '../store/files.ts';
import type { LiveSessions } from './live-sessions.ts';
import type { SessionService } from './session-service.ts';

/** What a session's event stream carries about the conversation, beside the media events. */
export type ConversationEvent =
  | { type: 'user.started_speaking' }
  /** Partial: what the user has said so far (no turn yet). Final: the turn's words. */
  | { type: 'user.transcript'; turn_id?: string; text: string; final: boolean }
  /** Speech that did not become a turn: noise, a backchannel, speech over the answer with barge-in off. */
  | { type: 'user.ignored'; reason: 'no-speech' | 'backchannel' | 'while-answering'; text: string }
  /** The user spoke over the character: its answer was silenced. */
  | { type: 'user.barge_in' }
  /** Speech started over the answer (barge-in `after`): it is held, silent, until it is known to be a turn. */
  | { type: 'reply.held' }
  /** What held it was a backchannel or noise: the answer goes on from where it stopped. */
  | { type: 'reply.resumed' }
  | { type: 'listening.failed'; problem: { type: string; detail: string } }
  | { type: 'reply.delta'; turn_id: string; text: string }
  | {
      type: 'reply.finished';
      turn_id: string;
      text: string;
      interrupted: boolean;
      utterance_id?: string;
      metrics: TurnMetrics;
    }
  | { type: 'reply.failed'; turn_id: string; problem: { type: string; detail: string } };

export interface MessageResult {
  turn: Turn;
  /** Realtime: the reply is still being spoken (202). */
  pending: boolean;
}

export interface ConversationDeps {
  sessions: SessionService;
  characters: CharacterService;
  live: LiveSessions;
  agent: ConversationAgent;
  memory: MemoryStore;
  files: FileStore;
  renders: AdmissionQueue;
  onDemand: OnDemandDeps;
  config: Config;
  logger: Logger;
  /** The recogniser for spoken turns; undefined when none is installed or configured (`sttMissing` says why). */
  stt?: SpeechToText | undefined;
  sttMissing?: string | undefined;
}

/**
 * Conversation in sessions (policy over stage 2): a user's message is checked against the session (tenant,
 * state, mode) before the model runs. In a realtime session the reply is spoken live (202 at once; a newer
 * message interrupts an older reply, as speech would); in an on-demand session it is rendered to an MP4
 * (one message at a time per session: 409 turn-in-progress otherwise).
 */
export class ConversationService {
  private readonly events = new EventEmitter<Record<string, [ConversationEvent]>>();
  /** Realtime replies in progress, by session: the newest message stops the one before. */
  private readonly replying = new Map<string, { abort: AbortController; done: Promise<unknown> }>();
  /** On-demand sessions with a message in progress. */
  private readonly rendering = new Set<string>();
  /** Live sessions whose microphone is being listened to. */
  private readonly listeners = new Map<string, Listener>();

  constructor(private readonly deps: ConversationDeps) {
    this.events.setMaxListeners(0);
    deps.sessions.on('transition', (e) => {
      if (e.to === 'ended' || e.to === 'expired') {
        this.replying.get(e.session.id)?.abort.abort();
        this.listeners.get(e.session.id)?.close();
        this.listeners.delete(e.session.id);
      }
    });
  }

  /** Follows a session's conversation events; returns the unsubscribe function. */
  subscribe(sessionId: string, listener: (e: ConversationEvent) => void): () => void {
    this.events.on(sessionId, listener);
    return () => this.events.off(sessionId, listener);
  }

  /** Every session's conversation events (metrics). */
  onEvent: ((sessionId: string, e: ConversationEvent) => void) | undefined;

  private publish(sessionId: string, e: ConversationEvent): void {
    this.events.emit(sessionId, e);
    this.onEvent?.(sessionId, e);
  }

  private checkText(text: string): string {
    const clean = text.trim();
    if (!clean) {
      throw new Problem('validation-error', 'The message is empty. Send what the user said.', {
        errors: [{ path: 'text', message: 'must not be empty' }],
      });
    }
    const max = this.deps.config.limits.maxMessageChars;
    if (clean.length > max) {
      throw new Problem('text-too-long', `The message is ${clean.length} characters; the limit is ${max}.`, {
        length: clean.length,
        max_chars: max,
      });
    }
    return clean;
  }

  private recognizer(): SpeechToText {
    if (this.deps.stt) return this.deps.stt;
    throw new Problem(
      'recognizer-unavailable',
      `No speech recogniser is available: ${this.deps.sttMissing ?? 'none is configured'}. Run "npm run setup", or set LIKENESS_STT_URL to an OpenAI-compatible endpoint; or send the message as text.`,
      { retry_after_s: 60 },
    );
  }

  /**
   * A live session's microphone has started sending audio (WHEP sendrecv, a LiveKit participant): listen to it.
   * Each finished turn is answered like a message; speech over the answer is a barge-in per the session's
   * setting. The listener lives until the session ends.
   */
  listen(tenantId: string, sessionId: string, live: LiveMedia): void {
    if (this.listeners.has(sessionId)) return;
    const stt = this.deps.stt;
    if (!stt) {
      this.deps.logger.warn(
        { sessionId, why: this.deps.sttMissing },
        'a microphone is connected but nothing can recognise speech',
      );
      this.publish(sessionId, {
        type: 'listening.failed',
        problem: {
          type: '/problems/recognizer-unavailable',
          detail: this.deps.sttMissing ?? 'no recogniser',
        },
      });
      return;
    }
    const listener = new Listener({
      stt,
      language: this.deps.config.stt.language,
      isAnswering: () => this.replying.has(sessionId) || live.media.speaking,
      events: {
        speechStarted: () => {
          this.publish(sessionId, { type: 'user.started_speaking' });
          if (!live.media.speaking) live.media.setAttention('listening');
          this.prepareReply(tenantId, sessionId);
        },
        partial: (text) => {
          this.publish(sessionId, { type: 'user.transcript', text, final: false });
          this.prepareReply(tenantId, sessionId, text);
        },
        ignored: (reason, text) => {
          this.publish(sessionId, { type: 'user.ignored', reason, text });
          if (!live.media.speaking) live.media.setAttention('idle');
        },
        hold: () => {
          live.media.hold();
          live.media.setAttention('listening');
          this.publish(sessionId, { type: 'reply.held' });
        },
        release: () => {
          if (!live.media.held) return;
          live.media.resume();
          if (live.media.speaking) live.media.setAttention('idle');
          this.publish(sessionId, { type: 'reply.resumed' });
        },
        bargeIn: () => {
          this.publish(sessionId, { type: 'user.barge_in' });
          this.replying.get(sessionId)?.abort.abort();
          live.media.interrupt(); // the builder's own `speak` too: the user is talking
          live.media.setAttention('listening');
        },
        failed: (err) => {
          this.deps.logger.warn({ err, sessionId }, 'speech recognition failed for an utterance');
          this.publish(sessionId, {
            type: 'listening.failed',
            problem: { type: '/problems/recognition-failed', detail: err.message },
          });
        },
        turn: (heard) => {
          // Until the answer's first sound: the face thinks (the media session ends it when speech starts).
          live.media.setAttention('thinking');
          this.sendLive(tenantId, sessionId, heard.text, heard).catch((err: Error) => {
            live.media.setAttention('idle');
            const problem = err instanceof Problem ? err : new Problem('model-failed', err.message);
            this.publish(sessionId, {
              type: 'reply.failed',
              turn_id: '',
              problem: { type: `/problems/${problem.slug}`, detail: problem.message },
            });
          });
        },
      },
    });
    this.listeners.set(sessionId, listener);
    live.listen((samples, rate) => listener.push(samples, rate));
    // The session's barge-in setting, once read; until then the default applies.
    this.deps.sessions.get(tenantId, sessionId).then(
      (s) => listener.setBargeIn(bargeInFrom(s.barge_in)),
      () => undefined,
    );
  }

  /**
   * A session has opened, or its user is speaking: have the model read the prompt the answer will start with
   * (the persona, memory, recent turns, the words heard so far), so that at the turn it reads only the rest.
   */
  prepareReply(tenantId: string, sessionId: string, heardSoFar?: string): void {
    const { sessions, characters, agent } = this.deps;
    sessions
      .get(tenantId, sessionId)
      .then(async (session) => {
        const character = await characters.forConversation(tenantId, session.character_id);
        agent.prepare({
          scope: { tenantId, characterId: character.id, userId: session.user_id },
          sessionId,
          character,
          ...(heardSoFar ? { heardSoFar } : {}),
        });
      })
      .catch(() => undefined); // a hint: the reply itself reports what is wrong
  }

  /** What the listener has done in a session, for diagnostics and tests. */
  listening(sessionId: string): Listener['stats'] | undefined {
    return this.listeners.get(sessionId)?.stats;
  }

  /**
   * The user's turn as an audio file: decoded (ffmpeg), checked for speech (the VAD), recognised, then
   * answered as a text message would be. Silence-only audio is refused with 422 no-speech.
   */
  async sendAudio(
    tenantId: string,
    sessionId: string,
    audio: Uint8Array,
    signal?: AbortSignal,
  ): Promise<MessageResult & { transcript: { text: string; recognition_ms: number } }> {
    await this.deps.sessions.get(tenantId, sessionId); // 404 before any work
    const stt = this.recognizer();
    const pcm = await decodeAudio(audio, { maxSeconds: this.deps.config.stt.maxAudioS });
    if ((await speechSeconds(pcm)) < 0.1) {
      throw new Problem('no-speech', 'No speech was heard in the audio (silence or noise only).');
    }
    let text: string;
    let ms: number;
    try {
      const t = await stt.recognize(pcm, {
        language: this.deps.config.stt.language,
        ...(signal ? { signal } : {}),
      });
      if (t.noSpeech) throw new Problem('no-speech', 'No words were recognised in the audio.');
      text = t.text;
      ms = t.ms;
    } catch (err) {
      if (err instanceof Problem) throw err;
      const f = err as RecognitionFailure;
      if (f.kind === 'busy')
        throw new Problem('server-busy', `Speech recognition is saturated: ${f.message}`, {
          retry_after_s: 2,
        });
      if (f.kind === 'unavailable')
        throw new Problem('recognizer-unavailable', f.message, { retry_after_s: 10 });
      throw new Problem('recognition-failed', f.message ?? String(err));
    }
    const result = await this.send(tenantId, sessionId, text, signal);
    return { ...result, transcript: { text, recognition_ms: Math.round(ms) } };
  }

  /** The user's turn. Realtime: answered live (pending). On demand: answered with a rendered MP4. */
  async send(
    tenantId: string,
    sessionId: string,
    text: string,
    signal?: AbortSignal,
  ): Promise<MessageResult> {
    const userText = this.checkText(text);
    const session = await this.deps.sessions.get(tenantId, sessionId);
    if (session.mode === 'realtime') return this.sendLive(tenantId, sessionId, userText);
    await requireOnDemandSession(this.deps, tenantId, sessionId);
    return this.sendOnDemand(tenantId, sessionId, userText, signal);
  }

  private async sendLive(
    tenantId: string,
    sessionId: string,
    userText: string,
    heard?: HeardTurn,
  ): Promise<MessageResult> {
    const { live, sessions, characters, agent } = this.deps;
    const session = await live.authorize(tenantId, sessionId);
    const character = await characters.forConversation(tenantId, session.character_id);
    agent.modelFor(character); // no model: 503 now rather than a failure after the 202
    const turnId = newId('msg');
    const previous = this.replying.get(sessionId);
    previous?.abort.abort(); // a newer message interrupts the reply in progress
    await previous?.done.catch(() => undefined);
    const abort = new AbortController();
    let utteranceId: string | undefined;
    const output = await live.replyOutput(tenantId, sessionId, {
      // Checked just now, unless a previous reply was waited for (the session may have ended meanwhile).
      ...(previous ? {} : { authorized: session }),
      voice: character.voice,
      onUtterance: (id) => {
        utteranceId = id;
      },
    });
    this.publish(sessionId, { type: 'user.transcript', turn_id: turnId, text: userText, final: true });
    const done = agent
      .reply({
        scope: { tenantId, characterId: character.id, userId: session.user_id },
        sessionId,
        character,
        userText,
        output,
        signal: abort.signal,
        turnId,
        events: {
          onDelta: (id, t) => this.publish(sessionId, { type: 'reply.delta', turn_id: id, text: t }),
        },
        ...(heard
          ? {
              since: heard.speechEndedAt,
              metrics: {
                vad_ms: Math.round(heard.vadMs),
                recognition_ms: Math.round(heard.recognitionMs),
                ...(heard.recognitionEncodeMs !== undefined
                  ? { recognition_encode_ms: Math.round(heard.recognitionEncodeMs) }
                  : {}),
                ...(heard.recognitionDecodeMs !== undefined
                  ? { recognition_decode_ms: Math.round(heard.recognitionDecodeMs) }
                  : {}),
                end_of_turn_ms: Math.round(heard.endOfTurnMs),
              },
            }
          : {}),
      })
      .then(
        (turn) => {
          const live = this.deps.live.host.get(sessionId);
          if (live) live.media.lastTurn = turn.metrics as Record<string, number>;
          this.publish(sessionId, {
            type: 'reply.finished',
            turn_id: turn.id,
            text: turn.reply_text,
            interrupted: turn.interrupted,
            ...(utteranceId ? { utterance_id: utteranceId } : {}),
            metrics: turn.metrics,
          });
        },
        (err: Error) => {
          const problem = err instanceof Problem ? err : new Problem('model-failed', err.message);
          this.deps.logger.warn({ err, sessionId, turnId }, 'reply failed');
          this.publish(sessionId, {
            type: 'reply.failed',
            turn_id: turnId,
            problem: { type: `/problems/${problem.slug}`, detail: problem.message },
          });
        },
      )
      .finally(() => {
        if (this.replying.get(sessionId)?.abort === abort) this.replying.delete(sessionId);
      });
    this.replying.set(sessionId, { abort, done });
    // Once the reply is under way: the session's last activity is bookkeeping, not on the way to the answer.
    void sessions
      .touch(tenantId, sessionId)
      .catch((err: Error) => this.deps.logger.warn({ err, sessionId }, 'could not record the activity'));
    return { turn: unrecordedTurn({ id: turnId, sessionId, userText, replyText: '' }), pending: true };
  }

  private async sendOnDemand(
    tenantId: string,
    sessionId: string,
    userText: string,
    signal?: AbortSignal,
  ): Promise<MessageResult> {
    if (this.rendering.has(sessionId)) {
      throw new Problem(
        'turn-in-progress',
        'This session is still answering the previous message; send the next one when it is done.',
        { retry_after_s: 5 },
      );
    }
    this.rendering.add(sessionId);
    try {
      const session = await requireOnDemandSession(this.deps, tenantId, sessionId);
      const character = await this.deps.characters.forConversation(tenantId, session.character_id);
      this.deps.agent.modelFor(character);
      const turnId = newId('msg');
      const output: ReplyOutput = {
        say: async (pieces): Promise<Spoken> => {
          const started = performance.now();
          let text = '';
          for await (const piece of pieces) text += `${text ? ' ' : ''}${piece}`;
          if (!text) return { text, interrupted: false }; // the model failed before a word: nothing to render
          const video = await this.deps.renders.run(
            () =>
              generateForSession(
                this.deps.onDemand,
                tenantId,
                sessionId,
                { text, voice: character.voice },
                { keepAs: `messages/${turnId}.mp4` },
              ),
            signal,
          );
          return {
            text,
            interrupted: false,
            firstAudioMs: performance.now() - started,
            videoFile: `messages/${turnId}.mp4`,
            durationS: video.durationS,
          };
        },
      };
      const turn = await this.deps.agent.reply({
        scope: { tenantId, characterId: character.id, userId: session.user_id },
        sessionId,
        character,
        userText,
        output,
        signal: signal ?? new AbortController().signal,
        turnId,
      });
      return { turn, pending: false };
    } finally {
      this.rendering.delete(sessionId);
    }
  }

  async list(tenantId: string, sessionId: string): Promise<Turn[]> {
    await this.deps.sessions.get(tenantId, sessionId);
    return this.deps.memory.sessionTurns(tenantId, sessionId);
  }

  /** The MP4 of an on-demand reply: its path in the data directory. */
  async video(tenantId: string, sessionId: string, turnId: string): Promise<{ file: string; turn: Turn }> {
    await this.deps.sessions.get(tenantId, sessionId);
    const turn = await this.deps.memory.turn(tenantId, sessionId, turnId);
    if (!turn?.video_file)
      throw new Problem('not-found', `No video for message ${turnId} in session ${sessionId}.`);
    return { file: this.deps.files.resolve(turn.video_file), turn };
  }

  async memory(
    tenantId: string,
    characterId: string,
    userId: string,
  ): Promise<{ facts: StoredFact[]; turns: Turn[] }> {
    await this.deps.characters.get(tenantId, characterId);
    const scope = { tenantId, characterId, userId };
    const [facts, turns] = await Promise.all([
      this.deps.memory.facts(scope),
      this.deps.memory.recentTurns(scope, 50),
    ]);
    return { facts, turns };
  }

  async forget(tenantId: string, characterId: string, userId: string): Promise<void> {
    await this.deps.characters.get(tenantId, characterId);
    const files = await this.deps.memory.erase({ tenantId, characterId, userId });
    for (const f of files) await this.deps.files.remove(f).catch(() => undefined);
  }

  /** Stops every reply in progress (shutdown). */
  async closeAll(): Promise<void> {
    for (const l of this.listeners.values()) l.close();
    this.listeners.clear();
    for (const r of this.replying.values()) r.abort.abort();
    await Promise.all([...this.replying.values()].map((r) => r.done.catch(() => undefined)));
  }
}
