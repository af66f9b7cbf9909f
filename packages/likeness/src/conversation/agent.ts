import type { Logger } from 'pino';
import { Problem } from '../errors.ts';
import { newId } from '../ids.ts';
import type { Persona } from '../persona/persona.ts';
import { clauses } from './clauses.ts';
import { type LanguageModel, ModelFailure, type PromptUsage } from './llm/index.ts';
import type { CharacterModel, ModelRegistry } from './llm/registry.ts';
import { extractFacts, type Fact } from './memory/facts.ts';
import { type MemoryScope, type MemoryStore, type Turn, unrecordedTurn } from './memory/memory-store.ts';
import { buildPrompt, HISTORY_TURNS } from './prompt.ts';
import { speakable } from './speakable.ts';

export interface ConversationCharacter {
  id: string;
  name: string;
  persona: Persona;
  llm: CharacterModel | null;
}

/** What an output reports once a reply has been said (or rendered). */
export interface Spoken {
  /** What was actually heard: cut where an interruption stopped it. */
  text: string;
  interrupted: boolean;
  /** ms from the start of `say` to the first synthesized audio, and to the first sound sent out. */
  firstAudioMs?: number | undefined;
  firstSoundMs?: number | undefined;
  /** On-demand replies: the rendered MP4 (relative to the data directory) and its length. */
  videoFile?: string | undefined;
  durationS?: number | undefined;
}

/**
 * Where a reply goes: spoken in a live session, or rendered to an MP4. Takes the reply in pieces (a short first
 * clause, then sentences) as the model writes them, so the first words are spoken while the rest is written.
 */
export interface ReplyOutput {
  say(pieces: AsyncIterable<string>, signal: AbortSignal): Promise<Spoken>;
}

/** Progress of a reply, for the session's event stream. */
export interface ReplyEvents {
  onDelta?(turnId: string, text: string): void;
}

export interface TurnMetrics {
  /**
   * Spoken turns: ms from the end of the user's speech until the VAD called it a pause, until the final
   * transcript, and until the end of the turn was decided; the other stages count from the end of speech too.
   */
  vad_ms?: number;
  recognition_ms?: number;
  /** Of recognition_ms, the recogniser's model: encoding the audio, decoding the words (the rest is waiting). */
  recognition_encode_ms?: number;
  recognition_decode_ms?: number;
  end_of_turn_ms?: number;
  /**
   * ms from the user's message (typed) or the end of their speech (spoken) to each stage; the first, the prompt
   * built (session, character and memory read) and asked of the model.
   */
  llm_request_ms?: number;
  llm_first_token_ms?: number;
  first_clause_ms?: number;
  tts_first_audio_ms?: number;
  first_sound_ms?: number;
  total_ms?: number;
  /** The prompt's tokens, and how many the model had to read at the turn (the rest was prepared ahead). */
  llm_prompt_tokens?: number;
  llm_prompt_tokens_read?: number;
}

/** Stands for the user's words in a prompt prepared before any are heard. */
const UNHEARD = '…';

/** Said when the model produces nothing usable: in character, and honest. */
export const FALLBACK_LINE = 'Sorry, I lost my train of thought there. Could you say that again?';

/**
 * Stage 2's loop for one turn: the user's words -> the persona, what the character remembers of this user and
 * the recent turns make the prompt -> the model streams -> the reply is made speakable and cut into clauses
 * -> the output speaks them as they come. One AbortSignal cancels the model, synthesis and playback together.
 * The turn is recorded once, at the end, with what was actually said; a failed reply records nothing.
 */
export class ConversationAgent {
  constructor(private readonly deps: { models: ModelRegistry; memory: MemoryStore; logger: Logger }) {}

  /** The model that will answer for a character; throws 503 model-unavailable when there is none. */
  modelFor(character: ConversationCharacter): LanguageModel {
    return this.deps.models.for(character);
  }

  /**
   * Readies the model for this user's next reply: its prompt will start with the persona, what the character
   * knows of the user and the recent turns, and (while the user is still speaking) the words heard so far.
   * A hint only: it never fails and never waits.
   */
  prepare(args: {
    scope: MemoryScope;
    sessionId: string;
    character: ConversationCharacter;
    /** A partial transcript of what the user is saying now. */
    heardSoFar?: string;
    /** A turn being spoken now, not recorded yet: the model wrote this reply to this message. */
    speaking?: { userText: string; replyText: string };
  }): void {
    let model: LanguageModel;
    try {
      model = this.deps.models.for(args.character);
    } catch {
      return;
    }
    if (!model.prepare) return;
    Promise.all([this.deps.memory.facts(args.scope), this.deps.memory.recentTurns(args.scope, HISTORY_TURNS)])
      .then(([facts, recorded]) => {
        const history = args.speaking
          ? [...recorded, unrecordedTurn({ sessionId: args.sessionId, ...args.speaking })]
          : recorded;
        // What the pending turn tells will be stored as the newest facts (ordered by key), as recordTurn does.
        const told = args.speaking ? extractFacts(args.speaking.userText).sort(byKey) : [];
        const messages = buildPrompt({
          characterName: args.character.name,
          persona: args.character.persona,
          facts: [...facts.filter((f) => !told.some((t) => t.key === f.key)), ...told],
          history: history.slice(-HISTORY_TURNS),
          sessionId: args.sessionId,
          // Nothing heard yet: a placeholder still gets the user's turn opened (its header is read now, not at
          // the turn); the placeholder itself is replaced by what the user says.
          userText: args.heardSoFar?.trim() || UNHEARD,
        });
        model.prepare?.(messages);
      })
      .catch((err: Error) => this.deps.logger.debug({ err }, 'could not prepare the model'));
  }

