import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { AdmissionQueue } from '../admission.ts';
import type { CharacterService } from '../characters/character-service.ts';
import type { Config } from '../config.ts';
import type { ConversationAgent, ReplyOutput, Spoken, TurnMetrics } from '../conversation/agent.ts';
import type { MemoryStore, StoredFact, Turn } from '../conversation/memory/memory-store.ts';
import { Problem } from '../errors.ts';
import { newId } from '../ids.ts';
import { generateForSession, type OnDemandDeps, requireOnDemandSession } from '../media/on-demand.ts';
import type { FileStore } from '../store/files.ts';
import type { LiveSessions } from './live-sessions.ts';
import type { SessionService } from './session-service.ts';

/** What a session's event stream carries about the conversation, beside the media events. */
export type ConversationEvent =
  | { type: 'user.transcript'; turn_id: string; text: string; final: boolean }
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

  constructor(private readonly deps: ConversationDeps) {
    this.events.setMaxListeners(0);
    deps.sessions.on('transition', (e) => {
      if (e.to === 'ended' || e.to === 'expired') this.replying.get(e.session.id)?.abort.abort();
    });
  }

  /** Follows a session's conversation events; returns the unsubscribe function. */
  subscribe(sessionId: string, listener: (e: ConversationEvent) => void): () => void {
    this.events.on(sessionId, listener);
    return () => this.events.off(sessionId, listener);
  }

  private publish(sessionId: string, e: ConversationEvent): void {
    this.events.emit(sessionId, e);
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

  private async sendLive(tenantId: string, sessionId: string, userText: string): Promise<MessageResult> {
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
      voice: character.voice,
      onUtterance: (id) => {
        utteranceId = id;
      },
    });
    await sessions.touch(tenantId, sessionId);
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
      })
      .then(
        (turn) =>
          this.publish(sessionId, {
            type: 'reply.finished',
            turn_id: turn.id,
            text: turn.reply_text,
            interrupted: turn.interrupted,
            ...(utteranceId ? { utterance_id: utteranceId } : {}),
            metrics: turn.metrics,
          }),
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
    const pendingTurn: Turn = {
      id: turnId,
      session_id: sessionId,
      user_text: userText,
      reply_text: '',
      interrupted: false,
      model: '',
      video_file: null,
      duration_s: null,
      metrics: {},
      created_at: new Date().toISOString(),
    };
    return { turn: pendingTurn, pending: true };
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
    for (const r of this.replying.values()) r.abort.abort();
    await Promise.all([...this.replying.values()].map((r) => r.done.catch(() => undefined)));
  }
}