  async reply(args: {
    scope: MemoryScope;
    sessionId: string;
    character: ConversationCharacter;
    userText: string;
    output: ReplyOutput;
    signal: AbortSignal;
    events?: ReplyEvents;
    turnId?: string;
    /** performance.now() the stages are timed from (a spoken turn: when the user stopped speaking). */
    since?: number;
    /** What was measured before the reply (a spoken turn: VAD, recognition, end of turn). */
    metrics?: TurnMetrics;
  }): Promise<Turn> {
    const { scope, character, userText, signal } = args;
    const turnId = args.turnId ?? newId('msg');
    const t0 = args.since ?? performance.now();
    const since = () => Math.round(performance.now() - t0);
    const metrics: TurnMetrics = { ...args.metrics };
    const model = this.deps.models.for(character);
    const [facts, history] = await Promise.all([
      this.deps.memory.facts(scope),
      this.deps.memory.recentTurns(scope, HISTORY_TURNS),
    ]);
    const messages = buildPrompt({
      characterName: character.name,
      persona: character.persona,
      facts,
      history,
      sessionId: args.sessionId,
      userText,
    });

    let failure: ModelFailure | undefined;
    let written = '';
    const deltas = this.timedDeltas(model, messages, signal, metrics, since, (err) => {
      failure = err;
    });
    const speakableText = tap(speakable(deltas), (d) => {
      written += d;
      args.events?.onDelta?.(turnId, d);
    });
    let pieces = 0;
    const agent = this;
    const toSay = (async function* () {
      for await (const piece of clauses(speakableText)) {
        if (pieces++ === 0) metrics.first_clause_ms = since();
        yield piece;
      }
      // Written in full while most of it is still to be spoken: the next prompt will hold this turn.
      if (pieces > 0 && !signal.aborted)
        agent.prepare({
          scope,
          sessionId: args.sessionId,
          character,
          speaking: { userText, replyText: written },
        });
      // Nothing usable came: a model that failed before any text fails the turn; one that said nothing
      // sensible gets the fallback line, so the user is never left in silence.
      if (pieces === 0 && !failure && !signal.aborted) {
        metrics.first_clause_ms = since();
        written = FALLBACK_LINE;
        args.events?.onDelta?.(turnId, FALLBACK_LINE);
        yield FALLBACK_LINE;
      }
    })();

    const sayStarted = performance.now() - t0;
    const spoken = await args.output.say(toSay, signal);
    if (failure && pieces === 0) {
      const f = failure as ModelFailure;
      throw new Problem(
        f.kind === 'failed' ? 'model-failed' : 'model-unavailable',
        `${model.name} could not answer: ${f.message}`,
        f.kind === 'failed' ? {} : { retry_after_s: 10 },
      );
    }
    if (failure)
      this.deps.logger.warn({ err: failure, turnId }, 'the model failed mid-reply; kept what it had said');
    if (spoken.firstAudioMs !== undefined)
      metrics.tts_first_audio_ms = Math.round(sayStarted + spoken.firstAudioMs);
    if (spoken.firstSoundMs !== undefined)
      metrics.first_sound_ms = Math.round(sayStarted + spoken.firstSoundMs);
    metrics.total_ms = since();
    const turn = await this.deps.memory.recordTurn(scope, {
      id: turnId,
      session_id: args.sessionId,
      user_text: userText,
      reply_text: spoken.interrupted ? spoken.text : spoken.text || written,
      interrupted: spoken.interrupted,
      model: model.name,
      video_file: spoken.videoFile ?? null,
      duration_s: spoken.durationS ?? null,
      metrics: metrics as Record<string, number>,
    });
    // The next reply's prompt now starts with this turn (and any fact it told): read it while the user listens.
    this.prepare({ scope, sessionId: args.sessionId, character });
    return turn;
  }

  /** The model's deltas, timing the first one; a failure ends the stream and is reported, not thrown. */
  private async *timedDeltas(
    model: LanguageModel,
    messages: Parameters<LanguageModel['chat']>[0],
    signal: AbortSignal,
    metrics: TurnMetrics,
    since: () => number,
    onFailure: (err: ModelFailure) => void,
  ): AsyncIterable<string> {
    try {
      const onUsage = (u: PromptUsage) => {
        metrics.llm_prompt_tokens = u.promptTokens;
        metrics.llm_prompt_tokens_read = u.readTokens;
      };
      metrics.llm_request_ms = since();
      for await (const d of model.chat(messages, { signal, maxTokens: 120, temperature: 0.7, onUsage })) {
        metrics.llm_first_token_ms ??= since();
        yield d;
      }
    } catch (err) {
      if (signal.aborted) return;
      onFailure(err instanceof ModelFailure ? err : new ModelFailure('failed', (err as Error).message));
    }
  }
}

const byKey = (a: Fact, b: Fact) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

async function* tap<T>(source: AsyncIterable<T>, see: (item: T) => void): AsyncIterable<T> {
  for await (const item of source) {
    see(item);
    yield item;
  }
}
